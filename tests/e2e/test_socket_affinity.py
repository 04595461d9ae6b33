"""[server] socket_affinity: each worker's threads (UDP and TCP) are pinned
to a CPU, and a query or TCP connection is served by the worker on the CPU
that received it. On loopback the receive path runs on the sender's CPU, so
queries sent from a thread pinned to CPU c must all wake the UDP threads of
worker c (over TCP: its loop thread, tcp-c) and none of the other worker's.
The same sends without the option reach both workers (the kernel's 4-tuple
hash over 64 source ports), which shows the count below can tell the two
apart."""
import os
import re
import socket
import unittest
from pathlib import Path

import harness as h

QUERIES = 64   # from as many sockets (source ports)
CPUS = os.sched_getaffinity(0)


def server_threads(pid: int) -> dict[str, int]:
    """Thread name ("udp-W.S", a worker's UDP thread for listen address S;
    "tcp-W", its loop thread, which serves TCP) -> its thread id."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
        if name.startswith(("udp-", "tcp-")):
            out[name] = int(tid)
    return out


def wakeups(pid: int, tid: int) -> int:
    """Voluntary context switches of a thread: a UDP thread makes one each
    time it blocks for the next datagram, a loop thread each time it waits
    in epoll, so this counts their wake-ups."""
    text = Path(f"/proc/{pid}/task/{tid}/status").read_text()
    return int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", text, re.M).group(1))


def ask_from_cpu(srv: h.Server, cpu: int, transport: str) -> None:
    """QUERIES queries, one socket (or TCP connection) each, sent and
    answered one at a time from this thread pinned to `cpu`."""
    family = socket.AF_INET6 if transport.endswith("6") else socket.AF_INET
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        for i in range(QUERIES):
            query = h.build_query("www.example.com", "A", id=i)
            if transport.startswith("tcp"):
                data = h.send_tcp(srv.addr(transport), query)
                if data is None:
                    raise AssertionError(f"query {i}: no answer over {transport}")
            else:
                with socket.socket(family, socket.SOCK_DGRAM) as s:
                    s.settimeout(h.QUERY_TIMEOUT)
                    s.sendto(query, srv.addr(transport))
                    data = s.recv(4096)
            reply = h.parse_message(data)
            if reply.rcode != 0 or not reply.answer:
                raise AssertionError(f"query {i}: rcode {reply.rcode}, no answer")
    finally:
        os.sched_setaffinity(0, before)


@unittest.skipUnless({0, 1} <= CPUS, "needs CPUs 0 and 1")
class SocketAffinityTest(unittest.TestCase):
    def start(self, **config) -> tuple[h.Server, dict[str, int]]:
        srv = h.Server(threads=2, **config)
        self.addCleanup(srv.close)
        srv.start()
        threads = server_threads(srv.proc.pid)
        self.assertEqual(sorted(threads), ["tcp-0", "tcp-1", "udp-0.0", "udp-0.1", "udp-1.0", "udp-1.1"])
        return srv, threads

    def spread(self, srv: h.Server, threads: dict[str, int], cpu: int, transport: str) -> dict[int, int]:
        """Wake-ups per worker while QUERIES queries come from `cpu`: of
        the UDP thread for the address asked, or of the TCP loop thread."""
        socket_index = "0" if transport.endswith("4") else "1"   # the IPv4 address is listed first
        name = "tcp-{}" if transport.startswith("tcp") else "udp-{}." + socket_index
        tids = {w: threads[name.format(w)] for w in (0, 1)}
        # A thread still finishing its last answer, or closing a
        # connection, would block inside the count and add one wake-up.
        self.assertTrue(h.poll(lambda: h.threads_asleep(srv.proc.pid, tids.values()), 5.0))
        before = {w: wakeups(srv.proc.pid, t) for w, t in tids.items()}
        ask_from_cpu(srv, cpu, transport)
        return {w: wakeups(srv.proc.pid, t) - before[w] for w, t in tids.items()}

    def test_threads_are_pinned_and_queries_stay_on_their_cpu(self):
        srv, threads = self.start(socket_affinity=True)
        for name, tid in threads.items():
            self.assertEqual(os.sched_getaffinity(tid), {int(name[4])}, name)
        self.assertIn("socket_affinity: UDP and TCP of worker 0 on CPU 0, worker 1 on CPU 1", srv.log_text())
        for transport in ("udp4", "udp6", "tcp4", "tcp6"):
            for cpu in (0, 1):
                with self.subTest(transport=transport, cpu=cpu):
                    got = self.spread(srv, threads, cpu, transport)
                    # All 64 were answered (ask_from_cpu) and the other
                    # worker never woke, so the worker of that CPU answered
                    # them. It need not wake once per query: under load it
                    # can find the next one queued before it sleeps.
                    self.assertGreater(got[cpu], 0, got)
                    self.assertEqual(got[1 - cpu], 0, got)

    def test_without_it_the_hash_spreads_the_same_queries(self):
        srv, threads = self.start(pin_workers=False)
        for tid in threads.values():
            self.assertEqual(os.sched_getaffinity(tid), CPUS)
        self.assertNotIn("pin_workers", srv.log_text())
        for transport in ("udp4", "tcp4"):
            with self.subTest(transport=transport):
                got = self.spread(srv, threads, 0, transport)
                self.assertGreater(got[0], 0, got)
                self.assertGreater(got[1], 0, got)

    def test_pin_workers_pins_without_steering(self):
        srv, threads = self.start(pin_workers=True)
        self.check_pinned_without_steering(srv, threads)

    def test_workers_are_pinned_by_default(self):
        srv, threads = self.start()   # no pin_workers key
        self.check_pinned_without_steering(srv, threads)

    def check_pinned_without_steering(self, srv: h.Server, threads: dict[str, int]) -> None:
        for name, tid in threads.items():
            self.assertEqual(os.sched_getaffinity(tid), {int(name[4])}, name)
        self.assertIn("pin_workers: UDP and TCP of worker 0 on CPU 0, worker 1 on CPU 1", srv.log_text())
        self.assertNotIn("socket_affinity", srv.log_text())
        # No steering: queries from one CPU still reach both workers.
        for transport in ("udp4", "tcp4"):
            with self.subTest(transport=transport):
                got = self.spread(srv, threads, 0, transport)
                self.assertGreater(got[0], 0, got)
                self.assertGreater(got[1], 0, got)

    def test_workers_without_a_cpu_are_named(self):
        workers = len(CPUS) + 2   # more workers than CPU numbers: some get no UDP queries
        srv = h.Server(threads=workers, socket_affinity=True)
        self.addCleanup(srv.close)
        srv.start()
        idle = [w for w in range(workers) if not any(c % workers == w for c in CPUS)]
        self.assertTrue(idle)
        self.assertRegex(srv.log_text(), r"socket_affinity: worker\(s\) "
                         + re.escape(", ".join(map(str, idle))) + " not pinned: no CPU this process may use")
        self.assertEqual(srv.dig("www.example.com").rcode, "NOERROR")


class PinWorkersMaskTest(unittest.TestCase):
    def test_the_affinity_mask_chooses_the_cpus(self):
        # As CPUAffinity= in the unit or taskset: one CPU allowed, two
        # workers. Both pinned there (they share it); the CPU % workers map
        # of socket_affinity would leave one of them without a CPU.
        cpu = max(CPUS)
        srv = h.Server(threads=2, pin_workers=True)
        self.addCleanup(srv.close)
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {cpu})
        try:
            srv.start()
        finally:
            os.sched_setaffinity(0, before)
        threads = server_threads(srv.proc.pid)
        self.assertIn("tcp-1", threads)
        for name, tid in threads.items():
            self.assertEqual(os.sched_getaffinity(tid), {cpu}, name)
        self.assertIn(f"pin_workers: UDP and TCP of worker 0 on CPU {cpu}, worker 1 on CPU {cpu}", srv.log_text())
        self.assertNotIn("not pinned", srv.log_text())
        self.assertEqual(srv.dig("www.example.com").rcode, "NOERROR")


class DefaultWorkerCountTest(unittest.TestCase):
    @unittest.skipUnless(len(CPUS) >= 2, "needs 2 CPUs to tell the machine's count from the allowed one")
    def test_one_worker_per_cpu_the_process_may_use(self):
        srv = h.Server(threads=None)   # no --threads, no threads key: the default
        self.addCleanup(srv.close)
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(CPUS)})   # as `taskset -c 0 meridian serve`: the child inherits it
        try:
            srv.start()
        finally:
            os.sched_setaffinity(0, before)
        self.assertIn("serving with 1 worker thread(s)", srv.log_text())
        self.assertEqual(srv.dig("www.example.com").rcode, "NOERROR")


class SocketAffinityConfigTest(unittest.TestCase):
    def test_not_a_boolean_is_an_error_at_its_line(self):
        [p] = h.check_config(socket_affinity=3)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stderr, r"meridian\.toml:5:\d+: 'socket_affinity' must be true or false")

    def test_pin_workers_not_a_boolean_is_an_error_at_its_line(self):
        [p] = h.check_config(pin_workers="yes")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertRegex(p.stderr, r"meridian\.toml:5:\d+: 'pin_workers' must be true or false")


if __name__ == "__main__":
    unittest.main()
