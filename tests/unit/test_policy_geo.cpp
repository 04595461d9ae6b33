// The geolocation routing policy: each kind of match, most specific first,
// the fallback chain over down targets, fail open, NODATA without a default,
// CIDRs (IPv4 and IPv6), ASNs, the ECS scope each decision notes, load
// errors, and the traces of every policy kind. Clients carry a preset
// Location (ClientInfo::set_location), so no GeoIP database is needed.
#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "geo/client.hpp"
#include "geo/location.hpp"
#include "zone_test_util.hpp"
#include "zones/health.hpp"
#include "zones/name.hpp"
#include "zones/policy.hpp"
#include "zones/rdata.hpp"
#include "zones/toml_loader.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {

const ErrorScope kThisFile{.file = "g.toml"};

Loaded load_rrset(const std::string& text, const std::string& owner = "geo") {
  return load_policy_rrset("g.toml", text, owner);
}

// The records, presentation, sorted and joined with ','.
Pick pick(const RRset& rs, const ClientInfo* c, std::uint32_t random = 1, PolicyTrace* trace = nullptr) {
  const PolicyOutput out = run_policy(rs, PolicyInput{random, c, nullptr, trace});
  Pick p(out);
  std::vector<std::string> v;
  for (std::uint16_t i = 0; i < out.count; ++i) v.push_back(rdata_to_text(rs.type, rs.rdata[out.idx[i]]));
  std::sort(v.begin(), v.end());
  for (const auto& x : v) p.value += (p.value.empty() ? "" : ",") + x;
  return p;
}

std::string answer(const RRset& rs, const ClientInfo& c) { return pick(rs, &c).value; }
Pick pick_for(const RRset& rs, const ClientInfo& c) { return pick(rs, &c); }

const std::string kAllKinds = R"([records.geo.A]
policy = "geolocation"
targets = [
  { match = "EU",               value = "192.0.2.1" },
  { match = ["US-CA", "us-or"], value = "192.0.2.2" },
  { match = "JP",               value = "192.0.2.3" },
  { match = "10.0.0.0/8",       value = "192.0.2.4" },
  { match = "AS7018",           value = "192.0.2.5" },
  { match = "2001:db8::/32",    value = "192.0.2.6" },
  { match = "continent:AS",     value = "192.0.2.7" },
  { match = "country:sa",       value = "192.0.2.9" },
  { match = "*",                value = "192.0.2.8" },
]
)";

}  // namespace

TEST_CASE("policy geolocation: each kind of match selects its target") {
  auto l = load_rrset(kAllKinds);
  const RRset& rs = *l.rs;
  CHECK(rs.policy->kind() == "geolocation");
  CHECK(rs.rdata.size() == 9);

  CHECK(answer(rs, client("81.2.69.1", where("EU", "GB", {"ENG"}))) == "192.0.2.1");            // continent
  CHECK(answer(rs, client("198.51.100.1", where("NA", "US", {"OR"}))) == "192.0.2.2");          // subdivision
  CHECK(answer(rs, client("198.51.100.1", where("NA", "US", {"CA"}))) == "192.0.2.2");
  CHECK(answer(rs, client("203.0.113.1", where("AS", "JP", {"13"}))) == "192.0.2.3");           // country beats continent
  CHECK(answer(rs, client("10.20.30.40", where("EU", "DE"))) == "192.0.2.4");                   // CIDR beats continent
  CHECK(answer(rs, client("192.0.2.99", where("NA", "US", {"TX"}, 7018))) == "192.0.2.5");      // ASN
  CHECK(answer(rs, client("192.0.2.99", where("NA", "US", {"CA"}, 7018))) == "192.0.2.5");      // ASN beats subdivision
  CHECK(answer(rs, client("2001:db8:1::1", where("EU", "FR"))) == "192.0.2.6");                 // IPv6 CIDR
  CHECK(answer(rs, client("2001:db9::1", where("EU", "FR"))) == "192.0.2.1");                   // outside it
  CHECK(answer(rs, client("1.0.16.1", where("AS", "CN"))) == "192.0.2.7");                      // continent:AS
  CHECK(answer(rs, client("5.42.0.1", where("AS", "SA"))) == "192.0.2.9");                      // country:SA, not continent
  CHECK(answer(rs, client("200.1.1.1", where("SA", "BR"))) == "192.0.2.8");                     // default
  CHECK(answer(rs, client("200.1.1.1", Location{})) == "192.0.2.8");                            // unknown address
  // No client, or no address: only "*".
  CHECK(pick(rs, nullptr).value == "192.0.2.8");
  ClientInfo none;
  CHECK(pick(rs, &none).value == "192.0.2.8");
  CHECK(none.scope() == 0);
  // An IPv4 CIDR never matches an IPv6 client with the same leading bytes.
  ClientInfo v6 = client("a00::1", Location{});
  CHECK(answer(rs, v6) == "192.0.2.8");
}

