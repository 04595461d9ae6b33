#!/usr/bin/env python3
"""Meridian against its peers and against the floor, on loopback: one
command, one table.

Sections (--sections, default all but load):

  static   the generated zone (RFC 1035, 10,000 hosts, CNAME, wildcard,
           delegation; Meridian serves it through `meridian import`) and a
           fixed query mix: floor, meridian, knot, nsd, gdnsd, pdns (bind
           backend). Unless --pin: also floor+pin (the reflector pinned
           to CPU 0 with taskset) and meridian+nopin ([server]
           pin_workers = false). Meridian pins worker 0 to CPU 0 by
           default (pin_workers), and Knot its UDP worker, so their x floor
           is against floor+pin: in some machine states pinning alone cuts
           the CPU per query by a third (docs/performance.md, "Pinned by
           default").
  flat     the static zone flat out through bench/udp-blaster (a load
           generator far lighter than dnsperf, so the server, not the
           generator, is the limit on a 2-core machine): qps is what the
           server sustains, us/q its CPU per answer while saturated. floor,
           meridian, knot, nsd, gdnsd, pdns; floor+pin and meridian+nopin
           as in static (so in geo, mix and tcp).
  geo      geolocation with EDNS Client Subnet: every query asks geo.ORIGIN A
           from a different random public /24 (binary queries, dnsperf -B).
           Continents -> addresses (EU, NA, AS each their own, the rest and
           unknown networks another) on the same MMDB (the country database
           the build makes from tor-geoipdb): floor, meridian, gdnsd (geoip
           plugin), pdns (geoip backend); floor+pin, meridian+nopin. A
           sample of /24s is asked of every server and the answers
           compared (agreement %).
  mix      policy answers, one third each: a weighted name (80/20, one
           answer), a failover name (first target up) and the geo name, all
           with ECS: floor, meridian, gdnsd (weighted, simplefo and geoip
           plugins), pdns-lua (PowerDNS LUA records: pickwrandom,
           continent(); its failover name is a LUA record returning the first
           target, as ifportup/ifurlup need reachable targets); floor+pin,
           meridian+nopin.
  tcp      the static zone and mix over TCP: 100 connections, 500 queries in
           flight over them (dnsperf -m tcp -c 100 -q 500): floor
           (bench/tcp-reflector.c), meridian, knot, nsd, gdnsd, pdns;
           floor+pin (the TCP reflector under taskset), meridian+nopin.
  threads  meridian with 1 and 2 workers, static zone, UDP, flat out
           through bench/udp-blaster (8 sockets, so SO_REUSEPORT spreads
           them over the workers). Then the answer path alone, without
           sockets, in 1 and 2 threads (build/answer-scaling, from
           bench/answer_scaling.cpp) on the static queries and on the mix
           queries: on 2 cores the UDP figure cannot scale, since the load
           generator needs one of them; this shows whether Meridian's own
           work does. A line per worker count gives the cores the server
           kept busy and its answers per busy core. Workers pinned
           (pin_workers, the default) in this section and the next.
  affinity meridian with 1 worker, 2 workers, and 2 workers with [server]
           socket_affinity, driven by dnsperf in 2 threads (one per core):
           flat-out qps and us/q at --rate. With the option each query is
           answered on the core that received it (on loopback, its
           sender's), without a wake-up across cores. Then the same over
           TCP (100 connections, 500 in flight, us/q at --tcp-rate), where
           a connection stays on the core that received its SYN.
  load     bench/zone_load.py, if present (its own output).

Columns:

  qps       dnsperf flat out for --seconds. On a 2-core machine dnsperf
            itself is usually the limit: a ceiling, not a server property.
            In flat and threads: bench/udp-blaster flat out, where the
            server is the limit.
  us/q      server CPU (every thread of its process tree, in ns from
            /proc/PID/task/TID/schedstat) per answered query while dnsperf
            offers a fixed rate (--rate, --tcp-rate): the figure to
            compare. In flat and threads: per answer during the flat-out
            run.
  x floor   us/q over the floor's us/q in the same section; for a server
            that pins its serving thread, over floor+pin's.
  x peer    us/q over the best (lowest) us/q of the other servers in the
            same section (not the floor, not meridian).
  lost%     queries unanswered at the fixed rate.
  RSS MiB   resident memory of the server after the runs.
  med x fl  median over rounds of us/q over the floor's us/q in the same
            round.
  med x pr  (meridian rows) median over rounds of us/q over the lowest
            us/q of the peers (not the floor, not meridian) in the same
            round: the paired comparison, which a drift of the machine
            between rounds does not move.
  below     (meridian rows) rounds in which its us/q was below every
            peer's in that round, out of the rounds compared.
  (section line, meridian rows) the mean of those per-round ratios with
            two standard errors (about 95 %): an interval wholly below 1
            is "below every peer" beyond the noise; one that holds 1, level.
            In flat and tcp also its qps over the peer with the most qps in
            each round, the same way: an interval wholly above 1 is "more
            qps than every peer" beyond the noise.
  user%     (--profile) share of the server's CPU samples in user space
            (its own code and libraries; the rest is the kernel's socket,
            scheduling and wake-up work, which every server pays alike),
            from an extra run under `perf record -e cpu-clock`; median over
            rounds. The log lists, per run, the five user-space symbols
            with the most samples (percent of all the server's samples).
  user us   (--profile) us/q x user%: the CPU per query a server's own code
            costs. It leaves out the kernel's part, which every server pays
            alike and which moves by +-30 % between rounds on a small VM.

With --rounds N every section runs its servers N times in alternating order
and keeps the best figure of each column (noise from other processes only
ever adds). Every server runs with one worker. Each run starts its server,
warms it up, measures and stops it, so the runs of one round are about a
minute apart; with --interleave (static, flat, geo, mix, tcp) every server
of the section is started once and the timed runs follow each other
directly, seconds apart, which pairs them more closely on a machine whose
speed drifts (docs/performance.md).

Needs: python3, dnsperf, cc (for the floors), a built meridian (and its
build/geoip/meridian-country.mmdb for geo and mix). Peers that are not
installed are left out. Everything runs on 127.0.0.1; every step has a time
limit.

  bench/bench.py                                  # everything, 1 round
  bench/bench.py --rounds 3 --json out.json
  bench/bench.py --sections static,geo,mix --rounds 3 --profile
  bench/bench.py --sections static,threads --only floor,meridian
  bench/bench.py --sections static --meridian old=/tmp/meridian-old --meridian build/meridian
"""
import argparse
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import geo_check
import servers as S
import runner as R
import workload as W
from runner import Load, free_ports

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SECTIONS = ("static", "flat", "geo", "mix", "tcp", "threads", "affinity", "load")


