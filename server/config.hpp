#pragma once
// The server configuration file (meridian.toml), documented in
// docs/configuration.md. Relative paths are resolved against the directory
// of the config file, so `meridian serve --config /etc/meridian/meridian.toml`
// works from any working directory.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "geo/regions.hpp"
#include "server/answer.hpp"
#include "server/query_log.hpp"
#include "server/cidr.hpp"
#include "server/rrl.hpp"
#include "zones/check_spec.hpp"
#include "zones/diagnostic.hpp"
#include "zones/health.hpp"

namespace meridian {

struct ServerConfig {
  std::string file;
  std::vector<std::string> listen{"127.0.0.1:53", "[::1]:53"};
  std::string zones_dir = "zones";
  unsigned threads = 0;  // 0: one worker per CPU this process may use
  // [server] socket_affinity: pin worker i's threads to a CPU and steer each
  // UDP query and TCP connection to the worker on the CPU that received it
  // (server/cpu_affinity.hpp). Off: the kernel's 4-tuple hash picks.
  bool socket_affinity = false;
  // [server] pin_workers: pin worker i's threads to the i-th CPU the process
  // may use (nth_allowed_cpu), without socket_affinity's steering (the
  // kernel's hash still picks the socket).
  // A pinned thread is woken on its own core: measured 30 % less CPU per
  // query where wake-ups are dear, and 4 % more in another state of the
  // same machine (docs/performance.md, "Pinned by default"). On by
  // default, as Knot pins its UDP workers; with the default thread count
  // every allowed CPU gets one worker, so no CPU is favoured.
  bool pin_workers = true;
  bool pins_workers() const { return socket_affinity || pin_workers; }
  AnswerConfig answer;
  unsigned tcp_idle_timeout_ms = 10000;  // RFC 7766 section 6.2.3 suggests seconds, not minutes
  unsigned tcp_max_connections = 1024;
  // Kernel buffers of each UDP socket, in bytes (0: the system default,
  // net.core.rmem_default / wmem_default, 208 KiB on Debian). A burst of
  // queries beyond the receive buffer is dropped by the kernel before we
  // see it; 1 MiB is NSD's choice too.
  unsigned udp_receive_buffer = 1u << 20;
  unsigned udp_send_buffer = 1u << 20;
  bool udp_buffers_set = false;  // either key written: a shortfall is a warning, not a note
  // [server] user / group: when started as root, bind the sockets and then
  // switch to this user (server/privileges.*). Empty: no switch.
  std::string user;
  std::string group;  // empty: the user's primary group
  // [server] allow_root: run as root on purpose (containers); otherwise
  // `serve` refuses to start as root without `user`.
  bool allow_root = false;
  // TCP limits (docs/hardening.md): connections per client address, the time
  // a started query (or a new connection's first one) has to arrive whole,
  // queries per connection, and unsent answer bytes before reading pauses.
  unsigned tcp_max_connections_per_client = 32;
  unsigned tcp_query_timeout_ms = 3000;
  unsigned tcp_max_queries_per_connection = 1000;
  unsigned tcp_max_pending_output = 256 * 1024;
  // [rrl]: response rate limiting of UDP answers (off by default).
  RrlConfig rrl;
  // [checks.NAME]: health checks shared by every zone (docs/health-checks.md).
  // Manual ones (state = "up" | "down") are applied to
  // HealthRegistry::global() by load_config when the file has no errors;
  // the others run in the health checker.
  std::vector<CheckSpec> checks;
  // [geoip]: databases in lookup order (first file with a field wins) and an
  // optional measured-latency table; paths resolved against the config dir.
  std::vector<std::string> geoip_databases;
  std::string latency_table;
  // [regions.NAME] lat/lon: where latency-policy targets are.
  std::vector<Region> regions;
  // [admin] listen: the HTTP admin endpoint used by `meridian ctl`; empty = off.
  std::string admin_listen;
  // [admin] token / token_file: the bearer token every admin request must
  // carry (required when `listen` is not loopback); empty = none.
  std::string admin_token;
  // [admin] allow: source networks the admin endpoint accepts connections from.
  std::vector<Cidr> admin_allow = loopback_networks();
  // [admin] state_file: where admin overrides are kept across restarts
  // (resolved against the config dir); empty = not persisted.
  std::string state_file;
  // [reload]: reload zones and GeoIP databases when their files change
  // (inotify through libuv), after `debounce` of quiet so an editor's
  // several writes make one reload.
  bool watch_files = true;
  unsigned watch_debounce_ms = 250;
  // [query_log]: enabled, sample (1 in N), file (resolved against the
  // config dir; empty = stderr). Off by default.
  QueryLogConfig query_log;
};

// Parses `path`; returns false with errors (file:line:col) on any problem.
bool load_config(const std::string& path, ServerConfig& cfg, Diagnostics& errors);

}  // namespace meridian
