#!/usr/bin/env python3
"""Zone load time and memory: Meridian against NSD, Knot DNS, gdnsd and
PowerDNS (bind backend), on loopback.

One generated zone of --records records (default 1,000,000; mostly A, with
AAAA, CNAME, MX and TXT) is written as an RFC 1035 master file for the peers
and as Meridian's TOML zone file (the only form `meridian serve` reads).
Each installed server, one at a time:

  time      wall seconds from starting the process until a UDP query for
            the LAST record of the file is answered with that record's
            address (a new query every 20 ms, each waiting 50 ms at most,
            bounded by --timeout: the figure is within ~70 ms).
  RSS       VmRSS summed over the server's process tree, MiB, read right
            after that answer, with the server running and answering.
  PSS       the same tree's proportional set size (/proc/PID/smaps_rollup):
            pages a forked child shares with its parent (NSD's server
            process, Knot/pdns helpers) are counted once, not twice.
  x mer.    the figure over Meridian's (below 1: that server does better).

Meridian runs twice: `meridian` with the GLIBC_TUNABLES of the packaged
systemd unit (packaging/meridian.service.in; malloc's heap on transparent
huge pages, large mmap/trim thresholds), as an installed server runs, and
`meridian-bare` without them, as `build/meridian` runs from a shell. The
peers run with glibc's defaults (their Debian units set no tunables); any
GLIBC_TUNABLES of the caller is removed for every run.

  bench/zone_load.py                        # every installed server, 1M records
  bench/zone_load.py --records 100000 --only meridian,nsd --rounds 3

With --rounds N each server runs N times (alternating order) and the best
time and the lowest RSS/PSS are kept: noise from other processes only adds.
Needs: python3, a built meridian; the peers are optional (Debian packages
nsd, knot, gdnsd, pdns-server, pdns-backend-bind). System instances of the
peers are not needed and must not hold the ports (the first free ones from
--port are used).
"""
import argparse
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import runner  # noqa: E402  (free_ports, process_tree, rss_mib)
import servers  # noqa: E402  (the peers' configurations)
servers.ORIGIN = "load.example"  # their configs name the zone from it

ORIGIN = "load.example"


# --- the zone, in both forms ------------------------------------------------------

def records(n):
    """(owner, type, rdata) for n records: 70% A, 10% AAAA, 5% CNAME, 5% MX,
    10% TXT; one owner per record. The last one is always an A record."""
    out = []
    for i in range(n - 1):
        k = i % 20
        a = f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"
        if k < 14:
            out.append((f"h{i}", "A", a))
        elif k < 16:
            out.append((f"h{i}", "AAAA", f"2001:db8::{i >> 16 & 0xffff:x}:{i & 0xffff:x}"))
        elif k == 16:
            out.append((f"h{i}", "CNAME", f"h{i - 1}"))
        elif k == 17:
            out.append((f"h{i}", "MX", f"10 mx{i % 7}.example.net."))
        else:
            out.append((f"h{i}", "TXT", f'"v=spf1 ip4:{a} -all"'))
    out.append(("last", "A", "192.0.2.254"))
    return out


APEX = [("@", "NS", "ns1"), ("@", "NS", "ns2"), ("ns1", "A", "192.0.2.53"), ("ns2", "A", "198.51.100.53")]


def write_master(path, recs):
    with open(path, "w") as f:
        f.write(f"$ORIGIN {ORIGIN}.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 900 1209600 600\n")
        for owner, t, rd in APEX + recs:
            f.write(f"{owner} {t} {rd}\n")


def write_toml(path, recs):
    def q(s):  # TOML basic string
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    with open(path, "w") as f:
        f.write(f'origin = "{ORIGIN}."\nttl = 3600\n\n[soa]\nmname = "ns1"\nrname = "hostmaster"\n'
                f"serial = 1\nrefresh = 7200\nretry = 900\nexpire = 1209600\nminimum = 600\n\n"
                '[records."@"]\nNS = ["ns1", "ns2"]\n\n[records.ns1]\nA = "192.0.2.53"\n\n'
                '[records.ns2]\nA = "198.51.100.53"\n\n')
        for owner, t, rd in recs:
            if t == "TXT":  # one quoted character-string: the value inside the quotes
                rd = rd[1:-1]
            f.write(f"[records.{owner}]\n{t} = {q(rd)}\n\n")


# --- measuring ----------------------------------------------------------------------

def query_a(name, port, qid):
    """The A addresses in the answer to `name A`, or None without an answer."""
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    q = struct.pack(">6H", qid, 0, 1, 0, 0, 0) + qname + struct.pack(">2H", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.05)  # short: a query sent during the load must not hide the end of it
        try:
            s.sendto(q, ("127.0.0.1", port))
            r = s.recv(4096)
        except OSError:
            return None
    if len(r) < 12 or r[:2] != q[:2] or r[3] & 0xf != 0:
        return None
    ancount = struct.unpack(">H", r[6:8])[0]
    pos, out = len(q), []
    for _ in range(ancount):  # answer owners are compressed or plain; skip either
        while pos < len(r) and r[pos] != 0 and r[pos] < 0xc0:
            pos += 1 + r[pos]
        pos += 2 if pos < len(r) and r[pos] >= 0xc0 else 1
        if pos + 10 > len(r):
            return None
        rtype, _, _, rdlen = struct.unpack(">HHIH", r[pos:pos + 10])
        pos += 10
        if rtype == 1 and rdlen == 4:
            out.append(socket.inet_ntoa(r[pos:pos + 4]))
        pos += rdlen
    return out


