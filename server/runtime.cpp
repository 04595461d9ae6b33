#include "server/runtime.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "geo/geoip_db.hpp"
#include "geo/latency_model.hpp"
#include "geo/regions.hpp"
#include "server/log.hpp"
#include "zones/policy.hpp"

namespace meridian {

Runtime::Runtime() {
  checker_.set_on_change([this] { report_fail_open(); });
}

Runtime::~Runtime() { checker_.stop(); }  // before the members its thread uses

bool Runtime::start_health(std::string& error) {
  if (!checker_.start(error)) return false;
  serving_ = true;
  report_fail_open();
  return true;
}

bool Runtime::load_config(const std::string& path, Diagnostics& errors) {
  if (!meridian::load_config(path, cfg_, errors)) return false;
  if (!cfg_.geoip_databases.empty()) {
    auto db = std::make_shared<GeoIpDb>();
    std::string error;
    if (!db->open(cfg_.geoip_databases, error)) {
      errors.push_back({{cfg_.file, 0, 0}, "geoip: " + error});
      return false;
    }
    cfg_.answer.geo = std::move(db);
  }
  RegionRegistry::global().set(cfg_.regions);
  if (!cfg_.latency_table.empty()) {
    auto model = std::make_shared<LatencyModel>();
    if (!model->load_csv(cfg_.latency_table, cfg_.regions, errors)) return false;
    cfg_.answer.latency = std::move(model);
  }
  return true;
}

void Runtime::load_zones(Diagnostics& errors) {
  {
    std::lock_guard lock(reload_mu_);
    const std::size_t errors_before = errors.size();
    ZoneSetPtr prev = box_.get();
    ZoneSetPtr next = load_zone_dir(cfg_.zones_dir, errors, prev.get(), &cfg_.checks);
    // Every definition once (load_zone_dir rejected conflicting ones), and
    // what each check steers over all zones.
    std::vector<CheckSpec> specs = cfg_.checks;
    std::map<std::string, std::vector<std::string>, std::less<>> steers;
    for (const auto& z : next->zones) {
      if (!z->health) continue;
      for (const auto& c : z->health->checks)
        if (!find_check(specs, c.name)) specs.push_back(c);
      for (const auto& [name, labels] : z->health->steers)
        steers[name].insert(steers[name].end(), labels.begin(), labels.end());
    }
    // Before publishing, so a new check's initial state is in place for
    // the first query that reads it.
    checker_.reconcile(specs);
    HealthRegistry::global().set_steers(std::move(steers));
    box_.publish(std::move(next));
    ++reloads_;
    if (errors.size() != errors_before) ++reload_failures_;
    else last_reload_ok_unix_ = unix_ms_now() / 1000;
  }
  report_fail_open();
}

void Runtime::report_fail_open() {
  if (!serving_) return;
  ZoneSetPtr zones = box_.get();
  if (!zones) return;
  std::set<std::string> now;
  std::map<std::string, std::string> why;
  for (const auto& z : zones->zones) {
    if (!z->health) continue;
    for (const auto& p : z->health->policies) {
      if (p.policy->any_up()) continue;
      now.insert(p.label);
      std::string checks;
      for (const auto& c : p.checks) checks += (checks.empty() ? "" : ", ") + c;
      why[p.label] = checks;
    }
  }
  std::lock_guard lock(fail_open_mu_);
  for (const auto& label : now)
    if (!fail_open_.count(label))
      log::warn("degraded: {} has no healthy target (checks: {}); answering fail-open", label, why[label]);
  for (const auto& label : fail_open_)
    if (!now.count(label)) log::info("{}: a target is healthy again; no longer failing open", label);
  fail_open_ = std::move(now);
}

void Runtime::restore_overrides() {
  if (cfg_.state_file.empty()) return;
  std::lock_guard lock(state_file_mu_);
  std::ifstream in(cfg_.state_file);
  if (!in) return;  // first start: nothing saved yet
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("overrides") || !j["overrides"].is_object()) {
    log::warn("state file {}: not a Meridian state file; ignored", cfg_.state_file);
    return;
  }
  for (const auto& [name, v] : j["overrides"].items()) {
    auto s = v.is_string() ? health_state_from_text(v.get<std::string>()) : std::nullopt;
    if (!s) {
      log::warn("state file {}: override of {} is not up or down; ignored", cfg_.state_file, name);
      continue;
    }
    HealthRegistry::global().restore_override(name, *s);
    log::info("admin: check {} set to {} (restored from {})", name, health_state_name(*s), cfg_.state_file);
  }
}

bool Runtime::save_overrides(std::string& error) {
  if (cfg_.state_file.empty()) return true;
  std::lock_guard lock(state_file_mu_);
  nlohmann::json o = nlohmann::json::object();
  for (const auto& [name, s] : HealthRegistry::global().overrides()) o[name] = health_state_name(s);
  const std::string text = nlohmann::json{{"overrides", o}}.dump(2) + "\n";
  const std::string tmp = cfg_.state_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      error = "cannot write " + tmp;
      return false;
    }
  }
  if (std::rename(tmp.c_str(), cfg_.state_file.c_str()) != 0) {  // atomic: never a half-written file
    error = "cannot replace " + cfg_.state_file;
    return false;
  }
  return true;
}

}  // namespace meridian
