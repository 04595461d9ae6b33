#pragma once
// The immutable zone snapshot: compiled once per load, then only read by the
// query path. Names are lower-case wire format; rdata is wire format, with no
// compression (the response writer compresses the names it may).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "zones/name.hpp"
#include "zones/name_arena.hpp"
#include "zones/page_block.hpp"
#include "zones/rare_list.hpp"

namespace meridian {

class Policy;       // zones/policy.hpp
struct ZoneHealth;  // zones/check_spec.hpp

struct RRset {
  std::uint16_t type = 0;
  std::uint32_t ttl = 0;
  std::vector<std::string> rdata;    // wire rdata, one per record
  // Additional-section target per record ("" if none). Both vectors are
  // empty for types that have none (has_additional_target) outside policies.
  RareList<std::string> targets;
  // Per record: index of the in-zone node holding the target's A/AAAA, or
  // -1. Resolved at load so the query path neither hashes nor compares names.
  RareList<std::int32_t> target_nodes;
  std::shared_ptr<const Policy> policy;  // null: static records (round robin)
  std::uint32_t ttl_when_degraded = 0;   // 0: use ttl
  RareList<std::string> cname_targets;  // wire names (case as written) a policy may answer with as a CNAME
};

struct Node {
  // Lower-case wire, absolute; the octets are in the zone's `name_bytes`
  // (one block for all names: 48 octets and an allocation less per node;
  // see zones/name_arena.hpp).
  std::string_view name;
  std::vector<RRset> rrsets;    // sorted by type
  // Index of the topmost node at or above this one that hides what is below
  // it from authoritative answers: a delegation (NS below the apex) or a
  // DNAME owner. -1 when none. Computed at build so lookup needs no walk.
  std::int32_t cover = -1;
  bool is_cut = false;          // NS below the apex
  bool has_dname = false;

  const RRset* find(std::uint16_t type) const {
    for (const auto& s : rrsets)
      if (s.type == type) return &s;
    return nullptr;
  }
};

// Name -> node lookup: open addressing over one array of 8-octet slots,
// linear probing, at most half full. An std::unordered_map spent ~56 octets
// and one allocation per node (a 1M-name zone: 16 MB instead of ~60 MB).
// A slot keeps 32 more bits of the hash, so a probe rarely compares names,
// and points at the name's entry in the zone's name arena
// (zones/name_arena.hpp), whose hot sets answer most queries directly.
class NodeIndex {
 public:
  struct Slot {
    std::uint32_t entry;  // offset of the entry in the arena
    std::uint32_t tag;
  };
  // Slots for `nodes` names: a power of two, at most half full.
  static std::size_t capacity_for(std::size_t nodes) {
    std::size_t cap = 16;
    while (cap < 2 * nodes) cap <<= 1;
    return cap;
  }
  // Every node's name must lie in `arena`, NameEntry::kHeader octets into
  // its entry; `slots` holds capacity_for(nodes.size()) slots and outlives
  // the index (both sit in the zone's name block, zones/name_arena.hpp).
  void build(const std::vector<Node>& nodes, const char* arena, Slot* slots) {
    const std::size_t cap = capacity_for(nodes.size());
    for (std::size_t i = 0; i < cap; ++i) slots[i] = Slot{kEmpty, 0};
    mask_ = cap - 1;
    count_ = nodes.size();
    for (const Node& n : nodes) {
      const std::size_t h = NameHash{}(n.name);
      std::size_t at = h & mask_;
      while (slots[at].entry != kEmpty) at = (at + 1) & mask_;
      slots[at] = Slot{static_cast<std::uint32_t>(n.name.data() - arena - NameEntry::kHeader),
                        static_cast<std::uint32_t>(h >> 32)};
    }
    slots_ = slots;
  }
  // The entry of the node named `lower_name`, or null; `h` is
  // NameHash{}(lower_name), which a caller that looked ahead (prefetch_slot)
  // has already.
  const std::uint8_t* find_entry(const char* arena, std::string_view lower_name, std::size_t h) const {
    if (!slots_) return nullptr;
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    for (std::size_t at = h & mask_;; at = (at + 1) & mask_) {
      const Slot s = slots_[at];
      if (s.entry == kEmpty) return nullptr;
      if (s.tag != tag) continue;
      const auto* e = reinterpret_cast<const std::uint8_t*>(arena) + s.entry;
      if (e[4] == lower_name.size() && same_octets(e + NameEntry::kHeader, lower_name.data(), lower_name.size()))
        return e;
    }
  }
  const std::uint8_t* find_entry(const char* arena, std::string_view lower_name) const {
    return find_entry(arena, lower_name, NameHash{}(lower_name));
  }
  // Looking ahead, for a batch of queries (server/udp_batch.cpp): each
  // starts a read that find_entry() would wait for, and returns at once,
  // so the cache misses of many names overlap. prefetch_slot() starts
  // reading the first slot of hash `h`; prefetch_entry() reads the slots
  // (waiting for them) and starts reading the entry whose tag matches.
  void prefetch_slot(std::size_t h) const {
    if (slots_) __builtin_prefetch(&slots_[h & mask_]);
  }
  void prefetch_entry(const char* arena, std::size_t h) const {
    if (!slots_) return;
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    for (std::size_t at = h & mask_;; at = (at + 1) & mask_) {
      // Volatile: this loop is kept for its reads, and a prefetch is no
      // side effect to the compiler, which would drop the loop (it did).
      const volatile Slot& s = slots_[at];
      const std::uint32_t entry = s.entry;
      if (entry == kEmpty) return;
      if (s.tag == tag) return __builtin_prefetch(arena + entry);
    }
  }
  std::size_t size() const { return count_; }

