#include "server/config.hpp"

#include <filesystem>
#include <set>
#include <toml++/toml.h>

namespace meridian {

namespace {

SourceLoc loc_of(const std::string& file, const toml::node& n) {
  return {file, static_cast<std::uint32_t>(n.source().begin.line), static_cast<std::uint32_t>(n.source().begin.column)};
}

// Reads an integer key within [lo, hi] into `out`, reporting type/range errors.
template <typename T>
void read_int(const std::string& file, const toml::table& t, const char* key, std::int64_t lo, std::int64_t hi,
              T& out, Diagnostics& errors) {
  const toml::node* n = t.get(key);
  if (!n) return;
  auto v = n->value<std::int64_t>();
  if (!v || !n->is_integer()) {
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

// [checks.NAME] state = "up" | "down" (manual states until probes exist).
void read_checks(const std::string& file, const toml::node& node, ServerConfig& cfg, Diagnostics& errors) {
  const toml::table* checks = node.as_table();
  if (!checks) {
    errors.push_back({loc_of(file, node), "'checks' must be a table of named checks ([checks.NAME])"});
    return;
  }
  for (auto&& [k, v] : *checks) {
    const std::string name(k.str());
    const toml::table* t = v.as_table();
    if (!t) {
      errors.push_back({loc_of(file, v), "check '" + name + "' must be a table such as { state = \"down\" }"});
      continue;
    }
    for (auto&& [ck, cv] : *t)
      if (ck.str() != "state")
        errors.push_back({loc_of(file, cv), "unknown key 'checks." + name + "." + std::string(ck.str()) + "'"});
    const toml::node* state = t->get("state");
    const std::optional<HealthState> hs =
        state && state->is_string() ? health_state_from_text(*state->value<std::string>()) : std::nullopt;
    if (!state)
      errors.push_back({loc_of(file, v), "check '" + name + "' needs state = \"up\" or \"down\""});
    else if (!hs)
      errors.push_back({loc_of(file, *state), "'state' must be \"up\" or \"down\""});
    else
      cfg.checks.emplace_back(name, *hs);
  }
}

}  // namespace

bool load_config(const std::string& path, ServerConfig& cfg, Diagnostics& errors) {
  const std::size_t before = errors.size();
  cfg.file = path;
  cfg.checks.clear();
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
    if (k.str() != "server" && k.str() != "checks")
      errors.push_back({loc_of(path, v), "unknown section '" + std::string(k.str()) + "'"});

  if (const toml::table* s = root["server"].as_table()) {
    static const std::set<std::string> known{"listen", "zones", "identity", "version", "threads", "udp_payload",
                                             "tcp_idle_timeout", "tcp_max_connections"};
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
    if (cfg.answer.identity.size() > 255)
      errors.push_back({loc_of(path, *s->get("identity")), "'identity' is longer than 255 octets"});
  }

  if (const toml::node* c = root.get("checks")) read_checks(path, *c, cfg, errors);

  namespace fs = std::filesystem;
  fs::path zones(cfg.zones_dir);
  if (zones.is_relative()) cfg.zones_dir = (fs::path(path).parent_path() / zones).lexically_normal().string();
  if (errors.size() != before) return false;
  for (const auto& [name, state] : cfg.checks) HealthRegistry::global().set(name, state);
  return true;
}

}  // namespace meridian
