#include "server/answer.hpp"

#include <algorithm>
#include <cstring>
#include <new>

#include <netinet/in.h>

#include "geo/client.hpp"
#include "server/client_of.hpp"
#include "server/hot_answer.hpp"
#include "server/metrics.hpp"
#include "server/opt_record.hpp"
#include "server/query_log.hpp"
#include "server/query_parser.hpp"
#include "server/response_writer.hpp"
#include "server/wire.hpp"
#include "zones/lookup.hpp"
#include "zones/policy.hpp"
#include "zones/rdata.hpp"

namespace meridian {

namespace {

constexpr int kMaxChain = 8;  // CNAME/DNAME hops followed inside our zones

using std::string_view;

string_view sv(const std::uint8_t* p, std::size_t n) { return {reinterpret_cast<const char*>(p), n}; }

class Assembler {
 public:
  Assembler(const ZoneSet& zones, const AnswerConfig& cfg, WorkerState& ws, const ParsedQuery& q,
            const QueryMeta& meta, std::uint8_t* out, std::size_t limit, const FirstLookup& found)
      : zones_(zones), cfg_(cfg), ws_(ws), q_(q), tcp_(meta.transport == Transport::Tcp), trace_(meta.trace),
        found_(found), w_(out, limit) {
    init_client(meta.from);
  }

  std::size_t run(const std::uint8_t* query, ParseStatus status);

  // What metrics and the query log record about the answer.
  std::uint16_t zone_slot() const { return zone_slot_; }
  std::uint16_t rcode() const { return rcode_; }
  bool truncated() const { return truncated_; }
  PolicyKind policy() const { return policy_; }
  // The first record the answer's first policy chose (for the query log).
  std::uint16_t target_type() const { return target_type_; }
  string_view target() const { return target_; }

 private:
  void resolve_in();
  void resolve_chaos();
  bool add_rrset(string_view owner, const RRset& rs, std::uint16_t& count, std::uint16_t klass = wire::kClassIN);
  bool add_policy_rrset(string_view owner, const RRset& rs, std::uint16_t& count);
  void init_client(const sockaddr* from);
  void add_negative(const Zone& z);
  void add_referral(const Zone& z, const Node& cut);
  void add_additional(const Zone& z, const RRset& rs);
  bool add_addresses(const Node& n);
  // True when an earlier record of `rs` has the same additional target.
  static bool seen_before(const RRset& rs, std::size_t i) {
    for (std::size_t j = 0; j < i; ++j)
      if (rs.target_nodes[j] == rs.target_nodes[i]) return true;
    return false;
  }
  // The CNAME target the policy chose for `rs` instead of records, if any.
  const std::string* chosen_cname(const RRset& rs) const {
    if (chosen_for_ != &rs || chosen_.count != 1 || chosen_.idx[0] < kCnameIndexBase) return nullptr;
    return &rs.cname_targets[chosen_.idx[0] - kCnameIndexBase];
  }
  bool was_chosen(const RRset& rs, std::size_t i) const {
    if (chosen_for_ != &rs) return false;
    for (std::uint16_t k = 0; k < chosen_.count; ++k)
      if (chosen_.idx[k] == i) return true;
    return false;
  }
  void lower_copy(string_view from, std::uint8_t* to) {
    for (std::size_t i = 0; i < from.size(); ++i) to[i] = ascii_lower(static_cast<std::uint8_t>(from[i]));
  }

