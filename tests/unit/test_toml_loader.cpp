// The TOML zone loader: owner names, record values, SOA, and that every
// error is reported at its line.
#include <doctest/doctest.h>

#include <unistd.h>

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "zone_test_util.hpp"
#include "zones/name.hpp"
#include "zones/rdata.hpp"
#include "zones/toml_loader.hpp"

using namespace meridian;
using namespace meridian::test;
using namespace std::string_literals;

namespace {

// The apex NS points at ns1 inside the zone, which has no address yet.
const std::string kNoGlue = bare_zone("example.com.");

ZoneLoadResult load(const std::string& text, long long mtime = 0) {
  return load_toml_zone_text(text, "z.toml", mtime);
}

const RRset* rrset(const ZoneLoadResult& r, const std::string& owner, std::uint16_t type) {
  REQUIRE(r.zone);
  const Node* n = r.zone->find(lowered(wire(owner)));
  return n ? n->find(type) : nullptr;
}

std::uint32_t be32(const std::string& s, std::size_t off) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(s[off + i]);
  return v;
}

const char* kExample = R"(origin = "example.com."
ttl = 300

[soa]
mname = "ns1.example.com."
rname = "hostmaster@example.com"
serial = 2026112201
minimum = 120

[records."@"]
NS  = ["ns1", "ns2"]
MX  = ["10 mail", "20 mail.example.net."]
TXT = ["v=spf1 -all"]
CAA = '0 issue "letsencrypt.org"'

[records.ns1]
A = "192.0.2.1"

[records.ns2]
A = "192.0.2.2"

[records.www]
A    = ["192.0.2.10", "192.0.2.11"]
AAAA = { ttl = 60, values = ["2001:db8::10"] }

[records."*.apps"]
CNAME = "www"

[records._sip._tcp]
SRV = "10 60 5060 sip"

[records.api.A]
ttl = 30
values = ["192.0.2.20"]
)";

}  // namespace

TEST_CASE("toml loader: the example zone loads") {
  auto r = load(kExample);
  INFO(all_errors(r.errors));
  REQUIRE(r.errors.empty());
  REQUIRE(r.zone);
  CHECK(r.zone->origin_text == "example.com.");

  const RRset* a = rrset(r, "www", rrtype::A);
  REQUIRE(a);
  CHECK(a->rdata.size() == 2);
  CHECK(a->ttl == 300);
  CHECK(a->rdata[0] == "\xc0\x00\x02\x0a"s);

  const RRset* aaaa = rrset(r, "www", rrtype::AAAA);
  REQUIRE(aaaa);
  CHECK(aaaa->ttl == 60);

  const RRset* api = rrset(r, "api", rrtype::A);
  REQUIRE(api);
  CHECK(api->ttl == 30);
  CHECK(api->rdata == std::vector<std::string>{"\xc0\x00\x02\x14"s});

  const RRset* wild = rrset(r, "*.apps", rrtype::CNAME);
  REQUIRE(wild);
  CHECK(wild->rdata[0] == wire("www"));

  const RRset* ns = rrset(r, "@", rrtype::NS);
  REQUIRE(ns);
  CHECK(ns->rdata.size() == 2);
  CHECK(r.zone->record_count == 15);
}

TEST_CASE("toml loader: dotted headers and quoted keys name the same owner") {
  const std::string sip = "\x04_sip\x04_tcp\x07" "example\x03" "com\x00"s;
  for (const char* header : {"[records._sip._tcp]", "[records.\"_sip._tcp\"]"}) {
    auto r = load(kHead + header + "\nSRV = \"10 60 5060 ns1\"\n");
    INFO(header, all_errors(r.errors));
    REQUIRE(r.zone);
    const Node* n = r.zone->find(sip);
    REQUIRE(n);
    CHECK(n->name == sip);
    CHECK(n->find(rrtype::SRV));
  }
  // Mixed: a quoted key with a dot, then a nested key, joined in order.
  auto r = load(kHead + "[records.\"a.b\".c]\nA = \"192.0.2.7\"\n");
  REQUIRE(r.zone);
  CHECK(r.zone->find(lowered(wire("a.b.c"))) != nullptr);
  CHECK(r.zone->find(lowered(wire("c.a.b"))) == nullptr);
}