TEST_CASE("policy geolocation: most specific first; down targets fall back to the next less specific") {
  auto l = load_rrset(R"([records.geo.A]
policy = "geolocation"
ttl_when_degraded = 20
targets = [
  { match = "*",     value = "192.0.2.4", check = "gf-def" },
  { match = "continent:NA", value = "192.0.2.3", check = "gf-na" },
  { match = "US",    value = "192.0.2.2", check = "gf-us" },
  { match = "US-CA", value = "192.0.2.1", check = "gf-ca" },
]
)");
  const RRset& rs = *l.rs;
  CHECK(rs.ttl_when_degraded == 20);
  const ClientInfo ca = client("198.51.100.7", where("NA", "US", {"CA"}));
  Pick p = pick(rs, &ca);
  CHECK(p.value == "192.0.2.1");  // written last, most specific
  CHECK_FALSE(p.degraded);
  CHECK(answer(rs, client("198.51.100.7", where("NA", "US", {"TX"}))) == "192.0.2.2");
  CHECK(answer(rs, client("198.51.100.7", where("NA", "CA", {"QC"}))) == "192.0.2.3");
  CHECK(answer(rs, client("198.51.100.7", where("EU", "DE"))) == "192.0.2.4");

  set("gf-ca", HealthState::Down);
  p = pick(rs, &ca);
  CHECK(p.value == "192.0.2.2");
  CHECK(p.degraded);
  set("gf-us", HealthState::Down);
  CHECK(answer(rs, ca) == "192.0.2.3");
  set("gf-na", HealthState::Down);
  CHECK(answer(rs, ca) == "192.0.2.4");
  // Another client's best match is up: not degraded by the down ones.
  p = pick_for(rs, (client("5.1.1.1", where("EU", "DE"))));
  CHECK(p.value == "192.0.2.4");
  CHECK_FALSE(p.degraded);
  set("gf-def", HealthState::Down);  // nothing up: the most specific anyway
  p = pick(rs, &ca);
  CHECK(p.value == "192.0.2.1");
  CHECK(p.degraded);
  set("gf-na", HealthState::Up);  // recovery seen at once
  p = pick(rs, &ca);
  CHECK(p.value == "192.0.2.3");
  CHECK(p.degraded);
  for (auto c : {"gf-ca", "gf-us", "gf-def"}) set(c, HealthState::Up);
  CHECK_FALSE(pick(rs, &ca).degraded);
}

TEST_CASE("policy geolocation: a pool with no target up is down; pools get the client") {
  auto l = load_rrset(R"([records.geo.A]
policy = "geolocation"
targets = [
  { match = "EU", pool = "eu" },
  { match = "GB", pool = "gb" },
  { match = "*",  value = "192.0.2.9" },
]
[pools.eu]
policy = "failover"
targets = [ { value = "192.0.2.1", check = "gp-eu1" }, { value = "192.0.2.2", check = "gp-eu2" } ]
[pools.gb]
policy = "geolocation"
targets = [ { match = "GB-SCT", value = "192.0.2.3" }, { match = "GB-ENG", value = "192.0.2.4", check = "gp-eng" } ]
)");
  const RRset& rs = *l.rs;
  const ClientInfo de = client("5.1.1.1", where("EU", "DE"));
  const ClientInfo eng = client("81.2.69.1", where("EU", "GB", {"ENG", "LND"}));
  const ClientInfo sct = client("81.2.70.1", where("EU", "GB", {"SCT"}));
  CHECK(answer(rs, de) == "192.0.2.1");
  CHECK(answer(rs, eng) == "192.0.2.4");  // the nested geolocation pool sees the client
  CHECK(answer(rs, sct) == "192.0.2.3");
  set("gp-eu1", HealthState::Down);
  Pick p = pick(rs, &de);
  CHECK(p.value == "192.0.2.2");
  CHECK(p.degraded);  // from the pool
  set("gp-eu2", HealthState::Down);  // pool eu down: "*"
  p = pick(rs, &de);
  CHECK(p.value == "192.0.2.9");
  CHECK(p.degraded);
  // The GB pool's only matching target is down but the pool is up (another
  // target is): the pool fails open inside itself.
  set("gp-eng", HealthState::Down);
  p = pick(rs, &eng);
  CHECK(p.value == "192.0.2.4");
  CHECK(p.degraded);
}

