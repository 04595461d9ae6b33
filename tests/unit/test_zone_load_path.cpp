// The fast zone-load path (zones/toml_records_scan.*, zones/rdata_fast.*):
// it must compile exactly the zone the toml++ tree path compiles, give the
// same diagnostics (file:line:col) for broken files, and hand everything
// outside its subset to the tree path.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "zone_test_util.hpp"
#include "zones/name.hpp"
#include "zones/radix_sort.hpp"
#include "zones/rdata.hpp"
#include "zones/rdata_fast.hpp"
#include "zones/toml_loader.hpp"
#include "zones/toml_records_scan.hpp"
#include "zones/zone_builder.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

// Everything a query can observe of a zone, as text, in name order.
std::string dump(const Zone& z) {
  std::ostringstream o;
  o << z.origin_text << " serial " << z.serial << " neg " << z.negative_ttl << " records " << z.record_count
    << " nodes " << z.nodes.size() << " index " << z.index.size() << "\n";
  std::vector<const Node*> nodes;
  for (const auto& n : z.nodes) nodes.push_back(&n);
  std::sort(nodes.begin(), nodes.end(), [](const Node* a, const Node* b) { return a->name < b->name; });
  auto name_of = [&](std::int32_t i) { return i < 0 ? std::string("-") : name_to_text(z.nodes[i].name); };
  for (const Node* n : nodes) {
    REQUIRE(z.find(n->name) == n);
    o << name_to_text(n->name) << " cover " << name_of(n->cover) << " cut " << n->is_cut << " dname " << n->has_dname
      << "\n";
    for (const auto& rs : n->rrsets) {
      o << "  " << rr_type_name(rs.type) << " ttl " << rs.ttl << " policy " << (rs.policy != nullptr) << "\n";
      for (std::size_t i = 0; i < rs.rdata.size(); ++i) {
        o << "    " << hex(rs.rdata[i]);
        if (i < rs.target_nodes.size()) o << " -> " << name_of(rs.target_nodes[i]);
        o << "\n";
      }
    }
  }
  return o.str();
}

ZoneLoadResult load(const std::string& text, bool tree_only) {
  ZoneLoadOptions opts;
  opts.tree_only = tree_only;
  return load_toml_zone_text(text, "zone.toml", 0, opts);
}

// Loads `text` both ways; requires equal results and returns the fast one.
ZoneLoadResult both_ways(const std::string& text) {
  ZoneLoadResult fast = load(text, false), tree = load(text, true);
  CHECK_FALSE(tree.streamed);
  INFO("fast path errors:\n" << all_errors(fast.errors) << "tree path errors:\n" << all_errors(tree.errors));
  REQUIRE(bool(fast.zone) == bool(tree.zone));
  CHECK(all_errors(fast.errors) == all_errors(tree.errors));
  if (fast.zone) CHECK(dump(*fast.zone) == dump(*tree.zone));
  return fast;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void same_rdata(std::uint16_t type, const std::string& text, bool must_be_fast) {
  std::string fast_wire, ldns_wire, err;
  const bool fast = rdata_from_text_fast(type, text, kOrigin, fast_wire);
  const bool ldns = rdata_from_text(type, text, kOrigin, ldns_wire, err);
  INFO(rr_type_name(type) << " '" << text << "' ldns: " << (ldns ? hex(ldns_wire) : err));
  if (must_be_fast) CHECK(fast);
  if (fast) {
    CHECK(ldns);  // the fast path never accepts what ldns rejects
    CHECK(hex(fast_wire) == hex(ldns_wire));
  }
}

}  // namespace

