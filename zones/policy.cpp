// What every policy kind shares: target health and emitting a target's records.
#include "zones/policy_impl.hpp"

namespace meridian::policy {

bool Target::up() const { return health_up(check) && (!pool || pool->any_up()); }

bool CompiledPolicy::any_up() const {
  for (const auto& t : targets_)
    if (t.up()) return true;
  return false;
}

void CompiledPolicy::emit(const Target& t, Rng& rng, Collector& c) {
  if (t.pool) {
    PolicyOutput sub;
    t.pool->select(PolicyInput{rng.next()}, sub);
    if (sub.degraded) c.out.degraded = true;
    for (std::uint16_t i = 0; i < sub.count; ++i) c.push(sub.idx[i]);
    return;
  }
  const auto n = static_cast<std::uint32_t>(t.values.size());
  if (n == 0) return;
  const std::uint32_t start = n > 1 ? rng.below(n) : 0;  // round robin within the target
  for (std::uint32_t k = 0; k < n; ++k) c.push(t.values[(start + k) % n]);
}

}  // namespace meridian::policy
