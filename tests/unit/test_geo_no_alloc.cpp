// Proves GeoIP lookups and the latency model's query-path functions allocate
// nothing. libmaxminddb is C, so counting operator new is not enough: this
// file interposes malloc/calloc/realloc for the whole test binary (passing
// through to glibc) and counts calls while armed.
#include <doctest/doctest.h>

#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "geo/client.hpp"
#include "geo/geoip_db.hpp"
#include "geo/latency_model.hpp"
#include "geo/regions.hpp"
#include "server/answer.hpp"
#include "zone_test_util.hpp"
#include "zones/toml_loader.hpp"

#if defined(__SANITIZE_ADDRESS__)
// Under AddressSanitizer (MERIDIAN_SANITIZE) malloc belongs to the runtime
// and cannot be interposed; its allocation hooks see every malloc, calloc
// and realloc instead, so the test still runs rather than being compiled out.
#define MERIDIAN_COUNT_MALLOC 1
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*on_malloc)(const volatile void*, std::size_t),
                                                         void (*on_free)(const volatile void*));
namespace {
// volatile: GCC assumes malloc reads no program memory, and would otherwise
// drop the "counting on" store before a bare malloc call as dead.
thread_local volatile bool g_geo_counting = false;
thread_local volatile long g_geo_allocations = 0;
void count_malloc(const volatile void*, std::size_t) {
  if (g_geo_counting) g_geo_allocations = g_geo_allocations + 1;
}
void ignore_free(const volatile void*) {}
// The runtime refuses a null hook, so free gets one that does nothing.
[[maybe_unused]] const bool g_hooks_installed = __sanitizer_install_malloc_and_free_hooks(count_malloc, ignore_free) != 0;
}  // namespace
#elif defined(__GLIBC__) && !defined(__SANITIZE_THREAD__)
#define MERIDIAN_COUNT_MALLOC 1

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
}

namespace {
thread_local bool g_geo_counting = false;
thread_local long g_geo_allocations = 0;
}  // namespace

extern "C" {
void* malloc(std::size_t n) noexcept {
  if (g_geo_counting) ++g_geo_allocations;
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
  if (g_geo_counting) ++g_geo_allocations;
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) noexcept {
  if (g_geo_counting) ++g_geo_allocations;
  return __libc_realloc(p, n);
}
}
#endif

using namespace meridian;

#ifdef MERIDIAN_COUNT_MALLOC
TEST_CASE("geoip: lookups and latency estimates allocate nothing") {
  GeoIpDb db;
  std::string error;
  REQUIRE(db.open({MERIDIAN_FIXTURE_MMDB, MERIDIAN_FIXTURE_GEOIP_DIR "/asn.mmdb", MERIDIAN_DEFAULT_MMDB}, error));

  const std::vector<Region> regions = {{"eu-west", 53.35, -6.26}, {"us-east", 38.9, -77.4}};
  const auto csv = std::filesystem::temp_directory_path() / ("meridian-geo-no-alloc-" + std::to_string(::getpid()) + ".csv");
  std::ofstream(csv) << "127.0.1.0/24,eu-west,9\nDE,us-east,90\n2001:218::/32,eu-west,200\n";
  LatencyModel model;
  Diagnostics errs;
  REQUIRE(model.load_csv(csv.string(), regions, errs));
  std::filesystem::remove(csv);

  const char* ips[] = {"127.0.1.5",   "127.0.2.1",       "127.0.9.1",   "192.0.2.1",        "8.8.8.8",
                       "1.1.1.1",     "81.2.69.142",     "12.81.92.1",  "2001:218::1",      "2001:db8::1",
                       "::ffff:8.8.8.8", "2001:4860:4860::8888", "2.3.3.1", "2002:7f00:0105::1", "10.0.0.1"};
  struct Prepared {
    int family;
    std::uint8_t addr[16];
  };
  std::vector<Prepared> addrs;
  for (const char* ip : ips) {
    Prepared p{AF_INET, {}};
    if (inet_pton(AF_INET, ip, p.addr) != 1) {
      p.family = AF_INET6;
      REQUIRE(inet_pton(AF_INET6, ip, p.addr) == 1);
    }
    addrs.push_back(p);
  }

  long found = 0;
  double sum = 0;
  g_geo_allocations = 0;
  g_geo_counting = true;
  for (int round = 0; round < 200; ++round) {
    for (const auto& a : addrs) {
      const Location l = db.lookup(a.family, a.addr);
      found += l.found;
      ClientInfo c;
      c.family = a.family;
      std::memcpy(c.addr, a.addr, 16);
      c.source_prefix = a.family == AF_INET ? 32 : 128;
      c.geo = &db;
      c.note_scope(c.location().prefix_len);
      double lat = 0, lon = 0;
      if (LatencyModel::client_coords(c, lat, lon)) sum += LatencyModel::estimate_ms(lat, lon, 53.35, -6.26);
      for (std::size_t r = 0; r < regions.size(); ++r)
        if (auto m = model.measured(c, r)) sum += *m;
    }
  }
  g_geo_counting = false;
  CHECK(found > 0);
  CHECK(sum > 0);
  CHECK(g_geo_allocations == 0);

  // The counter itself works.
#ifdef __SANITIZE_ADDRESS__
  REQUIRE(g_hooks_installed);
#endif
  g_geo_counting = true;
  void* volatile p = std::malloc(64);
  g_geo_counting = false;
  std::free(p);
  CHECK(g_geo_allocations == 1);
}

