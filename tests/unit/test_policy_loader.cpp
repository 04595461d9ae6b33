// Routing policies in zone TOML: every validation error at its line, all
// collected in one pass; pools (unknown, cycles, wrong type); [checks].
#include <doctest/doctest.h>

#include <string>

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

ZoneLoadResult load(const std::string& text) { return load_toml_zone_text(kHead + text, "z.toml"); }

}  // namespace

TEST_CASE("policy loader: validation errors, each at its line, all collected") {
  const std::string text =
      "[records.a]\n"                                                                  // 11
      "A = { policy = \"roundrobin\", targets = [ { value = \"192.0.2.1\" } ] }\n"    // 12
      "AAAA = { policy = \"failover\" }\n"                                            // 13
      "TXT = { policy = \"failover\", targets = [] }\n"                               // 14
      "MX = { policy = \"failover\", targets = [ { weight = 1 } ] }\n"                // 15
      "[records.b]\n"                                                                  // 16
      "A = { policy = \"weighted\", targets = [ { value = \"192.0.2.1\", pool = \"x\" } ] }\n"  // 17
      "AAAA = { policy = \"weighted\", targets = [ { value = \"2001:db8::1\", weight = 256 } ] }\n"  // 18
      "TXT = { policy = \"multivalue\", answers = 0, targets = [ { value = \"x\" } ] }\n"  // 19
      "MX = { policy = \"weighted\", targets = [ { value = \"10 mx\", colour = \"red\" } ] }\n"  // 20
      "[records.c]\n"                                                                  // 21
      "A = { policy = \"failover\", targets = [ { value = \"192.0.2.1\", check = 5 } ] }\n"  // 22
      "AAAA = { policy = \"failover\", ttl = 30, ttl_when_degraded = 60, targets = [ { value = \"2001:db8::1\" } ] }\n"  // 23
      "TXT = { policy = \"failover\", answers = 2, targets = [ { value = \"x\" } ] }\n"  // 24
      "MX = { policy = \"failover\", targets = [ { value = \"10 mx\", weight = 3 } ] }\n"  // 25
      "[records.d]\n"                                                                  // 26
      "A = { policy = \"failover\", values = [\"192.0.2.1\"], targets = [ { value = \"192.0.2.1\" } ] }\n"  // 27
      "AAAA = { targets = [ { value = \"2001:db8::1\" } ] }\n"                        // 28
      "TXT = { policy = \"simple\", targets = [ { value = \"x\", check = \"c\" } ] }\n"  // 29
      "MX = { policy = \"weighted\", answers = 2, targets = [ { value = \"10 mx\" } ] }\n"  // 30
      "[records.e]\n"                                                                  // 31
      "A = { policy = \"failover\", targets = [ { value = \"192.0.2.300\" }, \"192.0.2.2\" ] }\n"  // 32
      "AAAA = { policy = \"failover\", targets = [ { value = [] } ] }\n"              // 33
      "TXT = { policy = \"failover\", ttl_when_degraded = 0, targets = [ { value = \"x\" } ] }\n"  // 34
      "MX = { policy = \"geo\", targets = [ { value = \"10 mx\" } ] }\n"              // 35
      "[records.f]\n"                                                                  // 36
      "A = { policy = \"failover\", targets = [ { value = \"192.0.2.1\", check = \"\" } ] }\n"  // 37
      "AAAA = { policy = \"failover\", targets = [ { value = [\"2001:db8::1\", 7] } ] }\n"  // 38
      "TXT = { policy = 3, targets = [ { value = \"x\" } ] }\n"                       // 39
      "MX = { policy = \"failover\", targets = \"10 mx\" }\n";                        // 40
  auto r = load(text);
  INFO(all_errors(r.errors));
  CHECK_FALSE(r.zone);
  CHECK(has_error(r.errors, 12, "unknown policy 'roundrobin' (expected simple, weighted, failover or multivalue)"));
  CHECK(has_error(r.errors, 13, "AAAA has no 'targets'"));
  CHECK(has_error(r.errors, 14, "'targets' is empty"));
  CHECK(has_error(r.errors, 15, "a target needs 'value' (records), 'pool' (a pool's name) or 'cname'"));
  CHECK(has_error(r.errors, 15, "'weight' is used only by policy \"weighted\""));
  CHECK(has_error(r.errors, 17, "a target has both 'value' and 'pool'"));
  CHECK(has_error(r.errors, 18, "'weight' must be an integer from 0 to 255"));
  CHECK(has_error(r.errors, 19, "'answers' must be an integer from 1 to 64"));
  CHECK(has_error(r.errors, 20, "unknown key 'colour' in a target (expected value, pool, cname, weight, check)"));
  CHECK(has_error(r.errors, 22, "'check' must be a string naming a health check"));
  CHECK(has_error(r.errors, 23, "'ttl_when_degraded' (60) is more than the TTL (30)"));
  CHECK(has_error(r.errors, 24, "'answers' is used only by policies \"weighted\" and \"multivalue\""));
  CHECK(has_error(r.errors, 25, "'weight' is used only by policy \"weighted\""));
  CHECK(has_error(r.errors, 27, "'values' cannot be combined with a routing policy in A"));
  CHECK(has_error(r.errors, 28, "AAAA has no 'policy'"));
  CHECK(has_error(r.errors, 29, "policy \"simple\" does not use health checks"));
  CHECK(has_error(r.errors, 30, "'answers' = 2 but there are only 1 targets"));
  CHECK(has_error(r.errors, 32, "bad A data '192.0.2.300'"));
  CHECK(has_error(r.errors, 32, "a target must be a table"));
  CHECK(has_error(r.errors, 33, "'value' is an empty array"));
  CHECK(has_error(r.errors, 34, "'ttl_when_degraded' must be an integer from 1 to 2147483647"));
  CHECK(has_error(r.errors, 35, "policy 'geo' is not supported yet"));
  CHECK(has_error(r.errors, 37, "'check' must be a string naming a health check"));
  CHECK(has_error(r.errors, 38, "target values must be strings"));
  CHECK(has_error(r.errors, 39, "'policy' must be a string"));
  CHECK(has_error(r.errors, 40, "'targets' must be an array of tables"));
  CHECK(r.errors.size() == 26);
  for (std::size_t i = 1; i < r.errors.size(); ++i) CHECK(r.errors[i - 1].loc.line <= r.errors[i].loc.line);
  for (const auto& e : r.errors) CHECK(e.loc.col > 0);
}

