#pragma once
// A query thread's view of the current zone set: its own reference to the
// snapshot, refreshed when the box's generation moves (one atomic load per
// query; the box's lock only after a reload published a new snapshot).
#include <cstdint>

#include "server/snapshot.hpp"

namespace meridian {

struct ZoneView {
  SnapshotBox* box = nullptr;
  ZoneSetPtr zones;
  std::uint64_t generation = ~0ull;

  const ZoneSet& current() {
    const std::uint64_t g = box->generation();
    if (g != generation) {
      zones = box->get();
      generation = g;
    }
    return *zones;
  }
};

}  // namespace meridian
