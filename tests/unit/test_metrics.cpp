// Metrics: the Prometheus text writer (escaping, HELP/TYPE, cumulative
// histogram buckets), per-worker blocks summed on scrape, and what the
// answer path records for each kind of query.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <set>
#include <sstream>

#include "dns_test_util.hpp"
#include "server/metrics.hpp"
#include "server/metrics_text.hpp"
#include "zone_test_util.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {

// Every line of `text` that starts with `prefix`.
std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
  return out;
}

// A query with an ECS option for 198.51.100.0/24 (family 1).
std::vector<std::uint8_t> ecs_query(const std::string& name) {
  std::vector<std::uint8_t> q = make_query(name, LDNS_RR_TYPE_A, 0);
  q[11] = 1;  // ARCOUNT
  q.insert(q.end(), {0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 11, 0, 8, 0, 7, 0, 1, 24, 0, 198, 51, 100});
  return q;
}

std::uint64_t cell(const MetricTotals& t, std::uint16_t zone, Transport tr, std::uint16_t qtype, std::uint16_t rcode,
                   PolicyKind p) {
  return t.queries[query_cell(zone, static_cast<unsigned>(tr), qtype_slot(qtype), rcode_slot(rcode),
                              static_cast<unsigned>(p))];
}

}  // namespace

