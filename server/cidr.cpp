#include "server/cidr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace meridian {

namespace {
// ::ffff:a.b.c.d. Compared byte by byte: IpAddr::bytes has no alignment, and
// IN6_IS_ADDR_V4MAPPED reads it as 32-bit words (UBSan, found by
// tests/fuzz/fuzz_config through [admin] allow).
bool is_v4_mapped(const std::uint8_t* b) {
  static constexpr std::uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(b, kPrefix, sizeof kPrefix) == 0;
}

unsigned family_bits(std::uint8_t family) { return family == AF_INET ? 32 : 128; }

}  // namespace

void mask_address(IpAddr& a, unsigned len) {
  const unsigned bytes = family_bits(a.family) / 8;
  for (unsigned i = 0; i < bytes; ++i) {
    const unsigned first_bit = i * 8;
    if (first_bit >= len) a.bytes[i] = 0;
    else if (len - first_bit < 8) a.bytes[i] &= static_cast<std::uint8_t>(0xFF00 >> (len - first_bit));
  }
}

bool Cidr::contains(const IpAddr& a) const {
  if (a.family != net.family) return false;
  const unsigned full = len / 8, rest = len % 8;
  if (std::memcmp(a.bytes, net.bytes, full) != 0) return false;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFF00 >> rest);
  return (a.bytes[full] & mask) == net.bytes[full];
}

std::string Cidr::text() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(net.family, net.bytes, buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(len);
}

bool ip_from_sockaddr(const sockaddr* sa, IpAddr& out) {
  out = IpAddr{};
  if (!sa) return false;
  if (sa->sa_family == AF_INET) {
    out.family = AF_INET;
    std::memcpy(out.bytes, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
    return true;
  }
  if (sa->sa_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
      out.family = AF_INET;
      std::memcpy(out.bytes, a6.s6_addr + 12, 4);
    } else {
      out.family = AF_INET6;
      std::memcpy(out.bytes, a6.s6_addr, 16);
    }
    return true;
  }
  return false;
}

std::optional<Cidr> parse_cidr(std::string_view text, std::string& error) {
  const std::string q = "'" + std::string(text) + "'";
  const auto slash = text.find('/');
  const std::string host(text.substr(0, slash));
  Cidr c;
  if (inet_pton(AF_INET, host.c_str(), c.net.bytes) == 1) {
    c.net.family = AF_INET;
  } else if (inet_pton(AF_INET6, host.c_str(), c.net.bytes) == 1) {
    c.net.family = AF_INET6;
  } else {
    error = q + " is not a network like \"192.0.2.0/24\" or \"2001:db8::/32\"";
    return std::nullopt;
  }
  const unsigned max = family_bits(c.net.family);
  unsigned len = max;
  if (slash != std::string_view::npos) {
    const std::string_view l = text.substr(slash + 1);
    auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
    if (l.empty() || ec != std::errc() || p != l.data() + l.size() || len > max) {
      error = q + ": the prefix length must be a number from 0 to " + std::to_string(max);
      return std::nullopt;
    }
  }
  c.len = static_cast<std::uint8_t>(len);
  IpAddr masked = c.net;
  mask_address(masked, len);
  if (std::memcmp(masked.bytes, c.net.bytes, 16) != 0) {
    Cidr canon{masked, c.len};
    error = q + " has bits set after the prefix (the network is \"" + canon.text() + "\")";
    return std::nullopt;
  }
  // An IPv4-mapped IPv6 network is an IPv4 network: peers are compared as IPv4.
  if (c.net.family == AF_INET6 && len >= 96 && is_v4_mapped(c.net.bytes)) {
    IpAddr v4;
    v4.family = AF_INET;
    std::memcpy(v4.bytes, c.net.bytes + 12, 4);
    return Cidr{v4, static_cast<std::uint8_t>(len - 96)};
  }
  return c;
}

bool any_contains(const std::vector<Cidr>& list, const IpAddr& a) {
  for (const auto& c : list)
    if (c.contains(a)) return true;
  return false;
}

bool is_loopback(const IpAddr& a) {
  if (a.family == AF_INET) return a.bytes[0] == 127;
  static constexpr std::uint8_t kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return a.family == AF_INET6 && std::memcmp(a.bytes, kLoopback6, 16) == 0;
}

std::vector<Cidr> loopback_networks() {
  Cidr v4, v6;
  v4.net.family = AF_INET;
  v4.net.bytes[0] = 127;
  v4.len = 8;
  v6.net.family = AF_INET6;
  v6.net.bytes[15] = 1;
  v6.len = 128;
  return {v4, v6};
}

}  // namespace meridian
