"""TCP limits (docs/hardening.md#tcp-limits): connections per client and
overall, the query timeout against slow clients (slowloris) while normal
queries keep being answered, queries per connection, and the bound on
unsent answers for a client that does not read."""

import socket
import struct
import time
import unittest

import harness as h


def connect_from(addr: tuple[str, int], source: str, timeout: float = h.QUERY_TIMEOUT) -> socket.socket:
    """A TCP connection from `source` (any 127/8 address works on loopback)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(addr)
    return s


def query_ok(s: socket.socket, qid: int, name: str = "www.example.com") -> bool:
    try:
        s.sendall(h.frame(h.build_query(name, id=qid)))
    except OSError:
        return False
    data = h.recv_frame(s)
    return data is not None and h.parse_message(data).id == qid


def closes_within(s: socket.socket, timeout: float) -> bool:
    """True when the server closes `s` (EOF or reset) within `timeout`."""
    try:
        return h.wait_closed(s, timeout)
    except OSError:
        return True


class PerClientLimitTest(h.DnsTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = h.class_server(cls, tcp_max_connections_per_client=4, tcp_max_connections=7)

    def test_per_client_and_global_caps(self):
        addr = self.server.addr("tcp4")
        conns = []
        self.addCleanup(lambda: [c.close() for c in conns])
        for i in range(4):   # the per-client share of 127.0.0.1, each used once so it is idle, not new
            conns.append(connect_from(addr, "127.0.0.1"))
            self.assertTrue(query_ok(conns[-1], i), f"connection {i + 1} of 4 not served")
        extra = connect_from(addr, "127.0.0.1")
        conns.append(extra)
        self.assertTrue(closes_within(extra, 2.0), "5th connection from one client was not closed")
        other = connect_from(addr, "127.0.0.2")   # another client is not affected
        conns.append(other)
        self.assertTrue(query_ok(other, 10))
        # Global cap 7: 4 + 1 (127.0.0.2) + 2 more from a third client; an 8th from a fourth is closed.
        for i in range(2):
            conns.append(connect_from(addr, "127.0.0.3"))
            self.assertTrue(query_ok(conns[-1], 20 + i))
        over = connect_from(addr, "127.0.0.4")
        conns.append(over)
        self.assertTrue(closes_within(over, 2.0), "connection over tcp_max_connections was not closed")
        # The first connections still work; closing one frees a slot for its client.
        self.assertTrue(query_ok(conns[0], 30))
        conns[1].close()
        def retry():
            with connect_from(addr, "127.0.0.1") as s:
                return query_ok(s, 31)
        self.assertTrue(h.poll(retry, 3.0, interval=0.1), "slot not released after a connection closed")


class SlowClientTest(h.DnsTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = h.class_server(cls, tcp_query_timeout=0.5, tcp_idle_timeout=10,
                                    tcp_max_queries_per_connection=5)

    def test_slowloris_connections_closed_while_normal_queries_answered(self):
        addr = self.server.addr("tcp4")
        attackers = []
        self.addCleanup(lambda: [c.close() for c in attackers])
        start = time.monotonic()
        for i in range(60):   # 60 half-open connections from 6 addresses (10 each, under the per-client 32)
            s = connect_from(addr, f"127.0.0.{10 + i % 6}")
            s.sendall(b"\x00")   # one byte of a length prefix, then nothing
            attackers.append(s)
        # Normal TCP queries during the attack: answered, and quickly.
        latencies = []
        for _ in range(5):
            t0 = time.monotonic()
            r = self.server.dig("www.example.com", "A", transport="tcp4")
            latencies.append(time.monotonic() - t0)
            self.assertEqual(len(r.rrs("A")), 3)
        print(f"\n  slowloris: {len(attackers)} half-open connections; dig +tcp latency "
              f"max {max(latencies) * 1000:.0f} ms (includes starting dig)")
        closed = [closes_within(s, max(0.1, start + 3.0 - time.monotonic())) for s in attackers]
        elapsed = time.monotonic() - start
        self.assertTrue(all(closed), f"{closed.count(False)} half-open connections still open after {elapsed:.1f}s")
        print(f"  all {len(attackers)} closed {elapsed:.2f}s after the attack began (tcp_query_timeout 0.5 s)")

    def test_dripping_a_message_does_not_extend_the_timeout(self):
        s = connect_from(self.server.addr("tcp4"), "127.0.0.1")
        self.addCleanup(s.close)
        data = h.frame(h.build_query("www.example.com"))
        t0 = time.monotonic()
        closed = False
        for byte in data:   # one byte every 150 ms: ~5 s for the whole query
            try:
                s.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            if closes_within(s, 0.15):
                closed = True
                break
        took = time.monotonic() - t0
        self.assertTrue(closed, "a query dripped byte by byte was answered or kept open")
        self.assertLess(took, 1.5, f"closed only after {took:.1f}s with tcp_query_timeout 0.5 s")

    def test_silent_new_connection_closed_after_query_timeout(self):
        s = connect_from(self.server.addr("tcp4"), "127.0.0.1")
        self.addCleanup(s.close)
        t0 = time.monotonic()
        self.assertTrue(closes_within(s, 3.0))
        self.assertGreater(time.monotonic() - t0, 0.3)

    def test_idle_between_queries_uses_the_idle_timeout(self):
        # After a whole query the connection may stay quiet longer than the query timeout.
        with connect_from(self.server.addr("tcp4"), "127.0.0.1") as s:
            self.assertTrue(query_ok(s, 1))
            self.assertFalse(closes_within(s, 1.0), "closed while idle after a complete query")
            self.assertTrue(query_ok(s, 2))

    def test_max_queries_per_connection(self):
        with connect_from(self.server.addr("tcp4"), "127.0.0.1") as s:
            s.sendall(b"".join(h.frame(h.build_query("www.example.com", id=i)) for i in range(8)))
            replies = []
            while len(replies) < 9:
                r = h.recv_frame(s)
                if r is None:
                    break
                replies.append(h.parse_message(r).id)
            self.assertEqual(replies, [0, 1, 2, 3, 4], "tcp_max_queries_per_connection = 5")
            self.assertTrue(closes_within(s, 2.0))


class TimerWhileActiveTest(h.DnsTestCase):
    """The connection timer is not re-armed per read: it wakes at most the
    shorter timeout (here 0.3 s) ahead and waits again if the deadline moved
    on. An active connection must survive those wake-ups, and a deadline
    that comes closer (a message begun during a long idle wait) must still
    be kept."""

    @classmethod
    def setUpClass(cls):
        cls.server = h.class_server(cls, tcp_query_timeout=0.3, tcp_idle_timeout=3,
                                    tcp_max_queries_per_connection=1000)

    def test_asking_connection_outlives_its_timer_then_idles_out(self):
        with connect_from(self.server.addr("tcp4"), "127.0.0.1") as s:
            for i in range(8):   # 1.6 s: five or more timer wake-ups
                self.assertTrue(query_ok(s, i), f"query {i} after {i * 0.2:.1f}s")
                time.sleep(0.2)
            last = time.monotonic()
            self.assertTrue(closes_within(s, 6.0), "not closed after the idle timeout")
            idle = time.monotonic() - last
            self.assertGreater(idle, 2.0, f"closed {idle:.1f}s after the last query (idle timeout 3 s)")

    def test_message_begun_while_idle_gets_the_query_timeout(self):
        with connect_from(self.server.addr("tcp4"), "127.0.0.1") as s:
            self.assertTrue(query_ok(s, 1))
            time.sleep(0.5)   # idle: the deadline is 3 s out, the timer has woken once
            s.sendall(b"\x00")   # the first byte of a message
            t0 = time.monotonic()
            self.assertTrue(closes_within(s, 4.0))
            took = time.monotonic() - t0
            self.assertLess(took, 1.5, f"closed {took:.1f}s after a partial message (tcp_query_timeout 0.3 s)")
            self.assertGreater(took, 0.2)


class UnreadOutputTest(h.DnsTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = h.class_server(cls, tcp_max_pending_output=4096, tcp_idle_timeout=1, threads=1,
                                    tcp_max_queries_per_connection=1000000)

    def test_client_that_does_not_read_is_paused_then_closed(self):
        # We send queries for ~1.5 KB answers and never read. If the server
        # kept reading and answering, every query would restart its idle
        # timer and the connection would live as long as we keep sending;
        # because it stops reading once 4 KB of answers wait unsent, it sees
        # no activity and closes the connection after the 1 s idle timeout,
        # while we are still trying to send.
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(s.close)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # before connect: a small window
        s.connect(self.server.addr("tcp4"))
        s.settimeout(0.3)
        query = h.frame(h.build_query("big.example.com", "TXT"))
        t0 = time.monotonic()
        sent, closed_at = 0, None
        while time.monotonic() - t0 < 10 and closed_at is None:
            try:
                s.sendall(query * 16)
                sent += 16
            except socket.timeout:
                pass   # our send buffer is full too: keep trying until the server gives up
            except OSError:
                closed_at = time.monotonic() - t0
        self.assertIsNotNone(closed_at, f"connection still open after 10 s and {sent} unread answers")
        self.assertGreater(closed_at, 0.8, "closed before the idle timeout")
        print(f"\n  unread output: closed {closed_at:.2f}s after the first query, "
              f"{sent} queries sent (tcp_idle_timeout 1 s)")
        self.assertAlive("tcp4")   # the server itself is fine


if __name__ == "__main__":
    unittest.main()
