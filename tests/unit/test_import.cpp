// `meridian import`: RFC 1035 master file -> TOML, checked by loading the
// TOML back and comparing RRsets with what ldns reads from the source.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "zone_test_util.hpp"
#include "zones/name.hpp"
#include "zones/rdata.hpp"
#include "zones/rfc1035_import.hpp"
#include "zones/toml_loader.hpp"

// Last: ldns's C headers break <optional> when included first.
#include <ldns/ldns.h>

using namespace meridian;

namespace {

const std::string kFixture = MERIDIAN_SOURCE_DIR "/tests/fixtures/import/example.com.zone";

// (owner lower-case wire, type) -> (TTL, rdata wire set).
using RRsets = std::map<std::pair<std::string, std::uint16_t>, std::pair<std::uint32_t, std::set<std::string>>>;

// The source zone as ldns reads it, independently of the importer.
RRsets read_master_file(const std::string& path) {
  std::FILE* fp = std::fopen(path.c_str(), "r");
  REQUIRE(fp);
  ldns_zone* zone = nullptr;
  ldns_status st = ldns_zone_new_frm_fp(&zone, fp, nullptr, 3600, LDNS_RR_CLASS_IN);
  std::fclose(fp);
  REQUIRE(st == LDNS_STATUS_OK);
  RRsets out;
  auto add = [&](const ldns_rr* rr) {
    const ldns_rdf* o = ldns_rr_owner(rr);
    std::string owner = lowered({reinterpret_cast<const char*>(ldns_rdf_data(o)), ldns_rdf_size(o)});
    ldns_buffer* buf = ldns_buffer_new(512);
    ldns_rr_rdata2buffer_wire(buf, rr);
    auto& set = out[{owner, ldns_rr_get_type(rr)}];
    set.first = ldns_rr_ttl(rr);
    set.second.emplace(reinterpret_cast<const char*>(ldns_buffer_begin(buf)), ldns_buffer_position(buf));
    ldns_buffer_free(buf);
  };
  add(ldns_zone_soa(zone));
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(ldns_zone_rrs(zone)); ++i)
    add(ldns_rr_list_rr(ldns_zone_rrs(zone), i));
  ldns_zone_deep_free(zone);
  return out;
}

RRsets zone_rrsets(const Zone& zone) {
  RRsets out;
  for (const auto& n : zone.nodes)
    for (const auto& rs : n.rrsets)
      out[{std::string(n.name), rs.type}] = {rs.ttl, std::set<std::string>(rs.rdata.begin(), rs.rdata.end())};
  return out;
}

std::string import_ok(const std::string& path, const std::string& origin) {
  std::string toml, error;
  INFO(error);
  REQUIRE(import_rfc1035(path, origin, toml, error));
  return toml;
}

// A scratch master file, removed when the test ends.
struct TempZone {
  std::filesystem::path path;
  explicit TempZone(const std::string& text)
      : path(std::filesystem::temp_directory_path() / ("meridian-test-import-" + std::to_string(::getpid()) + ".zone")) {
    std::ofstream(path) << text;
  }
  ~TempZone() { std::filesystem::remove(path); }
};

std::string wire(const std::string& text) { return lowered(*name_from_text(text, {}, nullptr)); }

}  // namespace

TEST_CASE("import: round trip keeps every RRset with its TTL and rdata") {
  const std::string toml = import_ok(kFixture, "example.com.");
  auto loaded = load_toml_zone_text(toml, "imported.toml");
  INFO(toml, test::all_errors(loaded.errors));
  REQUIRE(loaded.zone);

  const RRsets source = read_master_file(kFixture);
  const RRsets result = zone_rrsets(*loaded.zone);
  CHECK(result == source);

  // Spot checks, so the comparison cannot pass on two empty maps.
  CHECK(source.size() == 20);
  const auto& www_a = source.at({wire("www.example.com."), rrtype::A});
  CHECK(www_a.first == 300);
  CHECK(www_a.second.size() == 2);
  CHECK(source.at({wire("example.com."), rrtype::TXT}).second.size() == 2);
  CHECK(source.count({wire("*.apps.example.com."), rrtype::CNAME}) == 1);
  CHECK(loaded.zone->serial == 2026112201u);
}