TEST_CASE("policy geolocation: no match and no default gives no records") {
  auto l = load_rrset("[records.geo.A]\npolicy = \"geolocation\"\ntargets = [ { match = \"JP\", value = \"192.0.2.1\" } ]\n");
  Pick p = pick_for(*l.rs, (client("5.1.1.1", where("EU", "DE"))));
  CHECK(p.count == 0);
  CHECK_FALSE(p.degraded);
  CHECK(pick(*l.rs, nullptr).count == 0);
  CHECK(answer(*l.rs, client("1.1.1.1", where("AS", "JP"))) == "192.0.2.1");
}

TEST_CASE("policy geolocation: CIDRs beat locations, longest prefix first; IPv6") {
  auto l = load_rrset(R"([records.geo.A]
policy = "geolocation"
targets = [
  { match = "US-CA",              value = "192.0.2.1" },
  { match = "10.0.0.0/8",         value = "192.0.2.2" },
  { match = "cidr:10.1.0.0/16",   value = "192.0.2.3", check = "gc-16" },
  { match = "2001:DB8::/32",      value = "192.0.2.4" },
  { match = "2001:db8:aa::/48",   value = "192.0.2.5" },
  { match = "198.51.100.0/24",    value = "192.0.2.6" },
]
)");
  const RRset& rs = *l.rs;
  const Location cal = where("NA", "US", {"CA"});
  CHECK(answer(rs, client("198.51.100.7", cal)) == "192.0.2.6");  // CIDR beats subdivision
  CHECK(answer(rs, client("198.51.101.7", cal)) == "192.0.2.1");
  CHECK(answer(rs, client("10.1.2.3", cal)) == "192.0.2.3");
  CHECK(answer(rs, client("10.2.0.1", cal)) == "192.0.2.2");
  CHECK(answer(rs, client("2001:db8:aa:1::1", cal)) == "192.0.2.5");
  CHECK(answer(rs, client("2001:db8:ab::1", cal)) == "192.0.2.4");
  CHECK(answer(rs, client("::ffff:10.1.2.3", cal)) == "192.0.2.3");  // IPv4-mapped: IPv4 CIDRs apply
  CHECK(answer(rs, client("::ffff:198.51.101.7", cal)) == "192.0.2.1");
  set("gc-16", HealthState::Down);
  Pick p = pick_for(rs, (client("10.1.2.3", cal)));
  CHECK(p.value == "192.0.2.2");  // the /16 is down: the /8
  CHECK(p.degraded);
}