class Tally:
    """The figures of one section's runs, round by round: the best of each
    column, plus "x_floor_med": the median over rounds of the server's us/q
    over the floor's us/q in the same round (a slow drift of the machine
    moves both)."""

    def __init__(self, section):
        self.section = section
        self.best, self.per_round, self.qps_round, self.user, self.top_user = {}, {}, {}, {}, {}
        self.pinned = set()  # servers that pin their serving thread (floor_of)

    def add(self, name, r, res, blaster, pinned=False):
        log = lambda text: print(f"bench: {self.section}: {name}: {text}", file=sys.stderr)
        log(f"{res['qps']:.0f} q/s, {res['us_per_query']:.2f} us/q, rcodes {res['rcodes'] or '?'}")
        self.per_round.setdefault(name, {})[r] = res["us_per_query"]
        self.qps_round.setdefault(name, {})[r] = res["qps"]
        if pinned:
            self.pinned.add(name)
        if res.get("user_pct") is not None:
            log(f"{res['user_pct']:.1f}% of its CPU samples in user space")
            self.top_user.setdefault(name, {})[r] = res["top_user"]
            if res.get("top_user"):
                log("most of them in " + ", ".join(f"{sym[:60]} {pct:.2f}%" for pct, sym in res["top_user"]))
            self.user.setdefault(name, []).append((res["user_pct"], res["us_per_query"] * res["user_pct"] / 100))
        # CPU cores the server kept busy; meaningful flat out (blaster),
        # where qps and us/q come from the same run.
        res["cores"] = res["qps"] * res["us_per_query"] / 1e6 if blaster else None
        b = self.best.setdefault(name, dict(res))
        if res.get("probe") is not None:  # --interleave probes in the last round only
            b["probe"] = res["probe"]
        if res["qps"] > b["qps"]:
            b["cores"] = res["cores"]
        b["qps"] = max(b["qps"], res["qps"])
        for k in ("us_per_query", "lost_pct", "rss_mib"):
            b[k] = min(b[k], res[k])

    def rows(self):
        """{server name: figures}."""
        for n, b in self.best.items():
            b["per_round"] = self.per_round[n]  # for the paired comparison with the peers (add_ratios)
            b["qps_per_round"] = self.qps_round[n]
            b["pinned"] = n in self.pinned
            floor = self.per_round.get(floor_of(b, self.per_round), {})
            ratios = sorted(us / floor[r] for r, us in self.per_round[n].items() if floor.get(r))
            b["x_floor_med"] = statistics.median(ratios) if ratios else None
            # --profile: medians over rounds of the user-space share and of the
            # CPU per query it stands for (us/q of the timed run x the share).
            user = self.user.get(n)
            b["user_pct"] = statistics.median(u for u, _ in user) if user else None
            b["user_us"] = statistics.median(q for _, q in user) if user else None
            b["top_user"] = self.top_user.get(n, {})  # per round: [(percent, symbol)], most first
        return self.best


