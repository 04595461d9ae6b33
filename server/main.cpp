// meridian: the command line. Subcommands: serve, check, import, explain, ctl.
#include <CLI/CLI.hpp>
#include <curl/curl.h>

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>

#include "server/admin.hpp"
#include "server/ctl.hpp"
#include "server/explain.hpp"
#include "server/file_watcher.hpp"
#include "server/frontend.hpp"
#include "server/log.hpp"
#include "server/malloc_defaults.hpp"
#include "server/notify.hpp"
#include "server/privileges.hpp"
#include "server/runtime.hpp"
#include "version.hpp"
#include "zones/rfc1035_import.hpp"

using namespace meridian;

namespace {

void print_errors(const Diagnostics& errs) {
  for (const auto& d : errs) std::fprintf(stderr, "%s\n", d.str().c_str());
}

void log_zones(const ZoneSet& zones) {
  for (const auto& z : zones.zones)
    log::info("serving zone {} serial {} ({} records) from {}", z->origin_text, z->serial, z->record_count, z->file);
}

int cmd_serve(const std::string& config_path, const std::vector<std::string>& listen, unsigned threads,
              const std::string& admin_override, bool allow_root) {
  Runtime rt;
  Diagnostics errs;
  if (!rt.load_config(config_path, errs)) {
    print_errors(errs);
    return 1;
  }
  ServerConfig& cfg = rt.config();
  if (!listen.empty()) cfg.listen = listen;
  if (threads) cfg.threads = threads;
  if (!admin_override.empty()) cfg.admin_listen = admin_override;
  // Before anything else is opened: a refused start leaves nothing behind.
  PrivilegePlan privileges;
  if (std::string why; !plan_privileges(cfg, allow_root, privileges, why)) {
    log::error("{}", why);
    return 2;
  }
  if (geteuid() == 0 && !privileges.switch_user) log::warn("running as root (allow_root)");
  if (cfg.answer.geo)
    for (const auto& i : cfg.answer.geo->info()) log::info("geoip database {} ({})", i.path, i.type);

  rt.load_zones(errs);
  for (const auto& d : errs) log::error("{}", d.str());
  ZoneSetPtr zones = rt.box().get();
  log_zones(*zones);
  if (zones->zones.empty()) log::warn("no zones loaded from {}: every query will be REFUSED", cfg.zones_dir);
  rt.restore_overrides();

  // Declared in this order so they are destroyed in reverse: the admin
  // endpoint (which reads the others) stops first, then the front end's
  // workers, then what they wrote into.
  Metrics metrics;
  std::unique_ptr<QueryLog> query_log;
  if (cfg.query_log.enabled) {
    query_log = std::make_unique<QueryLog>(cfg.query_log);
    std::string error;
    if (!query_log->start(error)) {
      log::error("{}", error);
      return 1;
    }
    log::info("query log: 1 in {} queries to {}", cfg.query_log.sample,
              cfg.query_log.file.empty() ? "stderr" : cfg.query_log.file);
  }

  Frontend fe(cfg, rt.box());
  fe.metrics = &metrics;
  fe.query_log = query_log.get();
  metrics.tcp_connections.store(&fe.tcp_connections, std::memory_order_release);

  AdminServer admin(rt);
  admin.observe(&metrics, query_log.get());
  admin.set_frontend(&fe);
  if (!cfg.admin_listen.empty()) {
    std::string bound, error;
    if (!admin.start(cfg.admin_listen, bound, error)) {
      log::error("admin: {}", error);
      return 1;
    }
    log::info("admin endpoint on http://{}", bound);
  }

  std::string error;
  if (!fe.open(error)) {
    log::error("cannot listen: {}", error);
    return 1;
  }
  // Everything that needs root is open (listeners, admin endpoint, config,
  // GeoIP, zones, state file): switch user before any probe or query runs.
  if (privileges.switch_user) {
    if (!drop_privileges(privileges, error)) {
      log::error("cannot switch to user {}: {}", privileges.user, error);
      return 2;
    }
    log::info("switched to user {} (uid {}, gid {})", privileges.user, privileges.uid, privileges.gid);
    // Reloads (SIGHUP) read the zones as this user from now on.
    if (access(cfg.zones_dir.c_str(), R_OK | X_OK) != 0)
      log::warn("user {} cannot read {}: reloads will fail", privileges.user, cfg.zones_dir);
    if (!cfg.state_file.empty()) {
      const std::string dir = std::filesystem::path(cfg.state_file).parent_path().string();
      if (access(dir.empty() ? "." : dir.c_str(), W_OK | X_OK) != 0)
        log::warn("user {} cannot write {}: admin overrides will not be saved", privileges.user, dir);
    }
  }
  if (cfg.rrl.enabled)
    log::info("response rate limiting: {} responses/s per client prefix and worker, slip {}, window {}s",
              cfg.rrl.responses_per_second, cfg.rrl.slip, cfg.rrl.window);
  // Health checks run on their own thread and loop, off the query path.
  if (!rt.start_health(error)) {
    log::error("{}", error);
    return 1;
  }
  auto reload_zones = [&rt](const char* why) {
    log::info("{}: reloading zones from {}", why, rt.config().zones_dir);
    notify::reloading();
    Diagnostics rerrs;
    rt.load_zones(rerrs);
    for (const auto& d : rerrs) log::error("{}", d.str());
    log_zones(*rt.box().get());
    notify::ready();
  };
  // Edits on disk reload by themselves ([reload] watch, default on).
  std::unique_ptr<FileWatcher> watcher;
  if (cfg.watch_files) {
    watcher = std::make_unique<FileWatcher>(uv_default_loop(), cfg.watch_debounce_ms,
                                            [&](const FileWatcher::Changes& c) {
                                              if (c.geoip) {
                                                Diagnostics gerrs;
                                                rt.reload_geoip(gerrs);
                                                for (const auto& d : gerrs) log::error("{}", d.str());
                                              }
                                              if (c.zones) reload_zones("zone files changed");
                                            });
    std::string werr;
    bool ok = watcher->watch_zones(cfg.zones_dir, werr);
    for (const auto& db : cfg.geoip_databases) ok = ok && watcher->watch_file(db, werr);
    if (!ok) log::warn("{}; edits need SIGHUP or `meridian ctl reload`", werr);
  }
  fe.run([&] { reload_zones("SIGHUP"); }, notify::ready, notify::stopping);
  return 0;
}

int cmd_check(const std::string& config_path) {
  Runtime rt;
  Diagnostics errs;
  if (rt.load_config(config_path, errs)) rt.load_zones(errs);
  if (ZoneSetPtr zones = rt.box().get())
    for (const auto& z : zones->zones)
      std::printf("%s: ok, serial %u, %zu records, %zu names (%s)\n", z->origin_text.c_str(), z->serial,
                  z->record_count, z->nodes.size(), z->file.c_str());
  print_errors(errs);
  if (!errs.empty()) {
    std::fprintf(stderr, "%zu error(s)\n", errs.size());
    return 1;
  }
  return 0;
}

int cmd_import(const std::string& file, const std::string& origin) {
  std::string toml, error;
  if (!import_rfc1035(file, origin, toml, error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  std::fwrite(toml.data(), 1, toml.size(), stdout);
  return 0;
}

int cmd_explain(const std::string& config_path, const std::string& name, const std::string& type,
                const std::string& client) {
  Runtime rt;
  Diagnostics errs;
  if (!rt.load_config(config_path, errs)) {
    print_errors(errs);
    return 1;
  }
  rt.load_zones(errs);
  print_errors(errs);
  std::string report, error;
  if (!explain_query(rt, name, type, client, report, error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  std::fputs(report.c_str(), stdout);
  return 0;
}

int cmd_ctl(const std::string& config_path, bool config_given, std::string admin, const std::string& token_file,
            const std::vector<std::string>& words, bool json) {
  std::string token;
  // The config gives the address (unless --admin does) and the token.
  if (admin.empty() || config_given) {
    ServerConfig cfg;
    Diagnostics errs;
    if (!load_config(config_path, cfg, errs)) {
      print_errors(errs);
      return 1;
    }
    if (admin.empty()) admin = cfg.admin_listen;
    token = cfg.admin_token;
    if (admin.empty()) {
      std::fprintf(stderr, "%s has no [admin] listen address%s; give --admin ADDR\n", config_path.c_str(),
                   config_given ? "" : " (the default config)");
      return 1;
    }
  }
  if (!token_file.empty()) {
    std::FILE* f = std::fopen(token_file.c_str(), "r");
    if (!f) {
      std::fprintf(stderr, "cannot read %s\n", token_file.c_str());
      return 1;
    }
    char buf[4096];
    token.assign(buf, std::fread(buf, 1, sizeof buf, f));
    std::fclose(f);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  }
  return run_ctl(admin, token, words, json);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Meridian: an authoritative GeoDNS server"};
  app.set_version_flag("--version", std::string("meridian ") + MERIDIAN_VERSION);
  app.require_subcommand(1);

  std::string config = "/etc/meridian/meridian.toml";
  std::vector<std::string> listen;
  unsigned threads = 0;
  std::string admin;
  auto* serve = app.add_subcommand("serve", "Serve the configured zones in the foreground (logs to stderr)");
  serve->add_option("-c,--config", config, "Server configuration file")->capture_default_str();
  serve->add_option("--listen", listen, "Listen address (repeatable), overrides server.listen; port 0 picks a free port");
  serve->add_option("--threads", threads, "Worker threads (default: server.threads, else one per core)");
  serve->add_option("--admin", admin, "Admin endpoint address, overrides admin.listen (not loopback: needs a token)");
  bool allow_root = false;
  serve->add_flag("--allow-root", allow_root,
                  "Run as root on purpose (containers); without it root needs [server] user to switch to");

  auto* check = app.add_subcommand("check", "Validate the configuration and every zone; exit 1 on any error");
  check->add_option("-c,--config", config, "Server configuration file")->capture_default_str();

  std::string import_file, origin;
  auto* import = app.add_subcommand("import", "Convert an RFC 1035 zone file to Meridian TOML on stdout");
  import->add_option("FILE", import_file, "Zone file in RFC 1035 master format")->required();
  import->add_option("--origin", origin, "Zone origin, e.g. example.com.")->required();

  std::string ex_name, ex_type = "A", ex_client;
  auto* explain = app.add_subcommand("explain", "Show which records a client gets for a name, and why");
  explain->add_option("NAME", ex_name, "Query name")->required();
  explain->add_option("TYPE", ex_type, "Query type")->capture_default_str();
  explain->add_option("--client", ex_client, "Client address (as packet source and as ECS)")->required();
  explain->add_option("-c,--config", config, "Server configuration file")->capture_default_str();

  std::vector<std::string> ctl_words;
  bool ctl_json = false;
  auto* ctl = app.add_subcommand("ctl", "Talk to a running server: status | health | reload | state NAME up|down|auto "
                                        "| explain NAME TYPE CLIENT");
  auto* ctl_config = ctl->add_option("-c,--config", config, "Server configuration file (for [admin] listen)");
  ctl->add_option("--admin", admin, "Admin endpoint address, e.g. 127.0.0.1:9153");
  std::string ctl_token_file;
  ctl->add_option("--token-file", ctl_token_file, "File holding the admin bearer token (default: from the config)");
  ctl->add_flag("--json", ctl_json, "Print the endpoint's JSON");
  ctl->add_option("COMMAND", ctl_words, "Command and arguments")->required();

  CLI11_PARSE(app, argc, argv);
  apply_malloc_defaults();                // before any zone is read or thread started
  curl_global_init(CURL_GLOBAL_DEFAULT);  // once, before any thread (HTTP checks, ctl)
  if (*serve) return cmd_serve(config, listen, threads, admin, allow_root);
  if (*check) return cmd_check(config);
  if (*import) return cmd_import(import_file, origin);
  if (*explain) return cmd_explain(config, ex_name, ex_type, ex_client);
  if (*ctl) return cmd_ctl(config, ctl_config->count() > 0, admin, ctl_token_file, ctl_words, ctl_json);
  return 2;
}