TEST_CASE("policy geolocation: the ECS scope noted for each decision") {
  auto only_default = load_rrset("[records.geo.A]\npolicy = \"geolocation\"\ntargets = [ { match = \"*\", value = \"192.0.2.1\" } ]\n");
  ClientInfo c = client("81.2.69.1", where("EU", "GB", {}, 0, 20), 24);
  CHECK(answer(*only_default.rs, c) == "192.0.2.1");
  CHECK(c.scope() == 0);  // the answer does not depend on the address

  auto l = load_rrset(R"([records.geo.A]
policy = "geolocation"
targets = [
  { match = "EU",          value = "192.0.2.1" },
  { match = "10.0.0.0/8",  value = "192.0.2.2" },
  { match = "10.1.0.0/16", value = "192.0.2.3", check = "gs-16" },
  { match = "*",           value = "192.0.2.4" },
]
)");
  const RRset& rs = *l.rs;
  auto scope_of = [&](ClientInfo c) {
    pick(rs, &c);
    return static_cast<int>(c.scope());
  };
  // Location decisions: the database prefix (clamped to the source prefix),
  // at least what separates the client from the CIDRs (2 bits for 81/8 vs 10/8).
  CHECK(scope_of(client("81.2.69.1", where("EU", "GB", {}, 0, 20), 24)) == 20);
  CHECK(scope_of(client("81.2.69.1", where("EU", "GB", {}, 0, 26), 24)) == 24);
  CHECK(scope_of(client("81.2.69.1", where("NA", "US", {}, 0, 22))) == 22);  // the default, from the location
  // An address no database knows: the databases give no prefix, so the full source prefix.
  CHECK(scope_of(client("81.2.69.0", Location{}, 24)) == 24);
  // CIDR decisions do not depend on the location: the CIDRs alone.
  CHECK(scope_of(client("10.1.2.3", where("EU", "GB", {}, 0, 28))) == 16);
  // 10.2/16 shares 14 bits with 10.1/16: the /15 block around it is outside the /16.
  CHECK(scope_of(client("10.2.0.1", where("EU", "GB", {}, 0, 28))) == 15);
  CHECK(scope_of(client("10.0.255.1", where("EU", "GB", {}, 0, 28))) == 16);  // 10.0 vs 10.1: 15 common bits
  // The /16 down: the /8 answers and the location was not needed either.
  set("gs-16", HealthState::Down);
  CHECK(scope_of(client("10.1.2.3", where("EU", "GB", {}, 0, 28))) == 16);
  set("gs-16", HealthState::Up);
  // IPv4-mapped IPv6 clients: the IPv4 CIDRs, in IPv6 bits.
  CHECK(scope_of(client("::ffff:10.1.2.3", where("EU", "GB", {}, 0, 120))) == 112);
  // IPv6 clients: IPv4 CIDRs play no part.
  CHECK(scope_of(client("2001:db8::1", where("EU", "FR", {}, 0, 48), 56)) == 48);
  // No address: nothing noted.
  ClientInfo none;
  pick(rs, &none);
  CHECK(none.scope() == 0);
}

TEST_CASE("policy geolocation: every address within the noted scope gets the same answer") {
  // Property check over random addresses near several CIDRs, with the
  // location constant (a database network wider than every block tested).
  auto l = load_rrset(R"([records.geo.A]
policy = "geolocation"
targets = [
  { match = "10.0.0.0/8",      value = "192.0.2.1" },
  { match = "10.1.0.0/16",     value = "192.0.2.2" },
  { match = "10.1.128.0/17",   value = "192.0.2.3" },
  { match = "10.1.200.64/26",  value = "192.0.2.4" },
  { match = "11.0.0.0/8",      value = "192.0.2.5" },
  { match = "DE",              value = "192.0.2.6" },
  { match = "*",               value = "192.0.2.7" },
]
)");
  const RRset& rs = *l.rs;
  std::mt19937 rng(7);
  const Location de = where("EU", "DE", {}, 0, 4);
  int checked = 0;
  for (int i = 0; i < 3000; ++i) {
    // Addresses concentrated around 10.1.200.64 so every boundary is crossed.
    std::uint32_t a = 0x0A01C840u ^ (rng() >> (rng() % 32));
    ClientInfo c;
    c.family = AF_INET;
    c.source_prefix = 32;
    for (int b = 0; b < 4; ++b) c.addr[b] = static_cast<std::uint8_t>(a >> (24 - 8 * b));
    c.set_location(de);
    const std::string first = pick(rs, &c).value;
    const unsigned scope = c.scope();
    REQUIRE(scope <= 32);
    for (int k = 0; k < 20; ++k) {
      const std::uint32_t mask = scope == 0 ? 0 : ~std::uint32_t{0} << (32 - scope);
      const std::uint32_t b = (a & mask) | (rng() & ~mask);
      ClientInfo d;
      d.family = AF_INET;
      d.source_prefix = 32;
      for (int x = 0; x < 4; ++x) d.addr[x] = static_cast<std::uint8_t>(b >> (24 - 8 * x));
      d.set_location(de);  // same database network (the /4 holds every block tested)
      if ((b >> 28) != (a >> 28)) continue;
      INFO("client " << std::hex << a << " scope " << std::dec << scope << " other " << std::hex << b);
      REQUIRE(pick(rs, &d).value == first);
      ++checked;
    }
  }
  CHECK(checked > 10000);
}

