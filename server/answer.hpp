#pragma once
// Answer assembly: query bytes in, response bytes out. This is the whole
// per-query path apart from socket I/O; it allocates nothing and takes no
// lock, writing into the caller's per-worker buffer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "zones/zone_set.hpp"

namespace meridian {

struct AnswerConfig {
  std::uint16_t udp_payload = 1232;  // our EDNS buffer size (DNS flag day 2020)
  std::string identity;              // NSID and CHAOS id.server; empty = off
  std::string version;               // CHAOS version.bind; empty = off
};

enum class Transport : std::uint8_t { Udp, Tcp };

// Mutable state owned by one worker thread, so nothing is shared per query.
struct WorkerState {
  std::uint32_t rotation = 0;  // round-robin offset, advanced per response
};

inline constexpr std::size_t kMaxMessage = 65535;

// Returns the response length, or 0 when the query is to be dropped.
// `out` must hold kMaxMessage bytes.
std::size_t answer_query(const ZoneSet& zones, const AnswerConfig& cfg, WorkerState& ws,
                         const std::uint8_t* query, std::size_t len, Transport transport,
                         std::uint8_t* out);

}  // namespace meridian