// The whole UDP answer path with GeoIP: ECS parsing, the lazy location
// lookup, geolocation and latency policies, the ECS echo.
TEST_CASE("answer path with GeoIP policies and ECS allocates nothing") {
  RegionRegistry::global().set({{"eu-west", 53.35, -6.26}, {"us-east", 38.9, -77.4}});
  auto r = load_toml_zone_text(test::bare_zone("g.test.") + R"([records.ns1]
A = "192.0.2.1"
[records.www.A]
policy = "geolocation"
targets = [ { match = "EU", value = "192.0.2.10" }, { match = "US-CA", value = "192.0.2.11" },
            { match = "127.0.4.0/24", value = "192.0.2.12" }, { match = "*", value = "192.0.2.13" } ]
[records.near.A]
policy = "latency"
targets = [ { region = "eu-west", value = "198.51.100.1" }, { region = "us-east", value = "198.51.100.2" } ]
)", "g.toml");
  for (const auto& e : r.errors) FAIL_CHECK(e.str());
  REQUIRE(r.zone);
  ZoneSet zs;
  zs.add(r.zone);
  AnswerConfig cfg;
  auto db = std::make_shared<GeoIpDb>();
  std::string error;
  REQUIRE(db->open({MERIDIAN_FIXTURE_MMDB}, error));
  cfg.geo = db;

  // Queries with ECS for several networks: header, question, OPT with ECS.
  auto query = [](const char* name, std::initializer_list<std::uint8_t> ecs) {
    std::vector<std::uint8_t> q = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
    for (const char* label = name; *label;) {
      const char* dot = std::strchr(label, '.');
      q.push_back(static_cast<std::uint8_t>(dot - label));
      q.insert(q.end(), label, dot);
      label = dot + 1;
    }
    q.insert(q.end(), {0, 0, 1, 0, 1, 0, 0, 41, 4, 208, 0, 0, 0, 0, 0, static_cast<std::uint8_t>(4 + ecs.size()), 0, 8,
                       0, static_cast<std::uint8_t>(ecs.size())});
    q.insert(q.end(), ecs.begin(), ecs.end());
    return q;
  };
  std::vector<std::vector<std::uint8_t>> queries = {
      query("www.g.test.", {0, 1, 24, 0, 81, 2, 69}),        query("www.g.test.", {0, 1, 24, 0, 216, 160, 83}),
      query("near.g.test.", {0, 1, 24, 0, 81, 2, 69}),       query("near.g.test.", {0, 1, 24, 0, 214, 78, 120}),
      query("www.g.test.", {0, 2, 32, 0, 0x20, 0x01, 0x02, 0x18}), query("www.g.test.", {0, 1, 24, 0, 10, 0, 0}),
  };
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.4.7", &from.sin_addr);
  static std::uint8_t out[kMaxMessage];
  WorkerState ws;
  std::size_t answered = 0;
  g_geo_allocations = 0;
  g_geo_counting = true;
  for (int round = 0; round < 300; ++round)
    for (const auto& q : queries)
      answered += answer_query(zs, cfg, ws, q.data(), q.size(),
                               QueryMeta{Transport::Udp, reinterpret_cast<sockaddr*>(&from), nullptr}, out) > 0;
  g_geo_counting = false;
  CHECK(answered == 300 * queries.size());
  CHECK(g_geo_allocations == 0);
}
#endif
