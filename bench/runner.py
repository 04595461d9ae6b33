"""Running one server and measuring it: start, wait until it answers, drive
it with dnsperf, read its CPU time and memory from /proc, stop it. Every
step has a time limit."""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from workload import ORIGIN, wire_name

HZ = os.sysconf("SC_CLK_TCK")


def soa_query(qid=0xbe17):
    return struct.pack(">6H", qid, 0, 1, 0, 0, 0) + wire_name(ORIGIN) + struct.pack(">2H", 6, 1)


def ask_udp(port, query, timeout=0.5):
    """The answer to one query over UDP, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(query, ("127.0.0.1", port))
            data = s.recv(65535)
        except OSError:
            return None
        return data if data[:2] == query[:2] else None


def ask_tcp(port, query, timeout=0.5):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(struct.pack(">H", len(query)) + query)
            data = b""
            while len(data) < 2 or len(data) < 2 + struct.unpack(">H", data[:2])[0]:
                more = s.recv(65535)
                if not more:
                    return None
                data += more
    except OSError:
        return None
    return data[2:] if data[2:4] == query[:2] else None


def ready(port, tcp=False, timeout=30.0):
    """True once the server answers an SOA query on 127.0.0.1:port."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if (ask_tcp if tcp else ask_udp)(port, soa_query(), 0.25):
            return True
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


def cpu_sample(pids):
    """{pid: (utime + stime in ticks, {tid: run time in ns})} for `pids`,
    from /proc/PID/stat and each thread's /proc/PID/task/TID/schedstat."""
    out = {}
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            tids = os.listdir(f"/proc/{p}/task")
        except (OSError, ValueError, IndexError):
            continue
        threads = {}
        for t in tids:
            try:
                with open(f"/proc/{p}/task/{t}/schedstat") as f:
                    threads[t] = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        out[p] = (int(fields[11]) + int(fields[12]), threads)
    return out


def cpu_used(before, after):
    """Seconds of CPU the processes of `after` used since `before`. Per
    process, the run time of its threads in ns (a thread born in between
    counts from 0): /proc/PID/stat counts in 1/100 s, which over a 5 s run
    at 30,000 q/s is 1.4 % of a server's CPU per reading -- a third of the
    margin the static target leaves. But a thread that ended in between took
    its schedstat with it (PowerDNS starts and ends threads under TCP load),
    while stat's ticks keep it: where the ticks show more than two ticks
    beyond the threads' run time, or the kernel keeps no schedstat (all
    zero), the ticks are the figure."""
    total = 0.0
    for p, (ticks, threads) in after.items():
        ticks0, threads0 = before.get(p, (0, {}))
        ns = sum(v - threads0.get(t, 0) for t, v in threads.items())
        by_ticks = (ticks - ticks0) / HZ
        if any(threads.values()) and by_ticks - ns / 1e9 <= 2 / HZ:
            total += ns / 1e9
        else:
            total += by_ticks
    return total


def proc_sum_mib(pids, file, field):
    """`field` (a kB line such as "VmRSS:" of /proc/PID/status or "Pss:" of
    /proc/PID/smaps_rollup) summed over `pids`, in MiB."""
    kb = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/{file}") as f:
                kb += next((int(l.split()[1]) for l in f if l.startswith(field)), 0)
        except OSError:
            pass
    return kb / 1024


def rss_mib(pids):
    return proc_sum_mib(pids, "status", "VmRSS:")


class Load:
    """How dnsperf drives a section: its query file, transport, clients
    (sockets or TCP connections) and queries in flight."""

    def __init__(self, queries, binary=False, tcp=False, clients=4, outstanding=500, blaster=None, threads=None):
        self.queries, self.binary, self.tcp = queries, binary, tcp
        self.clients, self.outstanding = clients, outstanding
        # dnsperf threads for both runs (flat out and at the fixed rate);
        # None: one at the rate, and flat out as many as the server has workers (up to 2).
        self.threads = threads
        # With `blaster` (bench/udp-blaster, compiled; `queries` binary):
        # flat out through it instead of dnsperf, and us/q is the server's
        # CPU per answer during that run (saturated, batched), not at a rate.
        self.blaster = blaster
        # (load CPU, server CPU): the load generator (dnsperf or the blaster)
        # and every thread of the server each pinned to a core of their own,
        # so the scheduler cannot put them on one core mid-run (see --pin).
        self.pin = None
        # With --profile: one more fixed-rate run under `perf record`, apart
        # from the timed one (sampling costs CPU), for the server's user-space
        # share of its CPU (profile_user_space).
        self.profile = False


