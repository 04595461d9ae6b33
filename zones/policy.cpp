// What every policy kind shares: target health, emitting a target's records,
// and the helpers that describe a decision for traces.
#include <arpa/inet.h>
#include <sys/socket.h>

#include "geo/client.hpp"
#include "geo/location.hpp"
#include "zones/policy_impl.hpp"

namespace meridian::policy {

bool Target::pool_up() const { return pool->any_up(); }

bool CompiledPolicy::any_up() const {
  for (const auto& t : targets_)
    if (t.up()) return true;
  return false;
}

void CompiledPolicy::emit(const PolicyInput& in, const Target& t, Rng& rng, Collector& c) const {
  if (t.cname >= 0) {
    if (in.trace) trace(in, "{}: target {} → {}", kind(), &t - targets_.data() + 1, t.label);
    c.push(static_cast<std::uint16_t>(kCnameIndexBase + t.cname));
    return;
  }
  if (t.pool) {
    PolicyOutput sub;
    t.pool->select(PolicyInput{rng.next(), in.client, in.latency, in.trace}, sub);
    if (sub.degraded) c.out.degraded = true;
    for (std::uint16_t i = 0; i < sub.count; ++i) c.push(sub.idx[i]);
    return;
  }
  const auto n = static_cast<std::uint32_t>(t.values.size());
  if (n == 0) return;
  const std::uint32_t start = n > 1 ? rng.below(n) : 0;  // round robin within the target
  for (std::uint32_t k = 0; k < n; ++k) c.push(t.values[(start + k) % n]);
}


std::string describe_target(const Target& t, std::size_t index) {
  return fmt::format("target {} ({})", index + 1, t.label);
}

std::string describe_health(const Target& t) {
  if (!health_up(t.check)) return "check " + t.check_name + " down";
  if (t.pool && !t.pool->any_up()) return "pool down";
  return "up";
}

std::string describe_client(const ClientInfo* c) {
  if (!c || (c->family != AF_INET && c->family != AF_INET6)) return "none";
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(c->family, c->addr, buf, sizeof buf);
  const unsigned full = c->family == AF_INET ? 32 : 128;
  if (c->from_ecs || c->source_prefix != full) return fmt::format("{}/{}", buf, c->source_prefix);
  return buf;
}

std::string describe_location(const Location& l) {
  std::string s;
  if (!l.found) {
    s = "unknown";
  } else {
    s = l.continent[0] ? l.continent : "-";
    s += '/';
    s += l.country[0] ? l.country : "-";
    for (const auto& sub : l.subdivisions)
      if (sub[0]) {
        s += '/';
        s += sub;
      }
    if (l.asn) s += fmt::format(" AS{}", l.asn);
    if (l.has_coords) s += fmt::format(" {:.2f},{:.2f}", l.lat, l.lon);
  }
  return s + fmt::format(" (db prefix /{})", l.prefix_len);
}

std::uint8_t location_scope(const ClientInfo& c, const Location& l) {
  return l.prefix_len ? l.prefix_len : c.source_prefix;
}

}  // namespace meridian::policy
