#pragma once
// Probes of the health checker: one attempt at a time against one
// endpoint, run on the checker's libuv loop (never on a query worker). One
// file per kind: probe_tcp.cpp, probe_http.cpp (HTTP and HTTPS through
// libcurl's multi interface driven by the loop), probe_dns.cpp,
// probe_file.cpp. The checker owns the timing (interval, timeout) and the
// thresholds; a probe only says whether one attempt succeeded, and why.
#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "zones/check_spec.hpp"

namespace meridian {

struct ProbeResult {
  bool ok = false;
  std::string reason;  // "status 200", "connection refused", "certificate error: ...", "timeout after 2s"
};

class Probe {
 public:
  using Done = std::function<void(ProbeResult)>;
  virtual ~Probe() = default;
  // Starts one attempt. `done` is called exactly once, on the loop thread
  // (possibly before run() returns), unless cancel() comes first.
  virtual void run(Done done) = 0;
  // Abandons the attempt in flight, if any: its `done` is never called.
  // Handles are released asynchronously; the probe may be destroyed at once.
  virtual void cancel() = 0;
};

// One libcurl multi handle whose sockets and timer are driven by a libuv
// loop (curl_multi_socket_action with uv_poll and uv_timer). Shared by every
// HTTP(S) probe of a checker. Destroy it after every probe using it.
class CurlMulti {
 public:
  using Finished = std::function<void(int curl_code)>;
  virtual ~CurlMulti() = default;
  // Starts the transfer of `easy` (a CURL*); `f` runs on the loop when it
  // completes. The caller keeps owning `easy`.
  virtual void add(void* easy, Finished f) = 0;
  // Stops the transfer of `easy` without calling its `f`.
  virtual void remove(void* easy) = 0;
};
std::unique_ptr<CurlMulti> make_curl_multi(uv_loop_t* loop);

std::unique_ptr<Probe> make_tcp_probe(uv_loop_t* loop, const CheckSpec& spec);
std::unique_ptr<Probe> make_http_probe(CurlMulti& multi, const CheckSpec& spec);
std::unique_ptr<Probe> make_dns_probe(uv_loop_t* loop, const CheckSpec& spec);
// `changed` runs (on the loop) when the file may have changed, so the
// checker reads it at once rather than at the next interval.
std::unique_ptr<Probe> make_file_probe(uv_loop_t* loop, const CheckSpec& spec, std::function<void()> changed);

// Shared by the probes.
// "192.0.2.1:80", "[2001:db8::1]:53"; without a port, `default_port` (0: required).
bool parse_probe_address(const std::string& text, unsigned default_port, sockaddr_storage& out);
// Closes a heap-allocated handle and deletes it once libuv is done with it.
template <class Handle>
void close_and_delete(Handle* h) {
  if (!h) return;
  auto* base = reinterpret_cast<uv_handle_t*>(h);
  if (uv_is_closing(base)) return;
  uv_close(base, [](uv_handle_t* x) { delete reinterpret_cast<Handle*>(x); });
}

}  // namespace meridian
