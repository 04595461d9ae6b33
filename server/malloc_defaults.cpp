#include "server/malloc_defaults.hpp"

#include <malloc.h>

#include <cstdlib>

namespace meridian {

bool malloc_defaults_wanted() { return std::getenv("GLIBC_TUNABLES") == nullptr; }

bool apply_malloc_defaults() {
  if (!malloc_defaults_wanted()) return false;
  return mallopt(M_MMAP_THRESHOLD, kMallocMmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, kMallocTrimThreshold) == 1;
}

}  // namespace meridian
