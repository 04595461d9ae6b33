#include "server/runtime.hpp"

#include "geo/geoip_db.hpp"
#include "geo/latency_model.hpp"
#include "geo/regions.hpp"

namespace meridian {

bool Runtime::load_config(const std::string& path, Diagnostics& errors) {
  if (!meridian::load_config(path, cfg_, errors)) return false;
  if (!cfg_.geoip_databases.empty()) {
    auto db = std::make_shared<GeoIpDb>();
    std::string error;
    if (!db->open(cfg_.geoip_databases, error)) {
      errors.push_back({{cfg_.file, 0, 0}, "geoip: " + error});
      return false;
    }
    cfg_.answer.geo = std::move(db);
  }
  RegionRegistry::global().set(cfg_.regions);
  if (!cfg_.latency_table.empty()) {
    auto model = std::make_shared<LatencyModel>();
    if (!model->load_csv(cfg_.latency_table, cfg_.regions, errors)) return false;
    cfg_.answer.latency = std::move(model);
  }
  return true;
}

void Runtime::load_zones(Diagnostics& errors) {
  std::lock_guard lock(reload_mu_);
  ZoneSetPtr prev = box_.get();
  box_.publish(load_zone_dir(cfg_.zones_dir, errors, prev.get()));
  ++reloads_;
}

}  // namespace meridian
