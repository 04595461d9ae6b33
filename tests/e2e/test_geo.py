"""GeoDNS through the real server: geolocation and latency policies steered
by EDNS Client Subnet (dig +subnet) and by the packet source (dig -b
127.0.x.y, mapped by the fixture database), the ECS scope in replies, health
overrides changing the choice, and the default database built from
tor-geoipdb answering a real-world address."""

import os
import re
import unittest

import harness as h

FIXTURE_MMDB = os.environ.get("MERIDIAN_FIXTURE_MMDB", str(h.SOURCE_DIR / "build/tests/fixtures/geoip/fixture.mmdb"))
DEFAULT_MMDB = os.environ.get("MERIDIAN_DEFAULT_MMDB", str(h.SOURCE_DIR / "build/geoip/meridian-country.mmdb"))

REGIONS = """
[regions.eu-west]
lat = 53.35
lon = -6.26

[regions.us-east]
lat = 38.95
lon = -77.45

[regions.ap-northeast]
lat = 35.68
lon = 139.69
"""

ZONE = h.soa_zone("geo.test.", """
[records.www.A]
policy = "geolocation"
ttl = 60
targets = [
  { match = "EU",               value = "192.0.2.1", check = "eu" },
  { match = ["US-CA", "US-WA"], value = "192.0.2.2", check = "us-west" },
  { match = "US",               value = "192.0.2.3", check = "us" },
  { match = "JP",               value = "192.0.2.4" },
  { match = "continent:AS",     value = "192.0.2.5" },
  { match = "127.0.4.0/24",     value = "192.0.2.6" },
  { match = "AS7018",           value = "192.0.2.7" },
  { match = "*",                value = "192.0.2.9" },
]

[records.near.A]
policy = "latency"
targets = [
  { region = "eu-west",      value = "198.51.100.1", check = "lat-eu" },
  { region = "us-east",      value = "198.51.100.2" },
  { region = "ap-northeast", value = "198.51.100.3" },
]

[records.plain]
A = "203.0.113.1"

[checks.eu]
state = "up"

[checks.us-west]
state = "up"

[checks.us]
state = "up"

[checks.lat-eu]
state = "up"
""")


def ecs_of(result):
    """(address/source, scope) from dig's CLIENT-SUBNET line, or None."""
    m = re.search(r"; CLIENT-SUBNET: (\S+)/(\d+)/(\d+)", result.text)
    return (f"{m.group(1)}/{m.group(2)}", int(m.group(3))) if m else None


