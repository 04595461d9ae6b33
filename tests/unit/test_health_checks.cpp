// Health checks: [checks] definitions (every field, defaults, errors at
// their line), the set rules (unknown names, cycles, one definition per
// name), rise/fall thresholds, calculated checks, the registry's
// observability fields, and the checker itself against a local TCP
// listener and a file.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "server/health_checker.hpp"
#include "zones/check_spec.hpp"
#include "zones/health.hpp"
#include "zones/toml_loader.hpp"
#include "zones/zone_set.hpp"

using namespace meridian;

namespace {

std::vector<CheckSpec> read(const std::string& text, Diagnostics& errors, const std::string& file = "/etc/m/c.toml") {
  std::vector<CheckSpec> out;
  toml::table t = toml::parse(text, file);
  read_check_table(file, *t.get("checks"), out, errors);
  return out;
}

std::string all(const Diagnostics& d) {
  std::string s;
  for (const auto& e : d) s += e.str() + "\n";
  return s;
}

bool has(const Diagnostics& d, std::uint32_t line, const std::string& text) {
  for (const auto& e : d)
    if (e.loc.line == line && e.message.find(text) != std::string::npos) return true;
  return false;
}

// Waits (bounded) for `pred`.
template <class F>
bool eventually(F pred, int ms = 3000) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("meridian-hc-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  static inline int counter = 0;
};

// A listening TCP socket on 127.0.0.1:ephemeral.
struct Listener {
  int fd = -1;
  unsigned port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd, 64);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  ~Listener() { close(); }
};

const std::string kZoneHead = R"(origin = "example.com."
[soa]
mname = "ns1"
rname = "h@example.com"
serial = 1
[records."@"]
NS = "ns1"
[records.ns1]
A = "192.0.2.1"
)";

}  // namespace

TEST_CASE("checks: durations") {
  CHECK(parse_duration_ms("200ms") == 200u);
  CHECK(parse_duration_ms("10s") == 10000u);
  CHECK(parse_duration_ms("1m") == 60000u);
  CHECK(parse_duration_ms("2h") == 7200000u);
  CHECK(parse_duration_ms("5") == 5000u);
  CHECK_FALSE(parse_duration_ms("1.5s"));
  CHECK_FALSE(parse_duration_ms("s"));
  CHECK_FALSE(parse_duration_ms("10 s"));
  CHECK_FALSE(parse_duration_ms("10d"));
  CHECK(format_duration(200) == "200ms");
  CHECK(format_duration(10000) == "10s");
  CHECK(format_duration(60000) == "1m");
  CHECK(format_duration(1500) == "1500ms");
}

TEST_CASE("checks: every type reads with its fields and defaults") {
  Diagnostics errors;
  auto specs = read(R"([checks.api]
type = "http"
url = "http://127.0.0.1:8080/healthz"
host = "api.example.com"
expect_status = [204, 200]
expect_body = "ok"
interval = "10s"
timeout = "2s"
rise = 2
fall = 3
initial = "down"
[checks.secure]
type = "https"
url = "https://127.0.0.1:8443/"
insecure = true
[checks.db]
type = "tcp"
address = "[::1]:5432"
interval = "1s"
[checks.ns]
type = "dns"
address = "127.0.0.1:5353"
query = "www.example.com"
query_type = "AAAA"
expect_rcode = "NXDOMAIN"
transport = "tcp"
[checks.ns2]
type = "dns"
address = "127.0.0.1"
query = "www.example.com."
expect_answer = "192.0.2.1"
[checks.flag]
type = "file"
path = "flags/api"
[checks.both]
type = "all"
children = ["api", "db"]
[checks.some]
type = "at_least"
n = 2
children = ["api", "db", "ns"]
invert = true
[checks.manual]
state = "down"
)",
                    errors);
  INFO(all(errors));
  REQUIRE(errors.empty());
  REQUIRE(specs.size() == 9);
  const CheckSpec& api = *find_check(specs, "api");
  CHECK(api.type == CheckType::Http);
  CHECK(api.host == "api.example.com");
  CHECK(api.expect_status == std::vector<int>{200, 204});
  CHECK(api.expect_body == "ok");
  CHECK(api.interval_ms == 10000);
  CHECK(api.timeout_ms == 2000);
  CHECK(api.initial == HealthState::Down);
  CHECK(api.loc.line == 1);
  CHECK(api.target() == "http://127.0.0.1:8080/healthz (host api.example.com)");
  CHECK(find_check(specs, "secure")->insecure);
  const CheckSpec& db = *find_check(specs, "db");
  CHECK(db.timeout_ms == 500);  // default: min(2s, interval / 2)
  CHECK(db.rise == kDefaultRise);
  CHECK(db.fall == kDefaultFall);
  CHECK(db.initial == HealthState::Up);
  const CheckSpec& ns = *find_check(specs, "ns");
  CHECK(ns.query == "www.example.com.");
  CHECK(ns.query_type == 28);
  CHECK(ns.expect_rcode == 3);
  CHECK(ns.dns_tcp_only);
  CHECK(find_check(specs, "ns2")->expect_answer == "192.0.2.1");
  CHECK_FALSE(find_check(specs, "ns2")->dns_tcp_only);
  const CheckSpec& flag = *find_check(specs, "flag");
  CHECK(flag.path == "/etc/m/flags/api");  // relative to the defining file
  CHECK(flag.rise == 1);
  CHECK(flag.fall == 1);
  CHECK(find_check(specs, "both")->children == std::vector<std::string>{"api", "db"});
  CHECK(find_check(specs, "some")->n == 2);
  CHECK(find_check(specs, "some")->target() == "not 2 of api, db, ns");
  CHECK(find_check(specs, "manual")->state == HealthState::Down);
  validate_check_set(specs, nullptr, true, errors);
  CHECK(errors.empty());
}

