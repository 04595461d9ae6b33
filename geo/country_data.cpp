#include "geo/country_data.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace meridian {
namespace {

// {"JP", "AS", true, 36.20f, 138.25f}, ... sorted by code; generated from
// geo/data/country-continent.csv by geo/CMakeLists.txt.
constexpr CountryInfo kCountries[] = {
#include "country_table.inc"
};
constexpr std::size_t kCount = sizeof(kCountries) / sizeof(kCountries[0]);

constexpr bool sorted_unique() {
  for (std::size_t i = 1; i < kCount; ++i) {
    const auto& a = kCountries[i - 1].code;
    const auto& b = kCountries[i].code;
    if (a[0] > b[0] || (a[0] == b[0] && a[1] >= b[1])) return false;
  }
  return true;
}
static_assert(kCount > 240, "country table looks truncated");
static_assert(sorted_unique(), "geo/data/country-continent.csv must be sorted by code without duplicates");

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

}  // namespace

const CountryInfo* find_country(std::string_view code) {
  if (code.size() != 2) return nullptr;
  const char key[2] = {upper(code[0]), upper(code[1])};
  const CountryInfo* end = kCountries + kCount;
  const CountryInfo* it = std::lower_bound(kCountries, end, key, [](const CountryInfo& e, const char* k) {
    return e.code[0] < k[0] || (e.code[0] == k[0] && e.code[1] < k[1]);
  });
  if (it == end || it->code[0] != key[0] || it->code[1] != key[1]) return nullptr;
  return it;
}

const CountryInfo* country_table(std::size_t& count) {
  count = kCount;
  return kCountries;
}

}  // namespace meridian
