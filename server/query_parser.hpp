#pragma once
// Parses an incoming query without allocating: header, the single question
// (kept in its original letter case for the echo, and lower-cased for lookup)
// and the EDNS OPT record of RFC 6891.
#include <cstddef>
#include <cstdint>

#include "zones/name.hpp"

namespace meridian {

enum class ParseStatus : std::uint8_t {
  Ok,
  Drop,     // not worth an answer: too short to echo, or a response (QR=1)
  FormErr,  // malformed
  NotImp,   // opcode other than QUERY
  BadVers,  // EDNS version we do not speak
};

struct ParsedQuery {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;        // as received
  std::uint8_t opcode = 0;
  bool question_ok = false;       // question parsed: echo it
  std::size_t question_end = 0;   // offset just past the question
  std::uint16_t qtype = 0;
  std::uint16_t qclass = 0;
  std::uint8_t qname_len = 0;
  std::uint8_t qname[kMaxNameLen];  // lower-case wire
  // Bit i set: a label (the root label too) starts at qname[i]. Lets the
  // zone search test "origin is a whole-label suffix" without walking labels.
  LabelStarts label_starts;

  bool edns = false;              // a valid OPT was present
  std::uint16_t edns_udp_size = 0;
  std::uint8_t edns_version = 0;
  bool edns_do = false;
  bool nsid_requested = false;

  // EDNS Client Subnet (RFC 7871), kept only when well-formed: family 1/2,
  // source prefix within the family, address exactly ceil(source/8) octets.
  // A malformed ECS option makes the query FORMERR (RFC 7871 section 6).
  bool ecs = false;
  std::uint8_t ecs_family = 0;         // 1 IPv4, 2 IPv6
  std::uint8_t ecs_source = 0;         // source prefix length
  std::uint8_t ecs_addr[16] = {};      // zero-padded
};

ParseStatus parse_query(const std::uint8_t* pkt, std::size_t len, ParsedQuery& q);

}  // namespace meridian