TEST_CASE("fast rdata: the same wire as ldns for the forms it takes") {
  using namespace rrtype;
  for (const char* a : {"192.0.2.1", "0.0.0.0", "255.255.255.255", " 10.1.2.3 ", "10.1.2.3\t"})
    same_rdata(A, a, true);
  for (const char* a : {"2001:db8::1", "::", "::ffff:192.0.2.1", "2001:DB8:0:0:0:0:0:AB", "fe80::1:2:3:4"})
    same_rdata(AAAA, a, true);
  for (const char* n : {"www", "www.example.net.", ".", "a-b_c.d", "WWW.Example.COM.", "x"})
    for (std::uint16_t t : {CNAME, NS, PTR, DNAME}) same_rdata(t, n, true);
  for (const char* mx : {"10 mail", "0 .", "65535 mx.example.net.", "010\t\tmail", "5 MAIL.example.com."})
    same_rdata(MX, mx, true);
  for (const char* txt : {"v=spf1 -all", "a;b(c)d\\e\"f", "  spaces  inside  ", "x", "#not a comment"})
    for (std::uint16_t t : {TXT, SPF}) same_rdata(t, txt, true);
  same_rdata(TXT, std::string(700, 'q'), true);  // three character-strings
  // Printable ASCII at random, against ldns.
  std::mt19937 rng(1234);
  for (int i = 0; i < 300; ++i) {
    std::string s(1 + rng() % 300, ' ');
    for (auto& c : s) c = static_cast<char>(0x20 + rng() % 95);
    same_rdata(TXT, s, false);
  }
  // Forms left to ldns (not handled, or invalid): the fast path declines.
  for (auto [type, text] : std::vector<std::pair<std::uint16_t, std::string>>{
           {A, "1.2.3"}, {A, "1.2.3.256"}, {A, "\\# 4 01020304"}, {A, "1.2.3.4 5"}, {AAAA, "1::2::3"},
           {CNAME, "a..b"}, {CNAME, "@"}, {CNAME, "w\\.x"}, {CNAME, std::string(64, 'a')}, {MX, "mail"},
           {MX, "65536 mail"}, {MX, "10"}, {TXT, "\"quoted\""}, {TXT, ""}, {TXT, "caf\xc3\xa9"}, {SRV, "1 2 3 x"}}) {
    std::string w;
    INFO(rr_type_name(type) << " '" << text << "'");
    CHECK_FALSE(rdata_from_text_fast(type, text, kOrigin, w));
  }
}

TEST_CASE("fast path: plain zones load streamed, equal to the tree path") {
  std::string text = kHead +
                     "# a comment line\n"
                     "[records.www]   # comment after a header\n"
                     "A = [\"192.0.2.10\", \"192.0.2.11\" , \"192.0.2.10\"]  # a duplicate is one record\n"
                     "AAAA = '2001:db8::10'\n"
                     "TXT = \"v=spf1 -all\"\n"
                     "\n"
                     "[ records . \"_sip._tcp\" ]\r\n"
                     "SRV = \"10 60 5060 sip\"\r\n"
                     "[records.sip]\n"
                     "A = \"192.0.2.60\"\n"
                     "[records.'*.apps']\n"
                     "CNAME = \"www\"\n"
                     "[records.sub]\n"
                     "NS = \"ns.sub\"\n"
                     "[records.ns.sub]\n"
                     "A = \"192.0.2.100\"\n"
                     "[records.deep.a.b]\n"
                     "MX = \"10 www\"\n"
                     "[records.dn]\n"
                     "DNAME = \"example.net.\"\n"
                     "[records.caa]\n"
                     "CAA = '0 issue \"letsencrypt.org\"'\n";
  for (int i = 0; i < 2000; ++i)
    text += "[records.h" + std::to_string(i) + "]\n" + (i % 3 ? "A" : "AAAA") + " = \"" +
            (i % 3 ? "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256)
                   : "2001:db8::" + std::to_string(i)) +
            "\"\n";
  auto r = both_ways(text);
  REQUIRE(r.zone);
  CHECK(r.streamed);
  CHECK(r.zone->record_count == 2015);  // 3 in kHead, 12 above (one duplicate), 2000 hosts
  const Node* www = r.zone->find(lowered(wire("www")));
  REQUIRE(www);
  CHECK(www->find(rrtype::A)->rdata.size() == 2);
  CHECK(www->find(rrtype::A)->target_nodes.empty());  // no additional targets for A
  const Node* deep = r.zone->find(lowered(wire("deep.a.b")));
  REQUIRE(deep);
  REQUIRE(deep->find(rrtype::MX)->target_nodes.size() == 1);
  CHECK(deep->find(rrtype::MX)->target_nodes[0] == static_cast<std::int32_t>(www - r.zone->nodes.data()));
  CHECK(r.zone->find(lowered(wire("a.b"))));  // empty non-terminal
}

TEST_CASE("fast path: the example zones and the tree path agree") {
  for (const char* f : {"/examples/zones/example.com.toml", "/examples/zones/example.net.toml"}) {
    INFO(f);
    both_ways(read_file(std::string(MERIDIAN_SOURCE_DIR) + f));
  }
}

