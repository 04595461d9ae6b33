#pragma once
// Who asked, as routing policies see it (geo/client.hpp): the query's EDNS
// Client Subnet when it names a public network (RFC 7871), else the packet
// source. Shared by the assembler and the hot path, so both route a query
// the same way.
#include <sys/socket.h>

#include "geo/client.hpp"
#include "server/answer.hpp"
#include "zones/zone_set.hpp"

namespace meridian {

struct ParsedQuery;

// The GeoIP databases a query is routed with: the snapshot's, which a
// reload swaps together with the zones, else the configuration's (unit
// tests and `explain` build zone sets without them). Null: none.
inline const GeoIpDb* geo_for(const ZoneSet& zones, const AnswerConfig& cfg) {
  return zones.geo ? zones.geo.get() : cfg.geo.get();
}

// `from` may be null (no source: the address stays unknown); `geo` is the
// databases policies look the address up in (null: none).
void client_of(const ParsedQuery& q, const sockaddr* from, const GeoIpDb* geo, ClientInfo& out);

}  // namespace meridian
