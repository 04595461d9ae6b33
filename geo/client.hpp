#pragma once
// The asker as routing policies see it: the EDNS Client Subnet address when
// the query carried a usable one (RFC 7871), else the packet's source. The
// GeoIP lookup is done lazily, at most once per query, and only when a
// policy needs it; policies report the prefix length their choice depended
// on, which becomes the ECS scope of the response.
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>

#include "geo/location.hpp"

namespace meridian {

class GeoIpDb;

struct ClientInfo {
  int family = 0;                 // AF_INET, AF_INET6; 0 = unknown (no routing on address)
  std::uint8_t addr[16] = {};     // network byte order; IPv4 in the first 4 bytes
  std::uint8_t source_prefix = 0; // ECS source prefix, or 32/128 for the packet source
  bool from_ecs = false;
  const GeoIpDb* geo = nullptr;   // null: no databases configured

  // The location, looked up on first use (tests may preset it via set_location).
  const Location& location() const;
  void set_location(const Location& l) const {
    loc_ = l;
    looked_up_ = true;
  }
  // Records that the answer depended on the first `bits` of the address.
  void note_scope(std::uint8_t bits) const { scope_ = std::max(scope_, std::min(bits, source_prefix)); }
  std::uint8_t scope() const { return scope_; }

 private:
  mutable Location loc_;
  mutable bool looked_up_ = false;
  mutable std::uint8_t scope_ = 0;
};

}  // namespace meridian
