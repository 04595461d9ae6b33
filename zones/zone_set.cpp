#include "zones/zone_set.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <string_view>
#include <utility>
#include <filesystem>

#include <malloc.h>

#include "zones/health.hpp"
#include "zones/toml_loader.hpp"

namespace meridian {

const Zone* ZoneSet::find_for(std::string_view qname, const LabelStarts& starts,
                              std::uint16_t& metric_slot) const {
  // Few zones (the usual case): compare each origin with the end of the
  // name instead of hashing every suffix of it.
  if (zones.size() <= kLinearZones) {
    const OriginKey* best = nullptr;
    std::size_t best_len = 0;
    for (const OriginKey& k : origin_keys) {
      if (k.len > qname.size() || k.len <= best_len) continue;  // best_len: 0 until a match
      const std::size_t at = qname.size() - k.len;
      const char* o = k.len <= sizeof k.origin ? k.origin : k.zone->origin.data();
      if (starts.test(at) && same_octets(qname.data() + at, o, k.len)) {
        best = &k;
        best_len = k.len;
      }
    }
    metric_slot = best ? best->metric_slot : kZoneSlotNone;
    return best ? best->zone : nullptr;
  }
  for (std::string_view s = qname; !s.empty(); s = parent_name(s)) {
    auto it = by_origin.find(s);
    if (it != by_origin.end()) {
      metric_slot = origin_keys[it->second].metric_slot;
      return zones[it->second].get();
    }
  }
  metric_slot = kZoneSlotNone;
  return nullptr;
}

const Zone* ZoneSet::find_for(std::string_view qname, std::uint16_t& metric_slot) const {
  if (zones.size() > kLinearZones) return find_for(qname, LabelStarts{}, metric_slot);  // starts unused
  return find_for(qname, LabelStarts::of(qname), metric_slot);
}

const Zone* ZoneSet::find_for(std::string_view qname) const {
  std::uint16_t unused;
  return find_for(qname, unused);
}

namespace {

// Errors for each check of `z` that a zone already in `set` defines
// differently (one message per check: the first such zone).
Diagnostics check_conflicts(const Zone& z, const ZoneSet& set) {
  Diagnostics out;
  if (!z.health) return out;
  for (const auto& c : z.health->checks)
    for (const auto& other : set.zones) {
      if (!other->health) continue;
      const std::size_t before = out.size();
      validate_check_set({c}, &other->health->checks, false, out);
      if (out.size() != before) break;
    }
  return out;
}

}  // namespace

namespace {

// The previous zone loaded from `file`, with its source; {null, null} if none.
std::pair<ZonePtr, ZoneSource> previous_from(const ZoneSet* prev, const std::string& file) {
  if (prev)
    for (std::size_t i = 0; i < prev->zones.size(); ++i)
      if (prev->zones[i]->file == file) return {prev->zones[i], prev->sources[i]};
  return {nullptr, {}};
}

}  // namespace

std::shared_ptr<ZoneSet> load_zone_dir(const std::string& dir, Diagnostics& errors, const ZoneDirOptions& opts,
                                       std::size_t* recompiled) {
  namespace fs = std::filesystem;
  auto set = std::make_shared<ZoneSet>();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    errors.push_back({{dir, 0, 0}, "zones directory does not exist or is not a directory"});
    return set;
  }
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".toml") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::size_t compiled_here = 0;
  for (const auto& f : files) {
    auto [prev_zone, prev_src] = previous_from(opts.previous, f);
    ZoneLoadResult r;
    ZoneSource src;
    if (!opts.only_origin.empty() && (!prev_zone || prev_zone->origin != opts.only_origin)) {
      if (!prev_zone) continue;  // a reload of one zone does not pick up new files
      r.zone = prev_zone;
      src = prev_src;
    } else {
      std::string text, error;
      long long mtime = 0;
      if (!read_zone_file(f, text, mtime, error)) {
        r.errors.push_back({{f, 0, 0}, error});
      } else {
        src = {std::hash<std::string_view>{}(text), unix_ms_now()};
        if (prev_zone && prev_src.content_hash == src.content_hash) {
          r.zone = prev_zone;  // unchanged bytes: keep the compiled zone
          src = prev_src;
        } else {
          ZoneLoadOptions lo{opts.server_checks};
          if (prev_zone) lo.min_auto_serial = prev_zone->serial + 1;
          r = load_toml_zone_text(text, f, mtime, lo);
          ++compiled_here;
          if (r.zone && recompiled) ++*recompiled;
        }
      }
    }
    if (r.zone) {
      Diagnostics conflicts = check_conflicts(*r.zone, *set);
      if (!conflicts.empty()) {
        r.errors.insert(r.errors.end(), conflicts.begin(), conflicts.end());
        r.zone.reset();
      }
    }
    errors.insert(errors.end(), r.errors.begin(), r.errors.end());
    if (!r.zone && prev_zone && check_conflicts(*prev_zone, *set).empty()) {
      r.zone = prev_zone;
      src = prev_src;
      errors.push_back({{f, 0, 0}, "keeping the previous version of " + r.zone->origin_text + " (serial " +
                                       std::to_string(r.zone->serial) + ")"});
    }
    if (!r.zone) continue;
    auto dup = set->by_origin.find(r.zone->origin);
    if (dup != set->by_origin.end()) {
      errors.push_back({{f, 1, 1}, "zone " + r.zone->origin_text + " is already defined in " +
                                       set->zones[dup->second]->file});
      continue;
    }
    set->add(std::move(r.zone), src);
  }
  if (!opts.only_origin.empty() && !set->by_origin.count(opts.only_origin))
    errors.push_back({{dir, 0, 0}, "no served zone has that origin; nothing reloaded"});
  // Compiling a zone frees about as much as it keeps (file text, builder
  // maps, parse tree), scattered between the snapshot's blocks. glibc keeps
  // freed memory for reuse and returns only the top of the heap by itself;
  // malloc_trim also releases the whole free pages inside it, so the
  // server's RSS after a load is the snapshot, not the load's peak (a 1M
  // record zone: see docs/performance.md, "Zone load").
  if (compiled_here > 0) malloc_trim(0);
  return set;
}

}  // namespace meridian
