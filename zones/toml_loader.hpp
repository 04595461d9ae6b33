#pragma once
// Reads one zone written in Meridian's TOML format (docs/zone-format.md) and
// compiles it through ZoneBuilder. All problems found are reported, each with
// file:line:col, not just the first.
#include <cstdint>
#include <string>
#include <string_view>

#include "zones/check_spec.hpp"
#include "zones/diagnostic.hpp"
#include "zones/zone.hpp"

namespace meridian {

struct ZoneLoadResult {
  ZonePtr zone;        // null when errors is not empty
  Diagnostics errors;
  // The [records] tables were read by the streaming scanner instead of
  // toml++'s tree (zones/toml_records_scan.hpp); for tests and benchmarks.
  bool streamed = false;
};

struct ZoneLoadOptions {
  // The server configuration's health checks. When set, every check a
  // target names must be defined there or in the zone's [checks] (as the
  // server and `meridian check` load zones); null: names are not resolved.
  const std::vector<CheckSpec>* server_checks = nullptr;
  // serial = "auto" is at least this (0: no floor). Reload passes the
  // served serial + 1 when the file's content changed.
  std::uint32_t min_auto_serial = 0;
  // Read the whole file with toml++, never the streaming scanner (tests
  // compare the two paths).
  bool tree_only = false;
};

// Reads a whole zone file; false with a reason (errno text) when it can't.
bool read_zone_file(const std::string& path, std::string& text, long long& mtime, std::string& error);

ZoneLoadResult load_toml_zone_file(const std::string& path, const ZoneLoadOptions& opts = {});
// `display_path` is used in diagnostics; `mtime` feeds serial = "auto".
ZoneLoadResult load_toml_zone_text(std::string_view text, const std::string& display_path,
                                   long long mtime = 0, const ZoneLoadOptions& opts = {});

}  // namespace meridian
