#include "geo/mmdb_tree.hpp"

#include <maxminddb.h>

#include <cstring>

namespace meridian {

template <unsigned RecordSize>
std::uint32_t MmdbTree::record_of(std::uint32_t node, unsigned bit) const {
  const std::uint8_t* p = tree_ + std::uint64_t(node) * (RecordSize / 4);
  if constexpr (RecordSize == 24) {
    p += bit * 3;
    return std::uint32_t(p[0]) << 16 | std::uint32_t(p[1]) << 8 | p[2];
  } else if constexpr (RecordSize == 28) {  // the middle byte holds the high nibble of each record
    return bit ? (std::uint32_t(p[3] & 0x0f) << 24 | std::uint32_t(p[4]) << 16 | std::uint32_t(p[5]) << 8 | p[6])
               : (std::uint32_t(p[3] & 0xf0) << 20 | std::uint32_t(p[0]) << 16 | std::uint32_t(p[1]) << 8 | p[2]);
  } else {
    p += bit * 4;
    return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
  }
}

std::uint32_t MmdbTree::record(std::uint32_t node, unsigned bit) const {
  switch (record_size_) {
    case 24: return record_of<24>(node, bit);
    case 28: return record_of<28>(node, bit);
    default: return record_of<32>(node, bit);
  }
}

// Follows address bits [bit, end) from `value` (address bit i is tree bit
// i + skip) until a leaf; leaves `bit` where it stopped.
template <unsigned RecordSize>
std::uint32_t MmdbTree::walk(std::uint32_t value, int& bit, int end, int skip, const std::uint8_t* addr) const {
  for (; bit < end && value < node_count_; ++bit) {
    const int i = bit - skip;
    value = record_of<RecordSize>(value, (addr[i >> 3] >> (7 - (i & 7))) & 1u);
  }
  return value;
}

void MmdbTree::fill(std::vector<Jump>& table, std::uint32_t start) const {
  table.resize(65536);
  for (unsigned prefix = 0; prefix < 65536; ++prefix) {
    std::uint32_t value = start;
    int bit = 0;
    for (; bit < 16 && value < node_count_; ++bit) value = record(value, (prefix >> (15 - bit)) & 1u);
    table[prefix] = Jump{value, 0, static_cast<std::uint8_t>(bit)};
  }
}

// The leaves below `value` (reached `depth` bits below a /16), in address
// order; `ok` turns false past kMaxRun.
void MmdbTree::collect(std::uint32_t value, unsigned depth, std::uint32_t start, std::vector<Range>& out,
                       bool& ok) const {
  if (!ok) return;
  if (value >= node_count_ || depth == 16) {
    if (out.size() == kMaxRun) {
      ok = false;
      return;
    }
    out.push_back(Range{value, static_cast<std::uint16_t>(start), static_cast<std::uint8_t>(depth)});
    return;
  }
  collect(record(value, 0), depth + 1, start, out, ok);
  collect(record(value, 1), depth + 1, start | (1u << (15 - depth)), out, ok);
}

void MmdbTree::init(const MMDB_s& db) {
  copy_ = PageBlock();
  tree_ = db.file_content;
  node_count_ = db.metadata.node_count;
  record_size_ = db.metadata.record_size;
  ipv6_ = db.metadata.ip_version == 6;
  // IPv4 addresses live at ::a.b.c.d in an IPv6 tree: follow 96 zero bits
  // once here instead of on every lookup.
  v4_start_ = 0;
  v4_start_bits_ = 0;
  if (ipv6_)
    for (; v4_start_bits_ < 96 && v4_start_ < node_count_; ++v4_start_bits_) v4_start_ = record(v4_start_, 0);
  std::vector<Jump> jump_v4, jump_v6;
  if (!ipv6_ || v4_start_bits_ == 96) fill(jump_v4, v4_start_);
  if (ipv6_) fill(jump_v6, 0);
  std::vector<Range> ranges;
  if (!jump_v4.empty()) {
    std::vector<Range> run;
    for (unsigned prefix = 0; prefix < 65536; ++prefix) {
      Jump& j = jump_v4[prefix];
      if (j.bits != 16 || j.value >= node_count_) continue;  // a leaf already
      run.clear();
      bool ok = true;
      collect(j.value, 0, 0, run, ok);
      if (!ok || ranges.size() + run.size() > kMaxRanges) continue;
      j.value = static_cast<std::uint32_t>(ranges.size());
      j.run = static_cast<std::uint16_t>(run.size());  // <= kMaxRun
      ranges.insert(ranges.end(), run.begin(), run.end());
    }
  }

  // The walk touches a handful of nodes scattered over the whole tree (~8
  // MB for the country database) per lookup: with 4 KiB pages most steps
  // also miss the TLB, which in a VM costs a two-level page walk. A private
  // anonymous copy can use transparent huge pages (zones/page_block.hpp; the
  // library maps the file as shmem, where THP is usually off), so a few
  // 2 MiB pages cover it and the tables. Without THP it behaves like the
  // original.
  const std::size_t tree_bytes = std::size_t(node_count_) * (record_size_ / 4);
  auto bytes_of = [](const auto& v) { return v.size() * sizeof v[0]; };
  const std::size_t at_v4 = round_up(tree_bytes, 64), at_v6 = at_v4 + bytes_of(jump_v4),
                    at_ranges = at_v6 + bytes_of(jump_v6), bytes = at_ranges + bytes_of(ranges);
  try {
    if (tree_bytes > 0) copy_ = PageBlock(bytes);
  } catch (const std::bad_alloc&) {
  }
  if (!copy_.data()) {  // an empty tree, or no memory for tables: walk the library's mapping
    jump_v4_ = jump_v6_ = nullptr;
    ranges_ = nullptr;
    return;
  }
  auto* region = reinterpret_cast<std::uint8_t*>(copy_.data());
  // An empty vector's data() may be null, and memcpy from null is undefined
  // even for 0 bytes (found by fuzz_geoip under UBSan).
  auto put = [&](std::size_t at, const auto& v) {
    if (!v.empty()) std::memcpy(region + at, v.data(), bytes_of(v));
  };
  std::memcpy(region, db.file_content, tree_bytes);
  put(at_v4, jump_v4);
  put(at_v6, jump_v6);
  put(at_ranges, ranges);
  copy_.seal();
  tree_ = region;
  jump_v4_ = jump_v4.empty() ? nullptr : reinterpret_cast<const Jump*>(region + at_v4);
  jump_v6_ = jump_v6.empty() ? nullptr : reinterpret_cast<const Jump*>(region + at_v6);
  ranges_ = reinterpret_cast<const Range*>(region + at_ranges);
}

TreeResult MmdbTree::lookup(const std::uint8_t* addr, bool v4) const {
  TreeResult r;
  if (!v4 && !ipv6_) return r;
  r.usable = true;
  const int end = ipv6_ ? 128 : 32;
  // The address bits, indexed in the tree's width: an IPv4 address in an
  // IPv6 tree is bits 96..127 of ::a.b.c.d.
  const int skip = v4 && ipv6_ ? 96 : 0;
  std::uint32_t value = v4 && ipv6_ ? v4_start_ : 0;
  int bit = skip ? v4_start_bits_ : 0;  // (if the tree ended inside ::/96, value is already a leaf)
  const Jump* jump = v4 ? jump_v4_ : jump_v6_;
  if (jump) {
    const std::uint32_t prefix = std::uint32_t(addr[0]) << 8 | addr[1];
    const Jump& j = jump[prefix];
    if (j.run) {
      // The last range that starts at or before the address's low 16 bits.
      const std::uint16_t low = static_cast<std::uint16_t>(addr[2] << 8 | addr[3]);
      const Range* first = ranges_ + j.value;
      std::uint32_t lo = 0, n = j.run;
      while (n > 1) {
        const std::uint32_t half = n / 2;
        if (first[lo + half].start <= low) lo += half;
        n -= half;
      }
      value = first[lo].value;
      bit += 16 + first[lo].depth;
    } else {
      value = j.value;
      bit += j.bits;
    }
  }
  switch (record_size_) {
    case 24: value = walk<24>(value, bit, end, skip, addr); break;
    case 28: value = walk<28>(value, bit, end, skip, addr); break;
    default: value = walk<32>(value, bit, end, skip, addr); break;
  }
  r.netmask = bit;
  if (value > node_count_) {
    r.found = true;
    r.offset = value - node_count_ - 16;  // 16: the data section separator
  }
  return r;
}

}  // namespace meridian
