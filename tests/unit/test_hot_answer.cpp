// The hot path (server/hot_answer.cpp) against the general assembler: for
// every query it takes, the response must be the assembler's, byte for
// byte, whatever the EDNS options, letter case and round-robin position;
// and it must decline every query whose answer is not a plain copy.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>
#include <vector>

#include "dns_test_util.hpp"
#include "geo/geoip_db.hpp"
#include "server/hot_answer.hpp"
#include "server/query_parser.hpp"
#include "zone_test_util.hpp"
#include "zones/health.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {

const ZoneSet& zs() {
  static ZoneSetPtr z = zones_from_toml({std::string(kTestZone) + R"(
[records.multi]
A = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
AAAA = ["2001:db8::1", "2001:db8::2"]
TXT = "v=spf1 -all"
CAA = "0 issue \"ca.example.net\""
[records.big]
A = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6", "192.0.2.7", "192.0.2.8",
     "192.0.2.9", "192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14", "192.0.2.15",
     "192.0.2.16", "192.0.2.17", "192.0.2.18", "192.0.2.19", "192.0.2.20", "192.0.2.21", "192.0.2.22",
     "192.0.2.23", "192.0.2.24", "192.0.2.25", "192.0.2.26", "192.0.2.27", "192.0.2.28", "192.0.2.29",
     "192.0.2.30", "192.0.2.31", "192.0.2.32"]
)"});
  return *z;
}

// `q` (no EDNS) with an OPT record appended: payload size, DO, and raw options.
std::vector<std::uint8_t> with_opt(std::vector<std::uint8_t> q, std::uint16_t payload, bool dnssec_ok,
                                   const std::vector<std::uint8_t>& options) {
  q[11] = 1;  // ARCOUNT
  const std::uint8_t head[] = {0,
                               0,
                               41,
                               static_cast<std::uint8_t>(payload >> 8),
                               static_cast<std::uint8_t>(payload),
                               0,
                               0,
                               static_cast<std::uint8_t>(dnssec_ok ? 0x80 : 0),
                               0,
                               static_cast<std::uint8_t>(options.size() >> 8),
                               static_cast<std::uint8_t>(options.size())};
  q.insert(q.end(), head, head + sizeof head);
  q.insert(q.end(), options.begin(), options.end());
  return q;
}

const std::vector<std::uint8_t> kNsid = {0, 3, 0, 0};
const std::vector<std::uint8_t> kEcs = {0, 8, 0, 7, 0, 1, 24, 0, 198, 51, 100};  // 198.51.100.0/24

std::vector<std::vector<std::uint8_t>> variants(const std::string& name, ldns_rr_type type) {
  const auto plain = make_query(name, type, 0, true);
  return {plain,
          with_opt(plain, 1232, false, {}),
          with_opt(plain, 4096, true, {}),
          with_opt(plain, 1232, false, kNsid),
          with_opt(plain, 1232, true, kEcs),
          with_opt(plain, 512, false, [] {
            auto both = kNsid;
            both.insert(both.end(), kEcs.begin(), kEcs.end());
            return both;
          }())};
}

struct Answer {
  std::vector<std::uint8_t> bytes;
  std::uint32_t rotation_after = 0;
};

// The response, through the hot path when it takes the query, or (with
// `general`) always through the assembler: a policy trace makes
// answer_query skip the hot path. `rng` seeds the policies' randomness.
Answer answer(const ZoneSet& zones, const std::vector<std::uint8_t>& q, std::uint32_t rotation, bool general,
              const AnswerConfig& cfg, std::uint64_t rng = WorkerState{}.rng, const sockaddr* from = nullptr) {
  static std::uint8_t out[kMaxMessage];
  Lines trace;
  WorkerState ws;
  ws.rotation = rotation;
  ws.rng = rng;
  const std::size_t n =
      answer_query(zones, cfg, ws, q.data(), q.size(), QueryMeta{Transport::Udp, from, general ? &trace : nullptr}, out);
  return {std::vector<std::uint8_t>(out, out + n), ws.rotation};
}
Answer answer(const std::vector<std::uint8_t>& q, std::uint32_t rotation, bool general, const AnswerConfig& cfg) {
  return answer(zs(), q, rotation, general, cfg);
}

