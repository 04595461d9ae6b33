// cname targets: a target that answers with a CNAME instead of records.
// The loader's rules (where a CNAME would have to share an answer, the
// record types and names it cannot stand in for, directly and through
// pools), RRset::cname_targets, and what each policy kind selects: the one
// index kCnameIndexBase + i, with health, weight, match and region working as
// for any target, and degraded / fail-open unchanged.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "geo/client.hpp"
#include "geo/location.hpp"
#include "geo/regions.hpp"
#include "zone_test_util.hpp"
#include "zones/health.hpp"
#include "zones/name.hpp"
#include "zones/policy.hpp"
#include "zones/rdata.hpp"
#include "zones/toml_loader.hpp"
#include "zones/zone_builder.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {

const ErrorScope kThisFile{.file = "c.toml", .with_column = true};

ZoneLoadResult load(const std::string& text) { return load_toml_zone_text(kHead + text, "c.toml"); }

Loaded load_rrset(const std::string& text, const std::string& owner = "www", std::uint16_t type = rrtype::A) {
  return load_policy_rrset("c.toml", text, owner, type);
}

// What one selection answers: "CNAME name." for a cname index (which must
// then be alone), else the records, presentation, joined with ','.
Pick pick(const RRset& rs, std::uint32_t random = 1, const ClientInfo* c = nullptr, PolicyTrace* trace = nullptr) {
  const PolicyOutput out = run_policy(rs, PolicyInput{random, c, nullptr, trace});
  Pick p(out);
  for (std::uint16_t i = 0; i < out.count; ++i) {
    if (out.idx[i] >= kCnameIndexBase) {
      CHECK(out.count == 1);  // a CNAME is alone
      const std::size_t k = out.idx[i] - kCnameIndexBase;
      REQUIRE(k < rs.cname_targets.size());
      p.value = "CNAME " + name_to_text(rs.cname_targets[k]);
    } else {
      REQUIRE(out.idx[i] < rs.rdata.size());
      p.value += (p.value.empty() ? "" : ",") + rdata_to_text(rs.type, rs.rdata[out.idx[i]]);
    }
  }
  return p;
}

ClientInfo client(const char* addr, const char* continent, const char* country, double lat, double lon) {
  return test::client(addr, with_coords(where(continent, country), lat, lon));
}

}  // namespace

TEST_CASE("policy cname: the example of the issue loads; cname_targets hold the names as written") {
  auto l = load_rrset(R"([records.www.A]
policy = "geolocation"
targets = [
  { match = "EU", cname = "eu.CDN.example.net." },
  { match = "JP", cname = "jp-cdn" },
  { match = "US", cname = "EU.cdn.example.NET." },
  { match = "*",  value = "192.0.2.80" },
]
)");
  const RRset& rs = *l.rs;
  CHECK(rs.policy->kind() == "geolocation");
  REQUIRE(rs.rdata.size() == 1);  // only values are records
  CHECK(rdata_to_text(rrtype::A, rs.rdata[0]) == "192.0.2.80");
  // Wire, case as written; a relative name is completed with the origin;
  // the same name in another case is the same cname target.
  REQUIRE(rs.cname_targets.size() == 2);
  CHECK(rs.cname_targets[0] == wire("eu.CDN.example.net."));
  CHECK(rs.cname_targets[1] == wire("jp-cdn.example.com."));
  CHECK(name_to_text(rs.cname_targets[1]) == "jp-cdn.example.com.");

  ClientInfo paris = client("81.2.69.1", "EU", "FR", 48.85, 2.35);
  ClientInfo tokyo = client("81.2.70.1", "AS", "JP", 35.68, 139.69);
  ClientInfo ny = client("81.2.71.1", "NA", "US", 40.71, -74.0);
  ClientInfo lima = client("81.2.72.1", "SA", "PE", -12.05, -77.04);
  CHECK(pick(rs, 1, &paris).value == "CNAME eu.CDN.example.net.");
  CHECK(pick(rs, 1, &tokyo).value == "CNAME jp-cdn.example.com.");
  CHECK(pick(rs, 1, &ny).value == "CNAME eu.CDN.example.net.");  // deduplicated: index 0
  const Pick p = pick(rs, 1, &lima);
  CHECK(p.value == "192.0.2.80");
  CHECK(p.count == 1);
  CHECK_FALSE(p.degraded);

  // A plain RRset, and a policy RRset without cname targets, have none.
  auto plain = load_rrset("[records.www.A]\npolicy = \"failover\"\ntargets = [ { value = \"192.0.2.1\" } ]\n");
  CHECK(plain.rs->cname_targets.empty());
  CHECK(plain.zone->find(lowered(wire("ns1")))->find(rrtype::A)->cname_targets.empty());
}

