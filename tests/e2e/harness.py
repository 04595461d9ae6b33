"""Shared helpers for Meridian's end-to-end tests.

Everything here uses the Python 3.11 standard library plus the `dig` and
`kdig` command line tools. Three layers:

* `Server`: runs `meridian serve` on ephemeral loopback ports from a private
  temporary directory and always kills it again.
* `dig(...)`: runs dig and parses its text output into a `DigResult`.
* `build_query` / `send_udp` / `send_tcp` / `parse_message`: hand-made packets
  for the cases dig cannot produce, and a small wire-format parser.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import tomllib
import time
import unittest
from dataclasses import dataclass, field
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("MERIDIAN_SOURCE_DIR", os.getcwd())).resolve()
MERIDIAN_BIN = Path(os.environ.get("MERIDIAN_BIN", SOURCE_DIR / "build" / "meridian")).resolve()
EXAMPLE_ZONES = SOURCE_DIR / "examples" / "zones"
FIXTURES = SOURCE_DIR / "tests" / "fixtures"

START_TIMEOUT = 10.0   # seconds to wait for "serving with"
STOP_TIMEOUT = 5.0     # seconds to wait for exit after SIGTERM
QUERY_TIMEOUT = 2.0    # per query, matches dig +time=2

# The four ways a test can reach the server; `over_all` runs a check on each.
TRANSPORTS = ("udp4", "tcp4", "udp6", "tcp6")

TYPE_CODES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
              "SRV": 33, "DNAME": 39, "OPT": 41, "DS": 43, "CAA": 257, "ANY": 255}
CLASS_IN, CLASS_CH = 1, 3
RCODES = {"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4, "REFUSED": 5,
          "BADVERS": 16}
OPCODE_NOTIFY, OPCODE_UPDATE = 4, 5


# --------------------------------------------------------------------------
# Server process
# --------------------------------------------------------------------------

# Under the sanitizer build (tests/run-sanitizers.sh) a report in a
# meridian process's stderr, or its sanitizer exit code, fails the test that
# ran it, whatever that test expected of the process.
SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer")
SANITIZER_EXIT = int(os.environ.get("MERIDIAN_SANITIZER_EXITCODE", "0")) or None


def check_sanitizer(stderr: str, code: int | None, what: str) -> None:
    m = SANITIZER_REPORT.search(stderr or "")
    if m or (SANITIZER_EXIT is not None and code == SANITIZER_EXIT):
        raise AssertionError(f"sanitizer report from {what} (exit {code}):\n{stderr}")


def run_meridian(*args: str, timeout: float = 10.0) -> subprocess.CompletedProcess:
    """Runs a short-lived meridian subcommand (check, import, --version)."""
    proc = subprocess.run([str(MERIDIAN_BIN), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=SOURCE_DIR)
    check_sanitizer(proc.stderr, proc.returncode, "meridian " + " ".join(args))
    return proc


def example_regions() -> str:
    """The [regions.*] tables of examples/meridian.toml, as TOML text."""
    with open(SOURCE_DIR / "examples" / "meridian.toml", "rb") as f:
        regions = tomllib.load(f).get("regions", {})
    return "".join(f"[regions.{name}]\nlat = {r['lat']}\nlon = {r['lon']}\n" for name, r in regions.items())


def write_config(path: Path, zones_dir: str = "zones/", identity: str | None = "meridian-example",
                 extra: str = "", **server_keys) -> Path:
    """Writes a [server] config; extra keyword arguments become server keys,
    `extra` is appended as raw TOML (other sections: [geoip], [regions]...)."""
    lines = ["[server]", 'listen = ["127.0.0.1:0"]', f'zones = "{zones_dir}"']
    if identity is not None:
        lines.append(f'identity = "{identity}"')
    for key, value in server_keys.items():
        if isinstance(value, bool):   # TOML spells them in lower case
            value = "true" if value else "false"
            lines.append(f"{key} = {value}")
        else:
            lines.append(f'{key} = "{value}"' if isinstance(value, str) else f"{key} = {value}")
    path.write_text("\n".join(lines) + "\n" + extra + "\n")
    return path


def check_config(*commands: tuple[str, ...], **server_keys) -> list[subprocess.CompletedProcess]:
    """Writes a config with these [server] keys (write_config) beside an
    empty zones/ directory and runs each of `commands` on it, the config's
    path appended: by default only `meridian check --config`."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "zones").mkdir()
        config = write_config(Path(tmp) / "meridian.toml", **server_keys)
        return [run_meridian(*cmd, str(config)) for cmd in commands or (("check", "--config"),)]


