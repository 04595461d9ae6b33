"""Packaging: Kubernetes manifests, Dockerfile, systemd unit, installed
config, man pages and the .deb.

No container engine or cluster runs here, so the manifests and the
Dockerfile are checked for what docs/packaging.md promises, and the parts
that can run do run: the ConfigMap's config and zone under `meridian check`
and `meridian serve`, the readiness probe's command against that server,
`systemd-analyze verify` on the unit, `cpack -G DEB` and the package's
contents.
"""

import gzip
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
import tomllib
import unittest
import unittest.mock
from pathlib import Path

import yaml

import harness as h

PACKAGING = h.SOURCE_DIR / "packaging"
K8S = PACKAGING / "kubernetes"
DOCKERFILE = PACKAGING / "Dockerfile"
BUILD_DIR = h.MERIDIAN_BIN.parent
BUILT_MMDB = Path(os.environ.get("MERIDIAN_DEFAULT_MMDB", BUILD_DIR / "geoip" / "meridian-country.mmdb"))
INSTALLED_MMDB = "/usr/share/meridian/geoip/meridian-country.mmdb"


def project_version() -> str:
    m = re.search(r"project\(meridian VERSION (\S+)", (h.SOURCE_DIR / "CMakeLists.txt").read_text())
    assert m, "no project(meridian VERSION ...) in CMakeLists.txt"
    return m.group(1)


def load_manifests() -> dict[str, list[dict]]:
    """Every document of every packaging/kubernetes/*.yaml, by kind."""
    by_kind: dict[str, list[dict]] = {}
    files = sorted(K8S.glob("*.yaml"))
    assert files, f"no manifests in {K8S}"
    for f in files:
        for doc in yaml.safe_load_all(f.read_text()):
            if doc is None:
                continue
            assert "kind" in doc and "apiVersion" in doc, f"{f}: a document without kind/apiVersion"
            doc["_file"] = f.name
            by_kind.setdefault(doc["kind"], []).append(doc)
    return by_kind


def one(by_kind, kind) -> dict:
    docs = by_kind.get(kind, [])
    assert len(docs) == 1, f"expected one {kind}, found {len(docs)}"
    return docs[0]


class KubernetesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kinds = load_manifests()
        cls.cm = one(cls.kinds, "ConfigMap")
        cls.dep = one(cls.kinds, "Deployment")
        cls.svc = one(cls.kinds, "Service")
        cls.pod = cls.dep["spec"]["template"]["spec"]
        (cls.container,) = [c for c in cls.pod["containers"] if c["name"] == "meridian"]
        cls.cm_config = tomllib.loads(cls.cm["data"]["meridian.toml"])

    def test_kustomization_lists_every_manifest(self):
        kust = one(self.kinds, "Kustomization")
        others = {p.name for p in K8S.glob("*.yaml")} - {kust["_file"]}
        self.assertEqual(set(kust["resources"]), others)

    def test_service_udp_and_tcp_53_reach_the_container(self):
        ports = {(p["protocol"], p["port"]): p for p in self.svc["spec"]["ports"]}
        self.assertEqual(set(ports), {("UDP", 53), ("TCP", 53)})
        container_ports = {p["name"]: p for p in self.container["ports"]}
        for (proto, _), p in ports.items():
            target = container_ports[p["targetPort"]] if isinstance(p["targetPort"], str) else None
            self.assertIsNotNone(target, f"targetPort {p['targetPort']} is not a named container port")
            self.assertEqual((target["protocol"], target["containerPort"]), (proto, 53))
        labels = self.dep["spec"]["template"]["metadata"]["labels"]
        self.assertTrue(self.svc["spec"]["selector"].items() <= labels.items(), "Service selects the pods")
        self.assertEqual(self.dep["spec"]["selector"]["matchLabels"], self.svc["spec"]["selector"])

    def test_server_listens_on_53_in_the_pod(self):
        ports = {int(a.rsplit(":", 1)[1]) for a in self.cm_config["server"]["listen"]}
        self.assertEqual(ports, {53})
        self.assertIn("0.0.0.0:53", self.cm_config["server"]["listen"])

    def test_readiness_probe_asks_the_configured_admin_endpoint(self):
        probe = self.container["readinessProbe"]
        admin = self.cm_config["admin"]["listen"]
        if "httpGet" in probe:
            self.assertIn(probe["httpGet"]["path"], ("/health", "/status"))
            self.assertEqual(str(probe["httpGet"]["port"]), admin.rsplit(":", 1)[1])
        else:
            # The admin endpoint is loopback only, so the probe runs
            # `meridian ctl` inside the pod: GET /status on that address.
            cmd = probe["exec"]["command"]
            self.assertEqual(cmd[:2], ["meridian", "ctl"])
            self.assertEqual(cmd[cmd.index("--admin") + 1], admin)
            self.assertIn(cmd[-1], ("status", "health"))
        self.assertIn("livenessProbe", self.container)

    def test_image_matches_the_dockerfile_and_the_version(self):
        tag = f"meridian:{project_version()}"
        self.assertEqual(self.container["image"], tag)
        self.assertIn(f"-t {tag} ", DOCKERFILE.read_text())
        self.assertIn(f"-t {tag} ", (h.SOURCE_DIR / "docs" / "packaging.md").read_text())

    def test_configmap_is_mounted_where_the_server_reads_it(self):
        (mount,) = [m for m in self.container["volumeMounts"] if m["name"] == "config"]
        (vol,) = [v for v in self.pod["volumes"] if v["name"] == "config"]
        self.assertEqual(vol["configMap"]["name"], self.cm["metadata"]["name"])
        items = {i["key"]: i["path"] for i in vol["configMap"]["items"]}
        self.assertEqual(set(items), set(self.cm["data"]), "every ConfigMap key is mounted")
        args = self.container.get("args") or self.container.get("command")
        config_path = args[args.index("--config") + 1]
        self.assertEqual(config_path, f"{mount['mountPath']}/{items['meridian.toml']}")
        zones = self.cm_config["server"]["zones"].rstrip("/")
        zone_keys = [k for k in items if k != "meridian.toml"]
        self.assertTrue(zone_keys)
        for k in zone_keys:
            self.assertEqual(items[k], f"{zones}/{k}")
        self.assertEqual(self.cm_config["geoip"]["databases"], [INSTALLED_MMDB])

    def materialize(self, tmp: Path) -> Path:
        """The ConfigMap as the pod sees it, under tmp; the installed GeoIP
        path points at the database this build made."""
        vol = [v for v in self.pod["volumes"] if v["name"] == "config"][0]
        for item in vol["configMap"]["items"]:
            dest = tmp / item["path"]
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(self.cm["data"][item["key"]])
        config = tmp / "meridian.toml"
        config.write_text(config.read_text().replace(INSTALLED_MMDB, str(BUILT_MMDB)))
        return config

    def test_configmap_zone_is_valid(self):
        with tempfile.TemporaryDirectory(prefix="meridian-k8s-") as d:
            config = self.materialize(Path(d))
            r = h.run_meridian("check", "--config", str(config))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"example\.com\.: ok, serial \d+")

    def test_readiness_probe_command_succeeds_against_the_configmap_server(self):
        with tempfile.TemporaryDirectory(prefix="meridian-k8s-") as d:
            config = self.materialize(Path(d))
            cmd = [str(h.MERIDIAN_BIN), "serve", "--config", str(config), "--listen", "127.0.0.1:0",
                   "--admin", "127.0.0.1:0", "--threads", "1"]
            if os.geteuid() != 0:   # the config switches to user "meridian", which needs root
                self.skipTest("needs root: the ConfigMap config switches users")
            try:
                shutil.chown(d, "nobody")   # readable after the switch
            except (LookupError, PermissionError):
                pass
            text = config.read_text().replace('user = "meridian"', 'user = "nobody"')
            config.write_text(text)
            probe = self.container["readinessProbe"]["exec"]["command"]
            run = [str(h.MERIDIAN_BIN)] + probe[1:]
            proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=d)
            # Lines through a reader thread: select() on a buffered text pipe
            # misses lines already read into the buffer, and the wait for the
            # next one then ran out (a flaky failure under load).
            lines: queue.Queue[str] = queue.Queue()
            threading.Thread(target=lambda: [lines.put(l) for l in proc.stderr] + [lines.put("")],
                             daemon=True).start()
            try:
                admin, seen = None, []
                deadline = time.monotonic() + h.START_TIMEOUT
                while time.monotonic() < deadline:
                    try:
                        line = lines.get(timeout=0.1)
                    except queue.Empty:
                        continue
                    if not line:
                        break
                    seen.append(line)
                    m = re.search(r"admin endpoint on http://(\S+)", line)
                    admin = m.group(1) if m else admin
                    if "serving with" in line:
                        break
                self.assertIsNotNone(admin, "no admin endpoint logged:\n" + "".join(seen))
                run[run.index("--admin") + 1] = admin
                r = subprocess.run(run, capture_output=True, text=True, timeout=10)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("example.com.", r.stdout)
            finally:
                proc.terminate()
                proc.wait(10)
            # And the probe fails once the server is gone.
            r = subprocess.run(run, capture_output=True, text=True, timeout=20)
            self.assertNotEqual(r.returncode, 0)


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        lines, cur = [], ""
        for raw in DOCKERFILE.read_text().splitlines():
            if raw.lstrip().startswith("#"):
                continue
            cur += raw.rstrip("\\").strip() + " " if raw.endswith("\\") else raw.strip()
            if not raw.endswith("\\"):
                if cur:
                    lines.append(cur)
                cur = ""
        cls.instructions = [(l.split(None, 1)[0].upper(), l.split(None, 1)[1] if " " in l else "") for l in lines]
        froms = [i for i, (op, _) in enumerate(cls.instructions) if op == "FROM"]
        cls.froms = [cls.instructions[i][1] for i in froms]
        cls.build = cls.instructions[froms[0]:froms[1]] if len(froms) > 1 else []
        cls.runtime = cls.instructions[froms[-1]:]

    def test_two_debian_12_stages(self):
        self.assertEqual(len(self.froms), 2, self.froms)
        self.assertEqual(self.froms[0].split()[0], "debian:12")
        self.assertEqual(self.froms[0].split()[1:], ["AS", "build"])
        self.assertEqual(self.froms[1], "debian:12")

    def test_build_stage_uses_install_deps_and_cmake(self):
        runs = " ; ".join(arg for op, arg in self.build if op == "RUN")
        self.assertIn("packaging/install-deps.sh", runs)
        self.assertIn("cmake -S", runs)
        self.assertIn("cmake --build", runs)
        self.assertIn("cpack -G DEB", runs)

    def test_runtime_stage_has_no_build_tools(self):
        text = " ".join(arg for _, arg in self.runtime)
        self.assertNotIn("install-deps.sh", text)
        self.assertNotRegex(text, r"build-essential|-dev\b|cmake ")
        self.assertTrue(any(op == "COPY" and "--from=build" in arg for op, arg in self.runtime))

    def test_runtime_exposes_53_and_runs_serve(self):
        exposed = set(" ".join(arg for op, arg in self.runtime if op == "EXPOSE").split())
        self.assertLessEqual({"53/udp", "53/tcp"}, exposed)
        (cmd,) = [arg for op, arg in self.runtime if op == "CMD"]
        argv = json.loads(cmd)
        self.assertEqual(argv[:2], ["meridian", "serve"])

    def test_runtime_config_listens_on_all_addresses_and_checks(self):
        # The runtime stage edits the package's config with sed: apply the
        # same expression to the config this build installs.
        runs = [arg for op, arg in self.runtime if op == "RUN" and "sed " in arg]
        self.assertEqual(len(runs), 1)
        expr = re.search(r"sed -i '([^']+)' /etc/meridian/meridian\.toml", runs[0]).group(1)
        with tempfile.TemporaryDirectory(prefix="meridian-img-") as d:
            shutil.copytree(PACKAGING / "etc" / "zones", Path(d) / "zones")
            config = Path(d) / "meridian.toml"
            config.write_text((BUILD_DIR / "packaging" / "meridian.toml").read_text()
                              .replace(INSTALLED_MMDB, str(BUILT_MMDB)))
            subprocess.run(["sed", "-i", expr, str(config)], check=True, timeout=10)
            cfg = tomllib.loads(config.read_text())
            self.assertEqual(cfg["server"]["listen"], ["0.0.0.0:53"])
            self.assertEqual(cfg["admin"]["listen"], "127.0.0.1:9153")   # still loopback only
            self.assertEqual(cfg["server"]["user"], "meridian")
            r = h.run_meridian("check", "--config", str(config))
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_dockerignore_keeps_build_trees_out(self):
        ignore = (PACKAGING / "Dockerfile.dockerignore").read_text().split()
        self.assertIn("build/", ignore)


