#include "server/frontend.hpp"

#include <unistd.h>

#include <csignal>
#include <cstring>
#include <random>

#include "server/cpu_affinity.hpp"
#include "server/log.hpp"
#include "server/tcp_conn.hpp"

namespace meridian {

namespace {

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

// Where socket_affinity (steering) or pin_workers (no steering) put the
// workers: the CPU their threads were pinned to. Under steering, a worker
// no usable CPU maps to (more workers than CPU numbers) gets queries and
// connections only for packets received on CPUs we may not use, usually
// none: worth a warning, since its threads then idle. Without steering
// every worker gets an allowed CPU (nth_allowed_cpu) unless the mask could
// not be read, and then serves its share unpinned.
void log_affinity(const std::vector<std::unique_ptr<Worker>>& workers, bool steering) {
  const char* option = steering ? "socket_affinity" : "pin_workers";
  std::string placed, idle;
  for (const auto& w : workers) {
    if (w->cpu >= 0) placed += fmt::format("{}worker {} on CPU {}", placed.empty() ? "" : ", ", w->id, w->cpu);
    else idle += fmt::format("{}{}", idle.empty() ? "" : ", ", w->id);
  }
  if (!placed.empty()) log::info("{}: UDP and TCP of {}", option, placed);
  if (idle.empty()) return;
  if (steering)
    log::warn("{}: worker(s) {} not pinned: no CPU this process may use maps to them (CPU % {}), so they get "
              "only the UDP queries and TCP connections received on other CPUs; set [server] threads to the CPU "
              "count",
              option, idle, workers.size());
  else
    log::warn("{}: worker(s) {} not pinned: cannot read this process's CPU affinity mask, so they run where the "
              "scheduler puts them",
              option, idle);
}

}  // namespace

Frontend::Frontend(ServerConfig cfg, SnapshotBox& box)
    : cfg_(std::move(cfg)), box_(box), tcp_per_client_(cfg_.tcp_max_connections_per_client) {
  // The CPUs we may run on, not all the machine has: under taskset or a
  // cpuset, more workers than that would only take turns.
  nworkers_ = cfg_.threads ? cfg_.threads : available_cpus();
  rrl_counters_.reset(new RrlCounters[nworkers_]);
}

std::vector<RrlStats> Frontend::rrl_stats() const {
  std::vector<RrlStats> out;
  for (unsigned i = 0; i < nworkers_; ++i) out.push_back(rrl_counters_[i].snapshot());
  return out;
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
    if (!open_listen_sockets(addr, nworkers_, s, error, {cfg_.udp_receive_buffer, cfg_.udp_send_buffer}))
      return false;
    // Not fatal: without the program the kernel's hash spreads the queries,
    // as with the option off.
    if (cfg_.socket_affinity)
      if (int e = steer_by_cpu(s.udp_fds[0], nworkers_); e != 0)
        log::warn("{}: socket_affinity: cannot steer UDP queries by CPU: {}", addr, std::strerror(e));
    // Linux reports twice the usable size; without CAP_NET_ADMIN it caps
    // the request at net.core.rmem_max / wmem_max (208 KiB on a stock
    // Debian). The server works either way, so the default sizes only
    // note a shortfall; sizes the operator wrote get a warning.
    if (std::uint64_t(s.udp_receive_buffer) < 2ull * cfg_.udp_receive_buffer ||
        std::uint64_t(s.udp_send_buffer) < 2ull * cfg_.udp_send_buffer) {
      const std::string msg = fmt::format(
          "{}: UDP socket buffers {} / {} bytes (receive / send), {} / {} asked: the kernel caps them at "
          "net.core.rmem_max / wmem_max for a process without CAP_NET_ADMIN (docs/configuration.md)",
          addr, s.udp_receive_buffer / 2, s.udp_send_buffer / 2, cfg_.udp_receive_buffer, cfg_.udp_send_buffer);
      if (cfg_.udp_buffers_set) log::warn("{}", msg);
      else log::info("{}", msg);
    }
    sockets_.push_back(std::move(s));
  }
  return true;
}

