#pragma once
// Minimal leveled logging to stderr (the service manager collects it).
#include <fmt/core.h>

#include <string_view>

namespace meridian::log {

enum class Level { Debug, Info, Warn, Error };
void set_level(Level l);
bool enabled(Level l);
void write(Level l, std::string_view msg);

template <typename... A>
void info(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Info)) write(Level::Info, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void warn(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Warn)) write(Level::Warn, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void error(fmt::format_string<A...> f, A&&... a) {
  write(Level::Error, fmt::format(f, std::forward<A>(a)...));
}

}  // namespace meridian::log