TEST_CASE("import: TOML layout") {
  const std::string toml = import_ok(kFixture, "example.com");  // trailing dot optional
  CHECK(toml.rfind("# imported from " + kFixture + " by meridian import\n", 0) == 0);
  CHECK(toml.find("origin = \"example.com.\"\nttl = 3600\n") != std::string::npos);
  CHECK(toml.find("[soa]\nmname = 'ns1.example.com.'\nrname = 'hostmaster.example.com.'\n"
                  "serial = 2026112201\nrefresh = 7200\nretry = 900\nexpire = 1209600\nminimum = 300\n") !=
        std::string::npos);
  // Apex first, keys always quoted, TTL table only where it differs.
  CHECK(toml.find("[records.\"@\"]") < toml.find("[records.\"*.apps\"]"));
  CHECK(toml.find("[records.\"_sip._tcp\"]\nSRV = ['10 60 5060 sip.example.com.']\n") != std::string::npos);
  CHECK(toml.find("[records.\"www\"]\nA = { ttl = 300, values = ['192.0.2.10', '192.0.2.11'] }\n"
                  "AAAA = ['2001:db8::10']\n") != std::string::npos);
  // A value with a single quote needs a basic string with escapes.
  CHECK(toml.find(R"(TXT = ["\"it's a \\\"test\\\"\" \"back\\\\slash\""])") != std::string::npos);
}

TEST_CASE("import: origin from the SOA when none is given") {
  const std::string toml = import_ok(kFixture, "");
  CHECK(toml.find("origin = \"example.com.\"") != std::string::npos);
}

TEST_CASE("import: duplicate records collapse and an RRset takes its smallest TTL") {
  TempZone z("$ORIGIN example.org.\n$TTL 600\n@ SOA ns host 1 2 3 4 5\n@ NS ns\n"
             "ns 300 A 192.0.2.1\nns 200 A 192.0.2.2\nns A 192.0.2.1\n");
  const std::string toml = import_ok(z.path.string(), "example.org.");
  CHECK(toml.find("A = { ttl = 200, values = ['192.0.2.1', '192.0.2.2'] }\n") != std::string::npos);
}

TEST_CASE("import: errors name the file and line") {
  std::string toml, error;
  SUBCASE("bad rdata") {
    TempZone z("$ORIGIN example.org.\n$TTL 600\n@ SOA ns host 1 2 3 4 5\n@ NS ns\nns A 192.0.2.300\nx A 1.2.3.4\n");
    CHECK_FALSE(import_rfc1035(z.path.string(), "example.org.", toml, error));
    CHECK(error.rfind(z.path.string() + ":5: ", 0) == 0);
  }
  SUBCASE("bad last line without a newline") {
    TempZone z("$TTL 600\n@ SOA ns host 1 2 3 4 5\n@ NS ns\nns A 192.0.2.300");
    CHECK_FALSE(import_rfc1035(z.path.string(), "example.org.", toml, error));
    CHECK(error.rfind(z.path.string() + ":4: ", 0) == 0);
  }
  SUBCASE("owner outside the origin") {
    TempZone z("$TTL 600\nexample.org. SOA ns host 1 2 3 4 5\nwww.example.net. A 192.0.2.1\n");
    CHECK_FALSE(import_rfc1035(z.path.string(), "example.org.", toml, error));
    CHECK(error == z.path.string() + ": www.example.net. is outside the zone origin example.org.");
  }
  SUBCASE("SOA of another zone") {
    TempZone z("$TTL 600\nexample.net. SOA ns host 1 2 3 4 5\n");
    CHECK_FALSE(import_rfc1035(z.path.string(), "example.org.", toml, error));
    CHECK(error.find("the SOA record is for example.net.") != std::string::npos);
  }
  SUBCASE("no SOA") {
    TempZone z("$ORIGIN example.org.\nwww 600 A 192.0.2.1\n");
    CHECK_FALSE(import_rfc1035(z.path.string(), "example.org.", toml, error));
    CHECK(error == z.path.string() + ": no SOA record found");
  }
  SUBCASE("missing file") {
    CHECK_FALSE(import_rfc1035("/nonexistent/x.zone", "example.org.", toml, error));
    CHECK(error == "/nonexistent/x.zone: cannot read file: No such file or directory");
  }
}