TEST_CASE("fast path: forms outside the subset go to the tree path, with the same result") {
  // Each is valid and loads, but is not the plain form (or would order
  // records differently in the tree path): not streamed, equal zones.
  for (const std::string& tail : std::vector<std::string>{
           "[records.www]\nA = { ttl = 60, values = [\"192.0.2.1\"] }\n",
           "[records.www]\nA = [\n  \"192.0.2.1\",\n  \"192.0.2.2\",\n]\n",
           "[records.www]\nTXT = \"caf\\u00e9\"\n",
           "[records.www.A]\nvalues = [\"192.0.2.1\"]\n",
           "[records]\nwww.A = \"192.0.2.1\"\n",
           "[records.\"a.b\"]\nA = \"192.0.2.1\"\n[records.a.b]\nA = \"192.0.2.2\"\n",
           "[records.WWW]\nA = \"192.0.2.1\"\n[records.www]\nA = \"192.0.2.2\"\n",
           "[records.www]\nA = \"192.0.2.1\"\n[checks.after-records]\nstate = \"up\"\n",
           "[records.www]\nTXT = \"\"\"multi\"\"\"\n",
       }) {
    INFO(tail);
    auto r = both_ways(kHead + tail);
    CHECK(r.zone);
    CHECK_FALSE(r.streamed);
  }
}

TEST_CASE("fast path: broken files get the tree path's diagnostics, with file:line:col") {
  struct Case {
    std::string tail;
    std::uint32_t line;
    std::string text;
  };
  // kHead is lines 1-10.
  for (const Case& c : std::vector<Case>{
           {"[records.www]\nA = \"192.0.2.300\"\n", 12, "bad A data"},
           {"[records.www]\nA = \"192.0.2.1\"\nA = \"192.0.2.2\"\n", 13, ""},
           {"[records.www]\nA = \"192.0.2.1\"\n[records.www]\nAAAA = \"::1\"\n", 13, ""},
           {"[records.www]\nCNAME = \"x\"\nA = \"192.0.2.1\"\n", 12, "CNAME cannot coexist"},
           {"[records.www]\nA = []\n", 12, "has no values"},
           {"[records.www]\nMX = \"mail\"\n", 12, "bad MX data"},
           {"[records.www]\nFOO = \"x\"\n", 12, "unknown record type 'FOO'"},
           {"[records.www]\na = \"192.0.2.1\"\n", 12, "did you mean 'A'"},
           {"[records.\"a..b\"]\nA = \"192.0.2.1\"\n", 12, "invalid owner name"},
           {"[records.sub]\nNS = \"ns.sub\"\n", 12, "has no address records"},
           {"[records.\"www.example.org.\"]\nA = \"192.0.2.1\"\n", 12, "outside the zone origin"},
           {"[records.www]\nA = \"192.0.2.1\"\n[records.www.x]\nTXT = \"ok\"\n[records.x]\nA = \"1.2.3.4\n", 16, ""},
       }) {
    INFO(c.tail);
    auto r = both_ways(kHead + c.tail);
    CHECK_FALSE(r.zone);
    CHECK_FALSE(r.streamed);
    CHECK(has_error(r.errors, c.line, c.text, {"zone.toml"}));
  }
}

