#pragma once
// Every node's name in one block, each behind a small header and followed by
// the node's *hot sets*: the RRsets a query is answered from by copying
// (no routing policy, no additional section, no name in the rdata to
// compress), flattened. The name index points at these entries, so the
// common answer reads an index slot and one entry -- two cache lines --
// where the general path goes slot, node, name, RRset vector, rdata vector
// (perf: with a 10,000-name zone the lookup's cache misses were the largest
// user-space cost of an answer).
//
// Entry (byte-aligned):
//   u32 node index (host order) | u8 name length | name (lower-case wire)
//   | u8 hot set count | hot sets
// Hot set: u16 type | u16 record count | u32 TTL (host order)
//          | per record: u16 rdata length (host order), rdata (wire)
// Policy set (record count 0): u16 type | u16 0 | u32 TTL | RRset pointer
//          -- a routing policy's RRset whose chosen records are copied the
//          same way (no CNAME targets, no additional section, no names to
//          compress); the policy picks them per query.
// A node under a zone cut or a DNAME (Node::cover >= 0) has no hot sets
// (drop_hot_sets): its answers are referrals or synthesized, never a copy.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace meridian {

struct Node;
struct RRset;

// Types whose rdata holds a name that the response writer compresses
// (RFC 1035 types; RFC 3597 section 4 allows no others).
bool rdata_names_compressed(std::uint16_t type);

struct HotSet {
  std::uint16_t type = 0;
  std::uint16_t count = 0;
  std::uint32_t ttl = 0;
  const std::uint8_t* records = nullptr;  // count x (u16 length, rdata)
  const RRset* policy = nullptr;          // a policy set (count 0): its RRset; records unset
};

class NameEntry {
 public:
  static constexpr std::size_t kHeader = 5;  // node index, name length
  explicit NameEntry(const std::uint8_t* p) : p_(p) {}
  std::uint32_t node() const {
    std::uint32_t v;
    std::memcpy(&v, p_, 4);
    return v;
  }
  std::string_view name() const { return {reinterpret_cast<const char*>(p_ + kHeader), p_[4]}; }
  // The hot set of `type`; false when the node has none of that type.
  bool find_hot(std::uint16_t type, HotSet& out) const {
    const std::uint8_t* p = p_ + kHeader + p_[4];
    for (unsigned sets = *p++; sets > 0; --sets) {
      std::uint16_t t, n, len;
      std::memcpy(&t, p, 2);
      std::memcpy(&n, p + 2, 2);
      if (t == type) {
        out.type = t;
        out.count = n;
        std::memcpy(&out.ttl, p + 4, 4);
        if (n == 0) std::memcpy(&out.policy, p + 8, sizeof out.policy);
        else out.records = p + 8;
        return true;
      }
      p += 8;
      if (n == 0) p += sizeof(const RRset*);
      for (unsigned r = 0; r < n; ++r) {
        std::memcpy(&len, p, 2);
        p += 2 + len;
      }
    }
    return false;
  }

 private:
  const std::uint8_t* p_;
};

class NodeIndex;
class PageBlock;

// Lays out the entries of `nodes`, whose RRsets are attached, points each
// node's name at its copy, and builds `index` over them. Entries and index
// slots share one block, so a large zone's lookups stay within a few huge
// pages (zones/page_block.hpp).
PageBlock build_name_arena(std::vector<Node>& nodes, NodeIndex& index);
// Empties the hot sets of `n`, whose name is in `arena`: for a node found to
// be below a zone cut or a DNAME (its octets stay, unused).
void drop_hot_sets(char* arena, const Node& n);

}  // namespace meridian