def run_section(name, servers, load, a, rate, probe=None, qps_rounds=True):
    """Each server `a.rounds` times, alternating the order, each run a
    server of its own: started, warmed up, measured, stopped (Tally).
    Every round has its flat-out run (qps_rounds: always, as the
    signature of run_interleaved has it)."""
    tally = Tally(name)
    for r in range(a.rounds):
        for s in servers if r % 2 == 0 else servers[::-1]:
            print(f"bench: {name}: {s.name} (round {r + 1}/{a.rounds})", file=sys.stderr)
            # The floor echoes queries: nothing to compare.
            res = s.measure(load, a.seconds, rate, None if is_floor(s.name) else probe)
            if res:
                tally.add(s.name, r, res, bool(load.blaster), s.pinned)
    return tally.rows()


def run_interleaved(name, servers, load, a, rate, probe=None, qps_rounds=False):
    """--interleave: every server of the section up at the same time, each
    warmed up and run flat out once (qps), then `a.rounds` timed runs of
    each, each after a second of warm-up, back to back, alternating the
    order, with no start or stop in between: the runs paired in a round
    are seconds apart rather than a minute, so the machine drifts less
    between them. RSS, --profile and
    the probe after the last round. The servers wait idle (blocked in a
    receive) while another is measured. qps_rounds: a flat-out run in
    every round too, before the timed one, so that qps is paired round by
    round as us/q is (tcp, where qps is a target; flat's timed run is flat
    out already)."""
    tally = Tally(name)
    up, flat = [], {}
    try:
        for s in servers:
            if s.start():
                up.append(s)
        for s in up:
            print(f"bench: {name}: {s.name}: warm-up and flat out", file=sys.stderr)
            if load.pin:
                R.pin_tree(s.pids, load.pin[1])
            s.warm_up(load)
            flat[s.name] = s.flat_out(load, a.seconds)
        for r in range(a.rounds):
            print(f"bench: {name}: round {r + 1}/{a.rounds}", file=sys.stderr)
            for s in up if r % 2 == 0 else up[::-1]:
                # A second of load first: a server idle while the others ran
                # may have let its caches expire (PowerDNS's packet cache:
                # 18 to 20 us/q when it had waited a round, 13 when it ran
                # twice in a row at a round's turn).
                s.warm_up(load)
                if qps_rounds and r > 0:  # round 0 has the run made after the warm-up above
                    flat[s.name] = s.flat_out(load, a.seconds)
                fixed, us = s.cpu_per_query(load, a.seconds, rate)
                last = r == a.rounds - 1
                user_pct, top = s.profile(load, a.seconds, rate) if last and load.profile else (None, [])
                probed = probe(s.port) if last and probe and not is_floor(s.name) else None
                res = R.summary(flat[s.name], fixed, us, R.rss_mib(s.pids), probed, user_pct, top)
                tally.add(s.name, r, res, bool(load.blaster), s.pinned)
    finally:
        for s in servers:
            s.stop()
    return tally.rows()


def base_name(name):
    """"meridian" of "meridian/2t+aff", "floor" of "floor+pin"."""
    return name.split("/")[0].split("+")[0]


def is_floor(name):
    return base_name(name) == "floor"


def floor_of(row, rows):
    """The floor a row is compared with: a server that pins its serving
    thread (row["pinned"]: Meridian by default, Knot's UDP worker, the
    pinned reflector itself) against the pinned reflector, when the
    section has one; every other against the plain one."""
    return "floor+pin" if row.get("pinned") and "floor+pin" in rows else "floor"


