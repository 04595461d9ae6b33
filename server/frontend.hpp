#pragma once
// The network front end: N workers, each with its own SO_REUSEPORT UDP and
// TCP sockets, so workers share nothing on the query path. A worker is one
// thread per UDP socket (blocking recvmmsg, server/udp_batch.*) plus one
// thread running a libuv loop for its TCP listeners and connections. The
// main thread runs a loop for signals only.
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/answer.hpp"
#include "server/config.hpp"
#include "server/metrics.hpp"
#include "server/query_log.hpp"
#include "server/conn_limit.hpp"
#include "server/rrl.hpp"
#include "server/snapshot.hpp"
#include "server/socket_bind.hpp"
#include "server/udp_batch.hpp"
#include "server/zone_view.hpp"

namespace meridian {

class Frontend;

struct Worker {
  Frontend* fe = nullptr;
  unsigned id = 0;
  uv_loop_t loop{};
  uv_async_t stop{};
  std::vector<std::unique_ptr<UdpSocket>> udp;  // each with its own thread and state
  std::vector<std::unique_ptr<uv_tcp_t>> tcp;
  WorkerState state;  // of the TCP loop thread
  ZoneView zones;     // of the TCP loop thread
  std::thread thread;  // the TCP loop ("tcp-W")
  int cpu = -1;        // with socket_affinity or pin_workers, the CPU its threads are pinned to
  // Per-worker buffers for TCP reads and answers (UDP has its own batch).
  // tx holds two largest answers with their length prefixes, so pipelined
  // answers can be packed into one write.
  alignas(64) std::uint8_t rx[kMaxMessage + 1];
  alignas(64) std::uint8_t tx[2 * (kMaxMessage + 2)];

  const ZoneSet& current_zones() { return zones.current(); }
};

class Frontend {
 public:
  Frontend(ServerConfig cfg, SnapshotBox& box);
  ~Frontend();

  // Binds every listen address; on failure nothing is left open.
  bool open(std::string& error);
  const std::vector<ListenSockets>& sockets() const { return sockets_; }

  // Runs until SIGINT/SIGTERM. `on_reload` runs on SIGHUP in the main thread;
  // `on_ready` once every worker runs (sd_notify READY=1), `on_stopping`
  // when a stop signal arrives.
  void run(const std::function<void()>& on_reload, const std::function<void()>& on_ready = {},
           const std::function<void()>& on_stopping = {});

  const ServerConfig& config() const { return cfg_; }
  SnapshotBox& box() { return box_; }
  std::atomic<unsigned> tcp_connections{0};
  // Set before run(): each worker gets its own counter block and log ring.
  Metrics* metrics = nullptr;
  QueryLog* query_log = nullptr;
  ClientConnLimit& tcp_per_client() { return tcp_per_client_; }
  unsigned workers() const { return nworkers_; }
  // RRL counters, one entry per worker (zero when RRL is off). Any thread,
  // any time after construction: `sum()` adds them up.
  std::vector<RrlStats> rrl_stats() const;

 private:
  void start_worker(Worker& w);
  ServerConfig cfg_;
  SnapshotBox& box_;
  unsigned nworkers_ = 1;
  ClientConnLimit tcp_per_client_;
  std::unique_ptr<RrlCounters[]> rrl_counters_;  // per worker; exists before the workers do
  std::vector<ListenSockets> sockets_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace meridian
