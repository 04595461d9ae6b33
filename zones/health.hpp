#pragma once
// Health state of named checks, shared by every zone and worker. Names are
// registered at load time (a mutex, never taken on the query path); each
// name owns one atomic byte whose address never changes, so compiled
// policies keep a pointer to it and the query path reads it with one relaxed
// load. The health checker (server/health_checker.*), manual states from
// the configuration and admin overrides write it; the admin endpoint reads
// the rest (last result, reason, last change, what each check steers).
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
  // Sets the configured (manual, probed or calculated) state of `name`,
  // registering it when new. An admin override, if any, still wins.
  void set(std::string_view name, HealthState s);
  // Admin override (`meridian ctl state NAME up|down|auto`): a state wins
  // over configuration and probes; nullopt ("auto") returns to them.
  // `pattern` is a shell glob over registered names; returns the names hit.
  std::vector<std::string> set_override(std::string_view pattern, std::optional<HealthState> s);
  // The override of exactly `name` (registering it), as restored from the
  // state file at start.
  void restore_override(std::string_view name, HealthState s);
  // Every override in force, sorted by name (what the state file holds).
  std::vector<std::pair<std::string, HealthState>> overrides() const;
  // Called (on the overriding thread, without the registry's lock) after
  // any override changes; the health checker recomputes calculated checks.
  void set_override_listener(std::function<void()> f);

  // The effective state; nullopt when `name` was never registered.
  std::optional<HealthState> get(std::string_view name) const;
  // The configured state (without the override); nullopt when unknown.
  std::optional<HealthState> configured(std::string_view name) const;

  // What the health subsystem knows about a check, for the admin endpoint.
  // `declare` registers a definition ("http", "http://..."); `undeclare`
  // marks a check no longer defined (state back to up, result cleared).
  void declare(std::string_view name, std::string_view type, std::string_view target);
  void undeclare(std::string_view name);
  // The outcome of one probe (or calculation): ok or not, and why.
  void report(std::string_view name, bool ok, std::string_view reason);
  // Which names each check steers ("api.example.com. A"), from the zones.
  void set_steers(std::map<std::string, std::vector<std::string>, std::less<>> steers);

  struct Entry {
    std::string name;
    HealthState state;                    // effective
    HealthState configured;               // manual, probed or calculated
    std::optional<HealthState> override;  // from the admin
    std::string type;                     // "http", "manual", "all"...; empty: not declared
    std::string target;                   // what is probed
    std::optional<bool> last_ok;          // last result; nullopt: none yet
    std::string reason;                   // of the last result
    std::int64_t last_check_ms = 0;       // Unix time of the last result; 0: none
    std::int64_t last_change_ms = 0;      // Unix time the effective state last changed; 0: never
    std::vector<std::string> steers;      // "api.example.com. A", ...
    std::uint64_t transitions = 0;        // effective-state changes since start (metrics)
  };
  // Every registered check, sorted by name.
  std::vector<Entry> list() const;

 private:
  struct Cell {
    std::atomic<std::uint8_t> effective{0};
    HealthState configured = HealthState::Up;
    std::optional<HealthState> override;
    std::string type, target, reason;
    std::optional<bool> last_ok;
    std::int64_t last_check_ms = 0, last_change_ms = 0;
    std::uint64_t transitions = 0;
    void publish();
  };
  Cell& cell_locked(std::string_view name);
  void notify_override();

  mutable std::mutex mu_;
  std::deque<Cell> cells_;  // a deque never moves its elements
  std::map<std::string, Cell*, std::less<>> by_name_;
  std::map<std::string, std::vector<std::string>, std::less<>> steers_;
  std::function<void()> listener_;
  std::mutex listener_mu_;
};

// Reads a cell on the query path; a null cell (no check) is up.
inline bool health_up(const std::atomic<std::uint8_t>* cell) {
  return !cell || cell->load(std::memory_order_relaxed) == static_cast<std::uint8_t>(HealthState::Up);
}

// "up" / "down" <-> HealthState.
std::optional<HealthState> health_state_from_text(std::string_view s);
std::string_view health_state_name(HealthState s);

// Milliseconds since the Unix epoch (the registry's timestamps).
std::int64_t unix_ms_now();

}  // namespace meridian
