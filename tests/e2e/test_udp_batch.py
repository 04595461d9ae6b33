"""The UDP path answers a batch of datagrams in three passes (parse them all,
start their zone reads, answer them; server/udp_batch.cpp). A batch of
mixed queries must get, query by query, the answer each gets when it is
sent alone: nothing of one query (its EDNS, its client subnet, its zone)
may reach the answer of another. The server is stopped (SIGSTOP) while the
batch arrives, so one recvmmsg takes all of it. Bounded: 30 datagrams."""
import os
import signal
import socket
import struct
import time
import unittest

import harness as h

ECS = 8  # EDNS Client Subnet option code


def ecs_option(net: bytes, prefix: int) -> tuple[int, bytes]:
    return (ECS, struct.pack("!HBB", 1, prefix, 0) + net)


def edns(*options) -> bytes:
    return h.opt_rr(options=list(options))


# (qname, qtype, qclass, OPT or None); a bytes item is sent as it is.
MIX = [
    ("www.example.com", "A", h.CLASS_IN, edns(ecs_option(bytes([198, 51, 100]), 24))),
    ("www.example.com", "AAAA", h.CLASS_IN, edns()),  # right after a query with ECS: no ECS here
    ("missing.example.com", "A", h.CLASS_IN, edns()),  # NXDOMAIN
    ("alias.example.com", "A", h.CLASS_IN, None),  # CNAME chain
    ("x.apps.example.com", "A", h.CLASS_IN, edns()),  # wildcard CNAME
    ("a.wild.example.com", "TXT", h.CLASS_IN, None),  # wildcard
    ("sub.example.com", "A", h.CLASS_IN, edns()),  # referral with glue
    ("_sip._tcp.example.com", "SRV", h.CLASS_IN, edns()),
    ("big.example.com", "TXT", h.CLASS_IN, None),  # truncated at 512
    ("WwW.ExAmPlE.nEt", "A", h.CLASS_IN, edns()),  # another zone, mixed case
    ("example.org", "A", h.CLASS_IN, None),  # not ours: REFUSED
    ("id.server", "TXT", 3, None),  # CHAOS
    ("example.com", "SOA", h.CLASS_IN, edns(ecs_option(b"", 0))),
    ("mail.example.com", "AAAA", h.CLASS_IN, None),
    b"\x12",  # too short: dropped
    h.header(qd=2) + h.question("www.example.com") + h.question("mail.example.com"),  # FORMERR
]


def packets() -> list[bytes]:
    """30 datagrams cycling through MIX, each with its own ID (the IDs of the
    raw ones are rewritten where there is a header to rewrite)."""
    out = []
    for i in range(30):
        item = MIX[i % len(MIX)]
        qid = 0x4000 + i
        if isinstance(item, bytes):
            out.append(struct.pack("!H", qid) + item[2:] if len(item) >= 12 else item)
        else:
            qname, qtype, qclass, opt = item
            out.append(h.build_query(qname, qtype, qclass, id=qid, edns=opt))
    return out


def summary(raw: bytes):
    """What must not depend on the other queries of a batch: everything but
    the order of records (round robin moves on with every answer)."""
    m = h.parse_message(raw)
    rrs = lambda section: sorted((rr.name.lower(), rr.rtype, rr.rclass, rr.ttl, rr.rdata)
                                 for rr in section if rr.rtype != 41)
    return (m.id, m.flags, m.rcode, m.question_bytes, rrs(m.answer), rrs(m.authority), rrs(m.additional),
            m.opt is not None, m.edns_options())


class UdpBatchTest(unittest.TestCase):
    def setUp(self):
        self.srv = h.Server(threads=1, listen=("127.0.0.1:0",))
        self.addCleanup(self.srv.close)
        self.srv.start()
        self.addr = self.srv.addrs[socket.AF_INET]

    def alone(self, packet: bytes):
        """The answer to `packet` sent by itself, or None when none comes."""
        got = h.send_udp(self.addr, packet, timeout=0.5)
        return summary(got) if got else None

    def test_a_mixed_batch_gets_the_answers_of_its_queries_sent_alone(self):
        pkts = packets()
        expected = {}
        for p in pkts:
            if (a := self.alone(p)) is not None:
                expected[a[0]] = a
        # The dropped datagrams get no answer; every other one does.
        self.assertEqual(len(expected), sum(1 for p in pkts if len(p) >= 12), sorted(expected))

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(1.0)
            os.kill(self.srv.proc.pid, signal.SIGSTOP)
            try:
                for p in pkts:
                    s.sendto(p, self.addr)
            finally:
                os.kill(self.srv.proc.pid, signal.SIGCONT)
            got = {}
            deadline = time.monotonic() + 5
            while len(got) < len(expected) and time.monotonic() < deadline:
                try:
                    a = summary(s.recv(65535))
                except socket.timeout:
                    break
                self.assertNotIn(a[0], got, "two answers with one ID")
                got[a[0]] = a
        self.assertEqual(sorted(got), sorted(expected))
        for qid in sorted(expected):
            with self.subTest(id=hex(qid)):
                self.assertEqual(got[qid], expected[qid])
        # The answers themselves are what they should be (so the comparison
        # above is between right answers, not two wrong ones).
        by_id = {qid: a for qid, a in got.items()}
        ecs_answer, plain_answer = by_id[0x4000], by_id[0x4001]
        self.assertEqual([code for code, _ in ecs_answer[8]], [ECS])
        self.assertEqual(plain_answer[8], [])
        self.assertEqual(by_id[0x4002][2], 3)  # NXDOMAIN
        self.assertEqual(by_id[0x400A][2], 5)  # REFUSED
        self.assertEqual(by_id[0x400F][2], 1)  # FORMERR
        self.assertTrue(by_id[0x4008][1] & h.FLAG_TC)


if __name__ == "__main__":
    unittest.main()
