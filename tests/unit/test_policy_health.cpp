// The health registry that policies read, and manual check states from the
// server configuration.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

#include "server/config.hpp"
#include "zones/health.hpp"

using namespace meridian;

TEST_CASE("health registry: cells are stable, new checks start up, set/get/list") {
  HealthRegistry reg;  // a private one; the server uses HealthRegistry::global()
  const std::atomic<std::uint8_t>* a = reg.cell("a");
  REQUIRE(a);
  CHECK(health_up(a));
  CHECK(health_up(nullptr));  // no check: up
  CHECK(reg.get("a") == HealthState::Up);
  CHECK_FALSE(reg.get("never"));
  for (int i = 0; i < 5000; ++i) reg.cell("c" + std::to_string(i));  // grows the deque
  CHECK(reg.cell("a") == a);                                          // same cell, same address
  reg.set("a", HealthState::Down);
  CHECK_FALSE(health_up(a));
  CHECK(a->load() == static_cast<std::uint8_t>(HealthState::Down));
  reg.set("b", HealthState::Down);  // set registers too
  CHECK(reg.get("b") == HealthState::Down);
  auto all = reg.list();
  CHECK(all.size() == 5002);
  CHECK((all[0].name == "a" && all[0].state == HealthState::Down));
  CHECK((all[1].name == "b" && all[1].state == HealthState::Down));
  CHECK(&HealthRegistry::global() == &HealthRegistry::global());
  CHECK(health_state_from_text("up") == HealthState::Up);
  CHECK(health_state_from_text("down") == HealthState::Down);
  CHECK_FALSE(health_state_from_text("Down"));
  CHECK(health_state_name(HealthState::Down) == "down");
}

TEST_CASE("health registry: concurrent writers and readers of a cell") {
  HealthRegistry reg;
  const auto* c = reg.cell("flap");
  std::thread writer([&] {
    for (int i = 0; i < 20000; ++i) reg.set("flap", i % 2 ? HealthState::Up : HealthState::Down);
    reg.set("flap", HealthState::Up);
  });
  std::thread registrar([&] {
    for (int i = 0; i < 2000; ++i) reg.cell("other" + std::to_string(i));
  });
  int seen = 0;
  for (int i = 0; i < 20000; ++i) seen += health_up(c);
  writer.join();
  registrar.join();
  CHECK(seen <= 20000);
  CHECK(health_up(c));  // the writer's last state
  CHECK(reg.cell("flap") == c);
}

namespace {

struct TempConfig {
  std::filesystem::path path;
  explicit TempConfig(const std::string& text) {
    path = std::filesystem::temp_directory_path() /
           ("meridian-test-config-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".toml");
    std::ofstream(path) << text;
  }
  ~TempConfig() { std::filesystem::remove(path); }
  static inline int counter = 0;
};

bool has_error(const Diagnostics& d, std::uint32_t line, const std::string& text) {
  for (const auto& e : d)
    if (e.loc.line == line && e.message.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("config: [checks] states are stored and applied to the global registry") {
  TempConfig f("[server]\n"
               "threads = 1\n"
               "[checks.cfg-eu]\n"
               "state = \"down\"\n"
               "[checks.cfg-us]\n"
               "state = \"up\"\n");
  ServerConfig cfg;
  Diagnostics errors;
  REQUIRE(load_config(f.path.string(), cfg, errors));
  REQUIRE(cfg.checks.size() == 2);
  CHECK(cfg.checks[0].name == "cfg-eu");
  CHECK(cfg.checks[0].type == CheckType::Manual);
  CHECK(cfg.checks[0].state == HealthState::Down);
  CHECK(HealthRegistry::global().get("cfg-eu") == HealthState::Down);
  CHECK(HealthRegistry::global().get("cfg-us") == HealthState::Up);
}

TEST_CASE("config: bad [checks] entries are errors at their line, and nothing is applied") {
  TempConfig f("[checks.cfg-x]\n"         // 1
               "state = \"off\"\n"         // 2
               "[checks.cfg-y]\n"         // 3
               "state = \"down\"\n"        // 4
               "interval = 5\n"           // 5
               "[checks.cfg-z]\n"         // 6
               "[checks.cfg-w]\n"         // 7
               "state = \"down\"\n");      // 8
  ServerConfig cfg;
  Diagnostics errors;
  CHECK_FALSE(load_config(f.path.string(), cfg, errors));
  std::string all;
  for (const auto& e : errors) all += e.str() + "\n";
  INFO(all);
  CHECK(has_error(errors, 2, "'state' must be \"up\" or \"down\""));
  CHECK(has_error(errors, 5, "unknown key 'interval' in check 'cfg-y' (expected state; give 'type' for a probe)"));
  CHECK(has_error(errors, 6, "check 'cfg-z' needs type = ("));
  CHECK(errors.size() == 3);
  CHECK_FALSE(HealthRegistry::global().get("cfg-w"));  // not applied: the file has errors

  TempConfig g("checks = 3\n");
  Diagnostics e2;
  CHECK_FALSE(load_config(g.path.string(), cfg, e2));
  CHECK(has_error(e2, 1, "'checks' must be a table"));
}

TEST_CASE("health registry: admin overrides win over configuration until auto") {
  HealthRegistry reg;
  const auto* eu = reg.cell("api-eu");
  reg.cell("api-us");
  reg.cell("db");
  auto hit = reg.set_override("api-*", HealthState::Down);
  CHECK(hit == std::vector<std::string>{"api-eu", "api-us"});
  CHECK_FALSE(health_up(eu));
  reg.set("api-eu", HealthState::Up);  // configuration (later: a probe) says up
  CHECK_FALSE(health_up(eu));          // the override still wins
  CHECK(reg.get("db") == HealthState::Up);
  reg.set_override("api-eu", std::nullopt);  // auto
  CHECK(health_up(eu));
  auto all = reg.list();
  CHECK((all[1].name == "api-us" && all[1].override == HealthState::Down && all[1].configured == HealthState::Up));
}
