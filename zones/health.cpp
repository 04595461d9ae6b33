#include "zones/health.hpp"

#include <fnmatch.h>

#include <chrono>

namespace meridian {

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

HealthRegistry& HealthRegistry::global() {
  static HealthRegistry* const registry = new HealthRegistry;  // intentionally leaked
  return *registry;
}

void HealthRegistry::Cell::publish() {
  const auto next = static_cast<std::uint8_t>(override.value_or(configured));
  if (effective.load(std::memory_order_relaxed) != next) {
    last_change_ms = unix_ms_now();
    ++transitions;
  }
  effective.store(next, std::memory_order_relaxed);
}

HealthRegistry::Cell& HealthRegistry::cell_locked(std::string_view name) {
  auto it = by_name_.find(name);
  if (it != by_name_.end()) return *it->second;
  Cell& c = cells_.emplace_back();
  by_name_.emplace(std::string(name), &c);
  return c;
}

const std::atomic<std::uint8_t>* HealthRegistry::cell(std::string_view name) {
  std::lock_guard lock(mu_);
  return &cell_locked(name).effective;
}

void HealthRegistry::set(std::string_view name, HealthState s) {
  std::lock_guard lock(mu_);
  Cell& c = cell_locked(name);
  c.configured = s;
  c.publish();
}

std::vector<std::string> HealthRegistry::set_override(std::string_view pattern, std::optional<HealthState> s) {
  std::vector<std::string> hit;
  {
    std::lock_guard lock(mu_);
    const std::string pat(pattern);
    for (auto& [name, c] : by_name_) {
      if (fnmatch(pat.c_str(), name.c_str(), 0) != 0) continue;
      c->override = s;
      c->publish();
      hit.push_back(name);
    }
  }
  if (!hit.empty()) notify_override();
  return hit;
}

void HealthRegistry::restore_override(std::string_view name, HealthState s) {
  {
    std::lock_guard lock(mu_);
    Cell& c = cell_locked(name);
    c.override = s;
    c.publish();
  }
  notify_override();
}

std::vector<std::pair<std::string, HealthState>> HealthRegistry::overrides() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, HealthState>> out;
  for (const auto& [name, c] : by_name_)
    if (c->override) out.emplace_back(name, *c->override);
  return out;
}

void HealthRegistry::set_override_listener(std::function<void()> f) {
  std::lock_guard lock(listener_mu_);
  listener_ = std::move(f);
}

void HealthRegistry::notify_override() {
  std::lock_guard lock(listener_mu_);
  if (listener_) listener_();
}

std::optional<HealthState> HealthRegistry::get(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return static_cast<HealthState>(it->second->effective.load(std::memory_order_relaxed));
}

std::optional<HealthState> HealthRegistry::configured(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second->configured;
}

void HealthRegistry::declare(std::string_view name, std::string_view type, std::string_view target) {
  std::lock_guard lock(mu_);
  Cell& c = cell_locked(name);
  if (c.type != type || c.target != target) {
    c.last_ok.reset();
    c.reason.clear();
    c.last_check_ms = 0;
  }
  c.type = type;
  c.target = target;
}

void HealthRegistry::undeclare(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return;
  Cell& c = *it->second;
  c.type.clear();
  c.target.clear();
  c.reason.clear();
  c.last_ok.reset();
  c.last_check_ms = 0;
  c.configured = HealthState::Up;  // a name without a check is up
  c.publish();
}

void HealthRegistry::report(std::string_view name, bool ok, std::string_view reason) {
  std::lock_guard lock(mu_);
  Cell& c = cell_locked(name);
  c.last_ok = ok;
  c.reason = reason;
  c.last_check_ms = unix_ms_now();
}

void HealthRegistry::set_steers(std::map<std::string, std::vector<std::string>, std::less<>> steers) {
  std::lock_guard lock(mu_);
  steers_ = std::move(steers);
}

std::vector<HealthRegistry::Entry> HealthRegistry::list() const {
  std::lock_guard lock(mu_);
  std::vector<Entry> out;
  out.reserve(by_name_.size());
  for (const auto& [name, c] : by_name_) {
    Entry e{name, static_cast<HealthState>(c->effective.load(std::memory_order_relaxed)), c->configured, c->override,
            c->type, c->target, c->last_ok, c->reason, c->last_check_ms, c->last_change_ms, {}};
    if (auto it = steers_.find(name); it != steers_.end()) e.steers = it->second;
    e.transitions = c->transitions;
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<HealthState> health_state_from_text(std::string_view s) {
  if (s == "up") return HealthState::Up;
  if (s == "down") return HealthState::Down;
  return std::nullopt;
}

std::string_view health_state_name(HealthState s) { return s == HealthState::Up ? "up" : "down"; }

}  // namespace meridian
