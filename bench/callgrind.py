#!/usr/bin/env python3
"""Instructions per query, from valgrind's callgrind: a stable figure (it does
not move with machine load the way CPU time does) for the user-space side.

Runs `meridian serve` (1 worker) under callgrind on the bench zone, sends
--queries queries over UDP keeping --window of them in flight, and counts
only that traffic (counters are zeroed before and dumped after it):

  total       user-space instructions per query (kernel work is invisible
              to valgrind: see the syscall column, and bench.py for CPU time)
  answer      of which parsing and answering (prepare_query, prefetch_answer,
              answer_prepared: parse, lookup, write)
  io+loop     the rest: libuv loop, socket calls, frontend
  syscalls    system calls per query (under valgrind clock_gettime is one
              too; natively it is not)

Window 1 is one query per wake-up, the worst case for batching; a window of
32 lets datagrams queue up, as they do under load.

With --rrl RATE the server runs with response rate limiting on at RATE
responses per second: a high rate (100000) measures the accounting cost of
RRL with every answer still sent.

With --geo every query asks a geolocation name (continent -> address, over
the country database the build makes) with an EDNS Client Subnet option from
a different random public /24: the cost of the policy path. --weighted and
--failover ask a weighted name (three targets, 50/30/20) or a failover name
(primary and secondary, manual checks up) instead, without ECS. --grep
keeps only the static mix's queries whose "name type" line matches, e.g.
'^host' (plain A answers: the hot path), '^missing' (NXDOMAIN), 'MX$'.

  bench/callgrind.py [--meridian build/meridian] [--queries 20000] [--window 1,32] [--rrl RATE] [--geo]
"""
import argparse
import glob
import random
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402  (readiness probe, free ports)
import servers  # noqa: E402  (Meridian's scratch config)
import workload  # noqa: E402  (zone, query mix)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))



def wire_queries(path, grep=None):
    out = []
    for i, line in enumerate(open(path)):
        if grep and not re.search(grep, line.strip()):
            continue
        out.append(workload.wire_query(*line.split(), qid=i, flags=0x0100))  # RD set
    return out


POLICY_RECORDS = """
[records.wt.A]
policy = "weighted"
targets = [ { value = "192.0.2.1", weight = 50 }, { value = "192.0.2.2", weight = 30 },
            { value = "192.0.2.3", weight = 20 } ]

[records.fo.A]
policy = "failover"
targets = [ { value = "192.0.2.1", check = "primary" }, { value = "192.0.2.2" } ]

[checks.primary]
state = "up"
"""


def name_queries(name, count):
    """`count` A queries for NAME.ORIGIN, no EDNS."""
    return [workload.wire_query(f"{name}.{workload.ORIGIN}", "A", qid=i) for i in range(count)]


def geo_queries(count, seed=11):
    """geo.ORIGIN A with ECS from random public /24s: bench.py's geo queries."""
    rnd = random.Random(seed)
    return [workload.ecs_query(f"geo.{workload.ORIGIN}", workload.random_public_net(rnd), qid=i & 0xFFFF)
            for i in range(count)]