def pin_tree(pids, cpu):
    """Every thread of the processes `pids` onto CPU `cpu`."""
    for p in pids:
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                os.sched_setaffinity(int(t), {cpu})
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass


def profile_user_space(pids, seconds, run):
    """(user%, top) from the CPU samples of `pids` (perf record -e cpu-clock,
    all their threads) while `run()` drives them. user%: the share taken in
    user space, the server's own code and libraries rather than the
    kernel's socket, scheduling and wake-up work. top: the user-space
    symbols with the most samples (top_user_symbols), which say where that
    share goes. (None, []) without perf."""
    if not shutil.which("perf"):
        return None, []
    data = os.path.join(tempfile.gettempdir(), f"meridian-bench-perf-{os.getpid()}.data")
    rec = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "4999", "-o", data,
                            "-p", ",".join(map(str, pids))],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)  # perf attaches before the load starts
        run()
    finally:
        rec.send_signal(signal.SIGINT)
        try:
            rec.wait(seconds + 30)
        except subprocess.TimeoutExpired:
            rec.kill()
            rec.wait()
    def report(sort):
        return subprocess.run(["perf", "report", "-i", data, "--stdio", "--sort", sort, "-g", "none",
                               "--percent-limit", "0"], capture_output=True, text=True, timeout=120).stdout
    try:
        by_dso, by_symbol = report("dso"), report("sym")
    except subprocess.TimeoutExpired:
        return None, []
    finally:
        if os.path.exists(data):
            os.unlink(data)
    return user_share(by_dso), top_user_symbols(by_symbol)


def top_user_symbols(report, n=5):
    """The `n` user-space symbols with the most samples in the text of `perf
    report --stdio --sort sym -g none` ("     1.27%  [.] meridian::NodeIndex::
    find_entry"; kernel symbols are "[k]"), as (percent, name) pairs, most
    first. A stripped binary's code shows as addresses."""
    rows = []
    for line in report.splitlines():
        w = line.split(None, 2)
        if len(w) == 3 and not line.startswith("#") and w[0].endswith("%") and w[1] == "[.]":
            rows.append((float(w[0][:-1]), w[2].strip()))
    return sorted(rows, key=lambda r: -r[0])[:n]


def user_share(report):
    """Percent of samples outside the kernel in the text of `perf report
    --stdio --sort dso -g none` ("  95.38%  [kernel.kallsyms]" lines), or
    None when it lists no samples."""
    kernel, seen = 0.0, False
    for line in report.splitlines():
        w = line.split()
        if len(w) == 2 and w[0].endswith("%") and not line.startswith("#"):
            seen = True
            if w[1].startswith(("[kernel", "[guest.kernel")):
                kernel += float(w[0][:-1])
    return 100.0 - kernel if seen else None


