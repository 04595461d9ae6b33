#pragma once
// The current zone set, published by the reload path and read by workers.
// Workers keep their own reference and compare a generation number per
// query (one atomic load); only when it moved do they take the lock to pick
// up the new snapshot. Queries in flight finish on the snapshot they hold.
#include <atomic>
#include <cstdint>
#include <mutex>

#include "zones/zone_set.hpp"

namespace meridian {

class SnapshotBox {
 public:
  void publish(ZoneSetPtr next) {
    std::lock_guard<std::mutex> g(mu_);
    current_ = std::move(next);
    generation_.fetch_add(1, std::memory_order_release);
  }
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  ZoneSetPtr get() const {
    std::lock_guard<std::mutex> g(mu_);
    return current_;
  }

 private:
  mutable std::mutex mu_;
  ZoneSetPtr current_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace meridian
