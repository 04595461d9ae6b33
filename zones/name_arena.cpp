#include "zones/name_arena.hpp"

#include "zones/page_block.hpp"
#include "zones/rdata.hpp"
#include "zones/zone.hpp"

namespace meridian {

bool rdata_names_compressed(std::uint16_t type) {
  return type == rrtype::NS || type == rrtype::CNAME || type == rrtype::PTR || type == rrtype::MX ||
         type == rrtype::SOA;
}

namespace {

bool is_hot(const RRset& rs) {
  // Record counts and lengths must fit the entry's 16-bit fields (rdata
  // always does: the wire limit is 65,535).
  return !rs.policy && !has_additional_target(rs.type) && !rdata_names_compressed(rs.type) &&
         rs.type != rrtype::DNAME && !rs.rdata.empty() && rs.rdata.size() <= 0xFFFF;
}

// A policy RRset the hot path can answer from: the policy picks records of
// a type that needs no additional section and no name compression, and it
// can never pick a CNAME target instead (server/hot_answer.cpp).
bool is_policy_hot(const RRset& rs) {
  return rs.policy && !has_additional_target(rs.type) && !rdata_names_compressed(rs.type) &&
         rs.type != rrtype::DNAME && rs.cname_targets.empty() && !rs.rdata.empty();
}

// What the entry holds for `rs`: a hot set or a policy set.
bool in_entry(const RRset& rs) { return is_hot(rs) || is_policy_hot(rs); }

std::size_t hot_size(const RRset& rs) {
  if (rs.policy) return 8 + sizeof(const RRset*);
  std::size_t n = 8;
  for (const auto& r : rs.rdata) n += 2 + r.size();
  return n;
}

template <typename T>
char* put(char* at, T v) {
  std::memcpy(at, &v, sizeof v);
  return at + sizeof v;
}

}  // namespace

PageBlock build_name_arena(std::vector<Node>& nodes, NodeIndex& index) {
  std::size_t bytes = 0;
  for (const Node& n : nodes) {
    bytes += NameEntry::kHeader + n.name.size() + 1;
    for (const RRset& rs : n.rrsets)
      if (in_entry(rs)) bytes += hot_size(rs);
  }
  const std::size_t slots_at = round_up(bytes, 64);  // slots on a cache-line boundary
  PageBlock block(slots_at + NodeIndex::capacity_for(nodes.size()) * sizeof(NodeIndex::Slot));
  char* at = block.data();
  for (std::uint32_t i = 0; i < nodes.size(); ++i) {
    Node& n = nodes[i];
    at = put<std::uint32_t>(at, i);
    at = put<std::uint8_t>(at, static_cast<std::uint8_t>(n.name.size()));
    std::memcpy(at, n.name.data(), n.name.size());
    n.name = std::string_view(at, n.name.size());
    at += n.name.size();
    char* count_at = at++;
    std::uint8_t sets = 0;
    for (const RRset& rs : n.rrsets) {
      if (!in_entry(rs) || sets == 0xFF) continue;  // past 255 types: the general path
      ++sets;
      at = put<std::uint16_t>(at, rs.type);
      if (rs.policy) {
        // The RRset stays where it is: the node's RRsets are complete and
        // sorted before this, and the zone only reads them afterwards.
        at = put<std::uint16_t>(at, 0);
        at = put<std::uint32_t>(at, rs.ttl);
        at = put<const RRset*>(at, &rs);
        continue;
      }
      at = put<std::uint16_t>(at, static_cast<std::uint16_t>(rs.rdata.size()));
      at = put<std::uint32_t>(at, rs.ttl);
      for (const auto& r : rs.rdata) {
        at = put<std::uint16_t>(at, static_cast<std::uint16_t>(r.size()));
        std::memcpy(at, r.data(), r.size());
        at += r.size();
      }
    }
    *count_at = static_cast<char>(sets);
  }
  index.build(nodes, block.data(), reinterpret_cast<NodeIndex::Slot*>(block.data() + slots_at));
  return block;
}

void drop_hot_sets(char* arena, const Node& n) {
  arena[n.name.data() + n.name.size() - arena] = 0;  // the set count
}

}  // namespace meridian
