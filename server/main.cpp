// meridian: the command line. Subcommands: serve, check, import.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "server/config.hpp"
#include "server/frontend.hpp"
#include "server/log.hpp"
#include "version.hpp"
#include "zones/rfc1035_import.hpp"
#include "zones/zone_set.hpp"

using namespace meridian;

namespace {

void print_errors(const Diagnostics& errs) {
  for (const auto& d : errs) std::fprintf(stderr, "%s\n", d.str().c_str());
}

bool load_config_or_report(const std::string& path, const std::vector<std::string>& listen_override,
                           ServerConfig& cfg) {
  Diagnostics errs;
  if (!load_config(path, cfg, errs)) {
    print_errors(errs);
    return false;
  }
  if (!listen_override.empty()) cfg.listen = listen_override;
  return true;
}

int cmd_serve(const std::string& config_path, const std::vector<std::string>& listen, unsigned threads) {
  ServerConfig cfg;
  if (!load_config_or_report(config_path, listen, cfg)) return 1;
  if (threads) cfg.threads = threads;
  Diagnostics errs;
  ZoneSetPtr zones = load_zone_dir(cfg.zones_dir, errs);
  for (const auto& d : errs) log::error("{}", d.str());
  for (const auto& z : zones->zones)
    log::info("loaded zone {} serial {} ({} records) from {}", z->origin_text, z->serial, z->record_count, z->file);
  if (zones->zones.empty()) log::warn("no zones loaded from {}: every query will be REFUSED", cfg.zones_dir);

  SnapshotBox box;
  box.publish(zones);
  Frontend fe(cfg, box);
  std::string error;
  if (!fe.open(error)) {
    log::error("cannot listen: {}", error);
    return 1;
  }
  const std::string dir = cfg.zones_dir;
  fe.run([&box, dir] {
    log::info("SIGHUP: reloading zones from {}", dir);
    Diagnostics rerrs;
    ZoneSetPtr prev = box.get();
    ZoneSetPtr next = load_zone_dir(dir, rerrs, prev.get());
    for (const auto& d : rerrs) log::error("{}", d.str());
    for (const auto& z : next->zones) log::info("serving zone {} serial {}", z->origin_text, z->serial);
    box.publish(std::move(next));
  });
  return 0;
}

int cmd_check(const std::string& config_path) {
  ServerConfig cfg;
  if (!load_config_or_report(config_path, {}, cfg)) return 1;
  Diagnostics errs;
  ZoneSetPtr zones = load_zone_dir(cfg.zones_dir, errs);
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Meridian: an authoritative GeoDNS server"};
  app.set_version_flag("--version", std::string("meridian ") + MERIDIAN_VERSION);
  app.require_subcommand(1);

  std::string config = "/etc/meridian/meridian.toml";
  std::vector<std::string> listen;
  unsigned threads = 0;
  auto* serve = app.add_subcommand("serve", "Serve the configured zones in the foreground (logs to stderr)");
  serve->add_option("-c,--config", config, "Server configuration file")->capture_default_str();
  serve->add_option("--listen", listen, "Listen address (repeatable), overrides server.listen; port 0 picks a free port");
  serve->add_option("--threads", threads, "Worker threads (default: server.threads, else one per core)");

  auto* check = app.add_subcommand("check", "Validate the configuration and every zone; exit 1 on any error");
  check->add_option("-c,--config", config, "Server configuration file")->capture_default_str();

  std::string import_file, origin;
  auto* import = app.add_subcommand("import", "Convert an RFC 1035 zone file to Meridian TOML on stdout");
  import->add_option("FILE", import_file, "Zone file in RFC 1035 master format")->required();
  import->add_option("--origin", origin, "Zone origin, e.g. example.com.")->required();

  CLI11_PARSE(app, argc, argv);
  if (*serve) return cmd_serve(config, listen, threads);
  if (*check) return cmd_check(config);
  if (*import) return cmd_import(import_file, origin);
  return 2;
}
