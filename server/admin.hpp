#pragma once
// The HTTP admin endpoint ([admin] listen), served by libmicrohttpd on its
// own thread, off the query path. `meridian ctl` is its client.
//   GET  /status                      zones, serials, databases, uptime
//   GET  /health                      every check: state, configured, override, type,
//                                     last result and reason, last change, what it steers
//   POST /health/PATTERN/up|down|auto admin override (PATTERN: shell glob)
//   POST /reload[/ZONE]               reload every zone file (or one zone)
//   GET  /metrics                     Prometheus text format (docs/metrics.md)
//   GET  /explain?name=&type=&client= the decision for one client (text)
// Access (docs/hardening.md#admin-endpoint-exposure): connections from
// outside [admin] allow (default: loopback) are refused before anything is
// parsed; with [admin] token every request needs `Authorization: Bearer
// TOKEN` (else 401); a listen address that is not loopback needs a token.
#include <string>

#include "server/runtime.hpp"

struct MHD_Daemon;

namespace meridian {

class Metrics;
class QueryLog;
class Frontend;

class AdminServer {
 public:
  explicit AdminServer(Runtime& rt) : rt_(rt) {}
  ~AdminServer();
  // Where /status reads the RRL and TCP counters; call before start().
  void set_frontend(const Frontend* fe) { fe_ = fe; }
  // Binds `listen` ("127.0.0.1:9153", port 0 = any); sets `bound`. Token
  // and allow list come from the runtime's config.
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
  const Frontend* frontend() const { return fe_; }

 private:
  Runtime& rt_;
  const Metrics* metrics_ = nullptr;
  const QueryLog* query_log_ = nullptr;
  const Frontend* fe_ = nullptr;
  MHD_Daemon* daemon_ = nullptr;
};

}  // namespace meridian