TEST_CASE("policy cname: where a cname target is allowed and where not, each error at its line") {
  const std::string text =
      "[records.a]\n"                                                                               // 11
      "A = { policy = \"multivalue\", targets = [ { cname = \"x.example.net.\" } ] }\n"             // 12
      "AAAA = { policy = \"weighted\", answers = 2, targets = [\n"                                  // 13
      "  { value = \"2001:db8::1\" },\n"                                                           // 14
      "  { cname = \"x.example.net.\" } ] }\n"                                                     // 15
      "TXT = { policy = \"simple\", targets = [ { cname = \"x.example.net.\" } ] }\n"               // 16
      "MX = { policy = \"failover\", targets = [ { cname = \"x.example.net.\", value = \"10 mx\" } ] }\n"  // 17
      "[records.b]\n"                                                                               // 18
      "A = { policy = \"failover\", targets = [ { cname = \"x.example.net.\", pool = \"p\" } ] }\n"  // 19
      "CNAME = { policy = \"failover\", targets = [ { cname = \"x.example.net.\" } ] }\n"           // 20
      "[records.c]\n"                                                                               // 21
      "A = { policy = \"failover\", targets = [ { cname = 5 } ] }\n"                                // 22
      "AAAA = { policy = \"failover\", targets = [ { cname = \"a..b\" } ] }\n"                      // 23
      "TXT = { policy = \"failover\", targets = [ { cname = \"\" } ] }\n"                           // 24
      "[records.d]\n"                                                                               // 25
      "DNAME = { policy = \"failover\", targets = [ { cname = \"x.example.net.\" } ] }\n"           // 26
      "[records.e]\n"                                                                               // 27
      "NS = { policy = \"failover\", targets = [ { cname = \"x.example.net.\" } ] }\n"              // 28
      "[records.\"example.com.\"]\n"                                                               // 29
      "TXT = { policy = \"failover\", targets = [ { cname = \"x.example.net.\" } ] }\n"             // 30
      "[records.f]\n"                                                                               // 31
      "A = { policy = \"failover\", targets = [ { cname = \"F.example.com.\" } ] }\n"               // 32
      "[pools.p]\n"                                                                                 // 33
      "policy = \"failover\"\n"                                                                     // 34
      "targets = [ { value = \"192.0.2.1\" } ]\n";                                                 // 35
  auto r = load(text);
  INFO(all_errors(r.errors));
  CHECK_FALSE(r.zone);
  CHECK(has_error(r.errors, 12, "a cname target cannot be used here: policy \"multivalue\" answers with the records "
                                "of several targets together, and a CNAME must be alone in an answer", kThisFile));
  CHECK(has_error(r.errors, 15, "a cname target cannot be used here: policy \"weighted\" with answers = 2", kThisFile));
  CHECK(has_error(r.errors, 16, "a cname target cannot be used here: policy \"simple\"", kThisFile));
  CHECK(has_error(r.errors, 17, "a target has both 'cname' and 'value'; give one of them", kThisFile));
  CHECK(has_error(r.errors, 19, "a target has both 'cname' and 'pool'; give one of them", kThisFile));
  CHECK(has_error(r.errors, 20, "a CNAME policy cannot have cname targets: its records are CNAMEs already "
                                "(use value = 'x.example.net.')", kThisFile));
  CHECK(has_error(r.errors, 22, "'cname' must be a domain name", kThisFile));
  CHECK(has_error(r.errors, 23, "bad 'cname': invalid domain name 'a..b'", kThisFile));
  CHECK(has_error(r.errors, 24, "'cname' must be a domain name", kThisFile));
  CHECK(has_error(r.errors, 26, "a DNAME policy cannot have cname targets", kThisFile));
  CHECK(has_error(r.errors, 28, "an NS policy cannot have cname targets", kThisFile));
  CHECK(has_error(r.errors, 30, "a cname target cannot be used at the zone apex example.com.", kThisFile));
  CHECK(has_error(r.errors, 32, "cname 'F.example.com.' is the RRset's own name (a CNAME loop)", kThisFile));
  CHECK(r.errors.size() == 13);

  // The column points at the cname (or at the target, for a conflict).
  for (const auto& e : r.errors)
    if (e.loc.line == 12) CHECK(e.loc.col == 52);
    else if (e.loc.line == 17) CHECK(e.loc.col == 41);
}