TEST_CASE("policy loader: the column points at the offending value") {
  auto r = load("[records.api.A]\n"                                                     // 11
                "policy = \"weighted\"\n"                                               // 12
                "targets = [ { value = \"192.0.2.1\", weight = 300 } ]\n");            // 13
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].loc.line == 13);
  CHECK(r.errors[0].loc.col == 45);  // the 300
  CHECK(r.errors[0].loc.file == "z.toml");
}

TEST_CASE("policy loader: more than 64 targets or records is an error") {
  std::string text = "[records.api.A]\npolicy = \"failover\"\ntargets = [\n";  // 11-13
  for (int i = 0; i < 65; ++i) text += "{ value = \"10.0.0." + std::to_string(i) + "\" },\n";
  auto r = load(text + "]\n");
  INFO(all_errors(r.errors));
  CHECK(has_error(r.errors, 13, "more than 64 targets"));

  std::string rec = "[records.api.A]\npolicy = \"multivalue\"\ntargets = [\n";  // 11-13
  for (int i = 0; i < 5; ++i) {
    rec += "{ value = [";
    for (int j = 0; j < 13; ++j) rec += "\"10.0." + std::to_string(i) + "." + std::to_string(j) + "\",";
    rec += "] },\n";
  }
  auto r2 = load(rec + "]\n");
  INFO(all_errors(r2.errors));
  CHECK(has_error(r2.errors, 11, "hold 65 distinct records; at most 64 are allowed"));
}

TEST_CASE("policy loader: pools - unknown names, cycles, values of the wrong type") {
  const std::string text =
      "[records.a]\n"                                                                   // 11
      "A = { policy = \"failover\", targets = [ { pool = \"nope\" } ] }\n"             // 12
      "AAAA = { policy = \"failover\", targets = [ { pool = \"v4\" } ] }\n"            // 13
      "TXT = { policy = \"failover\", targets = [ { pool = \"loop1\" } ] }\n"          // 14
      "[pools.v4]\n"                                                                    // 15
      "policy = \"failover\"\n"                                                         // 16
      "targets = [ { value = \"192.0.2.1\" } ]\n"                                       // 17
      "[pools.loop1]\n"                                                                 // 18
      "policy = \"weighted\"\n"                                                         // 19
      "targets = [ { pool = \"loop2\" } ]\n"                                            // 20
      "[pools.loop2]\n"                                                                 // 21
      "policy = \"failover\"\n"                                                         // 22
      "targets = [ { value = \"x\" }, { pool = \"loop1\" } ]\n"                         // 23
      "[pools.self]\n"                                                                  // 24
      "policy = \"failover\"\n"                                                         // 25
      "targets = [ { pool = \"self\" } ]\n"                                             // 26
      "[pools.dangling]\n"                                                              // 27
      "policy = \"failover\"\n"                                                         // 28
      "targets = [ { pool = \"ghost\" } ]\n"                                            // 29
      "[pools.badkeys]\n"                                                               // 30
      "policy = \"failover\"\n"                                                         // 31
      "ttl = 5\n"                                                                       // 32
      "targets = [ { value = \"x\" } ]\n";                                              // 33
  auto r = load(text);
  INFO(all_errors(r.errors));
  CHECK_FALSE(r.zone);
  CHECK(has_error(r.errors, 12, "unknown pool 'nope' (define it as [pools.nope])"));
  CHECK(has_error(r.errors, 17, "bad AAAA data '192.0.2.1'"));
  CHECK(has_error(r.errors, 17, "(in pool 'v4', used by a.example.com. AAAA at z.toml:13)"));
  CHECK(has_error(r.errors, 23, "pools refer to each other in a cycle: 'loop1' -> 'loop2' -> 'loop1'"));
  CHECK(has_error(r.errors, 26, "cycle: 'self' -> 'self'"));
  CHECK(has_error(r.errors, 29, "unknown pool 'ghost'"));
  CHECK(has_error(r.errors, 32, "unknown key 'ttl' in pool 'badkeys' (expected policy, targets, answers)"));
  CHECK(r.errors.size() == 6);  // TXT using the cyclic pool adds no second message
}

