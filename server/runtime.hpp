#pragma once
// Everything `serve`, `check` and `explain` load, in the order that matters:
// config -> GeoIP databases -> regions -> latency table -> zones (zones
// resolve check names and regions while they load).
#include <chrono>
#include <mutex>
#include <string>

#include "server/config.hpp"
#include "server/snapshot.hpp"
#include "zones/diagnostic.hpp"

namespace meridian {

class Runtime {
 public:
  // Loads config, GeoIP and latency data. False on a fatal error (bad config,
  // missing or corrupt database): the server must not start half-configured.
  bool load_config(const std::string& path, Diagnostics& errors);
  // Loads (or reloads) every zone; a zone that fails keeps its previous
  // version. Publishes the new snapshot. Serialized: SIGHUP and `ctl reload`
  // may race.
  void load_zones(Diagnostics& errors);

  ServerConfig& config() { return cfg_; }
  SnapshotBox& box() { return box_; }
  std::chrono::steady_clock::time_point started() const { return started_; }
  std::uint64_t reloads() const { return reloads_; }

 private:
  ServerConfig cfg_;
  SnapshotBox box_;
  std::mutex reload_mu_;
  std::uint64_t reloads_ = 0;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace meridian