 private:
  static constexpr std::uint32_t kEmpty = 0xffffffffu;
  const Slot* slots_ = nullptr;
  std::size_t mask_ = 0;
  std::size_t count_ = 0;
};

struct Zone {
  Zone() = default;
  Zone(const Zone&) = delete;  // nodes' names point into name_bytes
  Zone& operator=(const Zone&) = delete;

  std::string origin;       // lower-case wire
  std::string origin_text;  // "example.com."
  std::string file;         // where it was loaded from
  std::uint32_t serial = 0;
  std::uint32_t negative_ttl = 0;  // min(SOA TTL, SOA minimum), RFC 2308
  // Octets of the SOA's MNAME and RNAME before the zone origin, or -1 when
  // the name is not below it: a negative answer to a name of this zone
  // writes them with one pointer to the origin at the end of the question,
  // no compression search (callgrind: ~900 instructions an NXDOMAIN).
  std::int16_t soa_mname_prefix = -1, soa_rname_prefix = -1;
  std::size_t record_count = 0;
  std::vector<Node> nodes;  // nodes[0] is the apex
  // Every node's name with its hot sets, then the index's slots
  // (zones/name_arena.hpp).
  PageBlock name_bytes;
  NodeIndex index;  // over `nodes`, built once they are complete
  // The zone's [checks], what each steers, its policy RRsets (never null
  // for a zone from the TOML loader).
  std::shared_ptr<const ZoneHealth> health;

  const Node& apex() const { return nodes[0]; }
  const std::uint8_t* find_entry(std::string_view lower_name) const {
    return index.find_entry(name_bytes.data(), lower_name);
  }
  const std::uint8_t* find_entry(std::string_view lower_name, std::size_t h) const {
    return index.find_entry(name_bytes.data(), lower_name, h);
  }
  void prefetch_slot(std::size_t h) const { index.prefetch_slot(h); }
  void prefetch_entry(std::size_t h) const { index.prefetch_entry(name_bytes.data(), h); }
  const Node* find(std::string_view lower_name) const {
    const std::uint8_t* e = find_entry(lower_name);
    return e ? &nodes[NameEntry(e).node()] : nullptr;
  }
  const RRset& soa() const { return *apex().find(6); }
};

// A node's entry in its zone's name arena (the name sits kHeader octets in).
inline const std::uint8_t* entry_of(const Node& n) {
  return reinterpret_cast<const std::uint8_t*>(n.name.data()) - NameEntry::kHeader;
}

using ZonePtr = std::shared_ptr<const Zone>;

}  // namespace meridian
