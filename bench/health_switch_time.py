"""Health-check switch time: how long after a local HTTP backend flips
200 -> 503 (and back) the failover answer changes, against the bound
interval x fall (interval x rise). Uses the e2e harness: run after a build,
from the repository root: python3 bench/health_switch_time.py"""
import os, sys, time, socket, statistics, subprocess
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import harness as h
import test_health as th

def run(interval_ms, fall, rise, n=6):
    web_a, web_b = th.HttpBackend(), th.HttpBackend()
    zone = h.soa_zone("sw.test.", f"""
[records.fo.A]
policy = "failover"
targets = [ {{ value = "192.0.2.10", check = "a" }}, {{ value = "192.0.2.20", check = "b" }} ]
[records.wt.A]
policy = "weighted"
targets = [ {{ value = "192.0.2.10", check = "a" }}, {{ value = "192.0.2.20", check = "b" }} ]
[checks.a]
type = "http"
url = "http://127.0.0.1:{web_a.port}/"
interval = "{interval_ms}ms"
rise = {rise}
fall = {fall}
[checks.b]
type = "http"
url = "http://127.0.0.1:{web_b.port}/"
interval = "{interval_ms}ms"
rise = {rise}
fall = {fall}
""")
    srv = h.Server(example_zones=False, zones={"sw.toml": zone}, admin=True).start()
    downs, ups = [], []
    fo = lambda: th.a_records(srv, "fo.sw.test")
    for i in range(n):
        time.sleep(interval_ms / 1000 * 1.37)   # desynchronise from the probe phase
        web_a.status = 503; t0 = time.monotonic()
        while fo() != ["192.0.2.20"]: time.sleep(0.005)
        downs.append(time.monotonic() - t0)
        time.sleep(interval_ms / 1000 * 0.71)
        web_a.status = 200; t0 = time.monotonic()
        while fo() != ["192.0.2.10"]: time.sleep(0.005)
        ups.append(time.monotonic() - t0)
    srv.close(); web_a.close(); web_b.close()
    f = lambda xs: f"min {min(xs):.3f}s  median {statistics.median(xs):.3f}s  max {max(xs):.3f}s"
    print(f"interval {interval_ms} ms, fall {fall}, rise {rise}:")
    print(f"  down (503 -> failover answer), bound interval x fall = {interval_ms*fall/1000:.1f}s: {f(downs)}")
    print(f"  up   (200 -> primary answer),  bound interval x rise = {interval_ms*rise/1000:.1f}s: {f(ups)}")

run(200, 2, 2, n=10)
run(1000, 3, 2, n=6)
