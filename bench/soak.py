#!/usr/bin/env python3
"""Soak test (issue 7): dnsperf load for --seconds while a zone file changes
every second (picked up by the file watcher, plus a SIGHUP every 5 s) and a
health check flaps (a local HTTP server switching between 200 and 503).

Checks, and prints:
  - the server never exits and stops cleanly (exit 0) at the end;
  - dnsperf's lost queries (the only acceptable ones are its own timeouts;
    the script fails above --max-lost-pct);
  - sampled answers are correct: www.example.com is the example's three
    addresses, the flapping name answers the primary or the secondary only,
    the edited TXT is one that was written;
  - RSS at the start of the load, its maximum, and at the end (fails if the
    end is more than --max-rss-growth MiB above the start).

  bench/soak.py [--meridian build/meridian] [--seconds 180] [--qps 10000]

Needs dnsperf and dig. Loopback only; every loop is bounded by --seconds.
"""

import argparse
import http.server
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import runner  # noqa: E402  (free_ports: free for UDP and TCP)


def rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def dig(port: int, name: str, qtype: str = "A") -> list[str] | None:
    p = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+short", "+time=1", "+tries=2", name, qtype],
                       capture_output=True, text=True, timeout=10)
    if p.returncode != 0:
        return None
    return sorted(l.strip('"') for l in p.stdout.split())


class Flapper(http.server.BaseHTTPRequestHandler):
    healthy = True

    def do_GET(self):
        code = 200 if Flapper.healthy else 503
        self.send_response(code)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n" if code == 200 else b"no\n")

    def log_message(self, *a):
        pass


