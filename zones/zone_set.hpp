#pragma once
// All served zones, as one immutable snapshot. The front end holds a pointer
// to the current ZoneSet; reload builds a new one and swaps it atomically.
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "geo/geoip_db.hpp"
#include "zones/check_spec.hpp"
#include "zones/diagnostic.hpp"
#include "zones/zone.hpp"
#include "zones/zone_metric_slot.hpp"

namespace meridian {

// Where a zone came from: what reload compares to skip unchanged files.
struct ZoneSource {
  std::uint64_t content_hash = 0;  // of the file's bytes when this version loaded
  std::int64_t loaded_unix_ms = 0;
};

struct ZoneSet {
  // Up to this many zones, find_for compares origins directly; above, it
  // looks up each suffix of the name in `by_origin`.
  static constexpr std::size_t kLinearZones = 8;
  std::vector<ZonePtr> zones;
  std::vector<ZoneSource> sources;  // parallel to `zones`
  std::unordered_map<std::string, std::size_t, NameHash, std::equal_to<>> by_origin;
  // The GeoIP databases this snapshot answers with: swapped with the zones,
  // so a database reload is as atomic as a zone reload. Null: use
  // AnswerConfig::geo (unit tests and `explain`, which build sets by hand).
  GeoIpPtr geo;
  // What find_for reads, per zone, flat: the origin's octets (when short)
  // beside its zone and slot, so choosing the zone touches one or two
  // cache lines instead of a shared_ptr, a Zone and a string per zone.
  struct OriginKey {
    const Zone* zone;
    std::uint16_t metric_slot;  // the zone's stable metrics label slot
    std::uint8_t len;
    char origin[21];  // the first `len` octets, when len <= 21
  };
  std::vector<OriginKey> origin_keys;  // parallel to `zones`

  // The zone with the longest origin that is a suffix of `qname` (lower-case
  // wire), or null when we serve none. The second form also gives the
  // zone's metric slot (kZoneSlotNone when null).
  const Zone* find_for(std::string_view qname) const;
  const Zone* find_for(std::string_view qname, std::uint16_t& metric_slot) const;
  // The same, with the name's label starts already known (the query parser
  // records them while it reads the name).
  const Zone* find_for(std::string_view qname, const LabelStarts& starts, std::uint16_t& metric_slot) const;
  void add(ZonePtr z, ZoneSource src = {}) {
    by_origin.emplace(z->origin, zones.size());
    OriginKey k{z.get(), zone_metric_slot(z->origin_text), static_cast<std::uint8_t>(z->origin.size()), {}};
    if (k.len <= sizeof k.origin) std::memcpy(k.origin, z->origin.data(), k.len);
    origin_keys.push_back(k);
    zones.push_back(std::move(z));
    sources.push_back(src);
  }
  const ZoneSource* source_of(const Zone& z) const {
    auto it = by_origin.find(z.origin);
    return it == by_origin.end() ? nullptr : &sources[it->second];
  }
};

using ZoneSetPtr = std::shared_ptr<const ZoneSet>;

struct ZoneDirOptions {
  // The previous snapshot. A file whose bytes are unchanged keeps its
  // compiled zone (nothing recompiled); a file that fails keeps its previous
  // version serving (a broken edit never takes a zone down); serial = "auto"
  // is kept above the previous serial.
  const ZoneSet* previous = nullptr;
  const std::vector<CheckSpec>* server_checks = nullptr;  // see ZoneLoadOptions
  // Non-empty (lower-case wire origin): reload only that zone; every other
  // zone of `previous` is kept as it is, files not yet served are skipped.
  std::string only_origin;
};

// Loads every *.toml file in `dir` (sorted by name). A file with errors has
// its errors appended and is left out unless a previous version serves.
// Two files with the same origin is an error too, and so is a
// [checks.NAME] that an earlier zone defines differently (check names are
// shared by all zones). `recompiled` (optional) counts zones compiled anew.
std::shared_ptr<ZoneSet> load_zone_dir(const std::string& dir, Diagnostics& errors,
                                       const ZoneDirOptions& opts = {}, std::size_t* recompiled = nullptr);

}  // namespace meridian