TEST_CASE("policy loader: a pool used twice with a bad value reports it once per user") {
  const std::string text =
      "[records.a]\n"                                                                   // 11
      "AAAA = { policy = \"weighted\", targets = [ { pool = \"p\" }, { pool = \"q\" } ] }\n"  // 12
      "[pools.p]\n"                                                                     // 13
      "policy = \"failover\"\n"                                                         // 14
      "targets = [ { value = \"192.0.2.1\" } ]\n"                                       // 15
      "[pools.q]\n"                                                                     // 16
      "policy = \"failover\"\n"                                                         // 17
      "targets = [ { pool = \"p\" } ]\n";                                               // 18
  auto r = load(text);
  INFO(all_errors(r.errors));
  CHECK(has_error(r.errors, 15, "bad AAAA data '192.0.2.1'"));
  CHECK(r.errors.size() == 1);
}

TEST_CASE("policy loader: plain records and a policy for the same name and type") {
  auto r = load("[records.api]\n"                                                       // 11
                "A = \"192.0.2.1\"\n"                                                    // 12
                "[records.\"api.example.com.\"]\n"                                       // 13
                "A = { policy = \"failover\", targets = [ { value = \"192.0.2.2\" } ] }\n");  // 14
  INFO(all_errors(r.errors));
  CHECK_FALSE(r.zone);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].message.find("plain records") != std::string::npos);
  CHECK((r.errors[0].loc.line == 12 || r.errors[0].loc.line == 14));
}

TEST_CASE("policy loader: CNAME and DNAME policies must give one record per answer") {
  auto r = load("[records.w1]\n"                                                         // 11
                "CNAME = { policy = \"failover\", targets = [ { value = [\"a.example.net.\", \"b.example.net.\"] } ] }\n"  // 12
                "[records.w2]\n"                                                         // 13
                "CNAME = { policy = \"multivalue\", targets = [ { value = \"a.example.net.\" }, { value = \"b.example.net.\" } ] }\n"  // 14
                "[records.w3]\n"                                                         // 15
                "CNAME = { policy = \"multivalue\", answers = 1, targets = [ { value = \"a.example.net.\" }, { value = \"b.example.net.\" } ] }\n");  // 16
  INFO(all_errors(r.errors));
  CHECK(has_error(r.errors, 12, "a CNAME policy must give one record per answer"));
  CHECK(has_error(r.errors, 14, "a CNAME policy must give one record per answer"));
  CHECK(r.errors.size() == 2);
}

TEST_CASE("policy loader: [checks] states apply when the zone loads, not when it fails") {
  HealthRegistry& h = HealthRegistry::global();
  auto r = load("[records.api]\n"
                "A = { policy = \"failover\", targets = [ { value = \"192.0.2.1\", check = \"ld-a\" }, { value = \"192.0.2.2\" } ] }\n"
                "[checks.ld-a]\nstate = \"down\"\n[checks.ld-b]\nstate = \"up\"\n");
  INFO(all_errors(r.errors));
  REQUIRE(r.zone);
  CHECK(h.get("ld-a") == HealthState::Down);
  CHECK(h.get("ld-b") == HealthState::Up);

  auto bad = load("[records.api]\nA = \"192.0.2.300\"\n[checks.ld-c]\nstate = \"down\"\n");
  CHECK_FALSE(bad.zone);
  CHECK(h.get("ld-c") != HealthState::Down);

  auto errs = load("[checks.x1]\nstate = \"sideways\"\n"   // 11-12
                   "[checks.x2]\nprobe = \"http\"\n"        // 13-14
                   "[checks]\nx3 = 4\n");                   // 15-16
  INFO(all_errors(errs.errors));
  CHECK(has_error(errs.errors, 12, "'state' must be \"up\" or \"down\""));
  CHECK(has_error(errs.errors, 14, "unknown key 'probe' in check 'x2' (expected type, state)"));
  CHECK(has_error(errs.errors, 13, "check 'x2' needs type = ("));
  CHECK(has_error(errs.errors, 16, "check 'x3' must be a table"));
}

