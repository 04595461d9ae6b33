#pragma once
// Response rate limiting (RRL) for UDP answers: the design of BIND, Knot and
// NSD. A spoofed flood makes an authoritative server reflect (and amplify)
// traffic at a victim; RRL bounds how many identical-looking responses one
// client network gets per second, and answers part of the excess with an
// empty TC=1 response ("slip") so a real client behind that network retries
// over TCP, which cannot be spoofed. TCP answers are never limited.
//
// Each response is accounted to (client prefix, kind, name): positive answers
// per qname and qtype, NODATA per qname and qtype, NXDOMAIN per zone (the SOA
// owner), referrals per delegation (the NS owner), errors per client only (a
// flood of random names still shares one account).
//
// The accounts live in a fixed-size table per worker (no lock, no allocation,
// no shared cache line per query); see docs/hardening.md for why per worker.
// An account is a token bucket kept as one timestamp, the GCRA "theoretical
// arrival time" (TAT): `rate` tokens per second, a burst of `rate`, and a
// debt that limited responses keep growing up to `window` seconds, so a
// client that flooded stays limited until it has been quiet for about that
// long (BIND's window).
#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "server/cidr.hpp"

namespace meridian {

struct RrlConfig {
  bool enabled = false;
  unsigned responses_per_second = 10;
  unsigned slip = 2;        // every slip-th limited response goes out truncated; 0 = drop all
  unsigned window = 15;     // seconds of debt a flood can build up
  unsigned ipv4_prefix = 24;
  unsigned ipv6_prefix = 56;
  unsigned table_size = 65536;  // accounts per worker (rounded up to a power of two)
  std::vector<Cidr> exempt;     // clients never limited
};

enum class RrlKind : std::uint8_t { Positive, Nodata, NxDomain, Referral, Error };

// One worker's counters as plain numbers; the front end returns one per
// worker and `sum` adds them up (for /status and the metrics endpoint).
struct RrlStats {
  std::uint64_t dropped = 0;    // limited responses not sent
  std::uint64_t slipped = 0;    // limited responses sent truncated (TC=1, no records)
  std::uint64_t evictions = 0;  // limited accounts pushed out by others: table_size too small
};
RrlStats sum(const std::vector<RrlStats>& per_worker);

// Written by the owning worker only (a plain load and store, no locked
// instruction); read by the admin thread, hence atomics.
struct RrlCounters {
  std::atomic<std::uint64_t> dropped{0}, slipped{0}, evictions{0};
  RrlStats snapshot() const;
};

enum class RrlVerdict : std::uint8_t { Send, Drop, Slip };

// What a response is accounted as, read back from the response bytes.
struct RrlClass {
  RrlKind kind = RrlKind::Error;
  std::uint16_t qtype = 0;         // Positive and Nodata only
  std::uint64_t name_hash = 0;     // of the name the kind is keyed on; 0 for errors
  std::size_t question_end = 12;   // where a slipped (truncated) response ends
};

// Classifies a response written by answer_query(); `seed` keys the name
// hash. False if it is not well-formed (the caller then accounts it as an
// error of the client).
bool rrl_classify(const std::uint8_t* resp, std::size_t len, RrlClass& out, std::uint64_t seed = 0);

class RrlTable {
 public:
  // Allocates the table (once, at start). `seed` keys the hash, so that
  // clients cannot aim collisions at each other's accounts.
  RrlTable(const RrlConfig& cfg, RrlCounters& counters, std::uint64_t seed);

  // The decision for one UDP response of `len` bytes to `peer` at `now_us`
  // (any monotonic clock in microseconds, > 0). Returns the length to send:
  // `len`, 0 (drop), or the length of the truncated form written in place.
  std::size_t filter(const sockaddr* peer, std::uint8_t* resp, std::size_t len, std::uint64_t now_us);

  // The token bucket of one account (exposed for tests).
  RrlVerdict account(std::uint64_t key, std::uint64_t now_us);
  // The account key of a response to `peer` (exposed for tests).
  std::uint64_t key(const sockaddr* peer, const RrlClass& c) const;

  std::size_t capacity() const { return (mask_ + 1) * kWays; }

 private:
  static constexpr unsigned kWays = 4;  // one 64-byte line per set
  struct Entry {
    std::uint32_t tag = 0;    // high hash bits; the set index is the low ones
    std::uint32_t slips = 0;  // limited responses since the last slip
    std::uint64_t tat = 0;    // theoretical arrival time (us); <= now: bucket full
  };
  struct alignas(64) Set {
    Entry way[kWays];
  };

  std::unique_ptr<Set[]> sets_;
  std::size_t mask_ = 0;
  std::uint64_t seed_;
  std::uint64_t interval_us_;  // 1 s / rate: what one response costs
  std::uint64_t burst_us_;     // tolerance: rate responses back to back
  std::uint64_t debt_us_;      // cap of TAT - now: burst + interval + window
  unsigned slip_;
  std::uint32_t v4_mask_;
  std::uint64_t v6_mask_hi_, v6_mask_lo_;
  std::vector<Cidr> exempt_;
  RrlCounters& counters_;
};

}  // namespace meridian