class Server:
    """A `meridian serve` process in its own temporary directory.

    `example_zones=True` copies examples/zones/ into <tmp>/zones/; `zones`
    maps extra file names to TOML text. `config` holds extra [server] keys.
    `watch` turns on reload-on-file-change (off here, unlike the default).
    """

    def __init__(self, example_zones: bool = True, zones: dict[str, str] | None = None,
                 identity: str | None = "meridian-example", threads: int | None = 2,
                 listen=("127.0.0.1:0", "[::1]:0"), admin: bool = False, extra_config: str = "",
                 watch: bool = False, **config):
        self._tmp = tempfile.TemporaryDirectory(prefix="meridian-e2e-")
        self.dir = Path(self._tmp.name)
        self.zones_dir = self.dir / "zones"
        if example_zones:
            shutil.copytree(EXAMPLE_ZONES, self.zones_dir)
        else:
            self.zones_dir.mkdir()
        for name, text in (zones or {}).items():
            (self.zones_dir / name).write_text(text)
        if example_zones:   # the example zones' latency policy needs the example regions
            extra_config = example_regions() + extra_config
        if not watch:   # tests of SIGHUP and `ctl reload` must not be helped by the file watcher
            extra_config += "\n[reload]\nwatch = false\n"
        self.config_path = write_config(self.dir / "meridian.toml", identity=identity, extra=extra_config, **config)
        self.admin = admin
        self.admin_addr: str | None = None   # "127.0.0.1:PORT" once started with admin=True
        self.threads = threads
        self.listen = listen
        self.proc: subprocess.Popen | None = None
        self.addrs: dict[int, tuple[str, int]] = {}   # address family -> (host, port)
        self._lines: list[str] = []
        self._eof = False
        self._cond = threading.Condition()

    # -- lifecycle --------------------------------------------------------
    def start(self, on_ready=None) -> "Server":
        """Starts the server and waits for its "serving with" line.

        `on_ready(self)` runs in the stderr reader thread the moment that line
        arrives, for tests about what happens right at readiness.
        """
        self._on_ready = on_ready
        if self.proc is not None:   # a restart after stop(): done with the old process's stderr
            self._reader.join(5)
            self.proc.stderr.close()
        with self._cond:   # a restart reads only the new process's lines
            self._eof = False
            first = len(self._lines)
        cmd = [str(MERIDIAN_BIN), "serve", "--config", str(self.config_path)]
        for addr in self.listen:
            cmd += ["--listen", addr]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        if self.admin:
            cmd += ["--admin", "127.0.0.1:0"]
        if os.geteuid() == 0:
            # Tests (and CI) run as root, which `serve` refuses without this;
            # test_privileges.py covers the refusal and the user switch.
            cmd.append("--allow-root")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, cwd=self.dir)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        try:
            self.wait_for_log(r"serving with \d+ worker thread", START_TIMEOUT, start=first)
        except AssertionError:
            self.kill()
            raise
        for line in self.log_lines()[first:]:
            m = re.search(r"listening on udp\+tcp (\[([^\]]+)\]|([\d.]+)):(\d+)", line)
            if m:
                host = m.group(2) or m.group(3)
                family = socket.AF_INET6 if m.group(2) else socket.AF_INET
                self.addrs[family] = (host, int(m.group(4)))
            m = re.search(r"admin endpoint on http://(\S+)", line)
            if m:
                self.admin_addr = m.group(1)
        return self

    def ctl(self, *args: str) -> subprocess.CompletedProcess:
        """Runs `meridian ctl --admin ADDR ARGS...` against this server."""
        assert self.admin_addr, "start the server with admin=True"
        return run_meridian("ctl", "--admin", self.admin_addr, *args)

    def _read_stderr(self) -> None:
        assert self.proc and self.proc.stderr
        for line in self.proc.stderr:
            if self._on_ready and "serving with" in line:
                self._on_ready(self)
            with self._cond:
                self._lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int | None:
        """Sends `sig` and waits; returns the exit code (None if it hung and was killed)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        self._reader.join(2)   # so log_lines() holds the last words
        check_sanitizer(self.log_text(), code, "meridian serve")
        return code

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def close(self) -> None:
        """Teardown: stop (killing if needed) and remove the temp dir; fails
        on a sanitizer report, also from a server that exited on its own."""
        try:
            self.stop()
        finally:
            self.kill()
            if self.proc:
                self._reader.join(5)
                self.proc.stderr.close()
            self._tmp.cleanup()
        if self.proc:
            check_sanitizer(self.log_text(), self.proc.returncode, "meridian serve")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def reload(self) -> None:
        assert self.proc
        self.proc.send_signal(signal.SIGHUP)

    # -- logs -------------------------------------------------------------
    def log_lines(self) -> list[str]:
        with self._cond:
            return list(self._lines)

    def log_text(self) -> str:
        return "\n".join(self.log_lines())

    def wait_for_log(self, pattern: str, timeout: float, start: int = 0) -> str:
        """Waits for a stderr line (from index `start`) matching `pattern`."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self._lines[start:]:
                    if rx.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self._eof:
                    raise AssertionError(f"no log line matching {pattern!r} within {timeout}s; "
                                         f"stderr so far:\n" + "\n".join(self._lines))
                self._cond.wait(min(left, 0.1))

    # -- querying ---------------------------------------------------------
    def addr(self, transport: str = "udp4") -> tuple[str, int]:
        return self.addrs[socket.AF_INET6 if transport.endswith("6") else socket.AF_INET]

    def dig(self, qname: str, qtype: str = "A", *opts: str, transport: str = "udp4") -> "DigResult":
        host, port = self.addr(transport)
        extra = ["+tcp"] if transport.startswith("tcp") else []
        return dig(host, port, qname, qtype, *extra, *opts)

    def raw(self, packet: bytes, transport: str = "udp4", timeout: float = QUERY_TIMEOUT) -> "Message | None":
        """Sends one raw packet; returns the parsed reply or None if none came."""
        send = send_tcp if transport.startswith("tcp") else send_udp
        data = send(self.addr(transport), packet, timeout)
        return parse_message(data) if data is not None else None