def add_ratios(rows, meridian_labels, floor_us=None):
    peer_names = [n for n in rows if not is_floor(n) and base_name(n) not in meridian_labels]
    peers = [rows[n]["us_per_query"] for n in peer_names]
    best_peer = min(peers) if peers else None
    for name, r in rows.items():
        floor = floor_us if floor_us is not None else rows.get(floor_of(r, rows), {}).get("us_per_query")
        r["x_floor"] = r["us_per_query"] / floor if floor else None
        r["x_best_peer"] = r["us_per_query"] / best_peer if best_peer else None
        # Paired figures for Meridian's rows only: the question they answer
        # is whether Meridian was below every peer round by round.
        mine = base_name(name) in meridian_labels
        r["x_peer_med"], r["rounds_below_peers"] = paired(name, rows, peer_names) if mine else (None, None)
        r["x_peer_mean"], r["x_peer_2se"] = paired_mean(name, rows, peer_names) if mine else (None, None)
        # The same for flat-out qps, where higher is better: over the
        # peer with the most q/s in that round.
        r["qps_peer_mean"], r["qps_peer_2se"] = (paired_mean(name, rows, peer_names, "qps_per_round", max)
                                                 if mine else (None, None))


def paired_ratios(name, rows, peer_names, key="per_round", best=min):
    """Round by round, `name`'s us/q over the lowest us/q of the peers in
    that same round (servers of one round run back to back, so a drift of
    the machine between rounds moves them together); with key
    "qps_per_round" and best=max, its qps over the highest peer's."""
    mine = rows[name].get(key, {})
    ratios = []
    for r, value in mine.items():
        others = [rows[p][key][r] for p in peer_names if r in rows[p].get(key, {})]
        if others and best(others):
            ratios.append(value / best(others))
    return ratios


def paired(name, rows, peer_names):
    """The median of paired_ratios, and (rounds in which `name` was below
    every peer, rounds compared). (None, None) without peers."""
    ratios = paired_ratios(name, rows, peer_names)
    if not ratios:
        return None, None
    return statistics.median(ratios), (sum(x < 1 for x in ratios), len(ratios))


def paired_mean(name, rows, peer_names, key="per_round", best=min):
    """The mean of paired_ratios and two standard errors of it (about a 95 %
    interval): whether "below every peer" is more than noise. A mean
    below 1 by more than the two standard errors is; one whose interval
    holds 1 is level. (None, None) with fewer than 2 rounds."""
    ratios = paired_ratios(name, rows, peer_names, key, best)
    if len(ratios) < 2:
        return None, None
    return statistics.mean(ratios), 2 * statistics.stdev(ratios) / len(ratios) ** 0.5


def answer_scaling(exe, zone_dir, queries, seconds, threads, mmdb=None):
    """{threads: answers per second} from build/answer-scaling, or {}."""
    cmd = [exe, zone_dir, queries, str(seconds), threads] + ([mmdb] if mmdb else [])
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30 + 3 * seconds * len(threads.split(",")))
    except subprocess.TimeoutExpired:
        return {}
    if out.returncode != 0:
        print(f"bench: answer-scaling failed: {out.stderr.strip()}", file=sys.stderr)
        return {}
    best = {}
    for line in out.stdout.splitlines():
        if line.startswith("queries "):
            print(f"bench: answer-scaling: {line}", file=sys.stderr)
        w = line.split()  # threads N answers A per_second Q
        if len(w) == 6 and w[0] == "threads":
            best[int(w[1])] = max(best.get(int(w[1]), 0.0), float(w[5]))
    return best


def print_scaling(scaling):
    if not scaling:
        return
    print("-- answer path without sockets (build/answer-scaling): answers/s per thread count, x against 1 thread")
    for name, per in scaling.items():
        one = per.get(1)
        print(f"{name:16} " + "  ".join(f"{t}t {q:>11,.0f}" + (f" x{q / one:.2f}" if one and t != 1 else "")
                                        for t, q in sorted(per.items())))


def print_threads(rows):
    """Per worker count: the cores the server kept busy flat out and its
    answers per busy core (1 / us/q). On a machine where the load generator
    takes one of two cores, qps cannot grow with workers; answers per core
    staying level shows the workers do not get in each other's way."""
    base = None
    for name, b in rows.items():
        per_core = 1e6 / b["us_per_query"] if b["us_per_query"] else 0
        base = base or per_core
        cores = f"{b['cores']:.2f}" if b.get("cores") is not None else "-"
        print(f"{name:16} busy cores {cores}, answers per busy core {per_core:,.0f}"
              + (f" (x{per_core / base:.2f})" if base and per_core != base else ""))


