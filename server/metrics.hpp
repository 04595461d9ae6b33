#pragma once
// Query counters for the Prometheus endpoint (GET /metrics, server/admin.cpp;
// text in server/metrics_text.cpp; every metric in docs/metrics.md).
//
// Why not prometheus-cpp (Debian has it): its counters are atomics shared by
// all threads, so every query would do locked read-modify-writes on cache
// lines that bounce between cores. Here each worker owns one block that only
// it writes; an increment is a relaxed load and a relaxed store through
// std::atomic_ref (plain mov/add/mov on x86, no lock prefix). The admin
// thread sums the blocks on scrape with relaxed loads: it may miss the
// increments of the last few nanoseconds, never tears a value, and the data
// race is well defined because both sides access through atomic_ref.
//
// Labels are bounded by construction: zone is a stable slot (at most 256
// zones, then "other", plus "none"), qtype a fixed set of 12, rcode 9,
// transport 2, policy 7. The block is a dense array over all of them
// (3 MiB of address space per worker), mapped from zero pages, so only the
// pages that counts land in become resident.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "zones/zone_metric_slot.hpp"

namespace meridian {

// Routing policy that chose the answer: "none" for static records.
enum class PolicyKind : std::uint8_t { None, Simple, Weighted, Failover, Multivalue, Geolocation, Latency };
inline constexpr unsigned kPolicyKinds = 7;
std::string_view policy_kind_name(PolicyKind k);
// From Policy::kind(); the six names start with six different letters.
inline PolicyKind policy_kind_from_name(std::string_view kind) {
  switch (kind.empty() ? '\0' : kind[0]) {
    case 's': return PolicyKind::Simple;
    case 'w': return PolicyKind::Weighted;
    case 'f': return PolicyKind::Failover;
    case 'm': return PolicyKind::Multivalue;
    case 'g': return PolicyKind::Geolocation;
    case 'l': return PolicyKind::Latency;
    default: return PolicyKind::None;
  }
}

// qtype label: A AAAA CNAME MX NS SOA TXT SRV CAA PTR ANY, everything else "other".
inline constexpr unsigned kQtypeSlots = 12;
inline unsigned qtype_slot(std::uint16_t qtype) {
  switch (qtype) {
    case 1: return 0;    // A
    case 28: return 1;   // AAAA
    case 5: return 2;    // CNAME
    case 15: return 3;   // MX
    case 2: return 4;    // NS
    case 6: return 5;    // SOA
    case 16: return 6;   // TXT
    case 33: return 7;   // SRV
    case 257: return 8;  // CAA
    case 12: return 9;   // PTR
    case 255: return 10; // ANY
    default: return 11;
  }
}
std::string_view qtype_slot_name(unsigned slot);

// rcode label: the ones Meridian sends, then "other".
inline constexpr unsigned kRcodeSlots = 9;
inline unsigned rcode_slot(std::uint16_t rcode) {
  if (rcode <= 6) return rcode;  // NOERROR FORMERR SERVFAIL NXDOMAIN NOTIMP REFUSED YXDOMAIN
  return rcode == 16 ? 7 : 8;    // BADVERS, other
}
std::string_view rcode_slot_name(unsigned slot);

inline constexpr unsigned kTransports = 2;  // udp, tcp (Transport's values)

// Answer-time histogram upper bounds, nanoseconds; one more bucket for +Inf.
inline constexpr std::uint64_t kLatencyBoundsNs[] = {1000,   2500,   5000,    10000,   25000,
                                                      50000,  100000, 250000,  1000000, 10000000};
inline constexpr unsigned kLatencyBuckets = sizeof kLatencyBoundsNs / sizeof kLatencyBoundsNs[0] + 1;
// The same bounds as Prometheus `le` labels (seconds).
std::string_view latency_bound_label(unsigned bucket);

enum class DropReason : std::uint8_t { Unparseable, SendFailed };
inline constexpr unsigned kDropReasons = 2;
std::string_view drop_reason_name(unsigned reason);

inline constexpr std::size_t kQueryCells =
    std::size_t(kZoneSlotCount) * kTransports * kQtypeSlots * kRcodeSlots * kPolicyKinds;
// Zone outermost: one zone's counters are contiguous (a few pages).
inline std::size_t query_cell(unsigned zone, unsigned transport, unsigned qtype, unsigned rcode, unsigned policy) {
  return (((std::size_t(zone) * kTransports + transport) * kQtypeSlots + qtype) * kRcodeSlots + rcode) *
             kPolicyKinds + policy;
}

// One answered query as the answer path saw it.
struct QueryOutcome {
  std::uint16_t zone_slot = kZoneSlotNone;
  std::uint16_t qtype = 0;
  std::uint16_t rcode = 0;
  std::uint8_t transport = 0;  // Transport
  PolicyKind policy = PolicyKind::None;
  bool ecs = false;        // the query carried a valid ECS option
  bool truncated = false;  // TC set
  bool malformed = false;  // the parser said FORMERR
};

// Single-writer increment, racy-but-safe reads (see the top of this file).
inline void bump(std::uint64_t& c, std::uint64_t by = 1) {
  std::atomic_ref<std::uint64_t> r(c);
  r.store(r.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}
inline std::uint64_t peek(const std::uint64_t& c) {
  return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(c)).load(std::memory_order_relaxed);
}

// Which queries the answer-time histogram times: one in 16 per worker.
// A clock read costs 20 ns on bare metal but ~95 ns in the VMs measured
// (two per timed query: +17% per query when every query was timed, see
// docs/performance.md); sampling keeps the histogram's shape for a
// sixteenth of that cost. The counters are exact.
inline constexpr std::uint32_t kLatencySampleEvery = 16;

// A monotonic clock read for the answer-time histogram (vDSO, no system call).
inline std::uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::uint64_t(ts.tv_sec) * 1000000000u + std::uint64_t(ts.tv_nsec);
}

