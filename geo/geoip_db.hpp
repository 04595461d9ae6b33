#pragma once
// GeoIP lookups over one or more MaxMind DB files (libmaxminddb): City or
// Country databases for continent/country/subdivisions/coordinates, ASN
// databases for the autonomous system. Fields are merged over the files in
// the configured order (the first file that has a field wins).
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "geo/location.hpp"

namespace meridian {

class GeoIpDb {
 public:
  GeoIpDb();
  ~GeoIpDb();
  GeoIpDb(const GeoIpDb&) = delete;
  GeoIpDb& operator=(const GeoIpDb&) = delete;

  // Opens every file. On a missing or corrupt file returns false and sets
  // `error` to "PATH: reason"; nothing stays open then.
  bool open(const std::vector<std::string>& files, std::string& error);

  // `family` AF_INET/AF_INET6, `addr` 4 or 16 bytes in network order. No heap
  // allocation. An address no database knows gives found = false.
  Location lookup(int family, const std::uint8_t* addr) const;
  // Starts loading the first table entry lookup() will read for `addr` into
  // the cache, and returns at once: called as soon as a query's client
  // subnet is parsed, so that miss overlaps the zone lookup instead of
  // stalling the policy later.
  void prefetch(int family, const std::uint8_t* addr) const;

  struct Info {
    std::string path;
    std::string type;           // metadata database_type, e.g. "GeoIP2-City"
    std::uint64_t build_epoch;  // metadata build time, unix seconds
    std::uint64_t node_count;
  };
  std::vector<Info> info() const;
  bool empty() const;

  // Databases whose data section is at most this many octets get a dense
  // index from data offset to decoded record (a country database); larger
  // ones (city databases) a binary search. Read by open(); a test sets 0 to
  // run the search on the same files.
  static std::uint64_t dense_index_max;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

using GeoIpPtr = std::shared_ptr<const GeoIpDb>;

}  // namespace meridian