TEST_CASE("checks: definition errors, each at its line") {
  Diagnostics errors;
  read(R"([checks.a]
type = "htp"
[checks.b]
type = "tcp"
address = "127.0.0.1:80"
interval = "1s"
timeout = "1s"
[checks.c]
type = "http"
[checks.d]
type = "tcp"
address = "localhost:80"
[checks.e]
type = "https"
url = "http://127.0.0.1/"
[checks.f]
type = "at_least"
children = ["a", "b"]
n = 3
[checks.g]
type = "tcp"
state = "up"
address = "127.0.0.1:1"
[checks.h]
type = "dns"
address = "127.0.0.1"
query = "x."
expect_rcode = "MAYBE"
expect_answer = "not-an-address"
[checks.i]
interval = "10s"
[checks.j]
type = "tcp"
address = "127.0.0.1:1"
interval = "10 seconds"
rise = 0
initial = "sideways"
probe = 1
[checks.k]
type = "all"
children = []
[checks.l]
type = "https"
url = "https://127.0.0.1/"
ca_file = "/nonexistent/ca.pem"
[checks.m]
type = "dns"
address = "127.0.0.1"
query = "x."
transport = "quic"
)",
       errors);
  INFO(all(errors));
  CHECK(has(errors, 2, "unknown check type 'htp' (expected tcp, http, https, dns, file, all, any or at_least)"));
  CHECK(has(errors, 7, "'timeout' (1s) must be shorter than 'interval' (1s)"));
  CHECK(has(errors, 8, "check 'c' (type http) needs 'url'"));
  CHECK(has(errors, 12, "'address' must be an IP address and port"));
  CHECK(has(errors, 15, "must start with https://"));
  CHECK(has(errors, 19, "'n' must be an integer from 1 to 2"));
  CHECK(has(errors, 22, "'state' is for manual checks"));
  CHECK(has(errors, 28, "'expect_rcode' must be an rcode name"));
  CHECK(has(errors, 29, "bad 'expect_answer' for type A"));
  CHECK(has(errors, 30, "check 'i' needs type = ("));
  CHECK(has(errors, 31, "unknown key 'interval' in check 'i' (expected type, state)"));
  CHECK(has(errors, 35, "'interval' must be a duration"));
  CHECK(has(errors, 36, "'rise' must be an integer from 1 to 100"));
  CHECK(has(errors, 37, "'initial' must be \"up\" or \"down\""));
  CHECK(has(errors, 38, "unknown key 'probe' in check 'j'"));
  CHECK(has(errors, 41, "'children' must be a non-empty array"));
  CHECK(has(errors, 45, "cannot read 'ca_file' /nonexistent/ca.pem"));
  CHECK(has(errors, 50, "'transport' must be \"udp\" (TCP after a truncated reply) or \"tcp\""));
}

