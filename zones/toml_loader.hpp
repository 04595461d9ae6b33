#pragma once
// Reads one zone written in Meridian's TOML format (docs/zone-format.md) and
// compiles it through ZoneBuilder. All problems found are reported, each with
// file:line:col, not just the first.
#include <string>
#include <string_view>

#include "zones/diagnostic.hpp"
#include "zones/zone.hpp"

namespace meridian {

struct ZoneLoadResult {
  ZonePtr zone;        // null when errors is not empty
  Diagnostics errors;
};

ZoneLoadResult load_toml_zone_file(const std::string& path);
// `display_path` is used in diagnostics; `mtime` feeds serial = "auto".
ZoneLoadResult load_toml_zone_text(std::string_view text, const std::string& display_path,
                                   long long mtime = 0);

}  // namespace meridian
