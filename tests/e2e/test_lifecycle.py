"""Process lifecycle: SIGHUP reload (good and broken files) and clean stop.

Each test runs its own server because the tests change files and stop it.
"""

import re
import signal
import threading
import time
import unittest

import harness as h

OLD_WWW = 'A    = ["192.0.2.10", "192.0.2.11", "192.0.2.12"]'


class ReloadTest(h.DnsTestCase):
    def setUp(self):
        self.server = h.Server()
        self.addCleanup(self.server.close)
        self.server.start()
        self.zone_file = self.server.zones_dir / "example.com.toml"
        # Serve one query before the first SIGHUP: a signal right at startup is
        # test_sighup_right_after_ready's subject, not this class's.
        self.assertAlive()

    def edit_zone(self, old: str, new: str) -> None:
        text = self.zone_file.read_text()
        self.assertIn(old, text)
        self.zone_file.write_text(text.replace(old, new))

    def www_a(self, transport="udp4"):
        return self.server.dig("www.example.com", "A", transport=transport).rdata("A")

    def reload_until(self, want, timeout=2.0):
        """SIGHUP, then wait until www.example.com A is `want`."""
        self.server.reload()
        seen = []
        def served():
            seen.append(self.www_a())
            return seen[-1] == want
        self.assertTrue(h.poll(served, timeout), f"still {seen[-1]} {timeout}s after SIGHUP, want {want}")

    def test_sighup_picks_up_changes(self):
        self.assertEqual(self.www_a(), ["192.0.2.10", "192.0.2.11", "192.0.2.12"])
        conn = h.tcp_connect(self.server.addr("tcp4"))   # opened before the reload
        self.addCleanup(conn.close)
        self.edit_zone(OLD_WWW, 'A = ["192.0.2.99"]')
        self.reload_until(["192.0.2.99"])
        for t in h.TRANSPORTS:
            self.assertEqual(self.www_a(t), ["192.0.2.99"], t)
        # An existing TCP connection sees the new data too.
        conn.sendall(h.frame(h.build_query("www.example.com")))
        m = h.parse_message(h.recv_frame(conn))
        self.assertEqual([rr.rdata for rr in m.answer], [bytes([192, 0, 2, 99])])
        # Untouched data and the other zone are still there.
        self.assertEqual(self.server.dig("mail.example.com", "A").rdata("A"), ["192.0.2.25"])
        self.assertEqual(self.server.dig("www.example.net", "A").rdata("A"), ["198.51.100.10"])

    def test_sighup_adds_a_new_zone(self):
        (self.server.zones_dir / "added.test.toml").write_text(h.soa_zone("added.test.", '[records.www]\nA = "192.0.2.7"'))
        self.server.reload()
        got = h.poll(lambda: self.server.dig("www.added.test", "A").rdata("A"), 2.0)
        self.assertEqual(got, ["192.0.2.7"])

    def test_broken_file_keeps_previous_version(self):
        self.edit_zone(OLD_WWW, 'A = ["192.0.2.99"]')
        self.reload_until(["192.0.2.99"])
        mark = len(self.server.log_lines())
        # A TOML syntax error on a known line (the unterminated string).
        text = self.zone_file.read_text() + '\n[records.broken]\nA = "192.0.2.1\n'
        self.zone_file.write_text(text)
        bad_line = text.count("\n")   # the last line holds the unterminated string
        self.server.reload()
        line = self.server.wait_for_log(r"example\.com\.toml:\d+:\d+: ", 2.0, start=mark)
        self.assertIn(str(self.zone_file.name), line)
        reported = int(re.search(r"example\.com\.toml:(\d+):", line).group(1))
        self.assertEqual(reported, bad_line, line)
        time.sleep(0.2)   # give a (wrong) swap the chance to happen before checking
        self.assertTrue(self.server.alive())
        for t in h.TRANSPORTS:
            self.assertEqual(self.www_a(t), ["192.0.2.99"], t)
        self.assertEqual(self.server.dig("alias.example.com", "A").rcode, "NOERROR")
        # Fixing the file again is picked up by the next SIGHUP.
        self.zone_file.write_text(text.replace('A = "192.0.2.1\n', 'A = "192.0.2.1"\n').replace(
            'A = ["192.0.2.99"]', 'A = ["192.0.2.98"]'))
        self.reload_until(["192.0.2.98"])

    def test_queries_keep_working_during_reloads(self):
        # Every answer comes from one complete zone version, old or new.
        versions = [self.zone_file.read_text()]
        versions.append(versions[0].replace(OLD_WWW, 'A = ["192.0.2.99"]'))
        stop, failures, answered = threading.Event(), [], []
        def client():
            while not stop.is_set():
                m = self.server.raw(h.build_query("www.example.com"), "udp4")
                if m is None or m.rcode != 0 or len(m.answer) not in (1, 3):
                    failures.append(m and (m.rcode, len(m.answer)))
                answered.append(1)
        worker = threading.Thread(target=client)
        worker.start()
        try:
            for i in range(10):
                self.zone_file.write_text(versions[(i + 1) % 2])
                self.server.reload()
                time.sleep(0.05)
        finally:
            stop.set()
            worker.join(5)
        self.assertEqual(failures, [])
        self.assertGreater(len(answered), 10)
        self.assertTrue(self.server.alive())

    def test_zone_error_keeps_previous_version(self):
        # Valid TOML but an invalid zone (bad address) behaves the same way.
        mark = len(self.server.log_lines())
        self.edit_zone(OLD_WWW, 'A = ["192.0.2.300"]')
        self.server.reload()
        self.server.wait_for_log(r"example\.com\.toml:\d+:\d+: ", 2.0, start=mark)
        time.sleep(0.2)
        self.assertEqual(self.www_a(), ["192.0.2.10", "192.0.2.11", "192.0.2.12"])
        self.assertTrue(self.server.alive())