TEST_CASE("policy geolocation: load errors at their line") {
  const std::string text =
      "[records.a.A]\npolicy = \"geolocation\"\ntargets = [\n"   // 11-13
      "  { match = \"AS\", value = \"192.0.2.1\" },\n"              // 14
      "  { match = \"10.0.0.1/8\", value = \"192.0.2.2\" },\n"      // 15
      "  { match = \"10.0.0.0/33\", value = \"192.0.2.3\" },\n"     // 16
      "  { match = \"10.0.0.300/24\", value = \"192.0.2.4\" },\n"   // 17
      "  { value = \"192.0.2.5\" },\n"                              // 18
      "  { match = \"UK\", value = \"192.0.2.6\" },\n"              // 19
      "  { match = \"XX\", value = \"192.0.2.7\" },\n"              // 20
      "  { match = \"US-CALI\", value = \"192.0.2.8\" },\n"         // 21
      "  { match = [\"JP\", \"US-NY\"], value = \"192.0.2.9\" },\n"  // 22
      "  { match = \"jp\", value = \"192.0.2.10\" },\n"             // 23
      "  { match = [], value = \"192.0.2.11\" },\n"                 // 24
      "  { match = \"AS0\", value = \"192.0.2.12\" },\n"            // 25
      "  { match = \"region:EU\", value = \"192.0.2.13\" },\n"      // 26
      "  { match = \"192.0.2.1\", value = \"192.0.2.14\" },\n"      // 27
      "  { match = \"country:EU\", value = \"192.0.2.15\" },\n"     // 28
      "  { match = 5, value = \"192.0.2.16\" },\n"                  // 29
      "  { match = \"NA\", weight = 2, value = \"192.0.2.17\" },\n" // 30
      "  { match = \"continent:XY\", value = \"192.0.2.18\" },\n"   // 31
      "  { match = \"2001:db8::/129\", value = \"192.0.2.19\" },\n" // 32
      "  { match = \"EUROPE\", value = \"192.0.2.20\" },\n"         // 33
      "  { match = \"eu\", colour = \"blue\", value = \"192.0.2.21\" },\n"  // 34
      "  { match = [\"FR\", \"country:fr\"], value = \"192.0.2.22\" },\n"  // 35
      "]\n"                                                         // 36
      "[records.b.A]\npolicy = \"failover\"\n"                      // 37-38
      "targets = [ { match = \"EU\", value = \"192.0.2.1\" } ]\n";  // 39
  auto r = load_toml_zone_text(kHead + text, "g.toml");
  INFO(all_errors(r.errors));
  CHECK_FALSE(r.zone);
  CHECK(has_error(r.errors, 14, "'AS' is both a continent and a country code: write \"continent:AS\" or \"country:AS\"",
                  kThisFile));
  CHECK(has_error(r.errors, 15, "bad CIDR '10.0.0.1/8': bits are set after the prefix (the network is \"10.0.0.0/8\")",
                  kThisFile));
  CHECK(has_error(r.errors, 16, "the prefix length must be a number from 0 to 32", kThisFile));
  CHECK(has_error(r.errors, 17, "'10.0.0.300' is not an IPv4 or IPv6 address", kThisFile));
  CHECK(has_error(r.errors, 18, "a geolocation target needs 'match'", kThisFile));
  CHECK(has_error(r.errors, 19, "the United Kingdom is \"GB\"", kThisFile));
  CHECK(has_error(r.errors, 20, "unknown country code 'XX'", kThisFile));
  CHECK(has_error(r.errors, 21, "bad subdivision 'US-CALI'", kThisFile));
  CHECK(has_error(r.errors, 23, "match 'country:JP' is already used by the target at line 22", kThisFile));
  CHECK(has_error(r.errors, 24, "'match' is an empty array", kThisFile));
  CHECK(has_error(r.errors, 25, "autonomous system number out of range in 'AS0'", kThisFile));
  CHECK(has_error(r.errors, 26, "unknown match prefix 'region:'", kThisFile));
  CHECK(has_error(r.errors, 27, "a CIDR needs a prefix length: write \"192.0.2.1/32\"", kThisFile));
  CHECK(has_error(r.errors, 28, "'EU' is a continent code, not a country (write \"continent:EU\")", kThisFile));
  CHECK(has_error(r.errors, 29, "'match' must be a string or an array of strings", kThisFile));
  CHECK(has_error(r.errors, 30, "'NA' is both a continent and a country code", kThisFile));
  CHECK(has_error(r.errors, 30, "'weight' is used only by policy \"weighted\"", kThisFile));
  CHECK(has_error(r.errors, 31, "unknown continent code 'continent:XY'", kThisFile));
  CHECK(has_error(r.errors, 32, "the prefix length must be a number from 0 to 128", kThisFile));
  CHECK(has_error(r.errors, 33, "bad match 'EUROPE'", kThisFile));
  CHECK(has_error(r.errors, 34, "unknown key 'colour' in a target (expected value, pool, cname, match, check)",
                  kThisFile));
  CHECK(has_error(r.errors, 35, "match 'country:fr' is listed twice in this target", kThisFile));
  CHECK(has_error(r.errors, 39, "'match' is used only by policy \"geolocation\"", kThisFile));
  CHECK(r.errors.size() == 23);
  for (const auto& e : r.errors) CHECK(e.loc.col > 0);
  // The column points at the match itself.
  for (const auto& e : r.errors)
    if (e.loc.line == 14) CHECK(e.loc.col == 13);
}