// Whether the hot path itself answers `q` (not the assembler behind it).
bool hot_takes(const ZoneSet& zones, const std::vector<std::uint8_t>& q, const AnswerConfig& cfg,
               const sockaddr* from = nullptr) {
  static std::uint8_t out[kMaxMessage];
  ParsedQuery pq;
  REQUIRE(parse_query(q.data(), q.size(), pq) == ParseStatus::Ok);
  WorkerState ws;
  const std::size_t limit = pq.edns ? std::min<std::size_t>(pq.edns_udp_size, 1232) : 512;
  FirstLookup found;
  return hot_answer(zones, cfg, ws, pq, locate(zones, pq), from, q.data(), limit, out, found) != 0;
}
bool hot_takes(const std::vector<std::uint8_t>& q, const AnswerConfig& cfg) { return hot_takes(zs(), q, cfg); }

}  // namespace

TEST_CASE("hot path: the same bytes as the assembler, for every EDNS form, case and rotation") {
  AnswerConfig cfg;
  cfg.identity = "ns-test-1";
  const struct {
    const char* name;
    ldns_rr_type type;
  } hot[] = {{"www.example.com.", LDNS_RR_TYPE_A},     {"WWW.Example.COM.", LDNS_RR_TYPE_A},
             {"multi.example.com.", LDNS_RR_TYPE_A},   {"multi.example.com.", LDNS_RR_TYPE_AAAA},
             {"multi.example.com.", LDNS_RR_TYPE_TXT}, {"MULTI.example.com.", LDNS_RR_TYPE_CAA},
             {"ns1.example.com.", LDNS_RR_TYPE_A},     {"mail.example.com.", LDNS_RR_TYPE_AAAA},
             {"host.ent.wild.example.com.", LDNS_RR_TYPE_A},
             {"x.wild.example.com.", LDNS_RR_TYPE_A},  // through the wildcard
             {"A.b.Wild.example.com.", LDNS_RR_TYPE_A}};
  int taken = 0;
  for (const auto& c : hot)
    for (const auto& q : variants(c.name, c.type)) {
      CAPTURE(c.name);
      CAPTURE(c.type);
      CAPTURE(q.size());
      CHECK(hot_takes(q, cfg));
      taken += hot_takes(q, cfg);
      for (std::uint32_t r = 0; r < 7; ++r) {
        const Answer fast = answer(q, r, false, cfg), slow = answer(q, r, true, cfg);
        CAPTURE(r);
        REQUIRE(!slow.bytes.empty());
        CHECK(fast.bytes == slow.bytes);
        CHECK(fast.rotation_after == slow.rotation_after);
      }
    }
  CHECK(taken == 11 * 6);

  // Rotation really moves the first record (else the comparison above
  // would hold for a path that ignored it).
  const auto q = make_query("multi.example.com.", LDNS_RR_TYPE_A, 0);
  CHECK(answer(q, 0, false, cfg).bytes != answer(q, 1, false, cfg).bytes);
  CHECK(answer(q, 0, false, cfg).bytes == answer(q, 3, false, cfg).bytes);
}

TEST_CASE("hot path: declines what is not a plain copy, and the assembler answers it") {
  const AnswerConfig cfg;
  const struct {
    const char* name;
    ldns_rr_type type;
    std::uint16_t edns;
  } cold[] = {
      {"alias.example.com.", LDNS_RR_TYPE_A, 1232},      // CNAME to chase
      {"example.com.", LDNS_RR_TYPE_MX, 1232},           // additional section
      {"example.com.", LDNS_RR_TYPE_NS, 1232},           // names to compress
      {"example.com.", LDNS_RR_TYPE_SOA, 1232},          // names to compress
      {"x.wild.example.com.", LDNS_RR_TYPE_AAAA, 1232},  // wildcard, no such type: NODATA
      {"x.ent.wild.example.com.", LDNS_RR_TYPE_A, 1232}, // below an empty non-terminal: no wildcard
      {"nope.example.com.", LDNS_RR_TYPE_A, 1232},       // NXDOMAIN
      {"www.example.com.", LDNS_RR_TYPE_TXT, 1232},      // NODATA
      {"ns.sub.example.com.", LDNS_RR_TYPE_A, 1232},     // glue below a cut: referral
      {"sub.example.com.", LDNS_RR_TYPE_DS, 1232},       // DS at the cut
      {"x.old.example.com.", LDNS_RR_TYPE_A, 1232},      // below a DNAME
      {"multi.example.com.", LDNS_RR_TYPE_ANY, 1232},    // ANY
      {"big.example.com.", LDNS_RR_TYPE_A, 0},           // 32 A records: does not fit in 512
      {"www.example.org.", LDNS_RR_TYPE_A, 1232},        // not our zone
  };
  for (const auto& c : cold) {
    CAPTURE(c.name);
    CAPTURE(c.type);
    const auto q = make_query(c.name, c.type, c.edns);
    CHECK_FALSE(hot_takes(q, cfg));
    const Answer a = answer(q, 0, false, cfg), general = answer(q, 0, true, cfg);
    CHECK(!a.bytes.empty());
    CHECK(a.bytes == general.bytes);
  }
  // big.example.com. over EDNS fits, and is hot.
  CHECK(hot_takes(make_query("big.example.com.", LDNS_RR_TYPE_A, 1232), cfg));
  // Truncated without EDNS, by the assembler.
  const Answer big = answer(make_query("big.example.com.", LDNS_RR_TYPE_A, 0), 0, false, cfg);
  REQUIRE(big.bytes.size() > 3);
  CHECK((big.bytes[2] & 0x02) != 0);  // TC
}