TEST_CASE("records scanner: finds the region and stops at anything outside the plain form") {
  CHECK(find_records_region("origin = \"x.\"\n[soa]\n[records.a]\n") == 20);
  CHECK(find_records_region("  [ records.a]\n") == 0);
  CHECK(find_records_region("[soa]\nx = 1\n") == std::string_view::npos);

  struct Count : RecordsScanSink {
    int tables = 0, keys = 0, values = 0;
    std::vector<std::string> seen;
    bool table(const std::vector<std::string_view>& k, std::uint32_t line) override {
      ++tables;
      seen.push_back(std::to_string(line) + ":" + std::string(k.back()));
      return true;
    }
    bool key(std::string_view, std::uint32_t, std::uint32_t) override { return ++keys, true; }
    bool value(std::string_view k, std::string_view v, std::uint32_t line, std::uint32_t col) override {
      ++values;
      seen.push_back(std::to_string(line) + ":" + std::to_string(col) + ":" + std::string(k) + "=" + std::string(v));
      return true;
    }
  };
  Count ok;
  CHECK(scan_records_region("[records.a]\nA = [\"1\", '2']\n\n# c\n[records.\"b.c\"] # x\nTXT = \"t\"", 5, ok));
  CHECK(ok.seen == std::vector<std::string>{"5:a", "6:6:A=1", "6:11:A=2", "9:b.c", "10:7:TXT=t"});
  for (const char* bad : {"[[records.a]]\n", "[records]\n", "[soa]\n", "[records.a]\nA.B = \"x\"\n",
                          "[records.a]\nA = \"x\\\"\"\n", "[records.a]\nA = [\"x\",]\n", "[records.a]\nA = 1\n",
                          "[records.a]\nA = \"x\" y\n", "[records.a]\n\"A\" = \"x\"\n", "[records.a]\nA = \"\xc3\xa9\"\n",
                          "[records.a]\nA = \"x\"\r\r\n", "[records.a]\nA = '''x'''\n"}) {
    Count c;
    INFO(bad);
    CHECK_FALSE(scan_records_region(bad, 1, c));
  }
}

TEST_CASE("radix sort: the order of a stable sort by key") {
  std::mt19937_64 rng(99);
  for (std::size_t n : {0u, 1u, 2u, 1000u, 70000u}) {
    std::vector<std::pair<std::uint64_t, std::uint32_t>> v;
    for (std::uint32_t i = 0; i < n; ++i) {
      // Few distinct high digits and many ties, as name prefixes have.
      const std::uint64_t k = (rng() % 5) << 60 | (rng() % 3) << 20 | (rng() % 2);
      v.emplace_back(k, i);
    }
    auto want = v;
    std::stable_sort(want.begin(), want.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    radix_sort(v);
    CHECK(v == want);
  }
}

TEST_CASE("zone builder: add_rrset gives the zone add() gives, and refuses an RRset twice") {
  const std::string origin = wire("example.com.") ;
  auto soa = [&] {
    std::string w = wire("ns1.example.com.") + wire("h.example.com.");
    w.append(20, '\0');
    return w;
  };
  auto a = [](const char* text) {
    std::string w, err;
    REQUIRE(rdata_from_text(rrtype::A, text, {}, w, err));
    return w;
  };
  auto base = [&](ZoneBuilder& b) {
    b.add({origin, rrtype::SOA, 300, soa(), {"t", 1, 1}});
    b.add({origin, rrtype::NS, 300, wire("ns.example.net."), {"t", 2, 1}});
  };
  ZoneBuilder one(origin, "t"), bulk(origin, "t");
  base(one);
  base(bulk);
  for (int i = 0; i < 300; ++i) {
    const std::string owner = lowered(wire("h" + std::to_string(i * 7919 % 300) + ".x"));
    const std::string v1 = "10.0.0." + std::to_string(i % 250), v2 = "10.0.1." + std::to_string(i % 250);
    one.add({owner, rrtype::A, 60, a(v1.c_str()), {"t", 3, 1}});
    one.add({owner, rrtype::A, 60, a(v2.c_str()), {"t", 3, 1}});
    bulk.add_rrset(owner, rrtype::A, 60, {a(v1.c_str()), a(v2.c_str())}, {"t", 3, 1});
  }
  Diagnostics e1, e2;
  auto z1 = one.build(e1), z2 = bulk.build(e2);
  REQUIRE(z1);
  REQUIRE(z2);
  CHECK(dump(*z1) == dump(*z2));
  CHECK(z2->find(lowered(wire("x"))));  // the empty non-terminal above every owner

  ZoneBuilder twice(origin, "t");
  base(twice);
  twice.add_rrset(lowered(wire("www")), rrtype::A, 60, {a("192.0.2.1")}, {"t", 7, 1});
  twice.add_rrset(lowered(wire("www")), rrtype::A, 60, {a("192.0.2.2")}, {"t", 9, 1});
  twice.add_rrset(lowered(wire("@")), rrtype::NS, 60, {wire("ns.example.org.")}, {"t", 11, 1});
  Diagnostics e3;
  CHECK_FALSE(twice.build(e3));
  CHECK(has_error(e3, 9, "www.example.com. A: RRset given twice"));
  CHECK(has_error(e3, 11, "example.com. NS: RRset given twice"));
}
