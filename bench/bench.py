#!/usr/bin/env python3
"""Meridian against its peers and against the floor, on loopback.

One generated zone (RFC 1035 master file; Meridian serves it through
`meridian import`) and one query mix go, one server at a time, to:

  floor     bench/udp-reflector.c: echoes each datagram with QR set, batched
            with recvmmsg/sendmmsg, no DNS work. What the kernel alone costs.
  meridian  build/meridian (or --meridian [LABEL=]PATH, repeatable)
  knot, nsd, gdnsd
            whichever is installed (Debian packages knot, nsd, gdnsd)

and prints one table:

  qps       dnsperf flat out for --seconds. On a 2-core machine dnsperf
            itself is usually the limit: a ceiling, not a server property.
  us/q      server CPU (user+sys of the whole process tree, from
            /proc/PID/stat) per answered query while dnsperf offers a fixed
            --rate queries/s: the figure to compare.
  x floor   us/q over the floor's us/q of the same run.
  lost%     queries unanswered at the fixed rate.
  RSS       resident memory of the server after the runs, MiB.

--threads 1,2 also runs Meridian with each worker count (flat-out qps and
us/q); every other server runs with one worker. With --rounds N every server
runs N times in alternating order and the best figure of each column is kept
(noise from other processes only ever adds).

Needs: python3, dnsperf, cc (for the floor), a built meridian. Everything
runs on 127.0.0.1 and every step has a time limit.

  bench/bench.py                        # all servers found, 1 thread
  bench/bench.py --threads 1,2 --rounds 3
  bench/bench.py --only floor,meridian --meridian old=/tmp/meridian-old --meridian build/meridian
"""
import argparse
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HZ = os.sysconf("SC_CLK_TCK")
ORIGIN = "bench.example"


# --- zone and queries -------------------------------------------------------

def write_zone(path, hosts):
    """A zone with the shapes a real one has: apex records, a CNAME, a
    wildcard, a delegation with glue, and `hosts` plain A records."""
    o = ORIGIN + "."
    rr = [f"$ORIGIN {o}", "$TTL 3600",
          f"@ SOA ns1 hostmaster 1 7200 900 1209600 600",
          "@ NS ns1", "@ NS ns2", "ns1 A 192.0.2.53", "ns2 A 198.51.100.53",
          "@ A 192.0.2.80", "@ MX 10 mx", "mx A 192.0.2.25", '@ TXT "v=spf1 mx -all"',
          "www A 192.0.2.80", "www A 192.0.2.81", "www AAAA 2001:db8::80",
          "alias CNAME www", "*.users A 192.0.2.100",
          "child NS ns.child", "ns.child A 192.0.2.200"]
    rr += [f"host{i} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(hosts)]
    with open(path, "w") as f:
        f.write("\n".join(rr) + "\n")


def write_queries(path, hosts, count=100000, seed=7):
    """dnsperf input: mostly positive answers, some NXDOMAIN, CNAME, wildcard
    and referral answers, in a fixed pseudo-random order."""
    rnd = random.Random(seed)
    mix = [(40, lambda: f"host{rnd.randrange(hosts)}.{ORIGIN} A"),
           (15, lambda: f"www.{ORIGIN} A"),
           (8, lambda: f"www.{ORIGIN} AAAA"),
           (10, lambda: f"missing{rnd.randrange(10 ** 6)}.{ORIGIN} A"),
           (6, lambda: f"{ORIGIN} MX"),
           (6, lambda: f"alias.{ORIGIN} A"),
           (5, lambda: f"u{rnd.randrange(5000)}.users.{ORIGIN} A"),
           (5, lambda: f"www.child.{ORIGIN} A"),
           (5, lambda: f"{ORIGIN} TXT")]
    weights = [w for w, _ in mix]
    with open(path, "w") as f:
        for _ in range(count):
            f.write(rnd.choices(mix, weights)[0][1]() + "\n")


# --- processes ----------------------------------------------------------------

def ready(port, timeout=30.0):
    """True once the server answers an SOA query on 127.0.0.1:port."""
    qname = b"".join(bytes([len(p)]) + p.encode() for p in ORIGIN.split(".")) + b"\0"
    q = struct.pack(">6H", 0xbe17, 0, 1, 0, 0, 0) + qname + struct.pack(">2H", 6, 1)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.25)
            try:
                s.sendto(q, ("127.0.0.1", port))
                if s.recv(4096)[:2] == q[:2]:
                    return True
            except OSError:
                time.sleep(0.1)
    return False


def free_ports(first):
    """Ports from `first` on where neither UDP nor TCP is bound by anyone
    (a server sharing a port through SO_REUSEPORT would take our queries)."""
    port = first
    while port < 65536:
        try:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                with socket.socket(socket.AF_INET, kind) as s:
                    s.bind(("127.0.0.1", port))
            yield port
        except OSError:
            pass
        port += 1


