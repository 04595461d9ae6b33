#pragma once
// Health state of named checks, shared by every zone and worker. Names are
// registered at load time (a mutex, never taken on the query path); each
// name owns one atomic byte whose address never changes, so compiled
// policies keep a pointer to it and the query path reads it with one relaxed
// load. The health-check subsystem and admin overrides write it.
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meridian {

enum class HealthState : std::uint8_t { Up = 0, Down = 1 };

class HealthRegistry {
 public:
  // The process-wide registry used by the zone loader and the server. Never
  // destroyed, so workers still running at exit read valid cells.
  static HealthRegistry& global();

  // The cell of `name`, registering it (state Up) when new. The pointer
  // stays valid for the registry's lifetime.
  const std::atomic<std::uint8_t>* cell(std::string_view name);
  // Sets the configured (or, later, probed) state of `name`, registering it
  // when new. An admin override, if any, still wins.
  void set(std::string_view name, HealthState s);
  // Admin override (`meridian ctl state NAME up|down|auto`): a state wins
  // over configuration and probes; nullopt ("auto") returns to them.
  // `pattern` is a shell glob over registered names; returns the names hit.
  std::vector<std::string> set_override(std::string_view pattern, std::optional<HealthState> s);
  // The effective state; nullopt when `name` was never registered.
  std::optional<HealthState> get(std::string_view name) const;

  struct Entry {
    std::string name;
    HealthState state;                    // effective
    HealthState configured;               // from config, zones (later: probes)
    std::optional<HealthState> override;  // from the admin
  };
  // Every registered check, sorted by name.
  std::vector<Entry> list() const;

 private:
  struct Cell {
    std::atomic<std::uint8_t> effective{0};
    HealthState configured = HealthState::Up;
    std::optional<HealthState> override;
    void publish() {
      effective.store(static_cast<std::uint8_t>(override.value_or(configured)), std::memory_order_relaxed);
    }
  };
  Cell& cell_locked(std::string_view name);

  mutable std::mutex mu_;
  std::deque<Cell> cells_;  // a deque never moves its elements
  std::map<std::string, Cell*, std::less<>> by_name_;
};

// Reads a cell on the query path; a null cell (no check) is up.
inline bool health_up(const std::atomic<std::uint8_t>* cell) {
  return !cell || cell->load(std::memory_order_relaxed) == static_cast<std::uint8_t>(HealthState::Up);
}

// "up" / "down" <-> HealthState.
std::optional<HealthState> health_state_from_text(std::string_view s);
std::string_view health_state_name(HealthState s);

}  // namespace meridian
