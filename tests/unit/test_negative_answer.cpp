// Negative answers carry the zone's SOA (RFC 2308). For a query name of the
// zone the assembler writes it from what was precomputed at load (owner,
// MNAME and RNAME pointing at the origin's copy in the question); these
// cases check, through ldns, that every shape decodes to the SOA as written.
#include <doctest/doctest.h>

#include <cctype>
#include <string>
#include <vector>

#include "dns_test_util.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {

std::string soa_of(const ZoneSet& zs, const std::string& name, ldns_rr_type type, ldns_pkt_rcode want) {
  auto p = ask(zs, name, type);
  REQUIRE(p);
  CHECK(ldns_pkt_get_rcode(p.get()) == want);
  const auto auth = section(p.get(), LDNS_SECTION_AUTHORITY);
  REQUIRE(auth.size() == 1);
  // Names compare without case: the owner points into the question, so it
  // reads in the query's letter case (as it did before the precomputation).
  std::string lower = auth[0];
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

std::string zone(const std::string& origin, const std::string& mname, const std::string& rname) {
  return "origin = \"" + origin + "\"\nttl = 300\n[soa]\nmname = \"" + mname + "\"\nrname = \"" + rname +
         "\"\nserial = 9\nminimum = 60\n[records.\"@\"]\nNS = \"ns1\"\n[records.ns1]\nA = \"192.0.2.1\"\n"
         "[records.www]\nA = \"192.0.2.2\"\n[records.out]\nCNAME = \"nothing.other.test.\"\n";
}

}  // namespace

TEST_CASE("negative answers: the SOA decodes as written, whatever the names and the query's case") {
  const auto zs = zones_from_toml({zone("example.com.", "ns1", "hostmaster"),
                                   zone("example.org.", "ns.provider.net.", "ops.Provider.NET."),
                                   zone("other.test.", "@", "root.other.test."), zone(".", "a.root", "nstld.root")});
  const std::string soa_com = "example.com. 60 in soa ns1.example.com. hostmaster.example.com. 9 ";
  CHECK(soa_of(*zs, "nope.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN).rfind(soa_com, 0) == 0);
  CHECK(soa_of(*zs, "A.Deep.NOPE.Example.COM.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN).rfind(soa_com, 0) == 0);
  CHECK(soa_of(*zs, "www.example.com.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR).rfind(soa_com, 0) == 0);  // NODATA
  CHECK(soa_of(*zs, "example.com.", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR).rfind(soa_com, 0) == 0);      // at the apex

  // MNAME and RNAME outside the zone: written in full.
  CHECK(soa_of(*zs, "nope.example.org.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN)
            .rfind("example.org. 60 in soa ns.provider.net. ops.provider.net. 9 ", 0) == 0);
  // MNAME the origin itself (no labels above it).
  CHECK(soa_of(*zs, "nope.other.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN)
            .rfind("other.test. 60 in soa other.test. root.other.test. 9 ", 0) == 0);
  // The root zone: the origin is the question's last octet.
  CHECK(soa_of(*zs, "nope.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN).rfind(". 60 in soa a.root. nstld.root. 9 ", 0) == 0);

  // A CNAME into another zone that has no such name: that zone's SOA, not
  // the question's zone (the general writer, as the origin is not in the question).
  auto p = ask(*zs, "out.example.com.", LDNS_RR_TYPE_A);
  REQUIRE(p);
  CHECK(ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_NXDOMAIN);
  const auto auth = section(p.get(), LDNS_SECTION_AUTHORITY);
  REQUIRE(auth.size() == 1);
  CHECK(auth[0].rfind("other.test. 60 IN SOA other.test. root.other.test. 9 ", 0) == 0);
}