class UnitFileTest(unittest.TestCase):
    UNIT = BUILD_DIR / "packaging" / "meridian.service"

    def directives(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for line in self.UNIT.read_text().splitlines():
            if "=" in line and not line.startswith(("#", ";", "[")):
                k, v = line.split("=", 1)
                out.setdefault(k.strip(), []).append(v.strip())
        return out

    def test_promised_settings(self):
        d = self.directives()
        self.assertEqual(d["Type"], ["notify"])
        self.assertEqual(d["ExecReload"], ["/bin/kill -HUP $MAINPID"])
        self.assertEqual(d["ExecStart"], ["/usr/sbin/meridian serve --config /etc/meridian/meridian.toml"])
        self.assertEqual(d["User"], ["meridian"])
        self.assertEqual(d["AmbientCapabilities"], ["CAP_NET_BIND_SERVICE"])
        self.assertEqual(d["CapabilityBoundingSet"], ["CAP_NET_BIND_SERVICE"])
        for key, want in (("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("NoNewPrivileges", "yes"),
                          ("PrivateTmp", "yes")):
            self.assertEqual(d[key], [want], key)
        self.assertEqual(set(d["RestrictAddressFamilies"][0].split()), {"AF_UNIX", "AF_INET", "AF_INET6"})

    def test_systemd_analyze_verify(self):
        tool = shutil.which("systemd-analyze")
        if not tool:
            self.skipTest("systemd-analyze is not installed: unit not verified")
        # verify needs ExecStart's binary to exist: a copy of the unit that
        # runs the binary of this build.
        # Documentation=man:... is checked with man(1): the generated pages,
        # laid out as a man tree, on MANPATH.
        with tempfile.TemporaryDirectory(prefix="meridian-unit-") as d:
            unit = Path(d) / "meridian.service"
            unit.write_text(self.UNIT.read_text().replace("/usr/sbin/meridian", str(h.MERIDIAN_BIN)))
            for page in ("meridian.8.gz", "meridian.toml.5.gz"):
                section = Path(d) / "man" / f"man{page.split('.')[-2]}"
                section.mkdir(parents=True, exist_ok=True)
                shutil.copy(BUILD_DIR / "man" / page, section / page)
            env = dict(os.environ, MANPATH=str(Path(d) / "man"))
            r = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60, env=env)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            # Clean: no warning about this unit (other units on the host are
            # not ours).
            ours = [l for l in (r.stdout + r.stderr).splitlines() if "meridian" in l]
            self.assertEqual(ours, [])


class UnitMallocTunablesTest(unittest.TestCase):
    """The unit's GLIBC_TUNABLES (faster zone loads, docs/performance.md):
    glibc takes every value as written, and a server started with them has
    its malloc heap advised for transparent huge pages, which one started
    without them has not."""
    UNIT = BUILD_DIR / "packaging" / "meridian.service"

    def tunables(self) -> str:
        lines = [l for l in self.UNIT.read_text().splitlines() if l.startswith("Environment=GLIBC_TUNABLES=")]
        self.assertEqual(len(lines), 1, "one Environment=GLIBC_TUNABLES= line in the unit")
        return lines[0].split("=", 2)[2]

    def test_glibc_accepts_every_value(self):
        ldso = next((p for p in ("/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1") if os.path.exists(p)),
                    None)
        if not ldso:
            self.skipTest("no known dynamic loader path to ask for --list-tunables")
        tunables = self.tunables()
        r = subprocess.run([ldso, "--list-tunables"], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, GLIBC_TUNABLES=tunables))
        self.assertEqual(r.returncode, 0, r.stderr)
        # glibc prints each tunable's value in effect; one it refused (an
        # unknown name, a value out of range) keeps its default.
        effective = dict(re.findall(r"^(glibc\.\S+): (\S+)", r.stdout, re.M))
        for item in tunables.split(":"):
            name, value = item.split("=")
            self.assertIn(name, effective, f"{name}: not a tunable of this glibc")
            self.assertEqual(int(effective[name], 0), int(value, 0), f"{name}: glibc did not take {value}")

    def test_container_sets_the_same(self):
        # The image runs without systemd, so the Dockerfile carries its own
        # copy of the line; the two must not drift apart.
        lines = [l for l in DOCKERFILE.read_text().splitlines() if re.match(r"ENV\s+GLIBC_TUNABLES=", l)]
        self.assertEqual(len(lines), 1, "one ENV GLIBC_TUNABLES= line in the Dockerfile")
        self.assertEqual(lines[0].split("=", 1)[1], self.tunables())

    def heap_flags(self, tunables: str | None) -> str:
        env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
        if tunables:
            env["GLIBC_TUNABLES"] = tunables
        with unittest.mock.patch.dict(os.environ, env, clear=True):
            srv = h.Server().start()
        try:
            smaps = Path(f"/proc/{srv.proc.pid}/smaps").read_text()
        finally:
            srv.close()
        m = re.search(r"\[heap\]\n(?:.*\n)*?VmFlags: (.*)", smaps)
        self.assertTrue(m, "no [heap] mapping in the server's smaps")
        return m.group(1)

    def test_heap_advised_for_huge_pages(self):
        mode = Path("/sys/kernel/mm/transparent_hugepage/enabled")
        if not mode.exists() or "[madvise]" not in mode.read_text():
            # glibc advises only in madvise mode ("always" needs no advice).
            self.skipTest("transparent huge pages not in madvise mode here: nothing for glibc to advise")
        if h.SANITIZER_EXIT is not None:
            self.skipTest("sanitizer build: its allocator replaces glibc's malloc and ignores the tunables")
        self.assertIn("hg", self.heap_flags(self.tunables()).split())
        self.assertNotIn("hg", self.heap_flags(None).split())