def process_tree(root):
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError):
                pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def cpu_seconds(pids):
    ticks = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
        except OSError:
            pass
    return ticks / HZ


def rss_mib(pids):
    kb = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                kb += next((int(l.split()[1]) for l in f if l.startswith("VmRSS:")), 0)
        except OSError:
            pass
    return kb / 1024


def dnsperf(port, queries, seconds, rate=None, clients=4, threads=1):
    cmd = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queries, "-l", str(seconds),
           "-c", str(clients), "-T", str(threads), "-q", "500"]
    if rate:
        cmd += ["-Q", str(rate)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    except subprocess.TimeoutExpired:
        return {}
    r = {}
    for line in out.splitlines():
        w = line.split()
        if line.lstrip().startswith("Queries completed:"):
            r["completed"] = int(w[2])
        elif line.lstrip().startswith("Queries lost:"):
            r["lost"] = int(w[2])
        elif line.lstrip().startswith("Queries per second:"):
            r["qps"] = float(w[3])
    return r


class Server:
    def __init__(self, name, argv, port, workdir, threads=1):
        self.name, self.argv, self.port, self.dir, self.threads = name, argv, port, workdir, threads

    def measure(self, queries, seconds, rate, load_threads):
        log = open(os.path.join(self.dir, "server.log"), "w")
        proc = subprocess.Popen(self.argv, cwd=self.dir, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            if not ready(self.port) or proc.poll() is not None:
                print(f"bench: {self.name} did not answer on port {self.port}, skipped; "
                      f"see {log.name}", file=sys.stderr)
                return None
            dnsperf(self.port, queries, 1)  # warm-up: caches, page faults
            flat = dnsperf(self.port, queries, seconds, threads=load_threads,
                           clients=4 * load_threads)
            pids = process_tree(proc.pid)
            before = cpu_seconds(pids)
            fixed = dnsperf(self.port, queries, seconds, rate)
            used = cpu_seconds(pids) - before
            rss = rss_mib(pids)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                pass
            log.close()
        done = fixed.get("completed", 0)
        lost = fixed.get("lost", 0)
        return {"qps": flat.get("qps", 0.0),
                "us_per_query": used * 1e6 / done if done else float("inf"),
                "lost_pct": 100.0 * lost / max(1, done + lost), "rss_mib": rss}


# --- the servers ----------------------------------------------------------------

def floor_server(work, port):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        print("bench: no C compiler (cc): the floor is skipped", file=sys.stderr)
        return None
    exe = os.path.join(work, "udp-reflector")
    subprocess.run([cc, "-O2", "-o", exe, os.path.join(HERE, "udp-reflector.c")], check=True, timeout=60)
    return Server("floor", [exe, "127.0.0.1", str(port)], port, work)


def meridian_server(label, binary, work, zone, port, threads):
    d = os.path.join(work, f"{label}-{threads}")
    os.makedirs(os.path.join(d, "zones"), exist_ok=True)
    with open(os.path.join(d, "zones", "bench.toml"), "w") as f:
        subprocess.run([binary, "import", zone, "--origin", ORIGIN], stdout=f, check=True, timeout=120)
    with open(os.path.join(d, "meridian.toml"), "w") as f:
        f.write(f'[server]\nzones = "zones"\nthreads = {threads}\nallow_root = true\n')
    name = label if threads == 1 else f"{label}/{threads}t"
    return Server(name, [binary, "serve", "--config", "meridian.toml", "--listen", f"127.0.0.1:{port}"],
                  port, d, threads)


def knot_server(work, zone, port):
    exe = shutil.which("knotd") or "/usr/sbin/knotd"
    if not os.path.exists(exe):
        return None
    d = os.path.join(work, "knot")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "knot.conf"), "w") as f:
        f.write(f"server:\n  listen: 127.0.0.1@{port}\n  rundir: {d}\n  user: root:root\n"
                f"  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n"
                f"database:\n  storage: {d}\n"
                f"zone:\n  - domain: {ORIGIN}\n    file: {zone}\n    storage: {d}\n"
                f"log:\n  - target: stderr\n    any: error\n")
    return Server("knot", [exe, "-c", os.path.join(d, "knot.conf")], port, d)


