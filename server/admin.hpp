#pragma once
// The HTTP admin endpoint ([admin] listen), served by libmicrohttpd on its
// own thread, off the query path. `meridian ctl` is its client.
//   GET  /status                      zones, serials, databases, uptime
//   GET  /health                      every check: state, configured, override, type,
//                                     last result and reason, last change, what it steers
//   POST /health/PATTERN/up|down|auto admin override (PATTERN: shell glob)
//   POST /reload                      reload every zone file
//   GET  /explain?name=&type=&client= the decision for one client (text)
//   GET  /metrics                     Prometheus text format (docs/metrics.md)
// Loopback only for now: it has no authentication yet.
#include <string>

#include "server/runtime.hpp"

struct MHD_Daemon;

namespace meridian {

class Metrics;
class QueryLog;

class AdminServer {
 public:
  explicit AdminServer(Runtime& rt) : rt_(rt) {}
  ~AdminServer();
  // Binds `listen` ("127.0.0.1:9153", port 0 = any); sets `bound`.
  bool start(const std::string& listen, std::string& bound, std::string& error);
  Runtime& runtime() { return rt_; }
  // What /metrics reports beyond the runtime; set before start(). Either
  // may be null (nothing counted / no query log).
  void observe(const Metrics* metrics, const QueryLog* query_log) {
    metrics_ = metrics;
    query_log_ = query_log;
  }
  const Metrics* metrics() const { return metrics_; }
  const QueryLog* query_log() const { return query_log_; }

 private:
  Runtime& rt_;
  const Metrics* metrics_ = nullptr;
  const QueryLog* query_log_ = nullptr;
  MHD_Daemon* daemon_ = nullptr;
};

}  // namespace meridian