TEST_CASE("policy cname: the rule holds through pools, reported where the pool is used") {
  const std::string text =
      "[records.a]\n"                                                                      // 11
      "A = { policy = \"multivalue\", targets = [ { pool = \"cdn\" }, { value = \"192.0.2.1\" } ] }\n"  // 12
      "AAAA = { policy = \"failover\", targets = [ { pool = \"pair\" } ] }\n"              // 13
      "TXT = { policy = \"simple\", targets = [ { pool = \"deep\" } ] }\n"                 // 14
      "CNAME = { policy = \"failover\", targets = [ { pool = \"cdn\" } ] }\n"              // 15
      "[records.b]\n"                                                                      // 16
      "A = { policy = \"failover\", targets = [ { pool = \"cdn\" } ] }\n"                  // 17 fine
      "[pools.cdn]\n"                                                                      // 18
      "policy = \"failover\"\n"                                                            // 19
      "targets = [ { cname = \"eu.cdn.example.net.\", check = \"cn-pp\" } ]\n"               // 20
      "[pools.pair]\n"                                                                     // 21
      "policy = \"weighted\"\n"                                                            // 22
      "answers = 2\n"                                                                      // 23
      "targets = [ { pool = \"cdn\" }, { value = \"2001:db8::1\" } ]\n"                   // 24
      "[pools.deep]\n"                                                                     // 25
      "policy = \"failover\"\n"                                                            // 26
      "targets = [ { pool = \"cdn\" } ]\n";                                               // 27
  auto r = load(text);
  INFO(all_errors(r.errors));
  CHECK_FALSE(r.zone);
  CHECK(has_error(r.errors, 12, "pool 'cdn' can answer with a CNAME (the cname target at line 20), but policy "
                                "\"multivalue\" answers with the records of several targets together", kThisFile));
  // A pool in a pool: reported in the pool that combines, once.
  CHECK(has_error(r.errors, 24, "pool 'cdn' can answer with a CNAME (the cname target at line 20), but policy "
                                "\"weighted\" with answers = 2", kThisFile));
  CHECK(has_error(r.errors, 14, "pool 'deep' can answer with a CNAME (the cname target at line 20), but policy "
                                "\"simple\"", kThisFile));
  CHECK(has_error(r.errors, 20, "a CNAME policy cannot have cname targets: its records are CNAMEs already (use value "
                                "= 'eu.cdn.example.net.') (in pool 'cdn', used by a.example.com. CNAME at c.toml:15)",
                  kThisFile));
  CHECK(r.errors.size() == 4);
  for (const auto& e : r.errors) CHECK(e.loc.line != 17);
}

