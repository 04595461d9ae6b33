#!/usr/bin/env python3
"""Health checks steering answers, as an operator would watch it: a dig
loop (every 250 ms, with timestamps) against a failover name and a weighted
name while a local HTTP back end is stopped and started again, then both
back ends stopped (fail-open). Prints `meridian ctl health` in the middle,
the server's log lines about the checks, and each switch time against the
bound interval x fall (down) or interval x rise (up).

Everything runs on 127.0.0.1; every wait is bounded. From the repository
root, after a build:  python3 bench/health_demo.py [--interval-ms 1000]
"""
import argparse
import http.server
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import harness as h  # noqa: E402


class Backend:
    """An HTTP server on a fixed loopback port that can be stopped (the port
    then refuses connections) and started again on the same port."""

    def __init__(self, name):
        self.name = name
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.server = None

    def start(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", "3")
                self.end_headers()
                self.wfile.write(b"ok\n")

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def stamp():
    t = time.time()
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--interval-ms", type=int, default=1000)
    ap.add_argument("--fall", type=int, default=3)
    ap.add_argument("--rise", type=int, default=2)
    a = ap.parse_args()
    web_a, web_b = Backend("web-a"), Backend("web-b")
    web_a.start()
    web_b.start()
    checks = "".join(f"""
[checks.{b.name}]
type = "http"
url = "http://127.0.0.1:{b.port}/healthz"
interval = "{a.interval_ms}ms"
timeout = "{max(100, a.interval_ms // 2)}ms"
fall = {a.fall}
rise = {a.rise}
""" for b in (web_a, web_b))
    zone = h.soa_zone("demo.test.", f"""
[records.fo.A]
policy = "failover"
ttl = 30
targets = [ {{ value = "192.0.2.10", check = "web-a" }}, {{ value = "192.0.2.20", check = "web-b" }} ]

[records.wt.A]
policy = "weighted"
ttl = 30
targets = [ {{ value = "192.0.2.10", weight = 50, check = "web-a" }},
            {{ value = "192.0.2.20", weight = 50, check = "web-b" }} ]
""" + checks)
    srv = h.Server(example_zones=False, zones={"demo.toml": zone}, admin=True, threads=1,
                   listen=("127.0.0.1:0",)).start()
    host, port = srv.addr("udp4")
    down_bound = a.interval_ms * a.fall / 1000
    up_bound = a.interval_ms * a.rise / 1000
    print(f"interval {a.interval_ms} ms, fall {a.fall}, rise {a.rise}: a stopped back end should leave the "
          f"answers within interval x fall = {down_bound:.1f} s (+ one interval of phase), and return within "
          f"interval x rise = {up_bound:.1f} s\n")

    def answers(name):
        r = h.dig(host, port, f"{name}.demo.test", "A")
        return ",".join(sorted(r.rdata("A"))) or f"({r.rcode}, no A)"

    def loop(seconds, until=None):
        """dig both names every 250 ms for up to `seconds`; returns when
        `until(fo, wt)` holds (after printing that line)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            fo, wt = answers("fo"), answers("wt")
            print(f"{stamp()}  fo {fo:<11}  wt {wt}", flush=True)
            if until and until(fo, wt):
                return True
            time.sleep(0.25)
        return False

    try:
        loop(1.5)
        print(f"{stamp()}  --- stopping web-a (port {web_a.port}: connections refused)")
        web_a.stop()
        t0 = time.monotonic()
        switched = loop(down_bound + a.interval_ms / 1000 + 3, lambda fo, wt: fo == "192.0.2.20")
        took_down = time.monotonic() - t0
        print(f"            failover switched after {took_down:.2f} s" if switched else "            NO SWITCH")
        loop(1.0)
        print("\n$ meridian ctl health")
        print(srv.ctl("health").stdout)
        print(f"{stamp()}  --- starting web-a again")
        web_a.start()
        t0 = time.monotonic()
        back = loop(up_bound + a.interval_ms / 1000 + 3, lambda fo, wt: fo == "192.0.2.10")
        took_up = time.monotonic() - t0
        print(f"            primary back after {took_up:.2f} s" if back else "            NOT BACK")
        loop(1.5)
        print(f"{stamp()}  --- stopping web-a and web-b: every target down, answers must still come (fail-open)")
        web_a.stop()
        web_b.stop()
        t0 = time.monotonic()
        loop(down_bound + a.interval_ms / 1000 + 2)
        print("\n$ meridian ctl health")
        print(srv.ctl("health").stdout)
        print("server log (checks and degraded answers):")
        for line in srv.log_lines():
            if "check " in line or "degraded" in line:
                print("  " + line)
        print(f"\nswitch times: down {took_down:.2f} s (bound {down_bound:.1f} s + phase up to "
              f"{a.interval_ms / 1000:.1f} s), up {took_up:.2f} s (bound {up_bound:.1f} s + phase)")
        ok = switched and back
    finally:
        srv.close()
        for b in (web_a, web_b):
            try:
                b.stop()
            except Exception:
                pass
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
