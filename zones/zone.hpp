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

namespace meridian {

class Policy;       // zones/policy.hpp
struct ZoneHealth;  // zones/check_spec.hpp

struct RRset {
  std::uint16_t type = 0;
  std::uint32_t ttl = 0;
  std::vector<std::string> rdata;    // wire rdata, one per record
  std::vector<std::string> targets;  // additional-section target per record ("" if none)
  // Per record: index of the in-zone node holding the target's A/AAAA, or
  // -1. Resolved at load so the query path neither hashes nor compares names.
  std::vector<std::int32_t> target_nodes;
  std::shared_ptr<const Policy> policy;  // null: static records (round robin)
  std::uint32_t ttl_when_degraded = 0;   // 0: use ttl
  std::vector<std::string> cname_targets;  // wire names (case as written) a policy may answer with as a CNAME
};

struct Node {
  std::string name;             // lower-case wire, absolute
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

struct Zone {
  std::string origin;       // lower-case wire
  std::string origin_text;  // "example.com."
  std::string file;         // where it was loaded from
  std::uint32_t serial = 0;
  std::uint32_t negative_ttl = 0;  // min(SOA TTL, SOA minimum), RFC 2308
  std::size_t record_count = 0;
  std::vector<Node> nodes;  // nodes[0] is the apex
  std::unordered_map<std::string, std::uint32_t, NameHash, std::equal_to<>> index;
  // The zone's [checks], what each steers, its policy RRsets (never null
  // for a zone from the TOML loader).
  std::shared_ptr<const ZoneHealth> health;

  const Node& apex() const { return nodes[0]; }
  const Node* find(std::string_view lower_name) const {
    auto it = index.find(lower_name);
    return it == index.end() ? nullptr : &nodes[it->second];
  }
  const RRset& soa() const { return *apex().find(6); }
};

using ZonePtr = std::shared_ptr<const Zone>;

}  // namespace meridian
