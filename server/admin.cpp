#include "server/admin.hpp"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <nlohmann/json.hpp>

#include <strings.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string_view>

#include "geo/geoip_db.hpp"
#include "server/cidr.hpp"
#include "server/explain.hpp"
#include "server/frontend.hpp"
#include "server/log.hpp"
#include "server/metrics_text.hpp"
#include "server/query_log.hpp"
#include "server/socket_bind.hpp"
#include "version.hpp"
#include "zones/health.hpp"

namespace meridian {

namespace {

using nlohmann::json;

struct Reply {
  unsigned status = MHD_HTTP_OK;
  std::string body;
  const char* type = "application/json";
};

Reply json_reply(const json& j, unsigned status = MHD_HTTP_OK) { return {status, j.dump(2) + "\n"}; }
Reply error_reply(unsigned status, const std::string& msg) { return json_reply(json{{"error", msg}}, status); }

json rrl_json(const RrlStats& s) {
  return {{"dropped", s.dropped}, {"slipped", s.slipped}, {"evictions", s.evictions}};
}

// "2026-05-04T10:11:12.345Z"; null for 0 (never).
json iso_time(std::int64_t unix_ms) {
  if (unix_ms <= 0) return nullptr;
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
  return buf;
}

json zones_json(Runtime& rt) {
  json zones = json::array();
  if (ZoneSetPtr zs = rt.box().get())
    for (std::size_t i = 0; i < zs->zones.size(); ++i) {
      const auto& z = zs->zones[i];
      zones.push_back({{"origin", z->origin_text},
                       {"serial", z->serial},
                       {"records", z->record_count},
                       {"file", z->file},
                       {"loaded_at", iso_time(zs->sources[i].loaded_unix_ms)}});
    }
  return zones;
}

json reload_json(const Runtime::ReloadStatus& r) {
  return {{"count", r.reloads},
          {"failures", r.failures},
          {"last", iso_time(r.last_unix_ms)},
          {"last_success", iso_time(r.last_ok_unix_ms)},
          {"recompiled", r.last_recompiled},
          {"errors", r.last_errors}};
}

Reply status(Runtime& rt, const Frontend* fe) {
  json dbs = json::array();
  ZoneSetPtr zs = rt.box().get();
  const GeoIpPtr& geo = zs && zs->geo ? zs->geo : rt.config().answer.geo;
  if (geo)
    for (const auto& i : geo->info())
      dbs.push_back({{"path", i.path}, {"type", i.type}, {"build_epoch", i.build_epoch}});
  const auto up = std::chrono::steady_clock::now() - rt.started();
  json j{{"uptime_seconds", std::chrono::duration_cast<std::chrono::seconds>(up).count()},
         {"zones", zones_json(rt)},
         {"geoip", dbs},
         {"reloads", rt.reloads()},
         {"reload", reload_json(rt.reload_status())}};
  if (fe) {
    const std::vector<RrlStats> per_worker = fe->rrl_stats();
    json rrl = rrl_json(sum(per_worker));
    rrl["enabled"] = fe->config().rrl.enabled;
    rrl["workers"] = json::array();
    for (const auto& w : per_worker) rrl["workers"].push_back(rrl_json(w));
    j["rrl"] = rrl;
    j["tcp"] = {{"connections", fe->tcp_connections.load(std::memory_order_relaxed)}};
  }
  return json_reply(j);
}

Reply health() {
  json checks = json::array();
  const std::int64_t now = unix_ms_now();
  for (const auto& e : HealthRegistry::global().list()) {
    json c{{"name", e.name}, {"state", health_state_name(e.state)}, {"configured", health_state_name(e.configured)}};
    c["override"] = e.override ? json(health_state_name(*e.override)) : json(nullptr);
    c["type"] = e.type.empty() ? json(nullptr) : json(e.type);
    c["target"] = e.target;
    c["last_result"] = e.last_ok ? json(*e.last_ok ? "ok" : "fail") : json(nullptr);
    c["reason"] = e.reason;
    c["last_check"] = iso_time(e.last_check_ms);
    c["last_change"] = iso_time(e.last_change_ms);
    c["last_change_age_seconds"] = e.last_change_ms ? json(double(now - e.last_change_ms) / 1000.0) : json(nullptr);
    c["steers"] = e.steers;
    checks.push_back(c);
  }
  return json_reply({{"checks", checks}});
}

Reply set_state(Runtime& rt, const std::string& rest) {
  // rest = "PATTERN/STATE"
  const auto slash = rest.rfind('/');
  if (slash == std::string::npos || slash == 0) return error_reply(MHD_HTTP_BAD_REQUEST, "use /health/NAME/up|down|auto");
  const std::string pattern = rest.substr(0, slash), word = rest.substr(slash + 1);
  std::optional<HealthState> s;
  if (word != "auto") {
    s = health_state_from_text(word);
    if (!s) return error_reply(MHD_HTTP_BAD_REQUEST, "state must be up, down or auto, not '" + word + "'");
  }
  auto hit = HealthRegistry::global().set_override(pattern, s);
  if (hit.empty()) return error_reply(MHD_HTTP_NOT_FOUND, "no check matches '" + pattern + "'");
  for (const auto& n : hit) log::info("admin: check {} set to {}", n, word);
  std::string error;
  if (!rt.save_overrides(error)) log::error("admin: overrides not persisted: {}", error);
  return json_reply({{"changed", hit}, {"state", word}});
}

// POST /reload reloads every zone; POST /reload/ZONE only that one.
Reply reload(Runtime& rt, const std::string& zone) {
  Diagnostics errs;
  rt.load_zones(errs, zone);
  json e = json::array();
  for (const auto& d : errs) {
    log::error("{}", d.str());
    e.push_back(d.str());
  }
  return json_reply({{"zones", zones_json(rt)}, {"errors", e}}, errs.empty() ? MHD_HTTP_OK : MHD_HTTP_UNPROCESSABLE_CONTENT);
}

Reply explain(Runtime& rt, MHD_Connection* c) {
  auto arg = [&](const char* k) {
    const char* v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);
    return std::string(v ? v : "");
  };
  std::string report, error;
  std::string type = arg("type");
  if (!explain_query(rt, arg("name"), type.empty() ? "A" : type, arg("client"), report, error))
    return error_reply(MHD_HTTP_BAD_REQUEST, error);
  return {MHD_HTTP_OK, report, "text/plain; charset=utf-8"};
}

// Prometheus text format 0.0.4 (docs/metrics.md). Sums the per-worker
// counter blocks here, on the admin thread.
Reply metrics(AdminServer& srv) {
  Runtime& rt = srv.runtime();
  MetricsView v;
  if (srv.metrics()) {
    v.totals = srv.metrics()->sum();
    if (const auto* tcp = srv.metrics()->tcp_connections.load(std::memory_order_acquire))
      v.tcp_connections = tcp->load(std::memory_order_relaxed);
  }
  v.zone_names = zone_metric_slot_names();
  for (const auto& e : HealthRegistry::global().list())
    v.checks.push_back({e.name, e.state == HealthState::Up, e.transitions});
  v.reloads = rt.reloads();
  v.reload_failures = rt.reload_failures();
  v.last_reload_ok_unix = rt.last_reload_ok_unix();
  ZoneSetPtr zs = rt.box().get();
  const GeoIpPtr& geo = zs && zs->geo ? zs->geo : rt.config().answer.geo;
  if (geo)
    for (const auto& i : geo->info()) v.geoip.push_back({i.path, i.type, i.build_epoch});
  v.uptime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - rt.started()).count();
  if (const QueryLog* ql = srv.query_log()) {
    v.query_log = true;
    v.query_log_lines = ql->lines();
    v.query_log_dropped = ql->dropped();
  }
  if (const Frontend* fe = srv.frontend()) {
    const RrlStats r = sum(fe->rrl_stats());
    v.rrl_enabled = fe->config().rrl.enabled;
    v.rrl_dropped = r.dropped;
    v.rrl_slipped = r.slipped;
  }
  v.version = MERIDIAN_VERSION;
  return {MHD_HTTP_OK, render_metrics(v), "text/plain; version=0.0.4; charset=utf-8"};
}

