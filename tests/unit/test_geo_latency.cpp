// LatencyModel (measured RTT table, distance estimates, client coordinates),
// RegionRegistry and the compiled-in country table.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "geo/country_data.hpp"
#include "geo/geoip_db.hpp"
#include "geo/latency_model.hpp"
#include "geo/regions.hpp"
#include "zone_test_util.hpp"

using namespace meridian;
using test::all_errors;

namespace {

struct GeoTempFile {
  std::filesystem::path path;
  explicit GeoTempFile(const std::string& content) {
    static int n = 0;
    path = std::filesystem::temp_directory_path() /
           ("meridian-geo-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".csv");
    std::ofstream(path) << content;
  }
  ~GeoTempFile() { std::filesystem::remove(path); }
};

const std::vector<Region> kRegions = {
    {"eu-west", 53.35, -6.26},       // Dublin
    {"us-east", 38.9, -77.4},        // Virginia
    {"ap-northeast", 35.68, 139.69}, // Tokyo
};

const GeoIpDb& fixture() {
  static GeoIpDb db;
  static const bool ok = [] {
    std::string error;
    return db.open({MERIDIAN_FIXTURE_MMDB}, error);
  }();
  REQUIRE(ok);
  return db;
}

ClientInfo client(const char* ip, const GeoIpDb* geo = &fixture()) {
  ClientInfo c;
  std::uint8_t a[16] = {};
  if (inet_pton(AF_INET, ip, a) == 1) {
    c.family = AF_INET;
    c.source_prefix = 32;
  } else {
    REQUIRE(inet_pton(AF_INET6, ip, a) == 1);
    c.family = AF_INET6;
    c.source_prefix = 128;
  }
  std::memcpy(c.addr, a, 16);
  c.geo = geo;
  return c;
}

constexpr double kFrankfurt[2] = {50.11, 8.68};
constexpr double kDublin[2] = {53.35, -6.26};
constexpr double kVirginia[2] = {38.9, -77.4};

}  // namespace

TEST_CASE("latency table: longest prefix first, then the country") {
  GeoTempFile csv(
      "client,region,rtt_ms\n"
      "# measured from RUM\n"
      "127.0.0.0/16, eu-west, 50\n"
      "127.0.1.0/24,eu-west,9   # Frankfurt office\n"
      "\n"
      "DE,eu-west,30\n"
      "de,us-east,90\n"
      "US,us-east,12.5\n"
      "2001:218::/32,ap-northeast,3\n"
      "2001:218:1::/48,ap-northeast,2\n"
      "198.51.100.7,us-east,1\n");
  LatencyModel m;
  Diagnostics errs;
  const bool ok = m.load_csv(csv.path.string(), kRegions, errs);
  INFO(all_errors(errs));
  REQUIRE(ok);
  CHECK(errs.empty());

  const ClientInfo fra = client("127.0.1.5");  // DE in the fixture
  CHECK(m.measured(fra, 0) == 9.0f);           // the /24 beats the /16 and the country
  CHECK(m.measured(fra, 1) == 90.0f);          // no network entry for us-east: the country
  CHECK_FALSE(m.measured(fra, 2).has_value());
  CHECK_FALSE(m.measured(fra, 3).has_value());  // no such region

  const ClientInfo ca = client("127.0.2.1");  // US
  CHECK(m.measured(ca, 0) == 50.0f);          // the /16
  CHECK(m.measured(ca, 1) == 12.5f);          // by country
  CHECK_FALSE(m.measured(ca, 2).has_value());

  CHECK(m.measured(client("::ffff:127.0.1.5"), 0) == 9.0f);  // IPv4-mapped uses the IPv4 entries
  CHECK(m.measured(client("2001:218::1"), 2) == 3.0f);
  CHECK(m.measured(client("2001:218:1::1"), 2) == 2.0f);
  CHECK(m.measured(client("198.51.100.7"), 1) == 1.0f);  // a bare address is a host route
  CHECK_FALSE(m.measured(client("198.51.100.8"), 1).has_value());
  CHECK_FALSE(m.measured(client("192.0.2.1"), 0).has_value());  // unknown to table and databases
  ClientInfo none;
  CHECK_FALSE(m.measured(none, 0).has_value());
  // measured() leaves the ECS scope to the policy.
  CHECK(fra.scope() == 0);

  // An empty model knows nothing.
  LatencyModel empty;
  CHECK_FALSE(empty.measured(fra, 0).has_value());
}

TEST_CASE("latency table: errors name file:line and keep the previous table") {
  GeoTempFile good("127.0.1.0/24,eu-west,9\n");
  LatencyModel m;
  Diagnostics errs;
  REQUIRE(m.load_csv(good.path.string(), kRegions, errs));
  REQUIRE(m.measured(client("127.0.1.5"), 0) == 9.0f);

  struct Case {
    const char* content;
    std::uint32_t line;
    const char* message;
  };
  const Case cases[] = {
      {"# c\n127.0.1.0/24,eu-west,9\n127.0.2.0/24,mars,10\n", 3, "unknown region 'mars'"},
      {"127.0.1.0/24,eu-west\n", 1, "expected 3 fields"},
      {"127.0.1.0/24,eu-west,9,1\n", 1, "expected 3 fields"},
      {"127.0.1.0/24,eu-west,fast\n", 1, "rtt_ms must be a number"},
      {"127.0.1.0/24,eu-west,-3\n", 1, "rtt_ms must be a number"},
      {"127.0.1.0/33,eu-west,3\n", 1, "bad prefix length"},
      {"127.0.1.1/24,eu-west,3\n", 1, "host bits set"},
      {"not-an-ip/24,eu-west,3\n", 1, "client must be a network"},
      {"XX,eu-west,3\n", 1, "unknown country code 'XX'"},
      {"JP,eu-west,3\n\nJP,eu-west,4\n", 3, "duplicate entry"},
  };
  for (const auto& c : cases) {
    GeoTempFile bad(c.content);
    Diagnostics e;
    INFO(c.content);
    CHECK_FALSE(m.load_csv(bad.path.string(), kRegions, e));
    REQUIRE(e.size() >= 1);
    INFO(all_errors(e));
    CHECK(e[0].loc.file == bad.path.string());
    CHECK(e[0].loc.line == c.line);
    CHECK(e[0].str().find(bad.path.string() + ":" + std::to_string(c.line) + ":") == 0);
    CHECK(e[0].message.find(c.message) != std::string::npos);
  }
  // Every bad line is reported, not just the first.
  GeoTempFile two("a,eu-west,1\nb,mars,2\n");
  Diagnostics e2;
  CHECK_FALSE(m.load_csv(two.path.string(), kRegions, e2));
  CHECK(e2.size() == 2);
  // The column points at the field.
  GeoTempFile col("127.0.2.0/24, mars ,10\n");
  Diagnostics e3;
  CHECK_FALSE(m.load_csv(col.path.string(), kRegions, e3));
  REQUIRE(e3.size() == 1);
  CHECK(e3[0].loc.col == 15);

  // A missing file.
  Diagnostics e4;
  CHECK_FALSE(m.load_csv("/nonexistent/latency.csv", kRegions, e4));
  REQUIRE(e4.size() == 1);
  CHECK(e4[0].str().find("/nonexistent/latency.csv") == 0);
  CHECK(e4[0].message.find("No such file") != std::string::npos);

  // Failed loads kept the good table.
  CHECK(m.measured(client("127.0.1.5"), 0) == 9.0f);
}

TEST_CASE("latency estimate: grows with distance") {
  const float fra_dub = LatencyModel::estimate_ms(kFrankfurt[0], kFrankfurt[1], kDublin[0], kDublin[1]);
  const float fra_iad = LatencyModel::estimate_ms(kFrankfurt[0], kFrankfurt[1], kVirginia[0], kVirginia[1]);
  INFO("FRA-DUB " << fra_dub << " ms, FRA-IAD " << fra_iad << " ms");
  CHECK(fra_dub < fra_iad);
  // ~1090 km and ~6550 km: 2 x d / (2/3 c) + 5 ms.
  CHECK(fra_dub == doctest::Approx(2 * 1090 / 199.86 + 5).epsilon(0.05));
  CHECK(fra_iad == doctest::Approx(2 * 6550 / 199.86 + 5).epsilon(0.05));
  CHECK(LatencyModel::estimate_ms(10, 20, 10, 20) == doctest::Approx(5.0));
  CHECK(LatencyModel::estimate_ms(kDublin[0], kDublin[1], kFrankfurt[0], kFrankfurt[1]) == doctest::Approx(fra_dub));
  // Half the earth's circumference: the maximum.
  CHECK(LatencyModel::estimate_ms(0, 0, 0, 180) == doctest::Approx(2 * 20015 / 199.86 + 5).epsilon(0.01));
  // Monotonic along a meridian and along the equator across the date line.
  float prev = 0;
  for (int lat = 50; lat >= -90; lat -= 5) {
    const float e = LatencyModel::estimate_ms(50, 8.7, lat, 8.7);
    CHECK(e > prev - 0.001f);
    prev = e;
  }
  CHECK(LatencyModel::estimate_ms(0, 179, 0, -179) < LatencyModel::estimate_ms(0, 179, 0, 170));
}

TEST_CASE("latency: client coordinates, else the country centroid") {
  double lat = 0, lon = 0;
  CHECK(LatencyModel::client_coords(client("127.0.1.5"), lat, lon));  // city coordinates
  CHECK(lat == doctest::Approx(50.1).epsilon(0.001));
  CHECK(lon == doctest::Approx(8.7).epsilon(0.001));
  CHECK(LatencyModel::client_coords(client("127.0.6.1"), lat, lon));  // BR, no coordinates
  double blat = 0, blon = 0;
  REQUIRE(country_centroid("BR", blat, blon));
  CHECK(lat == doctest::Approx(blat));
  CHECK(lon == doctest::Approx(blon));
  CHECK_FALSE(LatencyModel::client_coords(client("2.3.3.1"), lat, lon));    // continent only
  CHECK_FALSE(LatencyModel::client_coords(client("192.0.2.1"), lat, lon));  // unknown
  CHECK_FALSE(LatencyModel::client_coords(client("127.0.1.5", nullptr), lat, lon));  // no databases
  ClientInfo none;
  CHECK_FALSE(LatencyModel::client_coords(none, lat, lon));
}

TEST_CASE("country table: centroids and continents") {
  double lat = 0, lon = 0;
  REQUIRE(country_centroid("JP", lat, lon));
  CHECK(lat == doctest::Approx(36.2).epsilon(0.02));
  CHECK(lon == doctest::Approx(138.25).epsilon(0.02));
  REQUIRE(country_centroid("jp", lat, lon));
  CHECK(country_centroid("US", lat, lon));
  CHECK(lat > 30);
  CHECK(lat < 45);
  CHECK(lon < -80);
  CHECK(lon > -110);
  CHECK(country_centroid("AU", lat, lon));
  CHECK(lat < 0);
  CHECK_FALSE(country_centroid("XX", lat, lon));
  CHECK_FALSE(country_centroid("", lat, lon));
  CHECK_FALSE(country_centroid("JPN", lat, lon));
  CHECK_FALSE(country_centroid("AP", lat, lon));  // registry pseudo-code: a continent, no centroid
  REQUIRE(find_country("AP"));
  CHECK(std::string_view(find_country("AP")->continent) == "AS");

  const std::set<std::string_view> continents{"AF", "AN", "AS", "EU", "NA", "OC", "SA"};
  std::size_t n = 0;
  const CountryInfo* t = country_table(n);
  CHECK(n >= 250);
  for (std::size_t i = 0; i < n; ++i) {
    INFO(t[i].code);
    CHECK(continents.count(t[i].continent) == 1);
    if (t[i].has_centroid) {
      CHECK(std::fabs(t[i].lat) <= 90);
      CHECK(std::fabs(t[i].lon) <= 180);
    }
    CHECK(find_country(t[i].code) == &t[i]);
  }
  struct C {
    const char* cc;
    const char* continent;
  };
  for (C c : {C{"DE", "EU"}, C{"US", "NA"}, C{"BR", "SA"}, C{"JP", "AS"}, C{"AU", "OC"}, C{"ZA", "AF"},
                          C{"AQ", "AN"}, C{"RU", "EU"}, C{"TR", "AS"}, C{"EG", "AF"}, C{"MX", "NA"}, C{"NZ", "OC"},
                          C{"XK", "EU"}, C{"GB", "EU"}}) {
    const char* cc = c.cc;  // not a structured binding: clang-14 cannot capture one in INFO's lambda
    const char* cont = c.continent;
    INFO(cc);
    REQUIRE(find_country(cc));
    CHECK(std::string_view(find_country(cc)->continent) == cont);
  }
}

TEST_CASE("regions: the registry") {
  RegionRegistry reg;
  CHECK(reg.list().empty());
  CHECK_FALSE(reg.find("eu-west"));
  reg.set(kRegions);
  REQUIRE(reg.find("us-east"));
  CHECK(reg.find("us-east")->lat == doctest::Approx(38.9));
  CHECK(reg.list().size() == 3);
  CHECK(reg.list()[2].name == "ap-northeast");
  reg.set({});
  CHECK_FALSE(reg.find("us-east"));
  CHECK(&RegionRegistry::global() == &RegionRegistry::global());
}
