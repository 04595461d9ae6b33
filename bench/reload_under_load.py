#!/usr/bin/env python3
"""Zone edits under load (issue 6): dnsperf sends a steady query stream
while a zone file is edited ten times, one edit invalid. Prints how long each
valid edit took to show up in answers, that the invalid one was reported and
not served, and dnsperf's sent/completed/lost counts.

  bench/reload_under_load.py [--meridian build/meridian] [--qps 20000] [--edits 10]

Needs dnsperf (apt install dnsperf) and dig. Loopback only; bounded: the load
runs for a fixed time and every wait has a timeout.
"""

import argparse
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dig_txt(port: int, name: str) -> list[str]:
    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+short", "+time=1", "+tries=1", name, "TXT"],
                         capture_output=True, text=True, timeout=5).stdout
    return [l.strip('"') for l in out.split()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--meridian", default=str(ROOT / "build/meridian"))
    ap.add_argument("--qps", type=int, default=20000, help="offered load (dnsperf -Q)")
    ap.add_argument("--edits", type=int, default=10)
    ap.add_argument("--bad", type=int, default=4, help="which edit (1-based) is invalid")
    ap.add_argument("--gap", type=float, default=1.5, help="seconds between edits")
    args = ap.parse_args()
    if not shutil.which("dnsperf"):
        print("dnsperf not found: apt install dnsperf", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="meridian-reload-"))
    zones = tmp / "zones"
    shutil.copytree(ROOT / "examples/zones", zones)
    port, admin = free_port(), free_port()
    regions = (ROOT / "examples/meridian.toml").read_text()
    regions = regions[regions.index("[regions."):] if "[regions." in regions else ""
    regions = regions.split("[admin]")[0].split("[checks")[0]
    (tmp / "meridian.toml").write_text(
        f'[server]\nlisten = ["127.0.0.1:{port}"]\nzones = "zones"\nthreads = 1\nallow_root = true\n'
        f'[admin]\nlisten = "127.0.0.1:{admin}"\n{regions}')
    log = open(tmp / "meridian.log", "w")
    srv = subprocess.Popen([args.meridian, "serve", "--config", str(tmp / "meridian.toml")],
                           stderr=log, stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if dig_txt(port, "example.com") is not None and (tmp / "meridian.log").read_text().count("serving with"):
                break
            time.sleep(0.05)
        zone = zones / "example.com.toml"
        base = zone.read_text()
        queries = tmp / "queries.txt"
        queries.write_text("www.example.com A\nmail.example.com A\nexample.com MX\napi.example.com A\n"
                           "reload-probe.example.com TXT\nnope.example.com A\n")
        duration = args.edits * args.gap + 3
        perf = subprocess.Popen(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(queries),
                                 "-l", str(int(duration)), "-Q", str(args.qps), "-c", "4", "-t", "2"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1)
        served = None
        for i in range(1, args.edits + 1):
            bad = i == args.bad
            record = f'A = "192.0.2.{300 + i}"' if bad else f'TXT = "edit-{i}"'
            zone.write_text(base + f"\n[records.reload-probe]\n{record}\n")
            t0 = time.monotonic()
            if bad:
                time.sleep(1.0)   # longer than the debounce + reload
                st = json.load(urllib.request.urlopen(f"http://127.0.0.1:{admin}/status", timeout=5))
                errs = [e for e in st["reload"]["errors"] if "example.com.toml" in e]
                now = dig_txt(port, "reload-probe.example.com")
                print(f"edit {i:2d}: INVALID  served {now or '[]'} (previous kept: {now == ([served] if served else [])}); "
                      f"ctl status: {errs[0] if errs else 'NO ERROR REPORTED'}")
            else:
                want = f"edit-{i}"
                while time.monotonic() - t0 < 5 and dig_txt(port, "reload-probe.example.com") != [want]:
                    time.sleep(0.01)
                dt = time.monotonic() - t0
                got = dig_txt(port, "reload-probe.example.com")
                ok = got == [want]
                served = want if ok else served
                print(f"edit {i:2d}: valid    visible after {dt * 1000:6.0f} ms "
                      f"{'OK' if ok and dt <= 2 else f'LATE/MISSING (serving {got})'}")
            time.sleep(max(0.0, args.gap - (time.monotonic() - t0)))
        out, _ = perf.communicate(timeout=duration + 30)
        for line in out.splitlines():
            if re.search(r"Queries (sent|completed|lost)|Response codes|Queries per second", line):
                print("dnsperf:", line.strip())
        st = json.load(urllib.request.urlopen(f"http://127.0.0.1:{admin}/status", timeout=5))
        print("reloads:", st["reload"]["count"], "failed:", st["reload"]["failures"])
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
        print(f"$ curl -s http://127.0.0.1:{admin}/metrics   (excerpt: no HELP/TYPE, zero series left out)")
        for line in metrics.splitlines():
            if line.startswith("#") or line.endswith(" 0"):
                continue
            if re.match(r"meridian_(queries_total|reload|last_successful|answer_duration_seconds_(count|sum)|"
                        r"responses_truncated|dropped|malformed|uptime|geoip)", line):
                print("  " + line)
        return 0
    finally:
        srv.terminate()
        srv.wait(10)
        log.close()
        print("server log:", tmp / "meridian.log")


if __name__ == "__main__":
    sys.exit(main())
