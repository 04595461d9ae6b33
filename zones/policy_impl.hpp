#pragma once
// The compiled form shared by the policy kinds and the policy loader. Not
// used by the query path directly: it sees only `Policy` (zones/policy.hpp).
#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "zones/health.hpp"
#include "zones/policy.hpp"

namespace meridian {
struct ClientInfo;
struct Location;
}  // namespace meridian

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

// One target: values (rdata indexes), a nested pool policy, or a name to
// answer with as a CNAME.
struct Target {
  std::vector<std::uint16_t> values;            // distinct rdata indexes, each < kMaxPolicyRecords
  std::unique_ptr<const CompiledPolicy> pool;   // set for a pool target (then `values` is empty)
  std::int32_t cname = -1;                      // >= 0: index into RRset::cname_targets (then
                                                // `values` is empty and `pool` null)
  std::uint8_t weight = 1;                      // weighted only
  const std::atomic<std::uint8_t>* check = nullptr;  // null: no check, always up
  std::string check_name;                       // the check's name (traces); empty without a check
  std::string label;                            // traces: "192.0.2.30, 192.0.2.31", "pool 'backup'" or
                                                // "CNAME eu.cdn.example.net."

  // Up when its check (if any) is up and, for a pool, any of the pool's
  // targets is up. Inline: every policy answer asks it of every target.
  bool up() const { return health_up(check) && (!pool || pool_up()); }

 private:
  bool pool_up() const;
};

// Output under construction: appends indexes once each. A cname index
// (>= kCnameIndexBase) is appended as it is: the loader allows cname targets
// only where an answer uses a single target, so it is then the only index.
struct Collector {
  PolicyOutput& out;
  std::uint64_t seen = 0;
  void push(std::uint16_t i) {
    if (i >= kCnameIndexBase) {
      out.idx[out.count++] = i;
      return;
    }
    const std::uint64_t bit = std::uint64_t{1} << i;
    if (seen & bit) return;
    seen |= bit;
    out.idx[out.count++] = i;
  }
};

// Writes one trace line when the query is traced (`meridian explain`).
// Nothing is formatted, so nothing is allocated, when in.trace is null; the
// arguments are evaluated either way, so pass only cheap ones (numbers,
// references to strings, string_views).
template <class... Args>
inline void trace(const PolicyInput& in, fmt::format_string<Args...> f, Args&&... args) {
  if (in.trace) in.trace->note(fmt::format(f, std::forward<Args>(args)...));
}

// Trace helpers (they allocate: call them only when in.trace is set).
// "target 2 (192.0.2.20)".
std::string describe_target(const Target& t, std::size_t index);
// "check app-1 down" / "pool down" / "up".
std::string describe_health(const Target& t);
// "81.2.69.0/24" (ECS) or "192.0.2.1" (packet source); "none" without an address.
std::string describe_client(const ClientInfo* c);
// "EU/GB/ENG AS1234 (db prefix /24)" or "unknown (db prefix /0)".
std::string describe_location(const Location& l);

// The ECS scope that covers a decision made from `l` (the GeoIP location of
// `c`): the prefix of the database network the fields came from. When the
// databases give no prefix (e.g. an address none of them knows), the full
// source prefix, which is always correct.
std::uint8_t location_scope(const ClientInfo& c, const Location& l);

class CompiledPolicy : public Policy {
 public:
  explicit CompiledPolicy(std::vector<Target> targets) : targets_(std::move(targets)) {}
  const std::vector<Target>& targets() const { return targets_; }
  // A pool is up when any of its targets is.
  bool any_up() const override;

 protected:
  static void begin(PolicyOutput& out) {
    out.count = 0;
    out.degraded = false;
  }
  // Appends the records of target `t`: its values rotated by a random
  // offset, what its pool selects (whose `degraded` carries over), or its
  // cname index (kCnameIndexBase + t.cname; traced as "KIND: target N →
  // CNAME name"). A pool sees the same client, latency table and trace as
  // its parent.
  void emit(const PolicyInput& in, const Target& t, Rng& rng, Collector& c) const;

  std::vector<Target> targets_;
};


// ------------------------------------------------------------ geolocation

// One `match` of a geolocation target, parsed. The kinds are listed from the
// most specific to the least; a CIDR is more specific the longer its prefix.
struct GeoMatch {
  enum class Kind : std::uint8_t { Cidr, Asn, Subdivision, Country, Continent, Default };
  Kind kind = Kind::Default;
  int family = 0;                 // Cidr: AF_INET or AF_INET6
  std::uint8_t prefix = 0;        // Cidr: prefix length
  std::uint8_t addr[16] = {};     // Cidr: network address (host bits zero), network order
  std::uint32_t asn = 0;          // Asn
  char country[3] = {};           // Country, Subdivision: "US"
  char subdivision[4] = {};       // Subdivision: "CA" (of US-CA)
  char continent[3] = {};         // Continent: "EU"
  std::uint16_t target = 0;       // index of the target (set by the loader)
  std::string text;               // canonical: "cidr:10.0.0.0/8", "asn:7018", "subdivision:US-CA",
                                  // "country:JP", "continent:EU", "*"
};

// Parses a `match` string (docs/zone-format.md, "Geolocation"). On failure
// returns nullopt and sets `error` to a message for the operator.
std::optional<GeoMatch> parse_geo_match(std::string_view text, std::string& error);

// A latency target's region, resolved at load from RegionRegistry.
struct LatencyRegion {
  std::string name;
  double lat = 0, lon = 0;
  std::size_t index = 0;  // position in RegionRegistry::global().list() (LatencyModel's region index)
  int bias = 0;           // -99..99; effective RTT = RTT * (1 - bias / 100)
};

// Factories. Preconditions (checked by the loader): 1..kMaxPolicyRecords
// targets, 1 <= answers <= kMaxPolicyRecords; geolocation: every match's
// target is a valid index and no two matches have the same text; latency:
// one region per target, in the same order.
std::unique_ptr<CompiledPolicy> make_simple(std::vector<Target> targets);
std::unique_ptr<CompiledPolicy> make_weighted(std::vector<Target> targets, unsigned answers);
std::unique_ptr<CompiledPolicy> make_failover(std::vector<Target> targets);
std::unique_ptr<CompiledPolicy> make_multivalue(std::vector<Target> targets, unsigned answers);
std::unique_ptr<CompiledPolicy> make_geolocation(std::vector<Target> targets, std::vector<GeoMatch> matches);
std::unique_ptr<CompiledPolicy> make_latency(std::vector<Target> targets, std::vector<LatencyRegion> regions);

}  // namespace meridian::policy