TEST_CASE("policy cname: failover, health, fail open; the trace names the CNAME") {
  auto l = load_rrset(R"([records.www.A]
policy = "failover"
ttl_when_degraded = 20
targets = [
  { value = "192.0.2.1", check = "cn-f1" },
  { cname = "eu.cdn.example.net.", check = "cn-f2" },
  { value = ["192.0.2.3", "192.0.2.4"], check = "cn-f3" },
]
)");
  const RRset& rs = *l.rs;
  CHECK(rs.ttl_when_degraded == 20);
  CHECK(rs.rdata.size() == 3);
  REQUIRE(rs.cname_targets.size() == 1);

  Pick p = pick(rs);
  CHECK(p.value == "192.0.2.1");
  CHECK_FALSE(p.degraded);

  set("cn-f1", HealthState::Down);
  PolicyOutput out;
  rs.policy->select(PolicyInput{7}, out);
  CHECK(out.count == 1);
  CHECK(out.idx[0] == kCnameIndexBase + 0);
  CHECK(out.degraded);

  Lines t;
  p = pick(rs, 1, nullptr, &t);
  CHECK(p.value == "CNAME eu.cdn.example.net.");
  INFO(t.all());
  REQUIRE(t.lines.size() == 3);
  CHECK(t.lines[0] == "failover: target 1 (192.0.2.1) check cn-f1 down, trying the next");
  CHECK(t.lines[1] == "failover: using target 2 (CNAME eu.cdn.example.net.)");
  CHECK(t.lines[2] == "failover: target 2 → CNAME eu.cdn.example.net.");

  set("cn-f2", HealthState::Down);  // the CNAME's check is down: the next target
  p = pick(rs);
  CHECK((p.value == "192.0.2.3,192.0.2.4" || p.value == "192.0.2.4,192.0.2.3"));
  CHECK(p.count == 2);
  CHECK(p.degraded);

  set("cn-f3", HealthState::Down);  // all down: fail open to the first target
  p = pick(rs);
  CHECK(p.value == "192.0.2.1");
  CHECK(p.degraded);

  auto first = load_rrset(R"([records.www.A]
policy = "failover"
targets = [ { cname = "eu.cdn.example.net.", check = "cn-f4" }, { value = "192.0.2.1" } ]
)");
  set("cn-f4", HealthState::Down);
  p = pick(*first.rs);
  CHECK(p.value == "192.0.2.1");
  CHECK(p.degraded);
  set("cn-f4", HealthState::Up);
  p = pick(*first.rs);
  CHECK(p.value == "CNAME eu.cdn.example.net.");
  CHECK_FALSE(p.degraded);
}

TEST_CASE("policy cname: weighted (answers = 1) draws a cname target by weight; down gets nothing") {
  auto l = load_rrset(R"([records.www.A]
policy = "weighted"
targets = [
  { cname = "eu.cdn.example.net.", weight = 75, check = "cn-w1" },
  { value = "192.0.2.1", weight = 25 },
  { cname = "backup.cdn.example.net.", weight = 0 },
]
)");
  const RRset& rs = *l.rs;
  REQUIRE(rs.cname_targets.size() == 2);
  std::map<std::string, int> count;
  const int n = 8000;
  for (int i = 0; i < n; ++i) {
    Pick p = pick(rs, static_cast<std::uint32_t>(i) * 2654435761u);
    CHECK(p.count == 1);
    CHECK_FALSE(p.degraded);
    ++count[p.value];
  }
  CHECK(count.size() == 2);
  CHECK(std::abs(count["CNAME eu.cdn.example.net."] * 100.0 / n - 75) < 2.5);
  CHECK(std::abs(count["192.0.2.1"] * 100.0 / n - 25) < 2.5);

  set("cn-w1", HealthState::Down);
  for (std::uint32_t i = 0; i < 200; ++i) {
    Pick p = pick(rs, i);
    CHECK(p.value == "192.0.2.1");
    CHECK(p.degraded);
  }

  // Weight 0 is the backup tier, a cname target like any other.
  auto b = load_rrset(R"([records.www.A]
policy = "weighted"
targets = [
  { value = "192.0.2.1", weight = 10, check = "cn-w2" },
  { cname = "backup.cdn.example.net.", weight = 0 },
]
)");
  CHECK(pick(*b.rs, 3).value == "192.0.2.1");
  set("cn-w2", HealthState::Down);
  Pick p = pick(*b.rs, 3);
  CHECK(p.value == "CNAME backup.cdn.example.net.");
  CHECK(p.degraded);
}

