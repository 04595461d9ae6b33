// Hostile input for every parser: DNS messages (headers, names, compression,
// counts, sizes, EDNS and ECS options), TOML zones, the server config, RFC
// 1035 master files and MaxMind DB files. Each must end in a clean error
// (FORMERR, a dropped packet, a diagnostic), never a crash; the sanitizer
// build (MERIDIAN_SANITIZE) turns any out-of-bounds read here into a failure.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dns_test_util.hpp"
#include "geo/geoip_db.hpp"
#include "server/config.hpp"
#include "server/query_parser.hpp"
#include "zone_test_util.hpp"
#include "zones/rdata.hpp"
#include "zones/rfc1035_import.hpp"
#include "zones/toml_loader.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {

using Bytes = std::vector<std::uint8_t>;

struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& bytes, const char* ext) {
    path = std::filesystem::temp_directory_path() /
           ("meridian-test-hostile-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ext);
    std::ofstream(path, std::ios::binary) << bytes;
  }
  ~TempFile() { std::filesystem::remove(path); }
  static inline int counter = 0;
};

Bytes header(std::uint16_t qd, std::uint16_t an = 0, std::uint16_t ns = 0, std::uint16_t ar = 0) {
  return {0xAB, 0xCD, 0, 0, std::uint8_t(qd >> 8), std::uint8_t(qd), std::uint8_t(an >> 8), std::uint8_t(an),
          std::uint8_t(ns >> 8), std::uint8_t(ns), std::uint8_t(ar >> 8), std::uint8_t(ar)};
}
void append(Bytes& v, const Bytes& b) { v.insert(v.end(), b.begin(), b.end()); }

const ZoneSet& zones() {
  static ZoneSetPtr set = zones_from_toml({kTestZone});
  return *set;
}

// What the server does with `q`: 0 (dropped) or a response, which must
// parse with ldns and carry the query's ID; its rcode is returned, -1 when
// dropped.
int rcode_of(const Bytes& q, Transport t = Transport::Udp) {
  static std::uint8_t out[kMaxMessage];
  WorkerState ws;
  const std::size_t n = answer_query(zones(), AnswerConfig{}, ws, q.data(), q.size(), t, out);
  if (n == 0) return -1;
  REQUIRE(n <= kMaxMessage);
  if (t == Transport::Udp) REQUIRE(n <= 1232);
  ldns_pkt* p = nullptr;
  REQUIRE(ldns_wire2pkt(&p, out, n) == LDNS_STATUS_OK);
  Pkt pkt(p);
  CHECK(ldns_pkt_qr(p));
  CHECK(ldns_pkt_id(p) == ((q[0] << 8) | q[1]));
  return ldns_pkt_get_rcode(p);
}

// A query for www.example.com. A with an OPT record whose rdata is `options`.
Bytes with_opt(const Bytes& options, std::uint16_t rdlen_override = 0xFFFF) {
  Bytes q = header(1, 0, 0, 1);
  append(q, {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1});
  const std::size_t rdlen = rdlen_override == 0xFFFF ? options.size() : rdlen_override;
  append(q, {0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, std::uint8_t(rdlen >> 8), std::uint8_t(rdlen)});
  append(q, options);
  return q;
}

Bytes ecs_option(std::uint16_t family, std::uint8_t source, std::uint8_t scope, const Bytes& addr,
                 int len_delta = 0) {
  const std::size_t len = 4 + addr.size() + len_delta;
  Bytes o = {0, 8, std::uint8_t(len >> 8), std::uint8_t(len), std::uint8_t(family >> 8), std::uint8_t(family), source,
             scope};
  append(o, addr);
  return o;
}

const Bytes kWww = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0};

}  // namespace

TEST_CASE("hostile DNS: truncated headers are dropped") {
  const Bytes full = make_query("www.example.com.", LDNS_RR_TYPE_A, 0);
  for (std::size_t n = 0; n < 12; ++n) {
    INFO("length " << n);
    ParsedQuery pq;
    CHECK(parse_query(full.data(), n, pq) == ParseStatus::Drop);
    CHECK(rcode_of(Bytes(full.begin(), full.begin() + n)) == -1);
  }
  // Header whole, question cut anywhere: FORMERR (the header can be echoed).
  for (std::size_t n = 12; n < full.size(); ++n) {
    INFO("length " << n);
    CHECK(rcode_of(Bytes(full.begin(), full.begin() + n)) == LDNS_RCODE_FORMERR);
  }
}

