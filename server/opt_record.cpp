#include "server/opt_record.hpp"

#include <cstring>

#include "server/answer.hpp"
#include "server/query_parser.hpp"
#include "server/wire.hpp"
#include "zones/rdata.hpp"

namespace meridian {

namespace {
bool sends_nsid(const AnswerConfig& cfg, const ParsedQuery& q) { return q.nsid_requested && !cfg.identity.empty(); }
std::size_t ecs_octets(const ParsedQuery& q) { return (q.ecs_source + 7u) / 8u; }
}  // namespace

std::size_t opt_size(const AnswerConfig& cfg, const ParsedQuery& q) {
  if (!q.edns) return 0;
  return 11 + (sends_nsid(cfg, q) ? 4 + cfg.identity.size() : 0) + (q.ecs ? 8 + ecs_octets(q) : 0);
}

void write_opt(std::uint8_t* p, const AnswerConfig& cfg, const ParsedQuery& q, std::uint16_t rcode,
               std::uint8_t ecs_scope) {
  const bool nsid = sends_nsid(cfg, q);
  *p++ = 0;  // root owner
  wire::put16(p, rrtype::OPT);
  wire::put16(p + 2, cfg.udp_payload);
  wire::put32(p + 4, (std::uint32_t(rcode >> 4) << 24) | (q.edns_do ? wire::kOptDO : 0));
  const std::size_t rdlen = (nsid ? 4 + cfg.identity.size() : 0) + (q.ecs ? 8 + ecs_octets(q) : 0);
  wire::put16(p + 8, static_cast<std::uint16_t>(rdlen));
  p += 10;
  if (nsid) {
    wire::put16(p, wire::kOptNsid);
    wire::put16(p + 2, static_cast<std::uint16_t>(cfg.identity.size()));
    std::memcpy(p + 4, cfg.identity.data(), cfg.identity.size());
    p += 4 + cfg.identity.size();
  }
  if (q.ecs) {
    wire::put16(p, wire::kOptEcs);
    wire::put16(p + 2, static_cast<std::uint16_t>(4 + ecs_octets(q)));
    wire::put16(p + 4, q.ecs_family);
    p[6] = q.ecs_source;
    p[7] = ecs_scope;
    // A byte loop, not memcpy: the address is 0 to 16 octets (3 for a /24),
    // which a library call costs more than it copies.
    for (std::size_t i = 0, n = ecs_octets(q); i < n; ++i) p[8 + i] = q.ecs_addr[i];
  }
}

}  // namespace meridian