// One worker's counters. Written only by that worker.
struct WorkerMetrics {
  alignas(64) std::uint64_t truncated[kTransports];
  std::uint64_t ecs;
  std::uint64_t malformed;
  std::uint64_t dropped[kDropReasons];
  std::uint64_t latency_sum_ns;
  std::uint64_t latency[kLatencyBuckets];  // per bucket, not cumulative; their sum is the count
  std::uint32_t seen;  // queries that reached the answer path; worker-only, not exported
  alignas(64) std::uint64_t queries[kQueryCells];

  // True for the query to time: the 16th, 32nd... this worker sees
  // (dropped ones included), so the count is predictable.
  bool time_this() { return ++seen % kLatencySampleEvery == 0; }
  void record(const QueryOutcome& o) {
    bump(queries[query_cell(o.zone_slot, o.transport, qtype_slot(o.qtype), rcode_slot(o.rcode),
                            static_cast<unsigned>(o.policy))]);
    if (o.truncated) bump(truncated[o.transport]);
    if (o.ecs) bump(ecs);
    if (o.malformed) bump(malformed);
  }
  void observe(std::uint64_t elapsed_ns) {
    unsigned b = 0;
    while (b < kLatencyBuckets - 1 && elapsed_ns > kLatencyBoundsNs[b]) ++b;
    bump(latency[b]);
    bump(latency_sum_ns, elapsed_ns);
  }
  void drop(DropReason r, std::uint64_t n = 1) { bump(dropped[static_cast<unsigned>(r)], n); }
};

// The sum over all workers at one moment (what a scrape reports).
struct MetricTotals {
  std::vector<std::uint64_t> queries = std::vector<std::uint64_t>(kQueryCells);
  std::uint64_t truncated[kTransports] = {};
  std::uint64_t ecs = 0;
  std::uint64_t malformed = 0;
  std::uint64_t dropped[kDropReasons] = {};
  std::uint64_t latency_sum_ns = 0;
  std::uint64_t latency[kLatencyBuckets] = {};
  void add(const WorkerMetrics& w);
};

// Owns every worker's block. Blocks live as long as this object: create it
// before the front end and destroy it after the workers stopped.
class Metrics {
 public:
  Metrics() = default;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;
  ~Metrics();
  // A zeroed block for one more worker (start-up, not the query path).
  WorkerMetrics& add_worker();
  MetricTotals sum() const;
  // Open TCP connections, owned by the front end; null until it exists.
  std::atomic<const std::atomic<unsigned>*> tcp_connections{nullptr};

 private:
  mutable std::mutex mu_;
  std::vector<WorkerMetrics*> workers_;
};

}  // namespace meridian
