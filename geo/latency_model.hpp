#pragma once
// Estimated round-trip time from a client to a region, for the latency
// policy. Measured figures come first: an optional CSV table (client network
// prefix or country code -> region -> RTT ms), so operators can load RUM or
// RIPE Atlas data. Without an entry, the RTT is estimated from the
// great-circle distance between the client's location (city coordinates,
// else its country's centroid) and the region.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "geo/client.hpp"
#include "geo/regions.hpp"
#include "zones/diagnostic.hpp"

namespace meridian {

class LatencyModel {
 public:
  LatencyModel();
  ~LatencyModel();
  // CSV lines: "client,region,rtt_ms" where client is a CIDR ("192.0.2.0/24",
  // "2001:db8::/32") or a country code ("JP"); '#' starts a comment.
  // Unknown regions and bad lines are errors with file:line.
  bool load_csv(const std::string& path, const std::vector<Region>& regions, Diagnostics& errors);

  // RTT in ms from the measured table, longest prefix first, then country.
  // `region` is the index in the vector given to load_csv (the config order).
  std::optional<float> measured(const ClientInfo& c, std::size_t region) const;
  // RTT estimate from coordinates: ~ 2 x distance / (2/3 c) + 5 ms.
  static float estimate_ms(double lat1, double lon1, double lat2, double lon2);
  // The client's coordinates: city coordinates, else the country centroid.
  // Neither measured() nor client_coords() notes the ECS scope: the policy
  // that uses them decides it. Neither allocates.
  static bool client_coords(const ClientInfo& c, double& lat, double& lon);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Country centroid (ISO 3166-1 alpha-2), for clients without city data.
bool country_centroid(std::string_view country, double& lat, double& lon);

}  // namespace meridian
