#pragma once
// The search-tree walk of a MaxMind DB, read straight from the file image
// libmaxminddb mapped. MMDB_lookup_sockaddr does the same walk but through
// a sockaddr, a per-bit function pointer per record size and its error
// paths: ~550 instructions per lookup against ~200 here (bench/callgrind.py
// --geo), on the path of every geolocation answer; a table of where the
// first 16 bits lead (IPv4 and IPv6, ~640 KiB per database) takes another
// 16 steps off each walk, and for IPv4 the leaves below each /16 are a
// sorted array of ranges (see Range). The library still opens,
// verifies and decodes the file; this only reads the tree it validated
// (GeoIpDb::open walks every node first, so every record here is in range).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "zones/page_block.hpp"

struct MMDB_s;

namespace meridian {

struct TreeResult {
  bool usable = false;       // false: IPv6 address in an IPv4-only database
  bool found = false;        // the walk ended on a data record
  std::uint32_t offset = 0;  // of that record in the data section
  int netmask = 0;           // bits walked, in the tree's own width (as libmaxminddb reports)
};

class MmdbTree {
 public:
  MmdbTree() = default;
  MmdbTree(const MmdbTree&) = delete;
  MmdbTree& operator=(const MmdbTree&) = delete;

  // Copies the search tree of an opened database and builds the jump tables.
  void init(const MMDB_s& db);
  // `v4` true: `addr` is 4 bytes; false: 16 bytes. Network byte order.
  TreeResult lookup(const std::uint8_t* addr, bool v4) const;
  // Asks the CPU to load the jump-table entry lookup(addr, v4) starts from
  // (perf: that load was ~60 % of lookup's time with ECS from random
  // networks, a miss nearly every time).
  void prefetch(const std::uint8_t* addr, bool v4) const {
    if (const Jump* jump = v4 ? jump_v4_ : jump_v6_) __builtin_prefetch(jump + (std::uint32_t(addr[0]) << 8 | addr[1]));
  }

 private:
  // Where 16 address bits lead from a start node: the node (or leaf) and
  // the bits actually walked (fewer when a leaf comes first).
  struct Jump {
    std::uint32_t value;  // with run > 0: the index of the run's first Range
    std::uint16_t run;    // IPv4 only: the number of ranges below this /16 (0: none, walk)
    std::uint8_t bits;
  };
  std::uint32_t record(std::uint32_t node, unsigned bit) const;
  template <unsigned RecordSize>
  std::uint32_t record_of(std::uint32_t node, unsigned bit) const;
  template <unsigned RecordSize>
  std::uint32_t walk(std::uint32_t value, int& bit, int end, int skip, const std::uint8_t* addr) const;
  void fill(std::vector<Jump>& table, std::uint32_t start) const;

  const std::uint8_t* tree_ = nullptr;  // our copy (see init), or the library's mapping
  PageBlock copy_;                       // the copy and the tables (huge pages where possible)
  std::uint32_t node_count_ = 0;
  unsigned record_size_ = 0;  // 24, 28 or 32 bits
  bool ipv6_ = false;
  std::uint32_t v4_start_ = 0;  // the node for ::/96 (IPv4 addresses in an IPv6 tree)
  int v4_start_bits_ = 0;       // its depth: 96, or less where the tree ends earlier
  // The tables below live in the same huge-page mapping as the tree copy
  // (a table in 4 KiB pages cost more in TLB misses than it saved).
  const Jump* jump_v4_ = nullptr;  // by the first two octets, from v4_start_ (null: not usable)
  const Jump* jump_v6_ = nullptr;  // by the first two octets, from the root

  // IPv4 below the first two octets: where the tree is still a node there,
  // its leaves as a sorted run of ranges (found through the jump table), so
  // a lookup is the jump, then a binary search in one small array -- two or
  // three cache lines where the
  // walk takes up to 16 dependent steps, each a likely miss (perf: the walk
  // was the largest user-space cost of a geolocation answer). A /16 whose
  // subtree has more than kMaxRun leaves, and every /16 once kMaxRanges
  // ranges are used, keeps the walk.
  struct Range {
    std::uint32_t value;  // the leaf (data record, or node_count_: nothing)
    std::uint16_t start;  // low 16 bits of the range's first address
    std::uint8_t depth;   // bits below the /16 (the range is a /(16 + depth))
  };
  static constexpr std::size_t kMaxRun = 4096, kMaxRanges = std::size_t{1} << 21;
  void collect(std::uint32_t value, unsigned depth, std::uint32_t start, std::vector<Range>& out, bool& ok) const;
  const Range* ranges_ = nullptr;  // the runs, back to back
};

}  // namespace meridian