TEST_CASE("checks: the set: unknown children, cycles, one definition per name") {
  Diagnostics errors;
  auto specs = read(R"([checks.a]
type = "all"
children = ["b", "nope"]
[checks.b]
type = "any"
children = ["c"]
[checks.c]
type = "at_least"
n = 1
children = ["a"]
[checks.d]
type = "tcp"
address = "127.0.0.1:1"
)",
                    errors);
  REQUIRE(errors.empty());
  validate_check_set(specs, nullptr, true, errors);
  INFO(all(errors));
  CHECK(has(errors, 3, "check 'a' has an unknown child 'nope'"));
  CHECK(has(errors, 10, "calculated checks refer to each other in a cycle: 'a' -> 'b' -> 'c' -> 'a'"));
  CHECK(errors.size() == 2);

  // Without resolving (a zone loaded alone) unknown children are not errors.
  Diagnostics e2;
  validate_check_set(specs, nullptr, false, e2);
  CHECK(e2.size() == 1);

  // The same name defined twice differently; identical is fine.
  Diagnostics e3;
  auto outer = read("[checks.d]\ntype = \"tcp\"\naddress = \"127.0.0.1:2\"\n", e3, "/etc/m/server.toml");
  auto same = read("[checks.d]\ntype = \"tcp\"\naddress = \"127.0.0.1:1\"\n", e3, "/etc/m/server.toml");
  REQUIRE(e3.empty());
  std::vector<CheckSpec> local{*find_check(specs, "d")};
  validate_check_set(local, &outer, true, e3);
  REQUIRE(e3.size() == 1);
  CHECK(e3[0].loc.line == 11);
  CHECK(e3[0].message.find("check 'd' is already defined differently at /etc/m/server.toml:1") != std::string::npos);
  Diagnostics e4;
  validate_check_set(local, &same, true, e4);
  CHECK(e4.empty());
}

TEST_CASE("checks: a zone's targets must name defined checks when loaded by the server") {
  Diagnostics cfg_errors;
  auto server = read("[checks.shared]\ntype = \"tcp\"\naddress = \"127.0.0.1:1\"\n", cfg_errors, "/etc/m/meridian.toml");
  REQUIRE(cfg_errors.empty());
  const std::string text = kZoneHead +  // lines 1-9
                           "[records.a.A]\n"                                               // 10
                           "policy = \"failover\"\n"                                       // 11
                           "targets = [ { value = \"192.0.2.1\", check = \"shared\" },\n"  // 12
                           "  { value = \"192.0.2.2\", check = \"local\" },\n"             // 13
                           "  { value = \"192.0.2.3\", check = \"missing\" } ]\n"          // 14
                           "[checks.local]\n"                                              // 15
                           "type = \"any\"\n"                                              // 16
                           "children = [\"shared\", \"ghost\"]\n";                         // 17
  ZoneLoadOptions opts{&server};
  auto r = load_toml_zone_text(text, "z.toml", 0, opts);
  INFO(all(r.errors));
  CHECK_FALSE(r.zone);
  CHECK(has(r.errors, 14, "unknown check 'missing' (declare it as [checks.missing]"));
  CHECK(has(r.errors, 17, "check 'local' has an unknown child 'ghost'"));
  CHECK(r.errors.size() == 2);

  // Loaded alone (tests, tools), names are not resolved.
  auto alone = load_toml_zone_text(text, "z.toml");
  CHECK(alone.zone);

  // What the zone tells the health subsystem.
  const std::string ok = kZoneHead +
                         "[records.a.A]\npolicy = \"failover\"\n"
                         "targets = [ { value = \"192.0.2.1\", check = \"shared\" }, { pool = \"p\" } ]\n"
                         "[records.b.AAAA]\npolicy = \"weighted\"\n"
                         "targets = [ { value = \"2001:db8::1\", check = \"shared\" }, { value = \"2001:db8::2\" } ]\n"
                         "[pools.p]\npolicy = \"failover\"\ntargets = [ { value = \"192.0.2.9\", check = \"local\" } ]\n"
                         "[checks.local]\nstate = \"up\"\n";
  auto z = load_toml_zone_text(ok, "z.toml", 0, opts);
  INFO(all(z.errors));
  REQUIRE(z.zone);
  REQUIRE(z.zone->health);
  const ZoneHealth& h = *z.zone->health;
  CHECK(h.checks.size() == 1);
  CHECK(h.steers.at("shared") == std::vector<std::string>{"a.example.com. A", "b.example.com. AAAA"});
  CHECK(h.steers.at("local") == std::vector<std::string>{"a.example.com. A"});  // through the pool
  REQUIRE(h.policies.size() == 2);
  CHECK(h.policies[0].checks == std::vector<std::string>{"shared", "local"});
}

