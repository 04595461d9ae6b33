#pragma once
// Counts open TCP connections per client address over all workers, so one
// client cannot take every connection slot (tcp_max_connections_per_client).
// SO_REUSEPORT spreads one client's connections over the workers, hence one
// table shared by them; it is touched on accept and close only, never per
// query, so a mutex costs nothing that matters.
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "server/cidr.hpp"

namespace meridian {

class ClientConnLimit {
 public:
  explicit ClientConnLimit(unsigned per_client) : limit_(per_client) {}
  // Counts a new connection; false (nothing counted) if the client already
  // has `per_client` open.
  bool acquire(const IpAddr& a);
  void release(const IpAddr& a);
  std::size_t clients() const;

 private:
  struct Key {
    std::uint64_t hi, lo;
    std::uint8_t family;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const { return std::hash<std::uint64_t>()(k.hi * 31 + k.lo) ^ k.family; }
  };
  static Key key_of(const IpAddr& a);

  unsigned limit_;
  mutable std::mutex mu_;
  std::unordered_map<Key, unsigned, KeyHash> open_;
};

}  // namespace meridian