Reply route(AdminServer& srv, MHD_Connection* c, const std::string& method, const std::string& url) {
  Runtime& rt = srv.runtime();
  if (method == "GET" && url == "/metrics") return metrics(srv);
  if (method == "GET" && url == "/status") return status(rt, srv.frontend());
  if (method == "GET" && url == "/health") return health();
  if (method == "POST" && url.rfind("/health/", 0) == 0) return set_state(rt, url.substr(8));
  if (method == "POST" && url == "/reload") return reload(rt, "");
  if (method == "POST" && url.rfind("/reload/", 0) == 0 && url.size() > 8) return reload(rt, url.substr(8));
  if (method == "GET" && url == "/explain") return explain(rt, c);
  return error_reply(MHD_HTTP_NOT_FOUND, method + " " + url + ": no such endpoint");
}

MHD_Result send_reply(MHD_Connection* c, const Reply& r, bool challenge = false) {
  MHD_Response* resp = MHD_create_response_from_buffer(r.body.size(), const_cast<char*>(r.body.data()),
                                                       MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(resp, "Content-Type", r.type);
  if (challenge) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"meridian\"");
  MHD_Result ret = MHD_queue_response(c, r.status, resp);
  MHD_destroy_response(resp);
  return ret;
}

// "Bearer TOKEN" (scheme case-insensitive, RFC 6750), compared in constant
// time so response timing does not reveal how much of a guess was right.
bool token_matches(const char* header, const std::string& token) {
  if (!header || strncasecmp(header, "Bearer ", 7) != 0) return false;
  std::string_view given(header + 7);
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  if (given.size() != token.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < token.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ token[i]);
  return diff == 0;
}

