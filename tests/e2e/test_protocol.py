"""Header handling and malformed input (RFC 1035 section 4.1, RFC 6895).

Covers AA/QR/RD/ID, the echoed question, REFUSED for foreign zones, NOTIMP
for other opcodes, FORMERR for malformed queries, and that packets which
must not be answered (responses, garbage) are dropped without harm.
"""

import random
import socket
import struct
import unittest
from concurrent.futures import ThreadPoolExecutor

import harness as h

def setUpModule():
    ProtocolTest.server = h.module_server()


class ProtocolTest(h.DnsTestCase):
    # -- header flags ------------------------------------------------------
    def test_authoritative_answer_sets_qr_and_aa(self):
        def check(t):
            r = self.server.dig("www.example.com", "A", transport=t)
            self.assertEqual(r.rcode, "NOERROR")
            self.assertEqual(r.opcode, "QUERY")
            self.assertIn("qr", r.flags)
            self.assertIn("aa", r.flags)
            self.assertNotIn("ra", r.flags)   # authoritative only: no recursion offered
        self.over_all(check)

    def test_rd_is_copied(self):
        def check(t):
            self.assertIn("rd", self.server.dig("www.example.com", "A", "+rec", transport=t).flags)
            self.assertNotIn("rd", self.server.dig("www.example.com", "A", "+norec", transport=t).flags)
        self.over_all(check)

    def test_id_is_echoed(self):
        def check(t):
            for qid in (0x0000, 0x0001, 0xBEEF, 0xFFFF):
                m = self.server.raw(h.build_query("www.example.com", id=qid), t)
                self.assertIsNotNone(m)
                self.assertEqual(m.id, qid)
                self.assertTrue(m.qr)
        self.over_all(check)

    def test_question_echoed_with_original_case(self):
        # The reply must repeat the question byte for byte (0x20 case randomisation
        # in resolvers relies on it).
        sent = h.question("WwW.ExAmPlE.CoM", "A")
        def check(t):
            m = self.server.raw(h.header() + sent, t)
            self.assertEqual(m.question_bytes, sent)
            self.assertEqual(m.question, [("WwW.ExAmPlE.CoM.", 1, h.CLASS_IN)])
            self.assertEqual(m.rcode, 0)
            self.assertTrue(m.aa)
            self.assertEqual(len(m.answer), 3)
        self.over_all(check)

    def test_cd_copied_other_flags_not(self):
        # RFC 4035 3.1.6: CD is copied; AA/TC/RA/Z/AD sent by a client mean nothing.
        def check(t):
            for sent, want in ((h.FLAG_CD, h.FLAG_CD), (h.FLAG_AD, 0), (h.FLAG_Z, 0), (h.FLAG_RA, 0),
                               (h.FLAG_TC | h.FLAG_AA, 0)):
                m = self.server.raw(h.build_query("example.com", "SOA", flags=sent), t)
                self.assertEqual(m.rcode, 0)
                self.assertEqual(m.flags & 0x02F0, want, f"query flags {sent:#06x} -> reply {m.flags:#06x}")
                self.assertTrue(m.aa)
        self.over_all(check, ("udp4", "tcp6"))

    def test_longest_name_is_answered(self):
        # 255 octets on the wire is the limit (RFC 1035 2.3.4).
        name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 49, "example", "com"])
        sent = h.question(name, "A")
        self.assertEqual(len(h.encode_name(name)), 255)
        def check(t):
            m = self.server.raw(h.header() + sent, t)
            self.assertEqual(m.rcode, h.RCODES["NXDOMAIN"])
            self.assertEqual(m.question_bytes, sent)
        self.over_all(check, ("udp4", "tcp4"))

    def test_zone_transfer_not_offered(self):
        def check(t):
            for qtype in (252, 251):   # AXFR, IXFR
                m = self.server.raw(h.build_query("example.com", qtype), t)
                self.assertIn(m.rcode, (h.RCODES["REFUSED"], h.RCODES["NOTIMP"]), f"qtype {qtype}")
                self.assertEqual(m.answer, [])
        self.over_all(check, ("udp4", "tcp4"))

    def test_concurrent_clients(self):
        # Many sockets at once across the worker threads: each gets its own answer.
        def client(n):
            with h.socket_for(self.server.addr("udp4"), socket.SOCK_DGRAM) as s:
                s.settimeout(h.QUERY_TIMEOUT)
                results = []
                for i in range(25):
                    qid = (n << 8) | i
                    s.sendto(h.build_query("www.example.com", id=qid), self.server.addr("udp4"))
                    try:
                        m = h.parse_message(s.recvfrom(65535)[0])
                        results.append(m.id == qid and len(m.answer) == 3)
                    except socket.timeout:
                        results.append(False)
                return results
        with ThreadPoolExecutor(16) as pool:
            results = [ok for r in pool.map(client, range(16)) for ok in r]
        self.assertEqual(results.count(False), 0, f"{results.count(False)} of {len(results)} failed")

    # -- REFUSED / NOTIMP --------------------------------------------------
    def test_refused_for_zone_not_served(self):
        def check(t):
            for name in ("example.org", "www.example.org", "com", "."):
                r = self.server.dig(name, "A", transport=t)
                self.assertEqual(r.rcode, "REFUSED", name)
                self.assertNotIn("aa", r.flags, name)
                self.assertEqual(r.answer, [], name)
        self.over_all(check)

    def test_notimp_for_notify_and_update(self):
        def check(t):
            for opcode in (h.OPCODE_NOTIFY, h.OPCODE_UPDATE):
                m = self.server.raw(h.build_query("example.com", "SOA", id=0x4242, opcode=opcode), t)
                self.assertIsNotNone(m, f"no reply to opcode {opcode}")
                self.assertEqual(m.rcode, h.RCODES["NOTIMP"], f"opcode {opcode}")
                self.assertEqual(m.opcode, opcode)
                self.assertEqual(m.id, 0x4242)
                self.assertTrue(m.qr)
        self.over_all(check)

    # -- FORMERR -----------------------------------------------------------
    def formerr_packets(self):
        q = h.question("www.example.com", "A")
        name = h.encode_name("www.example.com")
        answer_rr = name + struct.pack("!HHIH", 1, 1, 300, 4) + bytes([192, 0, 2, 1])
        opt = h.opt_rr()
        # qname www.example.com ending in a pointer to offset 11, the low byte of
        # ARCOUNT (0, the root): a valid backward pointer, but compression has
        # no place in a question.
        compressed = b"\x03www\x07example\x03com" + struct.pack("!HHH", 0xC000 | 11, 1, 1)
        return {
            "qdcount=0": h.header(qd=0),
            "qdcount=0 with question bytes": h.header(qd=0) + q,
            "qdcount=2": h.header(qd=2) + q + h.question("example.com", "SOA"),
            "truncated question name": h.header() + name[:7],
            "question without type/class": h.header() + name,
            "question missing qclass": h.header() + name + b"\x00\x01",
            "label longer than 63": h.header() + b"\x40" + b"a" * 64 + b"\x07example\x03com\x00\x00\x01\x00\x01",
            "compression pointer in question": h.header() + compressed,
            "ancount=1": h.header(an=1) + q + answer_rr,
            "nscount=1": h.header(ns=1) + q + answer_rr,
            "two OPT records": h.header(ar=2) + q + opt + opt,
            "OPT owner not root": h.header(ar=1) + q + b"\x01x" + opt[1:],
            "OPT option overruns rdata": h.header(ar=1) + q + b"\0" + struct.pack("!HHIHHH", 41, 1232, 0, 4, 65001, 10),
            "name longer than 255": h.header() + h.question(".".join(["a" * 63] * 3 + ["d" * 50, "example", "com"])),
        }

    def test_formerr_for_malformed_queries(self):
        def check(t):
            for label, packet in self.formerr_packets().items():
                with self.subTest(packet=label):
                    m = self.server.raw(packet, t)
                    self.assertIsNotNone(m, "no reply")
                    self.assertEqual(m.rcode, h.RCODES["FORMERR"])
                    self.assertTrue(m.qr)
                    self.assertEqual(m.id, 0x1234)
                    self.assertEqual(m.ancount, 0)
        self.over_all(check, ("udp4", "tcp4", "udp6"))

    # -- packets that get no reply ------------------------------------------
    def test_responses_are_not_answered(self):
        def check(t):
            m = self.server.raw(h.build_query("www.example.com", flags=h.FLAG_QR), t, timeout=1.0)
            self.assertIsNone(m, "a packet with QR=1 was answered")
            self.assertAlive(t)
        self.over_all(check, ("udp4", "udp6"))

    def test_garbage_does_not_hurt(self):
        rng = random.Random(8482)   # fixed seed: failures are reproducible
        packets = [b"", b"\x00", b"\x12\x34\x01\x00\x00", bytes(11)]
        packets += [bytes(rng.randrange(256) for _ in range(rng.randrange(12, 600))) for _ in range(40)]
        # Plausible headers with random bodies reach deeper into the parser.
        packets += [h.header(qd=rng.randrange(1, 3), ar=rng.randrange(0, 3))
                    + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80))) for _ in range(40)]
        addr = self.server.addr("udp4")
        for p in packets:
            if p:
                with h.socket_for(addr, socket.SOCK_DGRAM) as s:
                    s.sendto(p, addr)
        self.assertTrue(self.server.alive(), "server exited after garbage")
        self.assertAlive("udp4")
        # The same over TCP: each frame on its own connection.
        for p in packets[:8]:
            h.send_tcp(self.server.addr("tcp4"), p, timeout=0.3)
        self.assertTrue(self.server.alive(), "server exited after TCP garbage")
        self.assertAlive("tcp4")

    def test_five_byte_packet_then_normal_query(self):
        def check(t):
            send = h.send_tcp if t.startswith("tcp") else h.send_udp
            send(self.server.addr(t), b"\x12\x34\x01\x00\x00", 0.5)
            self.assertAlive(t)
        self.over_all(check)


if __name__ == "__main__":
    unittest.main()
