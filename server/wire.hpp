#pragma once
// DNS message constants and big-endian helpers shared by parser and writer.
#include <cstddef>
#include <cstdint>

namespace meridian::wire {

inline constexpr std::size_t kHeaderLen = 12;
inline constexpr std::uint16_t kClassIN = 1, kClassCH = 3, kClassANY = 255;
inline constexpr std::uint16_t kOptNsid = 3, kOptEcs = 8;
inline constexpr std::uint16_t kMinUdpPayload = 512;

namespace rcode {
inline constexpr std::uint16_t NoError = 0, FormErr = 1, ServFail = 2, NxDomain = 3, NotImp = 4,
                               Refused = 5, YxDomain = 6, BadVers = 16;
}

// Header flag bits in the 16-bit flags word.
namespace flag {
inline constexpr std::uint16_t QR = 0x8000, AA = 0x0400, TC = 0x0200, RD = 0x0100, RA = 0x0080,
                               AD = 0x0020, CD = 0x0010;
}
inline constexpr std::uint16_t kOptDO = 0x8000;

inline std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
inline std::uint32_t get32(const std::uint8_t* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}
inline void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}

// The 12 octets before a record's rdata, its owner a compression pointer
// to `owner_off`. Returns where the rdata goes.
inline std::uint8_t* put_rr_head(std::uint8_t* p, std::size_t owner_off, std::uint16_t type, std::uint16_t klass,
                                 std::uint32_t ttl, std::size_t rdlen) {
  put16(p, static_cast<std::uint16_t>(0xC000 | owner_off));
  put16(p + 2, type);
  put16(p + 4, klass);
  put32(p + 6, ttl);
  put16(p + 10, static_cast<std::uint16_t>(rdlen));
  return p + 12;
}

}  // namespace meridian::wire
