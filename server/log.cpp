#include "server/log.hpp"

#include <atomic>
#include <cstdio>
#include <ctime>

namespace meridian::log {

namespace {
std::atomic<Level> g_level{Level::Info};
const char* name(Level l) {
  switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    default: return "error";
  }
}
}  // namespace

void set_level(Level l) { g_level = l; }
bool enabled(Level l) { return l >= g_level.load(std::memory_order_relaxed); }

void write(Level l, std::string_view msg) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  // One fprintf per line so lines from several threads do not interleave.
  std::fprintf(stderr, "%s meridian[%s]: %.*s\n", ts, name(l), static_cast<int>(msg.size()), msg.data());
}

}  // namespace meridian::log
