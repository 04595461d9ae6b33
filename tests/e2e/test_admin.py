"""The admin endpoint and `meridian ctl`: status, health, manual state
overrides (globs, auto), reload, explain; and `meridian explain` offline."""

import json
import os
import time
import unittest

import harness as h

ZONE = h.soa_zone("adm.test.", """
[records.app.A]
policy = "failover"
targets = [ { value = "192.0.2.40", check = "app-1" }, { value = "198.51.100.40", check = "app-2" } ]

[records.www]
A = "192.0.2.10"

[checks.app-1]
state = "up"

[checks.app-2]
state = "up"
""")


class AdminTest(h.DnsTestCase):
    @classmethod
    def setUpClass(cls):
        mmdb = os.environ.get("MERIDIAN_FIXTURE_MMDB", str(h.SOURCE_DIR / "build/tests/fixtures/geoip/fixture.mmdb"))
        cls.srv = h.class_server(cls, example_zones=False, zones={"adm.test.toml": ZONE}, admin=True,
                                 extra_config=f'[geoip]\ndatabases = ["{mmdb}"]\n')

    def app(self):
        return self.srv.dig("app.adm.test").rdata("A")

    def test_status_lists_zones(self):
        r = self.srv.ctl("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"zone adm\.test\. serial 1, \d+ records")
        j = json.loads(self.srv.ctl("--json", "status").stdout)
        self.assertEqual([z["origin"] for z in j["zones"]], ["adm.test."])
        # GeoIP databases with their build time as a date (metadata epoch).
        self.assertTrue(j["geoip"])
        for d in j["geoip"]:
            built = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(d["build_epoch"]))
            self.assertIn(f"geoip {d['path']} ({d['type']}, built {built})", r.stdout)

    def test_state_override_steers_failover_and_auto_restores(self):
        self.assertEqual(self.app(), ["192.0.2.40"])
        r = self.srv.ctl("state", "app-1", "down")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "app-1: down")
        self.assertEqual(self.app(), ["198.51.100.40"])   # no poll needed: the cell is read per query
        health = json.loads(self.srv.ctl("--json", "health").stdout)["checks"]
        app1 = next(c for c in health if c["name"] == "app-1")
        self.assertEqual({k: app1[k] for k in ("state", "configured", "override", "type")},
                         {"state": "down", "configured": "up", "override": "down", "type": "manual"})
        self.assertEqual(app1["steers"], ["app.adm.test. A"])
        self.assertEqual(self.srv.ctl("state", "app-1", "auto").returncode, 0)
        self.assertEqual(self.app(), ["192.0.2.40"])

    def test_glob_pattern_and_fail_open(self):
        r = self.srv.ctl("state", "app-*", "down")
        self.addCleanup(self.srv.ctl, "state", "app-*", "auto")
        self.assertEqual(sorted(r.stdout.split()), ["app-1:", "app-2:", "down", "down"])
        self.assertEqual(self.app(), ["192.0.2.40"])   # all down: fail open to the first

    def test_errors_are_clear(self):
        r = self.srv.ctl("state", "nope", "down")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no check matches 'nope'", r.stderr)
        r = self.srv.ctl("state", "app-1", "sideways")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("up, down or auto", r.stderr)
        r = h.run_meridian("ctl", "--admin", "127.0.0.1:1", "status")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot reach the admin endpoint", r.stderr)

    def test_reload_through_ctl(self):
        path = self.srv.zones_dir / "adm.test.toml"
        path.write_text(ZONE.replace('A = "192.0.2.10"', 'A = "192.0.2.11"'))
        self.addCleanup(lambda: (path.write_text(ZONE), self.srv.ctl("reload")))
        r = self.srv.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.srv.dig("www.adm.test").rdata("A"), ["192.0.2.11"])
        path.write_text("origin = ")   # broken: reported, old version kept
        r = self.srv.ctl("reload")
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"adm\.test\.toml:1:\d+: ")
        self.assertEqual(self.srv.dig("www.adm.test").rdata("A"), ["192.0.2.11"])

    def test_explain_through_ctl(self):
        r = self.srv.ctl("explain", "app.adm.test", "A", "192.0.2.99")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("failover", r.stdout)
        self.assertIn("app.adm.test.\t3600\tIN\tA\t192.0.2.40", r.stdout)


class ExplainCliTest(unittest.TestCase):
    def test_explain_offline_static_and_policy(self):
        srv = h.Server(example_zones=False, zones={"adm.test.toml": ZONE})
        self.addCleanup(srv.close)
        r = h.run_meridian("explain", "www.adm.test", "A", "--client", "198.51.100.7", "--config", str(srv.config_path))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("static records", r.stdout)
        self.assertIn("response: NOERROR (authoritative), ECS scope /0", r.stdout)
        r = h.run_meridian("explain", "www.adm.test", "NOTATYPE", "--client", "198.51.100.7", "--config", str(srv.config_path))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("unknown record type", r.stderr)


if __name__ == "__main__":
    unittest.main()
