#include "server/metrics.hpp"

#include <sys/mman.h>

#include <new>

namespace meridian {

std::string_view policy_kind_name(PolicyKind k) {
  static constexpr std::string_view names[kPolicyKinds] = {"none",       "simple",      "weighted", "failover",
                                                           "multivalue", "geolocation", "latency"};
  return names[static_cast<unsigned>(k)];
}

std::string_view qtype_slot_name(unsigned slot) {
  static constexpr std::string_view names[kQtypeSlots] = {"A",   "AAAA", "CNAME", "MX",  "NS",  "SOA",
                                                          "TXT", "SRV",  "CAA",   "PTR", "ANY", "other"};
  return names[slot];
}

std::string_view rcode_slot_name(unsigned slot) {
  static constexpr std::string_view names[kRcodeSlots] = {"NOERROR", "FORMERR",  "SERVFAIL", "NXDOMAIN", "NOTIMP",
                                                          "REFUSED", "YXDOMAIN", "BADVERS",  "other"};
  return names[slot];
}

std::string_view latency_bound_label(unsigned bucket) {
  static constexpr std::string_view labels[kLatencyBuckets] = {
      "1e-06", "2.5e-06", "5e-06", "1e-05", "2.5e-05", "5e-05", "0.0001", "0.00025", "0.001", "0.01", "+Inf"};
  return labels[bucket];
}

std::string_view drop_reason_name(unsigned reason) {
  static constexpr std::string_view names[kDropReasons] = {"unparseable", "send_failed"};
  return names[reason];
}

void MetricTotals::add(const WorkerMetrics& w) {
  for (std::size_t i = 0; i < kQueryCells; ++i) queries[i] += peek(w.queries[i]);
  for (unsigned t = 0; t < kTransports; ++t) truncated[t] += peek(w.truncated[t]);
  ecs += peek(w.ecs);
  malformed += peek(w.malformed);
  for (unsigned r = 0; r < kDropReasons; ++r) dropped[r] += peek(w.dropped[r]);
  latency_sum_ns += peek(w.latency_sum_ns);
  for (unsigned b = 0; b < kLatencyBuckets; ++b) latency[b] += peek(w.latency[b]);
}

WorkerMetrics& Metrics::add_worker() {
  // Anonymous pages read as zero and become resident only when written, so
  // the 3 MiB dense array costs memory only for the label sets in use.
  // WorkerMetrics is an aggregate of integers (an implicit-lifetime type):
  // all-zero memory is a valid, zeroed block.
  void* p = mmap(nullptr, sizeof(WorkerMetrics), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  auto* w = static_cast<WorkerMetrics*>(p);
  std::lock_guard lock(mu_);
  workers_.push_back(w);
  return *w;
}

MetricTotals Metrics::sum() const {
  MetricTotals t;
  std::lock_guard lock(mu_);
  for (const WorkerMetrics* w : workers_) t.add(*w);
  return t;
}

Metrics::~Metrics() {
  for (WorkerMetrics* w : workers_) munmap(w, sizeof(WorkerMetrics));
}

}  // namespace meridian
