#include "zones/health.hpp"

namespace meridian {

HealthRegistry& HealthRegistry::global() {
  static HealthRegistry* const registry = new HealthRegistry;  // intentionally leaked
  return *registry;
}

std::atomic<std::uint8_t>& HealthRegistry::cell_locked(std::string_view name) {
  auto it = by_name_.find(name);
  if (it != by_name_.end()) return *it->second;
  std::atomic<std::uint8_t>& c = cells_.emplace_back(static_cast<std::uint8_t>(HealthState::Up));
  by_name_.emplace(std::string(name), &c);
  return c;
}

const std::atomic<std::uint8_t>* HealthRegistry::cell(std::string_view name) {
  std::lock_guard lock(mu_);
  return &cell_locked(name);
}

void HealthRegistry::set(std::string_view name, HealthState s) {
  std::lock_guard lock(mu_);
  cell_locked(name).store(static_cast<std::uint8_t>(s), std::memory_order_relaxed);
}

std::optional<HealthState> HealthRegistry::get(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return static_cast<HealthState>(it->second->load(std::memory_order_relaxed));
}

std::vector<std::pair<std::string, HealthState>> HealthRegistry::list() const {
  std::lock_guard lock(mu_);
  std::vector<std::pair<std::string, HealthState>> out;
  out.reserve(by_name_.size());
  for (const auto& [name, c] : by_name_)
    out.emplace_back(name, static_cast<HealthState>(c->load(std::memory_order_relaxed)));
  return out;
}

std::optional<HealthState> health_state_from_text(std::string_view s) {
  if (s == "up") return HealthState::Up;
  if (s == "down") return HealthState::Down;
  return std::nullopt;
}

std::string_view health_state_name(HealthState s) { return s == HealthState::Up ? "up" : "down"; }

}  // namespace meridian
