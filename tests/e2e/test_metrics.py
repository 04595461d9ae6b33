"""GET /metrics on the admin endpoint: Prometheus text format 0.0.4, exact
counter deltas by label for a known set of queries, the answer-time
histogram, health gauges that follow `meridian ctl state`, reload counters."""

import os
import re
import unittest
import urllib.request

import harness as h

ZONE = h.soa_zone("m.test.", """
[records.www]
A = "192.0.2.10"

[records.w.A]
policy = "weighted"
targets = [ { value = "192.0.2.20", weight = 1 } ]

[records.app.A]
policy = "failover"
targets = [ { value = "192.0.2.40", check = "app-1" }, { value = "198.51.100.40" } ]

[checks.app-1]
state = "up"
""")

FIXTURE_MMDB = os.environ.get("MERIDIAN_FIXTURE_MMDB", str(h.SOURCE_DIR / "build/tests/fixtures/geoip/fixture.mmdb"))

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(srv) -> tuple[dict, str, str]:
    """({(name, frozenset(labels)): value}, content type, raw text)."""
    with urllib.request.urlopen(f"http://{srv.admin_addr}/metrics", timeout=5) as r:
        ctype = r.headers["Content-Type"]
        text = r.read().decode()
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        key = (m.group(1), labels)
        assert key not in samples, f"duplicate series {line!r}"
        samples[key] = float(m.group(4))
    return samples, ctype, text