def poll(fn, timeout: float, done=bool, interval: float = 0.05):
    """Calls fn() until done(value) or `timeout` passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if done(value) or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def threads_asleep(pid: int, tids=None) -> bool:
    """Whether each thread of `pid` (or each of `tids`) sleeps (state S: in
    recvmmsg, epoll_wait or the like). A count of wake-ups taken while a
    thread still finishes its last piece of work would be off by one."""
    for tid in os.listdir(f"/proc/{pid}/task") if tids is None else tids:
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:   # the thread ended
            continue
        if stat[stat.rindex(")") + 2] != "S":
            return False
    return True


def module_server(**kwargs) -> Server:
    """Starts a server for a whole test module and registers its teardown."""
    srv = Server(**kwargs)
    unittest.addModuleCleanup(srv.close)
    return srv.start()


def class_server(case: type[unittest.TestCase], **kwargs) -> Server:
    """Starts a server for one TestCase class (call from setUpClass)."""
    srv = Server(**kwargs)
    case.addClassCleanup(srv.close)
    return srv.start()


def soa_zone(origin: str, records: str, ttl: int = 3600, minimum: int = 300) -> str:
    """A minimal TOML zone with an SOA, apex NS, plus `records` (TOML text)."""
    return (f'origin = "{origin}"\nttl = {ttl}\n\n[soa]\nmname = "ns1"\n'
            f'rname = "hostmaster@{origin.rstrip(".")}"\nserial = 1\nminimum = {minimum}\n\n'
            f'[records."@"]\nNS = "ns1"\n\n[records.ns1]\nA = "192.0.2.1"\n\n{records}\n')


# --------------------------------------------------------------------------
# dig
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class RR:
    name: str
    ttl: int | None      # None for the question
    rclass: str
    rtype: str
    rdata: str


@dataclass
class DigResult:
    text: str
    opcode: str = ""
    rcode: str = ""
    id: int = -1
    flags: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    edns: dict | None = None          # version, flags (set), udp, nsid, raw
    question: list[RR] = field(default_factory=list)
    answer: list[RR] = field(default_factory=list)
    authority: list[RR] = field(default_factory=list)
    additional: list[RR] = field(default_factory=list)

    def section(self, name: str) -> list[RR]:
        return getattr(self, name)

    def rdata(self, rtype: str | None = None, section: str = "answer") -> list[str]:
        return sorted(rr.rdata for rr in self.section(section) if rtype is None or rr.rtype == rtype)

    def rrs(self, rtype: str, section: str = "answer") -> list[RR]:
        return [rr for rr in self.section(section) if rr.rtype == rtype]

    def rrsets(self, section: str = "answer") -> set[tuple[str, str]]:
        return {(rr.name.lower(), rr.rtype) for rr in self.section(section)}


class NoResponse(AssertionError):
    pass


_SECTION_HEADERS = {";; QUESTION SECTION:": "question", ";; ANSWER SECTION:": "answer",
                    ";; AUTHORITY SECTION:": "authority", ";; ADDITIONAL SECTION:": "additional"}


def dig(host: str, port: int, qname: str, qtype: str = "A", *opts: str) -> DigResult:
    """Runs `dig +norec +time=2 +tries=1` and parses the reply.

    UDP queries get +ignore so a TC=1 reply is returned as is instead of being
    retried over TCP; later options override earlier ones (e.g. +rec).
    """
    cmd = ["dig", "+norec", "+time=2", "+tries=1", "+ignore", "-p", str(port), f"@{host}",
           "-6" if ":" in host else "-4",
           "+noall", "+comments", "+question", "+answer", "+authority", "+additional",
           *opts, "-t", qtype, "-q", qname]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=15)
    if "->>HEADER<<-" not in proc.stdout:
        raise NoResponse(f"no answer to {' '.join(cmd)} (exit {proc.returncode}):\n"
                         f"{proc.stdout}{proc.stderr}")
    return parse_dig(proc.stdout)


def parse_dig(text: str) -> DigResult:
    res = DigResult(text=text)
    section = None
    for line in text.splitlines():
        line = line.rstrip()
        if not line:
            continue
        m = re.match(r";; ->>HEADER<<- opcode: (\w+), status: (\w+), id: (\d+)", line)
        if m:
            res.opcode, res.rcode, res.id = m.group(1), m.group(2), int(m.group(3))
            continue
        m = re.match(r";; flags:([^;]*);(.*)", line)
        if m:
            res.flags = set(m.group(1).split())
            res.counts = {k: int(v) for k, v in re.findall(r"(\w+): (\d+)", m.group(2))}
            continue
        if line == ";; OPT PSEUDOSECTION:":
            res.edns = {"raw": []}
            section = "opt"
            continue
        if line in _SECTION_HEADERS:
            section = _SECTION_HEADERS[line]
            continue
        if section == "opt" and line.startswith("; "):
            res.edns["raw"].append(line)
            m = re.match(r"; EDNS: version: (\d+), flags:([^;]*);(.*)", line)
            if m:
                res.edns["version"] = int(m.group(1))
                res.edns["flags"] = set(m.group(2).split())
                udp = re.search(r"udp: (\d+)", m.group(3))
                res.edns["udp"] = int(udp.group(1)) if udp else None
                mbz = re.search(r"MBZ: (0x[0-9a-f]+)", m.group(3))
                res.edns["mbz"] = int(mbz.group(1), 16) if mbz else 0
            m = re.match(r'; NSID: .*\("(.*)"\)', line)
            if m:
                res.edns["nsid"] = m.group(1)
            continue
        if line.startswith(";;"):
            continue
        if section == "question" and line.startswith(";"):
            name, rclass, rtype = line[1:].split()[:3]
            res.question.append(RR(name, None, rclass, rtype, ""))
        elif section in ("answer", "authority", "additional") and not line.startswith(";"):
            parts = line.split(None, 4)
            res.section(section).append(RR(parts[0], int(parts[1]), parts[2], parts[3],
                                           parts[4] if len(parts) > 4 else ""))
    return res


def kdig(host: str, port: int, *args: str) -> subprocess.CompletedProcess:
    """Runs kdig (for what dig cannot do); returns the raw process result."""
    cmd = ["kdig", "+norec", "+time=2", "+retry=0", "-p", str(port), f"@{host}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=15)


# --------------------------------------------------------------------------
# Raw packets
# --------------------------------------------------------------------------

FLAG_QR, FLAG_AA, FLAG_TC, FLAG_RD, FLAG_RA = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080
FLAG_Z, FLAG_AD, FLAG_CD = 0x0040, 0x0020, 0x0010
EDNS_DO = 0x8000


def encode_name(name: str) -> bytes:
    """Encodes a name uncompressed, keeping the letter case as written."""
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(id: int = 0x1234, flags: int = 0, opcode: int = 0, qd: int = 1, an: int = 0,
           ns: int = 0, ar: int = 0) -> bytes:
    return struct.pack("!HHHHHH", id, flags | (opcode << 11), qd, an, ns, ar)


def question(qname: str, qtype: int | str = "A", qclass: int = CLASS_IN) -> bytes:
    qtype = TYPE_CODES[qtype] if isinstance(qtype, str) else qtype
    return encode_name(qname) + struct.pack("!HH", qtype, qclass)


def opt_rr(payload: int = 1232, version: int = 0, flags: int = 0, options: list[tuple[int, bytes]] = ()) -> bytes:
    """An OPT pseudo-RR; `flags` is the 16-bit DO/Z field."""
    rdata = b"".join(struct.pack("!HH", code, len(data)) + data for code, data in options)
    ttl = (version << 16) | flags
    return b"\0" + struct.pack("!HHIH", 41, payload, ttl, len(rdata)) + rdata


def build_query(qname: str, qtype: int | str = "A", qclass: int = CLASS_IN, id: int = 0x1234,
                flags: int = 0, opcode: int = 0, edns: bytes | None = None) -> bytes:
    """A one-question query; `edns` is an OPT RR from `opt_rr()` or None."""
    return (header(id, flags, opcode, ar=1 if edns else 0) + question(qname, qtype, qclass)
            + (edns or b""))


def socket_for(addr: tuple[str, int], kind: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    return socket.socket(family, kind)


def send_udp(addr: tuple[str, int], packet: bytes, timeout: float = QUERY_TIMEOUT) -> bytes | None:
    """Sends one datagram; returns the reply or None after `timeout`."""
    with socket_for(addr, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(packet, addr)
        try:
            return s.recvfrom(65535)[0]
        except socket.timeout:
            return None


def tcp_connect(addr: tuple[str, int], timeout: float = QUERY_TIMEOUT) -> socket.socket:
    s = socket_for(addr, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(addr)
    return s


def frame(packet: bytes) -> bytes:
    """RFC 1035 section 4.2.2: TCP messages carry a two-byte length prefix."""
    return struct.pack("!H", len(packet)) + packet


def recv_exact(s: socket.socket, n: int) -> bytes | None:
    """Reads exactly n bytes; None on EOF, timeout or reset."""
    buf = b""
    try:
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
    except (socket.timeout, ConnectionError):
        return None
    return buf


def recv_frame(s: socket.socket) -> bytes | None:
    head = recv_exact(s, 2)
    if head is None:
        return None
    return recv_exact(s, struct.unpack("!H", head)[0])


def send_tcp(addr: tuple[str, int], packet: bytes, timeout: float = QUERY_TIMEOUT) -> bytes | None:
    """One framed query on a fresh connection; returns the reply or None."""
    with tcp_connect(addr, timeout) as s:
        s.sendall(frame(packet))
        return recv_frame(s)


def wait_closed(s: socket.socket, timeout: float) -> bool:
    """True if the peer closes (EOF or reset) within `timeout` without sending data."""
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except ConnectionError:
        return True
    except socket.timeout:
        return False


@dataclass
class WireRR:
    name: str
    rtype: int
    rclass: int
    ttl: int
    rdata: bytes
    offset: int         # where the RR's owner name starts in the message
    rdata_offset: int   # where its rdata starts (names in rdata may point back)


@dataclass
class Message:
    raw: bytes
    id: int
    flags: int
    qdcount: int
    ancount: int
    nscount: int
    arcount: int
    question: list[tuple[str, int, int]]
    question_bytes: bytes   # the question section as sent on the wire
    answer: list[WireRR]
    authority: list[WireRR]
    additional: list[WireRR]

    qr = property(lambda self: bool(self.flags & FLAG_QR))
    aa = property(lambda self: bool(self.flags & FLAG_AA))
    tc = property(lambda self: bool(self.flags & FLAG_TC))
    rd = property(lambda self: bool(self.flags & FLAG_RD))
    opcode = property(lambda self: (self.flags >> 11) & 0xF)

    @property
    def opt(self) -> WireRR | None:
        opts = [rr for rr in self.additional if rr.rtype == 41]
        return opts[0] if opts else None

    @property
    def rcode(self) -> int:
        """The full rcode: header bits plus the OPT's extended bits (RFC 6891)."""
        ext = (self.opt.ttl >> 24) if self.opt else 0
        return (ext << 4) | (self.flags & 0xF)

    def edns_options(self) -> list[tuple[int, bytes]]:
        out, data, i = [], self.opt.rdata if self.opt else b"", 0
        while i + 4 <= len(data):
            code, length = struct.unpack_from("!HH", data, i)
            out.append((code, data[i + 4:i + 4 + length]))
            i += 4 + length
        return out


