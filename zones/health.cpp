#include "zones/health.hpp"

#include <fnmatch.h>

namespace meridian {

HealthRegistry& HealthRegistry::global() {
  static HealthRegistry* const registry = new HealthRegistry;  // intentionally leaked
  return *registry;
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
  std::lock_guard lock(mu_);
  const std::string pat(pattern);
  std::vector<std::string> hit;
  for (auto& [name, c] : by_name_) {
    if (fnmatch(pat.c_str(), name.c_str(), 0) != 0) continue;
    c->override = s;
    c->publish();
    hit.push_back(name);
  }
  return hit;
}

std::optional<HealthState> HealthRegistry::get(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return static_cast<HealthState>(it->second->effective.load(std::memory_order_relaxed));
}

std::vector<HealthRegistry::Entry> HealthRegistry::list() const {
  std::lock_guard lock(mu_);
  std::vector<Entry> out;
  out.reserve(by_name_.size());
  for (const auto& [name, c] : by_name_)
    out.push_back({name, static_cast<HealthState>(c->effective.load(std::memory_order_relaxed)), c->configured,
                   c->override});
  return out;
}

std::optional<HealthState> health_state_from_text(std::string_view s) {
  if (s == "up") return HealthState::Up;
  if (s == "down") return HealthState::Down;
  return std::nullopt;
}

std::string_view health_state_name(HealthState s) { return s == HealthState::Up ? "up" : "down"; }

}  // namespace meridian
