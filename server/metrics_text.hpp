#pragma once
// Prometheus text exposition format 0.0.4: what GET /metrics returns.
// The admin endpoint gathers a MetricsView (counters summed over workers,
// health, reloads, GeoIP, uptime) and render_metrics() writes it; kept apart
// from the HTTP code so the format is unit-tested on its own.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/metrics.hpp"

namespace meridian {

struct MetricsView {
  MetricTotals totals;
  std::vector<std::string> zone_names;  // by metric slot (zone_metric_slot_names())
  struct Check {
    std::string name;
    bool up;
    std::uint64_t transitions;
  };
  std::vector<Check> checks;
  std::uint64_t reloads = 0;
  std::uint64_t reload_failures = 0;
  std::int64_t last_reload_ok_unix = 0;  // 0: never
  struct GeoDb {
    std::string path, type;
    std::uint64_t build_epoch;
  };
  std::vector<GeoDb> geoip;
  double uptime_seconds = 0;
  std::uint64_t tcp_connections = 0;
  bool query_log = false;  // the query log is on: report its counters
  std::uint64_t query_log_lines = 0;
  std::uint64_t query_log_dropped = 0;
  bool rrl_enabled = false;  // response rate limiting on: report its counters
  std::uint64_t rrl_dropped = 0;
  std::uint64_t rrl_slipped = 0;
  std::string version;
};

std::string render_metrics(const MetricsView& v);

// Writes families and samples. Label values are escaped (backslash, double
// quote, newline), HELP text too (backslash, newline).
class PromText {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, std::uint64_t value);
  void sample(std::string_view name, const Labels& labels, double value);
  std::string take() { return std::move(out_); }

 private:
  void name_and_labels(std::string_view name, const Labels& labels);
  std::string out_;
};

std::string prom_escape_label(std::string_view v);

}  // namespace meridian
