#pragma once
// IP networks ("192.0.2.0/24", "2001:db8::/32") for access lists: the RRL
// exemptions and the admin endpoint's allow list. IPv4-mapped IPv6 peers
// (::ffff:192.0.2.1, seen on dual-stack sockets) are treated as IPv4, so
// one IPv4 entry covers both ways a client can appear.
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace meridian {

// An address in network byte order; IPv4 uses bytes[0..4).
struct IpAddr {
  std::uint8_t family = 0;  // AF_INET, AF_INET6, or 0 (none)
  std::uint8_t bytes[16] = {};
};

struct Cidr {
  IpAddr net;  // host bits are zero
  std::uint8_t len = 0;

  bool contains(const IpAddr& a) const;
  std::string text() const;
};

// Reads a socket address; false for anything but IPv4/IPv6.
bool ip_from_sockaddr(const sockaddr* sa, IpAddr& out);

// Parses "192.0.2.0/24", "2001:db8::/32" or a bare address (a /32 or /128).
// Host bits set after the prefix are an error, as a likely typo.
std::optional<Cidr> parse_cidr(std::string_view text, std::string& error);

bool any_contains(const std::vector<Cidr>& list, const IpAddr& a);

// 127.0.0.0/8 and ::1.
bool is_loopback(const IpAddr& a);
// 127.0.0.0/8 and ::1/128: the admin endpoint's default allow list.
std::vector<Cidr> loopback_networks();

// Zeroes the bits after `len` (a prefix of the address's family).
void mask_address(IpAddr& a, unsigned len);

}  // namespace meridian
