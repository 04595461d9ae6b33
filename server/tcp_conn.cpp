#include "server/tcp_conn.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "server/frontend.hpp"
#include "server/log.hpp"
#include "server/wire.hpp"

namespace meridian {

namespace {

// One timer per connection, in one of two roles:
//   Query: a new connection's first query, or a message whose first bytes
//          arrived, must be complete within tcp_query_timeout (or the idle
//          timeout if that is shorter). Later bytes
//          of the same message do not extend it, so a client dripping one
//          byte at a time (slowloris) is closed all the same.
//   Idle:  between whole queries, or while answers wait for a client that
//          does not read; tcp_idle_timeout.
// A role change or progress only moves `deadline`; the uv timer is not
// re-armed per read (uv_timer_stop + start, a heap update, was 1.6 % of the
// server's CPU over TCP in perf). It stays armed at most the shorter
// timeout ahead and, when it fires before the deadline, waits the rest.
enum class TimerRole : std::uint8_t { Query, Idle };

struct TcpConn {
  uv_tcp_t tcp{};
  uv_timer_t timer{};
  Worker* w = nullptr;
  sockaddr_storage peer{};       // routing policies use it when there is no ECS
  IpAddr client{};               // counted in the per-client limit when `counted`
  std::vector<std::uint8_t> in;  // bytes received, not yet answered
  std::size_t pending = 0;       // bytes queued in uv_write requests
  std::uint64_t deadline = 0;    // loop time (ms) at which the timer closes it
  unsigned queries = 0;          // answered on this connection
  int open_handles = 2;
  TimerRole role = TimerRole::Query;
  bool counted = false;
  bool closing = false;
  bool eof = false;
  bool finishing = false;  // tcp_max_queries_per_connection reached: flush, then close
  bool reading = false;
};

struct WriteReq {
  uv_write_t req{};
  TcpConn* conn;
  std::vector<std::uint8_t> data;
};

const ServerConfig& cfg(const TcpConn* c) { return c->w->fe->config(); }

// Too many answers queued unsent: the client is not reading.
bool backlogged(const TcpConn* c) { return c->pending >= cfg(c).tcp_max_pending_output; }

void on_handle_closed(uv_handle_t* h) {
  auto* c = static_cast<TcpConn*>(h->data);
  if (--c->open_handles == 0) delete c;
}

void close_conn(TcpConn* c) {
  if (c->closing) return;
  c->closing = true;
  // Released before uv_close() closes the socket, so a client that sees
  // the close can count on the slot being free (tests rely on it).
  if (c->counted) c->w->fe->tcp_per_client().release(c->client);
  c->w->fe->tcp_connections.fetch_sub(1, std::memory_order_relaxed);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_handle_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->timer), on_handle_closed);
}

void on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
  auto* c = static_cast<TcpConn*>(h->data);
  // Reads land in the worker's receive buffer and are appended to `in`.
  *buf = uv_buf_init(reinterpret_cast<char*>(c->w->rx), sizeof c->w->rx);
}

// Any deadline is at least this far ahead of the moment it is set.
std::uint64_t shortest_timeout(const TcpConn* c) {
  return std::min(cfg(c).tcp_query_timeout_ms, cfg(c).tcp_idle_timeout_ms);
}

void on_timeout(uv_timer_t* t) {
  auto* c = static_cast<TcpConn*>(t->data);
  const std::uint64_t now = uv_now(t->loop);
  if (now >= c->deadline) {
    close_conn(c);
    return;
  }
  // Never further than the shortest timeout: a deadline set later lies at
  // least that far ahead, so the timer is never late for it.
  uv_timer_start(t, on_timeout, std::min(c->deadline - now, shortest_timeout(c)), 0);
}

void arm(TcpConn* c, TimerRole role) {
  c->role = role;
  // A silent new connection is idle too: whichever timeout is shorter.
  c->deadline = uv_now(c->timer.loop) + (role == TimerRole::Query ? shortest_timeout(c) : cfg(c).tcp_idle_timeout_ms);
  // Started once, at accept (nothing stops it but the close); then only
  // on_timeout re-arms it.
  if (!uv_is_active(reinterpret_cast<const uv_handle_t*>(&c->timer)))
    uv_timer_start(&c->timer, on_timeout, shortest_timeout(c), 0);
}

// `new_message`: a message was answered, so any bytes left start a new one.
// `progress`: the client read (a write completed) or sent a whole query.
void update_timer(TcpConn* c, bool new_message, bool progress) {
  if (c->closing) return;
  const bool partial = !c->in.empty() && !backlogged(c) && !c->finishing;
  if (partial) {
    if (new_message || c->role != TimerRole::Query) arm(c, TimerRole::Query);
  } else if (progress || c->role != TimerRole::Idle) {
    arm(c, TimerRole::Idle);
  }
}

