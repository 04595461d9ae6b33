// failover: the first target that is up, in the order written. When none is
// up, the first target anyway (fail open). Either way, passing over the
// first target makes the answer degraded.
#include "zones/policy_impl.hpp"

namespace meridian::policy {

namespace {

class Failover final : public CompiledPolicy {
 public:
  using CompiledPolicy::CompiledPolicy;
  std::string_view kind() const override { return "failover"; }

  void select(const PolicyInput& in, PolicyOutput& out) const override {
    begin(out);
    Rng rng(in.random);
    Collector c{out};
    std::size_t chosen = 0;
    while (chosen < targets_.size() && !targets_[chosen].up()) ++chosen;
    if (chosen == targets_.size()) chosen = 0;  // fail open
    if (chosen != 0 || !targets_[0].up()) out.degraded = true;
    emit(targets_[chosen], rng, c);
  }
};

}  // namespace

std::unique_ptr<CompiledPolicy> make_failover(std::vector<Target> targets) {
  return std::make_unique<Failover>(std::move(targets));
}

}  // namespace meridian::policy
