#pragma once
// Domain names in uncompressed wire format (length-prefixed labels ending in
// the root label). The zone snapshot stores every name lower-cased so that
// lookups compare bytes; the query path never converts to text.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace meridian {

inline constexpr std::size_t kMaxNameLen = 255;
inline constexpr std::size_t kMaxLabels = 128;

inline std::uint8_t ascii_lower(std::uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + 32) : c;
}

// Whether `n` octets at `a` and `b` are equal, inline and reading only
// those octets: words, then the last word overlapping. Names are 10 to 40
// octets; a memcmp call spends more on dispatch than on them (callgrind:
// the two compares of a plain answer, the zone origin and the node name,
// went from ~37 to ~14 instructions).
inline bool same_octets(const void* a, const void* b, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(a);
  const auto* q = static_cast<const unsigned char*>(b);
  if (n >= 8) {
    std::uint64_t x, y;
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      std::memcpy(&x, p + i, 8);
      std::memcpy(&y, q + i, 8);
      if (x != y) return false;
    }
    std::memcpy(&x, p + n - 8, 8);
    std::memcpy(&y, q + n - 8, 8);
    return x == y;
  }
  if (n >= 4) {
    std::uint32_t x0, y0, x1, y1;
    std::memcpy(&x0, p, 4);
    std::memcpy(&y0, q, 4);
    std::memcpy(&x1, p + n - 4, 4);
    std::memcpy(&y1, q + n - 4, 4);
    return x0 == y0 && x1 == y1;
  }
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != q[i]) return false;
  return true;
}

// Lower-cases 8 octets at once: each octet in 'A'..'Z' gets 0x20 added.
// Wire names can go through whole, as label length octets are below 64 and
// so never letters.
inline std::uint64_t lower8(std::uint64_t w) {
  constexpr std::uint64_t k01 = 0x0101010101010101ull, k80 = 0x8080808080808080ull;
  const std::uint64_t low7 = w & ~k80;
  const std::uint64_t ge_a = low7 + (0x80 - 'A') * k01;  // high bit: low 7 bits >= 'A'
  const std::uint64_t gt_z = low7 + (0x7F - 'Z') * k01;  // high bit: low 7 bits > 'Z'
  const std::uint64_t upper = ge_a & ~gt_z & ~w & k80;   // and the octet itself is ASCII
  return w | (upper >> 2);
}

// The offsets where a wire name's labels start (the root label's too), as a
// 256-bit set: whether a suffix of the name is a whole-label suffix is one
// bit test.
struct LabelStarts {
  std::uint64_t bits[4] = {};
  void set(std::size_t i) { bits[i >> 6] |= std::uint64_t(1) << (i & 63); }
  bool test(std::size_t i) const { return bits[i >> 6] >> (i & 63) & 1; }
  static LabelStarts of(std::string_view wire) {
    LabelStarts s;
    for (std::size_t i = 0; i < wire.size(); i += 1 + static_cast<std::uint8_t>(wire[i])) {
      s.set(i);
      if (wire[i] == 0) break;
    }
    return s;
  }
};

// Lower-cases the letters of a wire name in place (length bytes are < 64 so
// they are never letters).
void lower_name(std::string& wire);
std::string lowered(std::string_view wire);

// The name with its first label removed; empty view for the root name.
std::string_view parent_name(std::string_view wire);

// True when `name` equals `ancestor` or lies below it (both lower-case).
bool is_subdomain(std::string_view name, std::string_view ancestor);

// Presentation form with a trailing dot ("www.example.com.", "." for root).
std::string name_to_text(std::string_view wire);

// Parses a presentation name. "@" is the origin, names without a trailing
// dot are relative to `origin` (wire). Returns nullopt and sets `error` on a
// bad name. The result keeps the case as written.
std::optional<std::string> name_from_text(std::string_view text, std::string_view origin,
                                          std::string* error);

// Case-insensitive equality of two wire names.
bool names_equal(std::string_view a, std::string_view b);

// Hash of a lower-case wire name, used by the snapshot's indexes.
// Deliberately not noexcept: libstdc++ then stores each key's hash in its
// node, so walking a bucket compares stored hashes instead of re-hashing
// every name it passes (callgrind: see docs/performance.md).
struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const {
    // Eight bytes per step (multiply, fold), then a final mix: a 20-octet
    // name is 3 steps instead of FNV-1a's 20 (callgrind: hashing the query
    // name for the zone and node lookups was ~15% of an answer).
    const char* p = s.data();
    std::size_t n = s.size();
    std::uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    while (n >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
      h ^= h >> 31;
      p += 8;
      n -= 8;
    }
    std::uint64_t w = 0;
    if (n > 0 && s.size() >= 8) {
      // The last n octets as the high end of the 8 that end the name
      // (already hashed octets shifted out): one load, not n.
      std::memcpy(&w, p + n - 8, 8);
      w >>= 8 * (8 - n);
    } else {
      for (std::size_t i = 0; i < n; ++i) w |= std::uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
    }
    h = (h ^ w) * 0x94D049BB133111EBull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return static_cast<std::size_t>(h);
  }
};

}  // namespace meridian
