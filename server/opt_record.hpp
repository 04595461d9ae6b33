#pragma once
// The OPT record of a response (RFC 6891): our buffer size, the extended
// rcode, DO echoed, NSID when asked for and configured (RFC 5001), and the
// client's subnet echoed with the answer's scope (RFC 7871 section 7.2.1).
#include <cstddef>
#include <cstdint>

namespace meridian {

struct AnswerConfig;
struct ParsedQuery;

// Octets write_opt will write for this query (0 without EDNS).
std::size_t opt_size(const AnswerConfig& cfg, const ParsedQuery& q);
// Writes the record at `p`, which has room for opt_size() octets.
void write_opt(std::uint8_t* p, const AnswerConfig& cfg, const ParsedQuery& q, std::uint16_t rcode,
               std::uint8_t ecs_scope);

}  // namespace meridian
