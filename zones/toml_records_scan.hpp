#pragma once
// A streaming reader for the plain form of a zone's [records] tables:
//
//   [records.www]                    # or [records."_sip._tcp"], [records.a.b]
//   A = "192.0.2.1"                  # or 'literal', or ["one", "two"] on one line
//
// Why not toml++ alone: for a 1,000,000-record zone toml++'s document tree
// takes ~6 s and 440 MB (bench/zone_load.py, docs/performance.md "Zone
// load"), several times what NSD or Knot need for the whole load. Large
// zones are almost entirely this form, so the loader parses the head of the
// file (origin, soa, pools, checks) with toml++ and this region with the
// scanner, which keeps no tree: each value goes straight to the builder.
// The scanner accepts a strict subset of TOML and gives up (returns false)
// at anything else (escapes, multi-line values, inline tables, dotted keys,
// non-ASCII bytes...); the loader then parses the whole file with toml++
// as before, so files outside the subset, and every error message, are
// exactly what they were.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace meridian {

class RecordsScanSink {
 public:
  virtual ~RecordsScanSink() = default;
  // A table header [records.K1.K2...]: `keys` are K1, K2... (quotes removed).
  virtual bool table(const std::vector<std::string_view>& keys, std::uint32_t line) = 0;
  // One string of `KEY = "v"` or `KEY = ["v", ...]`; `col` is the opening quote's (1-based).
  virtual bool value(std::string_view key, std::string_view text, std::uint32_t line, std::uint32_t col) = 0;
  // Called once per key line, before its values.
  virtual bool key(std::string_view key, std::uint32_t line, std::uint32_t col) = 0;
};

// Offset of the first line that opens a [records...] table; npos when none.
std::size_t find_records_region(std::string_view text);

// Reads `region` (a file's tail, whose first line is line `first_line`).
// False at the first line outside the plain form, or when the sink says so.
bool scan_records_region(std::string_view region, std::uint32_t first_line, RecordsScanSink& sink);

}  // namespace meridian
