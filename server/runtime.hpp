#pragma once
// Everything `serve`, `check` and `explain` load, in the order that matters:
// config -> GeoIP databases -> regions -> latency table -> zones (zones
// resolve check names and regions while they load) -> health checks (the
// config's and the zones' [checks], reconciled with the health checker).
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "server/config.hpp"
#include "server/health_checker.hpp"
#include "server/snapshot.hpp"
#include "zones/diagnostic.hpp"

namespace meridian {

class Runtime {
 public:
  Runtime();
  ~Runtime();
  // Loads config, GeoIP and latency data. False on a fatal error (bad config,
  // missing or corrupt database): the server must not start half-configured.
  bool load_config(const std::string& path, Diagnostics& errors);
  // Loads (or reloads) every zone; a zone that fails keeps its previous
  // version. Hands every check definition to the health checker (which
  // keeps unchanged checks and their state), records what each check
  // steers, and publishes the new snapshot. Serialized: SIGHUP and
  // `ctl reload` may race.
  // `only_zone` (text, "example.com." or "example.com"): reload that zone
  // alone. Returns true when every file loaded cleanly.
  bool load_zones(Diagnostics& errors, const std::string& only_zone = "");

  // Reopens the [geoip] databases (after they changed on disk) and publishes
  // them with the current zones. On failure the old databases keep serving.
  bool reload_geoip(Diagnostics& errors);

  // What the last reload did, for `ctl status` and metrics.
  struct ReloadStatus {
    std::uint64_t reloads = 0;        // attempts, the first load included
    std::uint64_t failures = 0;       // attempts with at least one error
    std::int64_t last_unix_ms = 0;    // last attempt
    std::int64_t last_ok_unix_ms = 0; // last attempt without errors
    std::size_t last_recompiled = 0;  // zones compiled anew by the last attempt
    std::vector<std::string> last_errors;  // file:line: reason, of the last attempt
  };
  ReloadStatus reload_status() const;

  // Admin overrides in the state file ([admin] state_file; nothing when
  // unset). restore_overrides() runs once at start, after the zones load.
  void restore_overrides();
  bool save_overrides(std::string& error);

  // Starts the health checker's thread (`serve` only).
  bool start_health(std::string& error);

  // Logs policy RRsets whose targets are all down (answers fail open) and
  // those that recover, once the health checker runs. Any thread; the
  // checker calls it after every state change.
  void report_fail_open();

  ServerConfig& config() { return cfg_; }
  SnapshotBox& box() { return box_; }
  HealthChecker& checker() { return checker_; }
  std::chrono::steady_clock::time_point started() const { return started_; }
  std::uint64_t reloads() const { return reload_status().reloads; }
  // Loads that reported an error, and Unix time of the last one without (0: none).
  std::uint64_t reload_failures() const { return reload_status().failures; }
  std::int64_t last_reload_ok_unix() const { return reload_status().last_ok_unix_ms / 1000; }

 private:
  ServerConfig cfg_;
  SnapshotBox box_;
  HealthChecker checker_;
  std::mutex reload_mu_;  // one reload at a time (SIGHUP, watcher, admin)
  void publish(std::shared_ptr<ZoneSet> next, const Diagnostics& errors, std::size_t recompiled);
  mutable std::mutex status_mu_;
  ReloadStatus status_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::atomic<bool> serving_{false};
  std::mutex fail_open_mu_;
  std::set<std::string> fail_open_;  // labels of policy RRsets answering fail-open
  std::mutex state_file_mu_;
};

}  // namespace meridian
