#pragma once
// The compiled form shared by the policy kinds and the policy loader. Not
// used by the query path directly: it sees only `Policy` (zones/policy.hpp).
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "zones/health.hpp"
#include "zones/policy.hpp"

namespace meridian::policy {

// Cheap randomness derived from PolicyInput::random: splitmix64 on a local
// state, so one 32-bit value gives as many draws as a selection needs.
class Rng {
 public:
  explicit Rng(std::uint32_t seed) : s_(seed) {}
  std::uint32_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return static_cast<std::uint32_t>((z ^ (z >> 31)) >> 32);
  }
  // Uniform in [0, n) (multiply-shift; the bias is below 2^-32 * n). n > 0.
  std::uint32_t below(std::uint32_t n) {
    return static_cast<std::uint32_t>((static_cast<std::uint64_t>(next()) * n) >> 32);
  }

 private:
  std::uint64_t s_;
};

class CompiledPolicy;

// One target: either values (rdata indexes) or a nested pool policy.
struct Target {
  std::vector<std::uint16_t> values;            // distinct rdata indexes, each < kMaxPolicyRecords
  std::unique_ptr<const CompiledPolicy> pool;   // set for a pool target (then `values` is empty)
  std::uint8_t weight = 1;                      // weighted only
  const std::atomic<std::uint8_t>* check = nullptr;  // null: no check, always up

  // Up when its check (if any) is up and, for a pool, any of the pool's
  // targets is up.
  bool up() const;
};

// Output under construction: appends indexes once each.
struct Collector {
  PolicyOutput& out;
  std::uint64_t seen = 0;
  void push(std::uint16_t i) {
    const std::uint64_t bit = std::uint64_t{1} << i;
    if (seen & bit) return;
    seen |= bit;
    out.idx[out.count++] = i;
  }
};

class CompiledPolicy : public Policy {
 public:
  explicit CompiledPolicy(std::vector<Target> targets) : targets_(std::move(targets)) {}
  const std::vector<Target>& targets() const { return targets_; }
  // A pool is up when any of its targets is.
  bool any_up() const;

 protected:
  static void begin(PolicyOutput& out) {
    out.count = 0;
    out.degraded = false;
  }
  // Appends the records of target `t`: its values rotated by a random
  // offset, or what its pool selects (whose `degraded` carries over).
  static void emit(const Target& t, Rng& rng, Collector& c);

  std::vector<Target> targets_;
};

// Factories. Preconditions (checked by the loader): 1..kMaxPolicyRecords
// targets, 1 <= answers <= kMaxPolicyRecords.
std::unique_ptr<CompiledPolicy> make_simple(std::vector<Target> targets);
std::unique_ptr<CompiledPolicy> make_weighted(std::vector<Target> targets, unsigned answers);
std::unique_ptr<CompiledPolicy> make_failover(std::vector<Target> targets);
std::unique_ptr<CompiledPolicy> make_multivalue(std::vector<Target> targets, unsigned answers);

}  // namespace meridian::policy
