#include "zones/lookup.hpp"

#include "zones/rdata.hpp"

namespace meridian {

LookupResult lookup(const Zone& zone, std::string_view qname, std::uint16_t qtype, const Node* known_node,
                    bool known_absent) {
  // Closest encloser: strip labels until a node exists. Empty non-terminals
  // are nodes too, so an ENT is found here and answers NODATA (RFC 4592).
  const Node* ce = known_node;
  std::string_view s = qname;
  if (!ce) {
    if (known_absent && s.size() > zone.origin.size()) s = parent_name(s);
    for (; s.size() >= zone.origin.size(); s = parent_name(s)) {
      if ((ce = zone.find(s))) break;
    }
  }
  if (!ce) ce = &zone.apex();
  const bool exact = s.size() == qname.size();

  if (ce->cover >= 0) {
    const Node& top = zone.nodes[static_cast<std::size_t>(ce->cover)];
    const bool at_top = &top == ce && exact;
    if (top.is_cut) {
      // The parent side answers DS for the cut itself (RFC 4035 section 3.1.4.1).
      if (!(at_top && qtype == rrtype::DS)) return {LookupKind::Delegation, &top};
    } else if (!at_top) {
      return {LookupKind::Dname, &top};
    }
  }
  if (exact) return {LookupKind::Exact, ce};

  // Wildcard: "*" directly below the closest encloser (RFC 4592 section 3.3.1).
  char buf[kMaxNameLen + 2];
  buf[0] = 1;
  buf[1] = '*';
  if (ce->name.size() + 2 <= kMaxNameLen) {
    ce->name.copy(buf + 2, ce->name.size());
    if (const Node* w = zone.find(std::string_view(buf, ce->name.size() + 2)))
      return {LookupKind::Wildcard, w};
  }
  return {LookupKind::NxDomain, ce};
}

}  // namespace meridian