class BrokenAtStartTest(h.DnsTestCase):
    def test_broken_zone_at_start_is_skipped_then_fixed(self):
        broken = h.soa_zone("later.test.", '[records.www]\nA = "192.0.2"')
        self.server = h.Server(zones={"later.test.toml": broken})
        self.addCleanup(self.server.close)
        self.server.start()
        self.assertRegex(self.server.log_text(), r"later\.test\.toml:\d+:\d+: ")
        self.assertEqual(self.server.dig("www.later.test", "A").rcode, "REFUSED")
        self.assertAlive()   # the good zones are served meanwhile
        (self.server.zones_dir / "later.test.toml").write_text(broken.replace('"192.0.2"', '"192.0.2.5"'))
        self.server.reload()
        self.assertEqual(h.poll(lambda: self.server.dig("www.later.test", "A").rdata("A"), 2.0), ["192.0.2.5"])


class StopTest(unittest.TestCase):
    def start(self, on_ready=None, **kw) -> h.Server:
        srv = h.Server(**kw)
        self.addCleanup(srv.close)
        return srv.start(on_ready)

    def answers(self, srv, timeout=1.0) -> bool:
        return srv.raw(h.build_query("www.example.com"), "udp4", timeout) is not None

    def assertStopsCleanly(self, srv, sig):
        start = time.monotonic()
        code = srv.stop(sig, timeout=5)
        self.assertEqual(code, 0, f"exit status after {sig.name} (negative = killed by the signal, "
                                  f"None = still running after 5 s)")
        self.assertLess(time.monotonic() - start, 5)
        self.assertRegex(srv.log_lines()[-1], r"\bstopped\b")

    def test_sigterm(self):
        srv = self.start()
        self.assertTrue(self.answers(srv))
        self.assertStopsCleanly(srv, signal.SIGTERM)

    def test_sigint(self):
        srv = self.start()
        self.assertTrue(self.answers(srv))
        self.assertStopsCleanly(srv, signal.SIGINT)

    def test_sigterm_with_open_tcp_connection(self):
        # An idle client must not hold the process up (tcp_idle_timeout is 10 s).
        srv = self.start(threads=4)
        with h.tcp_connect(srv.addr("tcp4")) as s:
            s.sendall(h.frame(h.build_query("www.example.com")))
            self.assertIsNotNone(h.recv_frame(s))
            self.assertStopsCleanly(srv, signal.SIGTERM)

    # "serving with" is the readiness line: from then on signals must be
    # handled. The signal goes out the moment the line is read, and the test
    # repeats because the window after the line is short.
    def test_stop_signal_right_after_ready(self):
        for i in range(30):
            sig = signal.SIGTERM if i % 2 else signal.SIGINT
            with self.subTest(attempt=i, signal=sig.name):
                srv = self.start(on_ready=lambda s, sig=sig: s.proc.send_signal(sig))
                self.assertStopsCleanly(srv, sig)

    def test_sighup_right_after_ready(self):
        for i in range(24):
            with self.subTest(attempt=i):
                srv = self.start(on_ready=h.Server.reload)
                self.assertTrue(self.answers(srv), f"no answer after SIGHUP (exit status {srv.proc.poll()})")
                self.assertTrue(srv.alive())
                srv.close()


if __name__ == "__main__":
    unittest.main()