TEST_CASE("toml loader: absolute owner names inside the origin") {
  auto r = load(kHead + "[records.\"Mail.Example.com.\"]\nA = \"192.0.2.25\"\n");
  INFO(all_errors(r.errors));
  REQUIRE(r.zone);
  CHECK(r.zone->find(wire("mail")) != nullptr);
}

TEST_CASE("toml loader: SOA fields and serial and rname forms") {
  auto soa_of = [](const std::string& soa_table, long long mtime) {
    auto r = load("origin = \"example.com.\"\n[soa]\n" + soa_table +
                      "\n[records.\"@\"]\nNS = \"ns.example.net.\"\n",
                  mtime);
    INFO(all_errors(r.errors));
    REQUIRE(r.zone);
    return r.zone->soa();
  };
  SUBCASE("numeric serial and explicit timers") {
    const RRset soa = soa_of("mname = \"ns1\"\nrname = \"h\"\nserial = 2026112201\nrefresh = 7200\n"
                             "retry = 900\nexpire = 86400\nminimum = 60\nttl = 900",
                             1700000000);
    const std::string& rd = soa.rdata[0];
    CHECK(rd.substr(0, rd.size() - 20) == wire("ns1") + wire("h"));
    CHECK(be32(rd, rd.size() - 20) == 2026112201u);
    CHECK(be32(rd, rd.size() - 16) == 7200u);
    CHECK(be32(rd, rd.size() - 12) == 900u);
    CHECK(be32(rd, rd.size() - 8) == 86400u);
    CHECK(be32(rd, rd.size() - 4) == 60u);
    CHECK(soa.ttl == 900);
  }
  SUBCASE("auto serial is the mtime; defaults for timers and TTL") {
    const RRset soa = soa_of("mname = \"ns1\"\nrname = \"h\"\nserial = \"auto\"", 1700000000);
    const std::string& rd = soa.rdata[0];
    CHECK(be32(rd, rd.size() - 20) == 1700000000u);
    CHECK(be32(rd, rd.size() - 16) == 3600u);
    CHECK(be32(rd, rd.size() - 12) == 600u);
    CHECK(be32(rd, rd.size() - 8) == 1209600u);
    CHECK(be32(rd, rd.size() - 4) == 300u);
    CHECK(soa.ttl == 3600);  // the file default TTL
  }
  SUBCASE("rname as an e-mail address") {
    const RRset soa = soa_of("mname = \"ns1\"\nrname = \"john.doe@example.org\"\nserial = 1", 0);
    const std::string& rd = soa.rdata[0];
    CHECK(rd.substr(wire("ns1").size(), rd.size() - 20 - wire("ns1").size()) ==
          "\x08john.doe\x07" "example\x03" "org\x00"s);
  }
}

TEST_CASE("toml loader: the zone file's mtime feeds serial = auto") {
  auto path = std::filesystem::temp_directory_path() / ("meridian-test-auto-serial-" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream out(path);
    out << "origin = \"example.com.\"\n[soa]\nmname = \"ns.example.net.\"\nrname = \"h\"\n"
           "serial = \"auto\"\n[records.\"@\"]\nNS = \"ns.example.net.\"\n";
  }
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  auto r = load_toml_zone_file(path.string());
  std::filesystem::remove(path);
  INFO(all_errors(r.errors));
  REQUIRE(r.zone);
  CHECK(r.zone->serial == static_cast<std::uint32_t>(st.st_mtime));
  CHECK(r.zone->file == path.string());
}

TEST_CASE("toml loader: unquoted TXT with spaces is one string") {
  auto r = load(kHead + "[records.t]\nTXT = \"v=spf1 include:example.net -all\"\n");
  REQUIRE(r.zone);
  const RRset* txt = rrset(r, "t", rrtype::TXT);
  REQUIRE(txt);
  CHECK(txt->rdata == std::vector<std::string>{"\x1fv=spf1 include:example.net -all"s});
}

