#pragma once
// The HTTP admin endpoint ([admin] listen), served by libmicrohttpd on its
// own thread, off the query path. `meridian ctl` is its client.
//   GET  /status                      zones, serials, databases, uptime
//   GET  /health                      every check: state, configured, override, type,
//                                     last result and reason, last change, what it steers
//   POST /health/PATTERN/up|down|auto admin override (PATTERN: shell glob)
//   POST /reload                      reload every zone file
//   GET  /explain?name=&type=&client= the decision for one client (text)
// Loopback only for now: it has no authentication yet.
#include <string>

#include "server/runtime.hpp"

struct MHD_Daemon;

namespace meridian {

class AdminServer {
 public:
  explicit AdminServer(Runtime& rt) : rt_(rt) {}
  ~AdminServer();
  // Binds `listen` ("127.0.0.1:9153", port 0 = any); sets `bound`.
  bool start(const std::string& listen, std::string& bound, std::string& error);
  Runtime& runtime() { return rt_; }

 private:
  Runtime& rt_;
  MHD_Daemon* daemon_ = nullptr;
};

}  // namespace meridian
