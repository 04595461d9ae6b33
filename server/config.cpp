#include "server/config.hpp"

#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>
#include <toml++/toml.h>

namespace meridian {

namespace {

std::string resolve(const std::string& config_path, const std::string& p);

SourceLoc loc_of(const std::string& file, const toml::node& n) {
  return {file, static_cast<std::uint32_t>(n.source().begin.line), static_cast<std::uint32_t>(n.source().begin.column)};
}

// Reads an integer key within [lo, hi] into `out`, reporting type/range errors.
template <typename T>
void read_int(const std::string& file, const toml::table& t, const char* key, std::int64_t lo, std::int64_t hi,
              T& out, Diagnostics& errors) {
  const toml::node* n = t.get(key);
  if (!n) return;
  // as_integer(), not value<int64_t>(): the latter also converts floats,
  // and a float beyond int64 (`3e30`) is undefined behaviour inside toml++
  // (found by fuzz_config).
  const auto* i = n->as_integer();
  const std::optional<std::int64_t> v = i ? std::optional<std::int64_t>(i->get()) : std::nullopt;
  if (!v) {
    errors.push_back({loc_of(file, *n), std::string("'") + key + "' must be an integer"});
  } else if (*v < lo || *v > hi) {
    errors.push_back({loc_of(file, *n), std::string("'") + key + "' must be between " + std::to_string(lo) +
                                            " and " + std::to_string(hi)});
  } else {
    out = static_cast<T>(*v);
  }
}

void read_string(const std::string& file, const toml::table& t, const char* key, std::string& out,
                 Diagnostics& errors) {
  const toml::node* n = t.get(key);
  if (!n) return;
  if (auto v = n->value<std::string>(); v && n->is_string()) out = *v;
  else errors.push_back({loc_of(file, *n), std::string("'") + key + "' must be a string"});
}

void read_bool(const std::string& file, const toml::table& t, const char* key, bool& out, Diagnostics& errors) {
  const toml::node* n = t.get(key);
  if (!n) return;
  if (auto v = n->value<bool>(); v && n->is_boolean()) out = *v;
  else errors.push_back({loc_of(file, *n), std::string("'") + key + "' must be true or false"});
}

// Seconds as an integer or a decimal ("0.5"), stored in milliseconds.
void read_seconds_ms(const std::string& file, const toml::table& t, const char* key, double lo, double hi,
                     unsigned& out_ms, Diagnostics& errors) {
  const toml::node* n = t.get(key);
  if (!n) return;
  auto v = n->value<double>();
  if (!v || !(n->is_integer() || n->is_floating_point()) || !std::isfinite(*v) || *v < lo || *v > hi) {
    std::ostringstream m;
    m << "'" << key << "' must be a number of seconds from " << lo << " to " << hi;
    errors.push_back({loc_of(file, *n), m.str()});
    return;
  }
  out_ms = static_cast<unsigned>(std::lround(*v * 1000));
}

// An array of networks ("192.0.2.0/24", "2001:db8::/32", bare addresses).
void read_cidrs(const std::string& file, const toml::table& t, const char* key, std::vector<Cidr>& out,
                Diagnostics& errors) {
  const toml::node* n = t.get(key);
  if (!n) return;
  const toml::array* arr = n->as_array();
  if (!arr) {
    errors.push_back({loc_of(file, *n), std::string("'") + key + "' must be an array of networks like \"192.0.2.0/24\""});
    return;
  }
  out.clear();
  for (const auto& e : *arr) {
    std::string error;
    if (auto* str = e.as_string()) {
      if (auto c = parse_cidr(str->get(), error)) out.push_back(*c);
      else errors.push_back({loc_of(file, e), std::string("'") + key + "': " + error});
    } else {
      errors.push_back({loc_of(file, e), std::string("'") + key + "' entries must be strings like \"192.0.2.0/24\""});
    }
  }
}

// [rrl]: docs/hardening.md#response-rate-limiting.
void read_rrl(const std::string& file, const toml::table& t, RrlConfig& rrl, Diagnostics& errors) {
  static const std::set<std::string> known{"enabled",     "responses_per_second", "slip", "window", "ipv4_prefix",
                                           "ipv6_prefix", "table_size",           "exempt"};
  for (auto&& [k, v] : t)
    if (!known.count(std::string(k.str())))
      errors.push_back({loc_of(file, v), "unknown key 'rrl." + std::string(k.str()) + "'"});
  read_bool(file, t, "enabled", rrl.enabled, errors);
  read_int(file, t, "responses_per_second", 1, 100000, rrl.responses_per_second, errors);
  read_int(file, t, "slip", 0, 10, rrl.slip, errors);
  read_int(file, t, "window", 1, 3600, rrl.window, errors);
  read_int(file, t, "ipv4_prefix", 8, 32, rrl.ipv4_prefix, errors);
  read_int(file, t, "ipv6_prefix", 16, 128, rrl.ipv6_prefix, errors);
  read_int(file, t, "table_size", 1024, 1 << 24, rrl.table_size, errors);
  read_cidrs(file, t, "exempt", rrl.exempt, errors);
}

// RFC 6750 b64token: what may follow "Bearer " without quoting.
bool valid_token(const std::string& t) {
  if (t.size() < 16) return false;
  std::size_t i = 0;
  while (i < t.size() && (std::isalnum(static_cast<unsigned char>(t[i])) || std::strchr("-._~+/", t[i]))) ++i;
  while (i < t.size() && t[i] == '=') ++i;
  return i == t.size();
}

// True when `listen` ("127.0.0.1:9153", "[::1]:9153") is a loopback address;
// an unparsable one is left to the admin endpoint, which reports it.
bool listen_is_loopback(const std::string& listen) {
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string error;
  auto c = parse_cidr(host, error);
  return !c || is_loopback(c->net);
}

void read_admin(const std::string& path, const toml::table& t, ServerConfig& cfg, Diagnostics& errors) {
  static const std::set<std::string> known{"listen", "state_file", "token", "token_file", "allow"};
  for (auto&& [k, v] : t)
    if (!known.count(std::string(k.str())))
      errors.push_back({loc_of(path, v), "unknown key 'admin." + std::string(k.str()) + "'"});
  read_string(path, t, "listen", cfg.admin_listen, errors);
  std::string state_file;
  read_string(path, t, "state_file", state_file, errors);
  if (!state_file.empty()) cfg.state_file = resolve(path, state_file);
  read_cidrs(path, t, "allow", cfg.admin_allow, errors);

  std::string token, token_file;
  read_string(path, t, "token", token, errors);
  read_string(path, t, "token_file", token_file, errors);
  if (t.get("token") && t.get("token_file")) {
    errors.push_back({loc_of(path, *t.get("token_file")), "give either 'token' or 'token_file', not both"});
  } else if (const toml::node* n = t.get("token_file"); n && !token_file.empty()) {
    std::ifstream in(resolve(path, token_file));
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in) {
      errors.push_back({loc_of(path, *n), "cannot read token_file '" + resolve(path, token_file) + "'"});
    } else {
      token = ss.str();
      while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
      if (!valid_token(token))
        errors.push_back({loc_of(path, *n), "the token in '" + resolve(path, token_file) +
                                                "' must be at least 16 characters of A-Z a-z 0-9 - . _ ~ + / (and = at the end)"});
    }
  } else if (const toml::node* n = t.get("token"); n && n->is_string() && !valid_token(token)) {
    errors.push_back({loc_of(path, *n), "'token' must be at least 16 characters of A-Z a-z 0-9 - . _ ~ + / (and = at the end)"});
  }
  cfg.admin_token = token;
  if (const toml::node* l = t.get("listen"); l && !cfg.admin_listen.empty() && cfg.admin_token.empty() &&
                                             !listen_is_loopback(cfg.admin_listen))
    errors.push_back({loc_of(path, *l), "admin listen address " + cfg.admin_listen +
                                            " is not loopback: set [admin] token or token_file (and allow)"});
}

// [checks.NAME]: docs/health-checks.md. Children of calculated checks
// must be checks of this file.
void read_checks(const std::string& file, const toml::node& node, ServerConfig& cfg, Diagnostics& errors) {
  read_check_table(file, node, cfg.checks, errors);
  validate_check_set(cfg.checks, nullptr, true, errors);
}

std::string resolve(const std::string& config_path, const std::string& p) {
  namespace fs = std::filesystem;
  fs::path path(p);
  if (path.is_relative()) path = fs::path(config_path).parent_path() / path;
  return path.lexically_normal().string();
}

void read_geoip(const std::string& file, const toml::table& g, ServerConfig& cfg, Diagnostics& errors) {
  for (auto&& [k, v] : g)
    if (k.str() != "databases" && k.str() != "latency_table")
      errors.push_back({loc_of(file, v), "unknown key 'geoip." + std::string(k.str()) + "'"});
  if (const toml::node* d = g.get("databases")) {
    const toml::array* arr = d->as_array();
    if (!arr) errors.push_back({loc_of(file, *d), "'databases' must be an array of file names"});
    for (std::size_t i = 0; arr && i < arr->size(); ++i) {
      if (auto* str = (*arr)[i].as_string()) cfg.geoip_databases.push_back(resolve(file, str->get()));
      else errors.push_back({loc_of(file, (*arr)[i]), "database entries must be file names (strings)"});
    }
  }
  std::string table;
  read_string(file, g, "latency_table", table, errors);
  if (!table.empty()) cfg.latency_table = resolve(file, table);
}

void read_regions(const std::string& file, const toml::node& node, ServerConfig& cfg, Diagnostics& errors) {
  const toml::table* regions = node.as_table();
  if (!regions) {
    errors.push_back({loc_of(file, node), "'regions' must be a table of named regions ([regions.NAME])"});
    return;
  }
  for (auto&& [k, v] : *regions) {
    const toml::table* r = v.as_table();
    const std::string name(k.str());
    if (!r) {
      errors.push_back({loc_of(file, v), "region '" + name + "' must be a table with lat and lon"});
      continue;
    }
    Region reg{name, 0, 0};
    bool ok = true;
    for (auto [key, lo, hi, out] : {std::tuple{"lat", -90.0, 90.0, &reg.lat}, std::tuple{"lon", -180.0, 180.0, &reg.lon}}) {
      const toml::node* n = r->get(key);
      auto val = n ? n->value<double>() : std::nullopt;
      if (!val || *val < lo || *val > hi) {
        errors.push_back({loc_of(file, n ? *n : v), "region '" + name + "': '" + key + "' must be a number in [" +
                                                        std::to_string(int(lo)) + ", " + std::to_string(int(hi)) + "]"});
        ok = false;
      } else {
        *out = *val;
      }
    }
    for (auto&& [rk, rv] : *r)
      if (rk.str() != "lat" && rk.str() != "lon")
        errors.push_back({loc_of(file, rv), "unknown key 'regions." + name + "." + std::string(rk.str()) + "'"});
    if (ok) cfg.regions.push_back(reg);
  }
}

// [query_log]: docs/configuration.md.
void read_query_log(const std::string& file, const toml::node& node, ServerConfig& cfg, Diagnostics& errors) {
  const toml::table* t = node.as_table();
  if (!t) {
    errors.push_back({loc_of(file, node), "'query_log' must be a table"});
    return;
  }
  for (auto&& [k, v] : *t)
    if (k.str() != "enabled" && k.str() != "sample" && k.str() != "file")
      errors.push_back({loc_of(file, v), "unknown key 'query_log." + std::string(k.str()) + "'"});
  if (const toml::node* e = t->get("enabled")) {
    if (auto b = e->value<bool>(); b && e->is_boolean()) cfg.query_log.enabled = *b;
    else errors.push_back({loc_of(file, *e), "'enabled' must be true or false"});
  }
  read_int(file, *t, "sample", 1, 1000000000, cfg.query_log.sample, errors);
  std::string out;
  read_string(file, *t, "file", out, errors);
  if (!out.empty()) cfg.query_log.file = resolve(file, out);
}

}  // namespace

