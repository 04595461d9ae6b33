"""Malformed packets against the real binary, over UDP and TCP, IPv4 and
IPv6: each gets FORMERR or no answer, and the next normal query is still
answered (docs/hardening.md). Under the sanitizer build (tests/run-
sanitizers.sh) any out-of-bounds read these provoke aborts the server,
which the harness reports when it stops it."""

import socket
import struct
import unittest

import harness as h

WWW = h.question("www.example.com", "A")


def hostile_packets() -> dict[str, bytes]:
    """Name -> packet. None of them is a well-formed query."""
    long_label = bytes([64]) + b"a" * 64 + b"\0" + struct.pack("!HH", 1, 1)
    long_name = b"".join(bytes([63]) + b"b" * 63 for _ in range(5)) + b"\0" + struct.pack("!HH", 1, 1)
    opt_bad_len = b"\0" + struct.pack("!HHIH", 41, 1232, 0, 30) + b"\0\x03\0\0"   # rdata length past the end
    opt_option_past = h.opt_rr(options=[]) [:-2] + struct.pack("!H", 5) + b"\0\x03\0\x09\x01"
    ecs_garbage = h.opt_rr(options=[(8, b"\0\x03\x08\0\x01")])   # family 3: FORMERR (RFC 7871 section 6)
    return {
        "short header": b"\x12\x34\x01",
        "no question": h.header(qd=0),
        "question count lies": h.header(qd=3) + WWW,
        "additional count lies": h.header(ar=9) + WWW,
        "answer in a query": h.header(an=1) + WWW,
        "cut question": h.header() + WWW[:7],
        "label over 63": h.header() + long_label,
        "name over 255": h.header() + long_name,
        "pointer to itself": h.header() + b"\xc0\x0c" + struct.pack("!HH", 1, 1),
        "pointer loop": h.header() + b"\x01a\xc0\x0c" + struct.pack("!HH", 1, 1),
        "pointer past end": h.header() + b"\xff\xff" + struct.pack("!HH", 1, 1),
        "opt rdata past end": h.header(ar=1) + WWW + opt_bad_len,
        "option past opt": h.header(ar=1) + WWW + opt_option_past,
        "two opt": h.header(ar=2) + WWW + h.opt_rr() + h.opt_rr(),
        "opt with owner": h.header(ar=1) + WWW + b"\x01x" + h.opt_rr()[1:],
        "garbage ecs": h.header(ar=1) + WWW + ecs_garbage,
        "trailing garbage": h.build_query("www.example.com") + b"\xee" * 3000,
        "a response": h.header(flags=h.FLAG_QR) + WWW,
    }


class MalformedTest(h.DnsTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = h.class_server(cls)

    def check_reply(self, name: str, packet: bytes, reply: bytes | None) -> None:
        if reply is None:
            return   # dropped: allowed
        if name == "a response":
            self.fail("a response (QR=1) was answered")
        msg = h.parse_message(reply)   # raises if the reply itself is malformed
        self.assertTrue(msg.flags & h.FLAG_QR, name)
        self.assertEqual(msg.id, struct.unpack("!H", packet[:2])[0], name)
        if name == "trailing garbage":   # octets after the last record: ignored or FORMERR
            self.assertIn(msg.rcode, (h.RCODES["NOERROR"], h.RCODES["FORMERR"]), name)
            if msg.rcode == h.RCODES["NOERROR"]:
                self.assertEqual(len(msg.answer), 3, name)
        else:
            self.assertEqual(msg.rcode, h.RCODES["FORMERR"], name)

    def test_udp(self):
        def check(t):
            for name, packet in hostile_packets().items():
                with self.subTest(packet=name):
                    reply = h.send_udp(self.server.addr(t), packet, timeout=0.5)
                    self.check_reply(name, packet, reply)
                    self.assertAlive(t)
        self.over_all(check, ("udp4", "udp6"))

    def test_tcp_one_connection_each(self):
        def check(t):
            for name, packet in hostile_packets().items():
                if len(packet) < 12:
                    continue   # a frame shorter than a header closes the connection: own test
                with self.subTest(packet=name):
                    with h.tcp_connect(self.server.addr(t), timeout=1.0) as s:
                        s.sendall(h.frame(packet))
                        reply = h.recv_frame(s)
                        self.check_reply(name, packet, reply)
                        if reply is not None:   # the connection still serves
                            s.sendall(h.frame(h.build_query("www.example.com", id=0x4242)))
                            after = h.recv_frame(s)
                            self.assertIsNotNone(after, name)
                            self.assertEqual(h.parse_message(after).id, 0x4242)
                    self.assertAlive(t)
        self.over_all(check, ("tcp4", "tcp6"))

    def test_tcp_pipelined_garbage(self):
        # All hostile messages pipelined in one write, then a good query:
        # the good query's answer must arrive after whatever came before it.
        def check(t):
            stream = b"".join(h.frame(p) for p in hostile_packets().values() if len(p) >= 12)
            stream += h.frame(h.build_query("www.example.com", id=0x7777))
            with h.tcp_connect(self.server.addr(t), timeout=2.0) as s:
                s.sendall(stream)
                ids = []
                for _ in range(40):
                    data = h.recv_frame(s)
                    if data is None:
                        break
                    ids.append(h.parse_message(data).id)
                    if ids[-1] == 0x7777:
                        break
            self.assertIn(0x7777, ids)
            self.assertAlive(t)
        self.over_all(check, ("tcp4", "tcp6"))

    def test_tcp_bad_frames(self):
        def check(t):
            addr = self.server.addr(t)
            # A length below a DNS header: the server hangs up.
            with h.tcp_connect(addr) as s:
                s.sendall(b"\x00\x05hello")
                self.assertTrue(h.wait_closed(s, 2.0))
            # The largest frame (65535) announced, a part of it sent, then EOF.
            with h.tcp_connect(addr) as s:
                s.sendall(b"\xff\xff" + h.build_query("www.example.com") + b"\0" * 1000)
                s.shutdown(socket.SHUT_WR)
                self.assertTrue(h.wait_closed(s, 5.0))
            # A whole 65535-octet frame: a query with trailing garbage.
            q = h.build_query("www.example.com", id=0x6553)
            with h.tcp_connect(addr, timeout=2.0) as s:
                s.sendall(h.frame(q + b"\x01" * (65535 - len(q))))
                reply = h.recv_frame(s)
                self.check_reply("trailing garbage", q, reply)
            self.assertAlive(t)
        self.over_all(check, ("tcp4", "tcp6"))


if __name__ == "__main__":
    unittest.main()
