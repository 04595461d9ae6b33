#pragma once
// glibc malloc settings for large zone loads when the environment gives
// none. The packaged unit and the container image set GLIBC_TUNABLES
// (docs/packaging.md); a server started from a shell, or by a supervisor
// of the operator's own, has no such variable, and with glibc's defaults
// every large buffer of a load is a mapping of its own, faulted in page by
// page and unmapped again (docs/performance.md, "Zone load without the
// unit's variable").

namespace meridian {

// The values of packaging/meridian.service.in's GLIBC_TUNABLES
// (unit test: they stay the same).
inline constexpr int kMallocMmapThreshold = 32 << 20;  // the most glibc accepts
inline constexpr int kMallocTrimThreshold = 1 << 30;

// Whether the environment leaves malloc to us: GLIBC_TUNABLES unset. An
// operator's own variable, even an empty one, is left alone.
bool malloc_defaults_wanted();

// When wanted: the unit's mmap and trim thresholds through mallopt(3), so
// that buffers up to 32 MiB come from the heap and freed memory stays
// there for the next load (the server returns it with malloc_trim after
// each load). Its third setting, huge pages for the heap, exists only as a
// tunable, read when the process starts. Returns whether malloc took them
// (false when not wanted, or under a sanitizer's allocator). Call before
// any thread starts.
bool apply_malloc_defaults();

}  // namespace meridian