TEST_CASE("checks: two zones may not define one name differently") {
  TempDir dir;
  auto zone = [&](const std::string& file, const std::string& origin, const std::string& addr) {
    std::string text = kZoneHead;
    text.replace(text.find("example.com."), 12, origin);
    text.replace(text.find("example.com"), 11, origin.substr(0, origin.size() - 1));
    text += "[checks.shared]\ntype = \"tcp\"\naddress = \"" + addr + "\"\n";
    std::ofstream(dir.path / file) << text;
  };
  zone("a.toml", "a.test.", "127.0.0.1:1");
  zone("b.toml", "b.test.", "127.0.0.1:1");  // the same: fine
  zone("c.toml", "c.test.", "127.0.0.1:2");  // different: rejected
  Diagnostics errors;
  std::vector<CheckSpec> none;
  auto set = load_zone_dir(dir.path.string(), errors, ZoneDirOptions{nullptr, &none, {}});
  INFO(all(errors));
  CHECK(set->zones.size() == 2);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].loc.file.find("c.toml") != std::string::npos);
  CHECK(errors[0].loc.line == 10);
  CHECK(errors[0].message.find("already defined differently") != std::string::npos);
}

TEST_CASE("checks: rise and fall thresholds") {
  Thresholds t(2, 3, HealthState::Up);
  CHECK_FALSE(t.feed(false));
  CHECK_FALSE(t.feed(false));
  CHECK_FALSE(t.feed(true));  // a success resets the failure run
  CHECK_FALSE(t.feed(false));
  CHECK_FALSE(t.feed(false));
  CHECK(t.feed(false));  // third consecutive failure
  CHECK(t.state() == HealthState::Down);
  CHECK(t.failures() == 3);
  CHECK_FALSE(t.feed(false));
  CHECK_FALSE(t.feed(true));
  CHECK(t.feed(true));  // second consecutive success
  CHECK(t.state() == HealthState::Up);
  CHECK_FALSE(t.feed(true));

  Thresholds d(1, 1, HealthState::Down);  // initial down, rise 1
  CHECK(d.state() == HealthState::Down);
  CHECK(d.feed(true));
  CHECK(d.feed(false));
}

TEST_CASE("checks: calculated checks") {
  CheckSpec s;
  s.children = {"a", "b", "c"};
  const auto U = HealthState::Up, D = HealthState::Down;
  std::string why;
  s.type = CheckType::All;
  CHECK(calculate(s, {U, U, U}) == U);
  CHECK(calculate(s, {U, D, U}, &why) == D);
  CHECK(why == "2 of 3 children up, needs all");
  s.type = CheckType::Any;
  CHECK(calculate(s, {D, D, U}) == U);
  CHECK(calculate(s, {D, D, D}) == D);
  s.type = CheckType::AtLeast;
  s.n = 2;
  CHECK(calculate(s, {D, U, U}) == U);
  CHECK(calculate(s, {D, D, U}) == D);
  s.invert = true;
  CHECK(calculate(s, {D, D, U}, &why) == U);
  CHECK(why == "1 of 3 children up, needs 2, inverted");
}

