"""Who the server runs as: root is refused unless told what to do.

* root, no `user`, no --allow-root: exit 2 with a message saying what to set;
* root with `[server] user = "nobody"`: binds, then runs as nobody (and
  reloads zones as nobody);
* `[server] allow_root = true`: runs as root on purpose;
* started as nobody with CAP_NET_BIND_SERVICE as an ambient capability (what
  systemd's AmbientCapabilities= does): binds port 53 without root.

The root cases need root (CI and this machine run the tests as root); they
are skipped, with the reason, otherwise.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest
from pathlib import Path

import harness as h

NOBODY = pwd.getpwnam("nobody")
IS_ROOT = os.geteuid() == 0
SETPRIV = shutil.which("setpriv")
CAP_NET_BIND_SERVICE = 10


def proc_status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


class Direct:
    """`meridian serve` started without the harness (which adds --allow-root
    for root); collects stderr and waits, bounded, for readiness or exit."""

    def __init__(self, cmd: list[str], cwd: Path):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True, cwd=cwd)
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if "serving with" in line:
                self.ready.set()

    def wait_ready(self) -> bool:
        deadline = time.monotonic() + h.START_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self.ready.wait(0.1):
                return True
        return self.ready.is_set()

    def exit_code(self, timeout: float = 10.0) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def text(self) -> str:
        return "\n".join(self.lines)

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(h.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)
        self.proc.stderr.close()


def make_readable(srv: h.Server) -> None:
    """The server's temp dir is 0700 root; nobody must read config and zones
    (at start as the user itself, and on reload after the switch)."""
    for p in [srv.dir, *srv.dir.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)


@unittest.skipUnless(IS_ROOT, "needs root: these tests start meridian as root (run as root in CI)")
class RootTest(h.DnsTestCase):
    def make_server(self, **config) -> h.Server:
        srv = h.Server(**config)
        self.addCleanup(srv.close)
        make_readable(srv)
        return srv

    def direct(self, srv: h.Server, *extra: str, prefix: tuple[str, ...] = ()) -> Direct:
        d = Direct([*prefix, str(h.MERIDIAN_BIN), "serve", "--config", str(srv.config_path),
                    "--listen", "127.0.0.1:0", "--threads", "1", *extra], srv.dir)
        self.addCleanup(d.close)
        return d

    def test_root_without_user_or_flag_is_refused(self):
        srv = self.make_server()
        d = self.direct(srv)
        self.assertEqual(d.exit_code(), 2, d.text())
        self.assertIn("refusing to run as root", d.text())
        # The message says what to do, and names the config file.
        self.assertIn('[server] user = "meridian"', d.text())
        self.assertIn("--allow-root", d.text())
        self.assertIn(str(srv.config_path), d.text())
        self.assertNotIn("listening on", d.text())

    def test_allow_root_in_config(self):
        srv = self.make_server()
        text = srv.config_path.read_text()
        srv.config_path.write_text(text.replace("[server]\n", "[server]\nallow_root = true\n", 1))
        d = self.direct(srv)
        self.assertTrue(d.wait_ready(), d.text())
        self.assertEqual(proc_status(d.proc.pid)["Uid"].split(), ["0"] * 4)
        self.assertIn("running as root (allow_root)", d.text())

    def test_allow_root_must_be_a_boolean(self):
        srv = self.make_server(allow_root="yes")
        r = h.run_meridian("check", "--config", str(srv.config_path))
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"meridian\.toml:\d+:\d+: 'allow_root' must be true or false")

    def test_user_nobody_binds_then_switches(self):
        # Through the harness, which also passes --allow-root: `user` wins.
        srv = self.server = self.make_server(user="nobody")
        srv.start()
        status = proc_status(srv.proc.pid)
        self.assertEqual(status["Uid"].split(), [str(NOBODY.pw_uid)] * 4, status["Uid"])
        self.assertEqual(status["Gid"].split(), [str(NOBODY.pw_gid)] * 4, status["Gid"])
        self.assertEqual(status["Groups"].split(), [str(NOBODY.pw_gid)])
        self.assertEqual(int(status["CapEff"], 16), 0, "no capability left after the switch")
        self.assertEqual(int(status["CapPrm"], 16), 0)
        # Every thread switched, not only the main one (glibc's setxid).
        for task in Path(f"/proc/{srv.proc.pid}/task").iterdir():
            self.assertEqual(proc_status(int(task.name))["Uid"].split()[1], str(NOBODY.pw_uid), task)
        self.assertIn(f"switched to user nobody (uid {NOBODY.pw_uid}", srv.log_text())
        self.assertAlive("udp4")
        self.assertAlive("tcp6")

        # Reloads read the zones as nobody: a readable new zone is served,
        # a root-only one is reported and not served.
        readable = srv.zones_dir / "added.test.toml"
        readable.write_text(h.soa_zone("added.test.", '[records.www]\nA = "192.0.2.99"'))
        readable.chmod(0o644)
        secret = srv.zones_dir / "secret.test.toml"
        secret.write_text(h.soa_zone("secret.test.", '[records.www]\nA = "192.0.2.98"'))
        secret.chmod(0o600)
        srv.reload()
        got = h.poll(lambda: srv.dig("www.added.test", "A").rdata("A"), 3.0)
        self.assertEqual(got, ["192.0.2.99"])
        srv.wait_for_log(r"secret\.test\.toml", 3.0)
        self.assertEqual(srv.dig("www.secret.test", "A").rcode, "REFUSED")
        self.assertTrue(srv.alive())

    def test_unknown_user(self):
        srv = self.make_server(user="meridian-no-such-user")
        d = self.direct(srv)
        self.assertEqual(d.exit_code(), 2, d.text())
        self.assertIn("user 'meridian-no-such-user' does not exist", d.text())
        self.assertNotIn("listening on", d.text())

    def test_unknown_group(self):
        srv = self.make_server(user="nobody", group="meridian-no-such-group")
        d = self.direct(srv)
        self.assertEqual(d.exit_code(), 2, d.text())
        self.assertIn("group 'meridian-no-such-group' does not exist", d.text())

    def test_user_root_is_not_a_user_to_switch_to(self):
        srv = self.make_server(user="root")
        d = self.direct(srv)
        self.assertEqual(d.exit_code(), 2, d.text())
        self.assertIn("is root", d.text())


@unittest.skipUnless(IS_ROOT, "needs root to start a process as nobody")
@unittest.skipUnless(SETPRIV, "needs setpriv (util-linux)")
class StartedAsUserTest(h.DnsTestCase):
    """What the systemd unit does: User=meridian with
    AmbientCapabilities=CAP_NET_BIND_SERVICE; here with nobody and setpriv."""

    ADDR = "127.83.41.7"   # port 53 on an unusual loopback address: free on any host

    def setUp(self):
        self.srv = h.Server(user="nobody")
        self.addCleanup(self.srv.close)
        make_readable(self.srv)

    def as_nobody(self, *caps: str) -> tuple[str, ...]:
        cmd = [SETPRIV, f"--reuid={NOBODY.pw_uid}", f"--regid={NOBODY.pw_gid}", "--clear-groups"]
        for c in caps:
            cmd += [f"--inh-caps=+{c}", f"--ambient-caps=+{c}"]
        return tuple(cmd)

    def start(self, prefix, listen) -> Direct:
        d = Direct([*prefix, str(h.MERIDIAN_BIN), "serve", "--config", str(self.srv.config_path),
                    "--listen", listen, "--threads", "1"], self.srv.dir)
        self.addCleanup(d.close)
        return d

    def port53_free(self) -> bool:
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            with socket.socket(socket.AF_INET, kind) as s:
                try:
                    s.bind((self.ADDR, 53))
                except OSError:
                    return False
        return True

    def test_ambient_capability_binds_port_53(self):
        if not self.port53_free():
            self.skipTest(f"{self.ADDR}:53 is in use on this host")
        d = self.start(self.as_nobody("net_bind_service"), f"{self.ADDR}:53")
        self.assertTrue(d.wait_ready(), d.text())
        status = proc_status(d.proc.pid)
        self.assertEqual(status["Uid"].split(), [str(NOBODY.pw_uid)] * 4)
        self.assertTrue(int(status["CapEff"], 16) & (1 << CAP_NET_BIND_SERVICE))
        self.assertNotIn("switched to user", d.text())   # nothing to switch
        r = h.dig(self.ADDR, 53, "www.example.com", "A")
        self.assertEqual(r.rcode, "NOERROR")
        self.assertEqual(len(r.rrs("A")), 3)

    def test_without_the_capability_port_53_fails(self):
        if not self.port53_free():
            self.skipTest(f"{self.ADDR}:53 is in use on this host")
        d = self.start(self.as_nobody(), f"{self.ADDR}:53")
        self.assertEqual(d.exit_code(), 1, d.text())
        self.assertRegex(d.text(), r"cannot listen: .*(denied|not permitted)")

    def test_other_unprivileged_user_refused(self):
        # Configured for "daemon", started as nobody: only root could switch.
        text = self.srv.config_path.read_text().replace('user = "nobody"', 'user = "daemon"')
        self.srv.config_path.write_text(text)
        d = self.start(self.as_nobody(), "127.0.0.1:0")
        self.assertEqual(d.exit_code(), 2, d.text())
        self.assertIn("only root can switch users", d.text())


if __name__ == "__main__":
    unittest.main()