def value(samples, name, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def timed_queries(samples) -> int:
    """What the histogram must have counted with one worker: every 16th query
    of each query thread that reached the answer path (answered, or dropped
    as unparseable: only UDP here). The tests query over 127.0.0.1 only, so
    the threads are the worker's one UDP thread for that address and its TCP
    loop."""
    seen = {"udp": value(samples, "meridian_dropped_total", reason="unparseable"), "tcp": 0}
    for (n, labels), v in samples.items():
        if n == "meridian_queries_total":
            seen[dict(labels)["transport"]] += v
    return sum(int(v) // 16 for v in seen.values())


class MetricsTest(h.DnsTestCase):
    @classmethod
    def setUpClass(cls):
        # One worker: each of its threads times its 16th, 32nd... query, so the count is exact.
        cls.srv = h.class_server(cls, example_zones=False, zones={"m.test.toml": ZONE}, admin=True, threads=1)

    def test_format_help_type_and_content_type(self):
        samples, ctype, text = scrape(self.srv)
        self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")
        families = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
        helps = re.findall(r"^# HELP (\S+) ", text, re.M)
        self.assertEqual([f for f, _ in families], helps)
        self.assertEqual(len(helps), len(set(helps)))
        types = dict(families)
        self.assertEqual(types["meridian_queries_total"], "counter")
        self.assertEqual(types["meridian_answer_duration_seconds"], "histogram")
        self.assertEqual(types["meridian_health_check_up"], "gauge")
        self.assertGreater(value(samples, "meridian_uptime_seconds"), 0)
        self.assertGreaterEqual(value(samples, "meridian_reloads_total"), 1)
        self.assertGreater(value(samples, "meridian_last_successful_reload_timestamp_seconds"), 1.6e9)
        self.assertIn(("meridian_tcp_connections", frozenset()), samples)
        self.assertEqual(value(samples, "meridian_answer_duration_seconds_bucket", le="+Inf"),
                         value(samples, "meridian_answer_duration_seconds_count"))

    def test_counter_deltas_by_label(self):
        before, _, _ = scrape(self.srv)
        for _ in range(3):
            self.assertEqual(self.srv.dig("www.m.test").rcode, "NOERROR")
        for _ in range(2):
            self.assertEqual(self.srv.dig("nope.m.test").rcode, "NXDOMAIN")
        self.assertEqual(self.srv.dig("www.elsewhere.test").rcode, "REFUSED")
        self.assertEqual(self.srv.dig("www.m.test", "AAAA", transport="tcp4").rcode, "NOERROR")
        r = self.srv.dig("w.m.test", "A", "+subnet=198.51.100.0/24")
        self.assertEqual(r.rdata("A"), ["192.0.2.20"])
        after, _, _ = scrape(self.srv)

        def delta(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        expected = {
            ("m.test.", "udp", "A", "NOERROR", "none"): 3,
            ("m.test.", "udp", "A", "NXDOMAIN", "none"): 2,
            ("none", "udp", "A", "REFUSED", "none"): 1,
            ("m.test.", "tcp", "AAAA", "NOERROR", "none"): 1,
            ("m.test.", "udp", "A", "NOERROR", "weighted"): 1,
        }
        got = {}
        for (name, labels), v in after.items():
            if name != "meridian_queries_total":
                continue
            d = v - before.get((name, labels), 0.0)
            if d:
                lab = dict(labels)
                got[(lab["zone"], lab["transport"], lab["qtype"], lab["rcode"], lab["policy"])] = d
        self.assertEqual(got, expected)   # and nothing else moved
        self.assertEqual(delta("meridian_ecs_queries_total"), 1)
        self.assertEqual(delta("meridian_responses_truncated_total", transport="udp"), 0)
        self.assertEqual(delta("meridian_malformed_queries_total"), 0)
        self.assertEqual(value(after, "meridian_answer_duration_seconds_count"), timed_queries(after))
        self.assertEqual(value(after, "meridian_answer_duration_seconds_bucket", le="+Inf"), timed_queries(after))

    def test_histogram_times_one_query_in_16(self):
        for i in range(40):
            self.assertIsNotNone(h.send_udp(self.srv.addr("udp4"), h.build_query(f"n{i}.m.test", id=i)))
        samples, _, _ = scrape(self.srv)
        self.assertGreaterEqual(timed_queries(samples), 2)
        self.assertEqual(value(samples, "meridian_answer_duration_seconds_count"), timed_queries(samples))
        self.assertGreater(value(samples, "meridian_answer_duration_seconds_sum"), 0)
        by_le = sorted((float(dict(l)["le"]), v) for (n, l), v in samples.items()
                       if n == "meridian_answer_duration_seconds_bucket")
        self.assertEqual(len(by_le), 11)
        self.assertEqual(by_le[-1][0], float("inf"))
        counts = [v for _, v in by_le]
        self.assertEqual(counts, sorted(counts))   # cumulative: never decreasing with le
        self.assertEqual(counts[-1], timed_queries(samples))
        self.assertGreater(value(samples, "meridian_answer_duration_seconds_bucket", le="0.01"), 0)

    def test_malformed_and_dropped(self):
        before, _, _ = scrape(self.srv)
        bad = h.header(qd=2) + h.question("www.m.test") + h.question("m.test", "SOA")   # two questions: FORMERR
        self.assertEqual(self.srv.raw(bad).rcode, h.RCODES["FORMERR"])
        self.assertIsNone(self.srv.raw(b"\x12\x34\x80\x00", timeout=0.5))   # a response: dropped
        after, _, _ = scrape(self.srv)
        self.assertEqual(value(after, "meridian_malformed_queries_total")
                         - value(before, "meridian_malformed_queries_total"), 1)
        self.assertEqual(value(after, "meridian_dropped_total", reason="unparseable")
                         - value(before, "meridian_dropped_total", reason="unparseable"), 1)

    def test_health_gauge_follows_ctl_state(self):
        samples, _, _ = scrape(self.srv)
        self.assertEqual(value(samples, "meridian_health_check_up", check="app-1"), 1)
        flips = value(samples, "meridian_health_check_transitions_total", check="app-1")
        self.addCleanup(self.srv.ctl, "state", "app-1", "auto")
        self.assertEqual(self.srv.ctl("state", "app-1", "down").returncode, 0)
        samples, _, _ = scrape(self.srv)
        self.assertEqual(value(samples, "meridian_health_check_up", check="app-1"), 0)
        self.assertEqual(value(samples, "meridian_health_check_transitions_total", check="app-1"), flips + 1)
        self.assertEqual(self.srv.ctl("state", "app-1", "auto").returncode, 0)
        samples, _, _ = scrape(self.srv)
        self.assertEqual(value(samples, "meridian_health_check_up", check="app-1"), 1)
        self.assertEqual(value(samples, "meridian_health_check_transitions_total", check="app-1"), flips + 2)

    def test_reload_counters(self):
        before, _, _ = scrape(self.srv)
        self.assertEqual(self.srv.ctl("reload").returncode, 0)
        mid, _, _ = scrape(self.srv)
        self.assertEqual(value(mid, "meridian_reloads_total") - value(before, "meridian_reloads_total"), 1)
        self.assertEqual(value(mid, "meridian_reload_failures_total"), value(before, "meridian_reload_failures_total"))
        path = self.srv.zones_dir / "m.test.toml"
        path.write_text("origin = ")   # broken: a failed reload, the zone keeps serving
        self.addCleanup(lambda: (path.write_text(ZONE), self.srv.ctl("reload")))
        self.assertNotEqual(self.srv.ctl("reload").returncode, 0)
        after, _, _ = scrape(self.srv)
        self.assertEqual(value(after, "meridian_reloads_total") - value(before, "meridian_reloads_total"), 2)
        self.assertEqual(value(after, "meridian_reload_failures_total")
                         - value(before, "meridian_reload_failures_total"), 1)
        self.assertEqual(value(after, "meridian_last_successful_reload_timestamp_seconds"),
                         value(mid, "meridian_last_successful_reload_timestamp_seconds"))


class MetricsGeoTest(unittest.TestCase):
    def test_geoip_build_time(self):
        srv = h.Server(example_zones=False, zones={"m.test.toml": ZONE}, admin=True,
                       extra_config=f'[geoip]\ndatabases = ["{FIXTURE_MMDB}"]\n')
        self.addCleanup(srv.close)
        srv.start()
        samples, _, _ = scrape(srv)
        dbs = [(dict(l), v) for (n, l), v in samples.items()
               if n == "meridian_geoip_database_build_timestamp_seconds"]
        self.assertEqual(len(dbs), 1)
        self.assertEqual(dbs[0][0]["path"], str(FIXTURE_MMDB))
        self.assertGreater(dbs[0][1], 1.0e9)


if __name__ == "__main__":
    unittest.main()
