"""Health checks through the real server: probes against endpoints the tests
start themselves on 127.0.0.1 (an HTTP server switched between 200 and 503,
TCP listeners opened and closed, an HTTPS server with a self-signed
certificate made at test time with the openssl CLI, a DNS responder, a
file), and DNS answers that follow: failover switches and comes back,
weighted re-spreads, geolocation falls back to the wider match, fail-open
when every target is down; state changes within interval x fall + 1 s.
Also: calculated checks, reload reconciliation (unchanged checks keep their
state), `meridian ctl health`, overrides persisted across a restart, and
`meridian check` errors. Every wait is bounded."""

import http.server
import json
import os
import select
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path

import harness as h

INTERVAL = 0.2          # seconds, every probed check here
FALL = RISE = 2
SWITCH_BOUND = INTERVAL * FALL + 1.0   # what the issue promises
HTTP_TIMEOUT = 5.0      # bound of every wait that is not a switch


# ----------------------------------------------------------------- endpoints

class HttpBackend:
    """http.server on 127.0.0.1:ephemeral answering `status` with `body`."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.status = 200
        self.body = b"ok\n"
        self.hosts: list[str] = []
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self):
                backend.hosts.append(self.headers.get("Host", ""))
                body = backend.body
                self.send_response(backend.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def finish_request(self, request, client_address):
                if tls:   # the TLS handshake in the request's thread, not the accepting one
                    request = tls.wrap_socket(request, server_side=True)
                super().finish_request(request, client_address)

            def handle_error(self, request, client_address):
                pass   # failed TLS handshakes are expected in the verification tests

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class TcpBackend:
    """A TCP listener on a fixed 127.0.0.1 port that can be closed and
    reopened; accepted connections are closed at once."""

    def __init__(self):
        self.sock: socket.socket | None = None
        self.stop = threading.Event()
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.open()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def open(self):
        if self.sock:
            return
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(128)
        s.setblocking(False)
        self.sock = s

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def _accept(self):
        while not self.stop.is_set():
            s = self.sock
            if s is None:
                time.sleep(0.02)
                continue
            try:
                ready, _, _ = select.select([s], [], [], 0.05)
                if ready:
                    conn, _ = s.accept()
                    conn.close()
            except (OSError, ValueError):
                pass

    def shutdown(self):
        self.stop.set()
        self.close()


class DnsBackend:
    """A DNS responder on 127.0.0.1:ephemeral, UDP and TCP on the same port:
    answers every query with `rcode` and, with `answer`, one A record
    192.0.2.99. With `truncate`, UDP replies carry TC=1 and no answer, so
    only TCP gives the record (as a large RRset would)."""

    def __init__(self):
        self.rcode = 0
        self.answer = True
        self.truncate = False
        self.tcp_queries = 0
        # The UDP port is ephemeral; the same TCP port may be taken (by
        # another test's connection, say: a CI run once failed here with
        # EADDRINUSE), so try other ports until both are ours.
        for _ in range(50):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
            self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.listener.bind(("127.0.0.1", self.port))
                break
            except OSError:
                self.listener.close()
                self.sock.close()
        else:
            raise AssertionError("no port free for both UDP and TCP")
        self.sock.settimeout(0.05)
        self.listener.listen(16)
        self.listener.settimeout(0.05)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._serve, daemon=True),
                        threading.Thread(target=self._serve_tcp, daemon=True)]
        for t in self.threads:
            t.start()

    def _reply(self, data, tcp):
        end = 12
        while end < len(data) and data[end] != 0:
            end += data[end] + 1
        question = data[12:end + 5]
        tc = self.truncate and not tcp
        an = 1 if self.answer and self.rcode == 0 and not tc else 0
        flags = 0x8400 | self.rcode | (0x0200 if tc else 0)
        reply = data[:2] + struct.pack("!HHHHH", flags, 1, an, 0, 0) + question
        if an:
            reply += struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton("192.0.2.99")
        return reply

    def _serve(self):
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(512)
            except (socket.timeout, OSError):
                continue
            if len(data) >= 12:
                self.sock.sendto(self._reply(data, tcp=False), peer)

    def _serve_tcp(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            with conn:
                conn.settimeout(2)
                try:
                    head = conn.recv(2, socket.MSG_WAITALL)
                    data = conn.recv(struct.unpack("!H", head)[0], socket.MSG_WAITALL)
                    self.tcp_queries += 1
                    reply = self._reply(data, tcp=True)
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
                except (OSError, struct.error):
                    pass

    def close(self):
        self.stop.set()
        self.sock.close()
        self.listener.close()


def free_port() -> int:
    """A port nothing listens on (bound and released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ----------------------------------------------------------------- helpers

def a_records(srv: h.Server, name: str) -> list[str]:
    """The A records of one UDP answer (a raw query: faster than dig)."""
    msg = srv.raw(h.build_query(name))
    assert msg is not None, f"no answer for {name}"
    return sorted(socket.inet_ntoa(rr.rdata) for rr in msg.answer if rr.rtype == 1)


def spread(srv: h.Server, name: str, n: int = 60) -> set[str]:
    seen: set[str] = set()
    for _ in range(n):
        seen.update(a_records(srv, name))
    return seen


def until(fn, want, timeout: float) -> tuple[float, object]:
    """Polls fn() every 20 ms until it returns `want`; (seconds taken, last value)."""
    t0 = time.monotonic()
    value = h.poll(fn, timeout, lambda v: v == want, interval=0.02)
    return time.monotonic() - t0, value


def health(srv: h.Server) -> dict[str, dict]:
    r = srv.ctl("--json", "health")
    assert r.returncode == 0, r.stderr
    return {c["name"]: c for c in json.loads(r.stdout)["checks"]}


def probe(kind: str, **fields) -> str:
    """TOML body of a probed check with the suite's interval and thresholds."""
    fields = {"interval": f"{int(INTERVAL * 1000)}ms", "rise": RISE, "fall": FALL, **fields}
    lines = [f'type = "{kind}"']
    for k, v in fields.items():
        lines.append(f"{k} = {json.dumps(v)}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------- probes steer answers

class SteeringTest(h.DnsTestCase):
    """HTTP, TCP, DNS and file checks steering failover, weighted and
    geolocation policies, and fail-open."""

    @classmethod
    def setUpClass(cls):
        cls.web = HttpBackend()
        cls.addClassCleanup(cls.web.close)
        cls.geo_web = HttpBackend()
        cls.addClassCleanup(cls.geo_web.close)
        cls.tcp = [TcpBackend(), TcpBackend()]
        for t in cls.tcp:
            cls.addClassCleanup(t.shutdown)
        cls.dns = DnsBackend()
        cls.addClassCleanup(cls.dns.close)
        cls.dns_tc = DnsBackend()
        cls.dns_tc.truncate = True
        cls.addClassCleanup(cls.dns_tc.close)
        cls.flag_dir = Path(tempfile.mkdtemp(prefix="meridian-flag-"))
        cls.addClassCleanup(shutil.rmtree, cls.flag_dir, True)
        cls.flag = cls.flag_dir / "backend.state"
        cls.flag.write_text("up\n")
        dead = free_port()
        # Shared checks in the server configuration...
        server_checks = (
            "[checks.web]\n" + probe("http", url=f"http://127.0.0.1:{cls.web.port}/healthz") +
            "[checks.tcp-1]\n" + probe("tcp", address=f"127.0.0.1:{cls.tcp[0].port}") +
            "[checks.tcp-2]\n" + probe("tcp", address=f"127.0.0.1:{cls.tcp[1].port}")
        )
        # ...and zone-level ones.
        zone = h.soa_zone("hc.test.", f"""
[records.fo.A]
policy = "failover"
ttl = 30
ttl_when_degraded = 5
targets = [ {{ value = "192.0.2.1", check = "web" }}, {{ value = "192.0.2.2" }} ]

[records.wt.A]
policy = "weighted"
targets = [ {{ value = "192.0.2.11", check = "tcp-1" }}, {{ value = "192.0.2.12", check = "tcp-2" }},
            {{ value = "192.0.2.13" }} ]

[records.geo.A]
policy = "geolocation"
targets = [ {{ match = "127.0.0.0/8", value = "192.0.2.21", check = "near" }},
            {{ match = "*", value = "192.0.2.29" }} ]

[records.dead.A]
policy = "failover"
targets = [ {{ value = "192.0.2.31", check = "dead-1" }}, {{ value = "192.0.2.32", check = "dead-2" }} ]

[records.ff.A]
policy = "failover"
targets = [ {{ value = "192.0.2.41", check = "flag" }}, {{ value = "192.0.2.42" }} ]

[records.dn.A]
policy = "failover"
targets = [ {{ value = "192.0.2.51", check = "ns" }}, {{ value = "192.0.2.52" }} ]

[records.tc.A]
policy = "failover"
targets = [ {{ value = "192.0.2.71", check = "ns-tc" }}, {{ value = "192.0.2.72" }} ]

[records.both.A]
policy = "failover"
targets = [ {{ value = "192.0.2.61", check = "both-tcp" }}, {{ value = "192.0.2.62" }} ]

[checks.near]
{probe("http", url=f"http://127.0.0.1:{cls.geo_web.port}/", expect_body="ready")}
[checks.dead-1]
{probe("tcp", address=f"127.0.0.1:{dead}")}
[checks.dead-2]
{probe("tcp", address=f"127.0.0.1:{dead}")}
[checks.flag]
type = "file"
path = "{cls.flag}"
[checks.ns]
{probe("dns", address=f"127.0.0.1:{cls.dns.port}", query="probe.example.", expect_answer="192.0.2.99")}
[checks.ns-tc]
{probe("dns", address=f"127.0.0.1:{cls.dns_tc.port}", query="probe.example.", expect_answer="192.0.2.99")}
[checks.ns-tcp]
{probe("dns", address=f"127.0.0.1:{cls.dns.port}", query="probe.example.", transport="tcp")}
[checks.both-tcp]
type = "all"
children = ["tcp-1", "tcp-2"]
""")
        cls.geo_web.body = b"ready\n"
        cls.srv = h.class_server(cls, example_zones=False, zones={"hc.test.toml": zone}, admin=True,
                                 extra_config=server_checks)
        # Everything up before the tests start (initial up; wait for the dead ones to go down).
        h.poll(lambda: health(cls.srv)["dead-1"]["state"], HTTP_TIMEOUT, lambda s: s == "down")

    def test_failover_follows_http_503_and_back(self):
        self.assertEqual(a_records(self.srv, "fo.hc.test"), ["192.0.2.1"])
        self.web.status = 503
        self.addCleanup(setattr, self.web, "status", 200)
        took, got = until(lambda: a_records(self.srv, "fo.hc.test"), ["192.0.2.2"], SWITCH_BOUND + 2)
        self.assertEqual(got, ["192.0.2.2"])
        self.assertLessEqual(took, SWITCH_BOUND, f"switched after {took:.2f}s")
        self.srv.wait_for_log(r"check web: up -> down \(status 503; 2 consecutive failures\)", 2)
        msg = self.srv.raw(h.build_query("fo.hc.test"))
        self.assertEqual(msg.answer[0].ttl, 5)   # ttl_when_degraded
        c = health(self.srv)["web"]
        self.assertEqual((c["state"], c["type"], c["last_result"], c["reason"]), ("down", "http", "fail", "status 503"))
        self.assertEqual(c["steers"], ["fo.hc.test. A"])
        self.assertIsNotNone(c["last_change"])
        self.web.status = 200
        took, got = until(lambda: a_records(self.srv, "fo.hc.test"), ["192.0.2.1"], INTERVAL * RISE + 3)
        self.assertEqual(got, ["192.0.2.1"])
        self.assertLessEqual(took, INTERVAL * RISE + 1.0, f"came back after {took:.2f}s")
        self.srv.wait_for_log(r"check web: down -> up \(status 200; 2 consecutive successes\)", 2)

    def test_weighted_respreads_when_a_tcp_listener_closes(self):
        self.assertEqual(spread(self.srv, "wt.hc.test"), {"192.0.2.11", "192.0.2.12", "192.0.2.13"})
        self.tcp[0].close()
        self.addCleanup(self.tcp[0].open)
        took, _ = until(lambda: health(self.srv)["tcp-1"]["state"], "down", SWITCH_BOUND + 2)
        self.assertLessEqual(took, SWITCH_BOUND)
        self.assertEqual(spread(self.srv, "wt.hc.test"), {"192.0.2.12", "192.0.2.13"})
        self.assertEqual(health(self.srv)["tcp-1"]["reason"], "connection refused")
        # The calculated check (all of tcp-1, tcp-2) went down with it.
        self.assertEqual(a_records(self.srv, "both.hc.test"), ["192.0.2.62"])
        self.tcp[0].open()
        until(lambda: health(self.srv)["tcp-1"]["state"], "up", SWITCH_BOUND + 2)
        got = h.poll(lambda: spread(self.srv, "wt.hc.test"), HTTP_TIMEOUT, lambda s: len(s) == 3)
        self.assertEqual(got, {"192.0.2.11", "192.0.2.12", "192.0.2.13"})
        self.assertEqual(h.poll(lambda: a_records(self.srv, "both.hc.test"), HTTP_TIMEOUT,
                                lambda v: v == ["192.0.2.61"]), ["192.0.2.61"])

    def test_geolocation_falls_back_to_the_wider_match(self):
        self.assertEqual(a_records(self.srv, "geo.hc.test"), ["192.0.2.21"])   # 127.0.0.1 matches 127.0.0.0/8
        self.geo_web.body = b"maintenance\n"   # still 200, but the body check fails
        self.addCleanup(setattr, self.geo_web, "body", b"ready\n")
        took, got = until(lambda: a_records(self.srv, "geo.hc.test"), ["192.0.2.29"], SWITCH_BOUND + 2)
        self.assertEqual(got, ["192.0.2.29"])
        self.assertLessEqual(took, SWITCH_BOUND)
        self.assertIn("body mismatch", health(self.srv)["near"]["reason"])
        self.geo_web.body = b"ready\n"
        self.assertEqual(until(lambda: a_records(self.srv, "geo.hc.test"), ["192.0.2.21"], HTTP_TIMEOUT)[1],
                         ["192.0.2.21"])

    def test_fail_open_when_every_target_is_down(self):
        self.assertEqual(health(self.srv)["dead-1"]["reason"], "connection refused")
        msg = self.srv.raw(h.build_query("dead.hc.test"))
        self.assertEqual(msg.rcode, 0)
        self.assertEqual([socket.inet_ntoa(rr.rdata) for rr in msg.answer], ["192.0.2.31"])   # the first, anyway
        self.srv.wait_for_log(r"degraded: dead\.hc\.test\. A has no healthy target \(checks: dead-1, dead-2\); "
                              r"answering fail-open", 2)

    def test_file_check_is_read_when_the_file_changes(self):
        self.assertEqual(a_records(self.srv, "ff.hc.test"), ["192.0.2.41"])
        tmp = self.flag.with_suffix(".tmp")
        tmp.write_text("down\n")
        os.replace(tmp, self.flag)   # as an operator's tool would: atomically
        self.addCleanup(self.flag.write_text, "up\n")
        # The interval is the default 10 s: only the watch can make it this fast.
        took, got = until(lambda: a_records(self.srv, "ff.hc.test"), ["192.0.2.42"], 3)
        self.assertEqual(got, ["192.0.2.42"])
        self.assertLess(took, 1.0)
        self.flag.write_text("ok\n")
        self.assertEqual(until(lambda: a_records(self.srv, "ff.hc.test"), ["192.0.2.41"], 3)[1], ["192.0.2.41"])

    def test_dns_check_rcode_and_answer(self):
        self.assertEqual(h.poll(lambda: health(self.srv)["ns"]["reason"], HTTP_TIMEOUT,
                                lambda r: r == "rcode NOERROR, answer matched"), "rcode NOERROR, answer matched")
        self.dns.rcode = 5
        self.addCleanup(setattr, self.dns, "rcode", 0)
        took, got = until(lambda: a_records(self.srv, "dn.hc.test"), ["192.0.2.52"], SWITCH_BOUND + 2)
        self.assertEqual(got, ["192.0.2.52"])
        self.assertLessEqual(took, SWITCH_BOUND)
        self.assertEqual(health(self.srv)["ns"]["reason"], "rcode REFUSED (expected NOERROR)")
        self.dns.rcode = 0
        self.dns.answer = False
        self.addCleanup(setattr, self.dns, "answer", True)
        self.assertEqual(h.poll(lambda: health(self.srv)["ns"]["reason"], HTTP_TIMEOUT,
                                lambda r: "not in the answer" in r), "rcode NOERROR, 192.0.2.99 not in the answer")
        self.dns.answer = True
        self.assertEqual(until(lambda: a_records(self.srv, "dn.hc.test"), ["192.0.2.51"], HTTP_TIMEOUT)[1],
                         ["192.0.2.51"])

    def test_dns_check_retries_truncated_replies_over_tcp(self):
        want = "rcode NOERROR, answer matched (TCP, after a truncated UDP reply)"
        self.assertEqual(h.poll(lambda: health(self.srv)["ns-tc"]["reason"], HTTP_TIMEOUT,
                                lambda r: r == want), want)
        self.assertGreater(self.dns_tc.tcp_queries, 0)
        self.assertEqual(a_records(self.srv, "tc.hc.test"), ["192.0.2.71"])
        # The TCP answer loses the record: the check goes down, the failover answer moves.
        self.dns_tc.answer = False
        self.addCleanup(setattr, self.dns_tc, "answer", True)
        took, got = until(lambda: a_records(self.srv, "tc.hc.test"), ["192.0.2.72"], SWITCH_BOUND + 2)
        self.assertEqual(got, ["192.0.2.72"])
        self.assertIn("not in the answer (TCP, after a truncated UDP reply)", health(self.srv)["ns-tc"]["reason"])
        self.dns_tc.answer = True
        self.assertEqual(until(lambda: a_records(self.srv, "tc.hc.test"), ["192.0.2.71"], HTTP_TIMEOUT)[1],
                         ["192.0.2.71"])

    def test_dns_check_over_tcp_only(self):
        self.assertEqual(h.poll(lambda: health(self.srv)["ns-tcp"]["reason"], HTTP_TIMEOUT,
                                lambda r: r == "rcode NOERROR (TCP)"), "rcode NOERROR (TCP)")
        self.assertEqual(health(self.srv)["ns-tcp"]["state"], "up")

    def test_override_wins_over_probes(self):
        r = self.srv.ctl("state", "web", "down")
        self.addCleanup(self.srv.ctl, "state", "web", "auto")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(a_records(self.srv, "fo.hc.test"), ["192.0.2.2"])
        c = health(self.srv)["web"]
        self.assertEqual((c["state"], c["configured"], c["override"]), ("down", "up", "down"))
        self.srv.ctl("state", "web", "auto")
        self.assertEqual(a_records(self.srv, "fo.hc.test"), ["192.0.2.1"])

    def test_ctl_health_table(self):
        r = self.srv.ctl("health")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertRegex(lines[0], r"^CHECK\s+TYPE\s+STATE\s+CONFIGURED\s+OVERRIDE\s+RESULT\s+CHANGED\s+REASON\s+STEERS")
        row = next(l for l in lines if l.startswith("dead-1 "))
        self.assertRegex(row, r"^dead-1\s+tcp\s+down\s+down\s+-\s+fail\s+\S+ ago\s+connection refused\s+dead\.hc\.test\. A$")
        row = next(l for l in lines if l.startswith("both-tcp "))
        self.assertIn("children up", row)

    def test_one_probe_per_interval_however_many_targets(self):
        before = len(self.web.hosts)
        time.sleep(1.0)
        # One check ("web") read by one target here, probed every 200 ms:
        # about 5 requests a second, not one per query or per worker.
        n = len(self.web.hosts) - before
        self.assertGreaterEqual(n, 3)
        self.assertLessEqual(n, 7)


# ----------------------------------------------------------------- HTTPS

@unittest.skipUnless(shutil.which("openssl"), "the openssl CLI is needed to make a test certificate")
class HttpsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="meridian-tls-"))
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cert, key = cls.tmp / "cert.pem", cls.tmp / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=30)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        cls.web = HttpBackend(tls=ctx)
        cls.addClassCleanup(cls.web.close)
        url = f"https://127.0.0.1:{cls.web.port}/"
        slow = {"timeout": "1s"}   # TLS handshakes: room for slow (sanitizer) builds
        checks = (
            # Verification is on by default: a self-signed certificate fails.
            "[checks.verify]\n" + probe("https", url=url, interval=2, **slow) +
            "[checks.insecure]\n" + probe("https", url=url, insecure=True, initial="down", interval=2, **slow) +
            # ca_file trusts it; host sets the Host header and the name checked (SNI).
            "[checks.ca]\n" + probe("https", url=url, ca_file=str(cert), host="localhost", initial="down",
                                     interval=2, **slow) +
            "[checks.wrong-name]\n" + probe("https", url=url, ca_file=str(cert), host="wrong.example",
                                             interval=2, **slow)
        )
        zone = h.soa_zone("tls.test.", """
[records.a.A]
policy = "failover"
targets = [ { value = "192.0.2.1", check = "verify" }, { value = "192.0.2.2", check = "insecure" },
            { value = "192.0.2.3", check = "ca" }, { value = "192.0.2.4", check = "wrong-name" } ]
""")
        cls.srv = h.class_server(cls, example_zones=False, zones={"tls.test.toml": zone}, admin=True,
                                 extra_config=checks)

    def state(self, name):
        return h.poll(lambda: health(self.srv)[name], HTTP_TIMEOUT,
                      lambda c: c["state"] == ("down" if name in ("verify", "wrong-name") else "up"))

    def test_certificate_verification_fails_by_default(self):
        c = self.state("verify")
        self.assertEqual(c["state"], "down")
        self.assertIn("certificate error", c["reason"])

    def test_insecure_skips_verification(self):
        c = self.state("insecure")
        self.assertEqual((c["state"], c["reason"]), ("up", "status 200"))

    def test_ca_file_and_host(self):
        c = self.state("ca")
        self.assertEqual((c["state"], c["reason"]), ("up", "status 200"))
        self.assertTrue(any(x.startswith("localhost:") for x in self.web.hosts), self.web.hosts[-5:])
        c = self.state("wrong-name")
        self.assertEqual(c["state"], "down")
        self.assertIn("certificate error", c["reason"])

    def test_answers_follow(self):
        for name in ("verify", "insecure", "ca", "wrong-name"):
            self.state(name)
        self.assertEqual(a_records(self.srv, "a.tls.test"), ["192.0.2.2"])