TEST_CASE("health registry: declarations, results, steers, overrides and the listener") {
  HealthRegistry reg;
  int calls = 0;
  reg.set_override_listener([&] { ++calls; });
  reg.declare("api", "http", "http://127.0.0.1/");
  reg.report("api", false, "status 503");
  const auto t0 = unix_ms_now();
  reg.set("api", HealthState::Down);
  reg.set_steers({{"api", {"api.example.com. A"}}});
  auto e = reg.list().at(0);
  CHECK(e.type == "http");
  CHECK(e.target == "http://127.0.0.1/");
  CHECK(e.last_ok == false);
  CHECK(e.reason == "status 503");
  CHECK(e.last_change_ms >= t0);
  CHECK(e.last_check_ms >= t0);
  CHECK(e.steers == std::vector<std::string>{"api.example.com. A"});
  reg.set_override("a*", HealthState::Up);
  CHECK(calls == 1);
  reg.restore_override("other", HealthState::Down);
  CHECK(calls == 2);
  CHECK(reg.overrides() == std::vector<std::pair<std::string, HealthState>>{{"api", HealthState::Up},
                                                                             {"other", HealthState::Down}});
  CHECK(reg.get("api") == HealthState::Up);
  CHECK(reg.configured("api") == HealthState::Down);
  reg.undeclare("api");  // no longer defined: up, no result
  e = reg.list().at(0);
  CHECK(e.type.empty());
  CHECK(e.configured == HealthState::Up);
  CHECK_FALSE(e.last_ok);
  reg.set_override_listener(nullptr);
}

TEST_CASE("health checker: a TCP check follows a local listener; reconcile keeps state; file checks") {
  HealthRegistry reg;
  TempDir dir;
  Listener l;
  std::ofstream(dir.path / "flag") << "up\n";
  auto specs = [&](const std::string& addr_port, const std::string& interval) {
    Diagnostics errors;
    const std::string text = "[checks.tcp]\ntype = \"tcp\"\naddress = \"127.0.0.1:" + addr_port +
                             "\"\ninterval = \"" + interval + "\"\nrise = 1\nfall = 1\ninitial = \"down\"\n"
                             "[checks.flag]\ntype = \"file\"\npath = \"flag\"\ninterval = \"1m\"\n"
                             "[checks.both]\ntype = \"all\"\nchildren = [\"tcp\", \"flag\"]\n";
    auto s = read(text, errors, (dir.path / "c.toml").string());
    INFO(all(errors));
    REQUIRE(errors.empty());
    return s;
  };
  HealthChecker hc(reg);
  hc.reconcile(specs(std::to_string(l.port), "100ms"));
  CHECK(reg.get("tcp") == HealthState::Down);  // initial, set before any probe
  CHECK(reg.get("both") == HealthState::Down);
  std::string error;
  REQUIRE(hc.start(error));
  CHECK(eventually([&] { return reg.get("tcp") == HealthState::Up; }));
  CHECK(eventually([&] { return reg.get("both") == HealthState::Up; }));
  auto entry = [&](const std::string& name) {
    for (const auto& e : reg.list())
      if (e.name == name) return e;
    return HealthRegistry::Entry{};
  };
  CHECK(entry("tcp").reason.find("connected in") == 0);

  // The same definitions again: the check keeps running, still up.
  hc.reconcile(specs(std::to_string(l.port), "100ms"));
  CHECK(reg.get("tcp") == HealthState::Up);

  l.close();
  CHECK(eventually([&] { return reg.get("tcp") == HealthState::Down; }));
  CHECK(entry("tcp").reason == "connection refused");
  // The calculated check follows its child in a step of its own: a reader
  // can see the child down a moment before it (seen under load).
  CHECK(eventually([&] { return reg.get("both") == HealthState::Down; }));

  // An override of a child reaches the calculated check.
  Listener l2;
  hc.reconcile(specs(std::to_string(l2.port), "100ms"));  // changed: restarts in its initial state
  CHECK(eventually([&] { return reg.get("both") == HealthState::Up; }));
  reg.set_override("flag", HealthState::Down);
  CHECK(eventually([&] { return reg.get("both") == HealthState::Down; }));
  reg.set_override("flag", std::nullopt);
  CHECK(eventually([&] { return reg.get("both") == HealthState::Up; }));

  // The file changes: seen at once (watched), not after the 1 minute interval.
  std::ofstream(dir.path / "flag") << "down\n";
  CHECK(eventually([&] { return reg.get("flag") == HealthState::Down; }));
  CHECK(entry("flag").reason == "file says down");
  std::ofstream(dir.path / "flag") << "ok\n";
  CHECK(eventually([&] { return reg.get("flag") == HealthState::Up; }));

  // Removed checks stop and read as up.
  hc.reconcile({});
  CHECK(reg.get("tcp") == HealthState::Up);
  CHECK(entry("tcp").type.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto n = hc.probes_done();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(hc.probes_done() == n);
  hc.stop();
}
