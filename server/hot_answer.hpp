#pragma once
// The common answer without the general assembler: a query whose name is a
// node of the zone with a hot set of the asked type (zones/name_arena.hpp)
// gets that set copied, in round-robin order, behind the header and the
// echoed question. The bytes are the ones the assembler writes for the same
// query (tests/unit/test_hot_answer.cpp compares them); everything else --
// CNAMEs, wildcards, referrals, negative answers, policies, truncation --
// is left to the assembler.
#include <cstddef>
#include <cstdint>

namespace meridian {

struct AnswerConfig;
struct ParsedQuery;
struct WorkerState;
struct Zone;

// Returns the response length, or 0 when the general path must answer.
// `q` parsed OK, class IN; `limit` is the most the response may take.
std::size_t hot_answer(const Zone& zone, const AnswerConfig& cfg, WorkerState& ws, const ParsedQuery& q,
                       const std::uint8_t* query, std::size_t limit, std::uint8_t* out);

}  // namespace meridian
