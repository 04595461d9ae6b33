// Malformed queries: the parser must classify, never read out of bounds.
#include <doctest/doctest.h>

#include <random>

#include "dns_test_util.hpp"
#include "server/query_parser.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {
ParseStatus parse(std::vector<std::uint8_t> v) {
  ParsedQuery q;
  return parse_query(v.data(), v.size(), q);
}
std::vector<std::uint8_t> header(std::uint16_t flags, std::uint16_t qd, std::uint16_t an = 0, std::uint16_t ar = 0) {
  return {0x12, 0x34, std::uint8_t(flags >> 8), std::uint8_t(flags), 0, std::uint8_t(qd), 0, std::uint8_t(an),
          0, 0, 0, std::uint8_t(ar)};
}
void append(std::vector<std::uint8_t>& v, std::initializer_list<std::uint8_t> b) { v.insert(v.end(), b); }
}  // namespace

TEST_CASE("parser: a well-formed query parses with lower-cased name") {
  auto q = make_query("WwW.Example.COM.", LDNS_RR_TYPE_AAAA, 1232);
  ParsedQuery p;
  REQUIRE(parse_query(q.data(), q.size(), p) == ParseStatus::Ok);
  CHECK(std::string(reinterpret_cast<char*>(p.qname), p.qname_len) == std::string("\3www\7example\3com\0", 17));
  CHECK(p.qtype == 28);
  CHECK(p.edns);
  CHECK(p.edns_udp_size == 1232);
}

TEST_CASE("parser: short packets and responses are dropped") {
  CHECK(parse({1, 2, 3, 4, 5}) == ParseStatus::Drop);
  auto q = make_query("a.", LDNS_RR_TYPE_A, 0);
  q[2] |= 0x80;  // QR
  CHECK(parse(q) == ParseStatus::Drop);
}

TEST_CASE("parser: FORMERR cases") {
  CHECK(parse(header(0, 0)) == ParseStatus::FormErr);  // no question
  auto two = header(0, 2);
  append(two, {0, 0, 1, 0, 1, 0, 0, 1, 0, 1});
  CHECK(parse(two) == ParseStatus::FormErr);           // two questions
  auto trunc = header(0, 1);
  append(trunc, {3, 'w', 'w'});
  CHECK(parse(trunc) == ParseStatus::FormErr);         // name runs off the end
  auto longlabel = header(0, 1);
  append(longlabel, {0x40, 'a', 0, 0, 1, 0, 1});
  CHECK(parse(longlabel) == ParseStatus::FormErr);     // label type 01
  auto ptr = header(0, 1);
  append(ptr, {0xC0, 12, 0, 1, 0, 1});
  CHECK(parse(ptr) == ParseStatus::FormErr);           // compression in the question
  auto an = header(0, 1, 1);
  append(an, {0, 0, 1, 0, 1});
  CHECK(parse(an) == ParseStatus::FormErr);            // answers in a query
  auto twoopt = header(0, 1, 0, 2);
  append(twoopt, {0, 0, 1, 0, 1, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0});
  CHECK(parse(twoopt) == ParseStatus::FormErr);        // two OPT records
  auto badopt = header(0, 1, 0, 1);
  append(badopt, {0, 0, 1, 0, 1, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 4, 0, 3, 0, 9});
  CHECK(parse(badopt) == ParseStatus::FormErr);        // option length past rdata
}

TEST_CASE("parser: long names over 255 octets are FORMERR") {
  auto v = header(0, 1);
  for (int i = 0; i < 5; ++i) {
    v.push_back(63);
    v.insert(v.end(), 63, 'a');
  }
  append(v, {0, 0, 1, 0, 1});
  CHECK(parse(v) == ParseStatus::FormErr);
}

TEST_CASE("parser: other opcodes are NOTIMP, EDNS version 1 is BADVERS") {
  auto q = make_query("a.", LDNS_RR_TYPE_A, 0);
  q[2] |= 4 << 3;  // NOTIFY
  CHECK(parse(q) == ParseStatus::NotImp);
  auto e = make_query("a.", LDNS_RR_TYPE_A, 1232);
  e[e.size() - 5] = 1;  // OPT TTL's version byte
  CHECK(parse(e) == ParseStatus::BadVers);
}

TEST_CASE("parser: random bytes never crash the answer path") {
  auto set = zones_from_toml({kTestZone});
  std::mt19937 rng(42);
  static std::uint8_t out[kMaxMessage];
  WorkerState ws;
  int answered = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::uint8_t> v(rng() % 80);
    for (auto& b : v) b = static_cast<std::uint8_t>(rng());
    if (v.size() > 3 && (i & 1)) v[2] &= 0x07;  // make half look like plain queries
    if (answer_query(*set, {}, ws, v.data(), v.size(), Transport::Udp, out)) ++answered;
  }
  CHECK(answered > 0);
}