TEST_CASE("policy geolocation: match syntax is normalized; prefixes accepted") {
  auto l = load_rrset(R"([records.geo.A]
policy = "geolocation"
targets = [
  { match = ["Continent:af", "country:AF"], value = "192.0.2.1" },
  { match = ["subdivision:us-ca", "asn:AS64500", "cidr:2001:db8::/32"], value = "192.0.2.2" },
  { match = "as64501", value = "192.0.2.3" },
  { match = "oc", value = "192.0.2.4" },
]
)");
  const RRset& rs = *l.rs;
  CHECK(answer(rs, client("41.1.1.1", where("AF", "ZA"))) == "192.0.2.1");
  CHECK(answer(rs, client("41.1.1.1", where("AS", "AF"))) == "192.0.2.1");
  CHECK(answer(rs, client("41.1.1.1", where("NA", "US", {"CA"}))) == "192.0.2.2");
  CHECK(answer(rs, client("41.1.1.1", where("EU", "DE", {}, 64500))) == "192.0.2.2");
  CHECK(answer(rs, client("41.1.1.1", where("EU", "DE", {}, 64501))) == "192.0.2.3");
  CHECK(answer(rs, client("41.1.1.1", where("OC", "AU"))) == "192.0.2.4");
  CHECK(answer(rs, client("2001:db8::5", where("OC", "AU"))) == "192.0.2.2");
}

