#pragma once
// Regions for the latency policy, declared in the server config
// ([regions.eu-west] lat = 53.35, lon = -6.26). The zone loader resolves a
// target's `region = "eu-west"` here and copies the coordinates into the
// compiled policy, so the query path never reads this registry.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meridian {

struct Region {
  std::string name;
  double lat = 0, lon = 0;
};

class RegionRegistry {
 public:
  static RegionRegistry& global();
  void set(std::vector<Region> regions);
  std::optional<Region> find(std::string_view name) const;
  std::vector<Region> list() const;

 private:
  mutable std::mutex mu_;
  std::vector<Region> regions_;
};

}  // namespace meridian