def nsd_server(work, zone, port):
    exe = shutil.which("nsd") or "/usr/sbin/nsd"
    if not os.path.exists(exe):
        return None
    d = os.path.join(work, "nsd")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "nsd.conf"), "w") as f:
        f.write(f'server:\n  ip-address: 127.0.0.1@{port}\n  server-count: 1\n  username: ""\n'
                f'  database: ""\n  pidfile: "{d}/nsd.pid"\n  xfrdfile: "{d}/xfrd.state"\n'
                f'  zonelistfile: "{d}/zone.list"\n  verbosity: 0\n'
                f'  rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\n'
                f'remote-control:\n  control-enable: no\n'
                f'zone:\n  name: {ORIGIN}\n  zonefile: {zone}\n')
    return Server("nsd", [exe, "-d", "-c", os.path.join(d, "nsd.conf")], port, d)


def gdnsd_server(work, zone, port):
    exe = shutil.which("gdnsd") or "/usr/sbin/gdnsd"
    if not os.path.exists(exe):
        return None
    d = os.path.join(work, "gdnsd")
    for sub in ("zones", "run", "state"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    shutil.copy(zone, os.path.join(d, "zones", ORIGIN))
    with open(os.path.join(d, "config"), "w") as f:
        f.write(f"options => {{\n  listen => [ 127.0.0.1 ]\n  dns_port => {port}\n"
                f"  udp_threads => 1\n  tcp_threads => 1\n"
                f"  run_dir => {d}/run\n  state_dir => {d}/state\n}}\n")
    return Server("gdnsd", [exe, "-c", d, "start"], port, d)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--meridian", action="append", metavar="[LABEL=]PATH",
                    help="meridian binary to run (repeatable; default: build/meridian)")
    ap.add_argument("--only", help="comma list of server names (floor, meridian or your labels, knot, nsd, gdnsd)")
    ap.add_argument("--threads", default="1", help="Meridian worker counts to run, e.g. 1,2 (default 1)")
    ap.add_argument("--seconds", type=int, default=5, help="length of each dnsperf run (default 5)")
    ap.add_argument("--rate", type=int, default=30000, help="offered queries/s for the CPU figure (default 30000)")
    ap.add_argument("--rounds", type=int, default=1, help="runs per server; best figure kept (default 1)")
    ap.add_argument("--hosts", type=int, default=10000, help="A records in the zone (default 10000)")
    ap.add_argument("--port", type=int, default=5350, help="first UDP/TCP port to use (default 5350)")
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args()

    if not shutil.which("dnsperf"):
        sys.exit("bench: dnsperf not found (Debian: apt-get install dnsperf)")
    binaries = []
    for spec in a.meridian or [os.path.join(ROOT, "build", "meridian")]:
        label, _, path = spec.rpartition("=")
        path = os.path.abspath(path)
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {path} is not an executable (build first: cmake -B build && cmake --build build)")
        binaries.append((label or "meridian", path))
    thread_counts = [int(t) for t in a.threads.split(",")]

    work = tempfile.mkdtemp(prefix="meridian-bench-")
    try:
        zone = os.path.join(work, "bench.zone")
        queries = os.path.join(work, "queries.txt")
        write_zone(zone, a.hosts)
        write_queries(queries, a.hosts)
        port = free_ports(a.port)
        servers = [floor_server(work, next(port))]
        for label, path in binaries:
            servers += [meridian_server(label, path, work, zone, next(port), t) for t in thread_counts]
        servers += [knot_server(work, zone, next(port)), nsd_server(work, zone, next(port)),
                    gdnsd_server(work, zone, next(port))]
        servers = [s for s in servers if s]
        if a.only:
            keep = set(a.only.split(","))
            servers = [s for s in servers if s.name.split("/")[0] in keep]

        best = {}
        for r in range(a.rounds):
            for s in servers if r % 2 == 0 else servers[::-1]:
                res = s.measure(queries, a.seconds, a.rate, load_threads=min(s.threads, 2))
                if not res:
                    continue
                b = best.setdefault(s.name, res)
                b["qps"] = max(b["qps"], res["qps"])
                for k in ("us_per_query", "lost_pct", "rss_mib"):
                    b[k] = min(b[k], res[k])

        floor = best.get("floor", {}).get("us_per_query")
        print(f"{'server':14} {'qps':>8} {'us/q':>7} {'x floor':>8} {'lost%':>6} {'RSS MiB':>8}")
        for name, b in best.items():
            b["x_floor"] = b["us_per_query"] / floor if floor else None
            ratio = f"{b['x_floor']:8.2f}" if floor else f"{'-':>8}"
            print(f"{name:14} {b['qps']:8.0f} {b['us_per_query']:7.2f} {ratio} {b['lost_pct']:6.2f} "
                  f"{b['rss_mib']:8.1f}")
        print(f"({a.seconds} s per run, CPU at {a.rate} q/s offered, best of {a.rounds} round(s), "
              f"{os.cpu_count()} CPUs)")
        if a.json:
            with open(a.json, "w") as f:
                json.dump(best, f, indent=1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