namespace {

// Routing policies over records the hot path copies (A, AAAA, TXT), and
// some it must leave to the assembler.
const ZoneSet& policy_zones() {
  static ZoneSetPtr z = zones_from_toml({std::string(kTestZone) + R"(
[records.w.A]
policy = "weighted"
ttl = 30
ttl_when_degraded = 10
targets = [ { value = "192.0.2.20", weight = 80, check = "hot-w-eu" },
            { value = ["192.0.2.30", "192.0.2.31"], weight = 20 } ]
[records.f.AAAA]
policy = "failover"
targets = [ { value = "2001:db8::1", check = "hot-f-a" }, { value = "2001:db8::2" } ]
[records.g.A]
policy = "geolocation"
targets = [ { match = "EU", value = "192.0.2.10" }, { match = "US", value = "192.0.2.11" },
            { match = "*", value = ["192.0.2.13", "192.0.2.14"] } ]
[records."*.gw".A]
policy = "geolocation"
targets = [ { match = "EU", value = "192.0.2.40" }, { match = "*", value = "192.0.2.41" } ]
[records.t.TXT]
policy = "weighted"
targets = [ { value = "one", weight = 1 }, { value = "two", weight = 1 } ]
[records.eu-only.A]
policy = "geolocation"
targets = [ { match = "EU", value = "192.0.2.50" } ]
[records.c.A]
policy = "geolocation"
targets = [ { match = "EU", cname = "eu.cdn.example.net." }, { match = "*", value = "192.0.2.60" } ]
[records.m.MX]
policy = "weighted"
targets = [ { value = "10 mail", weight = 1 }, { value = "20 mail", weight = 1 } ]
)"});
  return *z;
}

// Answers with the MaxMind test database, so Europe and the US differ.
AnswerConfig geo_config() {
  AnswerConfig cfg;
  auto db = std::make_shared<GeoIpDb>();
  std::string error;
  REQUIRE(db->open({MERIDIAN_FIXTURE_MMDB}, error));
  cfg.geo = db;
  return cfg;
}

std::vector<std::uint8_t> ecs4(std::uint8_t a, std::uint8_t b, std::uint8_t c) {
  return {0, 8, 0, 7, 0, 1, 24, 0, a, b, c};
}

}  // namespace

TEST_CASE("hot path: policy answers are the assembler's bytes, pick for pick") {
  const AnswerConfig cfg = geo_config();
  const ZoneSet& zones = policy_zones();
  sockaddr_in gb{};  // a packet source in Europe, for queries without ECS
  gb.sin_family = AF_INET;
  REQUIRE(inet_pton(AF_INET, "81.2.69.142", &gb.sin_addr) == 1);
  const sockaddr* sources[] = {nullptr, reinterpret_cast<const sockaddr*>(&gb)};

  const char* names[][2] = {{"w.example.com.", "A"},   {"W.Example.com.", "A"}, {"f.example.com.", "AAAA"},
                            {"g.example.com.", "A"},   {"x.gw.example.com.", "A"}, {"t.example.com.", "TXT"}};
  auto type_of = [](const char* t) {
    return std::string(t) == "A" ? LDNS_RR_TYPE_A : std::string(t) == "AAAA" ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_TXT;
  };
  int taken = 0, compared = 0;
  auto compare_all = [&] {
    for (const auto& n : names)
      for (const auto& ecs : {ecs4(81, 2, 69), ecs4(216, 160, 83), ecs4(198, 51, 100), ecs4(10, 1, 2)})
        for (const auto* from : sources) {
          const auto plain = make_query(n[0], type_of(n[1]), 0, true);
          for (const auto& q : {plain, with_opt(plain, 1232, false, {}), with_opt(plain, 1232, true, ecs)}) {
            CAPTURE(n[0]);
            CAPTURE(q.size());
            CAPTURE(from != nullptr);
            CHECK(hot_takes(zones, q, cfg, from));
            taken += hot_takes(zones, q, cfg, from);
            for (std::uint64_t seed : {1ull, 2ull, 3ull, 0x9E3779B97F4A7C15ull, 12345ull}) {
              const Answer fast = answer(zones, q, 5, false, cfg, seed, from),
                           slow = answer(zones, q, 5, true, cfg, seed, from);
              CAPTURE(seed);
              REQUIRE(!slow.bytes.empty());
              CHECK(fast.bytes == slow.bytes);
              CHECK(fast.rotation_after == slow.rotation_after);
              ++compared;
            }
          }
        }
  };
  compare_all();
  // Down targets: another pick, and the degraded TTL.
  test::set("hot-w-eu", HealthState::Down);
  test::set("hot-f-a", HealthState::Down);
  compare_all();
  test::set("hot-w-eu", HealthState::Up);
  test::set("hot-f-a", HealthState::Up);
  CHECK(taken == 2 * 6 * 4 * 2 * 3);
  CHECK(compared == taken * 5);

  // The comparison above can see what the policies do: the pick moves with
  // the client's network, with the random draw, and with health.
  const auto geo_q = [](const std::vector<std::uint8_t>& ecs) {
    return with_opt(make_query("g.example.com.", LDNS_RR_TYPE_A, 0), 1232, false, ecs);
  };
  CHECK(answer(zones, geo_q(ecs4(81, 2, 69)), 0, false, cfg).bytes !=
        answer(zones, geo_q(ecs4(216, 160, 83)), 0, false, cfg).bytes);
  const auto w_q = make_query("w.example.com.", LDNS_RR_TYPE_A, 1232);
  bool moved = false;
  for (std::uint64_t seed = 1; seed < 40 && !moved; ++seed)
    moved = answer(zones, w_q, 0, false, cfg, seed).bytes != answer(zones, w_q, 0, false, cfg, 1).bytes;
  CHECK(moved);
  const Answer up = answer(zones, make_query("f.example.com.", LDNS_RR_TYPE_AAAA, 1232), 0, false, cfg);
  test::set("hot-f-a", HealthState::Down);
  const Answer down = answer(zones, make_query("f.example.com.", LDNS_RR_TYPE_AAAA, 1232), 0, false, cfg);
  test::set("hot-f-a", HealthState::Up);
  CHECK(up.bytes != down.bytes);
}

TEST_CASE("hot path: declines a policy answer it cannot copy, and the assembler gives it") {
  const AnswerConfig cfg = geo_config();
  const ZoneSet& zones = policy_zones();
  const struct {
    const char* name;
    ldns_rr_type type;
    std::vector<std::uint8_t> ecs;
  } cold[] = {
      {"eu-only.example.com.", LDNS_RR_TYPE_A, ecs4(216, 160, 83)},  // the policy picks nothing: NODATA
      {"c.example.com.", LDNS_RR_TYPE_A, ecs4(81, 2, 69)},           // may answer with a CNAME target
      {"c.example.com.", LDNS_RR_TYPE_A, ecs4(216, 160, 83)},        // ... even when it picks records
      {"m.example.com.", LDNS_RR_TYPE_MX, ecs4(81, 2, 69)},          // additional section, names to compress
      {"w.example.com.", LDNS_RR_TYPE_AAAA, ecs4(81, 2, 69)},        // no such type: NODATA
  };
  for (const auto& c : cold) {
    CAPTURE(c.name);
    const auto q = with_opt(make_query(c.name, c.type, 0), 1232, false, c.ecs);
    CHECK_FALSE(hot_takes(zones, q, cfg));
    const Answer a = answer(zones, q, 0, false, cfg), general = answer(zones, q, 0, true, cfg);
    CHECK(!a.bytes.empty());
    CHECK(a.bytes == general.bytes);
  }
  // eu-only from Europe is a policy set the hot path takes.
  CHECK(hot_takes(zones, with_opt(make_query("eu-only.example.com.", LDNS_RR_TYPE_A, 0), 1232, false, ecs4(81, 2, 69)),
                  cfg));
}
