// multivalue: up to `answers` records from the targets that are up, a random
// subset in random order. When no target is up, up to `answers` of all
// records (fail open). Any target down makes the answer degraded.
#include "zones/policy_impl.hpp"

namespace meridian::policy {

namespace {

class Multivalue final : public CompiledPolicy {
 public:
  Multivalue(std::vector<Target> targets, unsigned answers)
      : CompiledPolicy(std::move(targets)), answers_(answers) {}
  std::string_view kind() const override { return "multivalue"; }

  void select(const PolicyInput& in, PolicyOutput& out) const override {
    begin(out);
    Rng rng(in.random);
    PolicyOutput pool;  // candidate records
    Collector c{pool};
    bool any = false;
    std::size_t up = 0;
    for (std::size_t i = 0; i < targets_.size(); ++i) {
      const Target& t = targets_[i];
      if (t.up()) {
        any = true;
        ++up;
        emit(in, t, rng, c);
      } else {
        out.degraded = true;
        if (in.trace) trace(in, "multivalue: {} {}, skipped", describe_target(t, i), describe_health(t));
      }
    }
    if (!any) {  // fail open: every target, as if all were up
      trace(in, "multivalue: no target up; fail open, drawing from all {} targets", targets_.size());
      for (const auto& t : targets_) emit(in, t, rng, c);
    }
    if (pool.degraded) out.degraded = true;
    // Partial Fisher-Yates: the first k slots become a uniform random subset
    // in random order.
    const std::uint16_t k = static_cast<std::uint16_t>(pool.count < answers_ ? pool.count : answers_);
    for (std::uint16_t i = 0; i < k; ++i) {
      const std::uint32_t j = i + rng.below(pool.count - i);
      const std::uint16_t tmp = pool.idx[i];
      pool.idx[i] = pool.idx[j];
      pool.idx[j] = tmp;
      out.idx[i] = pool.idx[i];
    }
    out.count = k;
    trace(in, "multivalue: {} of {} records from {} of {} targets up", k, pool.count, up, targets_.size());
  }

 private:
  unsigned answers_;
};

}  // namespace

std::unique_ptr<CompiledPolicy> make_multivalue(std::vector<Target> targets, unsigned answers) {
  return std::make_unique<Multivalue>(std::move(targets), answers);
}

}  // namespace meridian::policy
