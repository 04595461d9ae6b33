"""sd_notify (systemd Type=notify): READY=1, RELOADING=1 ... READY=1, STOPPING=1.

The test plays the service manager: it binds a unix datagram socket, points
NOTIFY_SOCKET at it (the server inherits the environment) and reads what
the server sends.
"""

import os
import signal
import socket
import tempfile
import threading
import time
import unittest
from pathlib import Path

import harness as h

RECV_TIMEOUT = 5.0


class NotifySocket:
    """A bound AF_UNIX datagram socket that collects notification messages."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="meridian-notify-")
        self.path = str(Path(self._tmp.name) / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def next(self, timeout: float = RECV_TIMEOUT) -> dict[str, str]:
        """The next message as a dict (KEY=VALUE lines); AssertionError on timeout."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            raise AssertionError(f"no notification within {timeout}s") from None
        return dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)

    def pending(self) -> list[dict[str, str]]:
        """Messages already queued, without waiting."""
        out = []
        self.sock.setblocking(False)
        try:
            while True:
                data = self.sock.recv(4096)
                out.append(dict(l.split("=", 1) for l in data.decode().splitlines() if "=" in l))
        except BlockingIOError:
            pass
        return out

    def close(self):
        self.sock.close()
        self._tmp.cleanup()


def free_port() -> int:
    """A port free for UDP and TCP on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise AssertionError("no free port found")


class NotifyTest(h.DnsTestCase):
    def setUp(self):
        self.notify = NotifySocket()
        self.addCleanup(self.notify.close)
        # A fixed port, so a query can go out the instant READY=1 arrives,
        # before the test has seen any log line.
        self.port = free_port()
        self.server = h.Server(listen=(f"127.0.0.1:{self.port}",))
        self.addCleanup(self.server.close)

    def start_with_notify_socket(self):
        """Starts the server with NOTIFY_SOCKET set; meanwhile a thread waits
        for READY=1 and at once queries over UDP and TCP."""
        got: dict = {}

        def manager():
            try:
                got["ready"] = self.notify.next(h.START_TIMEOUT)
                q = h.build_query("www.example.com", "A", id=0x5150)
                got["udp"] = h.send_udp(("127.0.0.1", self.port), q, timeout=2.0)
                try:
                    got["tcp"] = h.send_tcp(("127.0.0.1", self.port), q, timeout=2.0)
                except OSError as e:   # refused: nothing listening yet
                    got["tcp"] = e
            except AssertionError as e:
                got["error"] = e

        t = threading.Thread(target=manager, daemon=True)
        old = os.environ.get("NOTIFY_SOCKET")
        os.environ["NOTIFY_SOCKET"] = self.notify.path   # inherited by the server
        try:
            t.start()
            self.server.start()
        finally:
            if old is None:
                del os.environ["NOTIFY_SOCKET"]
            else:
                os.environ["NOTIFY_SOCKET"] = old
        t.join(h.START_TIMEOUT + 5)
        self.assertFalse(t.is_alive())
        return got

    def test_ready_then_reload_then_stopping(self):
        got = self.start_with_notify_socket()
        self.assertNotIn("error", got)
        self.assertEqual(got["ready"].get("READY"), "1", got["ready"])
        # READY=1 means "queries are answered now": the first query, sent the
        # moment it arrived, with no retry, was answered on both transports.
        for transport in ("udp", "tcp"):
            with self.subTest(transport=transport):
                self.assertIsInstance(got[transport], bytes, f"{transport} query right after READY=1")
                reply = h.parse_message(got[transport])
                self.assertEqual(reply.id, 0x5150)
                self.assertEqual(reply.flags & 0xF, h.RCODES["NOERROR"])
                self.assertEqual(len(reply.answer), 3)
        self.assertEqual(self.notify.pending(), [], "only one message at start-up")

        # A zone added before SIGHUP is served once READY=1 follows RELOADING=1.
        (self.server.zones_dir / "added.test.toml").write_text(
            h.soa_zone("added.test.", '[records.www]\nA = "192.0.2.77"'))
        before_us = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.server.reload()
        reloading = self.notify.next()
        self.assertEqual(reloading.get("RELOADING"), "1", reloading)
        self.assertNotIn("READY", reloading)
        # MONOTONIC_USEC (systemd 253's Type=notify-reload needs it) is the
        # reload's CLOCK_MONOTONIC time: after the signal was sent.
        usec = int(reloading["MONOTONIC_USEC"])
        self.assertGreaterEqual(usec, before_us)
        self.assertLessEqual(usec, time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)
        ready2 = self.notify.next()
        self.assertEqual(ready2.get("READY"), "1", ready2)
        r = self.server.dig("www.added.test", "A")
        self.assertEqual(r.rcode, "NOERROR")
        self.assertEqual(r.rdata("A"), ["192.0.2.77"])

        self.assertEqual(self.server.stop(signal.SIGTERM), 0)
        stopping = self.notify.next()
        self.assertEqual(stopping.get("STOPPING"), "1", stopping)
        self.assertEqual(self.notify.pending(), [])


class WithoutNotifySocketTest(h.DnsTestCase):
    def test_no_socket_no_warning(self):
        self.assertNotIn("NOTIFY_SOCKET", os.environ)
        self.server = h.Server()
        self.addCleanup(self.server.close)
        self.server.start()
        self.assertAlive()
        self.server.reload()
        self.server.wait_for_log(r"SIGHUP: reloading", 5.0)
        self.assertAlive()
        self.assertEqual(self.server.stop(), 0)
        self.assertNotIn("sd_notify", self.server.log_text())


if __name__ == "__main__":
    unittest.main()
