"""The query log ([query_log]): one line per sampled query with time, client,
ECS subnet, qname, qtype, rcode, transport and policy; exactly one in N
queries per worker when sampled; off by default."""

import re
import time
import unittest
import urllib.request

import harness as h

ZONE = h.soa_zone("q.test.", """
[records.www]
A = "192.0.2.10"

[records.w.A]
policy = "weighted"
targets = [ { value = "192.0.2.20", weight = 1 } ]
""")

LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) client=(\S+) ecs=(\S+) qname=(\S+) qtype=(\S+) "
                  r"rcode=(\S+) proto=(udp|tcp)( tc=1)? policy=(\S+)( target=(\S+))?$")


def log_server(sample: int, threads: int = 1, file: str = "queries.log") -> h.Server:
    return h.Server(example_zones=False, zones={"q.test.toml": ZONE}, threads=threads, admin=True,
                    extra_config=f'[query_log]\nenabled = true\nsample = {sample}\nfile = "{file}"\n')


def read_lines(srv: h.Server, want: int, timeout: float = 5.0) -> list[str]:
    """The log file's lines once it has `want` of them (the writer flushes every 100 ms)."""
    path = srv.dir / "queries.log"
    lines = h.poll(lambda: path.read_text().splitlines() if path.exists() else [], timeout,
                   done=lambda ls: len(ls) >= want)
    return lines


class QueryLogTest(unittest.TestCase):
    def test_every_query_with_its_fields(self):
        srv = log_server(sample=1)
        self.addCleanup(srv.close)
        srv.start()
        self.assertIn("query log: 1 in 1 queries to", srv.log_text())
        t0 = time.time()
        self.assertEqual(srv.dig("www.q.test").rcode, "NOERROR")
        self.assertEqual(srv.dig("nope.q.test", "AAAA", transport="tcp4").rcode, "NXDOMAIN")
        self.assertEqual(srv.dig("w.q.test", "A", "+subnet=198.51.100.0/24").rdata("A"), ["192.0.2.20"])
        self.assertEqual(srv.dig("www.elsewhere.test").rcode, "REFUSED")
        lines = read_lines(srv, 4)
        self.assertEqual(len(lines), 4, lines)
        fields = []
        for line in lines:
            m = LINE.match(line)
            self.assertIsNotNone(m, f"unexpected line format: {line!r}")
            fields.append(m.groups())
        stamp = time.mktime(time.strptime(fields[0][0][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        self.assertLess(abs(stamp - t0), 5)
        for f in fields:
            self.assertRegex(f[1], r"^127\.0\.0\.1#\d+$")
        # UDP and TCP answers come from different threads, each with its own
        # ring: their lines may interleave in either order.
        got = sorted((f[2], f[3], f[4], f[5], f[6], f[8], f[10]) for f in fields)
        self.assertEqual(got, sorted([
            ("-", "www.q.test.", "A", "NOERROR", "udp", "none", None),
            ("-", "nope.q.test.", "AAAA", "NXDOMAIN", "tcp", "none", None),
            ("198.51.100.0/24", "w.q.test.", "A", "NOERROR", "udp", "weighted", "192.0.2.20"),
            ("-", "www.elsewhere.test.", "A", "REFUSED", "udp", "none", None),
        ]))
        with urllib.request.urlopen(f"http://{srv.admin_addr}/metrics", timeout=5) as r:
            text = r.read().decode()
        self.assertIn("meridian_query_log_lines_total 4\n", text)
        self.assertIn("meridian_query_log_dropped_total 0\n", text)

    def test_one_in_n_is_exact_per_worker(self):
        srv = log_server(sample=5)
        self.addCleanup(srv.close)
        srv.start()
        addr = srv.addr("udp4")
        for i in range(50):
            reply = h.send_udp(addr, h.build_query(f"n{i}.q.test", id=i))
            self.assertIsNotNone(reply)
        lines = read_lines(srv, 10)
        time.sleep(0.3)   # three flush periods: nothing more may come
        lines = (srv.dir / "queries.log").read_text().splitlines()
        self.assertEqual([l.split(" qname=")[1].split()[0] for l in lines],
                         [f"n{i}.q.test." for i in range(4, 50, 5)])

    def test_sampled_over_two_workers(self):
        srv = log_server(sample=4, threads=2)
        self.addCleanup(srv.close)
        srv.start()
        for i in range(80):
            self.assertIsNotNone(h.send_udp(srv.addr("udp4"), h.build_query(f"m{i}.q.test", id=i)))
        # Each worker logs every 4th of its own queries: floor(a/4) + floor(b/4)
        # with a + b = 80 is 20, or 19 when neither share is a multiple of 4.
        lines = read_lines(srv, 20, timeout=2.0)
        self.assertIn(len(lines), (19, 20))

    def test_off_by_default_and_bad_file(self):
        srv = h.Server(example_zones=False, zones={"q.test.toml": ZONE}, threads=1)
        self.addCleanup(srv.close)
        srv.start()
        srv.dig("www.q.test")
        self.assertNotIn("query log", srv.log_text())
        self.assertFalse(list(srv.dir.glob("*.log")))

        bad = log_server(sample=1, file="no/such/dir/q.log")
        self.addCleanup(bad.close)
        with self.assertRaises(AssertionError):
            bad.start()
        self.assertIn("no/such/dir/q.log: No such file or directory", bad.log_text())
        self.assertNotEqual(bad.proc.wait(5), 0)


if __name__ == "__main__":
    unittest.main()
