// The query path in-process: query bytes in, response bytes out, parsed by
// ldns. End-to-end tests repeat the important cases through real sockets.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "dns_test_util.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {
const ZoneSet& zs() {
  static ZoneSetPtr z = zones_from_toml({kTestZone});
  return *z;
}
bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}
}  // namespace

TEST_CASE("answer: positive answer is authoritative, echoes ID and RD") {
  auto p = ask(zs(), make_query("www.example.com.", LDNS_RR_TYPE_A, 1232, true));
  REQUIRE(p);
  CHECK(ldns_pkt_id(p.get()) == 0x1234);
  CHECK(ldns_pkt_qr(p.get()));
  CHECK(ldns_pkt_aa(p.get()));
  CHECK(ldns_pkt_rd(p.get()));
  CHECK_FALSE(ldns_pkt_ra(p.get()));
  CHECK(ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_NOERROR);
  auto an = section(p.get(), LDNS_SECTION_ANSWER);
  CHECK(std::set<std::string>(an.begin(), an.end()) ==
        std::set<std::string>{"www.example.com. 300 IN A 192.0.2.10", "www.example.com. 300 IN A 192.0.2.11",
                              "www.example.com. 300 IN A 192.0.2.12"});
}

TEST_CASE("answer: NXDOMAIN and NODATA carry SOA with min(SOA TTL, minimum)") {
  auto nx = ask(zs(), "nope.example.com.", LDNS_RR_TYPE_A);
  CHECK(ldns_pkt_get_rcode(nx.get()) == LDNS_RCODE_NXDOMAIN);
  auto auth = section(nx.get(), LDNS_SECTION_AUTHORITY);
  REQUIRE(auth.size() == 1);
  CHECK(auth[0].rfind("example.com. 60 IN SOA ns1.example.com. hostmaster.example.com. 7 ", 0) == 0);

  auto nodata = ask(zs(), "www.example.com.", LDNS_RR_TYPE_TXT);
  CHECK(ldns_pkt_get_rcode(nodata.get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_ancount(nodata.get()) == 0);
  CHECK(ldns_pkt_nscount(nodata.get()) == 1);
}

TEST_CASE("answer: CNAME chain is followed and loops terminate") {
  auto p = ask(zs(), "alias.example.com.", LDNS_RR_TYPE_A);
  auto an = section(p.get(), LDNS_SECTION_ANSWER);
  REQUIRE(an.size() == 4);
  CHECK(an[0] == "alias.example.com. 300 IN CNAME www.example.com.");

  auto l = ask(zs(), "loop1.example.com.", LDNS_RR_TYPE_A);
  REQUIRE(l);
  CHECK(ldns_pkt_get_rcode(l.get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_ancount(l.get()) >= 2);
  CHECK(ldns_pkt_ancount(l.get()) <= 10);
}

TEST_CASE("answer: wildcard synthesis, ENT blocks it, below ENT is NXDOMAIN") {
  auto w = ask(zs(), "foo.wild.example.com.", LDNS_RR_TYPE_A);
  CHECK(section(w.get(), LDNS_SECTION_ANSWER) == std::vector<std::string>{"foo.wild.example.com. 300 IN A 192.0.2.80"});

  auto ent = ask(zs(), "ent.wild.example.com.", LDNS_RR_TYPE_A);
  CHECK(ldns_pkt_get_rcode(ent.get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_ancount(ent.get()) == 0);
  CHECK(ldns_pkt_nscount(ent.get()) == 1);

  auto below = ask(zs(), "x.ent.wild.example.com.", LDNS_RR_TYPE_A);
  CHECK(ldns_pkt_get_rcode(below.get()) == LDNS_RCODE_NXDOMAIN);
}

TEST_CASE("answer: delegation gives a referral with glue and no AA; DS from the parent") {
  auto r = ask(zs(), "www.sub.example.com.", LDNS_RR_TYPE_A);
  CHECK_FALSE(ldns_pkt_aa(r.get()));
  CHECK(ldns_pkt_ancount(r.get()) == 0);
  CHECK(section(r.get(), LDNS_SECTION_AUTHORITY) == std::vector<std::string>{"sub.example.com. 300 IN NS ns.sub.example.com."});
  CHECK(contains(section(r.get(), LDNS_SECTION_ADDITIONAL), "ns.sub.example.com. 300 IN A 192.0.2.53"));

  auto at_cut = ask(zs(), "sub.example.com.", LDNS_RR_TYPE_A);
  CHECK_FALSE(ldns_pkt_aa(at_cut.get()));
  CHECK(ldns_pkt_nscount(at_cut.get()) == 1);

  auto ds = ask(zs(), "sub.example.com.", LDNS_RR_TYPE_DS);
  CHECK(ldns_pkt_aa(ds.get()));
  REQUIRE(ldns_pkt_ancount(ds.get()) == 1);
}

TEST_CASE("answer: DNAME synthesizes a CNAME and follows it") {
  auto p = ask(zs(), "www.old.example.com.", LDNS_RR_TYPE_A);
  auto an = section(p.get(), LDNS_SECTION_ANSWER);
  REQUIRE(an.size() == 5);
  CHECK(an[0] == "old.example.com. 300 IN DNAME example.com.");
  CHECK(an[1] == "www.old.example.com. 300 IN CNAME www.example.com.");
}

TEST_CASE("answer: MX targets' addresses go in the additional section") {
  auto p = ask(zs(), "example.com.", LDNS_RR_TYPE_MX);
  auto ad = section(p.get(), LDNS_SECTION_ADDITIONAL);
  CHECK(contains(ad, "mail.example.com. 300 IN A 192.0.2.25"));
  CHECK(contains(ad, "mail.example.com. 300 IN AAAA 2001:db8::25"));
}

TEST_CASE("answer: names outside every zone are REFUSED without AA") {
  auto p = ask(zs(), "www.example.org.", LDNS_RR_TYPE_A);
  CHECK(ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_REFUSED);
  CHECK_FALSE(ldns_pkt_aa(p.get()));
}

TEST_CASE("answer: ANY over UDP is one RRset (RFC 8482), over TCP the whole node") {
  auto udp = ask(zs(), make_query("example.com.", LDNS_RR_TYPE_ANY), Transport::Udp);
  auto tcp = ask(zs(), make_query("example.com.", LDNS_RR_TYPE_ANY), Transport::Tcp);
  ldns_rr_list* l = ldns_pkt_answer(udp.get());
  REQUIRE(ldns_rr_list_rr_count(l) >= 1);
  std::set<int> types;
  for (size_t i = 0; i < ldns_rr_list_rr_count(l); ++i) types.insert(ldns_rr_get_type(ldns_rr_list_rr(l, i)));
  CHECK(types.size() == 1);
  CHECK(ldns_pkt_ancount(tcp.get()) == 4);  // the apex: NS x2, SOA, MX
}

TEST_CASE("answer: round robin rotates the order between responses") {
  WorkerState ws;
  static std::uint8_t out[kMaxMessage];
  auto q = make_query("www.example.com.", LDNS_RR_TYPE_A);
  std::set<std::string> firsts;
  for (int i = 0; i < 3; ++i) {
    std::size_t n = answer_query(zs(), {}, ws, q.data(), q.size(), Transport::Udp, out);
    ldns_pkt* p = nullptr;
    REQUIRE(ldns_wire2pkt(&p, out, n) == LDNS_STATUS_OK);
    Pkt hold(p);
    firsts.insert(section(p, LDNS_SECTION_ANSWER).at(0));
  }
  CHECK(firsts.size() == 3);
}

TEST_CASE("answer: truncation keeps whole RRsets and sets TC") {
  std::string big = R"(
origin = "big.test."
[soa]
mname = "ns"
rname = "h"
serial = 1
[records."@"]
NS = "ns"
[records.ns]
A = "192.0.2.1"
[records.t]
TXT = [)";
  for (int i = 0; i < 8; ++i) big += "\"" + std::string(200, char('a' + i)) + "\",";
  big += "]\n";
  auto set = zones_from_toml({big});
  auto no_edns = ask(*set, make_query("t.big.test.", LDNS_RR_TYPE_TXT, 0));
  CHECK(ldns_pkt_tc(no_edns.get()));
  CHECK(ldns_pkt_ancount(no_edns.get()) == 0);
  auto edns = ask(*set, make_query("t.big.test.", LDNS_RR_TYPE_TXT, 4096));
  CHECK(ldns_pkt_tc(edns.get()));   // our 1232 caps the client's 4096
  CHECK(ldns_pkt_edns(edns.get()));  // OPT still present when truncated
  auto tcp = ask(*set, make_query("t.big.test.", LDNS_RR_TYPE_TXT, 0), Transport::Tcp);
  CHECK_FALSE(ldns_pkt_tc(tcp.get()));
  CHECK(ldns_pkt_ancount(tcp.get()) == 8);
}

TEST_CASE("answer: EDNS payload, BADVERS, DO copied, NSID") {
  auto q = make_query("www.example.com.", LDNS_RR_TYPE_A, 4096);
  auto p = ask(zs(), q);
  CHECK(ldns_pkt_edns(p.get()));
  CHECK(ldns_pkt_edns_udp_size(p.get()) == 1232);

  // The OPT record ends the query: TTL bytes are ext-rcode, version, flags
  // (5, 4 and 3 bytes from the end before the 2-byte RDLENGTH).
  auto v1 = q;
  v1[v1.size() - 5] = 1;
  auto bad = ask(zs(), v1);
  CHECK(ldns_pkt_edns_extended_rcode(bad.get()) == 1);  // BADVERS = 16 = ext 1, rcode 0
  CHECK(ldns_pkt_get_rcode(bad.get()) == 0);
  CHECK(ldns_pkt_edns_version(bad.get()) == 0);
  CHECK(ldns_pkt_ancount(bad.get()) == 0);

  auto d = q;
  d[d.size() - 4] = 0x80;  // DO bit
  CHECK(ldns_pkt_edns_do(ask(zs(), d).get()));
}

TEST_CASE("answer: CHAOS identity only when configured") {
  AnswerConfig cfg;
  cfg.identity = "ns1-test";
  auto q = make_query("id.server.", LDNS_RR_TYPE_TXT, 0, false, LDNS_RR_CLASS_CH);
  auto p = ask(zs(), q, Transport::Udp, cfg);
  REQUIRE(ldns_pkt_ancount(p.get()) == 1);
  CHECK(section(p.get(), LDNS_SECTION_ANSWER)[0] == "id.server. 0 CH TXT \"ns1-test\"");
  auto v = ask(zs(), make_query("version.bind.", LDNS_RR_TYPE_TXT, 0, false, LDNS_RR_CLASS_CH), Transport::Udp, cfg);
  CHECK(ldns_pkt_get_rcode(v.get()) == LDNS_RCODE_REFUSED);
}