TEST_CASE("policy cname: geolocation falls back over a down cname target") {
  auto l = load_rrset(R"([records.www.A]
policy = "geolocation"
targets = [
  { match = "FR", cname = "fr.cdn.example.net.", check = "cn-g1" },
  { match = "EU", cname = "eu.cdn.example.net." },
  { match = "*",  value = "192.0.2.80" },
]
)");
  ClientInfo paris = client("81.2.69.1", "EU", "FR", 48.85, 2.35);
  Pick p = pick(*l.rs, 1, &paris);
  CHECK(p.value == "CNAME fr.cdn.example.net.");
  CHECK_FALSE(p.degraded);
  set("cn-g1", HealthState::Down);
  p = pick(*l.rs, 1, &paris);
  CHECK(p.value == "CNAME eu.cdn.example.net.");
  CHECK(p.degraded);
  CHECK(pick(*l.rs, 1, nullptr).value == "192.0.2.80");  // no client address: "*"
}

TEST_CASE("policy cname: latency answers the nearest region's CNAME") {
  RegionRegistry::global().set({{"eu-west", 53.35, -6.26}, {"us-east", 38.95, -77.45}, {"ap-northeast", 35.68, 139.69}});
  auto l = load_rrset(R"([records.www.A]
policy = "latency"
targets = [
  { region = "eu-west", cname = "eu.cdn.example.net.", check = "cn-l1" },
  { region = "us-east", value = "198.51.100.60" },
  { region = "ap-northeast", cname = "ap.cdn.example.net." },
]
)");
  ClientInfo frankfurt = client("81.2.69.1", "EU", "DE", 50.11, 8.68);
  ClientInfo osaka = client("81.2.70.1", "AS", "JP", 34.69, 135.5);
  ClientInfo ny = client("81.2.71.1", "NA", "US", 40.71, -74.0);
  CHECK(pick(*l.rs, 1, &frankfurt).value == "CNAME eu.cdn.example.net.");
  CHECK(pick(*l.rs, 1, &osaka).value == "CNAME ap.cdn.example.net.");
  CHECK(pick(*l.rs, 1, &ny).value == "198.51.100.60");
  set("cn-l1", HealthState::Down);
  Pick p = pick(*l.rs, 1, &frankfurt);
  CHECK(p.value == "198.51.100.60");
  CHECK(p.degraded);
}

TEST_CASE("policy cname: a pool with cname targets inside a failover; names shared with the RRset") {
  auto l = load_rrset(R"([records.www.A]
policy = "failover"
targets = [
  { pool = "cdn", check = "cn-p0" },
  { cname = "b.cdn.example.net." },
]
[records.img.A]
policy = "failover"
targets = [ { pool = "cdn" } ]
[pools.cdn]
policy = "failover"
targets = [
  { cname = "a.cdn.example.net.", check = "cn-p1" },
  { cname = "B.CDN.example.net.", check = "cn-p2" },
  { value = "192.0.2.7" },
]
)");
  const RRset& rs = *l.rs;
  // The pool is compiled for this RRset: its names join the RRset's own,
  // each once (first spelling: the pool's targets are compiled first).
  REQUIRE(rs.cname_targets.size() == 2);
  CHECK(rs.cname_targets[0] == wire("a.cdn.example.net."));
  CHECK(rs.cname_targets[1] == wire("B.CDN.example.net."));
  CHECK(rs.rdata.size() == 1);

  Pick p = pick(rs);
  CHECK(p.value == "CNAME a.cdn.example.net.");
  CHECK_FALSE(p.degraded);
  set("cn-p1", HealthState::Down);  // the pool fails over inside; its degraded carries up
  p = pick(rs);
  CHECK(p.value == "CNAME B.CDN.example.net.");
  CHECK(p.degraded);
  set("cn-p2", HealthState::Down);
  p = pick(rs);
  CHECK(p.value == "192.0.2.7");
  CHECK(p.degraded);
  set("cn-p0", HealthState::Down);  // the pool target's own check: the RRset's second target
  p = pick(rs);
  CHECK(p.value == "CNAME B.CDN.example.net.");
  CHECK(p.degraded);

  const RRset* img = l.zone->find(lowered(wire("img")))->find(rrtype::A);
  REQUIRE(img);
  CHECK(img->cname_targets.size() == 2);  // its own copy of the pool's names
  CHECK(pick(*img).value == "192.0.2.7");

  Lines t;
  set("cn-p0", HealthState::Up);
  set("cn-p2", HealthState::Up);
  pick(rs, 1, nullptr, &t);
  INFO(t.all());
  REQUIRE(t.lines.size() == 4);
  CHECK(t.lines[0] == "failover: using target 1 (pool 'cdn')");
  CHECK(t.lines[1] == "failover: target 1 (CNAME a.cdn.example.net.) check cn-p1 down, trying the next");
  CHECK(t.lines[2] == "failover: using target 2 (CNAME B.CDN.example.net.)");
  CHECK(t.lines[3] == "failover: target 2 → CNAME B.CDN.example.net.");
}

