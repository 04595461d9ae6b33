// Routing policies at query time: what select() returns for weighted,
// failover, multivalue, simple and nested pools, with checks up and down.
// Policies are compiled from zone TOML so the loader's indexes are tested too.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "zone_test_util.hpp"
#include "zones/health.hpp"
#include "zones/name.hpp"
#include "zones/policy.hpp"
#include "zones/rdata.hpp"

using namespace meridian;
using test::Loaded;
using test::set;

namespace {

// Loads kHead + `text` and returns the RRset of `owner`/`type`.
Loaded load_rrset(const std::string& text, const std::string& owner = "api", std::uint16_t type = rrtype::A) {
  return test::load_rrset_as("p.toml", text, owner, type);
}

struct Pick {
  std::vector<std::string> values;  // presentation rdata, in answer order
  bool degraded = false;
};

Pick pick(const RRset& rs, std::uint32_t random) {
  REQUIRE(rs.policy);
  const PolicyOutput out = test::run_policy(rs, PolicyInput{random});
  REQUIRE(out.count <= kMaxPolicyRecords);
  Pick p;
  p.degraded = out.degraded;
  std::set<std::uint16_t> seen;
  for (std::uint16_t i = 0; i < out.count; ++i) {
    REQUIRE(out.idx[i] < rs.rdata.size());
    CHECK(seen.insert(out.idx[i]).second);  // no record twice
    p.values.push_back(rdata_to_text(rs.type, rs.rdata[out.idx[i]]));
  }
  return p;
}

std::string key(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

// The example of docs/zone-format.md, with check names unique to `tag` so
// tests do not share health state.
std::string weighted_zone(const std::string& tag) {
  return "[records.api.A]\n"
         "policy = \"weighted\"\n"
         "ttl = 30\n"
         "ttl_when_degraded = 10\n"
         "targets = [\n"
         "  { value = \"192.0.2.20\", weight = 80, check = \"" + tag + "-eu\" },\n"
         "  { value = [\"192.0.2.30\", \"192.0.2.31\"], weight = 20, check = \"" + tag + "-us\" },\n"
         "  { pool = \"backup\", weight = 0 },\n"
         "]\n"
         "[pools.backup]\n"
         "policy = \"failover\"\n"
         "targets = [ { value = \"198.51.100.1\", check = \"" + tag + "-bk1\" }, { value = \"198.51.100.2\" } ]\n";
}

const std::string kEu = "192.0.2.20", kUs = "192.0.2.30,192.0.2.31";

// Shares of each answer (values joined, order ignored) over `n` selections.
std::map<std::string, double> shares(const RRset& rs, int n, bool sequential_random, int* degraded = nullptr) {
  std::mt19937 rng(12345);
  std::map<std::string, double> count;
  for (int i = 0; i < n; ++i) {
    Pick p = pick(rs, sequential_random ? static_cast<std::uint32_t>(i) : rng());
    std::sort(p.values.begin(), p.values.end());
    count[key(p.values)] += 1;
    if (degraded && p.degraded) ++*degraded;
  }
  for (auto& [k, c] : count) c = c * 100.0 / n;
  return count;
}

}  // namespace

TEST_CASE("policy weighted: 80/20 shares within 2 points over 10,000 selections") {
  auto l = load_rrset(weighted_zone("w1"));
  CHECK(l.rs->policy->kind() == "weighted");
  CHECK(l.rs->ttl == 30);
  CHECK(l.rs->ttl_when_degraded == 10);
  // Every value any target can produce is in the RRset once, targets aligned.
  CHECK(l.rs->rdata.size() == 5);
  CHECK(l.rs->targets.size() == l.rs->rdata.size());
  for (bool sequential : {false, true}) {
    int degraded = 0;
    auto s = shares(*l.rs, 10000, sequential, &degraded);
    MESSAGE("random " << (sequential ? "counter" : "mt19937") << ": eu " << s[kEu] << "%, us " << s[kUs] << "%");
    CHECK(s.size() == 2);  // the weight-0 pool is never used while others are up
    CHECK(std::abs(s[kEu] - 80.0) <= 2.0);
    CHECK(std::abs(s[kUs] - 20.0) <= 2.0);
    CHECK(degraded == 0);
  }
}

TEST_CASE("policy weighted: a down target gets nothing; all down falls back to weight 0, then fails open") {
  auto l = load_rrset(weighted_zone("w2"));
  const RRset& rs = *l.rs;

  set("w2-eu", HealthState::Down);
  for (std::uint32_t i = 0; i < 1000; ++i) {
    Pick p = pick(rs, i * 2654435761u);
    std::sort(p.values.begin(), p.values.end());
    REQUIRE(key(p.values) == kUs);  // both values of the target
    CHECK(p.degraded);              // a weighted target is down
  }

  // Both weighted targets down: the weight-0 pool (failover) answers.
  set("w2-us", HealthState::Down);
  for (std::uint32_t i = 0; i < 200; ++i) {
    Pick p = pick(rs, i);
    REQUIRE(key(p.values) == "198.51.100.1");
    CHECK(p.degraded);
  }
  set("w2-bk1", HealthState::Down);  // the pool fails over to its second target
  CHECK(key(pick(rs, 7).values) == "198.51.100.2");

  // Everything down but the pool's check-less target: the pool is still up.
  // Make the pool down too by a weighted zone whose targets all have checks.
  auto l2 = load_rrset("[records.api.A]\npolicy = \"weighted\"\ntargets = [\n"
                       "  { value = \"192.0.2.20\", weight = 80, check = \"w2b-eu\" },\n"
                       "  { value = \"192.0.2.30\", weight = 20, check = \"w2b-us\" },\n"
                       "  { value = \"192.0.2.99\", weight = 0, check = \"w2b-zero\" },\n]\n");
  set("w2b-eu", HealthState::Down);
  set("w2b-us", HealthState::Down);
  set("w2b-zero", HealthState::Down);
  int degraded = 0;
  auto s = shares(*l2.rs, 10000, false, &degraded);
  MESSAGE("all down, fail open: eu " << s["192.0.2.20"] << "%, us " << s["192.0.2.30"] << "%");
  CHECK(degraded == 10000);
  CHECK(s.count("192.0.2.99") == 0);  // fail open is "as if all were up": weight 0 still unused
  CHECK(std::abs(s["192.0.2.20"] - 80.0) <= 2.0);
  CHECK(std::abs(s["192.0.2.30"] - 20.0) <= 2.0);

  set("w2b-us", HealthState::Up);  // recovery is seen by the same compiled policy
  for (std::uint32_t i = 0; i < 100; ++i) CHECK(key(pick(*l2.rs, i).values) == "192.0.2.30");
}

TEST_CASE("policy weighted: all weights 0 is equal chance; answers = 2 gives two distinct targets") {
  auto l = load_rrset("[records.api.A]\npolicy = \"weighted\"\ntargets = [\n"
                      "  { value = \"192.0.2.1\", weight = 0 }, { value = \"192.0.2.2\", weight = 0 },\n"
                      "  { value = \"192.0.2.3\", weight = 0 },\n]\n");
  auto s = shares(*l.rs, 9000, false);
  MESSAGE("all weights 0: " << s["192.0.2.1"] << "% " << s["192.0.2.2"] << "% " << s["192.0.2.3"] << "%");
  REQUIRE(s.size() == 3);
  for (auto& [k, v] : s) CHECK(std::abs(v - 100.0 / 3) <= 2.0);

  auto l2 = load_rrset("[records.api.A]\npolicy = \"weighted\"\nanswers = 2\ntargets = [\n"
                       "  { value = \"192.0.2.1\", weight = 60 },\n"
                       "  { value = [\"192.0.2.2\", \"192.0.2.1\"], weight = 30 },\n"  // shares a value
                       "  { value = \"192.0.2.3\", weight = 10, check = \"w3-c\" },\n]\n");
  CHECK(l2.rs->rdata.size() == 3);  // 192.0.2.1 is stored once
  std::map<std::string, int> pairs;
  for (std::uint32_t i = 0; i < 5000; ++i) {
    Pick p = pick(*l2.rs, i);
    std::sort(p.values.begin(), p.values.end());
    ++pairs[key(p.values)];
  }
  // Pairs {1},{2,1} -> 1,2 ; {1},{3} -> 1,3 ; {2,1},{3} -> 1,2,3. Never a lone target.
  CHECK(pairs.size() == 3);
  CHECK(pairs.count("192.0.2.1,192.0.2.2"));
  CHECK(pairs.count("192.0.2.1,192.0.2.3"));
  CHECK(pairs.count("192.0.2.1,192.0.2.2,192.0.2.3"));
  // P(first two targets) = .6*.3/.4 + .3*.6/.7 = 0.707
  CHECK(std::abs(pairs["192.0.2.1,192.0.2.2"] / 50.0 - 70.7) <= 2.5);

  set("w3-c", HealthState::Down);  // only two targets up: both, every time
  for (std::uint32_t i = 0; i < 200; ++i) {
    Pick p = pick(*l2.rs, i);
    std::sort(p.values.begin(), p.values.end());
    CHECK(key(p.values) == "192.0.2.1,192.0.2.2");
    CHECK(p.degraded);
  }
}

TEST_CASE("policy failover: first up target, in order; none up fails open to the first") {
  auto l = load_rrset("[records.api.A]\npolicy = \"failover\"\nttl = 60\nttl_when_degraded = 5\ntargets = [\n"
                      "  { value = [\"192.0.2.1\", \"192.0.2.2\"], check = \"f1-a\" },\n"
                      "  { value = \"192.0.2.3\", check = \"f1-b\" },\n"
                      "  { value = \"192.0.2.4\", check = \"f1-c\" },\n]\n");
  CHECK(l.rs->policy->kind() == "failover");
  const RRset& rs = *l.rs;
  std::set<std::string> firsts;
  for (std::uint32_t i = 0; i < 200; ++i) {
    Pick p = pick(rs, i);
    CHECK_FALSE(p.degraded);
    REQUIRE(p.values.size() == 2);
    firsts.insert(p.values[0]);
    std::sort(p.values.begin(), p.values.end());
    CHECK(key(p.values) == "192.0.2.1,192.0.2.2");
  }
  CHECK(firsts.size() == 2);  // the target's values are rotated

  set("f1-a", HealthState::Down);
  Pick p = pick(rs, 1);
  CHECK(key(p.values) == "192.0.2.3");
  CHECK(p.degraded);
  set("f1-b", HealthState::Down);
  CHECK(key(pick(rs, 1).values) == "192.0.2.4");
  set("f1-c", HealthState::Down);
  p = pick(rs, 1);
  std::sort(p.values.begin(), p.values.end());
  CHECK(key(p.values) == "192.0.2.1,192.0.2.2");  // fail open
  CHECK(p.degraded);
  set("f1-b", HealthState::Up);
  CHECK(key(pick(rs, 1).values) == "192.0.2.3");

  // A target without a check is always up.
  auto l2 = load_rrset("[records.api.A]\npolicy = \"failover\"\ntargets = [\n"
                       "  { value = \"192.0.2.1\", check = \"f2-a\" }, { value = \"192.0.2.2\" },\n"
                       "  { value = \"192.0.2.3\" },\n]\n");
  set("f2-a", HealthState::Down);
  for (std::uint32_t i = 0; i < 50; ++i) CHECK(key(pick(*l2.rs, i).values) == "192.0.2.2");
}

TEST_CASE("policy multivalue: up to `answers` records of up targets, random subset and order") {
  auto l = load_rrset("[records.api.A]\npolicy = \"multivalue\"\nanswers = 3\ntargets = [\n"
                      "  { value = \"192.0.2.1\", check = \"m1-a\" }, { value = \"192.0.2.2\", check = \"m1-b\" },\n"
                      "  { value = [\"192.0.2.3\", \"192.0.2.4\"] }, { value = \"192.0.2.5\", check = \"m1-e\" },\n]\n");
  CHECK(l.rs->policy->kind() == "multivalue");
  const RRset& rs = *l.rs;
  std::map<std::string, int> first, subsets;
  for (std::uint32_t i = 0; i < 6000; ++i) {
    Pick p = pick(rs, i);
    REQUIRE(p.values.size() == 3);
    CHECK_FALSE(p.degraded);
    ++first[p.values[0]];
    std::sort(p.values.begin(), p.values.end());
    ++subsets[key(p.values)];
  }
  CHECK(first.size() == 5);    // any record can come first
  CHECK(subsets.size() == 10); // C(5,3): every subset occurs
  for (auto& [k, c] : first) CHECK(std::abs(c / 60.0 - 20.0) <= 2.5);

  set("m1-a", HealthState::Down);
  set("m1-b", HealthState::Down);
  for (std::uint32_t i = 0; i < 300; ++i) {
    Pick p = pick(rs, i);
    CHECK(p.degraded);
    for (const auto& v : p.values) CHECK((v != "192.0.2.1" && v != "192.0.2.2"));
    CHECK(p.values.size() == 3);
  }
  set("m1-e", HealthState::Down);  // the check-less target is still up: its two records
  Pick two = pick(rs, 3);
  std::sort(two.values.begin(), two.values.end());
  CHECK(key(two.values) == "192.0.2.3,192.0.2.4");

  // None up: up to `answers` of all records, degraded.
  auto l2 = load_rrset("[records.api.A]\npolicy = \"multivalue\"\nanswers = 2\ntargets = [\n"
                       "  { value = \"192.0.2.1\", check = \"m2-a\" }, { value = \"192.0.2.2\", check = \"m2-b\" },\n"
                       "  { value = \"192.0.2.3\", check = \"m2-c\" },\n]\n");
  for (auto c : {"m2-a", "m2-b", "m2-c"}) set(c, HealthState::Down);
  std::set<std::string> seen;
  for (std::uint32_t i = 0; i < 300; ++i) {
    Pick p = pick(*l2.rs, i);
    CHECK(p.degraded);
    CHECK(p.values.size() == 2);
    seen.insert(p.values.begin(), p.values.end());
  }
  CHECK(seen.size() == 3);

  // Default answers = 8.
  std::string many = "[records.api.A]\npolicy = \"multivalue\"\ntargets = [\n";
  for (int i = 1; i <= 12; ++i) many += "  { value = \"192.0.2." + std::to_string(i) + "\" },\n";
  auto l3 = load_rrset(many + "]\n");
  CHECK(pick(*l3.rs, 9).values.size() == 8);
}

TEST_CASE("policy simple: all values rotated; without pools it is a plain RRset") {
  auto l = load_rrset("[records.api.A]\npolicy = \"simple\"\nttl = 40\ntargets = [\n"
                      "  { value = [\"192.0.2.1\", \"192.0.2.2\"] }, { value = \"192.0.2.3\" },\n]\n");
  CHECK_FALSE(l.rs->policy);  // the query path's round robin
  CHECK(l.rs->ttl == 40);
  REQUIRE(l.rs->rdata.size() == 3);
  CHECK(rdata_to_text(rrtype::A, l.rs->rdata[0]) == "192.0.2.1");
  CHECK(rdata_to_text(rrtype::A, l.rs->rdata[2]) == "192.0.2.3");

  auto l2 = load_rrset("[records.api.A]\npolicy = \"simple\"\ntargets = [\n"
                       "  { value = \"192.0.2.1\" }, { pool = \"fo\" },\n]\n"
                       "[pools.fo]\npolicy = \"failover\"\n"
                       "targets = [ { value = \"192.0.2.8\", check = \"s1-a\" }, { value = \"192.0.2.9\" } ]\n");
  REQUIRE(l2.rs->policy);
  CHECK(l2.rs->policy->kind() == "simple");
  std::set<std::string> firsts;
  for (std::uint32_t i = 0; i < 100; ++i) {
    Pick p = pick(*l2.rs, i);
    CHECK_FALSE(p.degraded);
    firsts.insert(p.values[0]);
    std::sort(p.values.begin(), p.values.end());
    CHECK(key(p.values) == "192.0.2.1,192.0.2.8");
  }
  CHECK(firsts.size() == 2);
  set("s1-a", HealthState::Down);  // the pool fails over; its degraded flag carries up
  Pick p = pick(*l2.rs, 1);
  std::sort(p.values.begin(), p.values.end());
  CHECK(key(p.values) == "192.0.2.1,192.0.2.9");
  CHECK(p.degraded);
}

TEST_CASE("policy pools: nested pools share the RRset's rdata; a pool is up when any target is") {
  auto l = load_rrset("[records.api.A]\npolicy = \"failover\"\ntargets = [\n"
                      "  { pool = \"eu\" }, { pool = \"us\" }, { value = \"203.0.113.1\" },\n]\n"
                      "[pools.eu]\npolicy = \"multivalue\"\nanswers = 2\n"
                      "targets = [ { value = \"192.0.2.1\", check = \"p1-e1\" }, { value = \"192.0.2.2\", check = \"p1-e2\" } ]\n"
                      "[pools.us]\npolicy = \"weighted\"\n"
                      "targets = [ { pool = \"us-east\", weight = 50 }, { value = \"198.51.100.9\", weight = 50, check = \"p1-w\" } ]\n"
                      "[pools.us-east]\npolicy = \"failover\"\n"
                      "targets = [ { value = \"198.51.100.1\", check = \"p1-ue\" }, { value = \"192.0.2.1\", check = \"p1-ue2\" } ]\n");
  const RRset& rs = *l.rs;
  CHECK(rs.rdata.size() == 5);  // 192.0.2.1 appears in two pools, stored once

  Pick p = pick(rs, 5);
  std::sort(p.values.begin(), p.values.end());
  CHECK(key(p.values) == "192.0.2.1,192.0.2.2");
  CHECK_FALSE(p.degraded);

  set("p1-e1", HealthState::Down);  // eu still up (one target): its remaining record, degraded
  p = pick(rs, 5);
  CHECK(key(p.values) == "192.0.2.2");
  CHECK(p.degraded);

  set("p1-e2", HealthState::Down);  // eu down: failover to the weighted pool us
  std::set<std::string> us;
  for (std::uint32_t i = 0; i < 400; ++i) {
    Pick q = pick(rs, i);
    REQUIRE(q.values.size() == 1);
    us.insert(q.values[0]);
    CHECK(q.degraded);
  }
  CHECK(us == std::set<std::string>{"198.51.100.1", "198.51.100.9"});

  set("p1-ue", HealthState::Down);  // us-east fails over inside the weighted pool
  us.clear();
  for (std::uint32_t i = 0; i < 400; ++i) us.insert(pick(rs, i).values.at(0));
  CHECK(us == std::set<std::string>{"192.0.2.1", "198.51.100.9"});

  set("p1-ue2", HealthState::Down);  // us-east down: weighted picks the other target only
  set("p1-w", HealthState::Down);    // and now us is down: the plain third target
  for (std::uint32_t i = 0; i < 50; ++i) CHECK(key(pick(rs, i).values) == "203.0.113.1");
  set("p1-w", HealthState::Up);
  for (std::uint32_t i = 0; i < 50; ++i) CHECK(key(pick(rs, i).values) == "198.51.100.9");
}

TEST_CASE("policy: pools can serve several record types; CNAME policies give one record") {
  auto l = load_rrset("[records.www.CNAME]\npolicy = \"weighted\"\ntargets = [\n"
                      "  { value = \"a.example.net.\", weight = 1 }, { value = \"b.example.net.\", weight = 1 },\n]\n"
                      "[records.api.A]\npolicy = \"failover\"\ntargets = [ { pool = \"p\" } ]\n"
                      "[records.api2.A]\npolicy = \"weighted\"\ntargets = [ { pool = \"p\" }, { value = \"192.0.2.50\" } ]\n"
                      "[pools.p]\npolicy = \"failover\"\ntargets = [ { value = \"192.0.2.7\" } ]\n",
                      "www", rrtype::CNAME);
  CHECK(l.rs->policy->kind() == "weighted");
  CHECK(l.rs->rdata.size() == 2);
  CHECK(pick(*l.rs, 3).values.size() == 1);
  const Node* api2 = l.zone->find(lowered(*name_from_text("api2.example.com.", {}, nullptr)));
  REQUIRE(api2);
  REQUIRE(api2->find(rrtype::A));
  CHECK(api2->find(rrtype::A)->rdata.size() == 2);  // the pool's value indexed in this RRset too
}

TEST_CASE("policy: 64 targets work, the last one is reachable") {
  std::string text = "[records.api.A]\npolicy = \"failover\"\ntargets = [\n";
  for (int i = 0; i < 64; ++i)
    text += "  { value = \"10.0.0." + std::to_string(i) + "\", check = \"big-" + std::to_string(i) + "\" },\n";
  auto l = load_rrset(text + "]\n");
  CHECK(l.rs->rdata.size() == 64);
  for (int i = 0; i < 63; ++i) set("big-" + std::to_string(i), HealthState::Down);
  CHECK(key(pick(*l.rs, 1).values) == "10.0.0.63");

  std::string w = "[records.api.A]\npolicy = \"weighted\"\ntargets = [\n";
  for (int i = 0; i < 64; ++i)
    w += "  { value = \"10.0.1." + std::to_string(i) + "\", weight = " + (i == 63 ? "255" : "0") + " },\n";
  auto l2 = load_rrset(w + "]\n");
  for (std::uint32_t i = 0; i < 20; ++i) CHECK(key(pick(*l2.rs, i).values) == "10.0.1.63");
}
