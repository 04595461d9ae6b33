// Proves the UDP answer path allocates nothing: global operator new is
// replaced by a counting version that is armed only around the measured loop.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>

#include <netinet/in.h>

#include "dns_test_util.hpp"
#include "server/metrics.hpp"
#include "server/query_log.hpp"
#include "server/rrl.hpp"
#include "zone_test_util.hpp"
#include "zones/health.hpp"
#include "zones/policy.hpp"

namespace {
thread_local bool g_counting = false;
thread_local long g_allocations = 0;
}  // namespace

// Every replaceable form of operator new and delete is replaced, not just
// the plain ones: a program that replaces some forms and not others pairs our
// malloc with the runtime's delete (or the reverse) for the forms it missed,
// which AddressSanitizer reports as alloc-dealloc-mismatch (MERIDIAN_SANITIZE).
// All of them count, so an array or aligned allocation on the query path
// fails the test too.
namespace {
void* counted_alloc(std::size_t n, std::size_t align = 0) {
  if (g_counting) ++g_allocations;
  if (n == 0) n = 1;
  if (align > alignof(std::max_align_t)) {
    n = (n + align - 1) / align * align;  // aligned_alloc wants a multiple of the alignment
    return std::aligned_alloc(align, n);
  }
  return std::malloc(n);
}
void* counted_or_throw(std::size_t n, std::size_t align = 0) {
  if (void* p = counted_alloc(n, align)) return p;
  throw std::bad_alloc();
}
}  // namespace

