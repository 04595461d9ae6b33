#pragma once
// The country table (geo/data/country-continent.csv, compiled in at build
// time): ISO 3166-1 alpha-2 code -> continent code and approximate centroid.
// The same CSV gives the default GeoIP database its continents
// (geo/tools/tor-geoip-to-csv.py), so the two never disagree.
#include <string_view>

namespace meridian {

struct CountryInfo {
  char code[3];       // "JP"
  char continent[3];  // "AS"; AF AN AS EU NA OC SA
  bool has_centroid;  // false for registry pseudo-codes like "AP"
  float lat, lon;     // degrees
};

// The entry for `code` (two letters, either case), or null. No allocation.
const CountryInfo* find_country(std::string_view code);

// Every entry, sorted by code.
const CountryInfo* country_table(std::size_t& count);

}  // namespace meridian
