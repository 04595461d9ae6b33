// dns: one UDP query (`query`, `query_type`, class IN, no recursion asked)
// to the server at `address`, repeated over TCP when the reply is truncated
// (or only over TCP with transport = "tcp"); up when the reply's rcode is `expect_rcode`
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
    // Header: id, flags 0 (standard query, RD clear), one question.
    std::string& q = a->query;
    q += static_cast<char>(a->id >> 8);
    q += static_cast<char>(a->id & 0xff);
    q += std::string("\0\0\0\1\0\0\0\0\0\0", 10);
    q += qname_;
    q += static_cast<char>(spec_.query_type >> 8);
    q += static_cast<char>(spec_.query_type & 0xff);
    q += std::string("\0\1", 2);
    current_ = a;
    if (spec_.dns_tcp_only) return start_tcp(a);
    uv_udp_init(loop_, &a->udp);
    a->udp.data = a;
    a->handles++;
    int rc = uv_udp_connect(&a->udp, reinterpret_cast<const sockaddr*>(&addr_));
    if (rc == 0) {
      uv_buf_t buf = uv_buf_init(q.data(), static_cast<unsigned>(q.size()));
      rc = uv_udp_try_send(&a->udp, &buf, 1, nullptr);
      if (rc > 0) rc = 0;
    }
    if (rc == 0) rc = uv_udp_recv_start(&a->udp, on_alloc, on_recv);
    if (rc != 0) finish(a, {false, std::string("cannot send the query: ") + uv_strerror(rc)});
  }

  void cancel() override {
    if (!current_) return;
    current_->owner = nullptr;
    close_all(current_);
    current_ = nullptr;
  }

 private:
  // One attempt: a UDP query, then (after a TC=1 reply, or with transport =
  // "tcp") the same query over TCP, as a resolver would retry it. The
  // attempt outlives its probe until libuv has closed its handles.
  struct Attempt {
    uv_udp_t udp{};  // zeroed: close_all tells initialised handles by `data`
    uv_tcp_t tcp{};
    uv_connect_t connect;
    uv_write_t write;
    int handles = 0;  // initialised and not yet closed; deleted at zero
    DnsProbe* owner = nullptr;
    Done done;
    std::uint16_t id = 0;
    std::string query;
    std::uint8_t length[2] = {};
    std::string tcp_in;  // the length-prefixed reply as it arrives
    char buf[4096];
  };

  static void on_close(uv_handle_t* h) {
    auto* a = static_cast<Attempt*>(h->data);
    if (--a->handles == 0) delete a;
  }

  static void close_all(Attempt* a) {
    for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&a->udp), reinterpret_cast<uv_handle_t*>(&a->tcp)})
      if (h->data == a && !uv_is_closing(h)) uv_close(h, on_close);
  }

  // Reports the result (once) and releases the handles.
  static void finish(Attempt* a, ProbeResult r) {
    if (!a->owner) return;
    a->owner->current_ = nullptr;
    a->owner = nullptr;
    Done d = std::move(a->done);
    close_all(a);
    d(std::move(r));
  }

  static void on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
    auto* a = static_cast<Attempt*>(h->data);
    *buf = uv_buf_init(a->buf, sizeof a->buf);
  }

  // A reply to our query: same id, QR set. Anything else is ignored (UDP) or
  // an error (TCP, where the stream carries nothing else).
  static bool ours(const Attempt* a, const std::uint8_t* p, std::size_t n) {
    return n >= 12 && ((p[0] << 8) | p[1]) == a->id && (p[2] & 0x80);
  }

  static void on_recv(uv_udp_t* h, ssize_t n, const uv_buf_t*, const sockaddr*, unsigned) {
    auto* a = static_cast<Attempt*>(h->data);
    if (!a->owner || n == 0) return;
    if (n < 0)
      return finish(a, {false, n == UV_ECONNREFUSED ? "connection refused (port unreachable)"
                                                     : std::string("receive failed: ") + uv_strerror(static_cast<int>(n))});
    const auto* p = reinterpret_cast<const std::uint8_t*>(a->buf);
    if (!ours(a, p, static_cast<std::size_t>(n))) return;  // keep waiting
    if (p[2] & 0x02) {  // TC: the whole answer only comes over TCP
      uv_close(reinterpret_cast<uv_handle_t*>(&a->udp), on_close);
      return a->owner->start_tcp(a);
    }
    finish(a, a->owner->judge(p, static_cast<std::size_t>(n), false));
  }

  void start_tcp(Attempt* a) {
    uv_tcp_init(loop_, &a->tcp);
    a->tcp.data = a;
    a->handles++;
    a->connect.data = a;
    const int rc = uv_tcp_connect(&a->connect, &a->tcp, reinterpret_cast<const sockaddr*>(&addr_), on_connect);
    if (rc != 0) finish(a, {false, std::string("TCP connect failed: ") + uv_strerror(rc)});
  }

  static void on_connect(uv_connect_t* req, int status) {
    auto* a = static_cast<Attempt*>(req->data);
    if (!a->owner) return;
    if (status < 0)
      return finish(a, {false, status == UV_ECONNREFUSED ? "TCP connection refused"
                                                         : std::string("TCP connect failed: ") + uv_strerror(status)});
    a->length[0] = static_cast<std::uint8_t>(a->query.size() >> 8);
    a->length[1] = static_cast<std::uint8_t>(a->query.size() & 0xff);
    uv_buf_t bufs[2] = {uv_buf_init(reinterpret_cast<char*>(a->length), 2),
                        uv_buf_init(a->query.data(), static_cast<unsigned>(a->query.size()))};
    a->write.data = a;
    auto* stream = reinterpret_cast<uv_stream_t*>(&a->tcp);
    int rc = uv_write(&a->write, stream, bufs, 2, on_write);
    if (rc == 0) rc = uv_read_start(stream, on_alloc, on_read);
    if (rc != 0) finish(a, {false, std::string("TCP send failed: ") + uv_strerror(rc)});
  }

  static void on_write(uv_write_t* req, int status) {
    auto* a = static_cast<Attempt*>(req->data);
    if (status < 0 && a->owner) finish(a, {false, std::string("TCP send failed: ") + uv_strerror(status)});
  }

  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t*) {
    auto* a = static_cast<Attempt*>(s->data);
    if (!a->owner || n == 0) return;
    if (n < 0)
      return finish(a, {false, n == UV_EOF ? "TCP connection closed before the reply"
                                            : std::string("TCP receive failed: ") + uv_strerror(static_cast<int>(n))});
    a->tcp_in.append(a->buf, static_cast<std::size_t>(n));
    if (a->tcp_in.size() < 2) return;
    const auto* p = reinterpret_cast<const std::uint8_t*>(a->tcp_in.data());
    const std::size_t len = (std::size_t{p[0]} << 8) | p[1];
    if (a->tcp_in.size() < 2 + len) return;  // at most 64 KiB + 2 by the length's width
    if (!ours(a, p + 2, len)) return finish(a, {false, "TCP reply does not answer the query"});
    finish(a, a->owner->judge(p + 2, len, true));
  }

  ProbeResult judge(const std::uint8_t* p, std::size_t n, bool over_tcp) const {
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
    if (over_tcp) r.reason += spec_.dns_tcp_only ? " (TCP)" : " (TCP, after a truncated UDP reply)";
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
