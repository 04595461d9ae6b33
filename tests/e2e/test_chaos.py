"""CHAOS-class server identification (RFC 4892) and its configuration."""

import unittest

import harness as h


class ChaosMixin:
    def chaos(self, name, transport="udp4"):
        return self.server.dig(name, "TXT", "-c", "CH", transport=transport)

    def assertChaosTxt(self, r, name, text):
        self.assertEqual(r.rcode, "NOERROR")
        self.assertEqual([(rr.name, rr.rclass, rr.rtype, rr.rdata) for rr in r.answer],
                         [(name, "CH", "TXT", f'"{text}"')])

    def assertRefused(self, r):
        self.assertEqual(r.rcode, "REFUSED")
        self.assertEqual(r.answer, [])


class IdentityOnlyTest(ChaosMixin, h.DnsTestCase):
    """identity set, version unset (the example configuration)."""

    @classmethod
    def setUpClass(cls):
        cls.server = h.class_server(cls, identity="meridian-example")

    def test_identity(self):
        def check(t):
            for name in ("id.server.", "hostname.bind."):
                self.assertChaosTxt(self.chaos(name, t), name, "meridian-example")
        self.over_all(check)

    def test_version_refused_when_unset(self):
        def check(t):
            for name in ("version.bind.", "version.server."):
                self.assertRefused(self.chaos(name, t))
        self.over_all(check)

    def test_other_chaos_names_refused(self):
        self.assertRefused(self.chaos("authors.bind."))
        self.assertRefused(self.chaos("example.com."))

    def test_query_case_does_not_matter(self):
        self.assertChaosTxt(self.chaos("ID.Server."), "ID.Server.", "meridian-example")

    def test_in_class_id_server_is_not_chaos(self):
        # The same name in class IN is just a name outside every zone.
        self.assertRefused(self.server.dig("id.server", "TXT"))


class VersionOnlyTest(ChaosMixin, h.DnsTestCase):
    """version set, identity unset: id.server and NSID are off."""

    @classmethod
    def setUpClass(cls):
        cls.server = h.class_server(cls, identity=None, version="meridian-test 1.2")

    def test_version(self):
        def check(t):
            for name in ("version.bind.", "version.server."):
                self.assertChaosTxt(self.chaos(name, t), name, "meridian-test 1.2")
        self.over_all(check)

    def test_identity_off(self):
        def check(t):
            for name in ("id.server.", "hostname.bind."):
                self.assertRefused(self.chaos(name, t))
        self.over_all(check)

    def test_no_nsid_without_identity(self):
        r = self.server.dig("www.example.com", "A", "+nsid")
        self.assertEqual(r.rcode, "NOERROR")
        self.assertNotIn("nsid", r.edns)


if __name__ == "__main__":
    unittest.main()
