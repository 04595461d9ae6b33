#pragma once
// Helpers for unit tests of zone loading and routing policies: zone texts
// built on a fixed head, load errors, RRset lookups, selections, and clients
// with a preset location. (Wire-level helpers are in dns_test_util.hpp.)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "geo/client.hpp"
#include "geo/location.hpp"
#include "zones/diagnostic.hpp"
#include "zones/health.hpp"
#include "zones/policy.hpp"
#include "zones/rdata.hpp"
#include "zones/toml_loader.hpp"

namespace meridian::test {

// A minimal valid zone for example.com., lines 1-10; tests append
// [records.*] tables from line 11 and assert line numbers relative to it, so
// the text must not change.
inline const std::string kHead = R"(origin = "example.com."
ttl = 300
[soa]
mname = "ns1"
rname = "hostmaster.example.com."
serial = 1
[records.ns1]
A = "192.0.2.1"
[records."@"]
NS = "ns1"
)";

// A zone of `origin` with an SOA and an apex NS pointing at ns1 inside the
// zone, lines 1-7, without an address for ns1 (append one for a valid zone).
std::string bare_zone(const std::string& origin);

// example.com. in wire form, and `text` completed with it, in wire form.
extern const std::string kOrigin;
std::string wire(const std::string& text);

// Every diagnostic as "file:line:col: message", one a line (for INFO).
std::string all_errors(const Diagnostics& d);

// Which errors has_error() looks at: all of them (the default), or only those
// located in `file`, and with `with_column` only those that have a column.
struct ErrorScope {
  std::string_view file;
  bool with_column = false;
};

// True when some error in `scope` is on `line` and its message contains `text`.
bool has_error(const Diagnostics& d, std::uint32_t line, const std::string& text, ErrorScope scope = {});

struct Loaded {
  ZonePtr zone;
  const RRset* rs = nullptr;
};

// Loads kHead + `text` as `file` and returns the RRset of `owner` (relative
// to example.com.) and `type`; fails the test, with the load errors, when the
// zone does not load or has no such RRset.
Loaded load_rrset_as(const std::string& file, const std::string& text, const std::string& owner,
                     std::uint16_t type = rrtype::A);
// The same, and the RRset must have a routing policy.
Loaded load_policy_rrset(const std::string& file, const std::string& text, const std::string& owner,
                         std::uint16_t type = rrtype::A);

// Sets the state of a health check in HealthRegistry::global().
void set(const std::string& check, HealthState s);

// Runs rs.policy->select() on an output preset to wrong values (count 77,
// degraded), which select() must all overwrite.
PolicyOutput run_policy(const RRset& rs, const PolicyInput& in);

// One selection as text: count and degraded from the output; `value` (the
// answer in presentation form) is filled in by each test's pick().
struct Pick {
  explicit Pick(const PolicyOutput& out) : degraded(out.degraded), count(out.count) {}
  std::string value;
  bool degraded = false;
  std::uint16_t count = 0;
};

// A policy trace that keeps its lines.
struct Lines : PolicyTrace {
  std::vector<std::string> lines;
  void note(std::string_view l) override { lines.emplace_back(l); }
  std::string all() const;
};

// Copies a code into a fixed Location field, always terminated.
template <std::size_t N>
void code(char (&dst)[N], const char* src) {
  const std::size_t n = std::min(std::strlen(src), N - 1);
  std::memcpy(dst, src, n);
  dst[n] = 0;
}

// A location as a GeoIP database would give it.
Location where(const char* continent, const char* country, std::vector<const char*> subs = {},
               std::uint32_t asn = 0, std::uint8_t prefix = 24);
// `l` with the coordinates of a City database.
Location with_coords(Location l, double lat, double lon);

// A client at `addr` (IPv4 or IPv6 text) with source prefix `source` (0:
// the packet source, /32 or /128) and a preset location.
ClientInfo client(const char* addr, const Location& loc, std::uint8_t source = 0);

// The first ```toml block after `heading` in docs/zone-format.md.
std::string doc_toml_example(const std::string& heading);

}  // namespace meridian::test