class ParseError(Exception):
    pass


def read_name(data: bytes, pos: int) -> tuple[str, int]:
    """Reads a possibly compressed name; returns (name, position after it)."""
    labels, end, jumps = [], None, 0
    while True:
        if pos >= len(data):
            raise ParseError("name runs past the end")
        length = data[pos]
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(data):
                raise ParseError("truncated pointer")
            if end is None:
                end = pos + 2
            target = ((length & 0x3F) << 8) | data[pos + 1]
            if target >= pos or jumps > 64:      # pointers must point backwards
                raise ParseError(f"bad compression pointer at {pos}")
            pos, jumps = target, jumps + 1
            continue
        if length & 0xC0:
            raise ParseError(f"reserved label type at {pos}")
        if length == 0:
            return ".".join(labels) + ".", (end if end is not None else pos + 1)
        labels.append(data[pos + 1:pos + 1 + length].decode("latin-1"))
        pos += 1 + length


def parse_message(data: bytes) -> Message:
    if len(data) < 12:
        raise ParseError(f"short message ({len(data)} bytes)")
    id, flags, qd, an, ns, ar = struct.unpack_from("!HHHHHH", data)
    pos, questions = 12, []
    for _ in range(qd):
        name, pos = read_name(data, pos)
        qtype, qclass = struct.unpack_from("!HH", data, pos)
        pos += 4
        questions.append((name, qtype, qclass))
    question_bytes = data[12:pos]
    sections = []
    for count in (an, ns, ar):
        rrs = []
        for _ in range(count):
            start = pos
            name, pos = read_name(data, pos)
            if pos + 10 > len(data):
                raise ParseError("truncated RR header")
            rtype, rclass, ttl, rdlen = struct.unpack_from("!HHIH", data, pos)
            pos += 10
            if pos + rdlen > len(data):
                raise ParseError("truncated rdata")
            rrs.append(WireRR(name, rtype, rclass, ttl, data[pos:pos + rdlen], start, pos))
            pos += rdlen
        sections.append(rrs)
    if pos != len(data):
        raise ParseError(f"{len(data) - pos} trailing bytes")
    return Message(data, id, flags, qd, an, ns, ar, questions, question_bytes, *sections)


# --------------------------------------------------------------------------
# Assertions shared by several modules
# --------------------------------------------------------------------------

class DnsTestCase(unittest.TestCase):
    server: Server   # set by the module's setUpModule / setUpClass

    def over_all(self, check, transports=TRANSPORTS) -> None:
        """Runs check(transport) as a subTest for each transport."""
        for t in transports:
            with self.subTest(transport=t):
                check(t)

    def assertAlive(self, transport: str = "udp4") -> None:
        """The server still answers a normal query."""
        r = self.server.dig("www.example.com", "A", transport=transport)
        self.assertEqual(r.rcode, "NOERROR")
        self.assertEqual(len(r.rrs("A")), 3)
