#include "zones/policy_loader.hpp"

#include <algorithm>

#include "geo/regions.hpp"
#include "zones/name.hpp"
#include "zones/policy_impl.hpp"
#include "zones/rdata.hpp"
#include "zones/zone_builder.hpp"

namespace meridian {

namespace {

constexpr std::string_view kPolicyKeys[] = {"policy", "targets", "answers", "ttl_when_degraded"};
constexpr const char* kKinds = "simple, weighted, failover, multivalue, geolocation or latency";

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

PolicyLoader::PolicyLoader(std::string file, std::string origin, Diagnostics& errors, HealthRegistry& health)
    : file_(std::move(file)), origin_(std::move(origin)), errors_(errors), health_(health) {}

PolicyLoader::~PolicyLoader() = default;

bool PolicyLoader::is_policy_table(const toml::table& t) {
  return std::any_of(std::begin(kPolicyKeys), std::end(kPolicyKeys), [&](std::string_view k) { return t.contains(k); });
}

SourceLoc PolicyLoader::loc(const toml::node& n) const {
  return {file_, n.source().begin.line, n.source().begin.column};
}
SourceLoc PolicyLoader::loc(const toml::key& k) const {
  return {file_, k.source().begin.line, k.source().begin.column};
}

void PolicyLoader::error(SourceLoc where, std::string msg) {
  // A pool used by several RRsets must not repeat the same message.
  if (!reported_.emplace(where.line, where.col, msg).second) return;
  errors_.push_back({std::move(where), std::move(msg)});
}

// ---------------------------------------------------------------- reading

std::optional<PolicyLoader::TargetSpec> PolicyLoader::read_target(const toml::node& n, Kind kind, bool kind_known) {
  const auto* t = n.as_table();
  if (!t) {
    error(loc(n), "a target must be a table such as { value = \"192.0.2.1\" }, { pool = \"name\" } or "
                  "{ cname = \"eu.cdn.example.net.\" }");
    return std::nullopt;
  }
  const std::size_t before = errors_.size();
  TargetSpec spec;
  spec.loc = loc(n);
  const char* expected = "value, pool, cname, weight, check";
  if (kind_known && kind == Kind::Geolocation) expected = "value, pool, cname, match, check";
  if (kind_known && kind == Kind::Latency) expected = "value, pool, cname, region, bias, check";
  for (const auto& [k, v] : *t) {
    const std::string_view key = k.str();
    if (key != "value" && key != "pool" && key != "cname" && key != "weight" && key != "check" &&
        key != "match" && key != "region" && key != "bias")
      error(loc(k), "unknown key " + quoted(key) + " in a target (expected " + expected + ")");
  }
  const toml::node* value = t->get("value");
  const toml::node* pool = t->get("pool");
  const toml::node* cname = t->get("cname");
  if (value && pool) error(spec.loc, "a target has both 'value' and 'pool'; give one of them");
  if (cname && (value || pool))
    error(spec.loc, std::string("a target has both 'cname' and '") + (value ? "value" : "pool") +
                        "'; give one of them");
  if (!value && !pool && !cname)
    error(spec.loc, "a target needs 'value' (records), 'pool' (a pool's name) or 'cname' (a name to answer "
                    "with as a CNAME)");
  if (value) {
    if (const auto* s = value->as_string()) {
      spec.values.push_back({s->get(), loc(*value)});
    } else if (const auto* arr = value->as_array()) {
      if (arr->empty()) error(loc(*value), "'value' is an empty array");
      for (const auto& el : *arr) {
        if (const auto* s = el.as_string()) spec.values.push_back({s->get(), loc(el)});
        else error(loc(el), "target values must be strings");
      }
    } else {
      error(loc(*value), "'value' must be a string or an array of strings");
    }
  }
  if (pool) {
    const auto* s = pool->as_string();
    if (!s || s->get().empty()) error(loc(*pool), "'pool' must be the name of a [pools.NAME] table");
    else {
      spec.pool = s->get();
      spec.pool_loc = loc(*pool);
    }
  }
  if (cname) {
    const auto* s = cname->as_string();
    std::string err;
    std::optional<std::string> wire;
    if (!s || s->get().empty()) {
      error(loc(*cname), "'cname' must be a domain name, such as \"eu.cdn.example.net.\"");
    } else if (!(wire = name_from_text(s->get(), origin_, &err))) {
      error(loc(*cname), "bad 'cname': " + err);
    } else {
      spec.cname = s->get();
      spec.cname_wire = std::move(*wire);
      spec.cname_loc = loc(*cname);
    }
  }
  if (const toml::node* w = t->get("weight")) {
    const auto* i = w->as_integer();
    if (!i || i->get() < 0 || i->get() > 255) error(loc(*w), "'weight' must be an integer from 0 to 255");
    else if (kind_known && kind != Kind::Weighted) error(loc(*w), "'weight' is used only by policy \"weighted\"");
    else spec.weight = static_cast<std::uint8_t>(i->get());
  }
  if (const toml::node* c = t->get("check")) {
    const auto* s = c->as_string();
    if (!s || s->get().empty()) error(loc(*c), "'check' must be a string naming a health check");
    else if (kind_known && kind == Kind::Simple)
      error(loc(*c), "policy \"simple\" does not use health checks (use failover, weighted or multivalue)");
    else {
      spec.check = s->get();
      check_refs_.emplace_back(spec.check, loc(*c));
    }
  }
  if (const toml::node* m = t->get("match")) {
    if (kind_known && kind != Kind::Geolocation) error(loc(*m), "'match' is used only by policy \"geolocation\"");
    else read_matches(*m, spec);
  } else if (kind_known && kind == Kind::Geolocation) {
    error(spec.loc, "a geolocation target needs 'match': a continent (\"EU\"), country (\"JP\"), subdivision "
                    "(\"US-CA\"), autonomous system (\"AS7018\"), CIDR (\"10.0.0.0/8\"), an array of them, or \"*\"");
  }
  if (const toml::node* r = t->get("region")) {
    if (kind_known && kind != Kind::Latency) error(loc(*r), "'region' is used only by policy \"latency\"");
    else read_region(*r, spec);
  } else if (kind_known && kind == Kind::Latency) {
    error(spec.loc, "a latency target needs 'region', the name of a [regions.NAME] table of the server configuration");
  }
  if (const toml::node* b = t->get("bias")) {
    const auto* i = b->as_integer();
    if (!i || i->get() < -99 || i->get() > 99) error(loc(*b), "'bias' must be an integer from -99 to 99");
    else if (kind_known && kind != Kind::Latency) error(loc(*b), "'bias' is used only by policy \"latency\"");
    else spec.region.bias = static_cast<int>(i->get());
  }
  if (errors_.size() != before) return std::nullopt;
  return spec;
}

void PolicyLoader::read_matches(const toml::node& n, TargetSpec& spec) {
  auto one = [&](const toml::node& el) {
    const auto* s = el.as_string();
    if (!s) return error(loc(el), "a match must be a string such as \"EU\", \"US-CA\" or \"*\"");
    std::string err;
    auto m = policy::parse_geo_match(s->get(), err);
    if (!m) return error(loc(el), std::move(err));
    for (const auto& prev : spec.matches)
      if (prev.match.text == m->text)
        return error(loc(el), "match " + quoted(s->get()) + " is listed twice in this target");
    spec.matches.push_back({std::move(*m), loc(el)});
  };
  if (const auto* arr = n.as_array()) {
    if (arr->empty()) error(loc(n), "'match' is an empty array");
    for (const auto& el : *arr) one(el);
  } else if (n.is_string()) {
    one(n);
  } else {
    error(loc(n), "'match' must be a string or an array of strings, such as [\"US-CA\", \"US-OR\"]");
  }
}

void PolicyLoader::read_region(const toml::node& n, TargetSpec& spec) {
  const auto* s = n.as_string();
  if (!s || s->get().empty()) return error(loc(n), "'region' must be the name of a region, such as \"eu-west\"");
  const std::vector<Region> regions = RegionRegistry::global().list();
  for (std::size_t i = 0; i < regions.size(); ++i)
    if (regions[i].name == s->get()) {
      spec.region.name = regions[i].name;
      spec.region.lat = regions[i].lat;
      spec.region.lon = regions[i].lon;
      spec.region.index = i;
      return;
    }
  if (regions.empty())
    return error(loc(n), "unknown region " + quoted(s->get()) +
                             ": no regions are configured (declare them in the server configuration as "
                             "[regions.NAME] with lat and lon)");
  std::string known;
  for (const auto& r : regions) known += (known.empty() ? "" : ", ") + r.name;
  error(loc(n), "unknown region " + quoted(s->get()) + " (known regions: " + known + ")");
}

// The same match in two targets would make the choice between them arbitrary.
void PolicyLoader::check_duplicate_matches(const std::vector<TargetSpec>& targets) {
  std::map<std::string, std::uint32_t, std::less<>> first;  // canonical text -> line
  for (const auto& t : targets)
    for (const auto& m : t.matches) {
      auto [it, fresh] = first.emplace(m.match.text, m.loc.line);
      if (!fresh)
        error(m.loc, "match " + quoted(m.match.text) + " is already used by the target at line " +
                         std::to_string(it->second) + " (each match may appear in one target)");
    }
}

PolicyLoader::Spec PolicyLoader::read_spec(const toml::table& t, SourceLoc table_loc,
                                                          const std::string& where, bool pool) {
  const std::size_t before = errors_.size();
  for (const auto& [k, v] : t) {
    const std::string_view key = k.str();
    if (key == "policy" || key == "targets" || key == "answers") continue;
    if (!pool && (key == "ttl" || key == "ttl_when_degraded")) continue;
    if (key == "values")
      error(loc(k), "'values' cannot be combined with a routing policy in " + where +
                        " (a policy's records come from 'targets')");
    else
      error(loc(k), "unknown key " + quoted(key) + " in " + where +
                        (pool ? " (expected policy, targets, answers)"
                              : " (expected policy, targets, answers, ttl, ttl_when_degraded)"));
  }

  Spec spec;
  bool kind_known = false;
  if (const toml::node* p = t.get("policy")) {
    const auto* s = p->as_string();
    const std::string kind = s ? s->get() : std::string();
    kind_known = true;
    if (kind == "simple") spec.kind = Kind::Simple;
    else if (kind == "weighted") spec.kind = Kind::Weighted;
    else if (kind == "failover") spec.kind = Kind::Failover;
    else if (kind == "multivalue") spec.kind = Kind::Multivalue;
    else if (kind == "geolocation") spec.kind = Kind::Geolocation;
    else if (kind == "latency") spec.kind = Kind::Latency;
    else {
      kind_known = false;
      if (!s) error(loc(*p), std::string("'policy' must be a string: ") + kKinds);
      else if (kind == "geo" || kind == "geoproximity" || kind == "location")
        error(loc(*p), "policy " + quoted(kind) + " is not supported yet; did you mean \"geolocation\"?");
      else
        error(loc(*p), "unknown policy " + quoted(kind) +
                           " (expected simple, weighted, failover or multivalue); by client location: "
                           "geolocation or latency");
    }
  } else {
    error(table_loc, where + " has no 'policy' (" + kKinds + ")");
  }
  spec.answers = spec.kind == Kind::Multivalue ? 8 : 1;

  const toml::node* answers = t.get("answers");
  if (answers) {
    const auto* i = answers->as_integer();
    if (!i || i->get() < 1 || i->get() > static_cast<std::int64_t>(kMaxPolicyRecords))
      error(loc(*answers), "'answers' must be an integer from 1 to " + std::to_string(kMaxPolicyRecords));
    else if (kind_known && spec.kind != Kind::Weighted && spec.kind != Kind::Multivalue)
      error(loc(*answers), "'answers' is used only by policies \"weighted\" and \"multivalue\"");
    else spec.answers = static_cast<unsigned>(i->get());
  }

  const toml::node* targets = t.get("targets");
  if (!targets) {
    error(table_loc, where + " has no 'targets'");
  } else if (const auto* arr = targets->as_array()) {
    if (arr->empty()) error(loc(*targets), "'targets' is empty");
    if (arr->size() > kMaxPolicyRecords)
      error(loc(*targets), "more than " + std::to_string(kMaxPolicyRecords) + " targets");
    for (const auto& el : *arr)
      if (auto target = read_target(el, spec.kind, kind_known)) spec.targets.push_back(std::move(*target));
    if (kind_known && spec.kind == Kind::Geolocation) check_duplicate_matches(spec.targets);
    if (const std::string why = kind_known ? combining(spec) : std::string(); !why.empty())
      for (const auto& ts : spec.targets)
        if (!ts.cname.empty())
          error(ts.cname_loc, "a cname target cannot be used here: " + why +
                                  ", and a CNAME must be alone in an answer (use failover, geolocation, latency, "
                                  "or weighted with answers = 1)");
  } else {
    error(loc(*targets), "'targets' must be an array of tables such as { value = \"192.0.2.1\" }");
  }

  if (errors_.size() == before && spec.kind == Kind::Weighted && spec.answers > spec.targets.size())
    error(loc(*answers), "'answers' = " + std::to_string(spec.answers) + " but there are only " +
                             std::to_string(spec.targets.size()) + " targets (weighted answers are distinct targets)");
  spec.ok = errors_.size() == before;
  return spec;
}

// Why one answer of `spec` can hold the records of several targets (then
// none may answer with a CNAME, which must be alone); empty when an answer
// uses one target.
std::string PolicyLoader::combining(const Spec& spec) {
  switch (spec.kind) {
    case Kind::Simple:
      return "policy \"simple\" answers with the records of every target together";
    case Kind::Multivalue:
      return "policy \"multivalue\" answers with the records of several targets together";
    case Kind::Weighted:
      if (spec.answers > 1)
        return "policy \"weighted\" with answers = " + std::to_string(spec.answers) + " answers with " +
               std::to_string(spec.answers) + " targets together";
      return {};
    default:
      return {};
  }
}

void PolicyLoader::read_pools(const toml::node& node) {
  const auto* pools = node.as_table();
  if (!pools) return error(loc(node), "'pools' must be a table of named pools ([pools.NAME])");
  for (const auto& [k, v] : *pools) {
    const std::string name(k.str());
    Pool& p = pools_[name];
    p.loc = loc(k);
    if (const auto* t = v.as_table()) {
      Spec spec = read_spec(*t, loc(k), "pool " + quoted(name), true);
      if (spec.ok) p.spec = std::move(spec);
    } else {
      error(loc(v), "pool " + quoted(name) + " must be a table with 'policy' and 'targets'");
    }
    p.usable = p.spec.has_value();
  }
  check_pool_graph();
}

// Unknown pool names and cycles; then a pool that uses an unusable pool is
// unusable too (without another message: the cause is reported).
void PolicyLoader::check_pool_graph() {
  for (auto& [name, p] : pools_) {
    if (!p.spec) continue;
    for (const auto& t : p.spec->targets)
      if (!t.pool.empty() && !pools_.count(t.pool)) {
        error(t.pool_loc, "unknown pool " + quoted(t.pool) + " (define it as [pools." + t.pool + "])");
        p.usable = false;
      }
  }
  enum Color : std::uint8_t { White, Grey, Black };
  std::map<std::string, Color, std::less<>> color;
  std::vector<std::string> stack;
  auto visit = [&](auto& self, const std::string& name) -> void {
    color[name] = Grey;
    stack.push_back(name);
    Pool& p = pools_.find(name)->second;
    if (p.spec)
      for (const auto& t : p.spec->targets) {
        if (t.pool.empty() || !pools_.count(t.pool)) continue;
        const Color c = color[t.pool];
        if (c == White) {
          self(self, t.pool);
        } else if (c == Grey) {  // back edge: the stack from t.pool to here is a cycle
          auto from = std::find(stack.begin(), stack.end(), t.pool);
          std::string path;
          for (auto it = from; it != stack.end(); ++it) {
            path += quoted(*it) + " -> ";
            pools_.find(*it)->second.usable = false;
          }
          error(t.pool_loc, "pools refer to each other in a cycle: " + path + quoted(t.pool));
        }
      }
    stack.pop_back();
    color[name] = Black;
  };
  for (const auto& [name, p] : pools_)
    if (color[name] == White) visit(visit, name);
  for (bool changed = true; changed;) {
    changed = false;
    for (auto& [name, p] : pools_) {
      if (!p.usable || !p.spec) continue;
      for (const auto& t : p.spec->targets) {
        if (t.pool.empty()) continue;
        auto it = pools_.find(t.pool);
        if (it == pools_.end() || !it->second.usable) {
          p.usable = false;
          changed = true;
          break;
        }
      }
    }
  }
}

void PolicyLoader::read_checks(const toml::node& node) {
  read_check_table(file_, node, zone_health_.checks, errors_);
}

void PolicyLoader::finish() {
  const auto& local = zone_health_.checks;
  if (server_checks_)
    for (const auto& [name, where] : check_refs_)
      if (!find_check(local, name) && !find_check(*server_checks_, name))
        error(where, "unknown check " + quoted(name) + " (declare it as [checks." + name +
                         "] in this zone file or in the server configuration)");
  validate_check_set(local, server_checks_, server_checks_ != nullptr, errors_);
}

void PolicyLoader::apply_checks() const {
  for (const auto& c : zone_health_.checks)
    if (c.type == CheckType::Manual) health_.set(c.name, c.state);
}

// ---------------------------------------------------------------- compiling

std::optional<std::uint16_t> PolicyLoader::value_index(const ValueSpec& v, Build& b, const std::string& pool_name) {
  std::string wire, err;
  if (!rdata_from_text(b.type, v.text, origin_, wire, err)) {
    if (!pool_name.empty()) err += " (in pool " + quoted(pool_name) + ", used by " + b.user + ")";
    error(v.loc, std::move(err));
    b.ok = false;
    return std::nullopt;
  }
  auto it = std::find(b.rdata.begin(), b.rdata.end(), wire);
  if (it != b.rdata.end()) return static_cast<std::uint16_t>(it - b.rdata.begin());
  b.rdata.push_back(std::move(wire));
  return static_cast<std::uint16_t>(b.rdata.size() - 1);
}

std::optional<std::uint16_t> PolicyLoader::cname_index(const TargetSpec& ts, Build& b, const std::string& pool_name) {
  std::string problem;
  if (b.type == rrtype::CNAME)
    problem = "a CNAME policy cannot have cname targets: its records are CNAMEs already (use value = " +
              quoted(ts.cname) + ")";
  else if (b.type == rrtype::DNAME)
    problem = "a DNAME policy cannot have cname targets: a CNAME cannot stand in for a DNAME (use value)";
  else if (b.type == rrtype::NS)
    problem = "an NS policy cannot have cname targets: a CNAME cannot stand in for NS records";
  else if (!b.owner.empty() && names_equal(b.owner, origin_))
    problem = "a cname target cannot be used at the zone apex " + name_to_text(origin_) +
              ": a CNAME cannot coexist with the SOA and NS records there";
  else if (!b.owner.empty() && names_equal(b.owner, ts.cname_wire))
    problem = "cname " + quoted(ts.cname) + " is the RRset's own name (a CNAME loop)";
  if (!problem.empty()) {
    if (!pool_name.empty()) problem += " (in pool " + quoted(pool_name) + ", used by " + b.user + ")";
    error(ts.cname_loc, std::move(problem));
    b.ok = false;
    return std::nullopt;
  }
  for (std::size_t i = 0; i < b.cnames.size(); ++i)
    if (names_equal(b.cnames[i], ts.cname_wire)) return static_cast<std::uint16_t>(i);
  b.cnames.push_back(ts.cname_wire);
  return static_cast<std::uint16_t>(b.cnames.size() - 1);
}

std::optional<PolicyLoader::Compiled> PolicyLoader::compile(const Spec& spec, Build& b, const std::string& pool_name) {
  if (std::find(b.pools_in_use.begin(), b.pools_in_use.end(), pool_name) != b.pools_in_use.end()) {
    b.ok = false;  // a cycle; reported by check_pool_graph
    return std::nullopt;
  }
  b.pools_in_use.push_back(pool_name);
  const std::string why_no_cname = combining(spec);
  std::vector<policy::Target> targets;
  std::vector<std::size_t> maxes;  // most records per target
  bool cname = false;              // some target can answer with a CNAME
  SourceLoc cname_loc;
  for (const auto& ts : spec.targets) {
    policy::Target t;
    t.weight = ts.weight;
    if (!ts.check.empty()) {
      t.check = health_.cell(ts.check);
      t.check_name = ts.check;
      if (std::find(b.checks.begin(), b.checks.end(), ts.check) == b.checks.end()) b.checks.push_back(ts.check);
    }
    if (!ts.cname.empty()) {
      t.label = "CNAME " + name_to_text(ts.cname_wire);
    } else if (!ts.pool.empty()) {
      t.label = "pool " + quoted(ts.pool);
    } else {
      for (const auto& v : ts.values) t.label += (t.label.empty() ? "" : ", ") + v.text;
    }
    if (!ts.cname.empty()) {
      auto i = cname_index(ts, b, pool_name);
      if (!i) continue;
      t.cname = *i;
      maxes.push_back(1);
      if (!cname) cname_loc = ts.cname_loc;
      cname = true;
    } else if (!ts.pool.empty()) {
      auto it = pools_.find(ts.pool);
      if (it == pools_.end()) {
        error(ts.pool_loc, "unknown pool " + quoted(ts.pool) + " (define it as [pools." + ts.pool + "])");
        b.ok = false;
        continue;
      }
      if (!it->second.usable) {
        b.ok = false;
        continue;
      }
      auto child = compile(*it->second.spec, b, ts.pool);
      if (!child) continue;
      if (child->cname) {
        if (!why_no_cname.empty()) {  // the rule for cname targets, through pools
          error(ts.pool_loc, "pool " + quoted(ts.pool) + " can answer with a CNAME (the cname target at line " +
                                 std::to_string(child->cname_loc.line) + "), but " + why_no_cname +
                                 ", and a CNAME must be alone in an answer");
          b.ok = false;
        }
        if (!cname) cname_loc = child->cname_loc;
        cname = true;
      }
      t.pool = std::move(child->policy);
      maxes.push_back(child->max_records);
    } else {
      for (const auto& v : ts.values)
        if (auto i = value_index(v, b, pool_name))
          if (std::find(t.values.begin(), t.values.end(), *i) == t.values.end()) t.values.push_back(*i);
      maxes.push_back(t.values.size());
    }
    targets.push_back(std::move(t));
  }
  b.pools_in_use.pop_back();
  if (!b.ok || b.rdata.size() > kMaxPolicyRecords) return std::nullopt;

  Compiled c;
  c.cname = cname;
  c.cname_loc = cname_loc;
  std::size_t sum = 0, most = 0;
  for (std::size_t m : maxes) {
    sum += m;
    most = std::max(most, m);
  }
  switch (spec.kind) {
    case Kind::Simple:
      c.policy = policy::make_simple(std::move(targets));
      c.max_records = sum;
      break;
    case Kind::Failover:
      c.policy = policy::make_failover(std::move(targets));
      c.max_records = most;
      break;
    case Kind::Weighted: {
      std::sort(maxes.begin(), maxes.end(), std::greater<>());
      for (std::size_t i = 0; i < maxes.size() && i < spec.answers; ++i) c.max_records += maxes[i];
      c.policy = policy::make_weighted(std::move(targets), spec.answers);
      break;
    }
    case Kind::Multivalue:
      c.policy = policy::make_multivalue(std::move(targets), spec.answers);
      c.max_records = std::min<std::size_t>(sum, spec.answers);
      break;
    case Kind::Geolocation: {
      std::vector<policy::GeoMatch> matches;
      for (std::size_t i = 0; i < spec.targets.size(); ++i)
        for (const auto& m : spec.targets[i].matches) {
          matches.push_back(m.match);
          matches.back().target = static_cast<std::uint16_t>(i);
        }
      c.policy = policy::make_geolocation(std::move(targets), std::move(matches));
      c.max_records = most;
      break;
    }
    case Kind::Latency: {
      std::vector<policy::LatencyRegion> regions;
      for (const auto& ts : spec.targets) regions.push_back(ts.region);
      c.policy = policy::make_latency(std::move(targets), std::move(regions));
      c.max_records = most;
      break;
    }
  }
  return c;
}

std::optional<PolicyRRset> PolicyLoader::read_rrset(const toml::table& t, const toml::key& type_key,
                                                     std::uint16_t type, std::uint32_t ttl,
                                                     const std::string& owner_text) {
  const std::size_t before = errors_.size();
  const std::string where(type_key.str());
  const SourceLoc table_loc = loc(type_key);
  const Spec spec = read_spec(t, table_loc, where, false);

  PolicyRRset out;
  out.ttl = ttl;
  if (const toml::node* n = t.get("ttl_when_degraded")) {
    const auto* i = n->as_integer();
    if (!i || i->get() < 1 || i->get() > static_cast<std::int64_t>(kMaxTtl))
      error(loc(*n), "'ttl_when_degraded' must be an integer from 1 to 2147483647 (leave it out to keep the TTL)");
    else if (static_cast<std::uint32_t>(i->get()) > ttl)
      error(loc(*n), "'ttl_when_degraded' (" + std::to_string(i->get()) + ") is more than the TTL (" +
                         std::to_string(ttl) + ")");
    else out.ttl_when_degraded = static_cast<std::uint32_t>(i->get());
  }
  Build b;
  b.type = type;
  b.user = owner_text + " " + rr_type_name(type) + " at " + file_ + ":" + std::to_string(table_loc.line);
  b.owner = name_from_text(owner_text, origin_, nullptr).value_or(std::string());
  // Compiled even after errors, so bad values and unknown pools are reported too.
  auto compiled = compile(spec, b, "");
  if (b.rdata.size() > kMaxPolicyRecords) {
    error(table_loc, owner_text + " " + rr_type_name(type) + ": the policy's targets hold " +
                         std::to_string(b.rdata.size()) + " distinct records; at most " +
                         std::to_string(kMaxPolicyRecords) + " are allowed");
    return std::nullopt;
  }
  if (b.cnames.size() > kMaxPolicyRecords) {
    error(table_loc, owner_text + " " + rr_type_name(type) + ": the policy's targets hold " +
                         std::to_string(b.cnames.size()) + " distinct cname targets; at most " +
                         std::to_string(kMaxPolicyRecords) + " are allowed");
    return std::nullopt;
  }
  if (!compiled || !spec.ok || errors_.size() != before) return std::nullopt;
  const bool has_pool = std::any_of(spec.targets.begin(), spec.targets.end(),
                                    [](const TargetSpec& ts) { return !ts.pool.empty(); });
  if (spec.kind == Kind::Simple && !has_pool) {
    // A plain RRset: the query path's round robin does the same.
    out.rdata = std::move(b.rdata);
    return out;
  }
  if ((type == rrtype::CNAME || type == rrtype::DNAME) && compiled->max_records > 1) {
    error(table_loc, owner_text + " " + rr_type_name(type) + ": a " + rr_type_name(type) +
                         " policy must give one record per answer (one value per target, answers = 1)");
    return std::nullopt;
  }
  out.rdata = std::move(b.rdata);
  out.cname_targets = std::move(b.cnames);
  out.policy = std::shared_ptr<const Policy>(std::move(compiled->policy));
  if (!b.checks.empty()) {
    const std::string label = (b.owner.empty() ? owner_text : name_to_text(b.owner)) + " " + rr_type_name(type);
    for (const auto& c : b.checks) zone_health_.steers[c].push_back(label);
    zone_health_.policies.push_back({label, out.policy, b.checks});
  }
  return out;
}

}  // namespace meridian