def send(port, queries, n, window, timeout=300):
    """Sends n queries keeping `window` unanswered; returns answers received."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    s.settimeout(2.0)
    sent = got = 0
    end = time.monotonic() + timeout
    while got < n and time.monotonic() < end:
        while sent < n and sent - got < window:
            s.send(queries[sent % len(queries)])
            sent += 1
        try:
            s.recv(65535)
            got += 1
        except socket.timeout:
            got = sent  # lost datagrams: give up on them, keep going
    s.close()
    return got


# The answer column: these functions, inclusive. answer_query() is
# prepare_query() then answer_prepared(); the UDP batch path calls those two
# itself, with prefetch_answer() between them.
ANSWER_PARTS = ("meridian::prepare_query(", "meridian::prefetch_answer(", "meridian::answer_prepared(")


def totals(dump):
    """(total Ir, inclusive Ir of ANSWER_PARTS, syscalls) from a callgrind dump."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", dump],
                         capture_output=True, text=True, timeout=120).stdout
    num = lambda s: int(s.replace(",", ""))
    total = sysc = 0
    parts = {}
    for line in out.splitlines():
        f = line.split()
        if "PROGRAM TOTALS" in line:
            total, sysc = num(f[0]), num(f[2])
        elif re.match(r"^[\d,]+ ", line):
            for part in ANSWER_PARTS:
                if part in line and part not in parts:
                    parts[part] = num(f[0])
    return total, sum(parts.values()), sysc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--meridian", default=os.path.join(ROOT, "build", "meridian"))
    ap.add_argument("--queries", type=int, default=20000)
    ap.add_argument("--window", default="1,32")
    ap.add_argument("--port", type=int, default=5450)
    ap.add_argument("--rrl", type=int, default=0, help="enable RRL at this many responses/s (0: off)")
    ap.add_argument("--geo", action="store_true", help="geolocation queries with ECS (see above)")
    ap.add_argument("--geo-countries", type=int, default=0, metavar="N",
                    help="with --geo: the policy also lists N country matches over four more targets")
    ap.add_argument("--weighted", action="store_true", help="queries for a weighted name")
    ap.add_argument("--failover", action="store_true", help="queries for a failover name")
    ap.add_argument("--grep", metavar="REGEX",
                    help="only the mix's queries whose 'name type' line matches (e.g. '^host', 'MX$')")
    ap.add_argument("--dump", metavar="FILE",
                    help="keep the last callgrind dump here (callgrind_annotate --auto=yes FILE: per line)")
    ap.add_argument("--annotate", type=int, default=0, metavar="N",
                    help="also print the N functions with the most own instructions per query (last window)")
    a = ap.parse_args()
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            sys.exit(f"callgrind.py: {tool} not found (Debian: apt-get install valgrind)")
    binary = os.path.abspath(a.meridian)
    work = tempfile.mkdtemp(prefix="meridian-callgrind-")
    zone, qfile = os.path.join(work, "bench.zone"), os.path.join(work, "queries.txt")
    workload.write_zone(zone, 10000)
    workload.write_queries(qfile, 10000, count=20000)
    queries = (geo_queries(a.queries) if a.geo else name_queries("wt", 1000) if a.weighted
               else name_queries("fo", 1000) if a.failover
               else wire_queries(qfile, a.grep))
    port = next(runner.free_ports(a.port))
    srv = servers.meridian("m", binary, work, port, threads=1, zone=zone)
    if a.weighted or a.failover:
        with open(os.path.join(srv.dir, "zones", "bench.toml"), "a") as f:
            f.write(POLICY_RECORDS)
    if a.geo:
        mmdb = os.path.join(ROOT, "build", "geoip", "meridian-country.mmdb")
        if not os.path.exists(mmdb):
            sys.exit(f"callgrind.py: {mmdb} not built")
        with open(os.path.join(srv.dir, "zones", "bench.toml"), "a") as f:
            f.write("\n" + workload.geo_record(a.geo_countries))
        with open(os.path.join(srv.dir, "meridian.toml"), "a") as f:
            f.write(f'[geoip]\ndatabases = ["{mmdb}"]\n')
    if a.rrl:
        with open(os.path.join(srv.dir, "meridian.toml"), "a") as f:
            f.write(f"[rrl]\nenabled = true\nresponses_per_second = {a.rrl}\n")

    print(f"{'window':>6} {'total Ir/q':>11} {'answer':>8} {'io+loop':>8} {'syscalls/q':>11}")
    for window in (int(w) for w in a.window.split(",")):
        out = os.path.join(work, f"cg-{window}")
        proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--collect-systime=yes",
                                 f"--callgrind-out-file={out}.%p", *srv.argv], cwd=srv.dir,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if not runner.ready(port, timeout=120):
                sys.exit("callgrind.py: meridian did not start under valgrind")
            send(port, queries, 500, 8)  # warm-up
            subprocess.run(["callgrind_control", "-z", str(proc.pid)], capture_output=True, timeout=60)
            got = send(port, queries, a.queries, window)
            subprocess.run(["callgrind_control", "-d", str(proc.pid)], capture_output=True, timeout=60)
        finally:
            proc.terminate()
            proc.wait(60)
        dumps = [d for d in glob.glob(f"{out}.{proc.pid}.*")]
        if not dumps:
            sys.exit("callgrind.py: no dump written")
        total, answer, sysc = totals(sorted(dumps)[-1])
        print(f"{window:6} {total / got:11.0f} {answer / got:8.0f} {(total - answer) / got:8.0f} {sysc / got:11.2f}")
        last = (sorted(dumps)[-1], got)
    if a.annotate:
        text = subprocess.run(["callgrind_annotate", "--threshold=100", last[0]], capture_output=True,
                              text=True, timeout=120).stdout
        rows = [m for m in re.finditer(r"^\s*([\d,]+) \([^)]*\)\s+(\S.*)$", text, re.M)]
        print(f"own Ir/q  function (window {window})")
        for m in rows[1:a.annotate + 1]:   # rows[0] is the program total
            print(f"{int(m.group(1).replace(',', '')) / last[1]:9.1f}  {m.group(2)[:110]}")
    if a.dump:
        subprocess.run(["cp", last[0], a.dump], check=True)
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
