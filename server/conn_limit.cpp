#include "server/conn_limit.hpp"

#include <cstring>

namespace meridian {

ClientConnLimit::Key ClientConnLimit::key_of(const IpAddr& a) {
  Key k{0, 0, a.family};
  std::memcpy(&k.hi, a.bytes, 8);
  std::memcpy(&k.lo, a.bytes + 8, 8);
  return k;
}

bool ClientConnLimit::acquire(const IpAddr& a) {
  std::lock_guard lock(mu_);
  unsigned& n = open_[key_of(a)];
  if (n >= limit_) return false;
  ++n;
  return true;
}

void ClientConnLimit::release(const IpAddr& a) {
  std::lock_guard lock(mu_);
  auto it = open_.find(key_of(a));
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

std::size_t ClientConnLimit::clients() const {
  std::lock_guard lock(mu_);
  return open_.size();
}

}  // namespace meridian