  const ZoneSet& zones_;
  const AnswerConfig& cfg_;
  WorkerState& ws_;
  const ParsedQuery& q_;
  bool tcp_;
  PolicyTrace* trace_;
  const FirstLookup& found_;  // what the hot path already looked up
  const Zone* question_zone_ = nullptr;  // the zone of the query name
  ClientInfo client_;
  ResponseWriter w_;
  std::uint16_t flags_ = 0;
  std::uint16_t rcode_ = 0;
  std::uint16_t qd_ = 0, an_ = 0, ns_ = 0, ar_ = 0;
  bool truncated_ = false;
  std::uint16_t zone_slot_ = kZoneSlotNone;
  PolicyKind policy_ = PolicyKind::None;  // of the first policy RRset in the answer section
  std::uint16_t target_type_ = 0;
  string_view target_;
  // The records a policy chose for the last policy RRset written; the
  // additional section follows only those.
  PolicyOutput chosen_;
  const RRset* chosen_for_ = nullptr;
  // Names reached through CNAME/DNAME, lower-cased, one per hop: a name
  // seen before ends the chain, so a CNAME loop puts each RRset in the
  // answer once (RFC 2181 section 5.5) instead of repeating it.
  std::uint8_t names_[kMaxChain + 1][kMaxNameLen + 1];
  std::uint8_t name_lens_[kMaxChain + 1];
  int nnames_ = 0;
  // Moves the chase to `next` (already written in names_[nnames_]): false
  // when the chain ends here -- a name seen before, too many hops, or a
  // target outside our zones.
  bool follow(string_view next, string_view& sname, const Zone*& zone) {
    if (sv(q_.qname, q_.qname_len) == next) return false;  // names_[0] is the query name, not copied
    for (int i = 1; i < nnames_; ++i)
      if (sv(names_[i], name_lens_[i]) == next) return false;
    if (nnames_ == kMaxChain) return false;
    name_lens_[nnames_++] = static_cast<std::uint8_t>(next.size());
    sname = next;
    zone = zones_.find_for(sname);
    return zone != nullptr;
  }
};

std::size_t Assembler::run(const std::uint8_t* query, ParseStatus status) {
  const std::size_t full_limit = w_.limit();
  const std::size_t opt_len = opt_size(cfg_, q_);
  w_.set_limit(full_limit - opt_len);

  flags_ = wire::flag::QR | (q_.flags & (0x7800 | wire::flag::RD | wire::flag::CD));
  // The ID, then flags and counts, filled in at the end. Fixed-size copies
  // the compiler inlines: two put_bytes calls cost ~70 instructions here.
  if (std::uint8_t* h = w_.claim(wire::kHeaderLen)) {  // the limit is never below 512 - OPT
    std::memcpy(h, query, 2);
    std::memset(h + 2, 0, wire::kHeaderLen - 2);
  }
  if (q_.question_ok) {
    w_.put_bytes(query + wire::kHeaderLen, q_.question_end - wire::kHeaderLen);  // original case
    w_.set_query_name(sv(q_.qname, q_.qname_len), wire::kHeaderLen);
    qd_ = 1;
  }

  switch (status) {
    case ParseStatus::FormErr: rcode_ = wire::rcode::FormErr; break;
    case ParseStatus::NotImp: rcode_ = wire::rcode::NotImp; break;
    case ParseStatus::BadVers: rcode_ = wire::rcode::BadVers; break;
    default:
      if (q_.qclass == wire::kClassIN) resolve_in();
      else if (q_.qclass == wire::kClassCH) resolve_chaos();
      else rcode_ = wire::rcode::Refused;
  }
  ws_.rotation++;

  std::uint8_t* h = w_.data();
  flags_ |= rcode_ & 0xF;
  if (truncated_) flags_ |= wire::flag::TC;
  wire::put16(h + 2, flags_);
  wire::put16(h + 4, qd_);
  wire::put16(h + 6, an_);
  wire::put16(h + 8, ns_);
  if (q_.edns) {
    w_.set_limit(full_limit);
    // Echo the client's subnet with the scope the answer depended on: 0
    // when no policy looked at the address.
    if (std::uint8_t* opt = w_.claim(opt_len)) {  // room was kept for it
      write_opt(opt, cfg_, q_, rcode_, client_.from_ecs ? client_.scope() : 0);
      ++ar_;
    }
  }
  wire::put16(h + 10, ar_);
  return w_.size();
}

void Assembler::init_client(const sockaddr* from) {
  client_of(q_, from, geo_for(zones_, cfg_), client_);
}

bool Assembler::add_rrset(string_view owner, const RRset& rs, std::uint16_t& count, std::uint16_t klass) {
  if (truncated_) return false;
  if (rs.policy) return add_policy_rrset(owner, rs, count);
  auto m = w_.mark();
  const std::size_t n = rs.rdata.size();
  const std::size_t start = n ? ws_.rotation % n : 0;  // round-robin order
  for (std::size_t k = 0; k < n; ++k) {
    if (!w_.put_rr(owner, rs.type, klass, rs.ttl, rs.rdata[(start + k) % n])) {
      w_.rollback(m);
      return false;
    }
  }
  count = static_cast<std::uint16_t>(count + n);
  return true;
}

bool Assembler::add_policy_rrset(string_view owner, const RRset& rs, std::uint16_t& count) {
  rs.policy->select(PolicyInput{ws_.next_random(), &client_, cfg_.latency.get(), trace_}, chosen_);
  chosen_for_ = &rs;
  if (policy_ == PolicyKind::None && &count == &an_) {
    policy_ = policy_kind_from_name(rs.policy->kind());
    if (chosen_.count > 0) {
      const std::uint16_t i = chosen_.idx[0];
      target_type_ = i >= kCnameIndexBase ? rrtype::CNAME : rs.type;
      target_ = i >= kCnameIndexBase ? string_view(rs.cname_targets[i - kCnameIndexBase]) : string_view(rs.rdata[i]);
    }
  }
  // A shorter TTL while degraded lets resolvers come back sooner (gdnsd-style).
  const std::uint32_t ttl = chosen_.degraded && rs.ttl_when_degraded ? rs.ttl_when_degraded : rs.ttl;
  if (const std::string* target = chosen_cname(rs)) {
    if (!w_.put_rr(owner, rrtype::CNAME, wire::kClassIN, ttl, *target)) return false;
    ++count;
    return true;
  }
  auto m = w_.mark();
  for (std::uint16_t k = 0; k < chosen_.count; ++k) {
    if (!w_.put_rr(owner, rs.type, wire::kClassIN, ttl, rs.rdata[chosen_.idx[k]])) {
      w_.rollback(m);
      return false;
    }
  }
  count = static_cast<std::uint16_t>(count + chosen_.count);
  return true;
}

void Assembler::resolve_in() {
  const Zone* zone = found_.zone;
  if (found_.done) zone_slot_ = found_.zone_slot;
  else zone = zones_.find_for(sv(q_.qname, q_.qname_len), q_.label_starts, zone_slot_);
  question_zone_ = zone;
  if (!zone) {
    rcode_ = wire::rcode::Refused;
    return;
  }
  const std::uint16_t qtype = q_.qtype;
  if (qtype == rrtype::AXFR || qtype == rrtype::IXFR) {
    rcode_ = wire::rcode::Refused;  // zone transfers are not offered
    return;
  }
  if (is_meta_type(qtype) && qtype != rrtype::ANY) {
    rcode_ = (qtype == rrtype::OPT || qtype == 249 || qtype == 250) ? wire::rcode::FormErr : wire::rcode::NotImp;
    return;
  }
  flags_ |= wire::flag::AA;

  string_view sname = sv(q_.qname, q_.qname_len);
  nnames_ = 1;  // the query name (follow() reads it from q_)
  for (int hop = 0; hop <= kMaxChain; ++hop) {
    // The first name was looked up by the hot path (found_): its node, or
    // its closest-encloser result, need not be looked up again.
    const bool first = hop == 0 && found_.done;
    LookupResult r = first && found_.looked_up ? found_.result
                     : first && found_.entry   ? lookup(*zone, sname, qtype, &zone->nodes[NameEntry(found_.entry).node()])
                                               : lookup(*zone, sname, qtype);
    switch (r.kind) {
      case LookupKind::Delegation:
        if (hop == 0) flags_ &= static_cast<std::uint16_t>(~wire::flag::AA);
        add_referral(*zone, *r.node);
        return;
      case LookupKind::NxDomain:
        rcode_ = wire::rcode::NxDomain;  // of the last name in a chain (RFC 6604)
        add_negative(*zone);
        return;
      case LookupKind::Dname: {
        const RRset& d = *r.node->find(rrtype::DNAME);
        if (!add_rrset(r.node->name, d, an_)) { truncated_ = true; return; }
        // Synthesized CNAME: qname's labels below the DNAME owner + target.
        const std::size_t prefix = sname.size() - r.node->name.size();
        const string_view target = d.rdata[0];
        if (prefix + target.size() > kMaxNameLen) {
          rcode_ = wire::rcode::YxDomain;  // RFC 6672 section 2.2
          return;
        }
        std::uint8_t* nb = names_[nnames_];
        std::memmove(nb, sname.data(), prefix);
        lower_copy(target, nb + prefix);
        const string_view synth = sv(nb, prefix + target.size());
        if (!w_.put_rr(sname, rrtype::CNAME, wire::kClassIN, d.ttl, synth)) { truncated_ = true; return; }
        ++an_;
        if (!follow(synth, sname, zone)) return;
        continue;
      }
      case LookupKind::Exact:
      case LookupKind::Wildcard: {
        const Node& node = *r.node;
        if (qtype == rrtype::ANY) {
          // RFC 8482: over UDP one RRset, not the whole node; TCP gets all.
          for (const auto& rs : node.rrsets) {
            if (!add_rrset(sname, rs, an_)) { truncated_ = true; return; }
            if (!tcp_) break;
          }
          if (node.rrsets.empty()) add_negative(*zone);
          return;
        }
        if (const RRset* rs = node.find(qtype)) {
          const std::uint16_t before = an_;
          if (!add_rrset(sname, *rs, an_)) { truncated_ = true; return; }
          if (const std::string* target = chosen_cname(*rs)) {
            // The policy answered with a CNAME target: chase it like a CNAME.
            lower_copy(*target, names_[nnames_]);
            if (!follow(sv(names_[nnames_], target->size()), sname, zone)) return;
            continue;
          }
          if (an_ == before) add_negative(*zone);  // a policy chose nothing: NODATA
          else add_additional(*zone, *rs);
          return;
        }
        const RRset* cname = node.find(rrtype::CNAME);
        if (!cname) {
          add_negative(*zone);  // NODATA
          return;
        }
        if (!add_rrset(sname, *cname, an_)) { truncated_ = true; return; }
        lower_copy(cname->rdata[0], names_[nnames_]);
        if (!follow(sv(names_[nnames_], cname->rdata[0].size()), sname, zone)) return;
        continue;
      }
    }
  }
}

void Assembler::add_negative(const Zone& z) {
  const RRset& soa = z.soa();
  if (&z == question_zone_ && z.soa_mname_prefix >= 0 && z.soa_rname_prefix >= 0) {
    // The query name is in this zone, so its last labels are the origin:
    // the SOA's owner is a pointer there, and MNAME and RNAME are their
    // labels above the origin and a pointer there (precomputed at load).
    const std::string& rd = soa.rdata[0];
    const auto mp = static_cast<std::size_t>(z.soa_mname_prefix), rp = static_cast<std::size_t>(z.soa_rname_prefix);
    const std::size_t m1 = mp + z.origin.size();  // MNAME's length in the rdata
    const std::size_t rdlen = mp + 2 + rp + 2 + 20;
    std::uint8_t* p = w_.claim(12 + rdlen);
    if (!p) {
      truncated_ = true;
      return;
    }
    const std::size_t origin_off = wire::kHeaderLen + q_.qname_len - z.origin.size();
    const auto origin = static_cast<std::uint16_t>(0xC000 | origin_off);
    p = wire::put_rr_head(p, origin_off, rrtype::SOA, wire::kClassIN, z.negative_ttl, rdlen);
    std::memcpy(p, rd.data(), mp);
    wire::put16(p + mp, origin);
    p += mp + 2;
    std::memcpy(p, rd.data() + m1, rp);
    wire::put16(p + rp, origin);
    p += rp + 2;
    std::memcpy(p, rd.data() + rd.size() - 20, 20);
    ++ns_;
    return;
  }
  auto m = w_.mark();
  if (!w_.put_rr(z.origin, rrtype::SOA, wire::kClassIN, z.negative_ttl, soa.rdata[0])) {
    w_.rollback(m);
    truncated_ = true;
    return;
  }
  ++ns_;
}

void Assembler::add_referral(const Zone& z, const Node& cut) {
  const RRset& ns = *cut.find(rrtype::NS);
  if (!add_rrset(cut.name, ns, ns_)) {
    truncated_ = true;
    return;
  }
  for (std::size_t i = 0; i < ns.target_nodes.size(); ++i) {
    const std::int32_t t = ns.target_nodes[i];
    if (t < 0 || seen_before(ns, i)) continue;
    const Node& glue = z.nodes[static_cast<std::size_t>(t)];
    // Glue below the cut is required for the referral to work: if it does
    // not fit, the client must retry over TCP (RFC 9471).
    if (!add_addresses(glue) && is_subdomain(glue.name, cut.name)) {
      truncated_ = true;
      return;
    }
  }
}

void Assembler::add_additional(const Zone& z, const RRset& rs) {
  if (!has_additional_target(rs.type)) return;  // a policy's A/AAAA records have a (-1) target each
  for (std::size_t i = 0; i < rs.target_nodes.size(); ++i) {
    const std::int32_t t = rs.target_nodes[i];
    if (t < 0 || (rs.policy && !was_chosen(rs, i)) || seen_before(rs, i)) continue;
    const Node& n = z.nodes[static_cast<std::size_t>(t)];
    if (n.cover >= 0) continue;       // only authoritative data, not glue
    if (!add_addresses(n)) return;    // optional: stop when full
  }
}

bool Assembler::add_addresses(const Node& n) {
  for (std::uint16_t type : {rrtype::A, rrtype::AAAA}) {
    if (const RRset* rs = n.find(type)) {
      auto m = w_.mark();
      std::uint16_t before = ar_;
      if (!add_rrset(n.name, *rs, ar_)) {
        w_.rollback(m);
        ar_ = before;
        return false;
      }
    }
  }
  return true;
}

void Assembler::resolve_chaos() {
  static constexpr char kIdServer[] = "\2id\6server";
  static constexpr char kHostnameBind[] = "\10hostname\4bind";
  static constexpr char kVersionBind[] = "\7version\4bind";
  static constexpr char kVersionServer[] = "\7version\6server";
  const string_view name = sv(q_.qname, q_.qname_len);
  auto is = [&](const char* lit, std::size_t n) { return name == string_view(lit, n); };  // n includes the root
  const std::string* value = nullptr;
  if (is(kIdServer, sizeof kIdServer) || is(kHostnameBind, sizeof kHostnameBind)) value = &cfg_.identity;
  else if (is(kVersionBind, sizeof kVersionBind) || is(kVersionServer, sizeof kVersionServer)) value = &cfg_.version;
  if (!value || value->empty()) {
    rcode_ = wire::rcode::Refused;
    return;
  }
  flags_ |= wire::flag::AA;
  if (q_.qtype != rrtype::TXT && q_.qtype != rrtype::ANY) return;  // NODATA
  std::uint8_t txt[256];
  const std::size_t n = std::min<std::size_t>(value->size(), 255);
  txt[0] = static_cast<std::uint8_t>(n);
  std::memcpy(txt + 1, value->data(), n);
  if (w_.put_rr(name, rrtype::TXT, wire::kClassCH, 0, sv(txt, n + 1))) ++an_;
}

}  // namespace

namespace {
void log_query(QueryLogRing& log, const ParsedQuery& q, const Assembler& a, const QueryMeta& meta) {
  QueryLogEntry e;
  e.from = meta.from;
  e.ecs = q.ecs;
  e.ecs_family = q.ecs_family;
  e.ecs_source = q.ecs_source;
  e.ecs_addr = q.ecs_addr;
  if (q.question_ok) {
    e.qname = q.qname;
    e.qname_len = q.qname_len;
  }
  e.qtype = q.qtype;
  e.rcode = a.rcode();
  e.tcp = meta.transport == Transport::Tcp;
  e.truncated = a.truncated();
  e.policy = a.policy();
  e.target_type = a.target_type();
  e.target = a.target();
  log.write(e);
}

// A query that may take the zone path: parsed whole, of class IN (CHAOS
// and errors are answered apart). prepare_query locates only these, and
// answer_prepared offers only these to the hot path.
bool for_a_zone(ParseStatus status, const ParsedQuery& q) {
  return status == ParseStatus::Ok && q.qclass == wire::kClassIN;
}
}  // namespace

void prepare_query(const ZoneSet& zones, const AnswerConfig& cfg, WorkerState& ws, const std::uint8_t* query,
                   std::size_t len, PreparedQuery& p) {
  WorkerMetrics* const metrics = ws.metrics;
  // A fresh ParsedQuery, as parse_query() expects, even where `p` held the
  // previous batch's query (default-initialised: the 255-octet name buffer
  // is not cleared, as it is not on the stack either).
  ::new (static_cast<void*>(&p.q)) ParsedQuery;
  p.timed = metrics && metrics->time_this();
  p.start_ns = p.timed ? monotonic_ns() : 0;
  p.status = parse_query(query, len, p.q);
  p.where = for_a_zone(p.status, p.q) ? locate(zones, p.q) : QueryLocation{};
  // A client subnet names the network a geolocation policy will look up:
  // its first GeoIP table read starts now and overlaps the zone lookup.
  if (p.status != ParseStatus::Drop && p.q.ecs && p.q.ecs_source > 0)
    if (const GeoIpDb* geo = geo_for(zones, cfg))
      geo->prefetch(p.q.ecs_family == 1 ? AF_INET : AF_INET6, p.q.ecs_addr);
}

std::size_t answer_prepared(const ZoneSet& zones, const AnswerConfig& cfg, WorkerState& ws, const PreparedQuery& p,
                            const std::uint8_t* query, const QueryMeta& meta, std::uint8_t* out) {
  WorkerMetrics* const metrics = ws.metrics;
  const ParsedQuery& q = p.q;
  const ParseStatus status = p.status;
  if (status == ParseStatus::Drop) {
    if (metrics) metrics->drop(DropReason::Unparseable);
    if (p.timed) metrics->observe(monotonic_ns() - p.start_ns);  // so the histogram's count is predictable
    return 0;
  }
  std::size_t limit = kMaxMessage;
  if (meta.transport == Transport::Udp)
    limit = q.edns ? std::min<std::size_t>(q.edns_udp_size, std::max<std::uint16_t>(cfg.udp_payload, 512))
                   : wire::kMinUdpPayload;
  const bool log_this = ws.query_log && ws.query_log->sampled();  // off: one branch
  FirstLookup found;
  if (for_a_zone(status, q) && !log_this && !meta.trace) {
    if (const std::size_t n = hot_answer(zones, cfg, ws, q, p.where, meta.from, query, limit, out, found)) {
      if (metrics) {
        metrics->record(QueryOutcome{found.zone_slot, q.qtype, wire::rcode::NoError,
                                     static_cast<std::uint8_t>(meta.transport), found.policy, q.ecs, false, false});
        if (p.timed) metrics->observe(monotonic_ns() - p.start_ns);
      }
      return n;
    }
  }
  Assembler a(zones, cfg, ws, q, meta, out, limit, found);
  const std::size_t n = a.run(query, status);
  // Recorded once, here, for every answer.
  if (metrics) {
    metrics->record(QueryOutcome{a.zone_slot(), q.qtype, a.rcode(), static_cast<std::uint8_t>(meta.transport),
                                 a.policy(), q.ecs, a.truncated(), status == ParseStatus::FormErr});
    if (p.timed) metrics->observe(monotonic_ns() - p.start_ns);
  }
  if (log_this) log_query(*ws.query_log, q, a, meta);
  return n;
}

std::size_t answer_query(const ZoneSet& zones, const AnswerConfig& cfg, WorkerState& ws,
                         const std::uint8_t* query, std::size_t len, const QueryMeta& meta,
                         std::uint8_t* out) {
  PreparedQuery p;
  prepare_query(zones, cfg, ws, query, len, p);
  return answer_prepared(zones, cfg, ws, p, query, meta, out);
}

}  // namespace meridian
