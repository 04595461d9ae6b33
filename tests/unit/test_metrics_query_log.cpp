// The query log: line format, deterministic sampling, the per-worker ring
// (drain, drops when full), what the answer path logs, [query_log] config.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "dns_test_util.hpp"
#include "server/config.hpp"
#include "server/query_log.hpp"
#include "zone_test_util.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {

// A file under the temp dir, removed at the end of the test.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& suffix) {
    path = std::filesystem::temp_directory_path() /
           ("meridian-query-log-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + suffix);
  }
  ~TempFile() { std::filesystem::remove(path); }
  std::string read() const {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static inline int counter = 0;
};

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string format(const QueryLogEntry& e, std::int64_t ms = 1714817472345) {
  char buf[kQueryLogLineMax];
  return std::string(buf, format_query_log_line(buf, e, ms));
}

}  // namespace

TEST_CASE("query log line: time with ms, client, ECS, qname, qtype, rcode, transport, policy and target") {
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_port = htons(5353);
  inet_pton(AF_INET, "192.0.2.7", &from.sin_addr);
  const std::string qname = wire("www.example.com.");
  const std::uint8_t ecs[16] = {198, 51, 100};
  const std::uint8_t target[4] = {192, 0, 2, 20};
  QueryLogEntry e;
  e.from = reinterpret_cast<const sockaddr*>(&from);
  e.ecs = true;
  e.ecs_family = 1;
  e.ecs_source = 24;
  e.ecs_addr = ecs;
  e.qname = reinterpret_cast<const std::uint8_t*>(qname.data());
  e.qname_len = qname.size();
  e.qtype = 1;
  e.rcode = 0;
  e.policy = PolicyKind::Weighted;
  e.target_type = 1;
  e.target = std::string_view(reinterpret_cast<const char*>(target), 4);
  CHECK(format(e) ==
        "2024-05-04T10:11:12.345Z client=192.0.2.7#5353 ecs=198.51.100.0/24 qname=www.example.com. qtype=A "
        "rcode=NOERROR proto=udp policy=weighted target=192.0.2.20\n");

  // IPv6 client, no ECS, TCP, truncated, an unknown type and rcode, odd octets in the name.
  sockaddr_in6 from6{};
  from6.sin6_family = AF_INET6;
  from6.sin6_port = htons(53);
  inet_pton(AF_INET6, "2001:db8::1", &from6.sin6_addr);
  const std::string odd("\x05" "a b.\\\x03" "com\x00", 11);
  QueryLogEntry f;
  f.from = reinterpret_cast<const sockaddr*>(&from6);
  f.qname = reinterpret_cast<const std::uint8_t*>(odd.data());
  f.qname_len = odd.size();
  f.qtype = 65280;
  f.rcode = 9;
  f.tcp = true;
  f.truncated = true;
  CHECK(format(f, 0) ==
        "1970-01-01T00:00:00.000Z client=2001:db8::1#53 ecs=- qname=a\\032b\\.\\\\.com. qtype=TYPE65280 "
        "rcode=RCODE9 proto=tcp tc=1 policy=none\n");

  // No question (FORMERR before the question), no source.
  QueryLogEntry g;
  g.rcode = 1;
  CHECK(format(g, 86399999) == "1970-01-01T23:59:59.999Z client=- ecs=- qname=- qtype=TYPE0 rcode=FORMERR "
                               "proto=udp policy=none\n");
}

TEST_CASE("query log line: the longest name fits the buffer") {
  std::string name;
  while (name.size() + 64 < 255) name += std::string("\x3f") + std::string(63, '\x01');
  const std::size_t last = 255 - name.size() - 2;  // the longest wire name: 255 octets
  name += static_cast<char>(last);
  name += std::string(last, '\x01');
  name += '\0';
  REQUIRE(name.size() == 255);
  QueryLogEntry e;
  e.qname = reinterpret_cast<const std::uint8_t*>(name.data());
  e.qname_len = name.size();
  const std::string line = format(e);
  CHECK(line.size() < kQueryLogLineMax);
  CHECK(line.back() == '\n');
  CHECK(line.find("policy=none") != std::string::npos);  // nothing cut off
}

TEST_CASE("query log sampling is exactly one in N per worker") {
  QueryLogRing one(1), three(3);
  int n1 = 0, n3 = 0;
  for (int i = 0; i < 30; ++i) {
    n1 += one.sampled();
    n3 += three.sampled();
  }
  CHECK(n1 == 30);
  CHECK(n3 == 10);
  QueryLogRing third(3);
  CHECK_FALSE(third.sampled());
  CHECK_FALSE(third.sampled());
  CHECK(third.sampled());
}