TEST_CASE("policy traces: one line per decision, for every kind") {
  Lines t;
  auto g = load_rrset(R"([records.geo.A]
policy = "geolocation"
targets = [
  { match = "US-CA", value = "192.0.2.1", check = "gt-ca" },
  { match = "US",    value = "192.0.2.2" },
  { match = "*",     value = "192.0.2.3" },
]
)");
  set("gt-ca", HealthState::Down);
  ClientInfo ca = client("81.2.69.0", where("NA", "US", {"CA"}), 24);
  pick(*g.rs, &ca, 1, &t);
  INFO(t.all());
  REQUIRE(t.lines.size() == 1);
  CHECK(t.lines[0] ==
        "geolocation: client 81.2.69.0/24 → NA/US/CA (db prefix /24); best match 'subdivision:US-CA' → "
        "target 1 (192.0.2.1) (check gt-ca down); using the next match that is up, 'country:US' → "
        "target 2 (192.0.2.2) (up); ECS scope /24");

  t.lines.clear();
  auto f = load_rrset("[records.geo.A]\npolicy = \"failover\"\ntargets = [\n"
                      "  { value = \"192.0.2.1\", check = \"gt-app-1\" }, { pool = \"p\" } ]\n"
                      "[pools.p]\npolicy = \"weighted\"\ntargets = [ { value = \"192.0.2.20\", weight = 80 },"
                      " { value = [\"192.0.2.30\", \"192.0.2.31\"], weight = 20, check = \"gt-w\" } ]\n");
  set("gt-app-1", HealthState::Down);
  set("gt-w", HealthState::Down);
  pick(*f.rs, nullptr, 1, &t);
  INFO(t.all());
  REQUIRE(t.lines.size() == 4);
  CHECK(t.lines[0] == "failover: target 1 (192.0.2.1) check gt-app-1 down, trying the next");
  CHECK(t.lines[1] == "failover: using target 2 (pool 'p')");
  CHECK(t.lines[2] == "weighted: target 2 (192.0.2.30, 192.0.2.31) check gt-w down");
  CHECK(t.lines[3] == "weighted: picked target 1 (192.0.2.20) (weight 80 of 80 up)");

  t.lines.clear();
  auto m = load_rrset("[records.geo.A]\npolicy = \"multivalue\"\nanswers = 2\ntargets = [\n"
                      "  { value = \"192.0.2.1\" }, { value = \"192.0.2.2\", check = \"gt-app-1\" }, { value = \"192.0.2.3\" } ]\n");
  pick(*m.rs, nullptr, 1, &t);
  INFO(t.all());
  REQUIRE(t.lines.size() == 2);
  CHECK(t.lines[0] == "multivalue: target 2 (192.0.2.2) check gt-app-1 down, skipped");
  CHECK(t.lines[1] == "multivalue: 2 of 2 records from 2 of 3 targets up");

  t.lines.clear();
  auto s = load_rrset("[records.geo.A]\npolicy = \"simple\"\ntargets = [ { value = \"192.0.2.1\" }, { pool = \"p\" } ]\n"
                      "[pools.p]\npolicy = \"failover\"\ntargets = [ { value = \"192.0.2.2\" } ]\n");
  pick(*s.rs, nullptr, 1, &t);
  INFO(t.all());
  REQUIRE(t.lines.size() == 2);
  CHECK(t.lines[0] == "failover: using target 1 (192.0.2.2)");
  CHECK(t.lines[1] == "simple: all 2 records of 2 targets, rotated");
}

TEST_CASE("policy geolocation: the example of docs/zone-format.md loads and routes") {
  auto l = load_rrset(doc_toml_example("### Geolocation") +
                      "[pools.eu]\npolicy = \"failover\"\ntargets = [ { value = \"192.0.2.10\" } ]\n");
  const RRset& rs = *l.rs;
  CHECK(answer(rs, client("81.2.69.1", where("EU", "GB"))) == "192.0.2.10");
  CHECK(answer(rs, client("198.51.100.1", where("NA", "US", {"OR"}))) == "198.51.100.50");
  CHECK(answer(rs, client("203.0.113.1", where("AS", "JP"))) == "203.0.113.50");
  CHECK(answer(rs, client("10.9.9.9", where("AS", "JP"))) == "10.1.1.1");
  CHECK(answer(rs, client("192.0.2.1", where("NA", "US", {"TX"}, 7018))) == "192.0.2.70");
  CHECK(answer(rs, client("192.0.2.1", where("SA", "BR"))) == "192.0.2.51");
}