SOAK_ZONE = """origin = "soak.test."
[soa]
mname = "ns1.soak.test."
rname = "hostmaster.soak.test."
serial = "auto"
refresh = 3600
retry = 600
expire = 86400
minimum = 60

[records."@"]
NS = "ns1.soak.test."

[records.ns1]
A = "192.0.2.53"

[records.app.A]
policy = "failover"
ttl = 10
targets = [
  {{ value = "192.0.2.1", check = "flap" }},
  {{ value = "192.0.2.2" }},
]

[records.edit]
TXT = "gen-{gen}"

[checks.flap]
type = "http"
url = "http://127.0.0.1:{http_port}/"
interval = "500ms"
timeout = "200ms"
rise = 1
fall = 1
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--meridian", default=str(ROOT / "build/meridian"))
    ap.add_argument("--seconds", type=int, default=180)
    ap.add_argument("--qps", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-lost-pct", type=float, default=0.1)
    ap.add_argument("--max-rss-growth", type=float, default=8.0, help="MiB")
    args = ap.parse_args()
    for tool in ("dnsperf", "dig"):
        if not shutil.which(tool):
            print(f"{tool} not found", file=sys.stderr)
            return 2

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Flapper)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    http_port = httpd.server_address[1]

    tmp = Path(tempfile.mkdtemp(prefix="meridian-soak-"))
    zones = tmp / "zones"
    shutil.copytree(ROOT / "examples/zones", zones)
    soak = zones / "soak.test.toml"
    soak.write_text(SOAK_ZONE.format(gen=0, http_port=http_port))
    port = next(runner.free_ports(20053))
    example = (ROOT / "examples/meridian.toml").read_text()
    regions = "".join(re.findall(r"^\[regions\.[^\]]+\][^\[]*", example, re.M))
    (tmp / "meridian.toml").write_text(f'[server]\nlisten = ["127.0.0.1:{port}"]\nzones = "zones"\n'
                                       f'threads = {args.threads}\nallow_root = true\n[reload]\ndebounce = "100ms"\n{regions}')
    log = open(tmp / "meridian.log", "w")
    cmd = [args.meridian, "serve", "--config", str(tmp / "meridian.toml")]
    srv = subprocess.Popen(cmd, stderr=log, stdout=subprocess.DEVNULL)
    failures: list[str] = []
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and dig(port, "www.example.com") != sorted(
                ["192.0.2.10", "192.0.2.11", "192.0.2.12"]):
            time.sleep(0.1)
        queries = tmp / "queries.txt"
        queries.write_text("www.example.com A\napp.soak.test A\nedit.soak.test TXT\nnope.example.com A\n"
                           "example.com MX\napi.example.com A\ngeo.example.com A\n")
        perf = subprocess.Popen(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(queries),
                                 "-l", str(args.seconds), "-Q", str(args.qps), "-c", "4", "-t", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(2)
        rss_start = rss_mib(srv.pid)
        rss_max = rss_start
        t_end = time.monotonic() + args.seconds - 3
        gen, written, samples, bad_samples, reloads, flaps = 0, {"gen-0"}, 0, 0, 0, 0
        last_flap = last_hup = time.monotonic()
        while time.monotonic() < t_end:
            t0 = time.monotonic()
            if srv.poll() is not None:
                failures.append(f"server exited with {srv.returncode} during the soak")
                break
            gen += 1
            soak.write_text(SOAK_ZONE.format(gen=gen, http_port=http_port))
            written.add(f"gen-{gen}")
            reloads += 1
            if t0 - last_hup >= 5:
                srv.send_signal(signal.SIGHUP)
                last_hup = t0
            if t0 - last_flap >= 2:
                Flapper.healthy = not Flapper.healthy
                flaps += 1
                last_flap = t0
            for name, qtype, ok in (
                    ("www.example.com", "A", lambda r: r == ["192.0.2.10", "192.0.2.11", "192.0.2.12"]),
                    ("app.soak.test", "A", lambda r: r in (["192.0.2.1"], ["192.0.2.2"])),
                    ("edit.soak.test", "TXT", lambda r: len(r) == 1 and r[0] in written)):
                r = dig(port, name, qtype)
                samples += 1
                if r is None or not ok(r):
                    bad_samples += 1
                    failures.append(f"{name} {qtype}: {r}")
            rss_max = max(rss_max, rss_mib(srv.pid))
            time.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))
        out, _ = perf.communicate(timeout=args.seconds + 60)
        rss_end = rss_mib(srv.pid) if srv.poll() is None else float("nan")
        sent = int(re.search(r"Queries sent:\s+(\d+)", out).group(1))
        lost = int(re.search(r"Queries lost:\s+(\d+)", out).group(1))
        print(f"soak: {args.seconds} s at {args.qps} q/s offered, {args.threads} workers")
        print(f"  queries sent {sent}, lost {lost} ({lost / max(sent, 1) * 100:.3f}%)")
        print(f"  zone rewrites {reloads} (watcher) + SIGHUP every 5 s; health flaps {flaps}")
        print(f"  answer samples {samples}, wrong or missing {bad_samples}")
        print(f"  RSS MiB: start {rss_start:.1f}, max {rss_max:.1f}, end {rss_end:.1f}")
        if lost / max(sent, 1) * 100 > args.max_lost_pct:
            failures.append(f"lost {lost} of {sent} queries")
        if not rss_end <= rss_start + args.max_rss_growth:
            failures.append(f"RSS grew from {rss_start:.1f} to {rss_end:.1f} MiB")
    finally:
        if srv.poll() is None:
            srv.terminate()
            try:
                rc = srv.wait(15)
            except subprocess.TimeoutExpired:
                srv.kill()
                rc = "killed after 15 s"
            if rc != 0:
                failures.append(f"server stopped with {rc}")
        httpd.shutdown()
        log.close()
    crashes = [l for l in (tmp / "meridian.log").read_text().splitlines() if "Sanitizer" in l or "runtime error" in l]
    failures += crashes[:5]
    print("  server log:", tmp / "meridian.log")
    for f in failures[:20]:
        print("FAIL:", f)
    print("soak:", "FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
