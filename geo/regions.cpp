#include "geo/regions.hpp"

namespace meridian {

RegionRegistry& RegionRegistry::global() {
  static RegionRegistry r;
  return r;
}

void RegionRegistry::set(std::vector<Region> regions) {
  std::lock_guard lock(mu_);
  regions_ = std::move(regions);
}

std::optional<Region> RegionRegistry::find(std::string_view name) const {
  std::lock_guard lock(mu_);
  for (const auto& r : regions_)
    if (r.name == name) return r;
  return std::nullopt;
}

std::vector<Region> RegionRegistry::list() const {
  std::lock_guard lock(mu_);
  return regions_;
}

}  // namespace meridian