class InstalledConfigTest(unittest.TestCase):
    CONFIG = BUILD_DIR / "packaging" / "meridian.toml"

    def test_installed_paths_and_port(self):
        cfg = tomllib.loads(self.CONFIG.read_text())
        self.assertEqual(cfg["geoip"]["databases"], [INSTALLED_MMDB])
        self.assertEqual({a.rsplit(":", 1)[1] for a in cfg["server"]["listen"]}, {"53"})
        self.assertEqual(cfg["server"]["user"], "meridian")
        self.assertEqual(cfg["server"]["zones"], "zones/")   # /etc/meridian/zones

    def test_installed_config_and_zones_check(self):
        with tempfile.TemporaryDirectory(prefix="meridian-etc-") as d:
            shutil.copytree(PACKAGING / "etc" / "zones", Path(d) / "zones")
            text = self.CONFIG.read_text().replace(INSTALLED_MMDB, str(BUILT_MMDB))
            (Path(d) / "meridian.toml").write_text(text)
            r = h.run_meridian("check", "--config", str(Path(d) / "meridian.toml"))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("example.com.: ok", r.stdout)


class ManPageTest(unittest.TestCase):
    def page(self, name: str) -> str:
        with gzip.open(BUILD_DIR / "man" / f"{name}.gz", "rt") as f:
            return f.read()

    def test_generated_from_scdoc(self):
        for name, title in (("meridian.8", r'\.TH "meridian" "8"'), ("meridian.toml.5", r'\.TH "meridian\.toml" "5"')):
            with self.subTest(page=name):
                self.assertRegex(self.page(name), title)

    def test_every_serve_option_is_documented(self):
        help_text = h.run_meridian("serve", "--help").stdout
        options = set(re.findall(r"(--[a-z][a-z-]+)", help_text)) - {"--help"}
        self.assertIn("--allow-root", options)
        page = self.page("meridian.8").replace("\\-", "-")
        for opt in sorted(options):
            self.assertIn(opt, page)

    def test_every_server_key_is_documented(self):
        page = self.page("meridian.toml.5")
        for key in ("listen", "zones", "identity", "version", "threads", "udp_payload", "tcp_idle_timeout",
                    "tcp_max_connections", "user", "group", "allow_root", "databases", "state_file",
                    "udp_receive_buffer", "udp_send_buffer", "socket_affinity", "pin_workers"):
            self.assertRegex(page, rf"\\fB{key}\\fR", key)


