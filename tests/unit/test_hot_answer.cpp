// The hot path (server/hot_answer.cpp) against the general assembler: for
// every query it takes, the response must be the assembler's, byte for
// byte, whatever the EDNS options, letter case and round-robin position;
// and it must decline every query whose answer is not a plain copy.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "dns_test_util.hpp"
#include "server/hot_answer.hpp"
#include "server/query_parser.hpp"
#include "zone_test_util.hpp"

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
// answer_query skip the hot path.
Answer answer(const std::vector<std::uint8_t>& q, std::uint32_t rotation, bool general, const AnswerConfig& cfg) {
  static std::uint8_t out[kMaxMessage];
  Lines trace;
  WorkerState ws;
  ws.rotation = rotation;
  const std::size_t n =
      answer_query(zs(), cfg, ws, q.data(), q.size(), QueryMeta{Transport::Udp, nullptr, general ? &trace : nullptr}, out);
  return {std::vector<std::uint8_t>(out, out + n), ws.rotation};
}

// Whether the hot path itself answers `q` (not the assembler behind it).
bool hot_takes(const std::vector<std::uint8_t>& q, const AnswerConfig& cfg) {
  static std::uint8_t out[kMaxMessage];
  ParsedQuery pq;
  REQUIRE(parse_query(q.data(), q.size(), pq) == ParseStatus::Ok);
  WorkerState ws;
  const std::size_t limit = pq.edns ? std::min<std::size_t>(pq.edns_udp_size, 1232) : 512;
  FirstLookup found;
  return hot_answer(zs(), cfg, ws, pq, q.data(), limit, out, found) != 0;
}

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