def print_table(results, notes):
    profiled = any(b.get("user_pct") is not None for rows in results.values() for b in rows.values())
    fmt = "{:16} {:>8} {:>7} {:>8} {:>7} {:>6} {:>8} {:>9} {:>9} {:>6}" + (" {:>6} {:>7}" if profiled else "")
    print(fmt.format("server", "qps", "us/q", "x floor", "x peer", "lost%", "RSS MiB", "med x fl", "med x pr",
                     "below", *(("user%", "user us") if profiled else ())))
    for section, rows in results.items():
        print(f"-- {section}" + (f": {notes[section]}" if notes.get(section) else ""))
        for name, b in rows.items():
            ratio = lambda v: f"{v:.2f}" if v else "-"
            user = lambda v, f: f.format(v) if v is not None else "-"
            print(fmt.format(name, f"{b['qps']:.0f}", f"{b['us_per_query']:.2f}", ratio(b["x_floor"]),
                             ratio(b["x_best_peer"]), f"{b['lost_pct']:.2f}", f"{b['rss_mib']:.1f}",
                             ratio(b.get("x_floor_med")), ratio(b.get("x_peer_med")),
                             "{}/{}".format(*b["rounds_below_peers"]) if b.get("rounds_below_peers") else "-",
                             *((user(b.get("user_pct"), "{:.1f}"), user(b.get("user_us"), "{:.3f}"))
                               if profiled else ())))


