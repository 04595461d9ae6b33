#include "server/frontend.hpp"

#include <unistd.h>

#include <csignal>
#include <random>

#include "server/log.hpp"
#include "server/tcp_conn.hpp"

namespace meridian {

const ZoneSet& Worker::current_zones() {
  // One atomic load per query; the lock inside get() is taken only after a
  // reload published a new snapshot.
  const std::uint64_t g = fe->box().generation();
  if (g != generation) {
    zones = fe->box().get();
    generation = g;
  }
  return *zones;
}

namespace {

void on_udp_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
  auto* w = static_cast<Worker*>(h->data);
  *buf = uv_buf_init(reinterpret_cast<char*>(w->rx), sizeof w->rx);
}

void on_udp_recv(uv_udp_t* h, ssize_t n, const uv_buf_t* buf, const sockaddr* from, unsigned flags) {
  if (n <= 0 || !from || (flags & UV_UDP_PARTIAL)) return;
  auto* w = static_cast<Worker*>(h->data);
  std::size_t len = answer_query(w->current_zones(), w->fe->config().answer, w->state,
                                 reinterpret_cast<const std::uint8_t*>(buf->base), static_cast<std::size_t>(n),
                                 Transport::Udp, w->tx);
  if (len == 0) return;
  uv_buf_t out = uv_buf_init(reinterpret_cast<char*>(w->tx), static_cast<unsigned>(len));
  // Synchronous send from the worker buffer: no request object to allocate.
  // A full socket buffer drops the answer, as a lost datagram would.
  uv_udp_try_send(h, &out, 1, from);
}

void on_stop(uv_async_t* a) {
  auto* w = static_cast<Worker*>(a->data);
  uv_walk(
      &w->loop,
      [](uv_handle_t* h, void* arg) {
        if (uv_is_closing(h)) return;
        if (h->data == arg) uv_close(h, nullptr);
        else close_tcp_handle(h);
      },
      w);
}

}  // namespace

Frontend::Frontend(ServerConfig cfg, SnapshotBox& box) : cfg_(std::move(cfg)), box_(box) {
  nworkers_ = cfg_.threads ? cfg_.threads : std::max(1u, std::thread::hardware_concurrency());
}

Frontend::~Frontend() {
  for (auto& s : sockets_) {
    for (int fd : s.udp_fds) if (fd >= 0) close(fd);
    for (int fd : s.tcp_fds) if (fd >= 0) close(fd);
  }
}

bool Frontend::open(std::string& error) {
  for (const auto& addr : cfg_.listen) {
    ListenSockets s;
    if (!open_listen_sockets(addr, nworkers_, s, error)) return false;
    sockets_.push_back(std::move(s));
  }
  return true;
}

void Frontend::start_worker(Worker& w) {
  uv_loop_init(&w.loop);
  uv_async_init(&w.loop, &w.stop, on_stop);
  w.stop.data = &w;
  for (auto& s : sockets_) {
    auto u = std::make_unique<uv_udp_t>();
    uv_udp_init(&w.loop, u.get());
    u->data = &w;
    uv_udp_open(u.get(), s.udp_fds[w.id]);
    s.udp_fds[w.id] = -1;  // owned by libuv now
    uv_udp_recv_start(u.get(), on_udp_alloc, on_udp_recv);
    w.udp.push_back(std::move(u));

    auto t = std::make_unique<uv_tcp_t>();
    uv_tcp_init(&w.loop, t.get());
    t->data = &w;
    uv_tcp_open(t.get(), s.tcp_fds[w.id]);
    s.tcp_fds[w.id] = -1;
    int r = uv_listen(reinterpret_cast<uv_stream_t*>(t.get()), 1024, on_tcp_connection);
    if (r != 0) log::error("listen tcp {}: {}", s.bound, uv_strerror(r));
    w.tcp.push_back(std::move(t));
  }
}

void Frontend::run(const std::function<void()>& on_reload) {
  std::signal(SIGPIPE, SIG_IGN);
  // Signal handlers go in before anything announces readiness, so a signal
  // sent the moment "serving" is logged is handled, not fatal.
  uv_loop_t* main = uv_default_loop();
  struct Ctx {
    Frontend* fe;
    const std::function<void()>* reload;
  } ctx{this, &on_reload};
  // Static: the handles stay registered until the process exits (see below),
  // and libuv's signal handler reads them whenever a signal arrives.
  static uv_signal_t sigint, sigterm, sighup;
  auto stop_cb = [](uv_signal_t* s, int signum) {
    log::info("received signal {}, stopping", signum);
    uv_stop(s->loop);
  };
  uv_signal_init(main, &sigint);
  uv_signal_init(main, &sigterm);
  uv_signal_init(main, &sighup);
  sighup.data = &ctx;
  uv_signal_start(&sigint, stop_cb, SIGINT);
  uv_signal_start(&sigterm, stop_cb, SIGTERM);
  uv_signal_start(
      &sighup, [](uv_signal_t* s, int) { (*static_cast<Ctx*>(s->data)->reload)(); }, SIGHUP);

  for (unsigned i = 0; i < nworkers_; ++i) {
    auto w = std::make_unique<Worker>();
    w->fe = this;
    w->id = i;
    std::random_device rd;  // seeds the per-worker PRNG once, off the query path
    w->state.rng = (std::uint64_t(rd()) << 32 | rd()) | 1;
    start_worker(*w);
    workers_.push_back(std::move(w));
  }
  for (auto& w : workers_)
    w->thread = std::thread([wp = w.get()] { uv_run(&wp->loop, UV_RUN_DEFAULT); });
  for (const auto& s : sockets_) log::info("listening on udp+tcp {}", s.bound);
  log::info("serving with {} worker thread(s)", nworkers_);
  uv_run(main, UV_RUN_DEFAULT);

  for (auto& w : workers_) uv_async_send(&w->stop);
  for (auto& w : workers_) {
    w->thread.join();
    uv_loop_close(&w->loop);
  }
  // The signal handles stay open until the process exits: closing them would
  // restore the default action, and a second Ctrl-C during shutdown would
  // then kill the process instead of being ignored.
  log::info("stopped");
}

}  // namespace meridian
