#pragma once
// Domain names in uncompressed wire format (length-prefixed labels ending in
// the root label). The zone snapshot stores every name lower-cased so that
// lookups compare bytes; the query path never converts to text.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meridian {

inline constexpr std::size_t kMaxNameLen = 255;
inline constexpr std::size_t kMaxLabels = 128;

inline std::uint8_t ascii_lower(std::uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + 32) : c;
}

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
    // FNV-1a: short keys, no allocation, good enough spread for names.
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) { h ^= c; h *= 1099511628211ull; }
    return static_cast<std::size_t>(h);
  }
};

}  // namespace meridian
