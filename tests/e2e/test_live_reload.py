"""Live reload: edits on disk are served without SIGHUP ([reload] watch, the
default), only changed zones are recompiled, serial = "auto" moves forward on
every content change, a broken edit keeps the old zone serving and shows in
`meridian ctl status`, `ctl reload ZONE` reloads one zone, and a replaced
GeoIP database is picked up (a corrupt one is not)."""

import json
import os
import shutil
import subprocess
import time
import unittest

import harness as h

FIXTURE_MMDB = os.environ.get("MERIDIAN_FIXTURE_MMDB", str(h.SOURCE_DIR / "build/tests/fixtures/geoip/fixture.mmdb"))
MMDB_FROM_CSV = h.SOURCE_DIR / "geo/tools/mmdb-from-csv.pl"
VISIBLE_WITHIN = 2.0   # issue 6: every valid edit visible in answers within 2 s

AUTO_ZONE = """
origin = "auto.test."

[soa]
mname = "ns1.auto.test."
rname = "hostmaster.auto.test."
serial = "auto"
refresh = 3600
retry = 600
expire = 86400
minimum = 300

[records."@"]
NS = ["ns1.auto.test."]

[records.ns1]
A = "192.0.2.53"

[records.www]
A = "{addr}"
"""


def soa_serial(srv, zone):
    r = srv.dig(zone, "SOA")
    return int(r.rdata("SOA")[0].split()[2])