TEST_CASE("hostile DNS: label and name length overflows are FORMERR") {
  Bytes q = header(1);
  q.push_back(64);  // one over the 63-octet label limit (RFC 1035 2.3.4)
  q.insert(q.end(), 64, 'a');
  append(q, {0, 0, 1, 0, 1});
  CHECK(rcode_of(q) == LDNS_RCODE_FORMERR);

  // 5 labels of 63 = 320 octets > 255.
  q = header(1);
  for (int i = 0; i < 5; ++i) {
    q.push_back(63);
    q.insert(q.end(), 63, 'b');
  }
  append(q, {0, 0, 1, 0, 1});
  CHECK(rcode_of(q) == LDNS_RCODE_FORMERR);

  // Exactly 255 octets: legal, answered (REFUSED or NXDOMAIN, not FORMERR).
  q = header(1);
  for (int i = 0; i < 3; ++i) {
    q.push_back(63);
    q.insert(q.end(), 63, 'c');
  }
  q.push_back(61);
  q.insert(q.end(), 61, 'd');
  append(q, {0, 0, 1, 0, 1});
  CHECK(q.size() == 12 + 255 + 4);
  const int r = rcode_of(q);
  CHECK(r >= 0);
  CHECK(r != LDNS_RCODE_FORMERR);

  // The label-type bits 01 and 10 (RFC 6891 deprecated extended labels).
  for (std::uint8_t bad : {std::uint8_t(0x40), std::uint8_t(0x80)}) {
    q = header(1);
    append(q, {bad, 'x', 0, 0, 1, 0, 1});
    CHECK(rcode_of(q) == LDNS_RCODE_FORMERR);
  }
}

TEST_CASE("hostile DNS: compression pointer loops anywhere are FORMERR, not a hang") {
  // The question pointing at itself, and two pointers pointing at each other.
  Bytes q = header(1);
  append(q, {0xC0, 12, 0, 1, 0, 1});
  CHECK(rcode_of(q) == LDNS_RCODE_FORMERR);
  q = header(1);
  append(q, {1, 'a', 0xC0, 12, 0, 1, 0, 1});
  CHECK(rcode_of(q) == LDNS_RCODE_FORMERR);
  // A pointer past the end of the message.
  q = header(1);
  append(q, {0xFF, 0xFF, 0, 1, 0, 1});
  CHECK(rcode_of(q) == LDNS_RCODE_FORMERR);
  // A looping owner name in the additional section (where a real message
  // may compress): the OPT owner must be the root, anything else is FORMERR.
  q = header(1, 0, 0, 1);
  append(q, kWww);
  append(q, {0, 1, 0, 1});
  const std::uint8_t self = std::uint8_t(q.size());
  append(q, {0xC0, self, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0});
  CHECK(rcode_of(q) == LDNS_RCODE_FORMERR);
}

TEST_CASE("hostile DNS: counts that lie") {
  // More questions than there are.
  Bytes q = header(1);
  CHECK(rcode_of(q) == LDNS_RCODE_FORMERR);
  q = header(0xFFFF);
  append(q, kWww);
  append(q, {0, 1, 0, 1});
  CHECK(rcode_of(q) == LDNS_RCODE_FORMERR);
  // An additional count with nothing behind it.
  q = header(1, 0, 0, 0xFFFF);
  append(q, kWww);
  append(q, {0, 1, 0, 1});
  CHECK(rcode_of(q) == LDNS_RCODE_FORMERR);
  // Answer and authority counts in a query.
  for (int section = 0; section < 2; ++section) {
    q = section ? header(1, 0, 3) : header(1, 3);
    append(q, kWww);
    append(q, {0, 1, 0, 1});
    CHECK(rcode_of(q) == LDNS_RCODE_FORMERR);
  }
  // QR=1: a response is never answered (no reflection loops).
  q = make_query("www.example.com.", LDNS_RR_TYPE_A);
  q[2] |= 0x80;
  CHECK(rcode_of(q) == -1);
}