void Frontend::start_worker(Worker& w) {
  uv_loop_init(&w.loop);
  // Steering sends CPU c's traffic to worker c % workers, so its pins must
  // match that remainder; without it any allowed CPU will do.
  w.cpu = cfg_.socket_affinity ? worker_cpu(w.id, nworkers_) : cfg_.pin_workers ? nth_allowed_cpu(w.id) : -1;
  uv_async_init(&w.loop, &w.stop, on_stop);
  w.stop.data = &w;
  w.zones.box = &box_;
  std::random_device rd;  // seeds the per-thread PRNGs and RRL hash keys once, off the query path
  for (auto& s : sockets_) {
    auto u = std::make_unique<UdpSocket>();
    u->fe = this;
    u->fd = s.udp_fds[w.id];
    s.udp_fds[w.id] = -1;  // owned by the worker now
    u->name = "udp-" + std::to_string(w.id) + "." + std::to_string(w.udp.size());
    u->zones.box = &box_;
    u->cpu = w.cpu;
    u->state.rng = (std::uint64_t(rd()) << 32 | rd()) | 1;
    if (metrics) u->state.metrics = &metrics->add_worker();
    if (query_log) u->state.query_log = &query_log->add_worker();
    // Per-thread RRL accounts: no lock and no shared line per query
    // (docs/hardening.md explains why not one shared table); the worker's
    // counters are atomics its UDP threads add to.
    if (cfg_.rrl.enabled)
      u->rrl = std::make_unique<RrlTable>(cfg_.rrl, rrl_counters_[w.id], std::uint64_t(rd()) << 32 | rd());
    if (int e = udp_start(*u); e != 0) log::error("udp {}: {}", s.bound, std::strerror(e));
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

void Frontend::run(const std::function<void()>& on_reload, const std::function<void()>& on_ready,
                   const std::function<void()>& on_stopping) {
  std::signal(SIGPIPE, SIG_IGN);
  // Signal handlers go in before anything announces readiness, so a signal
  // sent the moment "serving" is logged is handled, not fatal.
  uv_loop_t* main = uv_default_loop();
  struct Ctx {
    Frontend* fe;
    const std::function<void()>* reload;
    const std::function<void()>* stopping;
  } ctx{this, &on_reload, &on_stopping};
  // Static: the handles stay registered until the process exits (see below),
  // and libuv's signal handler reads them whenever a signal arrives.
  static uv_signal_t sigint, sigterm, sighup;
  auto stop_cb = [](uv_signal_t* s, int signum) {
    log::info("received signal {}, stopping", signum);
    if (auto& f = *static_cast<Ctx*>(s->data)->stopping) f();
    uv_stop(s->loop);
  };
  uv_signal_init(main, &sigint);
  uv_signal_init(main, &sigterm);
  uv_signal_init(main, &sighup);
  sigint.data = sigterm.data = sighup.data = &ctx;
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
    if (metrics) w->state.metrics = &metrics->add_worker();
    if (query_log) w->state.query_log = &query_log->add_worker();
    start_worker(*w);
    workers_.push_back(std::move(w));
  }
  // TCP joins its SO_REUSEPORT group at listen(), so the group is complete
  // only now, in worker order (the UDP one was at bind, in open()).
  if (cfg_.socket_affinity)
    for (std::size_t k = 0; k < sockets_.size(); ++k) {
      uv_os_fd_t fd = -1;
      uv_fileno(reinterpret_cast<const uv_handle_t*>(workers_[0]->tcp[k].get()), &fd);
      if (int e = fd < 0 ? EBADF : steer_by_cpu(fd, nworkers_); e != 0)
        log::warn("{}: socket_affinity: cannot steer TCP connections by CPU: {}", sockets_[k].bound,
                  std::strerror(e));
    }
  for (auto& w : workers_) {
    w->thread = std::thread([wp = w.get()] { uv_run(&wp->loop, UV_RUN_DEFAULT); });
    place_thread(w->thread, fmt::format("tcp-{}", w->id), w->cpu);
  }
  for (const auto& s : sockets_) log::info("listening on udp+tcp {}", s.bound);
  if (cfg_.pins_workers()) log_affinity(workers_, cfg_.socket_affinity);
  log::info("serving with {} worker thread(s)", nworkers_);
  if (on_ready) on_ready();
  uv_run(main, UV_RUN_DEFAULT);

  for (auto& w : workers_) {
    uv_async_send(&w->stop);
    for (auto& u : w->udp) udp_stop(*u);
  }
  for (auto& w : workers_) {
    w->thread.join();
    uv_loop_close(&w->loop);
    for (auto& u : w->udp) close(u->fd);
  }
  // The signal handles stay open until the process exits: closing them would
  // restore the default action, and a second Ctrl-C during shutdown would
  // then kill the process instead of being ignored.
  log::info("stopped");
}

}  // namespace meridian