// The policy finds location matches by key, not by a scan, so a policy with
// hundreds of matches must still pick what the rules say: ASN, then the
// deeper subdivision, then the other one, country, continent, "*". The
// expected target here comes from the maps the zone text was written from.
TEST_CASE("policy geolocation: hundreds of matches, each found by its own key") {
  const std::vector<std::string> countries = {
      "AD", "AE", "AF", "AG", "AL", "AM", "AO", "AR", "AT", "AU", "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH",
      "BR", "BY", "CA", "CH", "CL", "CN", "CO", "CR", "CZ", "DE", "DK", "DZ", "EC", "EE", "EG", "ES", "FI", "FR",
      "GB", "GE", "GR", "HK", "HR", "HU", "ID", "IE", "IL", "IN", "IQ", "IR", "IS", "IT", "JP", "KE", "KR", "KZ",
      "LT", "LU", "LV", "MA", "MX", "MY", "NG", "NL", "NO", "NZ", "PE", "PH", "PK", "PL", "PT", "RO", "RS", "RU",
      "SA", "SE", "SG", "SK", "TH", "TR", "TW", "UA", "US", "UY", "VN", "ZA"};
  const std::vector<std::string> sub_codes = {"CA", "TX", "NY", "WA", "OR", "ENG", "SCT", "WLS", "BY", "BE",
                                              "13", "27", "QC", "ON", "NSW", "VIC", "J", "M", "B", "X1"};
  constexpr int kTargets = 7;  // target kTargets is "*"
  std::map<std::string, int> want;  // match text -> target
  std::vector<std::vector<std::string>> by_target(kTargets);
  int n = 0;
  auto add = [&](const std::string& text) {
    want[text] = n % kTargets;
    by_target[n % kTargets].push_back(text);
    ++n;
  };
  // Every other listed country; subdivisions of a few countries, some
  // listed under both levels; a few continents (not AS or SA: both are also
  // countries) and 40 ASNs.
  for (std::size_t i = 0; i < countries.size(); i += 2) add("country:" + countries[i]);
  for (const char* cc : {"US", "GB", "DE", "JP", "CA", "AU", "ES"})
    for (std::size_t i = 0; i < sub_codes.size(); i += 3) add(std::string(cc) + "-" + sub_codes[(i + cc[0]) % sub_codes.size()]);
  for (const char* c : {"continent:EU", "continent:NA", "continent:OC"}) add(c);
  for (std::uint32_t a = 1; a <= 40; ++a) add("AS" + std::to_string(64500 + a * 3));
  REQUIRE(n > 130);

  std::string toml = "[records.geo.A]\npolicy = \"geolocation\"\ntargets = [\n";
  for (int t = 0; t < kTargets; ++t) {
    toml += "  { value = \"192.0.2." + std::to_string(t + 1) + "\", match = [";
    for (const auto& m : by_target[t]) toml += "\"" + m + "\", ";
    toml += "] },\n";
  }
  toml += "  { value = \"192.0.2." + std::to_string(kTargets + 1) + "\", match = \"*\" },\n]\n";
  auto l = load_rrset(toml);
  const RRset& rs = *l.rs;

  std::mt19937 rng(7);
  auto any = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  const std::vector<std::string> continents = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"};
  std::map<int, int> hits;  // expected target -> count, so every rule is seen
  for (int i = 0; i < 4000; ++i) {
    const std::string cont = any(continents), cc = any(countries);
    const std::string s0 = any(sub_codes), s1 = rng() % 2 ? any(sub_codes) : "";
    const std::uint32_t asn = rng() % 3 == 0 ? 64500 + rng() % 130 : 0;
    auto listed = [&](const std::string& text) {
      const auto it = want.find(text);
      return it == want.end() ? -1 : it->second;
    };
    int expected = kTargets;  // "*"
    for (const std::string& text : {asn ? "asn:" + std::to_string(asn) : std::string(),
                                    s1.empty() ? std::string() : cc + "-" + s1, cc + "-" + s0, "country:" + cc,
                                    "continent:" + cont}) {
      // ASNs were written "ASnnn", subdivisions "CC-SUB": look both spellings up.
      const int t = text.rfind("asn:", 0) == 0 ? listed("AS" + text.substr(4)) : listed(text);
      if (!text.empty() && t >= 0) {
        expected = t;
        break;
      }
    }
    ++hits[expected];
    std::vector<const char*> subs = {s0.c_str()};
    if (!s1.empty()) subs.push_back(s1.c_str());
    INFO(cont, " ", cc, " ", s0, " ", s1, " AS", asn);
    CHECK(answer(rs, client("198.51.100.1", where(cont.c_str(), cc.c_str(), subs, asn))) ==
          "192.0.2." + std::to_string(expected + 1));
  }
  CHECK(hits.size() == kTargets + 1);  // every target, and "*", was the answer for some location
}