TEST_CASE("hostile DNS: oversized messages") {
  // A query padded with trailing garbage to the largest TCP frame.
  Bytes q = make_query("www.example.com.", LDNS_RR_TYPE_A, 0);
  q.resize(kMaxMessage, 0xEE);
  for (Transport t : {Transport::Udp, Transport::Tcp}) {
    // Octets after the last record are ignored (or FORMERR): never more.
    const int r = rcode_of(q, t);
    CHECK((r == LDNS_RCODE_NOERROR || r == LDNS_RCODE_FORMERR));
  }
  // The same with an OPT record claiming a 65535-octet payload and huge rdata.
  q = with_opt({}, 0xFFFF - 1);
  CHECK(rcode_of(q, Transport::Tcp) == LDNS_RCODE_FORMERR);
  q.resize(kMaxMessage, 0);
  const int r = rcode_of(q, Transport::Tcp);
  CHECK((r == -1 || r == LDNS_RCODE_FORMERR || r == LDNS_RCODE_NOERROR));
}

TEST_CASE("hostile DNS: malformed EDNS options and ECS") {
  // Option length running past the OPT rdata, and OPT rdata past the message.
  CHECK(rcode_of(with_opt({0, 3, 0, 9, 1})) == LDNS_RCODE_FORMERR);
  CHECK(rcode_of(with_opt({0, 3, 0, 0}, 40)) == LDNS_RCODE_FORMERR);
  // Half an option header.
  CHECK(rcode_of(with_opt({0, 3, 0})) == LDNS_RCODE_FORMERR);

  // Malformed ECS (RFC 7871 section 6: "SHOULD return FORMERR"): the
  // query is refused with FORMERR, and the option is never used.
  const std::vector<Bytes> bad_ecs = {
      ecs_option(3, 8, 0, {1}),                    // unknown family
      ecs_option(1, 33, 0, {1, 2, 3, 4, 5}),       // source longer than IPv4
      ecs_option(2, 129, 0, Bytes(17, 1)),         // source longer than IPv6
      ecs_option(1, 24, 0, {1, 2}),                // address shorter than the prefix
      ecs_option(1, 8, 0, {1, 2, 3}),              // address longer than the prefix
      ecs_option(1, 24, 0, {1, 2, 3}, -2),         // option length cut
      ecs_option(1, 24, 9, {198, 51, 100}),        // scope set in a query
      ecs_option(1, 20, 0, {198, 51, 100}),        // address bits beyond the prefix
      {0, 8, 0, 2, 0, 1},                          // two octets of ECS
  };
  for (const Bytes& o : bad_ecs) {
    const Bytes q = with_opt(o);
    INFO("query size " << q.size());
    ParsedQuery pq;
    CHECK(parse_query(q.data(), q.size(), pq) == ParseStatus::FormErr);
    CHECK_FALSE(pq.ecs);
    CHECK(rcode_of(q) == LDNS_RCODE_FORMERR);
  }
  // Two OPT records, and an OPT with a non-root owner: FORMERR (RFC 6891 6.1.1).
  Bytes two = with_opt({});
  two[11] = 2;
  append(two, {0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0});
  CHECK(rcode_of(two) == LDNS_RCODE_FORMERR);
  Bytes owner = header(1, 0, 0, 1);
  append(owner, kWww);
  append(owner, {0, 1, 0, 1, 1, 'x', 0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0});
  CHECK(rcode_of(owner) == LDNS_RCODE_FORMERR);
}

TEST_CASE("hostile DNS: random mutations of valid queries never break the response") {
  // Deterministic: the same 20,000 mutants each run (xorshift, fixed seed).
  std::uint64_t s = 0x5EEDF00DCAFEull;
  auto next = [&s] {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  };
  Bytes ecs = with_opt(ecs_option(1, 24, 0, {198, 51, 100}));
  const std::vector<Bytes> bases = {make_query("www.example.com.", LDNS_RR_TYPE_A),
                                    make_query("example.com.", LDNS_RR_TYPE_ANY, 0), ecs};
  int answered = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes q = bases[i % bases.size()];
    const int flips = 1 + int(next() % 4);
    for (int f = 0; f < flips; ++f) q[next() % q.size()] = std::uint8_t(next());
    if (next() % 4 == 0) q.resize(next() % (q.size() + 1));
    if (q.size() < 2) continue;
    answered += rcode_of(q, i % 2 ? Transport::Tcp : Transport::Udp) >= 0;
  }
  CHECK(answered > 1000);  // most mutants keep a header and get some answer
}

