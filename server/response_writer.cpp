#include "server/response_writer.hpp"

#include <cstring>

#include "server/wire.hpp"
#include "zones/name.hpp"
#include "zones/name_arena.hpp"
#include "zones/rdata.hpp"

namespace meridian {

bool ResponseWriter::put_u8(std::uint8_t v) {
  if (!room(1)) return false;
  buf_[pos_++] = v;
  return true;
}

bool ResponseWriter::put_u16(std::uint16_t v) {
  if (!room(2)) return false;
  wire::put16(buf_ + pos_, v);
  pos_ += 2;
  return true;
}

bool ResponseWriter::put_u32(std::uint32_t v) {
  if (!room(4)) return false;
  wire::put32(buf_ + pos_, v);
  pos_ += 4;
  return true;
}

bool ResponseWriter::put_bytes(const void* p, std::size_t n) {
  if (!room(n)) return false;
  std::memcpy(buf_ + pos_, p, n);
  pos_ += n;
  return true;
}

int ResponseWriter::find_target(std::string_view suffix) {
  if (question_pending_) remember_question();
  const auto len = static_cast<std::uint8_t>(suffix.size());
  for (int c = 0; c < ncomp_; ++c)
    if (comp_len_[c] == len && names_equal(std::string_view(comp_src_[c], len), suffix)) return comp_[c];
  return -1;
}

bool ResponseWriter::put_name(std::string_view name) {
  if (name.data() == qname_.data() && name.size() == qname_.size() && !qname_.empty())
    return put_u16(static_cast<std::uint16_t>(0xC000 | qname_off_));
  // Find the longest suffix already in the packet: try suffixes from the
  // whole name down to the last label.
  std::size_t cut = 0;
  int target = -1;
  for (std::size_t s = 0; s < name.size() && name[s] != 0; s += 1 + static_cast<std::uint8_t>(name[s])) {
    target = find_target(name.substr(s));
    if (target >= 0) {
      cut = s;
      break;
    }
  }
  if (target < 0) return put_name_uncompressed(name);
  if (!room(cut + 2)) return false;
  for (std::size_t s = 0; s < cut; s += 1 + static_cast<std::uint8_t>(name[s]))
    remember(pos_ + s, name.size() - s, name.data() + s);
  std::memcpy(buf_ + pos_, name.data(), cut);
  pos_ += cut;
  return put_u16(static_cast<std::uint16_t>(0xC000 | target));
}

bool ResponseWriter::put_name_uncompressed(std::string_view name) {
  if (!room(name.size())) return false;
  std::memcpy(buf_ + pos_, name.data(), name.size());
  remember_name(pos_, name);
  pos_ += name.size();
  return true;
}

void ResponseWriter::remember_name(std::size_t off, std::string_view name) {
  for (std::size_t o = 0; o < name.size() && name[o] != 0; o += 1 + static_cast<std::uint8_t>(name[o]))
    remember(off + o, name.size() - o, name.data() + o);
}

bool ResponseWriter::put_rr(std::string_view owner, std::uint16_t type, std::uint16_t klass,
                            std::uint32_t ttl, std::string_view rdata) {
  if (owner.data() == qname_.data() && owner.size() == qname_.size() && !qname_.empty() &&
      !rdata_names_compressed(type)) {
    // The usual record: owned by the query name, rdata copied as it is.
    // One bounds check and straight stores instead of six put_* calls.
    const std::size_t n = 12 + rdata.size();
    if (!room(n)) return false;
    std::uint8_t* to = wire::put_rr_head(buf_ + pos_, qname_off_, type, klass, ttl, rdata.size());
    // A and AAAA rdata by fixed-size copies the compiler inlines: a memcpy
    // call costs more than 4 or 16 octets (callgrind: ~25 instructions).
    if (rdata.size() == 4) std::memcpy(to, rdata.data(), 4);
    else if (rdata.size() == 16) std::memcpy(to, rdata.data(), 16);
    else std::memcpy(to, rdata.data(), rdata.size());
    pos_ += n;
    return true;
  }
  Mark m = mark();
  if (!put_name(owner) || !put_u16(type) || !put_u16(klass) || !put_u32(ttl) || !room(2)) {
    rollback(m);
    return false;
  }
  std::size_t rdlen_at = pos_;
  pos_ += 2;
  auto name_len = [&](std::size_t from) {
    std::size_t i = from;
    while (i < rdata.size() && rdata[i] != 0) i += 1 + static_cast<std::uint8_t>(rdata[i]);
    return i + 1 - from;
  };
  bool ok = true;
  switch (type) {  // rdata_names_compressed() lists these types
    case rrtype::NS:
    case rrtype::CNAME:
    case rrtype::PTR:
      ok = put_name(rdata);
      break;
    case rrtype::MX:
      ok = rdata.size() > 2 && put_bytes(rdata.data(), 2) && put_name(rdata.substr(2));
      break;
    case rrtype::SOA: {
      std::size_t m1 = name_len(0), m2 = name_len(m1);
      ok = m1 + m2 + 20 == rdata.size() && put_name(rdata.substr(0, m1)) && put_name(rdata.substr(m1, m2)) &&
           put_bytes(rdata.data() + m1 + m2, 20);
      break;
    }
    default:
      ok = put_bytes(rdata.data(), rdata.size());
  }
  if (!ok) {
    rollback(m);
    return false;
  }
  wire::put16(buf_ + rdlen_at, static_cast<std::uint16_t>(pos_ - rdlen_at - 2));
  return true;
}

}  // namespace meridian
