#pragma once
// Routing policies in a TOML zone file (docs/zone-format.md, "Routing
// policies"): the [pools] and [checks] tables, and type tables with
// `policy`/`targets`. Reads them with file:line:col diagnostics and compiles
// each policy RRset into immutable policy objects whose indexes point into
// the RRset's rdata, or (cname targets) into its cname_targets; both lists
// are returned in PolicyRRset for the zone builder.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <tuple>
#include <utility>
#include <vector>

#include "zones/check_spec.hpp"
#include "zones/diagnostic.hpp"
#include "zones/health.hpp"
#include "zones/policy.hpp"
#include "zones/policy_impl.hpp"

namespace meridian {

namespace policy {
class CompiledPolicy;
}

// What a policy type table compiles to; feeds ZoneBuilder::add_policy_rrset.
struct PolicyRRset {
  std::uint32_t ttl = 0;
  std::uint32_t ttl_when_degraded = 0;  // 0: use ttl
  std::vector<std::string> rdata;       // every record a target can produce, distinct
  std::shared_ptr<const Policy> policy; // null: `simple` without pools, a plain RRset
  std::vector<std::string> cname_targets;  // wire names the policy's cname indexes refer to
};

class PolicyLoader {
 public:
  // `origin` (wire) resolves relative names in values; problems go to `errors`.
  PolicyLoader(std::string file, std::string origin, Diagnostics& errors,
               HealthRegistry& health = HealthRegistry::global());
  ~PolicyLoader();

  // True when a type table uses a routing-policy key (policy, targets,
  // answers, ttl_when_degraded).
  static bool is_policy_table(const toml::table& t);

  // The top-level [pools] table. Read it before any RRset that uses a pool.
  void read_pools(const toml::node& pools);
  // The top-level [checks] table (docs/health-checks.md).
  void read_checks(const toml::node& checks);
  // The server configuration's checks: with them, a target's `check` must
  // name a check defined there or in this file (and a calculated check's
  // children too), and a name both define must be defined the same way.
  // Without them (tests, tools) references are not resolved.
  void set_server_checks(const std::vector<CheckSpec>* server_checks) { server_checks_ = server_checks; }
  // Once the whole file is read: checks references and the [checks] set.
  void finish();
  // The zone's checks, which names each steers, and its policy RRsets.
  std::shared_ptr<const ZoneHealth> health() const { return std::make_shared<const ZoneHealth>(zone_health_); }

  // A type table with policy keys. `ttl` is the RRset's TTL (the loader has
  // read the table's `ttl` key, or the file default); `owner_text` names the
  // RRset in messages. nullopt after reporting errors.
  std::optional<PolicyRRset> read_rrset(const toml::table& t, const toml::key& type_key, std::uint16_t type,
                                        std::uint32_t ttl, const std::string& owner_text);

  // Sets the states of the manual checks (state = "up"|"down") of the
  // [checks] table in the health registry; call once the zone has loaded
  // without errors. (Probed checks get their initial state from the
  // health checker.)
  void apply_checks() const;

 private:
  enum class Kind { Simple, Weighted, Failover, Multivalue, Geolocation, Latency };
  struct ValueSpec {
    std::string text;
    SourceLoc loc;
  };
  struct MatchSpec {
    policy::GeoMatch match;
    SourceLoc loc;
  };
  struct TargetSpec {
    SourceLoc loc;
    std::vector<ValueSpec> values;
    std::string pool;  // non-empty for a pool target
    SourceLoc pool_loc;
    std::string cname;       // non-empty for a cname target: the name as written
    std::string cname_wire;  // the name, wire, case as written (relative names completed with the origin)
    SourceLoc cname_loc;
    std::uint8_t weight = 1;
    std::string check;  // empty: none
    std::vector<MatchSpec> matches;  // geolocation
    policy::LatencyRegion region;    // latency (name, coordinates and index resolved, bias)
  };
  struct Spec {
    bool ok = true;  // false: errors reported; the valid targets are kept to check their values
    Kind kind = Kind::Simple;
    unsigned answers = 1;
    std::vector<TargetSpec> targets;
  };
  struct Pool {
    std::optional<Spec> spec;  // nullopt: the table had errors
    SourceLoc loc;
    bool usable = true;  // false: errors, a cycle, or refers to an unusable pool
  };
  struct Compiled {
    std::unique_ptr<policy::CompiledPolicy> policy;
    std::size_t max_records = 0;  // most records one selection can return
    bool cname = false;           // some selection can answer with a CNAME (a cname target, maybe in a pool)
    SourceLoc cname_loc;          // the first such cname target
  };
  // Per RRset being compiled.
  struct Build {
    std::uint16_t type;
    std::string user;   // "api.example.com. A at z.toml:7"
    std::string owner;  // wire; empty when the owner text could not be read
    std::vector<std::string> rdata;
    std::vector<std::string> cnames;  // cname targets, wire, distinct (case-insensitively)
    std::vector<std::string> pools_in_use;
    std::vector<std::string> checks;  // checks read by the targets (and pools), distinct
    bool ok = true;
  };

  SourceLoc loc(const toml::node& n) const;
  SourceLoc loc(const toml::key& k) const;
  void error(SourceLoc where, std::string msg);

  Spec read_spec(const toml::table& t, SourceLoc table_loc, const std::string& where,
                                bool pool);
  std::optional<TargetSpec> read_target(const toml::node& n, Kind kind, bool kind_known);
  void read_matches(const toml::node& n, TargetSpec& spec);
  void read_region(const toml::node& n, TargetSpec& spec);
  void check_duplicate_matches(const std::vector<TargetSpec>& targets);
  void check_pool_graph();
  static std::string combining(const Spec& spec);
  std::optional<Compiled> compile(const Spec& spec, Build& b, const std::string& pool_name);
  std::optional<std::uint16_t> value_index(const ValueSpec& v, Build& b, const std::string& pool_name);
  std::optional<std::uint16_t> cname_index(const TargetSpec& ts, Build& b, const std::string& pool_name);

  std::string file_;
  std::string origin_;
  Diagnostics& errors_;
  HealthRegistry& health_;
  std::map<std::string, Pool, std::less<>> pools_;
  const std::vector<CheckSpec>* server_checks_ = nullptr;
  std::vector<std::pair<std::string, SourceLoc>> check_refs_;  // every target's `check`
  ZoneHealth zone_health_;
  std::set<std::tuple<std::uint32_t, std::uint32_t, std::string>> reported_;  // no duplicate messages
};

}  // namespace meridian
