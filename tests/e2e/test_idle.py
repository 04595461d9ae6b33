"""An idle server does no periodic work. With nothing asked, none of its
threads wakes up: not the main loop, the health checker (no checks
configured), the UDP threads, the TCP loops, the admin endpoint or the file
watcher. A poll timeout or a periodic timer would cost CPU and power on an
idle host, and it would land in the benchmark's CPU per query
(bench/runner.py counts every thread)."""
import os
import re
import time
import unittest
import urllib.request
from pathlib import Path

import harness as h

QUIET = 2.5   # seconds watched; longer than any timer a change might add by mistake


def thread_switches(pid: int) -> dict[str, int]:
    """"name/tid" -> context switches (voluntary + involuntary) of each
    thread: a thread that sleeps and wakes adds at least one."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            base = Path(f"/proc/{pid}/task/{tid}")
            name = (base / "comm").read_text().strip()
            status = (base / "status").read_text()
        except OSError:   # the thread ended
            continue
        out[f"{name}/{tid}"] = sum(int(n) for n in re.findall(r"^\w*voluntary_ctxt_switches:\s+(\d+)", status, re.M))
    return out


class IdleTest(unittest.TestCase):
    def test_no_thread_wakes_while_nothing_is_asked(self):
        srv = h.Server(threads=2, admin=True, watch=True)
        self.addCleanup(srv.close)
        srv.start()
        # Every part has done some work first: UDP and TCP over both
        # families, and one admin request (its connection then closes).
        for transport in ("udp4", "udp6", "tcp4", "tcp6"):
            self.assertEqual(sorted(srv.dig("www.example.com", "A", transport=transport).rdata("A")),
                             ["192.0.2.10", "192.0.2.11", "192.0.2.12"], transport)
        with urllib.request.urlopen(f"http://{srv.admin_addr}/metrics", timeout=5) as r:
            self.assertEqual(r.status, 200)
        pid = srv.proc.pid
        self.assertTrue(h.poll(lambda: h.threads_asleep(pid), 5.0), "a thread kept running after the last request")
        time.sleep(0.2)   # the admin connection's close and the last answers settle
        before = thread_switches(pid)
        self.assertGreaterEqual(len(before), 7, before)   # main, health, 4 UDP, 2 TCP, admin...
        time.sleep(QUIET)
        after = thread_switches(pid)
        # A thread started in the meantime counts too.
        woke = {t: n - before.get(t, 0) for t, n in after.items() if n != before.get(t)}
        self.assertEqual(woke, {}, f"threads that woke in {QUIET} s with nothing asked")
        self.assertTrue(srv.alive())


if __name__ == "__main__":
    unittest.main()