class WatchTest(h.DnsTestCase):
    def setUp(self):
        self.srv = h.Server(zones={"auto.test.toml": AUTO_ZONE.format(addr="192.0.2.1")},
                            admin=True, watch=True, extra_config='[reload]\ndebounce = "100ms"\n')
        # watch=True adds no [reload] table, so the debounce table above is the only one.
        self.addCleanup(self.srv.close)
        self.srv.start()
        self.zone = self.srv.zones_dir / "auto.test.toml"

    def served_within(self, qname, want, timeout=VISIBLE_WITHIN, qtype="A"):
        t0 = time.monotonic()
        seen = []
        def ok():
            seen.append(self.srv.dig(qname, qtype).rdata(qtype))
            return seen[-1] == want
        self.assertTrue(h.poll(ok, timeout, interval=0.02), f"{qname} still {seen[-1]} after {timeout}s, want {want}")
        return time.monotonic() - t0

    def status(self):
        r = self.srv.ctl("--json", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_edits_are_served_without_sighup_and_serial_moves_forward(self):
        serials = [soa_serial(self.srv, "auto.test")]
        for i in range(2, 6):   # several edits within a second or two: "auto" must still rise each time
            self.zone.write_text(AUTO_ZONE.format(addr=f"192.0.2.{i}"))
            self.served_within("www.auto.test", [f"192.0.2.{i}"])
            serials.append(soa_serial(self.srv, "auto.test"))
        self.assertEqual(serials, sorted(set(serials)), "serial = auto must increase with every content change")
        # Only the edited zone was compiled again; the example zones were reused.
        self.assertEqual(self.status()["reload"]["recompiled"], 1)

    def test_editor_style_write_then_rename(self):
        tmp = self.srv.zones_dir / ".auto.test.toml.swp"   # not *.toml: ignored while written
        tmp.write_text(AUTO_ZONE.format(addr="192.0.2.77"))
        os.rename(tmp, self.zone)
        self.served_within("www.auto.test", ["192.0.2.77"])

    def test_broken_edit_keeps_serving_and_is_reported(self):
        before = soa_serial(self.srv, "auto.test")
        mark = len(self.srv.log_lines())
        self.zone.write_text(AUTO_ZONE.format(addr="192.0.2.300"))
        self.srv.wait_for_log(r"auto\.test\.toml:\d+:\d+: .*192\.0\.2\.300", VISIBLE_WITHIN, start=mark)
        self.assertEqual(self.srv.dig("www.auto.test").rdata("A"), ["192.0.2.1"])
        self.assertEqual(soa_serial(self.srv, "auto.test"), before)
        st = self.status()
        errors = st["reload"]["errors"]
        self.assertTrue(any("auto.test.toml:" in e and "192.0.2.300" in e for e in errors), errors)
        self.assertTrue(any("keeping the previous version of auto.test." in e for e in errors), errors)
        self.assertGreaterEqual(st["reload"]["failures"], 1)
        text = self.srv.ctl("status").stdout
        self.assertIn("error: ", text)
        # The fix is picked up and clears the error.
        self.zone.write_text(AUTO_ZONE.format(addr="192.0.2.8"))
        self.served_within("www.auto.test", ["192.0.2.8"])
        self.assertTrue(h.poll(lambda: self.status()["reload"]["errors"] == [], 2.0))

    def test_new_and_removed_zone_files(self):
        extra = self.srv.zones_dir / "extra.test.toml"
        extra.write_text(AUTO_ZONE.replace("auto.test", "extra.test").format(addr="192.0.2.44"))
        self.served_within("www.extra.test", ["192.0.2.44"])
        extra.unlink()
        self.assertTrue(h.poll(lambda: self.srv.dig("www.extra.test").rcode == "REFUSED", VISIBLE_WITHIN))


class OneZoneReloadTest(h.DnsTestCase):
    """With the watcher off, `ctl reload ZONE` reloads that zone only."""

    def setUp(self):
        self.srv = h.Server(zones={"auto.test.toml": AUTO_ZONE.format(addr="192.0.2.1")}, admin=True)
        self.addCleanup(self.srv.close)
        self.srv.start()

    def test_reload_one_zone(self):
        (self.srv.zones_dir / "auto.test.toml").write_text(AUTO_ZONE.format(addr="192.0.2.2"))
        www_com = self.srv.zones_dir / "example.com.toml"
        www_com.write_text(www_com.read_text().replace('"192.0.2.10", ', ""))
        time.sleep(0.5)   # the watcher is off: nothing may change by itself
        self.assertEqual(self.srv.dig("www.auto.test").rdata("A"), ["192.0.2.1"])
        r = self.srv.ctl("reload", "auto.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.srv.dig("www.auto.test").rdata("A"), ["192.0.2.2"])
        self.assertIn("192.0.2.10", self.srv.dig("www.example.com").rdata("A"), "other zones must not reload")
        r = self.srv.ctl("reload", "nope.test")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no served zone has that origin", r.stderr)
        r = self.srv.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("192.0.2.10", self.srv.dig("www.example.com").rdata("A"))


GEO_ZONE = h.soa_zone("geo.test.", """
[records.www.A]
policy = "geolocation"
targets = [
  { match = "EU", value = "192.0.2.1" },
  { match = "US", value = "192.0.2.2" },
  { match = "*",  value = "192.0.2.9" },
]
""")


@unittest.skipUnless(shutil.which("perl"), "perl builds the replacement database")
class GeoIpReloadTest(h.DnsTestCase):
    def setUp(self):
        self.srv = h.Server(example_zones=False, zones={"geo.test.toml": GEO_ZONE}, watch=True,
                            extra_config='[geoip]\ndatabases = ["geo.mmdb"]\n')
        shutil.copy(FIXTURE_MMDB, self.srv.dir / "geo.mmdb")
        self.addCleanup(self.srv.close)
        self.srv.start()

    def country(self):
        return self.srv.dig("www.geo.test", "A", "+subnet=81.2.69.1/24").rdata("A")

    def test_replaced_database_is_used_and_a_corrupt_one_is_not(self):
        self.assertEqual(self.country(), ["192.0.2.1"])   # GB: EU in the fixture
        csv = self.srv.dir / "moved.csv"
        csv.write_text("network,continent,country,subdivision,lat,lon,asn\n81.2.69.0/24,NA,US,,,,\n")
        new = self.srv.dir / "new.mmdb"
        subprocess.run(["perl", str(MMDB_FROM_CSV), "--type", "Meridian-Test-City", "--out", str(new), str(csv)],
                       check=True, timeout=60)
        os.rename(new, self.srv.dir / "geo.mmdb")   # atomic replace, as an updater does
        self.assertTrue(h.poll(lambda: self.country() == ["192.0.2.2"], VISIBLE_WITHIN), self.country())
        # A truncated file: logged, and the database loaded last keeps answering.
        mark = len(self.srv.log_lines())
        bad = self.srv.dir / "bad.mmdb"
        bad.write_bytes(b"not a maxmind database")
        os.rename(bad, self.srv.dir / "geo.mmdb")
        self.srv.wait_for_log(r"geoip: .*previous databases keep serving", VISIBLE_WITHIN, start=mark)
        self.assertEqual(self.country(), ["192.0.2.2"])

    def test_database_overwritten_in_place_cannot_corrupt_the_one_serving(self):
        # `cp new.mmdb geo.mmdb` rewrites the inode the server opened. The
        # server reads its own copy, so the old data stays intact until the
        # new file is complete and valid.
        self.assertEqual(self.country(), ["192.0.2.1"])
        with open(self.srv.dir / "geo.mmdb", "r+b") as f:
            f.truncate(100)
        for _ in range(20):
            self.assertEqual(self.country(), ["192.0.2.1"])
        self.assertTrue(self.srv.alive())


if __name__ == "__main__":
    unittest.main()