def paranoid():
    """kernel.perf_event_paranoid (above 1: no kernel samples without root)."""
    try:
        with open("/proc/sys/kernel/perf_event_paranoid") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 2


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--meridian", action="append", metavar="[LABEL=]PATH",
                    help="meridian binary to run (repeatable; default: build/meridian)")
    ap.add_argument("--only", help="comma list of server names (floor, meridian or your labels, knot, nsd, "
                                   "gdnsd, pdns, pdns-lua)")
    ap.add_argument("--sections", default="static,flat,geo,mix,tcp,threads,affinity",
                    help=f"comma list of {', '.join(SECTIONS)} (default: all but load)")
    ap.add_argument("--threads", default="1,2", help="Meridian worker counts of the threads section")
    ap.add_argument("--seconds", type=int, default=5, help="length of each dnsperf run (default 5)")
    ap.add_argument("--rate", type=int, default=30000, help="offered UDP queries/s for the CPU figure")
    ap.add_argument("--tcp-rate", type=int, default=20000, help="offered TCP queries/s for the CPU figure")
    ap.add_argument("--rounds", type=int, default=1, help="runs per server; best figure kept (default 1)")
    ap.add_argument("--hosts", type=int, default=10000, help="A records in the static zone (default 10000)")
    ap.add_argument("--mmdb", default=os.path.join(ROOT, "build", "geoip", "meridian-country.mmdb"),
                    help="GeoIP database of the geo and mix sections (default: the build's country DB)")
    ap.add_argument("--port", type=int, default=5350, help="first UDP/TCP port to use (default 5350)")
    ap.add_argument("--pin", action="store_true",
                    help="the load generator (dnsperf, the blaster) on CPU 0 and every thread of the server on "
                         "CPU 1, so the scheduler cannot put both on one core mid-run (the threads and affinity "
                         "sections, which need both cores, are never pinned)")
    ap.add_argument("--profile", action="store_true",
                    help="one more run per server at the fixed rate (flat out in flat and threads) under "
                         "`perf record -e cpu-clock`, apart from the timed one: columns user%% (share of the "
                         "server's CPU samples in user space, its own code) and user us (us/q x that share); "
                         "medians over rounds")
    ap.add_argument("--interleave", action="store_true",
                    help="static, flat, geo, mix, tcp: start every server of the section at once and run them "
                         "in turn, --rounds times, without restarting them (run_interleaved): paired runs "
                         "seconds apart instead of a minute; use many short rounds, e.g. --rounds 20 --seconds 2")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory (configs, server logs)")
    a = ap.parse_args()

    sections = [s for s in a.sections.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        sys.exit(f"bench: unknown section(s) {', '.join(sorted(unknown))}; known: {', '.join(SECTIONS)}")
    if not shutil.which("dnsperf"):
        sys.exit("bench: dnsperf not found (Debian: apt-get install dnsperf)")
    if a.profile and not shutil.which("perf"):
        sys.exit("bench: --profile needs perf (Debian: apt-get install linux-perf)")
    if a.profile and os.geteuid() != 0 and paranoid() > 1:
        # perf would then sample user space only and every share would read 100 %.
        sys.exit("bench: --profile needs kernel samples: run as root, or sysctl kernel.perf_event_paranoid=1")
    binaries = []
    for spec in a.meridian or [os.path.join(ROOT, "build", "meridian")]:
        label, _, path = spec.rpartition("=")
        path = os.path.abspath(path)
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {path} is not an executable (build first: cmake -B build && cmake --build build)")
        binaries.append((label or "meridian", path))
    labels = {label for label, _ in binaries}
    mmdb = os.path.abspath(a.mmdb)
    if {"geo", "mix", "threads"} & set(sections) and not os.path.exists(mmdb):
        sys.exit(f"bench: {mmdb} not found (it is built with meridian; or give --mmdb)")
    keep = set(a.only.split(",")) if a.only else None

    def chosen(servers):
        return [s for s in servers if s and (keep is None or base_name(s.name) in keep)]

    # The sections that compare Meridian with its peers; --interleave runs
    # them with every server up at once.
    compare = run_interleaved if a.interleave else run_section
    work = tempfile.mkdtemp(prefix="meridian-bench-")
    results, notes, checks, scaling = {}, {}, {}, {}
    try:
        zone, apex = os.path.join(work, "bench.zone"), os.path.join(work, "apex.zone")
        W.write_zone(zone, a.hosts)
        W.write_apex_zone(apex)
        port = free_ports(a.port)
        text = Load(os.path.join(work, "queries.txt"))
        W.write_queries(text.queries, a.hosts)
        blast = None
        if {"flat", "threads"} & set(sections):
            exe = S.compile_tool(work, "udp-blaster.c")
            if exe:
                blast = Load(os.path.join(work, "queries.bin"), binary=True, blaster=exe)
                W.write_binary_queries(text.queries, blast.queries)

        def prepared(load, pin=True):
            """A copy of `load` with --profile and, unless `pin` is False,
            --pin applied: its generator on CPU 0, the server on CPU 1."""
            load = copy.copy(load)
            load.pin = (0, 1) if pin and a.pin and (os.cpu_count() or 1) >= 2 else None
            load.profile = a.profile
            return load

        def with_pinned(floor_kind, meridian):
            """The floor (floor_kind(work, port, cpu=None) makes it) and
            Meridian's rows (meridian(label, path, pin) makes one). Unless
            --pin (where every server is pinned anyway), also floor+pin,
            the reflector on CPU 0 (taskset), which Meridian (pin_workers,
            on by default: worker 0 on CPU 0) and Knot (its UDP worker) are
            compared with, and meridian+nopin, with pin_workers = false,
            compared with the plain floor. In some machine states pinning
            alone cuts the CPU per query by a third."""
            floor = floor_kind(work, next(port))
            mine = [meridian(l, p, True) for l, p in binaries]
            if a.pin:
                return [floor] + mine
            return ([floor, floor_kind(work, next(port), cpu=0)] + mine
                    + [meridian(l, p, False) for l, p in binaries])

        def meridian_of(**config):
            """with_pinned's maker of Meridian rows, with these S.meridian
            arguments."""
            return lambda label, path, pin: S.meridian(label, path, work, next(port), pin=pin, **config)

        def static_servers(floor_kind, tag):
            """with_pinned, then every peer on the static zone (sections
            static, flat, tcp)."""
            knot = S.knot(work, zone, next(port), pinned=floor_kind is S.floor_udp)
            return (with_pinned(floor_kind, meridian_of(zone=zone, tag=tag))
                    + [knot, S.nsd(work, zone, next(port)),
                       S.gdnsd(work, zone, next(port), tag=tag), S.pdns_bind(work, zone, next(port))])

        for section in sections:
            if section == "static":
                servers = static_servers(S.floor_udp, "static")
                results["static"] = compare(section, chosen(servers), prepared(text), a, a.rate)
                notes["static"] = f"10,000-host zone, UDP, {a.rate} q/s for us/q; pdns: bind backend"
            elif section == "flat":
                if not blast:
                    continue
                servers = static_servers(S.floor_udp, "flat")
                results["flat"] = compare(section, chosen(servers), prepared(blast), a, None)
                notes["flat"] = "static zone, UDP, flat out through bench/udp-blaster; us/q while saturated"
            elif section == "geo":
                load = Load(os.path.join(work, "geo.bin"), binary=True)
                W.write_geo_queries(load.queries)
                servers = with_pinned(S.floor_udp, meridian_of(policy="geo", mmdb=mmdb, tag="geo"))
                servers += [S.gdnsd(work, apex, next(port), mmdb=mmdb, tag="geo"), S.pdns_geoip(work, mmdb, next(port))]
                res = compare(section, chosen(servers), prepared(load), a, a.rate, geo_check.probe_names(["geo"]))
                ref = next((l for l, _ in binaries if l in res), None)
                agree = geo_check.agreement(res, "geo", ref) if ref else {}
                checks["geo_agreement_pct"] = {"reference": ref, **agree}
                results["geo"] = res
                notes["geo"] = ("ECS from a random /24 per query; answers agree with " + str(ref) + ": "
                                + (", ".join(f"{s} {p:.1f}%" for s, p in agree.items()) or "n/a")
                                + f" of {len(geo_check.geo_nets(300, 99))} /24s")
            elif section == "mix":
                load = Load(os.path.join(work, "mix.bin"), binary=True)
                W.write_mix_queries(load.queries)
                servers = with_pinned(S.floor_udp, meridian_of(policy="mix", mmdb=mmdb, tag="mix"))
                servers += [S.gdnsd(work, apex, next(port), mmdb=mmdb, mix=True, tag="mix"),
                            S.pdns_lua(work, apex, mmdb, next(port))]
                res = compare(section, chosen(servers), prepared(load), a, a.rate,
                              geo_check.probe_names(["w", "fo", "geo"]))
                ref = next((l for l, _ in binaries if l in res), None)
                agree = geo_check.agreement(res, "geo", ref) if ref else {}
                summary = geo_check.policy_summary(res)
                checks["mix"] = {"geo_agreement_pct": agree, "policies": summary}
                results["mix"] = res
                notes["mix"] = ("weighted 80/20 + failover + geo, ECS; first weighted target: "
                                + ", ".join(f"{s} {v['weighted_first_pct']:.0f}%" for s, v in summary.items())
                                + "; failover primary: "
                                + ", ".join(f"{s} {v['failover_primary_pct']:.0f}%" for s, v in summary.items())
                                + "; geo agreement: " + (", ".join(f"{s} {p:.1f}%" for s, p in agree.items()) or "n/a"))
            elif section == "tcp":
                load = Load(text.queries, tcp=True, clients=100, outstanding=500)
                servers = static_servers(S.floor_tcp, "tcp")
                results["tcp"] = compare(section, chosen(servers), prepared(load), a, a.tcp_rate, qps_rounds=True)
                notes["tcp"] = (f"static zone, 100 connections, 500 in flight, {a.tcp_rate} q/s for us/q; "
                                "knot 3.2 listens with a backlog of 10, so most of the 100 connects "
                                "wait for SYN retries (1 s, 3 s) at the start of each run")
            elif section == "threads":
                if not blast:
                    continue
                servers = [S.meridian(l, p, work, next(port), threads=int(t), zone=zone, tag="thr")
                           for l, p in binaries for t in a.threads.split(",")]
                results["threads"] = run_section(section, chosen(servers), prepared(blast, pin=False), a, None)
                notes["threads"] = ("static zone, UDP, flat out through bench/udp-blaster; "
                                    "x floor against the flat section's floor")
                exe = os.path.join(os.path.dirname(binaries[0][1]), "answer-scaling")
                if not os.access(exe, os.X_OK):
                    print(f"bench: threads: {exe} not built, answer path scaling skipped", file=sys.stderr)
                    continue
                mix = Load(os.path.join(work, "mix.bin"), binary=True)
                W.write_mix_queries(mix.queries)
                mix_srv = S.meridian("scale", binaries[0][1], work, 0, policy="mix", mmdb=mmdb, tag="mix")
                static_dir = servers[0].dir
                for r in range(a.rounds):
                    for name, zdir, q, db in (("static", static_dir, blast.queries, None),
                                              ("mix", mix_srv.dir, mix.queries, mmdb)):
                        print(f"bench: threads: answer path, {name} (round {r + 1}/{a.rounds})", file=sys.stderr)
                        got = answer_scaling(exe, os.path.join(zdir, "zones"), q, a.seconds, a.threads, db)
                        best = scaling.setdefault(name, {})
                        for t, v in got.items():
                            best[t] = max(best.get(t, 0.0), v)
            elif section == "affinity":
                # dnsperf in 2 threads, which the scheduler spreads over the
                # cores: on loopback a query's receive path runs on its
                # sender's core, which socket_affinity keeps it on.
                servers = [S.meridian(l, p, work, next(port), threads=t, zone=zone, tag="aff", affinity=aff)
                           for l, p in binaries for t, aff in ((1, False), (2, False), (2, True))]
                two = prepared(text, pin=False)
                two.threads = 2
                results["affinity"] = run_section(section, chosen(servers), two, a, a.rate)
                notes["affinity"] = (f"static zone, UDP, dnsperf in 2 threads (flat out; {a.rate} q/s for us/q); "
                                     "+aff: [server] socket_affinity; x floor against the static section's floor")
                # The same over TCP: a connection is placed by the CPU that
                # received its SYN.
                tcp = prepared(Load(text.queries, tcp=True, clients=100, outstanding=500, threads=2), pin=False)
                servers = [S.meridian(l, p, work, next(port), threads=t, zone=zone, tag="afft", affinity=aff)
                           for l, p in binaries for t, aff in ((1, False), (2, False), (2, True))]
                results["affinity tcp"] = run_section("affinity tcp", chosen(servers), tcp, a, a.tcp_rate)
                notes["affinity tcp"] = (f"static zone, TCP, dnsperf in 2 threads, 100 connections, 500 in flight "
                                         f"(flat out; {a.tcp_rate} q/s for us/q); x floor against the tcp "
                                         "section's floor")
            elif section == "load":
                script = os.path.join(HERE, "zone_load.py")
                if not os.path.exists(script):
                    print("bench: load: bench/zone_load.py is not there, skipped", file=sys.stderr)
                    continue
                try:
                    subprocess.run([sys.executable, script], timeout=900, check=False)
                except subprocess.TimeoutExpired:
                    print("bench: load: zone_load.py took over 900 s, stopped", file=sys.stderr)

        flat_floor = results.get("flat", {}).get("floor", {}).get("us_per_query")
        static_floor = results.get("static", {}).get("floor", {}).get("us_per_query")
        tcp_floor = results.get("tcp", {}).get("floor", {}).get("us_per_query")
        for section, rows in results.items():
            floor_us = {"threads": flat_floor, "affinity": static_floor, "affinity tcp": tcp_floor}.get(section)
            add_ratios(rows, labels, floor_us)
        for section, rows in results.items():
            # The paired mean with its interval, for Meridian's rows, and
            # which rows are compared with the pinned floor.
            extra = [f"{n} per round over the best peer: mean {r['x_peer_mean']:.3f} "
                            f"+- {r['x_peer_2se']:.3f} (2 standard errors, {r['rounds_below_peers'][1]} rounds)"
                            for n, r in rows.items() if r.get("x_peer_2se") is not None]
            if section in ("flat", "tcp"):  # where flat-out qps is a target of its own
                extra += [f"{n} qps per round over the best peer's: mean {r['qps_peer_mean']:.3f} "
                          f"+- {r['qps_peer_2se']:.3f}"
                          for n, r in rows.items() if r.get("qps_peer_2se") is not None]
            if "floor+pin" in rows:  # every peer section since the pin became the default
                pinned = ", ".join(n for n, r in rows.items() if r.get("pinned") and not is_floor(n))
                extra.append(f"pinned to a CPU, so x floor against floor+pin (the reflector under "
                                    f"taskset): {pinned}; +nopin: [server] pin_workers = false")
            if extra:
                notes[section] = "; ".join(filter(None, [notes.get(section)] + extra))
        load_avg = os.getloadavg()
        print_table(results, notes)
        if results.get("threads"):
            print("-- threads: server CPU flat out")
            print_threads(results["threads"])
        print_scaling(scaling)
        print(f"({a.seconds} s per run, best of {a.rounds} round(s), {os.cpu_count()} CPUs, "
              f"load average {load_avg[0]:.1f} at the end)")
        if a.json:
            for rows in results.values():
                for r in rows.values():
                    r.pop("probe", None)
            with open(a.json, "w") as f:
                json.dump({"results": results, "checks": checks, "notes": notes,
                           "answer_scaling": {n: {str(t): q for t, q in per.items()} for n, per in scaling.items()}},
                          f, indent=1)
    finally:
        if a.keep:
            print(f"bench: scratch directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
