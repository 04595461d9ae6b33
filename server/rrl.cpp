#include "server/rrl.hpp"

#include <arpa/inet.h>
#include <endian.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "server/wire.hpp"

namespace meridian {

namespace {

constexpr std::uint16_t kTypeNS = 2;

// murmur3's finalizer: spreads every input bit over the whole word.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

// Single writer: a relaxed load and store, no locked read-modify-write.
void bump(std::atomic<std::uint64_t>& c) { c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }

// ASCII A-Z to a-z in each byte of a word (SWAR): 8 bytes per step instead
// of one. Bytes of 0x80 and above are left alone.
std::uint64_t fold_case(std::uint64_t x) {
  constexpr std::uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
  const std::uint64_t low7 = x & ~high;
  const std::uint64_t ge_a = low7 + (0x80 - 'A') * ones;      // high bit: byte >= 'A'
  const std::uint64_t gt_z = low7 + (0x80 - 'Z' - 1) * ones;  // high bit: byte > 'Z'
  return x | ((ge_a & ~gt_z & ~x & high) >> 2);               // 0x80 >> 2 = 0x20
}

// Up to 8 bytes at p (n of them) as a little-endian word, zero-padded;
// reads past them only when the message has room.
std::uint64_t load_word(const std::uint8_t* p, std::size_t n, bool room) {
  std::uint64_t w = 0;
  if (room) {
    std::memcpy(&w, p, 8);
    w = le64toh(w);
    if (n < 8) w &= (1ull << (8 * n)) - 1;
  } else {
    for (std::size_t i = 0; i < n; ++i) w |= std::uint64_t(p[i]) << (8 * i);
  }
  return w;
}

// Hashes the (possibly compressed) name at `pos`, letter case folded, 8
// bytes per step. Length octets are hashed too (they are at most 63, below
// 'A', so folding leaves them alone). False on a malformed name.
bool hash_name(const std::uint8_t* msg, std::size_t len, std::size_t pos, std::uint64_t seed, std::uint64_t& hash) {
  std::uint64_t h = seed;
  std::size_t total = 0;
  unsigned jumps = 0;
  while (true) {
    if (pos >= len) return false;
    const std::uint8_t l = msg[pos];
    if ((l & 0xC0) == 0xC0) {
      if (pos + 1 >= len || ++jumps > 32) return false;
      pos = static_cast<std::size_t>((l & 0x3F) << 8 | msg[pos + 1]);
      continue;
    }
    if (l & 0xC0) return false;
    const std::size_t chunk = 1 + std::size_t(l);  // length octet and label
    if (pos + chunk > len || (total += chunk) > 255) return false;
    for (std::size_t i = 0; i < chunk; i += 8) {
      const std::size_t n = std::min<std::size_t>(8, chunk - i);
      h = (h ^ fold_case(load_word(msg + pos + i, n, pos + i + 8 <= len))) * 0x9E3779B97F4A7C15ull;
      h ^= h >> 29;
    }
    if (l == 0) {
      hash = h;
      return true;
    }
    pos += chunk;
  }
}

// Hashes the question name: uncompressed and contiguous in the response
// (answer_query copies the query's), so it is hashed as a run of bytes, 8 at
// a time, without walking its labels. `end` is where the message ends.
std::uint64_t hash_run(const std::uint8_t* p, std::size_t n, const std::uint8_t* end, std::uint64_t seed) {
  std::uint64_t h = seed ^ n;
  for (std::size_t i = 0; i < n; i += 8) {
    const std::size_t k = std::min<std::size_t>(8, n - i);
    h = (h ^ fold_case(load_word(p + i, k, p + i + 8 <= end))) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
  }
  return h;
}

// Moves `pos` past the name there (without following pointers); false if
// malformed.
bool skip_name(const std::uint8_t* msg, std::size_t len, std::size_t& pos) {
  while (true) {
    if (pos >= len) return false;
    const std::uint8_t l = msg[pos];
    if ((l & 0xC0) == 0xC0) {
      pos += 2;
      return pos <= len;
    }
    if (l & 0xC0) return false;
    pos += 1 + l;
    if (l == 0) return pos <= len;
  }
}

// Skips one resource record (owner, fixed fields, rdata); false if malformed.
bool skip_rr(const std::uint8_t* msg, std::size_t len, std::size_t& pos) {
  if (!skip_name(msg, len, pos) || pos + 10 > len) return false;
  pos += 10 + wire::get16(msg + pos + 8);
  return pos <= len;
}

std::uint64_t load_be64(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return be64toh(v);
}

}  // namespace

RrlStats sum(const std::vector<RrlStats>& per_worker) {
  RrlStats t;
  for (const auto& s : per_worker) {
    t.dropped += s.dropped;
    t.slipped += s.slipped;
    t.evictions += s.evictions;
  }
  return t;
}

RrlStats RrlCounters::snapshot() const {
  return {dropped.load(std::memory_order_relaxed), slipped.load(std::memory_order_relaxed),
          evictions.load(std::memory_order_relaxed)};
}

bool rrl_classify(const std::uint8_t* resp, std::size_t len, RrlClass& out, std::uint64_t seed) {
  out = RrlClass{};
  if (len < wire::kHeaderLen) return false;
  const std::uint16_t flags = wire::get16(resp + 2);
  const std::uint16_t rcode = flags & 0xF;
  const std::uint16_t qd = wire::get16(resp + 4), an = wire::get16(resp + 6), ns = wire::get16(resp + 8);
  if (qd == 0) return true;  // an error without a question (FORMERR)
  std::size_t pos = wire::kHeaderLen;
  // A compressed question name cannot come from answer_query(): treat as malformed.
  if (!skip_name(resp, len, pos) || pos + 4 > len || (resp[pos - 1] != 0)) return false;
  const std::uint16_t qtype = wire::get16(resp + pos);
  out.question_end = pos + 4;
  if (rcode != wire::rcode::NoError && rcode != wire::rcode::NxDomain) return true;  // errors: per client
  if ((rcode == wire::rcode::NoError && an > 0) || (flags & wire::flag::TC)) {
    out.kind = RrlKind::Positive;
    out.qtype = qtype;
    out.name_hash = hash_run(resp + wire::kHeaderLen, pos - wire::kHeaderLen, resp + len, seed);
    return true;
  }
  // Negative answers and referrals: the first authority record names the
  // zone (SOA) or the delegation (NS). CNAMEs before it are skipped.
  pos = out.question_end;
  for (unsigned i = 0; i < an; ++i)
    if (!skip_rr(resp, len, pos)) return false;
  std::size_t owner_end = pos;
  if (ns == 0 || !skip_name(resp, len, owner_end) || owner_end + 2 > len) {
    // No authority: not a real negative answer (say BADVERS); an error.
    return rcode == wire::rcode::NoError;
  }
  if (rcode == wire::rcode::NxDomain) {
    out.kind = RrlKind::NxDomain;
    return hash_name(resp, len, pos, seed, out.name_hash);
  }
  if (wire::get16(resp + owner_end) == kTypeNS && !(flags & wire::flag::AA)) {
    out.kind = RrlKind::Referral;
    return hash_name(resp, len, pos, seed, out.name_hash);
  }
  out.kind = RrlKind::Nodata;
  out.qtype = qtype;
  out.name_hash = hash_run(resp + wire::kHeaderLen, out.question_end - 4 - wire::kHeaderLen, resp + len, seed);
  return true;
}

RrlTable::RrlTable(const RrlConfig& cfg, RrlCounters& counters, std::uint64_t seed)
    : seed_(mix(seed | 1)), slip_(cfg.slip), exempt_(cfg.exempt), counters_(counters) {
  std::size_t sets = 1;
  while (sets * kWays < cfg.table_size) sets <<= 1;
  sets_.reset(new Set[sets]);  // value-initialised: every account starts empty (TAT 0: full)
  mask_ = sets - 1;
  const std::uint64_t rate = std::max(1u, cfg.responses_per_second);
  interval_us_ = std::max<std::uint64_t>(1, 1000000 / rate);
  burst_us_ = interval_us_ * (rate - 1);
  debt_us_ = burst_us_ + interval_us_ + std::uint64_t(cfg.window) * 1000000;
  v4_mask_ = cfg.ipv4_prefix == 0 ? 0 : ~std::uint32_t(0) << (32 - cfg.ipv4_prefix);
  const unsigned p6 = cfg.ipv6_prefix;
  v6_mask_hi_ = p6 == 0 ? 0 : p6 >= 64 ? ~0ull : ~0ull << (64 - p6);
  v6_mask_lo_ = p6 <= 64 ? 0 : p6 >= 128 ? ~0ull : ~0ull << (128 - p6);
}

RrlVerdict RrlTable::account(std::uint64_t key, std::uint64_t now_us) {
  Set& set = sets_[key & mask_];
  const auto tag = static_cast<std::uint32_t>(key >> 32);
  Entry* e = nullptr;
  Entry* victim = &set.way[0];
  for (Entry& w : set.way) {
    if (w.tag == tag) {
      e = &w;
      break;
    }
    if (w.tat < victim->tat) victim = &w;
  }
  if (!e) {
    // The most recovered account makes room: one whose TAT has passed is
    // indistinguishable from a new one, so evicting it loses nothing. Only
    // debt beyond what sent responses alone leave means the account was
    // limiting a client: losing that is what `evictions` counts.
    if (victim->tat > now_us + burst_us_ + interval_us_) bump(counters_.evictions);
    *victim = Entry{tag, 0, 0};
    e = victim;
  }
  const std::uint64_t tat = std::max(e->tat, now_us);
  if (tat - now_us <= burst_us_) {
    e->tat = tat + interval_us_;
    e->slips = 0;
    return RrlVerdict::Send;
  }
  // Over budget: the debt still grows (up to the window), so a flood keeps
  // its account limited until the client has been quiet for a while.
  e->tat = std::min(tat + interval_us_, now_us + debt_us_);
  if (slip_ == 0 || ++e->slips < slip_) return RrlVerdict::Drop;
  e->slips = 0;
  return RrlVerdict::Slip;
}

std::uint64_t RrlTable::key(const sockaddr* peer, const RrlClass& c) const {
  std::uint64_t hi = 0, lo = 0;
  unsigned family = 0;
  if (peer->sa_family == AF_INET) {
    family = 4;
    lo = ntohl(reinterpret_cast<const sockaddr_in*>(peer)->sin_addr.s_addr) & v4_mask_;
  } else if (peer->sa_family == AF_INET6) {
    const std::uint8_t* b = reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr.s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(reinterpret_cast<const in6_addr*>(b))) {
      family = 4;
      lo = wire::get32(b + 12) & v4_mask_;
    } else {
      family = 6;
      hi = load_be64(b) & v6_mask_hi_;
      lo = load_be64(b + 8) & v6_mask_lo_;
    }
  }
  std::uint64_t h = seed_ ^ (std::uint64_t(family) << 56 | std::uint64_t(c.kind) << 48 | c.qtype);
  h = mix(h ^ hi);
  h = mix(h ^ lo);
  return mix(h ^ c.name_hash);
}

std::size_t RrlTable::filter(const sockaddr* peer, std::uint8_t* resp, std::size_t len, std::uint64_t now_us) {
  if (!exempt_.empty()) {
    IpAddr a;
    if (ip_from_sockaddr(peer, a) && any_contains(exempt_, a)) return len;
  }
  RrlClass c;
  if (!rrl_classify(resp, len, c, seed_)) c = RrlClass{RrlKind::Error, 0, 0, c.question_end};
  switch (account(key(peer, c), now_us)) {
    case RrlVerdict::Send:
      return len;
    case RrlVerdict::Drop:
      bump(counters_.dropped);
      return 0;
    case RrlVerdict::Slip:
      break;
  }
  bump(counters_.slipped);
  // Truncated: the header and question only, TC=1, so the client retries
  // over TCP. The rcode stays.
  wire::put16(resp + 2, wire::get16(resp + 2) | wire::flag::TC);
  std::memset(resp + 6, 0, 6);  // ANCOUNT, NSCOUNT, ARCOUNT
  if (c.question_end > len) c.question_end = wire::kHeaderLen;
  wire::put16(resp + 4, c.question_end == wire::kHeaderLen ? 0 : 1);
  return c.question_end;
}

}  // namespace meridian