TEST_CASE("label values are escaped: backslash, double quote, newline") {
  CHECK(prom_escape_label("plain.example.") == "plain.example.");
  CHECK(prom_escape_label("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  PromText p;
  p.family("x_total", "counter", "Help with a \\ and a\nnewline.");
  p.sample("x_total", {{"check", "we\"ird\\name"}, {"zone", "z."}}, std::uint64_t{5});
  CHECK(p.take() ==
        "# HELP x_total Help with a \\\\ and a\\nnewline.\n"
        "# TYPE x_total counter\n"
        "x_total{check=\"we\\\"ird\\\\name\",zone=\"z.\"} 5\n");
}

TEST_CASE("histogram buckets are cumulative and end with +Inf = count") {
  MetricsView v;
  v.totals.latency[0] = 2;                    // <= 1us
  v.totals.latency[3] = 5;                    // <= 10us
  v.totals.latency[kLatencyBuckets - 1] = 1;  // > 10ms
  v.totals.latency_sum_ns = 1500000000;       // 1.5 s
  const std::string text = render_metrics(v);
  auto b = lines_starting(text, "meridian_answer_duration_seconds_bucket");
  REQUIRE(b.size() == kLatencyBuckets);
  CHECK(b[0] == "meridian_answer_duration_seconds_bucket{le=\"1e-06\"} 2");
  CHECK(b[2] == "meridian_answer_duration_seconds_bucket{le=\"5e-06\"} 2");
  CHECK(b[3] == "meridian_answer_duration_seconds_bucket{le=\"1e-05\"} 7");
  CHECK(b[9] == "meridian_answer_duration_seconds_bucket{le=\"0.01\"} 7");
  CHECK(b[10] == "meridian_answer_duration_seconds_bucket{le=\"+Inf\"} 8");
  CHECK(lines_starting(text, "meridian_answer_duration_seconds_count") ==
        std::vector<std::string>{"meridian_answer_duration_seconds_count 8"});
  CHECK(lines_starting(text, "meridian_answer_duration_seconds_sum") ==
        std::vector<std::string>{"meridian_answer_duration_seconds_sum 1.5"});
  CHECK(lines_starting(text, "# TYPE meridian_answer_duration_seconds ") ==
        std::vector<std::string>{"# TYPE meridian_answer_duration_seconds histogram"});
  // Bounds increase: Prometheus rejects a histogram whose `le` go down.
  for (unsigned i = 1; i + 1 < kLatencyBuckets; ++i)
    CHECK(std::stod(std::string(latency_bound_label(i))) > std::stod(std::string(latency_bound_label(i - 1))));
  CHECK(std::stod(std::string(latency_bound_label(kLatencyBuckets - 2))) * 1e9 ==
        doctest::Approx(double(kLatencyBoundsNs[kLatencyBuckets - 2])));
}

TEST_CASE("every family has exactly one HELP and one TYPE line, before its samples") {
  MetricsView v;
  v.checks = {{"app-1", true, 0}, {"app-2", false, 3}};
  v.geoip = {{"/x/country.mmdb", "Meridian-Country", 1700000000}};
  v.query_log = true;
  v.totals.queries[query_cell(kZoneSlotNone, 0, 0, 5, 0)] = 1;
  const std::string text = render_metrics(v);
  std::set<std::string> seen;
  std::istringstream in(text);
  std::string current;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# HELP ", 0) == 0) {
      current = line.substr(7, line.find(' ', 7) - 7);
      CHECK_MESSAGE(seen.insert(current).second, "HELP twice for " << current);
    } else if (line.rfind("# TYPE ", 0) == 0) {
      CHECK(line.substr(7, current.size()) == current);
    } else {
      CHECK_MESSAGE(line.rfind(current, 0) == 0, "sample '" << line << "' outside its family " << current);
    }
  }
  CHECK(text.find("meridian_health_check_up{check=\"app-2\"} 0\n") != std::string::npos);
  CHECK(text.find("meridian_health_check_transitions_total{check=\"app-2\"} 3\n") != std::string::npos);
  CHECK(text.find("meridian_geoip_database_build_timestamp_seconds{path=\"/x/country.mmdb\",type=\"Meridian-Country\"} "
                  "1700000000\n") != std::string::npos);
  CHECK(text.find("meridian_queries_total{zone=\"none\",transport=\"udp\",qtype=\"A\",rcode=\"REFUSED\",policy=\"none\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("meridian_query_log_dropped_total 0\n") != std::string::npos);
}

TEST_CASE("per-worker blocks are summed on scrape") {
  Metrics m;
  WorkerMetrics& a = m.add_worker();
  WorkerMetrics& b = m.add_worker();
  CHECK(&a != &b);
  QueryOutcome o;
  o.zone_slot = 3;
  o.qtype = 28;
  o.rcode = 3;
  o.transport = 1;
  o.policy = PolicyKind::Latency;
  for (int i = 0; i < 3; ++i) {
    a.record(o);
    a.observe(800);  // <= 1us
  }
  o.ecs = true;
  o.truncated = true;
  for (int i = 0; i < 4; ++i) {
    b.record(o);
    b.observe(20000);  // <= 25us
  }
  b.drop(DropReason::SendFailed, 2);
  MetricTotals t = m.sum();
  CHECK(t.queries[query_cell(3, 1, 1, 3, static_cast<unsigned>(PolicyKind::Latency))] == 7);
  std::uint64_t all = 0;
  for (auto n : t.queries) all += n;
  CHECK(all == 7);  // nothing landed in another cell
  CHECK(t.truncated[1] == 4);
  CHECK(t.truncated[0] == 0);
  CHECK(t.ecs == 4);
  CHECK(t.dropped[static_cast<unsigned>(DropReason::SendFailed)] == 2);
  CHECK(t.latency[0] == 3);
  CHECK(t.latency[4] == 4);
  CHECK(t.latency_sum_ns == 3 * 800 + 4 * 20000);
}

TEST_CASE("labels are bounded: qtypes, rcodes and policy names") {
  CHECK(qtype_slot_name(qtype_slot(1)) == "A");
  CHECK(qtype_slot_name(qtype_slot(257)) == "CAA");
  CHECK(qtype_slot_name(qtype_slot(99)) == "other");
  CHECK(qtype_slot_name(qtype_slot(65535)) == "other");
  CHECK(rcode_slot_name(rcode_slot(3)) == "NXDOMAIN");
  CHECK(rcode_slot_name(rcode_slot(16)) == "BADVERS");
  CHECK(rcode_slot_name(rcode_slot(9)) == "other");
  for (const char* k : {"simple", "weighted", "failover", "multivalue", "geolocation", "latency"})
    CHECK(policy_kind_name(policy_kind_from_name(k)) == k);
  CHECK(policy_kind_from_name("") == PolicyKind::None);
}

TEST_CASE("the answer path records zone, qtype, rcode, transport, policy, ECS, TC, FORMERR and drops") {
  const std::string pol = bare_zone("pol.metrics.test.") + R"([records.ns1]
A = "192.0.2.1"
[records.w.A]
policy = "weighted"
targets = [ { value = "192.0.2.20" } ]
[records.big]
TXT = [")" + std::string(200, 'x') + R"(", ")" + std::string(200, 'y') + R"(", ")" + std::string(200, 'z') + R"("]
)";
  auto set = zones_from_toml({kTestZone, pol});
  std::uint16_t ex = 0, po = 0;
  REQUIRE(set->find_for(wire("www.example.com."), ex));
  REQUIRE(set->find_for(wire("w.pol.metrics.test."), po));
  CHECK(ex != po);
  CHECK(ex < kZoneMetricSlots);

  Metrics m;
  WorkerState ws;
  ws.metrics = &m.add_worker();
  AnswerConfig cfg;
  static std::uint8_t out[kMaxMessage];
  auto run = [&](const std::vector<std::uint8_t>& q, Transport t) {
    return answer_query(*set, cfg, ws, q.data(), q.size(), t, out);
  };
  for (int i = 0; i < 3; ++i) CHECK(run(make_query("www.example.com.", LDNS_RR_TYPE_A), Transport::Udp) > 0);
  CHECK(run(make_query("nope.example.com.", LDNS_RR_TYPE_AAAA), Transport::Udp) > 0);
  CHECK(run(make_query("www.example.org.", LDNS_RR_TYPE_A), Transport::Tcp) > 0);
  CHECK(run(make_query("w.pol.metrics.test.", LDNS_RR_TYPE_A), Transport::Tcp) > 0);
  CHECK(run(ecs_query("w.pol.metrics.test."), Transport::Udp) > 0);
  CHECK(run(make_query("big.pol.metrics.test.", LDNS_RR_TYPE_TXT, 0), Transport::Udp) > 0);  // > 512: TC
  CHECK(run({0x12, 0x34, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0}, Transport::Udp) > 0);              // FORMERR
  CHECK(run({0x12, 0x34, 0x80, 0}, Transport::Udp) == 0);                                 // dropped
  MetricTotals t = m.sum();
  CHECK(cell(t, ex, Transport::Udp, 1, 0, PolicyKind::None) == 3);
  CHECK(cell(t, ex, Transport::Udp, 28, 3, PolicyKind::None) == 1);
  CHECK(cell(t, kZoneSlotNone, Transport::Tcp, 1, 5, PolicyKind::None) == 1);
  CHECK(cell(t, po, Transport::Tcp, 1, 0, PolicyKind::Weighted) == 1);
  CHECK(cell(t, po, Transport::Udp, 1, 0, PolicyKind::Weighted) == 1);
  CHECK(cell(t, po, Transport::Udp, 16, 0, PolicyKind::None) == 1);
  CHECK(cell(t, kZoneSlotNone, Transport::Udp, 0, 1, PolicyKind::None) == 1);
  std::uint64_t all = 0;
  for (auto n : t.queries) all += n;
  CHECK(all == 9);
  CHECK(t.ecs == 1);
  CHECK(t.truncated[0] == 1);
  CHECK(t.truncated[1] == 0);
  CHECK(t.malformed == 1);
  CHECK(t.dropped[static_cast<unsigned>(DropReason::Unparseable)] == 1);
  std::uint64_t observed = 0;
  for (auto n : t.latency) observed += n;
  CHECK(observed == 0);  // 10 queries so far: none is the 16th
  for (int i = 0; i < 54; ++i) run(make_query("www.example.com.", LDNS_RR_TYPE_A), Transport::Udp);
  t = m.sum();
  observed = 0;
  for (auto n : t.latency) observed += n;
  CHECK(observed == 64 / kLatencySampleEvery);  // the 16th, 32nd, 48th and 64th (the drop included)
  CHECK(t.latency_sum_ns > 0);

  // Without a block nothing is recorded and nothing breaks.
  WorkerState plain;
  auto q = make_query("www.example.com.", LDNS_RR_TYPE_A);
  CHECK(answer_query(*set, cfg, plain, q.data(), q.size(), Transport::Udp, out) > 0);
  CHECK(m.sum().queries == t.queries);
  CHECK(m.sum().latency_sum_ns == t.latency_sum_ns);
}

// Last in this file: it fills the process-wide slot table.
TEST_CASE("zone metric slots are stable across zone sets and bounded") {
  const std::uint16_t a = zone_metric_slot("slot-a.metrics.test.");
  const std::uint16_t b = zone_metric_slot("slot-b.metrics.test.");
  CHECK(a != b);
  CHECK(zone_metric_slot("slot-a.metrics.test.") == a);  // same origin, same slot, whatever the order
  auto names = zone_metric_slot_names();
  REQUIRE(names.size() > b);
  CHECK(names[a] == "slot-a.metrics.test.");
  for (int i = 0; i < 300; ++i) zone_metric_slot("fill-" + std::to_string(i) + ".metrics.test.");
  CHECK(zone_metric_slot("one-too-many.metrics.test.") == kZoneSlotOther);
  CHECK(zone_metric_slot_names().size() == kZoneMetricSlots);
}
