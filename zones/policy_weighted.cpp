// weighted: `answers` distinct targets, drawn by weight among the targets
// that are up. Weight-0 targets are a backup tier, drawn with equal chance
// only when no target with a weight is up; when every weight is 0, all
// targets are one tier with equal chance. When no target is up, the draw is
// made as if all were (fail open). A down target in the first tier makes the
// answer degraded.
#include "zones/policy_impl.hpp"

namespace meridian::policy {

namespace {

class Weighted final : public CompiledPolicy {
 public:
  Weighted(std::vector<Target> targets, unsigned answers)
      : CompiledPolicy(std::move(targets)), answers_(answers) {
    for (const auto& t : targets_)
      if (t.weight) {
        all_zero_ = false;
        break;
      }
  }
  std::string_view kind() const override { return "weighted"; }

  void select(const PolicyInput& in, PolicyOutput& out) const override {
    begin(out);
    Rng rng(in.random);
    const std::size_t n = targets_.size();
    std::uint64_t first = 0, backup = 0;  // up targets of each tier
    std::uint64_t first_all = 0, backup_all = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t bit = std::uint64_t{1} << i;
      const bool primary = all_zero_ || targets_[i].weight;
      (primary ? first_all : backup_all) |= bit;
      if (targets_[i].up()) (primary ? first : backup) |= bit;
    }
    if (first != first_all) out.degraded = true;
    std::uint64_t tier = first;
    bool by_weight = !all_zero_;  // the backup tier and an all-zero policy draw with equal chance
    if (in.trace)
      for (std::size_t i = 0; i < n; ++i)
        if (!targets_[i].up())
          trace(in, "weighted: {} {}", describe_target(targets_[i], i), describe_health(targets_[i]));
    const char* how = by_weight ? "" : ", all weights 0: equal chance";
    if (!tier && backup) {
      tier = backup;
      by_weight = false;
      how = ", weight-0 tier with equal chance: no weighted target up";
    }
    if (!tier) {  // nothing up: fail open, as if all were up
      tier = first_all;
      out.degraded = true;
      how = ", fail open: no target up, drawn as if all were";
    }
    Collector c{out};
    for (unsigned pick = 0; pick < answers_ && tier; ++pick) {
      std::uint32_t total = 0;
      for (std::size_t i = 0; i < n; ++i)
        if (tier >> i & 1) total += by_weight ? targets_[i].weight : 1;
      std::uint32_t r = rng.below(total);
      std::size_t chosen = 0;
      for (std::size_t i = 0; i < n; ++i) {
        if (!(tier >> i & 1)) continue;
        const std::uint32_t w = by_weight ? targets_[i].weight : 1;
        if (r < w) {
          chosen = i;
          break;
        }
        r -= w;
      }
      tier &= ~(std::uint64_t{1} << chosen);  // distinct targets
      if (in.trace)
        trace(in, "weighted: picked {} (weight {} of {} up{})", describe_target(targets_[chosen], chosen),
              by_weight ? targets_[chosen].weight : 1u, total, how);
      emit(in, targets_[chosen], rng, c);
    }
  }

 private:
  unsigned answers_;
  bool all_zero_ = true;
};

}  // namespace

std::unique_ptr<CompiledPolicy> make_weighted(std::vector<Target> targets, unsigned answers) {
  return std::make_unique<Weighted>(std::move(targets), answers);
}

}  // namespace meridian::policy