MHD_Result handle(void* cls, MHD_Connection* c, const char* url, const char* method, const char*, const char*,
                  size_t* upload_size, void** state) {
  static int first_call_marker;
  auto& admin = *static_cast<AdminServer*>(cls);
  if (*state == nullptr) {  // headers only so far: check the token before reading a body
    *state = &first_call_marker;
    const std::string& token = admin.runtime().config().admin_token;
    if (!token.empty() &&
        !token_matches(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION), token))
      return send_reply(c, error_reply(MHD_HTTP_UNAUTHORIZED, "missing or wrong bearer token"), true);
    return MHD_YES;
  }
  if (*upload_size != 0) {  // bodies are not used: discard
    *upload_size = 0;
    return MHD_YES;
  }
  return send_reply(c, route(admin, c, method, url));
}

// Runs on accept, before libmicrohttpd reads a byte: sources outside the
// allow list are disconnected, not answered.
MHD_Result accept_policy(void* cls, const sockaddr* addr, socklen_t) {
  IpAddr a;
  return ip_from_sockaddr(addr, a) && any_contains(*static_cast<const std::vector<Cidr>*>(cls), a) ? MHD_YES : MHD_NO;
}

}  // namespace

AdminServer::~AdminServer() {
  if (daemon_) MHD_stop_daemon(daemon_);
}

bool AdminServer::start(const std::string& listen, std::string& bound, std::string& error) {
  sockaddr_storage addr;
  if (!parse_listen_address(listen, addr, error)) return false;
  IpAddr ip;
  if (!ip_from_sockaddr(reinterpret_cast<const sockaddr*>(&addr), ip) ||
      (!is_loopback(ip) && rt_.config().admin_token.empty())) {
    error = "admin listen address " + listen + " is not loopback: set [admin] token or token_file (and allow)";
    return false;
  }
  const bool v6 = addr.ss_family == AF_INET6;
  const uint16_t port = ntohs(v6 ? reinterpret_cast<sockaddr_in6&>(addr).sin6_port
                                 : reinterpret_cast<sockaddr_in&>(addr).sin_port);
  daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | (v6 ? MHD_USE_IPv6 : 0), port, &accept_policy,
                             &rt_.config().admin_allow, &handle, this, MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&addr),
                             MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
  if (!daemon_) {
    error = "cannot start the admin endpoint on " + listen;
    return false;
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
  const std::string host = listen.substr(0, listen.rfind(':'));
  bound = host + ":" + std::to_string(info ? info->port : port);
  return true;
}

}  // namespace meridian
