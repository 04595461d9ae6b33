#pragma once
// Writes a DNS message into a caller-owned buffer with name compression
// (RFC 1035 section 4.1.4). Fixed-size state: no allocation per message.
// Every write is all-or-nothing against `limit`; mark()/rollback() let the
// caller drop a whole RRset that does not fit (RFC 2181 section 9).
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace meridian {

class ResponseWriter {
 public:
  ResponseWriter(std::uint8_t* buf, std::size_t limit) : buf_(buf), limit_(limit) {}

  struct Mark {
    std::size_t pos;
    int ncomp;
  };
  Mark mark() const { return {pos_, ncomp_}; }
  void rollback(Mark m) {
    pos_ = m.pos;
    ncomp_ = m.ncomp;
  }

  std::size_t size() const { return pos_; }
  std::size_t limit() const { return limit_; }
  void set_limit(std::size_t l) { limit_ = l; }
  std::uint8_t* data() { return buf_; }

  bool put_u8(std::uint8_t v);
  bool put_u16(std::uint16_t v);
  bool put_u32(std::uint32_t v);
  bool put_bytes(const void* p, std::size_t n);
  // Writes a wire name, pointing at an earlier copy of its longest known suffix.
  bool put_name(std::string_view wire);
  // Writes a name without compression (DNAME/SRV targets, RFC 3597 section 4),
  // still remembering it as a target for later pointers.
  bool put_name_uncompressed(std::string_view wire);
  // Makes the labels of an uncompressed name already in the buffer at `off`
  // available as compression targets (used for the echoed question).
  void remember_name(std::size_t off);
  // `wire` (whose bytes stay put for this whole message: the parsed query's
  // name) is the name at `off`: writing that same string_view again is a
  // pointer to `off` with no search. Most answers' owner is the query name.
  void set_query_name(std::string_view wire, std::size_t off) {
    qname_ = wire;
    qname_off_ = static_cast<std::uint16_t>(off);
  }

  // Writes a resource record. The rdata of the RFC 1035 types whose names may
  // be compressed (NS, CNAME, PTR, MX, SOA) is written with compression.
  bool put_rr(std::string_view owner, std::uint16_t type, std::uint16_t klass, std::uint32_t ttl,
              std::string_view rdata);

 private:
  bool suffix_at(std::size_t off, std::string_view suffix) const;
  // A compression target: the name starting at `off`, `len` octets long
  // when uncompressed. Candidates are filtered by length before any label
  // is compared (callgrind: the search was the largest single cost of an
  // answer, most of it comparing names that could not match).
  void remember(std::size_t off, std::size_t len) {
    if (ncomp_ < kMaxComp && off < 0x3FFF) {
      comp_len_[ncomp_] = static_cast<std::uint8_t>(len);
      comp_[ncomp_++] = static_cast<std::uint16_t>(off);
    }
  }
  int find_target(std::string_view suffix) const;
  bool room(std::size_t n) const { return pos_ + n <= limit_; }

  static constexpr int kMaxComp = 96;
  std::uint8_t* buf_;
  std::size_t limit_;
  std::size_t pos_ = 0;
  std::uint16_t comp_[kMaxComp];
  std::uint8_t comp_len_[kMaxComp];
  int ncomp_ = 0;
  std::string_view qname_;
  std::uint16_t qname_off_ = 0;
};

}  // namespace meridian