namespace {
// [reload] watch = true, debounce = "250ms": reload when files change.
void read_reload(const std::string& path, const toml::node& n, ServerConfig& cfg, Diagnostics& errors) {
  const toml::table* t = n.as_table();
  if (!t) {
    errors.push_back({loc_of(path, n), "'reload' must be a table"});
    return;
  }
  for (auto&& [k, v] : *t) {
    if (k.str() == "watch") {
      // value<bool>() also converts integers (watch = 5 would read as true).
      if (auto b = v.value<bool>(); b && v.is_boolean()) cfg.watch_files = *b;
      else errors.push_back({loc_of(path, v), "'reload.watch' must be true or false"});
    } else if (k.str() == "debounce") {
      auto ms = v.is_string() ? parse_duration_ms(v.as_string()->get()) : std::nullopt;
      if (ms && *ms <= 60000) cfg.watch_debounce_ms = *ms;
      else errors.push_back({loc_of(path, v), "'reload.debounce' must be a duration up to 1m, like \"250ms\""});
    } else {
      errors.push_back({loc_of(path, v), "unknown key 'reload." + std::string(k.str()) + "'"});
    }
  }
}
}  // namespace

bool load_config(const std::string& path, ServerConfig& cfg, Diagnostics& errors) {
  const std::size_t before = errors.size();
  cfg.file = path;
  cfg.checks.clear();
  cfg.state_file.clear();
  cfg.geoip_databases.clear();
  cfg.regions.clear();
  cfg.query_log = QueryLogConfig{};
  cfg.admin_token.clear();
  cfg.admin_allow = loopback_networks();
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    std::string msg(e.description());
    if (!b.line) msg = "cannot read config: " + msg;
    errors.push_back({{path, static_cast<std::uint32_t>(b.line), static_cast<std::uint32_t>(b.column)}, msg});
    return false;
  }
  for (auto&& [k, v] : root)
    if (k.str() != "server" && k.str() != "checks" && k.str() != "geoip" && k.str() != "regions" && k.str() != "admin" &&
        k.str() != "reload" && k.str() != "query_log" && k.str() != "rrl")
      errors.push_back({loc_of(path, v), "unknown section '" + std::string(k.str()) + "'"});

  if (const toml::table* s = root["server"].as_table()) {
    static const std::set<std::string> known{"listen", "zones", "identity", "version", "threads", "udp_payload",
                                             "tcp_idle_timeout", "tcp_max_connections", "user", "group",
                                             "allow_root", "tcp_max_connections_per_client", "tcp_query_timeout",
                                             "tcp_max_queries_per_connection", "tcp_max_pending_output",
                                             "udp_receive_buffer", "udp_send_buffer", "socket_affinity",
                                             "pin_workers"};
    for (auto&& [k, v] : *s)
      if (!known.count(std::string(k.str())))
        errors.push_back({loc_of(path, v), "unknown key 'server." + std::string(k.str()) + "'"});
    if (const toml::node* l = s->get("listen")) {
      cfg.listen.clear();
      if (auto* one = l->as_string()) cfg.listen.push_back(one->get());
      else if (auto* arr = l->as_array()) {
        for (auto& e : *arr) {
          if (auto* str = e.as_string()) cfg.listen.push_back(str->get());
          else errors.push_back({loc_of(path, e), "listen entries must be strings like \"127.0.0.1:53\""});
        }
      } else {
        errors.push_back({loc_of(path, *l), "'listen' must be a string or an array of strings"});
      }
    }
    read_string(path, *s, "zones", cfg.zones_dir, errors);
    read_string(path, *s, "identity", cfg.answer.identity, errors);
    read_string(path, *s, "version", cfg.answer.version, errors);
    read_int(path, *s, "threads", 0, 256, cfg.threads, errors);
    read_int(path, *s, "udp_payload", 512, 4096, cfg.answer.udp_payload, errors);
    unsigned idle_s = cfg.tcp_idle_timeout_ms / 1000;
    read_int(path, *s, "tcp_idle_timeout", 1, 3600, idle_s, errors);
    cfg.tcp_idle_timeout_ms = idle_s * 1000;
    read_int(path, *s, "tcp_max_connections", 1, 1000000, cfg.tcp_max_connections, errors);
    read_string(path, *s, "user", cfg.user, errors);
    read_string(path, *s, "group", cfg.group, errors);
    read_bool(path, *s, "allow_root", cfg.allow_root, errors);
    read_bool(path, *s, "socket_affinity", cfg.socket_affinity, errors);
    read_bool(path, *s, "pin_workers", cfg.pin_workers, errors);
    // Whether the user exists is checked by `serve` only: `check` must
    // accept a config written for another machine (a container image).
    if (!cfg.group.empty() && cfg.user.empty())
      errors.push_back({loc_of(path, *s->get("group")), "'group' needs 'user' (the user to switch to)"});
    read_int(path, *s, "tcp_max_connections_per_client", 1, 1000000, cfg.tcp_max_connections_per_client, errors);
    read_seconds_ms(path, *s, "tcp_query_timeout", 0.05, 3600, cfg.tcp_query_timeout_ms, errors);
    read_int(path, *s, "tcp_max_queries_per_connection", 1, 1000000000, cfg.tcp_max_queries_per_connection, errors);
    read_int(path, *s, "tcp_max_pending_output", 4096, 1 << 30, cfg.tcp_max_pending_output, errors);
    read_int(path, *s, "udp_receive_buffer", 0, 1 << 30, cfg.udp_receive_buffer, errors);
    read_int(path, *s, "udp_send_buffer", 0, 1 << 30, cfg.udp_send_buffer, errors);
    cfg.udp_buffers_set = s->get("udp_receive_buffer") || s->get("udp_send_buffer");
    if (cfg.answer.identity.size() > 255)
      errors.push_back({loc_of(path, *s->get("identity")), "'identity' is longer than 255 octets"});
  } else if (const toml::node* n = root.get("server")) {
    // `server = 5` must not pass as a config with every default.
    errors.push_back({loc_of(path, *n), "'server' must be a table ([server])"});
  }

  if (const toml::node* c = root.get("checks")) read_checks(path, *c, cfg, errors);
  if (const toml::node* g = root.get("geoip")) {
    if (auto* t = g->as_table()) read_geoip(path, *t, cfg, errors);
    else errors.push_back({loc_of(path, *g), "'geoip' must be a table"});
  }
  if (const toml::node* r = root.get("regions")) read_regions(path, *r, cfg, errors);
  if (const toml::node* a = root.get("admin")) {
    if (auto* t = a->as_table()) read_admin(path, *t, cfg, errors);
    else errors.push_back({loc_of(path, *a), "'admin' must be a table"});
  }
  if (const toml::node* r = root.get("rrl")) {
    if (auto* t = r->as_table()) read_rrl(path, *t, cfg.rrl, errors);
    else errors.push_back({loc_of(path, *r), "'rrl' must be a table"});
  }

  if (const toml::node* r = root.get("reload")) read_reload(path, *r, cfg, errors);
  if (const toml::node* q = root.get("query_log")) read_query_log(path, *q, cfg, errors);

  cfg.zones_dir = resolve(path, cfg.zones_dir);
  if (errors.size() != before) return false;
  for (const auto& c : cfg.checks)
    if (c.type == CheckType::Manual) HealthRegistry::global().set(c.name, c.state);
  return true;
}

}  // namespace meridian
