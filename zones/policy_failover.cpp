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
    if (in.trace) {
      for (std::size_t i = 0; i < chosen && i < targets_.size(); ++i)
        trace(in, "failover: {} {}, {}", describe_target(targets_[i], i), describe_health(targets_[i]),
              i + 1 < targets_.size() ? "trying the next" : "no target left");
    }
    if (chosen == targets_.size()) {
      chosen = 0;  // fail open
      trace(in, "failover: no target up; fail open to {}", describe_target(targets_[0], 0));
    } else if (in.trace) {
      trace(in, "failover: using {}", describe_target(targets_[chosen], chosen));
    }
    if (chosen != 0 || !targets_[0].up()) out.degraded = true;
    emit(in, targets_[chosen], rng, c);
  }
};

}  // namespace

std::unique_ptr<CompiledPolicy> make_failover(std::vector<Target> targets) {
  return std::make_unique<Failover>(std::move(targets));
}

}  // namespace meridian::policy
