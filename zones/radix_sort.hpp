#pragma once
// LSD radix sort of (64-bit key, 32-bit index) pairs, for the zone
// builder's million-entry sorts: four passes of 16-bit digits, no
// comparisons. std::sort on owner-name prefixes read from a zone file (runs
// of names already in order, one run per name length) fell back to heap
// sort and took ~20% of a 1M-record load (perf, docs/performance.md).
#include <cstdint>
#include <utility>
#include <vector>

namespace meridian {

// Sorts by key; stable (equal keys keep their input order).
inline void radix_sort(std::vector<std::pair<std::uint64_t, std::uint32_t>>& v) {
  if (v.size() < 2) return;
  std::vector<std::pair<std::uint64_t, std::uint32_t>> tmp(v.size());
  std::vector<std::uint32_t> count(65536 + 1);
  for (int shift = 0; shift < 64; shift += 16) {
    std::fill(count.begin(), count.end(), 0);
    for (const auto& e : v) ++count[((e.first >> shift) & 0xffff) + 1];
    if (count[((v[0].first >> shift) & 0xffff) + 1] == v.size()) continue;  // one digit value: nothing moves
    for (std::size_t d = 1; d < count.size(); ++d) count[d] += count[d - 1];
    for (const auto& e : v) tmp[count[(e.first >> shift) & 0xffff]++] = e;
    v.swap(tmp);
  }
}

}  // namespace meridian
