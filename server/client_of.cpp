#include "server/client_of.hpp"

#include <netinet/in.h>

#include <cstring>

#include "server/query_parser.hpp"

namespace meridian {

namespace {
// Addresses that say nothing about where a client is; an ECS option
// carrying one is ignored and the packet source is used instead.
bool is_private(int family, const std::uint8_t* a) {
  if (family == AF_INET)
    return a[0] == 0 || a[0] == 10 || a[0] == 127 || (a[0] == 100 && (a[1] & 0xC0) == 64) ||
           (a[0] == 169 && a[1] == 254) || (a[0] == 172 && (a[1] & 0xF0) == 16) || (a[0] == 192 && a[1] == 168);
  static const std::uint8_t loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return (a[0] & 0xFE) == 0xFC || (a[0] == 0xFE && (a[1] & 0xC0) == 0x80) || std::memcmp(a, loopback, 16) == 0;
}
}  // namespace

void client_of(const ParsedQuery& q, const sockaddr* from, const GeoIpDb* geo, ClientInfo& out) {
  out.geo = geo;
  if (q.ecs && q.ecs_source > 0) {
    const int family = q.ecs_family == 1 ? AF_INET : AF_INET6;
    if (!is_private(family, q.ecs_addr)) {
      out.family = family;
      std::memcpy(out.addr, q.ecs_addr, 16);
      out.source_prefix = q.ecs_source;
      out.from_ecs = true;
      return;
    }
  }
  if (!from) return;
  if (from->sa_family == AF_INET) {
    out.family = AF_INET;
    std::memcpy(out.addr, &reinterpret_cast<const sockaddr_in*>(from)->sin_addr, 4);
    out.source_prefix = 32;
  } else if (from->sa_family == AF_INET6) {
    out.family = AF_INET6;
    std::memcpy(out.addr, &reinterpret_cast<const sockaddr_in6*>(from)->sin6_addr, 16);
    out.source_prefix = 128;
  }
}

}  // namespace meridian