class DebianPackageTest(unittest.TestCase):
    """cpack -G DEB into a temp dir; the package's files, control and scripts."""

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="meridian-deb-")
        out = Path(cls._tmp.name)
        r = subprocess.run(["cpack", "-G", "DEB", "-B", str(out)], cwd=BUILD_DIR, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        (cls.deb,) = out.glob("meridian_*.deb")
        cls.files = subprocess.run(["dpkg-deb", "-c", str(cls.deb)], capture_output=True, text=True,
                                   check=True).stdout
        cls.control = subprocess.run(["dpkg-deb", "-f", str(cls.deb)], capture_output=True, text=True,
                                     check=True).stdout
        ctrl = out / "control"
        subprocess.run(["dpkg-deb", "-e", str(cls.deb), str(ctrl)], check=True)
        cls.ctrl = ctrl

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def test_name_and_version(self):
        self.assertEqual(self.deb.name.split("_")[:2], ["meridian", project_version()])

    def test_files(self):
        for path in ("./usr/sbin/meridian", "./etc/meridian/meridian.toml", "./etc/meridian/zones/example.com.toml",
                     "./lib/systemd/system/meridian.service", "./usr/share/meridian/geoip/meridian-country.mmdb",
                     "./usr/lib/sysctl.d/30-meridian.conf",
                     "./usr/share/man/man8/meridian.8.gz", "./usr/share/man/man5/meridian.toml.5.gz"):
            self.assertRegex(self.files, rf"\s{re.escape(path)}\n", path)
        self.assertNotIn("unit_tests", self.files)
        self.assertNotRegex(self.files, r"fixture")

    def test_sysctl_drop_in_lets_the_service_get_its_default_buffers(self):
        """The packaged unit has no CAP_NET_ADMIN, so the kernel caps its UDP
        buffers at net.core.rmem_max / wmem_max; the drop-in must allow the
        server's default 1 MiB (test_udp_buffers checks that default), and
        postinst must raise the running limits to the same values."""
        text = subprocess.run(f"dpkg-deb --fsys-tarfile '{self.deb}' | tar -xOf - ./usr/lib/sysctl.d/30-meridian.conf",
                              shell=True, capture_output=True, text=True, check=True).stdout
        settings = {}
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith(("#", ";")):
                key, _, value = line.partition("=")
                settings[key.strip()] = int(value)
        self.assertEqual(set(settings), {"net.core.rmem_max", "net.core.wmem_max"})
        for key, value in settings.items():
            with self.subTest(key=key):
                self.assertTrue(Path("/proc/sys", *key.split(".")).exists(), key)
                self.assertGreaterEqual(value, 1 << 20)
        postinst = (self.ctrl / "postinst").read_text()
        raised = set(re.findall(r"echo (\d+) >/proc/sys/net/core/", postinst))
        self.assertEqual(raised, {str(v) for v in settings.values()})
        self.assertIn("/etc/sysctl.d/30-meridian.conf", postinst)  # an operator's mask is respected

    def test_control(self):
        depends = re.search(r"^Depends: (.*)$", self.control, re.M).group(1)
        for lib in ("adduser", "libuv1", "libldns3", "libmaxminddb0", "libmicrohttpd12", "libcurl4", "libsystemd0"):
            self.assertIn(lib, depends)
        conffiles = (self.ctrl / "conffiles").read_text().split()
        self.assertEqual(conffiles, ["/etc/meridian/meridian.toml", "/etc/meridian/zones/example.com.toml"])
        for script in ("postinst", "prerm", "postrm"):
            with self.subTest(script=script):
                p = self.ctrl / script
                self.assertTrue(os.access(p, os.X_OK))
                r = subprocess.run(["sh", "-n", str(p)], capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("adduser --system", (self.ctrl / "postinst").read_text())
        self.assertIn("deluser --system", (self.ctrl / "postrm").read_text())


if __name__ == "__main__":
    unittest.main()
