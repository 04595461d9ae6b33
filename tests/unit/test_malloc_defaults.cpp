// apply_malloc_defaults: the mallopt values a server started without
// GLIBC_TUNABLES gets are the packaged unit's, and an operator's own
// variable (even an empty one) is left alone. Its effect on a load, fewer
// page faults, is tests/e2e/test_malloc_defaults.py.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "server/malloc_defaults.hpp"

using namespace meridian;

namespace {

// The value of `name` in the unit's Environment=GLIBC_TUNABLES= line, or
// -1. (Plain string search: <regex> trips GCC 12's maybe-uninitialized
// warning in the sanitizer build.)
long unit_tunable(const std::string& name) {
  std::ifstream unit(std::string(MERIDIAN_SOURCE_DIR) + "/packaging/meridian.service.in");
  const std::string prefix = "Environment=GLIBC_TUNABLES=";
  std::string line;
  while (std::getline(unit, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::stringstream items(line.substr(prefix.size()));
    std::string item;
    while (std::getline(items, item, ':'))
      if (item.rfind(name + "=", 0) == 0) return std::stol(item.substr(name.size() + 1));
  }
  return -1;
}

// Sets or unsets GLIBC_TUNABLES for one scope.
struct TunablesEnv {
  std::string saved;
  bool had;
  explicit TunablesEnv(const char* value) : had(std::getenv("GLIBC_TUNABLES") != nullptr) {
    if (had) saved = std::getenv("GLIBC_TUNABLES");
    if (value) setenv("GLIBC_TUNABLES", value, 1);
    else unsetenv("GLIBC_TUNABLES");
  }
  ~TunablesEnv() {
    if (had) setenv("GLIBC_TUNABLES", saved.c_str(), 1);
    else unsetenv("GLIBC_TUNABLES");
  }
};

}  // namespace

TEST_CASE("malloc defaults are the packaged unit's thresholds") {
  CHECK(unit_tunable("glibc.malloc.mmap_threshold") == kMallocMmapThreshold);
  CHECK(unit_tunable("glibc.malloc.trim_threshold") == kMallocTrimThreshold);
}

TEST_CASE("malloc defaults apply only without GLIBC_TUNABLES") {
  {
    TunablesEnv env("glibc.malloc.arena_max=4");
    CHECK_FALSE(malloc_defaults_wanted());
    CHECK_FALSE(apply_malloc_defaults());
  }
  {
    TunablesEnv env("");  // set, if empty: the operator's choice
    CHECK_FALSE(malloc_defaults_wanted());
  }
  {
    TunablesEnv env(nullptr);
    CHECK(malloc_defaults_wanted());
#ifndef __SANITIZE_ADDRESS__  // ASan's allocator replaces glibc's and ignores mallopt
    CHECK(apply_malloc_defaults());
#endif
  }
}
