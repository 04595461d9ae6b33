#pragma once
// Name lookup in one zone snapshot: the closest-encloser search of RFC 1034
// section 4.3.2 with RFC 4592 wildcards and RFC 6672 DNAME.
#include <cstdint>
#include <string_view>

#include "zones/zone.hpp"

namespace meridian {

enum class LookupKind : std::uint8_t {
  Exact,       // node owns qname (may be an empty non-terminal: NODATA)
  Wildcard,    // node is the "*" child of the closest encloser
  Delegation,  // node is the zone cut above (or at) qname: referral
  Dname,       // node owns a DNAME above qname: synthesize a CNAME
  NxDomain,    // no such name; node is the closest encloser
};

struct LookupResult {
  LookupKind kind;
  const Node* node;
};

// `qname` is lower-case wire and lies inside zone.origin. A caller that has
// already looked the name itself up passes what it found: its node
// (`known_node`), or `known_absent` when there is none.
LookupResult lookup(const Zone& zone, std::string_view qname, std::uint16_t qtype, const Node* known_node = nullptr,
                    bool known_absent = false);

}  // namespace meridian