TEST_CASE("policy loader: the example of docs/zone-format.md loads") {
  auto r = load_toml_zone_text(doc_toml_example("## Routing policies"), "zone-format.md");
  INFO(all_errors(r.errors));
  REQUIRE(r.zone);
  const Node* api = r.zone->find(lowered(*name_from_text("api.example.com.", {}, nullptr)));
  REQUIRE(api);
  REQUIRE(api->find(rrtype::A));
  CHECK(api->find(rrtype::A)->policy->kind() == "weighted");
  CHECK(api->find(rrtype::A)->rdata.size() == 5);
  CHECK(api->find(rrtype::AAAA)->policy->kind() == "failover");
  CHECK(HealthRegistry::global().get("api-eu") == HealthState::Down);
  // api-eu is down: the AAAA failover answers from its second target.
  PolicyOutput out;
  api->find(rrtype::AAAA)->policy->select(PolicyInput{1}, out);
  REQUIRE(out.count == 1);
  CHECK(rdata_to_text(rrtype::AAAA, api->find(rrtype::AAAA)->rdata[out.idx[0]]) == "2001:db8::30");
  CHECK(out.degraded);
}

TEST_CASE("policy loader: targets as an array of tables") {
  auto r = load("[records.api.A]\n"
                "policy = \"failover\"\n"
                "[[records.api.A.targets]]\n"
                "value = \"192.0.2.1\"\n"
                "check = \"aot-1\"\n"
                "[[records.api.A.targets]]\n"
                "value = \"192.0.2.2\"\n");
  INFO(all_errors(r.errors));
  REQUIRE(r.zone);
  const RRset* rs = r.zone->find(lowered(*name_from_text("api.example.com.", {}, nullptr)))->find(rrtype::A);
  REQUIRE(rs);
  REQUIRE(rs->policy);
  HealthRegistry::global().set("aot-1", HealthState::Down);
  PolicyOutput out;
  rs->policy->select(PolicyInput{0}, out);
  REQUIRE(out.count == 1);
  CHECK(rdata_to_text(rrtype::A, rs->rdata[out.idx[0]]) == "192.0.2.2");
}

TEST_CASE("zone builder: a policy RRset keeps its order and is never merged") {
  const std::string origin = *name_from_text("example.com.", {}, nullptr);
  const std::string api = *name_from_text("API.example.com.", {}, nullptr);
  auto a = [](const char* text) {
    std::string wire, err;
    REQUIRE(rdata_from_text(rrtype::A, text, {}, wire, err));
    return wire;
  };
  auto base = [&](ZoneBuilder& b) {
    std::string soa = *name_from_text("ns1.example.com.", {}, nullptr) + *name_from_text("h.example.com.", {}, nullptr);
    soa.append(20, '\0');
    b.add({origin, rrtype::SOA, 300, soa, {"t", 1, 1}});
    b.add({origin, rrtype::NS, 300, *name_from_text("ns.example.net.", {}, nullptr), {"t", 2, 1}});
  };
  {
    ZoneBuilder b(origin, "t");
    base(b);
    b.add_policy_rrset({api, rrtype::A, 60, 5, {a("192.0.2.9"), a("192.0.2.1"), a("192.0.2.5")}, nullptr, {"t", 3, 1}});
    Diagnostics errs;
    auto z = b.build(errs);
    REQUIRE(z);
    const RRset* rs = z->find(lowered(api))->find(rrtype::A);
    REQUIRE(rs->rdata.size() == 3);
    CHECK(rdata_to_text(rrtype::A, rs->rdata[0]) == "192.0.2.9");
    CHECK(rdata_to_text(rrtype::A, rs->rdata[2]) == "192.0.2.5");
    CHECK(rs->targets.size() == 3);
    CHECK(rs->ttl == 60);
    CHECK(rs->ttl_when_degraded == 5);
  }
  for (bool policy_first : {true, false}) {
    ZoneBuilder b(origin, "t");
    base(b);
    if (policy_first) b.add_policy_rrset({api, rrtype::A, 60, 0, {a("192.0.2.9")}, nullptr, {"t", 3, 1}});
    b.add({api, rrtype::A, 60, a("192.0.2.7"), {"t", 4, 1}});
    if (!policy_first) b.add_policy_rrset({api, rrtype::A, 60, 0, {a("192.0.2.9")}, nullptr, {"t", 5, 1}});
    Diagnostics errs;
    CHECK_FALSE(b.build(errs));
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].loc.line == (policy_first ? 4u : 5u));
    CHECK(errs[0].message.find("for the same name and type") != std::string::npos);
  }
}
