// Proves the UDP answer path allocates nothing: global operator new is
// replaced by a counting version that is armed only around the measured loop.
#include <doctest/doctest.h>

#include <cstdlib>
#include <new>

#include "dns_test_util.hpp"

namespace {
thread_local bool g_counting = false;
thread_local long g_allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace meridian;
using namespace meridian::test;

TEST_CASE("no heap allocation per query on the answer path") {
  auto set = zones_from_toml({kTestZone});
  AnswerConfig cfg;
  cfg.identity = "ns1";
  std::vector<std::vector<std::uint8_t>> queries = {
      make_query("www.example.com.", LDNS_RR_TYPE_A),        make_query("nope.example.com.", LDNS_RR_TYPE_A),
      make_query("alias.example.com.", LDNS_RR_TYPE_A),      make_query("foo.wild.example.com.", LDNS_RR_TYPE_A),
      make_query("www.sub.example.com.", LDNS_RR_TYPE_A),    make_query("www.old.example.com.", LDNS_RR_TYPE_A),
      make_query("example.com.", LDNS_RR_TYPE_MX),           make_query("example.com.", LDNS_RR_TYPE_ANY),
      make_query("loop1.example.com.", LDNS_RR_TYPE_A),      make_query("www.example.org.", LDNS_RR_TYPE_A),
      make_query("id.server.", LDNS_RR_TYPE_TXT, 0, false, LDNS_RR_CLASS_CH),
      {0x12, 0x34, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0},  // FORMERR
  };
  static std::uint8_t out[kMaxMessage];
  WorkerState ws;
  std::size_t answered = 0;
  g_allocations = 0;
  g_counting = true;
  for (int round = 0; round < 500; ++round)
    for (const auto& q : queries)
      answered += answer_query(*set, cfg, ws, q.data(), q.size(), Transport::Udp, out) > 0;
  g_counting = false;
  CHECK(answered == 500 * queries.size());
  CHECK(g_allocations == 0);

  // The counter itself works: a std::string of this size must allocate.
  g_counting = true;
  std::string s(100, 'x');
  g_counting = false;
  CHECK(g_allocations == 1);
}