TEST_CASE("toml loader: quoted TXT is presentation format with several strings") {
  auto r = load(kHead + "[records.t]\nTXT = '\"one\" \"two\"'\n");
  REQUIRE(r.zone);
  CHECK(rrset(r, "t", rrtype::TXT)->rdata[0] == "\x03one\x03two"s);
}

TEST_CASE("toml loader: RFC 3597 type names are record types") {
  auto r = load(kHead + "[records.x]\nTYPE65534 = '\\# 2 0102'\n");
  INFO(all_errors(r.errors));
  REQUIRE(r.zone);
  const RRset* s = rrset(r, "x", 65534);
  REQUIRE(s);
  CHECK(s->rdata[0] == "\x01\x02"s);
}

TEST_CASE("toml loader: every error is reported at its line") {
  // Line numbers in the comments; kHead is lines 1-10.
  const std::string text = kHead +
                           "[records.www]\n"                                          // 11
                           "Foo = \"x\"\n"                                            // 12
                           "a = \"192.0.2.1\"\n"                                      // 13
                           "A = [\"192.0.2.1\", \"192.0.2.300\"]\n"                   // 14
                           "AAAA = { ttl = 2147483648, values = \"2001:db8::1\" }\n"  // 15
                           "MX = { values = \"10 mail\", weight = 1 }\n"              // 16
                           "TXT = { ttl = \"1h\", values = \"x\" }\n"                // 17
                           "ANY = \"x\"\n"                                            // 18
                           "SOA = \"x\"\n"                                            // 19
                           "[records.\"x.example.net.\"]\n"                           // 20
                           "A = \"192.0.2.1\"\n"                                      // 21
                           "[records.geo]\n"                                          // 22
                           "A = { policy = \"geo\", targets = [] }\n"                 // 23
                           "[records.www.aaaa]\n"                                     // 24
                           "values = [\"2001:db8::1\"]\n";                            // 25
  auto r = load(text);
  INFO(all_errors(r.errors));
  CHECK_FALSE(r.zone);
  CHECK(has_error(r.errors, 12, "unknown record type 'Foo' (record types are written in upper case"));
  CHECK(has_error(r.errors, 13, "unknown record type 'a'"));
  CHECK(has_error(r.errors, 13, "did you mean 'A'?"));
  CHECK(has_error(r.errors, 14, "bad A data '192.0.2.300'"));
  CHECK(has_error(r.errors, 15, "TTL out of range (0..2147483647)"));
  CHECK(has_error(r.errors, 16, "unknown key 'weight' in MX"));
  CHECK(has_error(r.errors, 17, "TTL must be an integer"));
  CHECK(has_error(r.errors, 18, "type ANY cannot appear in zone data"));
  CHECK(has_error(r.errors, 19, "SOA record is written in the [soa] table"));
  CHECK(has_error(r.errors, 21, "owner 'x.example.net.' is outside the zone origin example.com."));
  CHECK(has_error(r.errors, 23, "policy 'geo' is not supported yet"));
  CHECK(has_error(r.errors, 23, "'targets' is empty"));
  CHECK(has_error(r.errors, 25, "did you mean the record type 'AAAA'?"));
  CHECK(r.errors.size() == 12);
  // Reported in file order, with the column of the offending value.
  for (std::size_t i = 1; i < r.errors.size(); ++i) CHECK(r.errors[i - 1].loc.line <= r.errors[i].loc.line);
  CHECK(r.errors[2].loc.col == 19);  // the second element of the A array
  CHECK(r.errors[0].loc.file == "z.toml");
}

