#pragma once
// Health-check definitions ([checks.NAME] in the server configuration or in
// a zone file, docs/health-checks.md): what to probe, how often, and the
// thresholds. Read here with file:line:col diagnostics, validated as a set
// (unknown children, cycles of calculated checks, one name defined twice
// differently), and handed to the health checker (server/health_checker.*)
// that runs them. No I/O here: usable by `meridian check` and tests.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <vector>

#include "zones/diagnostic.hpp"
#include "zones/health.hpp"

namespace meridian {

class Policy;

enum class CheckType : std::uint8_t { Manual, Tcp, Http, Https, Dns, File, All, Any, AtLeast };

std::string_view check_type_name(CheckType t);  // "manual", "tcp", ..., "at_least"
std::optional<CheckType> check_type_from_text(std::string_view s);
inline bool is_probe(CheckType t) {
  return t == CheckType::Tcp || t == CheckType::Http || t == CheckType::Https || t == CheckType::Dns ||
         t == CheckType::File;
}
inline bool is_calculated(CheckType t) { return t == CheckType::All || t == CheckType::Any || t == CheckType::AtLeast; }

// Defaults (docs/health-checks.md).
inline constexpr std::uint32_t kDefaultIntervalMs = 10000;
inline constexpr std::uint32_t kDefaultTimeoutMs = 2000;  // capped at interval / 2
inline constexpr std::uint32_t kMinIntervalMs = 100;
inline constexpr std::uint32_t kMaxIntervalMs = 3600 * 1000;
inline constexpr std::uint32_t kMinTimeoutMs = 10;
inline constexpr unsigned kDefaultRise = 2, kDefaultFall = 3;  // HAProxy's defaults
inline constexpr std::size_t kHttpBodyLimit = 5 * 1024;        // expect_body looks at this much

struct CheckSpec {
  std::string name;
  CheckType type = CheckType::Manual;
  SourceLoc loc;       // the [checks.NAME] key; not part of the definition
  std::string base_dir;  // directory of the defining file (relative `path`, `ca_file`); not compared

  HealthState state = HealthState::Up;  // manual: the state

  // Probes.
  std::uint32_t interval_ms = kDefaultIntervalMs;
  std::uint32_t timeout_ms = kDefaultTimeoutMs;
  unsigned rise = kDefaultRise;
  unsigned fall = kDefaultFall;
  HealthState initial = HealthState::Up;
  bool invert = false;  // probes and calculated checks

  std::string address;  // tcp: "192.0.2.30:5432"; dns: the server, "192.0.2.53" or "192.0.2.53:53"
  std::string url;      // http, https
  std::string host;     // http, https: Host header and TLS server name (SNI and verification)
  std::vector<int> expect_status;  // empty: 200..399
  std::string expect_body;         // substring of the first kHttpBodyLimit bytes; empty: any
  bool insecure = false;           // https: no certificate verification
  std::string ca_file;             // https: CA bundle for verification (absolute after reading)
  std::string query;               // dns: name to ask (absolute, text)
  std::uint16_t query_type = 1;    // dns: A
  std::uint8_t expect_rcode = 0;   // dns: NOERROR
  std::string expect_answer;       // dns: rdata text that must be in the answer section
  bool dns_tcp_only = false;       // dns: transport = "tcp" (default "udp": UDP, TCP after a TC=1 reply)
  std::string path;                // file (absolute after reading)

  std::vector<std::string> children;  // all, any, at_least
  std::vector<SourceLoc> child_locs;  // where each child is named; not compared
  unsigned n = 1;                     // at_least

  // Every field that defines the check (not name, loc, base_dir), as one
  // string: two specs are the same definition when these are equal.
  std::string canonical() const;
  // What is probed, for humans: "http://127.0.0.1:8080/ (Host api.example.com)",
  // "127.0.0.1:5432", "2 of app-1, app-2", "state down".
  std::string target() const;
  bool same_definition(const CheckSpec& o) const { return type == o.type && canonical() == o.canonical(); }
};

// "200ms", "10s", "1m", "1h" or an integer number of seconds -> ms.
std::optional<std::uint32_t> parse_duration_ms(std::string_view text);
std::string format_duration(std::uint32_t ms);  // 200 -> "200ms", 10000 -> "10s", 60000 -> "1m"

// Reads a [checks] table. `file` is for diagnostics and for resolving
// relative paths. Valid specs are appended to `out`; every problem goes to
// `errors`.
void read_check_table(const std::string& file, const toml::node& checks, std::vector<CheckSpec>& out,
                      Diagnostics& errors);

// Checks a file's specs as a set: cycles through calculated checks; with
// `resolve`, children that neither `local` nor `outer` (the server
// configuration's checks, when given) define. A local spec whose name
// `outer` defines differently is an error too.
void validate_check_set(const std::vector<CheckSpec>& local, const std::vector<CheckSpec>* outer, bool resolve,
                        Diagnostics& errors);
// The spec named `name` in `specs`, or null.
const CheckSpec* find_check(const std::vector<CheckSpec>& specs, std::string_view name);

// What a zone tells the health subsystem: its checks, which names each
// check steers, and every policy RRset that reads checks (for fail-open
// reporting). Immutable once the zone is built.
struct ZoneHealth {
  std::vector<CheckSpec> checks;
  std::map<std::string, std::vector<std::string>, std::less<>> steers;  // check -> "api.example.com. A", ...
  struct PolicyUse {
    std::string label;                      // "api.example.com. A"
    std::shared_ptr<const Policy> policy;
    std::vector<std::string> checks;        // the checks its targets (and pools) read
  };
  std::vector<PolicyUse> policies;
};

}  // namespace meridian
