#pragma once
// Answer assembly: query bytes in, response bytes out. This is the whole
// per-query path apart from socket I/O; it allocates nothing and takes no
// lock, writing into the caller's per-worker buffer.
#include <cstddef>
#include <cstdint>
#include <string>

#include <sys/socket.h>

#include "geo/geoip_db.hpp"
#include "server/hot_answer.hpp"
#include "server/query_parser.hpp"
#include "zones/zone_set.hpp"

namespace meridian {

class LatencyModel;

struct AnswerConfig {
  std::uint16_t udp_payload = 1232;  // our EDNS buffer size (DNS flag day 2020)
  std::string identity;              // NSID and CHAOS id.server; empty = off
  std::string version;               // CHAOS version.bind; empty = off
  GeoIpPtr geo;                      // GeoIP databases; null = none configured
  std::shared_ptr<const LatencyModel> latency;  // measured RTT table; null = estimates only
};

enum class Transport : std::uint8_t { Udp, Tcp };

struct WorkerMetrics;  // server/metrics.hpp
class QueryLogRing;    // server/query_log.hpp

// Mutable state owned by one worker thread, so nothing is shared per query.
struct WorkerState {
  std::uint32_t rotation = 0;  // round-robin offset, advanced per response
  std::uint64_t rng = 0x9E3779B97F4A7C15ull;  // policy randomness; seed per worker
  WorkerMetrics* metrics = nullptr;  // this worker's counters; null: not counted
  QueryLogRing* query_log = nullptr; // this worker's query log; null: log off

  // xorshift64*: a few instructions, good enough to spread weighted picks.
  std::uint32_t next_random() {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return static_cast<std::uint32_t>((rng * 0x2545F4914F6CDD1Dull) >> 32);
  }
};

inline constexpr std::size_t kMaxMessage = 65535;

class PolicyTrace;

struct QueryMeta {
  Transport transport = Transport::Udp;
  const sockaddr* from = nullptr;  // packet source; routing falls back to it without ECS
  PolicyTrace* trace = nullptr;    // `meridian explain` only
};

// A query parsed, ahead of its answer. answer_query() is prepare_query()
// then answer_prepared(); the UDP batch path prepares every query of a
// batch first, so the memory reads of their answers can start together
// (prefetch_answer(), server/hot_answer.hpp).
struct PreparedQuery {
  ParsedQuery q;
  ParseStatus status = ParseStatus::Drop;
  QueryLocation where;  // found for a query parsed OK, of class IN; else empty
  bool timed = false;  // this answer's latency goes into the histogram
  std::uint64_t start_ns = 0;
};
void prepare_query(const ZoneSet& zones, const AnswerConfig& cfg, WorkerState& ws, const std::uint8_t* query,
                   std::size_t len, PreparedQuery& p);
// Returns the response length, or 0 when the query is to be dropped.
// `query` is the one `p` was prepared from; `out` must hold kMaxMessage bytes.
std::size_t answer_prepared(const ZoneSet& zones, const AnswerConfig& cfg, WorkerState& ws, const PreparedQuery& p,
                            const std::uint8_t* query, const QueryMeta& meta, std::uint8_t* out);

// Returns the response length, or 0 when the query is to be dropped.
// `out` must hold kMaxMessage bytes.
std::size_t answer_query(const ZoneSet& zones, const AnswerConfig& cfg, WorkerState& ws,
                         const std::uint8_t* query, std::size_t len, const QueryMeta& meta,
                         std::uint8_t* out);

inline std::size_t answer_query(const ZoneSet& zones, const AnswerConfig& cfg, WorkerState& ws,
                                const std::uint8_t* query, std::size_t len, Transport transport,
                                std::uint8_t* out) {
  return answer_query(zones, cfg, ws, query, len, QueryMeta{transport, nullptr, nullptr}, out);
}

}  // namespace meridian