TEST_CASE("toml loader: top-level and [soa] problems") {
  const std::string text = "ttl = -1\n"              // 1
                           "serials = 5\n"           // 2
                           "checks = {}\n"           // 3
                           "pools = 1\n"             // 4
                           "[soa]\n"                 // 5
                           "rname = \"h\"\n"         // 6
                           "serial = \"today\"\n"    // 7
                           "refresh = 4294967296\n"; // 8
  auto r = load(text);
  INFO(all_errors(r.errors));
  CHECK_FALSE(r.zone);
  CHECK(has_error(r.errors, 1, "missing 'origin'"));
  CHECK(has_error(r.errors, 1, "TTL out of range"));
  CHECK(has_error(r.errors, 2, "unknown top-level key 'serials'"));
  CHECK(has_error(r.errors, 4, "'pools' must be a table"));  // line 3, checks = {}, is valid
  CHECK(has_error(r.errors, 5, "[soa] is missing 'mname'"));
  CHECK(has_error(r.errors, 7, "serial must be a number or \"auto\""));
  CHECK(has_error(r.errors, 8, "'refresh' must be an integer from 0 to 4294967295"));
  CHECK(r.errors.size() == 7);  // no zone-level errors without an origin
}

TEST_CASE("toml loader: origin must be absolute") {
  auto r = load("origin = \"example.com\"\n");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].loc.line == 1);
  CHECK(r.errors[0].message.find("must be an absolute name") != std::string::npos);
}

TEST_CASE("toml loader: TOML syntax errors give the line") {
  auto r = load("origin = \"example.com.\"\n[records.www]\nA = = \"192.0.2.1\"\n");
  REQUIRE(r.errors.size() == 1);
  CHECK_FALSE(r.zone);
  CHECK(r.errors[0].loc.file == "z.toml");
  CHECK(r.errors[0].loc.line == 3);
  CHECK(r.errors[0].loc.col == 5);
  CHECK_FALSE(r.errors[0].message.empty());
}

TEST_CASE("toml loader: unreadable file") {
  auto r = load_toml_zone_file("/nonexistent/meridian/zone.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].str() == "/nonexistent/meridian/zone.toml: cannot read file: No such file or directory");
}

TEST_CASE("toml loader: zone-level checks run after loading") {
  SUBCASE("missing SOA") {
    auto r = load("origin = \"example.com.\"\n[records.\"@\"]\nNS = \"ns.example.net.\"\n");
    CHECK_FALSE(r.zone);
    CHECK(all_errors(r.errors).find("missing SOA") != std::string::npos);
  }
  SUBCASE("no apex NS") {
    auto r = load("origin = \"example.com.\"\n[soa]\nmname = \"ns\"\nrname = \"h\"\nserial = 1\n");
    CHECK(all_errors(r.errors).find("no NS records at the zone apex") != std::string::npos);
  }
  SUBCASE("CNAME beside other data, at the CNAME value") {
    auto r = load(kHead + "[records.w]\nA = \"192.0.2.9\"\nCNAME = \"ns1\"\n");
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].loc.line == 13);
    CHECK(r.errors[0].loc.col == 9);
    CHECK(r.errors[0].message.find("CNAME") != std::string::npos);
  }
  SUBCASE("in-zone NS target without addresses") {
    auto r = load(kNoGlue);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].loc.line == 7);
    CHECK(r.errors[0].message.find("has no address records") != std::string::npos);
  }
  SUBCASE("loader and zone errors together") {
    auto r = load(kNoGlue + "[records.ns1]\nA = \"192.0.2.999\"\n");
    CHECK(r.errors.size() == 2);
    CHECK(has_error(r.errors, 9, "bad A data"));
    CHECK(has_error(r.errors, 7, "has no address records"));
  }
}

TEST_CASE("toml loader: the three-errors fixture reports exactly three errors") {
  auto r = load_toml_zone_file(MERIDIAN_SOURCE_DIR "/tests/fixtures/bad-zone/three-errors.toml");
  INFO(all_errors(r.errors));
  CHECK_FALSE(r.zone);
  REQUIRE(r.errors.size() == 3);
  CHECK(r.errors[0].loc.line == 15);
  CHECK(r.errors[0].message.find("unknown record type 'SPFX'") != std::string::npos);
  CHECK(r.errors[1].loc.line == 24);
  CHECK(r.errors[1].message.find("bad A data '192.0.2.256'") != std::string::npos);
  CHECK(r.errors[2].loc.line == 28);
  CHECK(r.errors[2].message.find("CNAME") != std::string::npos);
}