class GeoTest(h.DnsTestCase):
    @classmethod
    def setUpClass(cls):
        extra = f'[geoip]\ndatabases = ["{FIXTURE_MMDB}"]\n' + REGIONS
        cls.srv = h.class_server(cls, example_zones=False, zones={"geo.test.toml": ZONE}, admin=True,
                                 extra_config=extra)

    def ask(self, name, subnet=None, source=None, transport="udp4"):
        opts = []
        if subnet:
            opts.append(f"+subnet={subnet}")
        if source:
            opts += ["-b", source]
        return self.srv.dig(name, "A", *opts, transport=transport)

    def test_ecs_steers_by_country_on_three_continents(self):
        cases = {
            "81.2.69.142/24": "192.0.2.1",     # GB, Europe
            "89.160.20.112/24": "192.0.2.1",   # SE, Europe
            "216.160.83.56/24": "192.0.2.2",   # US-WA, North America
            "2001:218::1/48": "192.0.2.4",     # JP, Asia (IPv6 ECS)
            "175.16.199.1/24": "192.0.2.5",    # CN: continent AS
        }
        for subnet, want in cases.items():
            with self.subTest(subnet=subnet):
                r = self.ask("www.geo.test", subnet)
                self.assertEqual(r.rdata("A"), [want])
                address, scope = ecs_of(r)
                self.assertEqual(address, subnet.split("/")[0].rsplit(".", 1)[0] + ".0/24" if "." in subnet
                                 else "2001:218::/48")
                self.assertGreater(scope, 0)
                self.assertLessEqual(scope, int(subnet.split("/")[1]))

    def test_ecs_works_over_tcp_and_ipv6_transport(self):
        for transport in ("tcp4", "udp6", "tcp6"):
            with self.subTest(transport=transport):
                self.assertEqual(self.ask("www.geo.test", "81.2.69.142/24", transport=transport).rdata("A"),
                                 ["192.0.2.1"])

    def test_source_address_without_ecs(self):
        for source, want in {"127.0.1.5": "192.0.2.1", "127.0.2.5": "192.0.2.2", "127.0.3.5": "192.0.2.4",
                             "127.0.4.9": "192.0.2.6", "127.0.5.5": "192.0.2.9"}.items():
            with self.subTest(source=source):
                r = self.ask("www.geo.test", source=source)
                self.assertEqual(r.rdata("A"), [want])
                self.assertIsNone(ecs_of(r))   # no ECS asked, none echoed

    def test_asn_and_unknown_addresses(self):
        self.assertEqual(self.ask("www.geo.test", "12.81.92.0/24").rdata("A"), ["192.0.2.7"])
        self.assertEqual(self.ask("www.geo.test", "198.51.100.0/24").rdata("A"), ["192.0.2.9"])

    def test_static_answers_have_scope_zero(self):
        r = self.ask("plain.geo.test", "81.2.69.142/24")
        self.assertEqual(r.rdata("A"), ["203.0.113.1"])
        self.assertEqual(ecs_of(r), ("81.2.69.0/24", 0))

    def test_private_ecs_is_ignored_for_the_source(self):
        # 10.1.2.0/24 says nothing about location: the packet source decides.
        r = self.ask("www.geo.test", "10.1.2.0/24", source="127.0.3.5")
        self.assertEqual(r.rdata("A"), ["192.0.2.4"])
        self.assertEqual(ecs_of(r), ("10.1.2.0/24", 0))

    def test_malformed_ecs_is_formerr(self):
        # RFC 7871 section 6: a server SHOULD answer a malformed option with FORMERR.
        cases = {
            "source prefix 40 for IPv4": bytes([0, 1, 40, 0, 81, 2, 69, 142, 0]),
            "non-zero scope in a query": bytes([0, 1, 24, 8, 81, 2, 69]),
            "too many address octets": bytes([0, 1, 24, 0, 81, 2, 69, 0]),
            "too few address octets": bytes([0, 1, 24, 0, 81, 2]),
            "bits set beyond the prefix": bytes([0, 1, 20, 0, 81, 2, 69]),
            "unknown family 3": bytes([0, 3, 8, 0, 81]),
            "shorter than the fixed fields": bytes([0, 1, 24]),
        }
        for why, option in cases.items():
            with self.subTest(why):
                msg = self.srv.raw(h.build_query("www.geo.test", edns=h.opt_rr(options=[(8, option)])))
                self.assertIsNotNone(msg)
                self.assertEqual(msg.rcode, 1)   # FORMERR
                self.assertEqual(msg.answer, [])
        # The same query with a well-formed option (and source prefix 0) is answered.
        for option in (bytes([0, 1, 24, 0, 81, 2, 69]), bytes([0, 1, 0, 0]), bytes([0, 2, 0, 0])):
            msg = self.srv.raw(h.build_query("www.geo.test", edns=h.opt_rr(options=[(8, option)])))
            self.assertEqual(msg.rcode, 0)

    def test_geolocation_falls_back_when_a_match_is_down(self):
        self.addCleanup(self.srv.ctl, "state", "*", "auto")
        west = "216.160.83.56/24"
        self.assertEqual(self.srv.ctl("state", "us-west", "down").returncode, 0)
        self.assertEqual(self.ask("www.geo.test", west).rdata("A"), ["192.0.2.3"])     # US-WA -> US
        self.assertEqual(self.srv.ctl("state", "us", "down").returncode, 0)
        self.assertEqual(self.ask("www.geo.test", west).rdata("A"), ["192.0.2.9"])     # -> default
        self.assertEqual(self.srv.ctl("state", "us*", "auto").returncode, 0)
        self.assertEqual(self.ask("www.geo.test", west).rdata("A"), ["192.0.2.2"])     # back

    def test_latency_picks_the_nearest_region_and_skips_a_down_one(self):
        self.addCleanup(self.srv.ctl, "state", "lat-eu", "auto")
        self.assertEqual(self.ask("near.geo.test", "81.2.69.142/24").rdata("A"), ["198.51.100.1"])   # London -> Dublin
        self.assertEqual(self.ask("near.geo.test", "216.160.83.56/24").rdata("A"), ["198.51.100.2"])  # Seattle -> Virginia
        self.assertEqual(self.ask("near.geo.test", "2001:218::1/48").rdata("A"), ["198.51.100.3"])    # Tokyo
        self.srv.ctl("state", "lat-eu", "down")
        self.assertEqual(self.ask("near.geo.test", "81.2.69.142/24").rdata("A"), ["198.51.100.2"])

    def test_explain_three_clients(self):
        for client, where, want in (("81.2.69.142", "EU / GB / ENG", "192.0.2.1"),
                                    ("216.160.83.56", "NA / US / WA", "192.0.2.2"),
                                    ("2001:218::1", "AS / JP", "192.0.2.4")):
            with self.subTest(client=client):
                r = self.srv.ctl("explain", "www.geo.test", "A", client)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(where, r.stdout)
                self.assertIn("geolocation:", r.stdout)
                self.assertRegex(r.stdout, rf"www\.geo\.test\.\s+60\s+IN\s+A\s+{re.escape(want)}")


class DefaultDatabaseTest(h.DnsTestCase):
    """The quick start's database: real-world data from Debian's tor-geoipdb."""

    @classmethod
    def setUpClass(cls):
        zone = h.soa_zone("d.test.", """
[records.www.A]
policy = "geolocation"
targets = [ { match = "US", value = "192.0.2.1" }, { match = "EU", value = "192.0.2.2" },
            { match = "*", value = "192.0.2.3" } ]
""")
        cls.srv = h.class_server(cls, example_zones=False, zones={"d.test.toml": zone},
                                 extra_config=f'[geoip]\ndatabases = ["{DEFAULT_MMDB}"]\n')

    def test_public_resolver_addresses_get_their_country(self):
        self.assertEqual(self.srv.dig("www.d.test", "A", "+subnet=8.8.8.0/24").rdata("A"), ["192.0.2.1"])   # Google, US
        self.assertEqual(self.srv.dig("www.d.test", "A", "+subnet=193.0.0.0/24").rdata("A"), ["192.0.2.2"])  # RIPE NCC, NL
        self.assertEqual(self.srv.dig("www.d.test", "A", "+subnet=1.1.1.0/24").rdata("A"), ["192.0.2.3"])    # AU: default


if __name__ == "__main__":
    unittest.main()
