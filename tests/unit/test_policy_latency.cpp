// The latency routing policy: the nearest region by coordinates, measured
// RTTs from a latency table overriding estimates, bias, down regions, fail
// open, clients without coordinates, the ECS scope, load errors and the
// trace. Regions are set in RegionRegistry::global() as the server config
// would; clients carry a preset Location (no GeoIP database needed).
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "geo/client.hpp"
#include "geo/latency_model.hpp"
#include "geo/location.hpp"
#include "geo/regions.hpp"
#include "zone_test_util.hpp"
#include "zones/health.hpp"
#include "zones/name.hpp"
#include "zones/policy.hpp"
#include "zones/rdata.hpp"
#include "zones/toml_loader.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {

constexpr double kDublin[2] = {53.35, -6.26}, kVirginia[2] = {38.95, -77.45}, kTokyo[2] = {35.68, 139.69};

void set_regions() {
  RegionRegistry::global().set({{"eu-west", kDublin[0], kDublin[1]},
                                {"us-east", kVirginia[0], kVirginia[1]},
                                {"ap-northeast", kTokyo[0], kTokyo[1]}});
}

const ErrorScope kThisFile{.file = "l.toml"};

Loaded load_rrset(const std::string& text, const std::string& owner = "fast") {
  return load_policy_rrset("l.toml", text, owner);
}

Location at(double lat, double lon, const char* country = "", std::uint8_t prefix = 24) {
  return with_coords(where("", country, {}, 0, prefix), lat, lon);
}

Pick pick(const RRset& rs, const ClientInfo* c, const LatencyModel* model = nullptr, PolicyTrace* trace = nullptr) {
  const PolicyOutput out = run_policy(rs, PolicyInput{1, c, model, trace});
  Pick p(out);
  for (std::uint16_t i = 0; i < out.count; ++i)
    p.value += (p.value.empty() ? "" : ",") + rdata_to_text(rs.type, rs.rdata[out.idx[i]]);
  return p;
}
Pick pick_for(const RRset& rs, const ClientInfo& c, const LatencyModel* model = nullptr) { return pick(rs, &c, model); }
std::string answer(const RRset& rs, const ClientInfo& c, const LatencyModel* model = nullptr) {
  return pick(rs, &c, model).value;
}

// Three regions; check names unique to `tag`; `extra` goes into each target.
std::string three(const std::string& tag, const std::string& eu_extra = "", const std::string& us_extra = "") {
  return "[records.fast.A]\npolicy = \"latency\"\nttl_when_degraded = 15\ntargets = [\n"
         "  { region = \"eu-west\", value = \"192.0.2.60\", check = \"" + tag + "-eu\"" + eu_extra + " },\n"
         "  { region = \"us-east\", value = \"198.51.100.60\", check = \"" + tag + "-us\"" + us_extra + " },\n"
         "  { region = \"ap-northeast\", value = \"203.0.113.60\", check = \"" + tag + "-ap\" },\n"
         "]\n";
}

const Location kFrankfurt = at(50.11, 8.68, "DE");
const Location kNewYork = at(40.71, -74.0, "US");
const Location kOsaka = at(34.69, 135.5, "JP");

struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& text) {
    path = std::filesystem::temp_directory_path() / ("meridian-latency-" + std::to_string(::getpid()) + ".csv");
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("policy latency: the nearest region by coordinates") {
  set_regions();
  auto l = load_rrset(three("ln"));
  const RRset& rs = *l.rs;
  CHECK(rs.policy->kind() == "latency");
  CHECK(rs.ttl_when_degraded == 15);
  Pick p = pick_for(rs, client("81.2.69.10", kFrankfurt));
  CHECK(p.value == "192.0.2.60");  // Frankfurt: Dublin, not Virginia
  CHECK_FALSE(p.degraded);
  CHECK(answer(rs, client("198.51.100.1", kNewYork)) == "198.51.100.60");
  CHECK(answer(rs, client("203.0.113.1", kOsaka)) == "203.0.113.60");
  // Without city coordinates: the country's centroid.
  Location de;
  de.found = true;
  code(de.country, "DE");
  de.prefix_len = 16;
  CHECK(answer(rs, client("81.2.69.10", de)) == "192.0.2.60");
  Location jp = de;
  code(jp.country, "JP");
  CHECK(answer(rs, client("81.2.69.10", jp)) == "203.0.113.60");
  // The order of the regions in the file does not matter.
  auto r = load_rrset("[records.fast.A]\npolicy = \"latency\"\ntargets = [\n"
                      "  { region = \"ap-northeast\", value = \"203.0.113.60\" },\n"
                      "  { region = \"us-east\", value = \"198.51.100.60\" },\n"
                      "  { region = \"eu-west\", value = \"192.0.2.60\" },\n]\n");
  CHECK(answer(*r.rs, client("81.2.69.10", kFrankfurt)) == "192.0.2.60");
  CHECK(answer(*r.rs, client("198.51.100.1", kNewYork)) == "198.51.100.60");
}

TEST_CASE("policy latency: measured RTTs override the estimates") {
  set_regions();
  auto l = load_rrset(three("lm"));
  const RRset& rs = *l.rs;
  TempFile csv("# client,region,rtt_ms\n81.2.69.0/24,us-east,5\nJP,eu-west,1\n");
  LatencyModel model;
  Diagnostics errs;
  const bool loaded = model.load_csv(csv.path.string(), RegionRegistry::global().list(), errs);
  INFO(all_errors(errs));
  REQUIRE(loaded);
  const ClientInfo fra = client("81.2.69.10", kFrankfurt);
  CHECK(answer(rs, fra) == "192.0.2.60");             // estimates only
  CHECK(answer(rs, fra, &model) == "198.51.100.60");  // 5 ms measured beats ~16 ms estimated
  CHECK(answer(rs, client("81.2.70.10", kFrankfurt), &model) == "192.0.2.60");  // outside the /24
  CHECK(answer(rs, client("203.0.113.1", kOsaka), &model) == "192.0.2.60");     // by country
  // A measured region that is down is skipped like any other.
  set("lm-us", HealthState::Down);
  Pick p = pick_for(rs, fra, &model);
  CHECK(p.value == "192.0.2.60");
  CHECK(p.degraded);
  set("lm-us", HealthState::Up);
}

TEST_CASE("policy latency: bias flips a borderline choice") {
  set_regions();
  // Mid-Atlantic: Dublin slightly nearer than Virginia.
  const double lat = 50, lon = -45;
  const float eu = LatencyModel::estimate_ms(lat, lon, kDublin[0], kDublin[1]);
  const float us = LatencyModel::estimate_ms(lat, lon, kVirginia[0], kVirginia[1]);
  INFO("eu-west " << eu << " ms, us-east " << us << " ms");
  REQUIRE(eu < us);
  REQUIRE(us * 0.9f < eu);  // within 10 %: a bias of 10 flips it, a bias of 3 may not
  const ClientInfo c = client("192.0.2.77", at(lat, lon));
  CHECK(answer(*load_rrset(three("lb1")).rs, c) == "192.0.2.60");
  CHECK(answer(*load_rrset(three("lb2", "", ", bias = 10")).rs, c) == "198.51.100.60");
  CHECK(answer(*load_rrset(three("lb3", ", bias = -10")).rs, c) == "198.51.100.60");
  CHECK(answer(*load_rrset(three("lb4", ", bias = 10", ", bias = 10")).rs, c) == "192.0.2.60");
  // Extreme biases: -99 doubles an RTT, 99 divides it by 100.
  const ClientInfo fra = client("81.2.69.10", kFrankfurt);
  CHECK(answer(*load_rrset(three("lb5", ", bias = -99")).rs, fra) == "192.0.2.60");
  CHECK(answer(*load_rrset(three("lb6", ", bias = -99", ", bias = 99")).rs, fra) == "198.51.100.60");
}

TEST_CASE("policy latency: a down region is skipped; all down answers the nearest") {
  set_regions();
  auto l = load_rrset(three("ld"));
  const RRset& rs = *l.rs;
  const ClientInfo fra = client("81.2.69.10", kFrankfurt);
  set("ld-us", HealthState::Down);  // a far region down does not matter
  Pick p = pick_for(rs, fra);
  CHECK(p.value == "192.0.2.60");
  CHECK_FALSE(p.degraded);
  set("ld-us", HealthState::Up);
  set("ld-eu", HealthState::Down);
  p = pick_for(rs, fra);
  CHECK(p.value == "198.51.100.60");  // Virginia is nearer to Frankfurt than Tokyo
  CHECK(p.degraded);
  set("ld-us", HealthState::Down);
  p = pick_for(rs, fra);
  CHECK(p.value == "203.0.113.60");
  CHECK(p.degraded);
  set("ld-ap", HealthState::Down);  // all down: the nearest anyway
  p = pick_for(rs, fra);
  CHECK(p.value == "192.0.2.60");
  CHECK(p.degraded);
  CHECK(answer(rs, client("198.51.100.1", kNewYork)) == "198.51.100.60");
  for (auto c : {"ld-eu", "ld-us", "ld-ap"}) set(c, HealthState::Up);
  CHECK_FALSE(pick_for(rs, fra).degraded);
}

TEST_CASE("policy latency: no coordinates or no client: the first target that is up") {
  set_regions();
  auto l = load_rrset(three("lc"));
  const RRset& rs = *l.rs;
  CHECK(answer(rs, client("10.0.0.1", Location{})) == "192.0.2.60");  // unknown to the databases
  Location only_continent;
  only_continent.found = true;
  code(only_continent.continent, "AS");
  CHECK(answer(rs, client("10.0.0.1", only_continent)) == "192.0.2.60");
  CHECK(pick(rs, nullptr).value == "192.0.2.60");
  ClientInfo none;
  CHECK(pick(rs, &none).value == "192.0.2.60");
  set("lc-eu", HealthState::Down);
  Pick p = pick(rs, nullptr);
  CHECK(p.value == "198.51.100.60");
  CHECK(p.degraded);
  set("lc-eu", HealthState::Up);
  // A table entry for the client still counts without coordinates.
  TempFile csv("10.0.0.0/8,ap-northeast,40\n");
  LatencyModel model;
  Diagnostics errs;
  REQUIRE(model.load_csv(csv.path.string(), RegionRegistry::global().list(), errs));
  CHECK(answer(rs, client("10.0.0.1", Location{}), &model) == "203.0.113.60");
}

TEST_CASE("policy latency: ties go to the first target; one region can back itself up") {
  set_regions();
  auto l = load_rrset("[records.fast.A]\npolicy = \"latency\"\ntargets = [\n"
                      "  { region = \"eu-west\", value = \"192.0.2.1\", check = \"lt-1\" },\n"
                      "  { region = \"eu-west\", value = \"192.0.2.2\" },\n"
                      "  { region = \"us-east\", value = \"192.0.2.3\" },\n]\n");
  const ClientInfo fra = client("81.2.69.10", kFrankfurt);
  for (int i = 0; i < 10; ++i) CHECK(answer(*l.rs, fra) == "192.0.2.1");
  set("lt-1", HealthState::Down);
  Pick p = pick_for(*l.rs, fra);
  CHECK(p.value == "192.0.2.2");
  CHECK(p.degraded);
}

TEST_CASE("policy latency: the ECS scope") {
  set_regions();
  auto l = load_rrset(three("ls"));
  auto scope_of = [&](ClientInfo c, const LatencyModel* model = nullptr) {
    pick(*l.rs, &c, model);
    return static_cast<int>(c.scope());
  };
  CHECK(scope_of(client("81.2.69.10", at(50.11, 8.68, "DE", 20))) == 20);        // the database network
  CHECK(scope_of(client("81.2.69.0", at(50.11, 8.68, "DE", 20), 24)) == 20);
  CHECK(scope_of(client("81.2.69.0", at(50.11, 8.68, "DE", 28), 24)) == 24);     // at most the source prefix
  CHECK(scope_of(client("10.0.0.0", Location{}, 24)) == 24);                      // unknown: the full prefix
  CHECK(scope_of(client("2001:db8::", at(50.11, 8.68, "DE", 32), 56)) == 32);
  LatencyModel empty;
  CHECK(scope_of(client("81.2.69.0", at(50.11, 8.68, "DE", 20), 24), &empty) == 24);  // a table: the full prefix
  // Only one target can answer: the address does not matter.
  set("ls-eu", HealthState::Down);
  set("ls-us", HealthState::Down);
  CHECK(scope_of(client("81.2.69.0", at(50.11, 8.68, "DE", 20), 24)) == 0);
  for (auto c : {"ls-eu", "ls-us"}) set(c, HealthState::Up);
  auto one = load_rrset("[records.fast.A]\npolicy = \"latency\"\ntargets = [ { region = \"us-east\", value = \"192.0.2.1\" } ]\n");
  ClientInfo c = client("81.2.69.0", at(50.11, 8.68, "DE", 20), 24);
  CHECK(answer(*one.rs, c) == "192.0.2.1");
  CHECK(c.scope() == 0);
}

TEST_CASE("policy latency: pools on both sides") {
  set_regions();
  auto l = load_rrset(R"([records.fast.A]
policy = "failover"
targets = [ { pool = "near" }, { value = "192.0.2.99" } ]
[pools.near]
policy = "latency"
targets = [
  { region = "eu-west", pool = "eu" },
  { region = "us-east", value = "198.51.100.60", check = "lp-us" },
]
[pools.eu]
policy = "multivalue"
targets = [ { value = "192.0.2.61", check = "lp-eu1" }, { value = "192.0.2.62", check = "lp-eu2" } ]
)");
  const ClientInfo fra = client("81.2.69.10", kFrankfurt);
  Pick p = pick_for(*l.rs, fra);
  std::string v = p.value;
  CHECK((v == "192.0.2.61,192.0.2.62" || v == "192.0.2.62,192.0.2.61"));
  CHECK(answer(*l.rs, client("198.51.100.1", kNewYork)) == "198.51.100.60");
  set("lp-eu1", HealthState::Down);
  set("lp-eu2", HealthState::Down);  // pool eu down: us-east
  p = pick_for(*l.rs, fra);
  CHECK(p.value == "198.51.100.60");
  CHECK(p.degraded);
  set("lp-us", HealthState::Down);  // the latency pool is down: failover's second target
  CHECK(answer(*l.rs, fra) == "192.0.2.99");
}

TEST_CASE("policy latency: load errors at their line") {
  set_regions();
  const std::string text =
      "[records.a.A]\npolicy = \"latency\"\ntargets = [\n"                     // 11-13
      "  { region = \"mars-1\", value = \"192.0.2.1\" },\n"                     // 14
      "  { region = \"eu-west\", value = \"192.0.2.2\", bias = 100 },\n"        // 15
      "  { region = \"eu-west\", value = \"192.0.2.3\", bias = -100 },\n"       // 16
      "  { region = \"us-east\", value = \"192.0.2.4\", bias = 1.5 },\n"        // 17
      "  { value = \"192.0.2.5\" },\n"                                          // 18
      "  { region = 7, value = \"192.0.2.6\" },\n"                              // 19
      "  { region = \"us-east\", value = \"192.0.2.7\", weight = 3 },\n"        // 20
      "  { region = \"us-east\", value = \"192.0.2.8\", match = \"EU\" },\n"    // 21
      "  { region = \"us-east\", value = \"192.0.2.9\", speed = 1 },\n"         // 22
      "]\n"                                                                     // 23
      "[records.b.A]\npolicy = \"weighted\"\n"                                  // 24-25
      "targets = [ { value = \"192.0.2.1\", region = \"eu-west\", bias = 5 } ]\n";  // 26
  auto r = load_toml_zone_text(kHead + text, "l.toml");
  INFO(all_errors(r.errors));
  CHECK_FALSE(r.zone);
  CHECK(has_error(r.errors, 14, "unknown region 'mars-1' (known regions: eu-west, us-east, ap-northeast)", kThisFile));
  CHECK(has_error(r.errors, 15, "'bias' must be an integer from -99 to 99", kThisFile));
  CHECK(has_error(r.errors, 16, "'bias' must be an integer from -99 to 99", kThisFile));
  CHECK(has_error(r.errors, 17, "'bias' must be an integer from -99 to 99", kThisFile));
  CHECK(has_error(r.errors, 18, "a latency target needs 'region'", kThisFile));
  CHECK(has_error(r.errors, 19, "'region' must be the name of a region", kThisFile));
  CHECK(has_error(r.errors, 20, "'weight' is used only by policy \"weighted\"", kThisFile));
  CHECK(has_error(r.errors, 21, "'match' is used only by policy \"geolocation\"", kThisFile));
  CHECK(has_error(r.errors, 22, "unknown key 'speed' in a target (expected value, pool, cname, region, bias, check)",
                  kThisFile));
  CHECK(has_error(r.errors, 26, "'region' is used only by policy \"latency\"", kThisFile));
  CHECK(has_error(r.errors, 26, "'bias' is used only by policy \"latency\"", kThisFile));
  CHECK(r.errors.size() == 11);
  for (const auto& e : r.errors)
    if (e.loc.line == 14) CHECK(e.loc.col == 14);  // at the region's name

  RegionRegistry::global().set({});
  auto none = load_toml_zone_text(kHead + "[records.a.A]\npolicy = \"latency\"\n"
                                          "targets = [ { region = \"eu-west\", value = \"192.0.2.1\" } ]\n", "l.toml");
  INFO(all_errors(none.errors));
  CHECK(has_error(none.errors, 13, "unknown region 'eu-west': no regions are configured", kThisFile));
  set_regions();
}

TEST_CASE("policy latency: the trace lists every region's RTT and the choice") {
  set_regions();
  auto l = load_rrset(three("lt", "", ", bias = 10"));
  set("lt-ap", HealthState::Down);
  Lines t;
  ClientInfo c = client("81.2.69.10", kFrankfurt);
  pick(*l.rs, &c, nullptr, &t);
  REQUIRE(t.lines.size() == 1);
  const std::string& s = t.lines[0];
  INFO(s);
  CHECK(s.rfind("latency: client 81.2.69.10 at 50.11,8.68; eu-west ", 0) == 0);
  CHECK(s.find(" ms (estimate), us-east ") != std::string::npos);
  CHECK(s.find(" bias +10 → ") != std::string::npos);
  CHECK(s.find("ap-northeast ") != std::string::npos);
  CHECK(s.find("[check lt-ap down]") != std::string::npos);
  CHECK(s.find("→ eu-west (target 1 (192.0.2.60)); ECS scope /24") != std::string::npos);
}

TEST_CASE("policy latency: the example of docs/zone-format.md loads and routes") {
  set_regions();
  auto l = load_rrset(doc_toml_example("### Latency"));
  CHECK(answer(*l.rs, client("81.2.69.10", kFrankfurt)) == "192.0.2.60");
  CHECK(answer(*l.rs, client("198.51.100.1", kNewYork)) == "198.51.100.60");
}
