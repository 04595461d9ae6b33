#pragma once
// Routing policies: which of an RRset's records a query gets. A policy is
// compiled at zone load into an immutable object (zones/policy_loader.*) and
// only read afterwards; select() runs on the query path, so it allocates
// nothing and takes no lock. Health is read through the atomic cells of
// HealthRegistry (zones/health.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace meridian {

// Most records one selection can return (and most distinct records a policy
// RRset may hold, so an index fits a 64-bit set), and most targets per policy.
inline constexpr std::size_t kMaxPolicyRecords = 64;

// An index >= kCnameIndexBase in PolicyOutput::idx refers to
// RRset::cname_targets[idx - kCnameIndexBase]; when a policy selects a cname
// target, the output holds exactly that one index (count = 1).
inline constexpr std::uint16_t kCnameIndexBase = 0x8000;

struct ClientInfo;
class LatencyModel;

// Receives a human-readable account of each decision, for `meridian explain`.
// Only set off the query path (it may allocate).
class PolicyTrace {
 public:
  virtual ~PolicyTrace() = default;
  virtual void note(std::string_view line) = 0;
};

struct PolicyInput {
  std::uint32_t random;                   // fresh per query from the worker's PRNG
  const ClientInfo* client = nullptr;     // the asker; null: no address (geo policies use their default)
  const LatencyModel* latency = nullptr;  // measured RTT table; null: distance estimates only
  PolicyTrace* trace = nullptr;           // explain only
};

struct PolicyOutput {
  std::uint16_t count = 0;
  std::uint16_t idx[kMaxPolicyRecords];  // indexes into the RRset's rdata, in answer order (or one
                                         // cname index, see kCnameIndexBase)
  bool degraded = false;                 // a down target had to be skipped, or fail-open happened
};

class Policy {
 public:
  virtual ~Policy() = default;
  // Fills `out` (count, idx, degraded are all overwritten). No allocation,
  // no lock. Indexes are distinct.
  virtual void select(const PolicyInput& in, PolicyOutput& out) const = 0;
  virtual std::string_view kind() const = 0;  // "simple", "weighted", "failover", "multivalue",
                                              // "geolocation", "latency"
  // True when some target is up; false means every answer fails open.
  // Used off the query path (the health checker's fail-open report).
  virtual bool any_up() const { return true; }
};

}  // namespace meridian