def pss_mib(pids):
    return runner.proc_sum_mib(pids, "smaps_rollup", "Pss:")


def unit_tunables():
    """GLIBC_TUNABLES from the packaged unit's Environment= line, or None."""
    unit = os.path.join(ROOT, "packaging", "meridian.service.in")
    with open(unit) as f:
        for line in f:
            if line.startswith("Environment=GLIBC_TUNABLES="):
                return line.split("=", 2)[2].strip()
    return None


def measure(name, argv, cwd, port, want_name, want_addr, timeout, tunables=None):
    log = open(os.path.join(cwd, "server.log"), "w")
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    if tunables:
        env["GLIBC_TUNABLES"] = tunables
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env=env)
    try:
        qid, loaded = 1, None
        while time.monotonic() - start < timeout and proc.poll() is None:
            if query_a(want_name, port, qid) == [want_addr]:
                loaded = time.monotonic() - start
                break
            qid = (qid + 1) & 0xffff
            time.sleep(0.02)
        if loaded is None:
            why = "exited" if proc.poll() is not None else f"no answer within {timeout} s"
            print(f"zone_load: {name}: {why}; see {log.name}", file=sys.stderr)
            return None
        pids = runner.process_tree(proc.pid)
        return {"time": loaded, "rss": runner.rss_mib(pids), "pss": pss_mib(pids)}
    finally:
        runner.stop_group(proc, 15)
        log.close()


# --- the servers (argv, working directory) --------------------------------------------

def meridian(binary, work, toml, port):
    d = os.path.join(work, "meridian")
    os.makedirs(os.path.join(d, "zones"), exist_ok=True)
    shutil.copy(toml, os.path.join(d, "zones", "load.toml"))
    with open(os.path.join(d, "meridian.toml"), "w") as f:
        f.write('[server]\nzones = "zones"\nthreads = 1\nallow_root = true\n')
    return [binary, "serve", "--config", "meridian.toml", "--listen", f"127.0.0.1:{port}"], d


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=1_000_000, help="records in the zone (default 1000000)")
    ap.add_argument("--meridian", default=os.path.join(ROOT, "build", "meridian"), help="meridian binary")
    ap.add_argument("--only", help="comma list of meridian, meridian-bare, nsd, knot, gdnsd, pdns")
    ap.add_argument("--rounds", type=int, default=1, help="runs per server; best kept (default 1)")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds each server may take (default 180)")
    ap.add_argument("--port", type=int, default=5450, help="first UDP/TCP port to try (default 5450)")
    ap.add_argument("--keep", help="write the zones to this directory instead of a temporary one")
    a = ap.parse_args()
    if (not a.only or "meridian" in a.only.split(",")) and not os.access(a.meridian, os.X_OK):
        sys.exit(f"zone_load: {a.meridian} is not an executable (build first)")

    work = a.keep or tempfile.mkdtemp(prefix="meridian-zoneload-")
    os.makedirs(work, exist_ok=True)
    try:
        t0 = time.monotonic()
        recs = records(a.records)
        master, toml = os.path.join(work, "load.zone"), os.path.join(work, "load.toml")
        write_master(master, recs)
        write_toml(toml, recs)
        print(f"zone: {a.records} records (+ SOA, 2 NS, 2 glue), {os.path.getsize(master) >> 20} MiB master "
              f"file, {os.path.getsize(toml) >> 20} MiB TOML; written in {time.monotonic() - t0:.1f} s")
        last = f"last.{ORIGIN}."
        ports = runner.free_ports(a.port)
        todo = []  # (name, argv, working directory, port)
        p = next(ports)
        tunables = unit_tunables()
        mer_argv, mer_dir = meridian(os.path.abspath(a.meridian), work, toml, p)
        todo.append(("meridian", mer_argv, mer_dir, p))
        todo.append(("meridian-bare", mer_argv, mer_dir, p))
        print(f"meridian: GLIBC_TUNABLES={tunables} (packaging/meridian.service.in); meridian-bare: none")
        for name, make in (("nsd", servers.nsd), ("knot", servers.knot), ("gdnsd", servers.gdnsd),
                           ("pdns", servers.pdns_bind)):
            p = next(ports)
            s = make(work, master, p)
            if s:
                todo.append((name, s.argv, s.dir, p))
        todo = [s for s in todo if not a.only or s[0] in a.only.split(",")]
        best = {}
        for r in range(a.rounds):
            for name, argv, d, port in todo if r % 2 == 0 else todo[::-1]:
                res = measure(name, argv, d, port, last, "192.0.2.254", a.timeout,
                              tunables if name == "meridian" else None)
                if not res:
                    continue
                b = best.setdefault(name, res)
                for k in res:
                    b[k] = min(b[k], res[k])
        ref = best.get("meridian")
        print(f"{'server':13} {'time s':>7} {'x mer.':>7} {'RSS MiB':>8} {'x mer.':>7} {'PSS MiB':>8} {'x mer.':>7}")
        for name, b in best.items():
            def ratio(k):
                return f"{b[k] / ref[k]:7.2f}" if ref else f"{'-':>7}"
            print(f"{name:13} {b['time']:7.2f} {ratio('time')} {b['rss']:8.1f} {ratio('rss')} "
                  f"{b['pss']:8.1f} {ratio('pss')}")
        load = os.getloadavg()[0]
        print(f"(best of {a.rounds} round(s), {os.cpu_count()} CPUs, load average {load:.2f} at the end)")
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
