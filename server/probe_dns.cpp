// dns: one UDP query (`query`, `query_type`, class IN, no recursion asked)
// to the server at `address`; up when the reply's rcode is `expect_rcode`
// (default NOERROR) and, with `expect_answer`, the answer section holds
// that record. The query is built by hand; the reply is parsed with ldns.
#include <random>

#include "server/probe.hpp"
#include "zones/name.hpp"
#include "zones/rdata.hpp"

#include <ldns/ldns.h>  // after the C++ headers: it defines `bool` as a macro

namespace meridian {

namespace {

std::string rcode_name(unsigned rc) {
  static const char* const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                      "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"};
  return rc < sizeof names / sizeof names[0] ? names[rc] : "RCODE" + std::to_string(rc);
}

bool same_rdata(std::uint16_t type, const std::string& a, const std::string& b) {
  if (a == b) return true;
  if (type == rrtype::A || type == rrtype::AAAA || a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)  // names inside rdata compare without case
    if (ascii_lower(static_cast<std::uint8_t>(a[i])) != ascii_lower(static_cast<std::uint8_t>(b[i]))) return false;
  return true;
}

class DnsProbe final : public Probe {
 public:
  DnsProbe(uv_loop_t* loop, const CheckSpec& spec) : loop_(loop), spec_(spec), rng_(std::random_device{}()) {
    valid_ = parse_probe_address(spec.address, 53, addr_);
    qname_ = name_from_text(spec.query, std::string(1, '\0'), nullptr).value_or(std::string());
    if (!spec.expect_answer.empty()) {
      std::string err;
      rdata_from_text(spec.query_type, spec.expect_answer, std::string(1, '\0'), expect_wire_, err);
    }
  }
  ~DnsProbe() override { cancel(); }

  void run(Done done) override {
    cancel();
    if (!valid_ || qname_.empty()) return done({false, "bad address or query"});
    auto* a = new Attempt;
    a->owner = this;
    a->done = std::move(done);
    a->id = static_cast<std::uint16_t>(rng_());
    uv_udp_init(loop_, &a->udp);
    a->udp.data = a;
    // Header: id, flags 0 (standard query, RD clear), one question.
    std::string q;
    q += static_cast<char>(a->id >> 8);
    q += static_cast<char>(a->id & 0xff);
    q += std::string("\0\0\0\1\0\0\0\0\0\0", 10);
    q += qname_;
    q += static_cast<char>(spec_.query_type >> 8);
    q += static_cast<char>(spec_.query_type & 0xff);
    q += std::string("\0\1", 2);
    int rc = uv_udp_connect(&a->udp, reinterpret_cast<const sockaddr*>(&addr_));
    if (rc == 0) {
      uv_buf_t buf = uv_buf_init(q.data(), static_cast<unsigned>(q.size()));
      rc = uv_udp_try_send(&a->udp, &buf, 1, nullptr);
      if (rc > 0) rc = 0;
    }
    if (rc == 0) rc = uv_udp_recv_start(&a->udp, on_alloc, on_recv);
    if (rc != 0) {
      Done d = std::move(a->done);
      a->owner = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(&a->udp), on_close);
      return d({false, std::string("cannot send the query: ") + uv_strerror(rc)});
    }
    current_ = a;
  }

  void cancel() override {
    if (!current_) return;
    current_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&current_->udp), on_close);
    current_ = nullptr;
  }

 private:
  struct Attempt {
    uv_udp_t udp;
    DnsProbe* owner = nullptr;
    Done done;
    std::uint16_t id = 0;
    char buf[4096];
  };

  static void on_close(uv_handle_t* h) { delete static_cast<Attempt*>(h->data); }

  static void on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
    auto* a = static_cast<Attempt*>(h->data);
    *buf = uv_buf_init(a->buf, sizeof a->buf);
  }

  static void on_recv(uv_udp_t* h, ssize_t n, const uv_buf_t*, const sockaddr*, unsigned) {
    auto* a = static_cast<Attempt*>(h->data);
    if (!a->owner || n == 0) return;
    ProbeResult r;
    if (n < 0) {
      r = {false, n == UV_ECONNREFUSED ? "connection refused (port unreachable)"
                                       : std::string("receive failed: ") + uv_strerror(static_cast<int>(n))};
    } else {
      const auto* p = reinterpret_cast<const std::uint8_t*>(a->buf);
      // Not the answer to our query (wrong id, or not a response): keep waiting.
      if (n < 12 || ((p[0] << 8) | p[1]) != a->id || !(p[2] & 0x80)) return;
      r = a->owner->judge(p, static_cast<std::size_t>(n));
    }
    DnsProbe* owner = a->owner;
    owner->current_ = nullptr;
    a->owner = nullptr;
    Done d = std::move(a->done);
    uv_close(reinterpret_cast<uv_handle_t*>(&a->udp), on_close);
    d(std::move(r));
  }

  ProbeResult judge(const std::uint8_t* p, std::size_t n) const {
    ldns_pkt* pkt = nullptr;
    if (ldns_wire2pkt(&pkt, p, n) != LDNS_STATUS_OK) return {false, "malformed reply"};
    const unsigned rc = ldns_pkt_get_rcode(pkt);
    ProbeResult r;
    r.reason = "rcode " + rcode_name(rc);
    if (rc != spec_.expect_rcode) {
      r.reason += " (expected " + rcode_name(spec_.expect_rcode) + ")";
    } else if (!expect_wire_.empty()) {
      bool found = false;
      const ldns_rr_list* answer = ldns_pkt_answer(pkt);
      for (std::size_t i = 0; answer && i < ldns_rr_list_rr_count(answer) && !found; ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(answer, i);
        if (ldns_rr_get_type(rr) != spec_.query_type) continue;
        ldns_buffer* b = ldns_buffer_new(512);
        if (ldns_rr_rdata2buffer_wire(b, rr) == LDNS_STATUS_OK) {
          const std::string wire(reinterpret_cast<const char*>(ldns_buffer_begin(b)), ldns_buffer_position(b));
          found = same_rdata(spec_.query_type, wire, expect_wire_);
        }
        ldns_buffer_free(b);
      }
      if (found) {
        r = {true, r.reason + ", answer matched"};
      } else {
        r.reason += ", " + spec_.expect_answer + " not in the answer";
      }
    } else {
      r.ok = true;
    }
    if (ldns_pkt_tc(pkt) && !r.ok) r.reason += " (truncated reply)";
    ldns_pkt_free(pkt);
    return r;
  }

  uv_loop_t* loop_;
  CheckSpec spec_;
  std::mt19937 rng_;
  sockaddr_storage addr_{};
  bool valid_ = false;
  std::string qname_;
  std::string expect_wire_;
  Attempt* current_ = nullptr;
};

}  // namespace

std::unique_ptr<Probe> make_dns_probe(uv_loop_t* loop, const CheckSpec& spec) {
  return std::make_unique<DnsProbe>(loop, spec);
}

}  // namespace meridian