TEST_CASE("policy cname: more than 64 distinct cname targets in one RRset") {
  std::string text = "[records.www.A]\npolicy = \"failover\"\ntargets = [\n";  // 11-13
  for (int i = 0; i < 40; ++i) text += "  { cname = \"c" + std::to_string(i) + ".example.net.\" },\n";
  text += "  { pool = \"more\" },\n]\n[pools.more]\npolicy = \"failover\"\ntargets = [\n";
  for (int i = 40; i < 70; ++i) text += "  { cname = \"c" + std::to_string(i) + ".example.net.\" },\n";
  auto r = load(text + "]\n");
  INFO(all_errors(r.errors));
  CHECK_FALSE(r.zone);
  CHECK(has_error(r.errors, 11, "the policy's targets hold 70 distinct cname targets; at most 64 are allowed",
                  kThisFile));
}

TEST_CASE("zone builder: cname_targets given with a policy RRset are kept") {
  ZoneBuilder b(kOrigin, "b.toml");
  std::string soa, ns, a, err;
  REQUIRE(rdata_from_text(rrtype::SOA, "ns1 hostmaster 1 3600 600 86400 300", kOrigin, soa, err));
  REQUIRE(rdata_from_text(rrtype::NS, "ns1", kOrigin, ns, err));
  REQUIRE(rdata_from_text(rrtype::A, "192.0.2.1", kOrigin, a, err));
  b.add(RecordInput{kOrigin, rrtype::SOA, 300, soa, {"b.toml", 1, 1}});
  b.add(RecordInput{kOrigin, rrtype::NS, 300, ns, {"b.toml", 2, 1}});
  b.add(RecordInput{wire("ns1"), rrtype::A, 300, a, {"b.toml", 3, 1}});
  struct One : Policy {
    void select(const PolicyInput&, PolicyOutput& out) const override {
      out.count = 1;
      out.idx[0] = kCnameIndexBase;
      out.degraded = false;
    }
    std::string_view kind() const override { return "test"; }
  };
  PolicyRRsetInput in{wire("www"), rrtype::A, 60, 0, {}, std::make_shared<One>(), {"b.toml", 4, 1}};
  in.cname_targets = {wire("Edge.example.net.")};
  b.add_policy_rrset(std::move(in));
  Diagnostics errors;
  auto zone = b.build(errors);
  INFO(all_errors(errors));
  REQUIRE(zone);
  const RRset* rs = zone->find(lowered(wire("www")))->find(rrtype::A);
  REQUIRE(rs);
  CHECK(rs->rdata.empty());
  REQUIRE(rs->cname_targets.size() == 1);
  CHECK(name_to_text(rs->cname_targets[0]) == "Edge.example.net.");
}

TEST_CASE("policy cname: the example of docs/zone-format.md loads and routes") {
  auto l = load_rrset(doc_toml_example("### CNAME targets"));
  ClientInfo paris = client("81.2.69.1", "EU", "FR", 48.85, 2.35);
  ClientInfo tokyo = client("81.2.70.1", "AS", "JP", 35.68, 139.69);
  ClientInfo lima = client("81.2.72.1", "SA", "PE", -12.05, -77.04);
  CHECK(pick(*l.rs, 1, &paris).value == "CNAME eu.cdn.example.net.");
  CHECK(pick(*l.rs, 1, &tokyo).value == "CNAME jp.cdn.example.net.");
  CHECK(pick(*l.rs, 1, &lima).value == "192.0.2.80");
  set("cdn-jp", HealthState::Down);  // no other match for JP: "*" (degraded)
  const Pick p = pick(*l.rs, 1, &tokyo);
  CHECK(p.value == "192.0.2.80");
  CHECK(p.degraded);
}
