#pragma once
// Stable metric slots for zone labels. Per-worker query counters are a dense
// array indexed by zone; indexing by position in the current ZoneSet would
// move a zone's counts to another zone's label when a reload adds or removes
// a zone, and Prometheus counters must never jump. So each zone origin gets
// a slot the first time any ZoneSet holds it, kept for the process lifetime
// (a zone removed and added back keeps its slot). Slots are assigned at load
// time under a mutex, never on the query path. Past kZoneMetricSlots
// distinct origins, zones share the "other" slot: the label set stays bounded.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace meridian {

inline constexpr std::uint16_t kZoneMetricSlots = 256;                     // named zones
inline constexpr std::uint16_t kZoneSlotOther = kZoneMetricSlots;          // zones past the limit
inline constexpr std::uint16_t kZoneSlotNone = kZoneMetricSlots + 1;       // REFUSED, CHAOS, FORMERR...
inline constexpr std::uint16_t kZoneSlotCount = kZoneMetricSlots + 2;

// The slot of `origin_text` ("example.com."), assigning the next free one.
std::uint16_t zone_metric_slot(std::string_view origin_text);
// Origin of every assigned slot, by slot number.
std::vector<std::string> zone_metric_slot_names();

}  // namespace meridian