// GCC 12 at -O2 sees the inlined malloc/free pair and reports a false
// -Wmismatched-new-delete for this replacement; the pairing is correct.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) { return counted_or_throw(n); }
void* operator new[](std::size_t n) { return counted_or_throw(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return counted_alloc(n); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_or_throw(n, std::size_t(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_or_throw(n, std::size_t(a)); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, std::size_t(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_alloc(n, std::size_t(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

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

TEST_CASE("the allocation counter counts every form of operator new") {
  // Direct calls: a new-expression's allocation may be elided by the compiler.
  g_allocations = 0;
  g_counting = true;
  void* a = ::operator new(8);
  void* b = ::operator new[](8);
  void* c = ::operator new(8, std::nothrow);
  void* d = ::operator new[](8, std::nothrow);
  void* e = ::operator new(8, std::align_val_t(64));
  void* f = ::operator new[](8, std::align_val_t(64));
  void* g = ::operator new(8, std::align_val_t(128), std::nothrow);
  void* h = ::operator new[](8, std::align_val_t(128), std::nothrow);
  g_counting = false;
  CHECK(g_allocations == 8);
  CHECK(reinterpret_cast<std::uintptr_t>(e) % 64 == 0);
  CHECK(reinterpret_cast<std::uintptr_t>(g) % 128 == 0);
  ::operator delete(a);
  ::operator delete[](b);
  ::operator delete(c, std::nothrow);
  ::operator delete[](d, std::nothrow);
  ::operator delete(e, std::size_t(8), std::align_val_t(64));
  ::operator delete[](f, std::align_val_t(64));
  ::operator delete(g, std::align_val_t(128), std::nothrow);
  ::operator delete[](h, std::size_t(8), std::align_val_t(128));
}

TEST_CASE("no heap allocation per query with metrics and the query log on") {
  const std::string pol = bare_zone("noalloc.metrics.test.") + R"([records.ns1]
A = "192.0.2.1"
[records.w.A]
policy = "weighted"
targets = [ { value = "192.0.2.20", weight = 1 }, { value = "192.0.2.21", weight = 1 } ]
[records.c.A]
policy = "failover"
targets = [ { cname = "www.example.com." } ]
)";
  auto set = zones_from_toml({kTestZone, pol});
  AnswerConfig cfg;
  std::vector<std::vector<std::uint8_t>> queries = {
      make_query("www.example.com.", LDNS_RR_TYPE_A),   make_query("nope.example.com.", LDNS_RR_TYPE_AAAA),
      make_query("w.noalloc.metrics.test.", LDNS_RR_TYPE_A), make_query("c.noalloc.metrics.test.", LDNS_RR_TYPE_A),
      make_query("www.example.org.", LDNS_RR_TYPE_A),   make_query("example.com.", LDNS_RR_TYPE_ANY),
      {0x12, 0x34, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0},       // FORMERR
      {0x12, 0x34, 0x80, 0},                            // dropped
  };
  // ECS, so the log formats a subnet too.
  auto ecs = make_query("w.noalloc.metrics.test.", LDNS_RR_TYPE_A, 0);
  ecs[11] = 1;
  ecs.insert(ecs.end(), {0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 0, 198, 51, 100});
  queries.push_back(ecs);
  sockaddr_in6 from{};
  from.sin6_family = AF_INET6;
  from.sin6_port = htons(4242);
  inet_pton(AF_INET6, "::1", &from.sin6_addr);
  const auto path = std::filesystem::temp_directory_path() / ("meridian-no-alloc-" + std::to_string(::getpid()) + ".log");
  Metrics metrics;
  QueryLogConfig qc;
  qc.enabled = true;
  qc.sample = 1;  // every query formatted and queued
  qc.file = path.string();
  std::uint64_t logged = 0;
  {
    QueryLog log(qc);
    std::string error;
    REQUIRE(log.start(error));  // the logging thread drains while we count
    static std::uint8_t out[kMaxMessage];
    WorkerState ws;
    ws.metrics = &metrics.add_worker();
    ws.query_log = &log.add_worker();
    for (Transport t : {Transport::Udp, Transport::Tcp})  // first touch of the counter pages, outside the count
      for (const auto& q : queries) answer_query(*set, cfg, ws, q.data(), q.size(), QueryMeta{t, nullptr, nullptr}, out);
    std::size_t answered = 0;
    g_allocations = 0;
    g_counting = true;
    for (int round = 0; round < 300; ++round)
      for (const auto& q : queries)
        answered += answer_query(*set, cfg, ws, q.data(), q.size(),
                                 QueryMeta{round % 2 ? Transport::Tcp : Transport::Udp,
                                           reinterpret_cast<const sockaddr*>(&from), nullptr},
                                 out) > 0;
    g_counting = false;
    CHECK(answered == 300 * (queries.size() - 1));
    CHECK(g_allocations == 0);
    log.stop();
    logged = log.lines() + log.dropped();
  }
  // The work was really done: counted and logged.
  MetricTotals t = metrics.sum();
  std::uint64_t counted = 0;
  for (auto n : t.queries) counted += n;
  CHECK(counted == 302 * (queries.size() - 1));
  CHECK(logged == counted);
  std::ifstream in(path);
  std::string first;
  std::getline(in, first);
  CHECK(first.find("qname=www.example.com.") != std::string::npos);
  std::filesystem::remove(path);
}

TEST_CASE("no heap allocation in response rate limiting") {
  auto set = zones_from_toml({kTestZone});
  AnswerConfig cfg;
  RrlConfig rc;
  rc.enabled = true;
  rc.responses_per_second = 5;
  rc.table_size = 1024;
  std::string error;
  rc.exempt.push_back(*parse_cidr("203.0.113.0/24", error));
  RrlCounters counters;
  RrlTable rrl(rc, counters, 99);
  const std::vector<std::vector<std::uint8_t>> queries = {
      make_query("www.example.com.", LDNS_RR_TYPE_A), make_query("nope.example.com.", LDNS_RR_TYPE_A),
      make_query("www.sub.example.com.", LDNS_RR_TYPE_A), make_query("www.example.com.", LDNS_RR_TYPE_TXT),
      make_query("www.example.org.", LDNS_RR_TYPE_A)};
  static std::uint8_t out[kMaxMessage];
  WorkerState ws;
  std::size_t sent = 0, total = 0;
  g_allocations = 0;
  g_counting = true;
  for (std::uint32_t i = 0; i < 3000; ++i) {
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    // A few busy client /24s (limited) and 700 others (the table evicts).
    peer.sin_addr.s_addr = htonl(0xC6336400u + (i % 3 ? i % 7 : i % 700) * 256);
    const auto& q = queries[i % queries.size()];
    const std::size_t n = answer_query(*set, cfg, ws, q.data(), q.size(), Transport::Udp, out);
    sent += rrl.filter(reinterpret_cast<const sockaddr*>(&peer), out, n, 1000000000ull + i * 10) > 0;
    ++total;
  }
  g_counting = false;
  CHECK(g_allocations == 0);
  CHECK(sent > 0);
  CHECK(sent < total);  // some were limited: the limiting path ran too
}

TEST_CASE("no heap allocation in Policy::select") {
  const std::string zone = bare_zone("example.com.") + R"([records.ns1]
A = "192.0.2.1"
[records.w.A]
policy = "weighted"
answers = 2
targets = [ { value = ["192.0.2.20", "192.0.2.21"], weight = 80, check = "na-1" }, { value = "192.0.2.30", weight = 20 }, { pool = "p", weight = 0 } ]
[records.m.A]
policy = "multivalue"
targets = [ { value = ["192.0.2.1","192.0.2.2","192.0.2.3"], check = "na-2" }, { pool = "p" }, { pool = "s" } ]
[records.s.A]
policy = "simple"
targets = [ { value = "192.0.2.9" }, { pool = "p" } ]
[pools.p]
policy = "failover"
targets = [ { value = "198.51.100.1", check = "na-3" }, { pool = "s" } ]
[pools.s]
policy = "weighted"
targets = [ { value = "198.51.100.7" }, { value = "198.51.100.8", check = "na-1" } ]
)";
  auto r = load_toml_zone_text(zone, "z.toml");
  REQUIRE(r.zone);
  std::vector<const Policy*> ps;
  for (const auto& n : r.zone->nodes)
    for (const auto& rs : n.rrsets)
      if (rs.policy) ps.push_back(rs.policy.get());
  REQUIRE(ps.size() == 3);
  PolicyOutput out;
  std::uint64_t sum = 0;
  for (int phase = 0; phase < 3; ++phase) {
    if (phase == 1) HealthRegistry::global().set("na-1", HealthState::Down);
    if (phase == 2) { HealthRegistry::global().set("na-2", HealthState::Down); HealthRegistry::global().set("na-3", HealthState::Down); }
    g_allocations = 0;
    g_counting = true;
    for (std::uint32_t i = 0; i < 10000; ++i)
      for (const Policy* p : ps) { p->select(PolicyInput{i * 2654435761u}, out); sum += out.count; }
    g_counting = false;
    CHECK(g_allocations == 0);
  }
  CHECK(sum > 0);
}
