"""The benchmark's geo and mix workload (bench/workload.py) against the real
server: its binary ECS queries must be well-formed messages that Meridian
reads the way it reads dig's +subnet (same answers for the same /24s), the
dnsperf -B file must be length-framed messages, and the policy zone must
answer what the bench compares with the peers (weighted about 80/20,
failover on the first target)."""

import os
import statistics
import struct
import sys
import tempfile
import unittest

import harness as h

sys.path.insert(0, str(h.SOURCE_DIR / "bench"))
import bench  # noqa: E402
import geo_check  # noqa: E402
import runner  # noqa: E402
import workload as W  # noqa: E402

DEFAULT_MMDB = os.environ.get("MERIDIAN_DEFAULT_MMDB", str(h.SOURCE_DIR / "build/geoip/meridian-country.mmdb"))


def frames(path):
    """The messages of a dnsperf -B file; fails on a short or trailing frame."""
    with open(path, "rb") as f:
        data = f.read()
    out, at = [], 0
    while at < len(data):
        (n,) = struct.unpack(">H", data[at:at + 2])
        msg = data[at + 2:at + 2 + n]
        assert len(msg) == n, f"frame at {at} is cut short"
        out.append(msg)
        at += 2 + n
    return out


class BenchWorkload(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = h.class_server(cls, example_zones=False,
                                 zones={"bench.toml": W.meridian_policy_zone(with_mix=True)},
                                 extra_config=f'[geoip]\ndatabases = ["{DEFAULT_MMDB}"]\n')
        cls.tmp = tempfile.TemporaryDirectory(prefix="bench-workload-")
        cls.mix = os.path.join(cls.tmp.name, "mix.bin")
        W.write_mix_queries(cls.mix, count=300)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_wire_queries_answer_like_dig_subnet(self):
        msgs = [m for m in frames(self.mix) if b"\x03geo" in m][:40]
        self.assertEqual(len(msgs), 40)
        continents = set()
        for m in msgs:
            ecs = m[-3:]  # a /24 option ends with its first three octets
            subnet = f"{ecs[0]}.{ecs[1]}.{ecs[2]}.0/24"
            with self.subTest(subnet=subnet):
                reply = self.srv.raw(m)
                self.assertIsNotNone(reply)
                self.assertEqual(reply.rcode, 0)
                ours = geo_check.a_records(reply.raw)
                want = self.srv.dig(f"geo.{W.ORIGIN}", "A", f"+subnet={subnet}").rdata("A")
                self.assertEqual(ours, ",".join(want))
                continents.add(ours)
        # Random public /24s reach several continents, not one default.
        self.assertGreaterEqual(len(continents), 3, continents)

    def test_known_networks_get_their_continent(self):
        cases = {(81, 2, 69): W.GEO_MAP["EU"],    # GB
                 (8, 8, 8): W.GEO_MAP["NA"],      # US
                 (1, 1, 1): W.GEO_OTHER}          # AU: Oceania
        for net, want in cases.items():
            with self.subTest(net=net):
                q = W.ecs_query(f"geo.{W.ORIGIN}", list(net) + [0], qid=7)
                self.assertEqual(geo_check.a_records(self.srv.raw(q).raw), want)

    def test_weighted_and_failover_answers(self):
        probe = geo_check.probe_names(["w", "fo"], samples=300)
        host, port = self.srv.addr()
        summary = geo_check.policy_summary({"meridian": {"probe": probe(port)}})["meridian"]
        self.assertEqual(summary["failover_primary_pct"], 100.0)
        # 80 % weight: 300 draws land within 65-95 % unless the zone is wrong.
        self.assertGreater(summary["weighted_first_pct"], 65.0)
        self.assertLess(summary["weighted_first_pct"], 95.0)



class ProfileShareTest(unittest.TestCase):
    """bench.py --profile: the user-space share read from `perf report`."""

    def test_user_share_counts_everything_outside_the_kernel(self):
        report = ("# Samples: 52K of event 'cpu-clock'\n"
                  "# Overhead  Shared Object\n"
                  "#\n"
                  "    90.00%  [kernel.kallsyms]\n"
                  "     6.50%  meridian\n"
                  "     2.50%  libc.so.6\n"
                  "     1.00%  [guest.kernel.kallsyms]\n")
        self.assertAlmostEqual(runner.user_share(report), 9.0)

    def test_no_samples_is_no_figure(self):
        self.assertIsNone(runner.user_share("# Samples: 0 of event 'cpu-clock'\n#\n"))
        self.assertIsNone(runner.user_share(""))

    def test_top_user_symbols_leave_the_kernel_out_and_rank_by_share(self):
        report = ("# Overhead  Symbol\n"
                  "#\n"
                  "    53.92%  [k] finish_task_switch.isra.0\n"
                  "     0.35%  [.] meridian::hot_answer\n"
                  "     1.27%  [.] meridian::NodeIndex::find_entry\n"
                  "     0.95%  [.] syscall\n"
                  "     0.68%  [k] _copy_from_user\n"
                  "     0.40%  [.] std::thread::_State_impl<std::thread::_Invoker<x> >::_M_run\n"
                  "     1.47%  [.] 0x0000000000010d24\n")
        self.assertEqual(runner.top_user_symbols(report, 3),
                         [(1.47, "0x0000000000010d24"), (1.27, "meridian::NodeIndex::find_entry"),
                          (0.95, "syscall")])
        self.assertEqual(runner.top_user_symbols(report)[-1],
                         (0.35, "meridian::hot_answer"))
        self.assertEqual(runner.top_user_symbols("# Samples: 0 of event 'cpu-clock'\n#\n"), [])


# A child that burns CPU and reports its own CPU time (CLOCK_PROCESS_CPUTIME_ID,
# ns) after each burn. "keep S" burns S seconds in a second, long-lived
# thread (its main thread only waits); "end S" in a thread that then ends.
BURNER = """
import queue, sys, threading, time
def burn(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
todo, done = queue.Queue(), queue.Queue()
def worker():
    while True:
        burn(todo.get())
        done.put(None)
threading.Thread(target=worker, daemon=True).start()
for line in sys.stdin:
    how, _, seconds = line.partition(" ")
    if how == "keep":
        todo.put(float(seconds))
        done.get()
    elif how == "end":
        t = threading.Thread(target=burn, args=(float(seconds),))
        t.start()
        t.join()
    print(repr(time.process_time()), flush=True)
"""


class CpuUsedTest(unittest.TestCase):
    """bench/runner.cpu_used, which every us/q figure divides: it must count
    all threads, finer than /proc/PID/stat's 1/100 s, and keep the time of a
    thread that ended."""

    def setUp(self):
        import subprocess
        self.child = subprocess.Popen([sys.executable, "-c", BURNER], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
        self.addCleanup(self.child.wait, timeout=10)
        self.addCleanup(self.child.stdout.close)
        self.addCleanup(self.child.stdin.close)

    def burn(self, how, seconds):
        """(the child's own CPU seconds, cpu_used's) for one burn."""
        self.child.stdin.write(f"{how} {seconds}\n")
        self.child.stdin.flush()
        own_after = float(self.child.stdout.readline())
        # The child idles in a read between its report and the sample.
        after = runner.cpu_sample([self.child.pid])
        return own_after - self.own, runner.cpu_used(self.sample, after), after, own_after

    def start(self):
        self.child.stdin.write("\n")
        self.child.stdin.flush()
        self.own = float(self.child.stdout.readline())
        self.sample = runner.cpu_sample([self.child.pid])

    def test_counts_every_thread_to_the_millisecond(self):
        self.start()
        for seconds in (0.137, 0.051, 0.093):
            own, seen, self.sample, self.own = self.burn("keep", seconds)
            self.assertGreaterEqual(own, seconds)
            self.assertAlmostEqual(seen, own, delta=0.003, msg=f"burn of {seconds} s")

    def test_keeps_the_time_of_a_thread_that_ended(self):
        self.start()
        own, seen, _, _ = self.burn("end", 0.2)
        self.assertGreaterEqual(own, 0.2)
        # Two readings of 1/100 s ticks.
        self.assertAlmostEqual(seen, own, delta=0.021)


class PairedTest(unittest.TestCase):
    """bench.add_ratios' paired columns: round by round against the best
    other peer of the same round, which can disagree with best-of figures."""

    def rows(self):
        def row(rounds):
            return {"us_per_query": min(rounds.values()), "per_round": rounds}
        return {"floor": row({0: 4.0, 1: 3.5, 2: 3.9}),
                "meridian": row({0: 5.0, 1: 4.0, 2: 4.6}),
                "gdnsd": row({0: 4.9, 1: 4.1, 2: 4.5}),
                "nsd": row({0: 6.0, 2: 4.4})}  # no figure in round 1

    def test_against_the_best_peer_of_each_round(self):
        rows = self.rows()
        bench.add_ratios(rows, ["meridian"])
        m = rows["meridian"]
        # Best of rounds: 4.0 against gdnsd's 4.1, below it.
        self.assertLess(m["x_best_peer"], 1)
        # Paired: 5.0/4.9, 4.0/4.1, 4.6/4.4 -- below the peers in one round of three.
        self.assertAlmostEqual(m["x_peer_med"], 5.0 / 4.9)
        self.assertEqual(m["rounds_below_peers"], (1, 3))
        # A second Meridian build is compared with the peers, not with the first.
        rows = self.rows()
        rows["meridian/2t"] = {"us_per_query": 3.0, "per_round": {0: 4.0, 1: 4.5, 2: 3.0}}
        bench.add_ratios(rows, ["meridian"])
        self.assertAlmostEqual(rows["meridian/2t"]["x_peer_med"], 4.0 / 4.9)  # of 4.0/4.9, 4.5/4.1, 3.0/4.4
        self.assertEqual(rows["meridian/2t"]["rounds_below_peers"], (2, 3))
        # Peers and the floor get no paired figures.
        for name in ("gdnsd", "nsd", "floor"):
            self.assertEqual((rows[name]["x_peer_med"], rows[name]["rounds_below_peers"]), (None, None))

    def test_paired_mean_and_its_interval(self):
        rows = self.rows()
        bench.add_ratios(rows, ["meridian"])
        m = rows["meridian"]
        # 5.0/4.9, 4.0/4.1, 4.6/4.4 = 1.020408, 0.975610, 1.045455: mean
        # 1.013824, sample sd 0.035385, two standard errors 2 x 0.035385 / sqrt 3.
        self.assertAlmostEqual(m["x_peer_mean"], 1.013824, places=5)
        self.assertAlmostEqual(m["x_peer_2se"], 0.040859, places=5)
        self.assertEqual((rows["gdnsd"]["x_peer_mean"], rows["gdnsd"]["x_peer_2se"]), (None, None))
        # One round: no interval.
        one = {n: {"us_per_query": r["us_per_query"], "per_round": {0: r["per_round"][0]}}
               for n, r in self.rows().items()}
        bench.add_ratios(one, ["meridian"])
        self.assertEqual((one["meridian"]["x_peer_mean"], one["meridian"]["x_peer_2se"]), (None, None))

    def test_pinned_rows_against_the_pinned_floor(self):
        rows = self.rows()
        rows["floor+pin"] = {"us_per_query": 2.0, "per_round": {0: 2.0, 1: 2.5, 2: 2.2}, "pinned": True}
        rows["meridian"]["pinned"] = True  # pin_workers, the default
        rows["meridian+nopin"] = {"us_per_query": 3.0, "per_round": {0: 3.0, 1: 3.5, 2: 3.3}}
        bench.add_ratios(rows, ["meridian"])
        self.assertAlmostEqual(rows["meridian"]["x_floor"], 4.0 / 2.0)
        self.assertAlmostEqual(rows["meridian+nopin"]["x_floor"], 3.0 / 3.5)  # the plain floor's best
        self.assertAlmostEqual(rows["floor+pin"]["x_floor"], 1.0)
        self.assertAlmostEqual(rows["gdnsd"]["x_floor"], 4.1 / 3.5)
        # The pinned floor is no peer: the best peer is still gdnsd (4.1),
        # and meridian+nopin is paired with the peers like any Meridian row.
        self.assertAlmostEqual(rows["meridian"]["x_best_peer"], 4.0 / 4.1)
        self.assertEqual(rows["meridian+nopin"]["rounds_below_peers"], (3, 3))
        self.assertEqual((rows["floor+pin"]["x_peer_med"], rows["floor+pin"]["rounds_below_peers"]), (None, None))
        # Without a pinned floor in the section, the plain one.
        self.assertEqual(bench.floor_of(rows["meridian"], rows), "floor+pin")
        self.assertEqual(bench.floor_of(rows["meridian"], {"floor": {}}), "floor")

    def test_tally_pairs_pinned_rows_with_the_pinned_floor_by_round(self):
        tally = bench.Tally("static")
        res = lambda us: {"qps": 1000.0, "us_per_query": us, "lost_pct": 0.0, "rss_mib": 1.0, "rcodes": ""}
        for r, (floor, floor_pin, mine, mine_nopin) in enumerate([(4.0, 2.0, 2.2, 4.4), (5.0, 2.5, 3.0, 5.5)]):
            tally.add("floor", r, res(floor), False)
            tally.add("floor+pin", r, res(floor_pin), False, pinned=True)
            tally.add("meridian", r, res(mine), False, pinned=True)
            tally.add("meridian+nopin", r, res(mine_nopin), False)
        rows = tally.rows()
        # Medians of 2.2/2.0, 3.0/2.5 and of 4.4/4.0, 5.5/5.0.
        self.assertAlmostEqual(rows["meridian"]["x_floor_med"], (1.1 + 1.2) / 2)
        self.assertAlmostEqual(rows["meridian+nopin"]["x_floor_med"], 1.1)
        self.assertEqual((rows["meridian"]["pinned"], rows["meridian+nopin"]["pinned"]), (True, False))

    def test_no_peers_no_paired_figures(self):
        rows = self.rows()
        del rows["gdnsd"], rows["nsd"]
        bench.add_ratios(rows, ["meridian"])
        self.assertEqual((rows["meridian"]["x_peer_med"], rows["meridian"]["rounds_below_peers"]), (None, None))


class FakeServer:
    """A runner.Server stand-in that writes what is done to it into `events`."""

    def __init__(self, name, events, us, starts=True, fail_in_round=None):
        self.name, self.port, self.pids, self.pinned = name, 0, [], False
        self.events, self.us, self.starts, self.fail_in_round = events, us, starts, fail_in_round
        self.runs = 0

    def start(self):
        self.events.append(("start", self.name))
        return self.starts

    def stop(self):
        self.events.append(("stop", self.name))

    def warm_up(self, load):
        self.events.append(("warm", self.name))

    def flat_out(self, load, seconds):
        self.events.append(("flat", self.name))
        return {"qps": 1000.0, "rcodes": "NOERROR 1"}

    def cpu_per_query(self, load, seconds, rate):
        if self.runs == self.fail_in_round:
            raise RuntimeError("dnsperf went away")
        self.events.append(("run", self.name))
        self.runs += 1
        return {"completed": 100, "lost": 0}, self.us[self.runs - 1]

    def profile(self, load, seconds, rate):
        self.events.append(("profile", self.name))
        return 10.0, [(1.0, "answer")]


class InterleaveTest(unittest.TestCase):
    """bench.run_interleaved (--interleave): all servers up through every
    round, the timed runs back to back in alternating order."""

    def args(self, rounds):
        return type("Args", (), {"rounds": rounds, "seconds": 1})()

    def load(self, profile=False):
        load = runner.Load("queries.txt")
        load.profile = profile
        return load

    def test_servers_stay_up_between_rounds(self):
        events = []
        servers = [FakeServer("floor", events, [4.0, 4.4, 4.2]),
                   FakeServer("meridian", events, [4.1, 4.3, 4.6]),
                   FakeServer("gdnsd", events, [4.2, 4.2, 4.4])]
        probed = []
        rows = bench.run_interleaved("static", servers, self.load(profile=True), self.args(3), 30000,
                                     probe=lambda port: probed.append(port) or {"geo": ["192.0.2.1"]})
        kinds = [k for k, _ in events]
        # Every start before the first timed run, every stop after the last.
        self.assertEqual(kinds[:3], ["start"] * 3)
        last_run = max(i for i, k in enumerate(kinds) if k in ("run", "profile"))
        self.assertEqual(kinds[last_run + 1:], ["stop"] * 3)
        self.assertNotIn("start", kinds[3:])
        # The timed runs, round by round, in alternating order.
        runs = [n for k, n in events if k == "run"]
        self.assertEqual(runs, ["floor", "meridian", "gdnsd", "gdnsd", "meridian", "floor",
                                "floor", "meridian", "gdnsd"])
        # Each timed run right after a warm-up of the same server.
        for i, (k, n) in enumerate(events):
            if k == "run":
                self.assertEqual(events[i - 1], ("warm", n))
        self.assertEqual(rows["meridian"]["per_round"], {0: 4.1, 1: 4.3, 2: 4.6})
        self.assertEqual(rows["meridian"]["us_per_query"], 4.1)
        self.assertAlmostEqual(rows["meridian"]["x_floor_med"], statistics.median([4.1 / 4.0, 4.3 / 4.4, 4.6 / 4.2]))
        # One profile per server, in the last round; the probe for the
        # servers that answer DNS (not the floor), kept in the figures.
        self.assertEqual(kinds.count("profile"), 3)
        self.assertEqual(rows["gdnsd"]["user_pct"], 10.0)
        self.assertEqual(len(probed), 2)
        self.assertEqual(rows["meridian"]["probe"], {"geo": ["192.0.2.1"]})
        self.assertIsNone(rows["floor"]["probe"])

    def test_a_server_that_does_not_start_is_left_out(self):
        events = []
        servers = [FakeServer("floor", events, [4.0, 4.0]), FakeServer("knot", events, [5.0, 5.0], starts=False)]
        rows = bench.run_interleaved("static", servers, self.load(), self.args(2), 30000)
        self.assertEqual(set(rows), {"floor"})
        self.assertNotIn(("run", "knot"), events)
        self.assertIn(("stop", "knot"), events)

    def test_servers_stopped_when_a_run_fails(self):
        events = []
        servers = [FakeServer("floor", events, [4.0, 4.0]),
                   FakeServer("meridian", events, [4.0, 4.0], fail_in_round=1)]
        with self.assertRaises(RuntimeError):
            bench.run_interleaved("static", servers, self.load(), self.args(2), 30000)
        self.assertEqual([n for k, n in events if k == "stop"], ["floor", "meridian"])


if __name__ == "__main__":
    unittest.main()
