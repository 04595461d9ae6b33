"""500 TCP (or HTTP) checks at a 1 s interval against 50 local listeners:
server CPU with checks off / on, and answer latency under a fixed dnsperf rate.

A third case, "checks off + external prober", makes the same 500 connections
per second to the listeners from a separate process while Meridian's checks
are off: on 2 cores the listeners' and the kernel's share of that work lands
on the CPUs that dnsperf and the server use, so it separates what the probing
traffic costs from what Meridian's checker thread costs.
Needs dnsperf. From the repository root, after a build:
  python3 bench/health_load.py [tcp|http]      (PIN=1 pins server / load to separate CPUs)"""
import asyncio, os, sys, time, socket, subprocess, threading, statistics, tempfile, re
from pathlib import Path
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import harness as h

N_CHECKS, N_LISTENERS = 500, 50
KIND = sys.argv[1] if len(sys.argv) > 1 else "tcp"
RATE, SECONDS, IDLE = 10000, 15, 15

# --- listeners in a separate process (so their CPU is not ours)
listener_code = r'''
import asyncio, sys
async def main(n, kind):
    ports = []
    async def tcp(r, w): w.close()
    async def http(r, w):
        try:
            await r.readuntil(b"\r\n\r\n")
            w.write(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
            await w.drain()
        except Exception: pass
        w.close()
    servers = [await asyncio.start_server(http if kind == "http" else tcp, "127.0.0.1", 0, backlog=512) for _ in range(n)]
    print(" ".join(str(s.sockets[0].getsockname()[1]) for s in servers), flush=True)
    await asyncio.Event().wait()
asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
'''
PIN = os.environ.get("PIN") == "1"
pre = ["taskset", "-c", "1"] if PIN else []
lp = subprocess.Popen(pre + [sys.executable, "-c", listener_code, str(N_LISTENERS), KIND], stdout=subprocess.PIPE, text=True)
ports = [int(p) for p in lp.stdout.readline().split()]

def cpu_seconds(pid, tid=None):
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    f = open(path).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

def threads(pid):
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        out[t] = open(f"/proc/{pid}/task/{t}/comm").read().strip()
    return out

def zone(checks_on):
    recs, checks = [], []
    for i in range(N_CHECKS):
        recs.append(f'[records.c{i}.A]\npolicy = "failover"\ntargets = [ {{ value = "192.0.2.1", check = "k{i}" }}, {{ value = "192.0.2.2" }} ]\n')
        if checks_on:
            port = ports[i % N_LISTENERS]
            if KIND == "http":
                checks.append(f'[checks.k{i}]\ntype = "http"\nurl = "http://127.0.0.1:{port}/"\ninterval = "1s"\n')
            else:
                checks.append(f'[checks.k{i}]\ntype = "tcp"\naddress = "127.0.0.1:{port}"\ninterval = "1s"\n')
        else:
            checks.append(f'[checks.k{i}]\nstate = "up"\n')
    return h.soa_zone("perf.test.", "\n".join(recs + checks))

qfile = Path(tempfile.mkstemp(suffix=".txt")[1])
qfile.write_text("".join(f"c{i}.perf.test A\n" for i in range(N_CHECKS)))

prober_code = r'''
import socket, sys, time
ports = [int(p) for p in sys.argv[1].split(",")]
n, i, t0 = int(sys.argv[2]), 0, time.monotonic()
while True:  # n connects per second, spread evenly, like n checks at a 1 s interval
    s = socket.socket(); s.settimeout(1)
    try: s.connect(("127.0.0.1", ports[i % len(ports)]))
    except OSError: pass
    s.close(); i += 1
    time.sleep(max(0.0, t0 + i / n - time.monotonic()))
'''

def measure(checks_on, prober=False):
    srv = h.Server(example_zones=False, zones={"perf.toml": zone(checks_on)}, admin=True, threads=1,
                   listen=("127.0.0.1:0",)).start()
    pid = srv.proc.pid
    if PIN:  # every thread of the server on CPU 0; dnsperf and the listeners on CPU 1
        for t in os.listdir(f"/proc/{pid}/task"):
            os.sched_setaffinity(int(t), {0})
    time.sleep(3)  # every check has fired at least twice
    names = threads(pid)
    hc = [t for t, n in names.items() if n == "health-checker"]
    c0, t0 = cpu_seconds(pid), time.monotonic()
    h0 = cpu_seconds(pid, hc[0]) if hc else 0
    time.sleep(IDLE)
    idle_cpu = (cpu_seconds(pid) - c0) / (time.monotonic() - t0) * 100
    hc_cpu = ((cpu_seconds(pid, hc[0]) - h0) / (time.monotonic() - t0) * 100) if hc else 0.0
    health = h.poll(lambda: __import__("json").loads(srv.ctl("--json", "health").stdout)["checks"], 1)
    up = sum(1 for c in health if c["state"] == "up")
    probed = sum(1 for c in health if c["last_result"] is not None and c["type"] in ("tcp", "http"))
    host, port = srv.addr("udp4")
    pr = subprocess.Popen(pre + [sys.executable, "-c", prober_code, ",".join(map(str, ports)), str(N_CHECKS)]) \
        if prober else None
    c0, t0 = cpu_seconds(pid), time.monotonic()
    p = subprocess.run(pre + ["dnsperf", "-s", host, "-p", str(port), "-d", str(qfile), "-l", str(SECONDS), "-Q", str(RATE),
                        "-c", "1", "-q", "50", "-v"], capture_output=True, text=True, timeout=SECONDS + 30)
    load_cpu = (cpu_seconds(pid) - c0) / (time.monotonic() - t0) * 100
    lat = sorted(float(m.group(1)) * 1e6 for m in re.finditer(r"^> \S+ \S+ \S+ ([0-9.]+)$", p.stdout, re.M))
    sent = re.search(r"Queries completed:\s+(\d+)", p.stdout)
    lost = re.search(r"Queries lost:\s+(\d+)", p.stdout)
    if pr: pr.kill()
    srv.close()
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    return dict(idle_cpu=idle_cpu, hc_cpu=hc_cpu, up=up, probed=probed, load_cpu=load_cpu, n=len(lat),
                completed=int(sent.group(1)) if sent else 0, lost=int(lost.group(1)) if lost else -1,
                mean=statistics.mean(lat), p50=pct(0.5), p99=pct(0.99), p999=pct(0.999), max=lat[-1])

print(("pinned: server on CPU 0, dnsperf + listeners on CPU 1; " if PIN else "unpinned; ") + f"{N_CHECKS} {KIND} checks, interval 1s, against {N_LISTENERS} local listeners; 1 worker thread; "
      f"dnsperf -Q {RATE} for {SECONDS}s over {N_CHECKS} failover names")
for label, on, prober in (("checks off (manual)", False, False), (f"{N_CHECKS} {KIND} checks on", True, False),
                          ("checks off + ext prober", False, True)) * 2:
    r = measure(on, prober)
    print(f"{label:22s} idle CPU {r['idle_cpu']:5.1f}% (checker thread {r['hc_cpu']:4.1f}%)  "
          f"probed {r['probed']:3d} up {r['up']:3d} | under load: CPU {r['load_cpu']:5.1f}%  "
          f"answers {r['completed']} lost {r['lost']}  latency us: mean {r['mean']:.0f} p50 {r['p50']:.0f} "
          f"p99 {r['p99']:.0f} p99.9 {r['p999']:.0f} max {r['max']:.0f}", flush=True)
lp.kill()
qfile.unlink()
