// latency: the target whose region has the lowest round-trip time from the
// client, among the targets that are up. The RTT is the measured one from
// the latency table (PolicyInput::latency) when it has an entry for the
// client and region, else an estimate from the great-circle distance
// between the client (city coordinates, else its country's centroid) and
// the region. A target's bias (-99..99, as Route 53 geoproximity) scales its
// RTT by (1 - bias/100): a positive bias draws more clients. Ties go to the
// first target in the order written. A target whose RTT cannot be known
// (the client has no coordinates and no table entry) loses to any target
// whose RTT is known; when none is known, the first target that is up.
//
// Degraded when the target that would win with every target up is down.
// When every target is down, the nearest one anyway (fail open, degraded).
//
// ECS scope: when only one target can be chosen (a single target, or a
// single one up) the answer does not depend on the address and nothing is
// noted. Otherwise the choice depends on the client's location: the
// database prefix (Location::prefix_len, the full source prefix when the
// databases give none); and when a latency table is configured, on table
// entries whose prefixes we cannot see, so the full source prefix.
#include <sys/socket.h>

#include <cmath>
#include <limits>

#include "geo/client.hpp"
#include "geo/latency_model.hpp"
#include "geo/location.hpp"
#include "zones/policy_impl.hpp"

namespace meridian::policy {

namespace {

class Latency final : public CompiledPolicy {
 public:
  Latency(std::vector<Target> targets, std::vector<LatencyRegion> regions)
      : CompiledPolicy(std::move(targets)), regions_(std::move(regions)) {}
  std::string_view kind() const override { return "latency"; }

  void select(const PolicyInput& in, PolicyOutput& out) const override {
    begin(out);
    Rng rng(in.random);
    const std::size_t n = targets_.size();
    const ClientInfo* c = in.client;
    const bool has_addr = c && (c->family == AF_INET || c->family == AF_INET6);

    std::uint64_t up = 0;
    for (std::size_t i = 0; i < n; ++i)
      if (targets_[i].up()) up |= std::uint64_t{1} << i;
    const std::uint64_t all = n == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
    const bool fail_open = up == 0;
    const std::uint64_t candidates = fail_open ? all : up;

    // RTT per target; NaN: unknown.
    float rtt[kMaxPolicyRecords];
    float effective[kMaxPolicyRecords];
    bool measured[kMaxPolicyRecords] = {};
    bool coords = false;
    double lat = 0, lon = 0;
    if (n > 1 && has_addr) {
      coords = LatencyModel::client_coords(*c, lat, lon);
      for (std::size_t i = 0; i < n; ++i) {
        std::optional<float> m = in.latency ? in.latency->measured(*c, regions_[i].index) : std::nullopt;
        measured[i] = m.has_value();
        rtt[i] = m ? *m
                   : coords ? LatencyModel::estimate_ms(lat, lon, regions_[i].lat, regions_[i].lon)
                            : std::numeric_limits<float>::quiet_NaN();
        effective[i] = rtt[i] * (1.0f - static_cast<float>(regions_[i].bias) / 100.0f);
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) rtt[i] = effective[i] = std::numeric_limits<float>::quiet_NaN();
    }
    // The lowest effective RTT among `set`; ties and unknowns: the first.
    auto best_of = [&](std::uint64_t set) {
      std::size_t best = n;
      for (std::size_t i = 0; i < n; ++i) {
        if (!(set >> i & 1)) continue;
        if (best == n) best = i;
        else if (!std::isnan(effective[i]) && (std::isnan(effective[best]) || effective[i] < effective[best]))
          best = i;
      }
      return best;
    };
    const std::size_t ideal = best_of(all);  // the choice if every target were up
    const std::size_t chosen = best_of(candidates);
    if (fail_open || chosen != ideal) out.degraded = true;

    unsigned scope = 0;
    if (has_addr && n > 1 && (candidates & (candidates - 1))) {  // more than one candidate
      scope = location_scope(*c, c->location());
      if (in.latency) scope = c->source_prefix;
      c->note_scope(static_cast<std::uint8_t>(scope));
    }
    if (in.trace) trace_decision(in, coords, lat, lon, rtt, effective, measured, up, chosen, fail_open, scope);
    Collector col{out};
    emit(in, targets_[chosen], rng, col);
  }

 private:
  void trace_decision(const PolicyInput& in, bool coords, double lat, double lon, const float* rtt,
                      const float* effective, const bool* measured, std::uint64_t up, std::size_t chosen,
                      bool fail_open, unsigned scope) const {
    std::string line = "latency: client " + describe_client(in.client);
    if (coords) line += fmt::format(" at {:.2f},{:.2f}", lat, lon);
    else if (in.client && in.client->family && targets_.size() > 1) line += " (no coordinates)";
    line += ";";
    for (std::size_t i = 0; i < targets_.size(); ++i) {
      const LatencyRegion& r = regions_[i];
      line += (i ? ", " : " ") + r.name;
      if (std::isnan(rtt[i])) line += " ? ms";
      else line += fmt::format(" {:.0f} ms ({})", rtt[i], measured[i] ? "measured" : "estimate");
      if (r.bias && !std::isnan(rtt[i])) line += fmt::format(" bias {:+d} → {:.0f} ms", r.bias, effective[i]);
      if (!(up >> i & 1)) line += " [" + describe_health(targets_[i]) + "]";
    }
    line += " → " + regions_[chosen].name + " (" + describe_target(targets_[chosen], chosen) + ")";
    if (fail_open) line += "; no target up: fail open to the nearest";
    if (in.client) scope = std::min<unsigned>(scope, in.client->source_prefix);  // as note_scope clamps
    line += fmt::format("; ECS scope /{}", scope);
    in.trace->note(line);
  }

  std::vector<LatencyRegion> regions_;
};

}  // namespace

std::unique_ptr<CompiledPolicy> make_latency(std::vector<Target> targets, std::vector<LatencyRegion> regions) {
  return std::make_unique<Latency>(std::move(targets), std::move(regions));
}

}  // namespace meridian::policy
