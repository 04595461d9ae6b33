#pragma once
// The common answer without the general assembler: a query whose name is a
// node of the zone, or is covered by a wildcard node (RFC 4592), with a hot
// set of the asked type (zones/name_arena.hpp) gets that set copied, in
// round-robin order, behind the header and the echoed question. A policy
// set (a routing policy over such records) gets the records its policy
// picks, copied the same way, with the ECS scope the pick depended on. The
// bytes are the ones the assembler writes for the same query
// (tests/unit/test_hot_answer.cpp compares them); everything else --
// CNAMEs, referrals, negative answers, a policy that picks nothing,
// truncation -- is left to the assembler.
#include <cstddef>
#include <cstdint>

#include <sys/socket.h>

#include "server/metrics.hpp"
#include "zones/lookup.hpp"

namespace meridian {

struct AnswerConfig;
struct ParsedQuery;
struct WorkerState;
struct Zone;
struct ZoneSet;

// What the hot path looked up before it declined: the assembler starts
// from it instead of looking again (callgrind: ~150 instructions per
// answer the hot path does not give).
struct FirstLookup {
  bool done = false;                    // the fields below are valid
  const Zone* zone = nullptr;           // null: none of our zones holds the name
  std::uint16_t zone_slot = 0;          // its metrics slot
  const std::uint8_t* entry = nullptr;  // the query name's node entry; null: no such node
  bool looked_up = false;               // no such node, and `result` is lookup()'s answer
  LookupResult result{};
  PolicyKind policy = PolicyKind::None;  // of the answer the hot path gave (for metrics)
};

// Where the answer to a query starts: the zone that holds its name and the
// name's hash in that zone's index. Found when the query is parsed
// (prepare_query, server/answer.hpp), ahead of the answer, so that the UDP
// batch path can start the index reads of a whole batch before answering
// the first query: after a wake-up the index slot and the name's entry are
// cache misses, and this way a batch waits for them about once instead of
// once per query.
struct QueryLocation {
  const Zone* zone = nullptr;   // null: none of our zones holds the name
  std::uint16_t zone_slot = 0;  // its metrics slot
  std::size_t name_hash = 0;
};
// Finds the zone and hashes the name of `q` (parsed OK), and starts reading
// the name's index slot.
QueryLocation locate(const ZoneSet& zones, const ParsedQuery& q);
// Reads that slot (waiting for it) and starts reading the entry it points
// to: the second step of looking ahead, for every query of a batch.
void prefetch_answer(const QueryLocation& where);

// Returns the response length, or 0 when the general path must answer.
// `q` parsed OK, class IN; `limit` is the most the response may take;
// `from` is the packet source (policies fall back to it without ECS).
// `where` is locate(zones, q).
std::size_t hot_answer(const ZoneSet& zones, const AnswerConfig& cfg, WorkerState& ws, const ParsedQuery& q,
                       const QueryLocation& where, const sockaddr* from, const std::uint8_t* query,
                       std::size_t limit, std::uint8_t* out, FirstLookup& found);

}  // namespace meridian