void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);

void update_reading(TcpConn* c) {
  bool want = !c->closing && !c->eof && !c->finishing && !backlogged(c);
  if (want && !c->reading) uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_read);
  if (!want && c->reading) uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
  c->reading = want;
}

std::size_t process(TcpConn* c);
std::size_t answer_messages(TcpConn* c, const std::uint8_t* data, std::size_t size, std::size_t& off);

// After EOF or the last allowed query, close once every answer is out.
bool close_if_done(TcpConn* c) {
  if ((c->eof || c->finishing) && c->pending == 0) {
    close_conn(c);
    return true;
  }
  return c->closing;
}

void on_written(uv_write_t* req, int status) {
  auto* wr = reinterpret_cast<WriteReq*>(req);
  TcpConn* c = wr->conn;
  c->pending -= wr->data.size();
  delete wr;
  if (status < 0) {
    close_conn(c);
    return;
  }
  if (c->closing) return;
  const bool answered = process(c) > 0;  // queries held back while the client was not reading
  if (close_if_done(c)) return;
  update_reading(c);
  update_timer(c, answered, true);
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

// Answers every complete message in `in`, in order, until the output
// backlog is full or the connection has had its share of queries.
// Returns how many messages it consumed.
std::size_t process(TcpConn* c) {
  std::size_t off = 0;
  const std::size_t consumed = answer_messages(c, c->in.data(), c->in.size(), off);
  if (c->finishing) c->in.clear();  // whatever follows the last allowed query is ignored
  else c->in.erase(c->in.begin(), c->in.begin() + static_cast<std::ptrdiff_t>(off));
  return consumed;
}

// What process() does over `size` bytes at `data`, which it leaves alone;
// `off` is set to the bytes consumed.
std::size_t answer_messages(TcpConn* c, const std::uint8_t* data, std::size_t size, std::size_t& off) {
  Worker& w = *c->w;
  std::size_t consumed = 0;
  off = 0;
  // Answers to pipelined queries are packed one after the other and sent
  // with one write: a client with 100 queries in flight costs one system
  // call per read, not one per answer.
  std::size_t used = 0;
  while (!c->closing && !c->finishing && !backlogged(c) && size - off >= 2) {
    const std::size_t len = wire::get16(data + off);
    if (len < wire::kHeaderLen) {  // cannot be a DNS message: stop talking
      close_conn(c);
      return consumed;
    }
    if (size - off < 2 + len) break;
    if (sizeof w.tx - used < kMaxMessage + 2) {  // no room for a largest answer: send what we have
      send(c, w.tx, used);
      used = 0;
      if (c->closing) break;
    }
    std::size_t out = answer_query(w.current_zones(), w.fe->config().answer, w.state, data + off + 2, len,
                                   QueryMeta{Transport::Tcp, reinterpret_cast<const sockaddr*>(&c->peer), nullptr},
                                   w.tx + used + 2);
    off += 2 + len;
    ++consumed;
    if (++c->queries >= cfg(c).tcp_max_queries_per_connection) c->finishing = true;
    if (out == 0) continue;
    wire::put16(w.tx + used, static_cast<std::uint16_t>(out));
    used += out + 2;
  }
  if (used && !c->closing) send(c, w.tx, used);
  return consumed;
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
  const auto* data = reinterpret_cast<const std::uint8_t*>(buf->base);
  bool answered;
  if (c->in.empty()) {
    // The usual case: whole messages, answered straight from the worker's
    // receive buffer; only what is left (part of a message, or queries
    // held back by a full output backlog) is copied into `in`.
    std::size_t off = 0;
    answered = answer_messages(c, data, static_cast<std::size_t>(n), off) > 0;
    if (!c->finishing) c->in.assign(data + off, data + n);
  } else {
    c->in.insert(c->in.end(), data, data + n);
    answered = process(c) > 0;
  }
  if (close_if_done(c)) return;
  update_reading(c);
  update_timer(c, answered, answered);
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
  uv_timer_init(&w->loop, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
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
  if (ip_from_sockaddr(reinterpret_cast<const sockaddr*>(&c->peer), c->client)) {
    if (!w->fe->tcp_per_client().acquire(c->client)) {
      close_conn(c);  // this client holds its share of connections already
      return;
    }
    c->counted = true;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  arm(c, TimerRole::Query);  // the first query must arrive promptly
  update_reading(c);
}

}  // namespace meridian