def stop_group(proc, grace):
    """SIGTERM to the process group of `proc` (started with
    start_new_session), SIGKILL after `grace` seconds."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def dnsperf(port, load, seconds, rate=None, threads=1):
    cmd = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", load.queries, "-l", str(seconds),
           "-c", str(load.clients * (1 if load.tcp else threads)), "-T", str(threads),
           "-q", str(load.outstanding), "-t", "2"]
    if load.binary:
        cmd.append("-B")
    if load.pin:
        cmd = ["taskset", "-c", str(load.pin[0])] + cmd
    if load.tcp:
        cmd += ["-m", "tcp"]
    if rate:
        cmd += ["-Q", str(rate)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout
    except subprocess.TimeoutExpired:
        return {}
    r = {}
    for line in out.splitlines():
        w = line.split()
        s = line.lstrip()
        if s.startswith("Queries completed:"):
            r["completed"] = int(w[2])
        elif s.startswith("Queries lost:"):
            r["lost"] = int(w[2])
        elif s.startswith("Queries per second:"):
            r["qps"] = float(w[3])
        elif s.startswith("Response codes:"):
            r["rcodes"] = line.split(":", 1)[1].strip()
    return r


def blaster(port, load, seconds, sockets=8, window=64):
    """bench/udp-blaster flat out: {"qps", "completed", "lost"}."""
    cmd = [load.blaster, "127.0.0.1", str(port), load.queries, str(seconds), str(sockets), str(window)]
    if load.pin:
        cmd = ["taskset", "-c", str(load.pin[0])] + cmd
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30).stdout.split()
    except subprocess.TimeoutExpired:
        return {}
    if len(out) < 10:
        return {}
    f = dict(zip(out[0::2], out[1::2]))
    return {"qps": float(f["qps"]), "completed": int(f["received"]), "lost": int(f["lost"]), "rcodes": ""}


class Server:
    """One server process. `probe(port)`, when given, runs while it is up
    (after the load) and its result is kept, e.g. its geo answers."""

    def __init__(self, name, argv, port, workdir, threads=1, tcp_ready=False, pinned=False):
        """pinned: the server pins its serving thread to a CPU itself, so
        its x floor is taken against the pinned reflector (floor+pin)."""
        self.name, self.argv, self.port, self.dir = name, argv, port, workdir
        self.threads, self.tcp_ready, self.pinned = threads, tcp_ready, pinned
        self.load_threads = min(threads, 2)  # dnsperf threads flat out

    def start(self):
        """Starts the server; True once it answers. Its processes' pids are
        then in self.pids (for the CPU figures). A server that does not
        answer is stopped again and False returned."""
        self.log = open(os.path.join(self.dir, f"{self.name.replace('/', '-')}.log"), "w")
        self.proc = subprocess.Popen(self.argv, cwd=self.dir, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if not ready(self.port, self.tcp_ready) or self.proc.poll() is not None:
            print(f"bench: {self.name} did not answer on port {self.port}, skipped; "
                  f"see {self.log.name}", file=sys.stderr)
            self.stop()
            return False
        self.pids = process_tree(self.proc.pid)
        return True

    def stop(self):
        if getattr(self, "proc", None):
            stop_group(self.proc, 10)
            self.proc = None
            self.log.close()

    def timed_run(self, load, seconds, rate):
        """The run us/q is read from: the blaster flat out, or dnsperf at `rate`."""
        if load.blaster:
            return blaster(self.port, load, seconds)
        return dnsperf(self.port, load, seconds, rate, threads=load.threads or 1)

    def warm_up(self, load):
        """One second of load, flat out: caches, page faults."""
        self.timed_run(load, 1, None)

    def flat_out(self, load, seconds):
        """dnsperf flat out (the qps column); None with the blaster, whose
        timed run is flat out already."""
        return None if load.blaster else dnsperf(self.port, load, seconds,
                                                 threads=load.threads or self.load_threads)

    def cpu_per_query(self, load, seconds, rate):
        """(the timed run's result, server CPU us per answered query)."""
        before = cpu_sample(self.pids)
        res = self.timed_run(load, seconds, rate)
        used = cpu_used(before, cpu_sample(self.pids))
        done = res.get("completed", 0)
        return res, (used * 1e6 / done if done else float("inf"))

    def profile(self, load, seconds, rate):
        """(user%, top symbols) of one more timed run under perf."""
        return profile_user_space(self.pids, seconds, lambda: self.timed_run(load, seconds, rate))

    def measure(self, load, seconds, rate, probe=None):
        if not self.start():
            return None
        try:
            if load.pin:
                pin_tree(self.pids, load.pin[1])
            self.warm_up(load)
            flat = self.flat_out(load, seconds)
            fixed, us = self.cpu_per_query(load, seconds, rate)
            rss = rss_mib(self.pids)
            user_pct, top_user = self.profile(load, seconds, rate) if load.profile else (None, [])
            probed = probe(self.port) if probe else None
        finally:
            self.stop()
        return summary(flat, fixed, us, rss, probed, user_pct, top_user)


def summary(flat, fixed, us, rss, probed=None, user_pct=None, top_user=()):
    """One server's figures of one round, as run_section keeps them. flat:
    the flat-out run (qps), None with the blaster, whose timed run `fixed`
    is flat out already."""
    flat = fixed if flat is None else flat
    done, lost = fixed.get("completed", 0), fixed.get("lost", 0)
    return {"qps": flat.get("qps", 0.0), "us_per_query": us,
            "lost_pct": 100.0 * lost / max(1, done + lost), "rss_mib": rss,
            "rcodes": flat.get("rcodes", ""), "probe": probed, "user_pct": user_pct,
            "top_user": list(top_user)}
