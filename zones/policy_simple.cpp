// simple: every record of every target, rotated (round robin). Health is not
// consulted, except inside nested pools, which select for themselves. A
// simple policy without pools is compiled to a plain RRset instead.
#include "zones/policy_impl.hpp"

namespace meridian::policy {

namespace {

class Simple final : public CompiledPolicy {
 public:
  using CompiledPolicy::CompiledPolicy;
  std::string_view kind() const override { return "simple"; }

  void select(const PolicyInput& in, PolicyOutput& out) const override {
    begin(out);
    Rng rng(in.random);
    PolicyOutput all;
    Collector c{all};
    for (const auto& t : targets_) emit(in, t, rng, c);
    out.degraded = all.degraded;
    trace(in, "simple: all {} records of {} targets, rotated", all.count, targets_.size());
    if (all.count == 0) return;
    const std::uint32_t start = rng.below(all.count);
    for (std::uint16_t k = 0; k < all.count; ++k) out.idx[k] = all.idx[(start + k) % all.count];
    out.count = all.count;
  }
};

}  // namespace

std::unique_ptr<CompiledPolicy> make_simple(std::vector<Target> targets) {
  return std::make_unique<Simple>(std::move(targets));
}

}  // namespace meridian::policy
