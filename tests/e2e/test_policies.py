"""Routing policies through the real server: weighted shares, failover,
multivalue, and manual health states changed by editing the zone + SIGHUP
(until `meridian ctl` lands, that is how an operator sets a state)."""

import collections
import socket
import unittest

import harness as h

POLICY_RECORDS = """
[records.api.A]
policy = "weighted"
ttl = 30
ttl_when_degraded = 5
targets = [
  { value = "192.0.2.20", weight = 80, check = "api-eu" },
  { value = "192.0.2.30", weight = 20, check = "api-us" },
]

[records.app.A]
policy = "failover"
targets = [ { value = "192.0.2.40", check = "app-1" }, { value = "198.51.100.40" } ]

[records.many.A]
policy = "multivalue"
answers = 2
targets = [ { value = "192.0.2.61" }, { value = "192.0.2.62" }, { value = "192.0.2.63", check = "mv-3" } ]

[records.steer.A]
policy = "failover"
targets = [ { cname = "cdn.example.net.", check = "cdn" }, { cname = "www" } ]

[records.www]
A = "192.0.2.80"

[checks.api-eu]
state = "up"

[checks.api-us]
state = "up"

[checks.cdn]
state = "%(cdn)s"

[checks.app-1]
state = "%(app)s"

[checks.mv-3]
state = "%(mv)s"
"""


def zone(app="up", mv="up", cdn="up"):
    return h.soa_zone("pol.test.", POLICY_RECORDS % {"app": app, "mv": mv, "cdn": cdn})


def answers_a(srv, name, count):
    """Sends `count` queries on one UDP socket; returns each answer's A list."""
    host, port = srv.addr("udp4")
    out = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(h.QUERY_TIMEOUT)
        for i in range(count):
            s.sendto(h.build_query(name, id=i & 0xFFFF), (host, port))
            msg = h.parse_message(s.recv(4096))
            out.append(([socket.inet_ntoa(rr.rdata) for rr in msg.answer if rr.rtype == 1], msg))
    return out


class PolicyTest(h.DnsTestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = h.class_server(cls, example_zones=False, zones={"pol.test.toml": zone()})

    def set_states(self, **states):
        (self.srv.zones_dir / "pol.test.toml").write_text(zone(**states))
        self.srv.reload()

    def test_weighted_shares_follow_weights(self):
        n = 4000
        got = collections.Counter(tuple(a) for a, _ in answers_a(self.srv, "api.pol.test", n))
        self.assertEqual(set(got), {("192.0.2.20",), ("192.0.2.30",)})  # one target per answer
        share = got[("192.0.2.20",)] / n
        self.assertAlmostEqual(share, 0.80, delta=0.03)

    def test_failover_follows_the_manual_state(self):
        self.assertEqual(self.srv.dig("app.pol.test").rdata("A"), ["192.0.2.40"])
        self.set_states(app="down")
        self.assertEqual(h.poll(lambda: self.srv.dig("app.pol.test").rdata("A"), 2.0,
                                lambda v: v == ["198.51.100.40"]), ["198.51.100.40"])
        self.set_states(app="up")
        self.assertEqual(h.poll(lambda: self.srv.dig("app.pol.test").rdata("A"), 2.0,
                                lambda v: v == ["192.0.2.40"]), ["192.0.2.40"])

    def test_multivalue_returns_distinct_healthy_records(self):
        seen = set()
        for a, _ in answers_a(self.srv, "many.pol.test", 200):
            self.assertEqual(len(a), 2)
            self.assertEqual(len(set(a)), 2)
            seen.update(a)
        self.assertEqual(seen, {"192.0.2.61", "192.0.2.62", "192.0.2.63"})
        self.set_states(mv="down")
        self.addCleanup(self.set_states, mv="up")
        seen_down = lambda: set().union(*(set(a) for a, _ in answers_a(self.srv, "many.pol.test", 100)))
        self.assertEqual(h.poll(seen_down, 2.0, lambda v: v == {"192.0.2.61", "192.0.2.62"}),
                         {"192.0.2.61", "192.0.2.62"})

    def test_cname_targets_answer_with_a_cname_and_chase_it(self):
        r = self.srv.dig("steer.pol.test")
        self.assertEqual([(rr.rtype, rr.rdata) for rr in r.answer], [("CNAME", "cdn.example.net.")])
        self.set_states(cdn="down")
        self.addCleanup(self.set_states)
        want = [("CNAME", "www.pol.test."), ("A", "192.0.2.80")]   # in-zone target: chased
        got = h.poll(lambda: [(rr.rtype, rr.rdata) for rr in self.srv.dig("steer.pol.test").answer], 2.0,
                     lambda v: v == want)
        self.assertEqual(got, want)

    def test_weighted_policy_ttl(self):
        for _, msg in answers_a(self.srv, "api.pol.test", 5):
            self.assertEqual([rr.ttl for rr in msg.answer], [30])


if __name__ == "__main__":
    unittest.main()
