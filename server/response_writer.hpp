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
    bool question_pending;
  };
  Mark mark() const { return {pos_, ncomp_, question_pending_}; }
  void rollback(Mark m) {
    pos_ = m.pos;
    ncomp_ = m.ncomp;
    question_pending_ = m.question_pending;
  }

  std::size_t size() const { return pos_; }
  std::size_t limit() const { return limit_; }
  void set_limit(std::size_t l) { limit_ = l; }
  std::uint8_t* data() { return buf_; }

  bool put_u8(std::uint8_t v);
  bool put_u16(std::uint16_t v);
  bool put_u32(std::uint32_t v);
  bool put_bytes(const void* p, std::size_t n);
  // Room for `n` octets the caller fills in: where they go, or null.
  std::uint8_t* claim(std::size_t n) {
    if (!room(n)) return nullptr;
    pos_ += n;
    return buf_ + pos_ - n;
  }
  // Writes a wire name, pointing at an earlier copy of its longest known
  // suffix. The names given to put_name, put_name_uncompressed and put_rr
  // must stay valid until the message is done: they become compression
  // targets, compared in place.
  bool put_name(std::string_view wire);
  // Writes a name without compression (DNAME/SRV targets, RFC 3597 section 4),
  // still remembering it as a target for later pointers.
  bool put_name_uncompressed(std::string_view wire);
  // `wire` (whose bytes stay put for this whole message: the parsed query's
  // name) is the name at `off`: writing that same string_view again is a
  // pointer to `off` with no search. Most answers' owner is the query name.
  // Its labels become compression targets too, but only when the
  // first other name is written: most answers have none (callgrind: ~90
  // instructions a query saved).
  void set_query_name(std::string_view wire, std::size_t off) {
    qname_ = wire;
    qname_off_ = static_cast<std::uint16_t>(off);
    question_pending_ = true;
  }

  // Writes a resource record. The rdata of the RFC 1035 types whose names may
  // be compressed (NS, CNAME, PTR, MX, SOA) is written with compression.
  bool put_rr(std::string_view owner, std::uint16_t type, std::uint16_t klass, std::uint32_t ttl,
              std::string_view rdata);

 private:
  // A compression target: the name at `off`, `len` octets long when
  // uncompressed, whose uncompressed octets are also at `src` (memory that
  // outlives the message: zone data or the parsed query). Candidates are
  // filtered by length, then compared as flat octets at `src`, never by
  // following pointers through the packet (callgrind: following them was
  // the largest single cost of an answer with names in it).
  void remember(std::size_t off, std::size_t len, const char* src) {
    if (question_pending_) remember_question();
    if (ncomp_ < kMaxComp && off < 0x3FFF) {
      comp_len_[ncomp_] = static_cast<std::uint8_t>(len);
      comp_src_[ncomp_] = src;
      comp_[ncomp_++] = static_cast<std::uint16_t>(off);
    }
  }
  // Every label of `name`, written uncompressed at `off`, as a target.
  void remember_name(std::size_t off, std::string_view name);
  int find_target(std::string_view suffix);
  void remember_question() {
    question_pending_ = false;
    remember_name(qname_off_, qname_);
  }
  bool room(std::size_t n) const { return pos_ + n <= limit_; }

  static constexpr int kMaxComp = 96;
  std::uint8_t* buf_;
  std::size_t limit_;
  std::size_t pos_ = 0;
  std::uint16_t comp_[kMaxComp];
  std::uint8_t comp_len_[kMaxComp];
  const char* comp_src_[kMaxComp];
  int ncomp_ = 0;
  std::string_view qname_;
  std::uint16_t qname_off_ = 0;
  bool question_pending_ = false;  // the query name's labels are not in comp_ yet
};

}  // namespace meridian
