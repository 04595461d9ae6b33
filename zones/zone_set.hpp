#pragma once
// All served zones, as one immutable snapshot. The front end holds a pointer
// to the current ZoneSet; reload builds a new one and swaps it atomically.
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "zones/check_spec.hpp"
#include "zones/diagnostic.hpp"
#include "zones/zone.hpp"
#include "zones/zone_metric_slot.hpp"

namespace meridian {

struct ZoneSet {
  std::vector<ZonePtr> zones;
  std::unordered_map<std::string, std::size_t, NameHash, std::equal_to<>> by_origin;
  std::vector<std::uint16_t> metric_slots;  // per zone: its stable metrics label slot

  // The zone with the longest origin that is a suffix of `qname` (lower-case
  // wire), or null when we serve none. The second form also gives the
  // zone's metric slot (kZoneSlotNone when null).
  const Zone* find_for(std::string_view qname) const;
  const Zone* find_for(std::string_view qname, std::uint16_t& metric_slot) const;
  void add(ZonePtr z) {
    by_origin.emplace(z->origin, zones.size());
    metric_slots.push_back(zone_metric_slot(z->origin_text));
    zones.push_back(std::move(z));
  }
};

using ZoneSetPtr = std::shared_ptr<const ZoneSet>;

// Loads every *.toml file in `dir` (sorted by name). A file with errors has
// its errors appended and is left out -- unless `previous` holds a zone
// loaded from the same file, which then keeps serving (a broken edit never
// takes a zone down). Two files with the same origin is an error too, and
// so is a [checks.NAME] that an earlier zone defines differently (check
// names are shared by all zones). `server_checks`: see ZoneLoadOptions.
ZoneSetPtr load_zone_dir(const std::string& dir, Diagnostics& errors, const ZoneSet* previous = nullptr,
                         const std::vector<CheckSpec>* server_checks = nullptr);

}  // namespace meridian
