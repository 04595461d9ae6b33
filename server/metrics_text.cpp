#include "server/metrics_text.hpp"

#include <fmt/format.h>

namespace meridian {

std::string prom_escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

namespace {
std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}
}  // namespace

void PromText::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type);
}

void PromText::name_and_labels(std::string_view name, const Labels& labels) {
  out_ += name;
  if (labels.empty()) return;
  out_ += '{';
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i) out_ += ',';
    out_ += labels[i].first;
    out_ += "=\"";
    out_ += prom_escape_label(labels[i].second);
    out_ += '"';
  }
  out_ += '}';
}

void PromText::sample(std::string_view name, const Labels& labels, std::uint64_t value) {
  name_and_labels(name, labels);
  out_ += fmt::format(" {}\n", value);
}

void PromText::sample(std::string_view name, const Labels& labels, double value) {
  name_and_labels(name, labels);
  out_ += fmt::format(" {}\n", value);  // shortest form that reads back exactly
}

std::string render_metrics(const MetricsView& v) {
  PromText p;
  const MetricTotals& t = v.totals;
  static constexpr std::string_view kTransportName[kTransports] = {"udp", "tcp"};

  p.family("meridian_build_info", "gauge", "Always 1; the version label says which build runs.");
  p.sample("meridian_build_info", {{"version", v.version}}, std::uint64_t{1});
  p.family("meridian_uptime_seconds", "gauge", "Seconds since the server started.");
  p.sample("meridian_uptime_seconds", {}, v.uptime_seconds);

  p.family("meridian_queries_total", "counter",
           "Answered queries by zone, transport, qtype, rcode and the routing policy that chose the answer.");
  for (unsigned z = 0; z < kZoneSlotCount; ++z) {
    std::string_view zone = z == kZoneSlotNone ? "none" : z == kZoneSlotOther ? "other"
                            : z < v.zone_names.size()  ? std::string_view(v.zone_names[z])
                                                       : "other";
    for (unsigned tr = 0; tr < kTransports; ++tr)
      for (unsigned q = 0; q < kQtypeSlots; ++q)
        for (unsigned r = 0; r < kRcodeSlots; ++r)
          for (unsigned pk = 0; pk < kPolicyKinds; ++pk)
            if (std::uint64_t n = t.queries[query_cell(z, tr, q, r, pk)])
              p.sample("meridian_queries_total",
                       {{"zone", zone},
                        {"transport", kTransportName[tr]},
                        {"qtype", qtype_slot_name(q)},
                        {"rcode", rcode_slot_name(r)},
                        {"policy", policy_kind_name(static_cast<PolicyKind>(pk))}},
                       n);
  }

  p.family("meridian_responses_truncated_total", "counter", "Responses sent with TC set (the client should retry over TCP).");
  for (unsigned tr = 0; tr < kTransports; ++tr)
    p.sample("meridian_responses_truncated_total", {{"transport", kTransportName[tr]}}, t.truncated[tr]);
  p.family("meridian_ecs_queries_total", "counter", "Queries carrying a well-formed EDNS Client Subnet option.");
  p.sample("meridian_ecs_queries_total", {}, t.ecs);
  p.family("meridian_malformed_queries_total", "counter", "Queries answered FORMERR because they could not be parsed.");
  p.sample("meridian_malformed_queries_total", {}, t.malformed);
  p.family("meridian_dropped_total", "counter",
           "Queries not answered: unparseable (too short to echo, or a response), or answers the socket refused.");
  for (unsigned r = 0; r < kDropReasons; ++r)
    p.sample("meridian_dropped_total", {{"reason", drop_reason_name(r)}}, t.dropped[r]);

  p.family("meridian_answer_duration_seconds", "histogram",
           "Time to parse a query and write its answer (socket I/O excluded).");
  std::uint64_t cumulative = 0;
  for (unsigned b = 0; b < kLatencyBuckets; ++b) {
    cumulative += t.latency[b];
    p.sample("meridian_answer_duration_seconds_bucket", {{"le", latency_bound_label(b)}}, cumulative);
  }
  p.sample("meridian_answer_duration_seconds_sum", {}, double(t.latency_sum_ns) / 1e9);
  p.sample("meridian_answer_duration_seconds_count", {}, cumulative);

  p.family("meridian_tcp_connections", "gauge", "TCP connections open now.");
  p.sample("meridian_tcp_connections", {}, v.tcp_connections);

  p.family("meridian_health_check_up", "gauge", "Effective state of each health check: 1 up, 0 down.");
  for (const auto& c : v.checks) p.sample("meridian_health_check_up", {{"check", c.name}}, std::uint64_t{c.up});
  p.family("meridian_health_check_transitions_total", "counter",
           "Changes of each check's effective state since start (an initial down state counts as one).");
  for (const auto& c : v.checks)
    p.sample("meridian_health_check_transitions_total", {{"check", c.name}}, c.transitions);

  p.family("meridian_reloads_total", "counter", "Zone loads, the one at start-up included.");
  p.sample("meridian_reloads_total", {}, v.reloads);
  p.family("meridian_reload_failures_total", "counter",
           "Zone loads that reported an error (the broken zones kept their previous version).");
  p.sample("meridian_reload_failures_total", {}, v.reload_failures);
  p.family("meridian_last_successful_reload_timestamp_seconds", "gauge",
           "Unix time of the last zone load without errors; 0 if none.");
  p.sample("meridian_last_successful_reload_timestamp_seconds", {}, std::uint64_t(v.last_reload_ok_unix));

  p.family("meridian_geoip_database_build_timestamp_seconds", "gauge",
           "Build time of each GeoIP database, from its metadata (Unix seconds).");
  for (const auto& d : v.geoip)
    p.sample("meridian_geoip_database_build_timestamp_seconds", {{"path", d.path}, {"type", d.type}}, d.build_epoch);

  if (v.rrl_enabled) {
    p.family("meridian_rrl_dropped_total", "counter", "UDP responses dropped by response rate limiting.");
    p.sample("meridian_rrl_dropped_total", {}, v.rrl_dropped);
    p.family("meridian_rrl_slipped_total", "counter",
             "Rate-limited UDP responses sent truncated (TC=1) instead, so real clients retry over TCP.");
    p.sample("meridian_rrl_slipped_total", {}, v.rrl_slipped);
  }
  if (v.query_log) {
    p.family("meridian_query_log_lines_total", "counter", "Query log lines written (after sampling).");
    p.sample("meridian_query_log_lines_total", {}, v.query_log_lines);
    p.family("meridian_query_log_dropped_total", "counter",
             "Sampled query log lines dropped because the writer fell behind (the query path never waits).");
    p.sample("meridian_query_log_dropped_total", {}, v.query_log_dropped);
  }
  return p.take();
}

}  // namespace meridian