# ----------------------------------------------------------------- reload, restart, errors

class ReloadAndStateFileTest(unittest.TestCase):
    def zone(self, address: str, extra: str = "") -> str:
        return h.soa_zone("rl.test.", f"""
[records.app.A]
policy = "failover"
targets = [ {{ value = "192.0.2.1", check = "app" }}, {{ value = "192.0.2.2" }} ]
{extra}
[checks.app]
{probe("tcp", address=address)}
""")

    def test_reload_keeps_unchanged_checks_and_their_state(self):
        dead = free_port()
        live = TcpBackend()
        self.addCleanup(live.shutdown)
        srv = h.Server(example_zones=False, zones={"rl.test.toml": self.zone(f"127.0.0.1:{dead}")}, admin=True)
        self.addCleanup(srv.close)
        srv.start()
        self.assertEqual(until(lambda: health(srv)["app"]["state"], "down", SWITCH_BOUND + 2)[1], "down")
        changed_at = health(srv)["app"]["last_change"]
        # Same check, another record: the check keeps running, still down.
        path = srv.zones_dir / "rl.test.toml"
        path.write_text(self.zone(f"127.0.0.1:{dead}", '[records.www]\nA = "192.0.2.80"\n'))
        mark = len(srv.log_lines())
        srv.reload()
        srv.wait_for_log(r"serving zone rl\.test\.", 5, start=mark)
        self.assertEqual(a_records(srv, "www.rl.test"), ["192.0.2.80"])
        c = health(srv)["app"]
        self.assertEqual((c["state"], c["last_change"]), ("down", changed_at))
        self.assertEqual(a_records(srv, "app.rl.test"), ["192.0.2.2"])
        # A changed check restarts (initial up) and probes its new address.
        path.write_text(self.zone(f"127.0.0.1:{live.port}"))
        srv.reload()
        self.assertEqual(until(lambda: health(srv)["app"]["target"], f"127.0.0.1:{live.port}", 5)[1],
                         f"127.0.0.1:{live.port}")
        time.sleep(INTERVAL * (FALL + 1))
        self.assertEqual(health(srv)["app"]["state"], "up")
        self.assertEqual(a_records(srv, "app.rl.test"), ["192.0.2.1"])
        # Removed: no longer declared (and up).
        path.write_text(h.soa_zone("rl.test.", '[records.www]\nA = "192.0.2.80"\n'))
        srv.reload()
        self.assertIsNone(until(lambda: health(srv)["app"]["type"], None, 5)[1])

    def test_overrides_survive_a_restart_through_the_state_file(self):
        live = TcpBackend()
        self.addCleanup(live.shutdown)
        srv = h.Server(example_zones=False, zones={"rl.test.toml": self.zone(f"127.0.0.1:{live.port}")},
                       admin=True, extra_config='[admin]\nstate_file = "state.json"\n')
        self.addCleanup(srv.close)
        srv.start()
        self.assertEqual(a_records(srv, "app.rl.test"), ["192.0.2.1"])
        self.assertEqual(srv.ctl("state", "ap*", "down").returncode, 0)
        saved = json.loads((srv.dir / "state.json").read_text())
        self.assertEqual(saved, {"overrides": {"app": "down"}})
        self.assertEqual(srv.stop(), 0)
        srv.start()
        srv.wait_for_log(r"admin: check app set to down \(restored from .*state\.json\)", 2)
        self.assertEqual(a_records(srv, "app.rl.test"), ["192.0.2.2"])
        self.assertEqual(health(srv)["app"]["override"], "down")
        self.assertEqual(srv.ctl("state", "app", "auto").returncode, 0)
        self.assertEqual(json.loads((srv.dir / "state.json").read_text()), {"overrides": {}})
        self.assertEqual(a_records(srv, "app.rl.test"), ["192.0.2.1"])

    def test_check_reports_bad_checks_with_file_and_line(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            (d / "zones").mkdir()
            (d / "zones" / "bad.toml").write_text(h.soa_zone("bad.test.", """
[records.a.A]
policy = "failover"
targets = [ { value = "192.0.2.1", check = "nope" }, { value = "192.0.2.2", check = "loop-a" } ]

[checks.loop-a]
type = "any"
children = ["loop-b"]

[checks.loop-b]
type = "all"
children = ["loop-a"]

[checks.slow]
type = "tcp"
address = "127.0.0.1:1"
interval = "1s"
timeout = "1s"

[checks.odd]
type = "smtp"
"""))
            config = h.write_config(d / "meridian.toml")
            r = h.run_meridian("check", "--config", str(config))
        self.assertEqual(r.returncode, 1)
        err = r.stderr
        self.assertRegex(err, r"bad\.toml:\d+:\d+: unknown check 'nope'")
        self.assertRegex(err, r"bad\.toml:\d+:\d+: calculated checks refer to each other in a cycle")
        self.assertRegex(err, r"bad\.toml:\d+:\d+: 'timeout' \(1s\) must be shorter than 'interval' \(1s\)")
        self.assertRegex(err, r"bad\.toml:\d+:\d+: unknown check type 'smtp'")


if __name__ == "__main__":
    unittest.main()
