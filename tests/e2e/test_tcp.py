"""DNS over TCP (RFC 7766): framing, pipelining, idle timeout, connection cap."""

import socket
import time
import unittest

import harness as h

NAMES = ["www.example.com", "mail.example.com", "example.com", "nope.example.com", "sip.example.com"]


def query_ok(s: socket.socket, qid: int) -> bool:
    """Sends one framed query on an open connection; True if answered."""
    try:
        s.sendall(h.frame(h.build_query("www.example.com", id=qid)))
    except OSError:
        return False
    data = h.recv_frame(s)
    return data is not None and h.parse_message(data).id == qid


class FramingTest(h.DnsTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = h.class_server(cls)

    def test_pipelined_queries_in_one_write(self):
        def check(t):
            queries = {0x100 + i: h.build_query(name, "A", id=0x100 + i) for i, name in enumerate(NAMES)}
            with h.tcp_connect(self.server.addr(t)) as s:
                s.sendall(b"".join(h.frame(q) for q in queries.values()))   # one write
                replies = [h.recv_frame(s) for _ in queries]
            self.assertNotIn(None, replies, "not every pipelined query was answered")
            by_id = {m.id: m for m in map(h.parse_message, replies)}
            self.assertEqual(set(by_id), set(queries))
            for qid, name in zip(queries, NAMES):
                self.assertEqual(by_id[qid].question, [(name + ".", 1, 1)], f"id {qid:#x}")
            self.assertEqual(by_id[0x103].rcode, h.RCODES["NXDOMAIN"])
            self.assertEqual(len(by_id[0x100].answer), 3)
        self.over_all(check, ("tcp4", "tcp6"))

    def test_many_pipelined_large_answers(self):
        # ~60 KB of replies to one write: the server must keep writing while
        # we read slowly, without dropping or mixing up messages.
        queries = [h.build_query("big.example.com" if i % 2 else "www.example.com",
                                 "TXT" if i % 2 else "A", id=i) for i in range(64)]
        with h.tcp_connect(self.server.addr("tcp4"), timeout=5) as s:
            s.sendall(b"".join(map(h.frame, queries)))
            time.sleep(0.3)   # let the server fill its socket buffers
            replies = [h.recv_frame(s) for _ in queries]
        self.assertNotIn(None, replies)
        msgs = sorted(map(h.parse_message, replies), key=lambda m: m.id)
        self.assertEqual([m.id for m in msgs], list(range(64)))
        self.assertEqual([len(m.answer) for m in msgs], [3, 8] * 32)

    def test_length_prefix(self):
        with h.tcp_connect(self.server.addr("tcp4")) as s:
            s.sendall(h.frame(h.build_query("big.example.com", "TXT")))
            length = h.recv_exact(s, 2)
            self.assertIsNotNone(length)
            n = int.from_bytes(length, "big")
            body = h.recv_exact(s, n)
            self.assertIsNotNone(body, f"connection ended before {n} announced bytes")
            m = h.parse_message(body)   # raises if the length is off (trailing/missing bytes)
            self.assertEqual(len(m.answer), 8)
            self.assertGreater(n, 1232)

    def test_query_split_across_writes(self):
        # Framing must not depend on segment boundaries.
        def check(t):
            data = h.frame(h.build_query("www.example.com", id=0x5151))
            with h.tcp_connect(self.server.addr(t)) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                for piece in (data[:1], data[1:2], data[2:9], data[9:]):
                    s.sendall(piece)
                    time.sleep(0.05)
                m = h.parse_message(h.recv_frame(s))
            self.assertEqual((m.id, len(m.answer)), (0x5151, 3))
        self.over_all(check, ("tcp4", "tcp6"))

    def test_half_closed_connection_still_answered(self):
        # A client may shut down its sending side right after its queries.
        def check(t):
            with h.tcp_connect(self.server.addr(t)) as s:
                s.sendall(h.frame(h.build_query("www.example.com", id=1))
                          + h.frame(h.build_query("big.example.com", "TXT", id=2)))
                s.shutdown(socket.SHUT_WR)
                replies = [h.recv_frame(s), h.recv_frame(s)]
                self.assertNotIn(None, replies)
                self.assertEqual([len(h.parse_message(r).answer) for r in replies], [3, 8])
                self.assertTrue(h.wait_closed(s, 2.0), "server kept the half-closed connection open")
        self.over_all(check, ("tcp4", "tcp6"))

    def test_sequential_queries_reuse_connection(self):
        with h.tcp_connect(self.server.addr("tcp4")) as s:
            for qid in range(1, 6):
                self.assertTrue(query_ok(s, qid), f"query {qid} on the same connection")


class IdleTimeoutTest(h.DnsTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = h.class_server(cls, tcp_idle_timeout=1)

    def test_silent_connection_closed(self):
        def check(t):
            with h.tcp_connect(self.server.addr(t)) as s:
                start = time.monotonic()
                self.assertTrue(h.wait_closed(s, 3.0), "idle connection still open after 3 s")
                self.assertGreater(time.monotonic() - start, 0.5, "closed before the 1 s timeout")
        self.over_all(check, ("tcp4", "tcp6"))

    def test_connection_closed_after_last_query(self):
        with h.tcp_connect(self.server.addr("tcp4")) as s:
            self.assertTrue(query_ok(s, 7))
            self.assertTrue(h.wait_closed(s, 3.0), "connection still open 3 s after its last query")
        self.assertAlive("tcp4")


class ConnectionCapTest(h.DnsTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = h.class_server(cls, tcp_max_connections=2)

    def test_third_connection_refused(self):
        addr = self.server.addr("tcp4")
        with h.tcp_connect(addr) as c1, h.tcp_connect(addr) as c2:
            self.assertTrue(query_ok(c1, 1))
            self.assertTrue(query_ok(c2, 2))
            with h.tcp_connect(addr) as c3:
                # Over the cap: closed promptly or at least never answered.
                self.assertFalse(query_ok(c3, 3), "third connection answered with tcp_max_connections = 2")
            self.assertTrue(query_ok(c1, 4), "first connection dropped")
            self.assertTrue(query_ok(c2, 5), "second connection dropped")
        # Once the two close, a new connection is served again (bounded retry:
        # the server notices the closes asynchronously).
        deadline = time.monotonic() + 3
        while True:
            with h.tcp_connect(addr) as c4:
                if query_ok(c4, 6):
                    break
            self.assertLess(time.monotonic(), deadline, "no connection accepted after the others closed")
            time.sleep(0.1)
        self.assertAlive("udp4")


if __name__ == "__main__":
    unittest.main()