TEST_CASE("hostile TOML zones: a clean error, never a zone") {
  const std::vector<std::string> broken = {
      "origin = \"example.com.\n",                       // unterminated string
      std::string("origin = \"ex\0ample.com.\"\n", 25),  // NUL byte
      "origin = \"\xff\xfe.com.\"\n",                    // not UTF-8
      "[soa\nmname = 1",                                 // unterminated table header
      "origin = 5\nttl = \"x\"\n[soa]\n",                // wrong types
      "ttl = 99999999999999999999999\n",                 // integer overflow
      std::string(100000, '['),                          // deep nesting
      "a = " + std::string(5000, '[') + std::string(5000, ']') + "\n",
      kHead + "[records.www]\nA = \"192.0.2.1\"\n[records.www]\nA = \"192.0.2.2\"\n",  // table twice
      kHead + "[records.\"" + std::string(300, 'a') + "\"]\nA = \"192.0.2.1\"\n",     // label > 63
      kHead + "[records.x]\nA = { policy = \"weighted\", targets = 5 }\n",
      kHead + "[records.x.A]\npolicy = \"geolocation\"\ntargets = [ { match = [[[]]], value = 1 } ]\n",
      kHead + "[records.x]\nA = [" + std::string(1000, ',') + "]\n",
      "",
  };
  for (std::size_t i = 0; i < broken.size(); ++i) {
    const std::string& text = broken[i];
    INFO("case " << i << ": " << text.substr(text.size() > kHead.size() + 60 ? kHead.size() : 0, 80));
    const ZoneLoadResult r = load_toml_zone_text(text, "hostile.toml");
    CHECK(r.zone == nullptr);
    REQUIRE_FALSE(r.errors.empty());
    CHECK(r.errors.front().loc.file == "hostile.toml");
  }
}

TEST_CASE("hostile TOML zones: a generic TYPEnnn outside 1..65535 is no type") {
  // RFC 3597's generic names, read by us: ldns read the number with atoi
  // into its enum (the zone fuzzer found TYPE5555555555555: undefined
  // behaviour, and a number over 65535 became some other type).
  CHECK(rr_type_from_name("TYPE99") == std::optional<std::uint16_t>(99));
  CHECK(rr_type_from_name("type65535") == std::optional<std::uint16_t>(65535));
  CHECK(rr_type_from_name("TYPE1") == std::optional<std::uint16_t>(rrtype::A));
  for (const char* bad : {"TYPE0", "TYPE65536", "TYPE5555555555555", "TYPE-5", "TYPE+5", "TYPE12a", "TYPE 12"})
    CHECK_MESSAGE(!rr_type_from_name(bad), bad);
  CHECK(rr_type_from_name("AAAA") == std::optional<std::uint16_t>(rrtype::AAAA));  // names still go to ldns
  const ZoneLoadResult r =
      load_toml_zone_text(kHead + "[records.x]\nTYPE5555555555555 = [\"ns0.example.com.\"]\n", "hostile.toml");
  CHECK(r.zone == nullptr);
  REQUIRE_FALSE(r.errors.empty());
  CHECK(r.errors.front().loc.file == "hostile.toml");
}

TEST_CASE("hostile TOML zones: long TXT data is kept whole or refused, never cut") {
  // 60,000 characters: 236 strings of up to 255, every octet kept.
  const std::string text(60000, 'x');
  Loaded l = load_rrset_as("long.toml", "[records.x]\nTXT = \"" + text + "\"\n", "x", rrtype::TXT);
  REQUIRE(l.rs);
  REQUIRE(l.rs->rdata.size() == 1);
  CHECK(l.rs->rdata[0].size() == 60000 + (60000 + 254) / 255);
  // Past what ldns reads whole: an error, not a shorter record.
  const ZoneLoadResult r = load_toml_zone_text(kHead + "[records.x]\nTXT = \"" + std::string(70000, 'x') + "\"\n",
                                               "long.toml");
  CHECK(r.zone == nullptr);
  REQUIRE_FALSE(r.errors.empty());
  CHECK(r.errors.front().message.find("longer than") != std::string::npos);
  CHECK(r.errors.front().loc.line == 12);
}

TEST_CASE("hostile config: non-tables, wrong types and broken TOML are errors") {
  const std::vector<std::string> broken = {
      "server = 5\n",
      "server = [1, 2]\n",
      "server = \"listen\"\n",
      "admin = []\n",
      "rrl = 1\n",
      "checks = 1\n",
      "regions = 1\n",
      "reload = 1\n",
      "query_log = true\n",
      "geoip = 1\n",
      "[reload]\nwatch = 5\n",
      "[server]\nlisten = 5\n",
      "[server]\nthreads = -1\n",
      "[server]\nudp_payload = 1e99\n",
      // A float where an integer belongs, beyond int64: converting it was
      // undefined behaviour inside toml++ (fuzz_config; fatal under UBSan).
      "[rrl]\nresponses_per_second = 3e98\n",
      "[server]\ntcp_max_connections = -1e30\n",
      "[server]\nallow_root = \"yes\"\n",
      "[server\n",
      std::string(100000, '['),
      std::string("\0\0\0", 3),
  };
  for (const std::string& text : broken) {
    INFO(text.substr(0, 40));
    TempFile f(text, ".toml");
    ServerConfig cfg;
    Diagnostics errors;
    CHECK_FALSE(load_config(f.path.string(), cfg, errors));
    CHECK_FALSE(errors.empty());
  }
}

