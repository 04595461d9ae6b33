#include "server/tcp_conn.hpp"

#include <cstring>
#include <vector>

#include "server/frontend.hpp"
#include "server/log.hpp"
#include "server/wire.hpp"

namespace meridian {

namespace {

constexpr std::size_t kMaxPendingOutput = 256 * 1024;  // pause reading above this

struct TcpConn {
  uv_tcp_t tcp{};
  uv_timer_t idle{};
  Worker* w = nullptr;
  sockaddr_storage peer{};       // routing policies use it when there is no ECS
  std::vector<std::uint8_t> in;  // bytes received, not yet a whole message
  std::size_t pending = 0;       // bytes queued in uv_write requests
  int open_handles = 2;
  bool closing = false;
  bool eof = false;
  bool reading = false;
};

struct WriteReq {
  uv_write_t req{};
  TcpConn* conn;
  std::vector<std::uint8_t> data;
};

void on_handle_closed(uv_handle_t* h) {
  auto* c = static_cast<TcpConn*>(h->data);
  if (--c->open_handles == 0) {
    c->w->fe->tcp_connections.fetch_sub(1, std::memory_order_relaxed);
    delete c;
  }
}

void close_conn(TcpConn* c) {
  if (c->closing) return;
  c->closing = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_handle_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->idle), on_handle_closed);
}

void on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
  auto* c = static_cast<TcpConn*>(h->data);
  // Reads land in the worker's receive buffer and are appended to `in`.
  *buf = uv_buf_init(reinterpret_cast<char*>(c->w->rx), sizeof c->w->rx);
}

void on_idle(uv_timer_t* t) { close_conn(static_cast<TcpConn*>(t->data)); }

void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);

void update_reading(TcpConn* c) {
  bool want = !c->closing && !c->eof && c->pending < kMaxPendingOutput;
  if (want && !c->reading) uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_read);
  if (!want && c->reading) uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
  c->reading = want;
}

void on_written(uv_write_t* req, int status) {
  auto* wr = reinterpret_cast<WriteReq*>(req);
  TcpConn* c = wr->conn;
  c->pending -= wr->data.size();
  delete wr;
  if (status < 0 || (c->eof && c->pending == 0)) {
    close_conn(c);
    return;
  }
  update_reading(c);
}

// Sends what the socket takes now; queues the rest with a copy.
void send(TcpConn* c, const std::uint8_t* data, std::size_t len) {
  std::size_t done = 0;
  if (c->pending == 0) {
    uv_buf_t b = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(data)), static_cast<unsigned>(len));
    int r = uv_try_write(reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1);
    if (r > 0) done = static_cast<std::size_t>(r);
    else if (r != UV_EAGAIN) {
      close_conn(c);
      return;
    }
  }
  if (done == len) return;
  auto* wr = new WriteReq;
  wr->conn = c;
  wr->data.assign(data + done, data + len);
  uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(wr->data.data()), static_cast<unsigned>(wr->data.size()));
  c->pending += wr->data.size();
  if (uv_write(&wr->req, reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1, on_written) != 0) {
    c->pending -= wr->data.size();
    delete wr;
    close_conn(c);
  }
}

void process(TcpConn* c) {
  Worker& w = *c->w;
  std::size_t off = 0;
  while (!c->closing && c->in.size() - off >= 2) {
    const std::size_t len = wire::get16(c->in.data() + off);
    if (len < wire::kHeaderLen) {  // cannot be a DNS message: stop talking
      close_conn(c);
      return;
    }
    if (c->in.size() - off < 2 + len) break;
    std::size_t out = answer_query(w.current_zones(), w.fe->config().answer, w.state, c->in.data() + off + 2, len,
                                   QueryMeta{Transport::Tcp, reinterpret_cast<const sockaddr*>(&c->peer), nullptr},
                                   w.tx + 2);
    off += 2 + len;
    if (out == 0) continue;
    wire::put16(w.tx, static_cast<std::uint16_t>(out));
    send(c, w.tx, out + 2);
  }
  c->in.erase(c->in.begin(), c->in.begin() + static_cast<std::ptrdiff_t>(off));
}

void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* c = static_cast<TcpConn*>(s->data);
  if (n < 0) {
    // EOF: finish sending the answers already queued, then close.
    c->eof = true;
    update_reading(c);
    if (n != UV_EOF || c->pending == 0) close_conn(c);
    return;
  }
  if (n == 0) return;
  uv_timer_again(&c->idle);
  c->in.insert(c->in.end(), reinterpret_cast<std::uint8_t*>(buf->base), reinterpret_cast<std::uint8_t*>(buf->base) + n);
  process(c);
  update_reading(c);
}

}  // namespace

void close_tcp_handle(uv_handle_t* h) {
  if (uv_is_closing(h)) return;
  close_conn(static_cast<TcpConn*>(h->data));
}

void on_tcp_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* w = static_cast<Worker*>(server->data);
  auto* c = new TcpConn;
  c->w = w;
  uv_tcp_init(&w->loop, &c->tcp);
  uv_timer_init(&w->loop, &c->idle);
  c->tcp.data = c;
  c->idle.data = c;
  w->fe->tcp_connections.fetch_add(1, std::memory_order_relaxed);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
    close_conn(c);
    return;
  }
  if (w->fe->tcp_connections.load(std::memory_order_relaxed) > w->fe->config().tcp_max_connections) {
    close_conn(c);  // over the cap: refuse by closing at once
    return;
  }
  int peer_len = sizeof c->peer;
  uv_tcp_getpeername(&c->tcp, reinterpret_cast<sockaddr*>(&c->peer), &peer_len);
  uv_tcp_nodelay(&c->tcp, 1);
  const unsigned idle = w->fe->config().tcp_idle_timeout_ms;
  uv_timer_start(&c->idle, on_idle, idle, idle);
  update_reading(c);
}

}  // namespace meridian
