#include "server/hot_answer.hpp"

#include <cstring>

#include "geo/client.hpp"
#include "server/answer.hpp"
#include "server/client_of.hpp"
#include "server/opt_record.hpp"
#include "server/query_parser.hpp"
#include "server/wire.hpp"
#include "zones/policy.hpp"
#include "zones/zone.hpp"
#include "zones/zone_set.hpp"

namespace meridian {

namespace {

// Header and echoed question; `an` answers, OPT if `opt`.
void put_head(std::uint8_t* out, const ParsedQuery& q, const std::uint8_t* query, std::uint16_t an, bool opt) {
  std::memcpy(out, query, 2);  // ID
  wire::put16(out + 2, static_cast<std::uint16_t>(wire::flag::QR | wire::flag::AA |
                                                  (q.flags & (0x7800 | wire::flag::RD | wire::flag::CD))));
  wire::put16(out + 4, 1);
  wire::put16(out + 6, an);
  wire::put16(out + 8, 0);
  wire::put16(out + 10, opt ? 1 : 0);
  std::memcpy(out + wire::kHeaderLen, query + wire::kHeaderLen, q.question_end - wire::kHeaderLen);  // original case
}

// A policy set: the policy picks, per query, which of the RRset's records
// answer, and those are copied as a hot set's are. Everything the assembler
// does beyond that for a policy answer -- NODATA when nothing is picked, a
// CNAME target, the additional section -- cannot happen for a policy set
// (zones/name_arena.cpp) or declines here. A decline after select() costs
// the assembler a second pick; it happens only for a pick of nothing or an
// answer too big for the payload.
std::size_t policy_answer(const ZoneSet& zones, const AnswerConfig& cfg, WorkerState& ws, const ParsedQuery& q,
                          const sockaddr* from, const std::uint8_t* query, std::size_t limit, std::uint8_t* out,
                          const RRset& rs, FirstLookup& found) {
  ClientInfo client;
  client_of(q, from, geo_for(zones, cfg), client);
  PolicyOutput chosen;
  rs.policy->select(PolicyInput{ws.next_random(), &client, cfg.latency.get(), nullptr}, chosen);
  if (chosen.count == 0) return 0;
  std::size_t answer_bytes = 0;
  for (std::uint16_t k = 0; k < chosen.count; ++k) answer_bytes += 12 + rs.rdata[chosen.idx[k]].size();
  const std::size_t opt = opt_size(cfg, q);
  const std::size_t total = q.question_end + answer_bytes + opt;
  if (total > limit) return 0;  // the assembler truncates

  put_head(out, q, query, chosen.count, opt != 0);
  // A shorter TTL while degraded lets resolvers come back sooner (gdnsd-style).
  const std::uint32_t ttl = chosen.degraded && rs.ttl_when_degraded ? rs.ttl_when_degraded : rs.ttl;
  std::uint8_t* w = out + q.question_end;
  for (std::uint16_t k = 0; k < chosen.count; ++k) {
    const std::string& r = rs.rdata[chosen.idx[k]];
    const auto len = static_cast<std::uint16_t>(r.size());
    std::memcpy(wire::put_rr_head(w, wire::kHeaderLen, rs.type, wire::kClassIN, ttl, len), r.data(), len);
    w += 12 + len;
  }
  ws.rotation++;  // as the assembler advances it for every answer
  if (opt) write_opt(w, cfg, q, 0, client.from_ecs ? client.scope() : 0);
  found.policy = policy_kind_from_name(rs.policy->kind());
  return total;
}

}  // namespace

QueryLocation locate(const ZoneSet& zones, const ParsedQuery& q) {
  const std::string_view qname(reinterpret_cast<const char*>(q.qname), q.qname_len);
  QueryLocation where;
  where.zone = zones.find_for(qname, q.label_starts, where.zone_slot);
  if (where.zone) {
    where.name_hash = NameHash{}(qname);
    where.zone->prefetch_slot(where.name_hash);
  }
  return where;
}

void prefetch_answer(const QueryLocation& where) {
  if (where.zone) where.zone->prefetch_entry(where.name_hash);
}

std::size_t hot_answer(const ZoneSet& zones, const AnswerConfig& cfg, WorkerState& ws, const ParsedQuery& q,
                       const QueryLocation& where, const sockaddr* from, const std::uint8_t* query,
                       std::size_t limit, std::uint8_t* out, FirstLookup& found) {
  const std::string_view qname(reinterpret_cast<const char*>(q.qname), q.qname_len);
  found.done = true;
  found.zone = where.zone;
  found.zone_slot = where.zone_slot;
  if (!found.zone) return 0;
  found.entry = found.zone->find_entry(qname, where.name_hash);
  const std::uint8_t* e = found.entry;
  if (!e) {
    // Not a node: a wildcard may still answer it (RFC 4592), which takes the
    // closest-encloser search; its result goes to the assembler too, which
    // then need not search again (NXDOMAIN, referrals).
    found.looked_up = true;
    found.result = lookup(*found.zone, qname, q.qtype, nullptr, true);
    if (found.result.kind != LookupKind::Wildcard) return 0;
    e = entry_of(*found.result.node);
  }
  HotSet set;
  if (!NameEntry(e).find_hot(q.qtype, set)) return 0;
  if (set.policy) return policy_answer(zones, cfg, ws, q, from, query, limit, out, *set.policy, found);

  // Offsets of the records: the answer starts at record `rotation % count`.
  const std::uint8_t* rec[64];
  if (set.count > 64) return 0;  // rare: the assembler rotates big sets
  std::size_t answer_bytes = 0;
  const std::uint8_t* p = set.records;
  for (unsigned i = 0; i < set.count; ++i) {
    std::uint16_t len;
    std::memcpy(&len, p, 2);
    rec[i] = p;
    answer_bytes += 12 + len;
    p += 2 + len;
  }
  const std::size_t opt = opt_size(cfg, q);
  const std::size_t total = q.question_end + answer_bytes + opt;
  if (total > limit) return 0;  // the assembler truncates

  put_head(out, q, query, set.count, opt != 0);
  std::uint8_t* w = out + q.question_end;
  const unsigned start = ws.rotation++ % set.count;
  for (unsigned k = 0; k < set.count; ++k) {
    const std::uint8_t* r = rec[(start + k) % set.count];
    std::uint16_t len;
    std::memcpy(&len, r, 2);
    // The owner is the query name.
    std::memcpy(wire::put_rr_head(w, wire::kHeaderLen, set.type, wire::kClassIN, set.ttl, len), r + 2, len);
    w += 12 + len;
  }
  if (opt) write_opt(w, cfg, q, 0, 0);  // static data: ECS scope 0
  return total;
}

}  // namespace meridian
