#pragma once
// What the GeoIP databases say about one address: the fields routing
// policies match on. Fixed-size so a lookup never allocates.
#include <cstdint>
#include <string_view>

namespace meridian {

struct Location {
  bool found = false;            // some database had a record for the address
  char continent[3] = {};        // "EU", "NA", ...; empty when unknown
  char country[3] = {};          // ISO 3166-1 alpha-2, "JP"; empty when unknown
  char subdivisions[2][4] = {};  // ISO 3166-2 codes without the country: "CA" (US-CA), most general first
  bool has_coords = false;       // lat/lon from a City database
  float lat = 0, lon = 0;
  std::uint32_t asn = 0;         // from an ASN database; 0 when unknown
  // Prefix length (in bits of the address's own family: 0-32 for IPv4) of the
  // most specific database network that supplied a field: the ECS scope of an
  // answer that depended on this location (RFC 7871 section 7.2.1).
  std::uint8_t prefix_len = 0;

  std::string_view continent_sv() const { return continent; }
  std::string_view country_sv() const { return country; }
};

}  // namespace meridian
