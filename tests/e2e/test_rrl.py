"""Response rate limiting (docs/hardening.md#response-rate-limiting): one
client flooding the same question gets about its budget of answers, part of
the rest as empty TC=1 answers (slip) and nothing for the remainder; another
client network is unaffected; TCP is never limited; /status counts match."""

import json
import select
import socket
import time
import unittest

import harness as h

RATE = 10
ZONE = h.soa_zone("rrl.test.", """
[records.www]
A = "192.0.2.10"
""")
RRL = f"""
[rrl]
enabled = true
responses_per_second = {RATE}
slip = 2
window = 15
"""


def udp_from(source: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.setblocking(False)
    return s


class Tally:
    def __init__(self):
        self.answered = self.slipped = self.other = 0

    def add(self, data: bytes) -> None:
        m = h.parse_message(data)
        if m.tc and not m.answer and not m.authority and not m.additional:
            self.slipped += 1
        elif len(m.answer) == 1 and not m.tc:
            self.answered += 1
        else:
            self.other += 1

    def drain(self, s: socket.socket, wait: float = 0.0) -> None:
        while select.select([s], [], [], wait)[0]:
            try:
                self.add(s.recv(65535))
            except BlockingIOError:
                break


def flood(addr, source: str, n: int, duration: float, qname: str = "www.rrl.test") -> Tally:
    """Sends n queries spread over `duration` seconds, reading replies as they come."""
    s = udp_from(source)
    t = Tally()
    query = h.build_query(qname)
    start = time.monotonic()
    for i in range(n):
        s.sendto(query, addr)
        t.drain(s)
        pause = start + duration * (i + 1) / n - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    t.drain(s, 0.5)   # stragglers
    s.close()
    return t


class RrlTest(h.DnsTestCase):
    @classmethod
    def setUpClass(cls):
        # One worker: a client's datagrams always meet the same accounts
        # (with several, SO_REUSEPORT spreads source ports over workers and
        # each enforces the budget on its own: docs/hardening.md).
        cls.server = h.class_server(cls, example_zones=False, zones={"rrl.test.toml": ZONE},
                                    threads=1, admin=True, extra_config=RRL)

    def rrl_status(self) -> dict:
        r = self.server.ctl("--json", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)["rrl"]

    def test_flood_is_limited_and_other_networks_are_not(self):
        addr = self.server.addr("udp4")
        before = self.rrl_status()
        t0 = time.monotonic()
        t = flood(addr, "127.0.0.1", 500, 1.0)
        took = time.monotonic() - t0
        after = self.rrl_status()
        dropped = after["dropped"] - before["dropped"]
        slipped = after["slipped"] - before["slipped"]
        print(f"\n  flood from 127.0.0.1: 500 queries in {took:.2f}s -> {t.answered} answered, "
              f"{t.slipped} slipped (TC=1), {dropped} dropped (server counts: slipped {slipped})")
        self.assertEqual(t.other, 0)
        # The budget: a burst of RATE, plus RATE/s refill over the flood at most.
        self.assertGreaterEqual(t.answered, RATE)
        self.assertLessEqual(t.answered, RATE * (took + 1))
        # Every limited response is dropped or slipped, every second one slipped.
        self.assertEqual(slipped, t.slipped)
        self.assertEqual(t.answered + slipped + dropped, 500)
        self.assertLessEqual(abs(slipped - dropped), 1)

        # Another network (127.0.1.0/24) is not limited.
        other = flood(addr, "127.0.1.2", 5, 0.1)
        print(f"  second source 127.0.1.2: 5 queries -> {other.answered} answered")
        self.assertEqual(other.answered, 5)
        # The flooder's own /24 is: 127.0.0.2 shares 127.0.0.1's account.
        same = flood(addr, "127.0.0.2", 6, 0.1)
        self.assertEqual(same.answered, 0, "127.0.0.2 is in the flooding /24")
        self.assertEqual(same.slipped, 3)

    def test_tcp_is_never_limited(self):
        addr = self.server.addr("tcp4")
        flood(self.server.addr("udp4"), "127.0.0.5", 100, 0.2, "tcp.rrl.test")   # exhaust 127.0.0.0/24's budget
        with h.tcp_connect(addr) as s:
            s.sendall(b"".join(h.frame(h.build_query("tcp.rrl.test", id=i)) for i in range(50)))
            replies = [h.recv_frame(s) for _ in range(50)]
        self.assertNotIn(None, replies)
        self.assertEqual(sorted(h.parse_message(r).id for r in replies), list(range(50)))

    def test_status_shows_rrl_per_worker(self):
        st = self.rrl_status()
        self.assertTrue(st["enabled"])
        self.assertEqual(len(st["workers"]), 1)
        self.assertEqual(st["workers"][0]["dropped"], st["dropped"])
        self.assertIn("evictions", st)


class RrlOffTest(h.DnsTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = h.class_server(cls, example_zones=False, zones={"rrl.test.toml": ZONE}, threads=1)

    def test_off_by_default(self):
        t = flood(self.server.addr("udp4"), "127.0.0.1", 100, 0.2)
        self.assertEqual(t.answered, 100)


if __name__ == "__main__":
    unittest.main()