TEST_CASE("query log ring: drains whole lines to the file and drops, counted, when full") {
  TempFile f(".log");
  QueryLogConfig cfg;
  cfg.file = f.path.string();
  QueryLog log(cfg);
  QueryLogRing& ring = log.add_worker();  // the logging thread is not started: this test drains by hand
  const std::string qname = wire("www.example.com.");
  QueryLogEntry e;
  e.qname = reinterpret_cast<const std::uint8_t*>(qname.data());
  e.qname_len = qname.size();
  e.qtype = 28;
  const int attempts = 20000;  // ~100 bytes each: more than the 1 MiB ring holds
  for (int i = 0; i < attempts; ++i) ring.write(e);
  CHECK(ring.dropped() > 0);
  CHECK(ring.lines() + ring.dropped() == std::uint64_t(attempts));
  const int fd = ::open(cfg.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(fd >= 0);
  const std::size_t bytes = ring.drain(fd);
  CHECK(bytes > QueryLogRing::kBytes - kQueryLogLineMax);
  // After a drain there is room again; the ring wraps around its end.
  for (int i = 0; i < 100; ++i) ring.write(e);
  CHECK(ring.lines() + ring.dropped() == std::uint64_t(attempts + 100));
  ring.drain(fd);
  ::close(fd);
  const auto lines = split_lines(f.read());
  CHECK(lines.size() == ring.lines());
  for (const auto& l : lines) {
    REQUIRE(l.size() > 30);
    CHECK(l.substr(24) == " client=- ecs=- qname=www.example.com. qtype=AAAA rcode=NOERROR proto=udp policy=none");
  }
  CHECK(log.lines() == ring.lines());
  CHECK(log.dropped() == ring.dropped());
}

TEST_CASE("query log: the answer path logs sampled queries through the logging thread") {
  const std::string pol = bare_zone("log.metrics.test.") + R"([records.ns1]
A = "192.0.2.1"
[records.f.A]
policy = "failover"
targets = [ { value = "192.0.2.40" }, { value = "198.51.100.40" } ]
)";
  auto set = zones_from_toml({kTestZone, pol});
  TempFile f(".log");
  QueryLogConfig qc;
  qc.enabled = true;
  qc.sample = 2;
  qc.file = f.path.string();
  std::vector<std::string> lines;
  {
    QueryLog log(qc);
    std::string error;
    REQUIRE(log.start(error));
    WorkerState ws;
    ws.query_log = &log.add_worker();
    AnswerConfig cfg;
    static std::uint8_t out[kMaxMessage];
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_port = htons(40000);
    inet_pton(AF_INET, "127.0.0.9", &from.sin_addr);
    const auto* src = reinterpret_cast<const sockaddr*>(&from);
    const std::vector<std::vector<std::uint8_t>> qs = {
        make_query("www.example.com.", LDNS_RR_TYPE_A), make_query("f.log.metrics.test.", LDNS_RR_TYPE_A),
        make_query("www.example.com.", LDNS_RR_TYPE_A), make_query("nope.example.com.", LDNS_RR_TYPE_MX)};
    for (const auto& q : qs)
      CHECK(answer_query(*set, cfg, ws, q.data(), q.size(), QueryMeta{Transport::Tcp, src, nullptr}, out) > 0);
    log.stop();  // final drain
    CHECK(log.lines() == 2);
  }
  lines = split_lines(f.read());
  REQUIRE(lines.size() == 2);  // queries 2 and 4
  CHECK(lines[0].substr(24) == " client=127.0.0.9#40000 ecs=- qname=f.log.metrics.test. qtype=A rcode=NOERROR "
                               "proto=tcp policy=failover target=192.0.2.40");
  CHECK(lines[1].substr(24) == " client=127.0.0.9#40000 ecs=- qname=nope.example.com. qtype=MX rcode=NXDOMAIN "
                               "proto=tcp policy=none");
}

TEST_CASE("config: [query_log] keys, defaults and errors at their line") {
  auto load = [](const std::string& text, ServerConfig& cfg, Diagnostics& errors) {
    TempFile f(".toml");
    std::ofstream(f.path) << text;
    return load_config(f.path.string(), cfg, errors);
  };
  ServerConfig cfg;
  Diagnostics errors;
  REQUIRE(load("[server]\nthreads = 1\n", cfg, errors));
  CHECK_FALSE(cfg.query_log.enabled);
  CHECK(cfg.query_log.sample == 1);
  CHECK(cfg.query_log.file.empty());

  REQUIRE(load("[query_log]\nenabled = true\nsample = 100\nfile = \"logs/q.log\"\n", cfg, errors));
  CHECK(cfg.query_log.enabled);
  CHECK(cfg.query_log.sample == 100);
  CHECK(std::filesystem::path(cfg.query_log.file).is_absolute());  // against the config dir
  CHECK(cfg.query_log.file.ends_with("/logs/q.log"));

  CHECK_FALSE(load("[query_log]\n"      // 1
                   "enabled = 1\n"      // 2
                   "sample = 0\n"       // 3
                   "file = 3\n"         // 4
                   "rate = 5\n",        // 5
                   cfg, errors));
  std::string all;
  for (const auto& e : errors) all += e.str() + "\n";
  INFO(all);
  CHECK(has_error(errors, 2, "'enabled' must be true or false"));
  CHECK(has_error(errors, 3, "'sample' must be between 1 and"));
  CHECK(has_error(errors, 4, "'file' must be a string"));
  CHECK(has_error(errors, 5, "unknown key 'query_log.rate'"));
  CHECK(errors.size() == 4);
}
