#include "server/query_parser.hpp"

#include <cstring>

#include "server/wire.hpp"

namespace meridian {

namespace {

// Reads an uncompressed name at pkt[pos]. Compression is legal in general but
// a question needs none, and refusing it keeps the parser loop-free. The
// labels are walked first (lengths only), then the name is copied and
// lower-cased 8 octets at a time: callgrind counted a byte-wise loop as the
// largest part of parsing.
bool read_question_name(const std::uint8_t* pkt, std::size_t len, std::size_t& pos, ParsedQuery& q) {
  const std::size_t start = pos;
  std::size_t p = pos;
  while (true) {
    if (p >= len) return false;
    const std::uint8_t l = pkt[p];
    q.label_starts.set(p - start);
    if (l == 0) break;
    if (l > 63) return false;  // compression pointer or reserved label type
    p += 1 + l;
    if (p + 1 - start > kMaxNameLen) return false;  // the name with its root label
  }
  const std::size_t n = p + 1 - start;
  const std::uint8_t* in = pkt + start;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, in + i, 8);
    w = lower8(w);
    std::memcpy(q.qname + i, &w, 8);
  }
  for (; i < n; ++i) q.qname[i] = ascii_lower(in[i]);
  q.qname_len = static_cast<std::uint8_t>(n);
  pos = p + 1;
  return true;
}

// Skips any name (compression allowed) in an additional record.
bool skip_name(const std::uint8_t* pkt, std::size_t len, std::size_t& pos, bool& is_root) {
  is_root = pos < len && pkt[pos] == 0;
  std::size_t total = 0;
  while (pos < len) {
    std::uint8_t l = pkt[pos];
    if (l == 0) { ++pos; return true; }
    if ((l & 0xC0) == 0xC0) { pos += 2; return pos <= len; }
    if (l > 63) return false;
    total += l + 1;
    if (total > kMaxNameLen) return false;
    pos += 1 + l;
  }
  return false;
}

// RFC 7871 section 6. Returns false for a malformed option: an unknown
// family, a source prefix longer than the family's addresses, a non-zero
// scope, too few or too many address octets, or address bits set beyond
// the source prefix. The query then gets FORMERR, as section 6 asks ("SHOULD
// return FORMERR ... as a signal to the software developer making the
// request to fix their implementation") and as BIND and Knot DNS do.
bool parse_ecs(const std::uint8_t* p, std::size_t len, ParsedQuery& q) {
  if (len < 4) return false;
  const std::uint16_t family = wire::get16(p);
  const std::uint8_t source = p[2], scope = p[3];
  const std::size_t max_bits = family == 1 ? 32 : family == 2 ? 128 : 0;
  if (!max_bits || source > max_bits || scope != 0) return false;
  const std::size_t octets = (source + 7u) / 8u;
  if (len - 4 != octets) return false;
  // Bits beyond the source prefix must be zero (section 6).
  if (source % 8 && (p[4 + octets - 1] & (0xFFu >> (source % 8)))) return false;
  q.ecs = true;
  q.ecs_family = static_cast<std::uint8_t>(family);
  q.ecs_source = source;
  std::memset(q.ecs_addr, 0, sizeof q.ecs_addr);
  std::memcpy(q.ecs_addr, p + 4, octets);
  return true;
}

bool parse_opt(const std::uint8_t* p, std::size_t rdlen, ParsedQuery& q) {
  std::size_t i = 0;
  while (i < rdlen) {
    if (rdlen - i < 4) return false;
    std::uint16_t code = wire::get16(p + i), olen = wire::get16(p + i + 2);
    i += 4;
    if (olen > rdlen - i) return false;
    if (code == wire::kOptNsid) q.nsid_requested = true;
    if (code == wire::kOptEcs && !q.ecs && !parse_ecs(p + i, olen, q)) return false;
    i += olen;  // unknown options are ignored (RFC 6891 section 6.1.2)
  }
  return true;
}

}  // namespace

ParseStatus parse_query(const std::uint8_t* pkt, std::size_t len, ParsedQuery& q) {
  if (len < wire::kHeaderLen) return ParseStatus::Drop;
  q.id = wire::get16(pkt);
  q.flags = wire::get16(pkt + 2);
  if (q.flags & wire::flag::QR) return ParseStatus::Drop;  // never answer a response
  q.opcode = static_cast<std::uint8_t>((q.flags >> 11) & 0xF);
  const std::uint16_t qd = wire::get16(pkt + 4), an = wire::get16(pkt + 6), ns = wire::get16(pkt + 8),
                      ar = wire::get16(pkt + 10);

  std::size_t pos = wire::kHeaderLen;
  if (qd == 1 && read_question_name(pkt, len, pos, q) && pos + 4 <= len) {
    q.qtype = wire::get16(pkt + pos);
    q.qclass = wire::get16(pkt + pos + 2);
    pos += 4;
    q.question_ok = true;
    q.question_end = pos;
  }
  if (q.opcode != 0) return ParseStatus::NotImp;
  if (!q.question_ok || an != 0 || ns != 0) return ParseStatus::FormErr;

  bool saw_opt = false;
  for (std::uint16_t i = 0; i < ar; ++i) {
    bool root = false;
    if (!skip_name(pkt, len, pos, root) || pos + 10 > len) return ParseStatus::FormErr;
    std::uint16_t type = wire::get16(pkt + pos), klass = wire::get16(pkt + pos + 2);
    std::uint32_t ttl = wire::get32(pkt + pos + 4);
    std::uint16_t rdlen = wire::get16(pkt + pos + 8);
    pos += 10;
    if (pos + rdlen > len) return ParseStatus::FormErr;
    if (type == 41) {
      if (saw_opt || !root) return ParseStatus::FormErr;  // RFC 6891 section 6.1.1
      saw_opt = true;
      q.edns_udp_size = klass < wire::kMinUdpPayload ? wire::kMinUdpPayload : klass;
      q.edns_version = static_cast<std::uint8_t>(ttl >> 16);
      q.edns_do = (ttl & wire::kOptDO) != 0;
      if (!parse_opt(pkt + pos, rdlen, q)) return ParseStatus::FormErr;
      q.edns = true;
    }
    pos += rdlen;
  }
  if (q.edns && q.edns_version > 0) return ParseStatus::BadVers;
  return ParseStatus::Ok;
}

}  // namespace meridian