TEST_CASE("hostile master files: the importer fails with a message") {
  const std::vector<std::string> broken = {
      "",
      "\n\n\n",
      "$ORIGIN example.com.\n@ IN SOA ns hm ( 1 2 3\n",                 // unterminated parenthesis
      "$ORIGIN example.com.\n@ IN SOA ns hm 1 2 3 4 5\nwww IN A 999.1.1.1\n",
      "$ORIGIN " + std::string(300, 'a') + ".\n@ IN SOA ns hm 1 2 3 4 5\n",  // name too long
      "$ORIGIN example.com.\n" + std::string(64, 'x') + " IN A 192.0.2.1\n",  // label > 63
      "$INCLUDE /nonexistent/zone\n",
      "$TTL x\n",
      std::string("\x00\x01\x02\xff\xfe", 5),
      "$ORIGIN example.com.\n@ IN NS ns\n",                                  // no SOA
      "$ORIGIN example.com.\n@ IN SOA ns hm 1 2 3 4 5\nwww.example.org. IN A 192.0.2.1\n",  // out of zone
      "$ORIGIN example.com.\n@ IN SOA ns hm 1 2 3 4 5\n@ IN SOA ns hm 2 2 3 4 5\n",  // two SOAs
      "$ORIGIN example.com.\n@ IN SOA ns hm 1 2 3 4 5\nwww IN TYPE65534 \\# 3 0102\n",  // rdata length lies
      std::string(20000, 'a') + "\n",
  };
  for (const std::string& text : broken) {
    INFO(text.substr(0, 60));
    TempFile f(text, ".zone");
    std::string toml, error;
    CHECK_FALSE(import_rfc1035(f.path.string(), "", toml, error));
    CHECK(error.find(f.path.string()) != std::string::npos);
    toml.clear();
    error.clear();
    CHECK_FALSE(import_rfc1035(f.path.string(), "example.com.", toml, error));
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("hostile MaxMind DB files: refused with a reason") {
  std::string fixture;
  {
    std::ifstream in(MERIDIAN_FIXTURE_MMDB, std::ios::binary);
    fixture.assign(std::istreambuf_iterator<char>(in), {});
  }
  REQUIRE(fixture.size() > 1000);
  const std::string marker = "\xab\xcd\xefMaxMind.com";
  const std::size_t meta = fixture.rfind(marker);
  REQUIRE(meta != std::string::npos);
  std::vector<std::string> broken = {
      "",
      marker,                                              // the marker and nothing else
      std::string(4096, '\0'),
      fixture.substr(meta),                                // metadata without a tree
      fixture.substr(0, meta + marker.size() + 10),        // metadata cut short
  };
  // The metadata with its node_count and record_size replaced by absurd values.
  for (const char* key : {"node_count", "record_size"}) {
    std::string f = fixture;
    const std::size_t k = f.find(key, meta);
    REQUIRE(k != std::string::npos);
    const std::size_t v = k + std::strlen(key);
    f[v] = '\xc4';  // uint16 of 4 octets... the value bytes that follow are garbage
    broken.push_back(f);
  }
  for (std::size_t i = 0; i < broken.size(); ++i) {
    INFO("case " << i);
    TempFile f(broken[i], ".mmdb");
    GeoIpDb db;
    std::string error;
    const bool opened = db.open({f.path.string()}, error);
    if (!opened) {
      CHECK(error.rfind(f.path.string() + ": ", 0) == 0);
      CHECK(db.empty());
    } else {
      // libmaxminddb accepted the metadata: lookups must still stay in bounds.
      std::uint8_t a4[4] = {127, 0, 1, 1}, a6[16] = {0x20, 0x01, 0x0d, 0xb8};
      (void)db.lookup(AF_INET, a4);
      (void)db.lookup(AF_INET6, a6);
    }
    if (i < 5) CHECK_FALSE(opened);  // no tree at all: nothing to open
  }
}
