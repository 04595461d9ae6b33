"""Answer content: negative answers, CNAME/DNAME, wildcards, delegation,
additional-section processing and round-robin (RFC 1034 4.3.2, RFC 2308,
RFC 4592, RFC 6672)."""

import unittest

import harness as h

SOA_COM = "ns1.example.com. hostmaster.example.com. 2026112201 3600 600 1209600 300"
WWW_A = ["192.0.2.10", "192.0.2.11", "192.0.2.12"]

# Two zones that separate the SOA TTL from the SOA minimum, so the negative
# TTL (RFC 2308 section 5: min of the two) is observable in both directions.
# min.test also carries a CNAME loop and a CNAME to a name that does not exist.
MIN_ZONE = h.soa_zone("min.test.", """
[records.a]
CNAME = "b"

[records.b]
CNAME = "a"

[records.dangling]
CNAME = "nowhere"
""", ttl=3600, minimum=60)
TTL_ZONE = h.soa_zone("ttl.test.", "", ttl=30, minimum=300)

# DNAME chains (d1 -> d2 -> example.net.) and a DNAME whose target is so long
# that substituting it overflows 255 octets (RFC 6672 section 2.2: YXDOMAIN).
LONG_TARGET = ".".join(["x" * 63, "y" * 63, "z" * 63, "example", "net"]) + "."
DNAME_ZONE = h.soa_zone("dname.test.", f"""
[records.d1]
DNAME = "d2.dname.test."

[records.d2]
DNAME = "example.net."

[records.short]
DNAME = "{LONG_TARGET}"
""")


def setUpModule():
    AnswerTest.server = h.module_server(zones={"min.test.toml": MIN_ZONE, "ttl.test.toml": TTL_ZONE,
                                                "dname.test.toml": DNAME_ZONE})


class AnswerTest(h.DnsTestCase):
    def assertNegative(self, r, rcode, soa_owner="example.com.", ttl=300):
        """An authoritative negative answer: empty answer, only the zone SOA in authority."""
        self.assertEqual(r.rcode, rcode)
        self.assertIn("aa", r.flags)
        self.assertEqual(r.answer, [])
        self.assertEqual([(rr.name, rr.rtype, rr.ttl) for rr in r.authority], [(soa_owner, "SOA", ttl)])

    # -- 2. NXDOMAIN / NODATA ---------------------------------------------
    def test_nxdomain_has_soa(self):
        def check(t):
            r = self.server.dig("nope.example.com", "A", transport=t)
            self.assertNegative(r, "NXDOMAIN")
            self.assertEqual(r.authority[0].rdata, SOA_COM)
        self.over_all(check)

    def test_nodata_has_soa(self):
        def check(t):
            self.assertNegative(self.server.dig("www.example.com", "MX", transport=t), "NOERROR")
            self.assertNegative(self.server.dig("example.com", "AAAA", transport=t), "NOERROR")
        self.over_all(check)

    def test_negative_ttl_is_min_of_soa_ttl_and_minimum(self):
        def check(t):
            # SOA TTL 3600, minimum 60 -> 60
            self.assertNegative(self.server.dig("nope.min.test", "A", transport=t), "NXDOMAIN", "min.test.", 60)
            self.assertNegative(self.server.dig("ns1.min.test", "AAAA", transport=t), "NOERROR", "min.test.", 60)
            # SOA TTL 30, minimum 300 -> 30
            self.assertNegative(self.server.dig("nope.ttl.test", "A", transport=t), "NXDOMAIN", "ttl.test.", 30)
            self.assertNegative(self.server.dig("ttl.test", "MX", transport=t), "NOERROR", "ttl.test.", 30)
            # ...while a positive SOA answer keeps the record's own TTL.
            r = self.server.dig("min.test", "SOA", transport=t)
            self.assertEqual([(rr.rtype, rr.ttl) for rr in r.answer], [("SOA", 3600)])
        self.over_all(check)

    # -- 3. CNAME ----------------------------------------------------------
    def test_cname_chain_is_followed(self):
        def check(t):
            r = self.server.dig("alias.example.com", "A", transport=t)
            self.assertEqual(r.rcode, "NOERROR")
            self.assertIn("aa", r.flags)
            self.assertEqual([(rr.name, rr.rtype, rr.rdata) for rr in r.answer[:2]],
                             [("alias.example.com.", "CNAME", "web.example.com."),
                              ("web.example.com.", "CNAME", "www.example.com.")])
            self.assertEqual(r.rdata("A"), WWW_A)
            self.assertEqual({rr.name for rr in r.rrs("A")}, {"www.example.com."})
            self.assertEqual(len(r.answer), 5)
        self.over_all(check)

    def test_cname_query_is_not_followed(self):
        r = self.server.dig("alias.example.com", "CNAME")
        self.assertEqual([(rr.name, rr.rtype, rr.rdata) for rr in r.answer],
                         [("alias.example.com.", "CNAME", "web.example.com.")])

    def test_cname_into_other_served_zone(self):
        def check(t):
            r = self.server.dig("ftp.example.com", "A", transport=t)
            self.assertEqual(r.rcode, "NOERROR")
            self.assertEqual([(rr.name, rr.rtype, rr.rdata) for rr in r.answer],
                             [("ftp.example.com.", "CNAME", "www.example.net."),
                              ("www.example.net.", "A", "198.51.100.10")])
        self.over_all(check)

    def test_cname_loop_terminates(self):
        def check(t):
            r = self.server.dig("a.min.test", "A", transport=t)   # dig's own 2 s timeout bounds a hang
            self.assertEqual(r.rcode, "NOERROR")
            # RFC 2181 section 5.5: an RRset appears once in a reply, so the loop
            # is cut when it comes back to a name already answered.
            self.assertEqual([(x.name, x.rtype, x.rdata) for x in r.answer],
                             [("a.min.test.", "CNAME", "b.min.test."), ("b.min.test.", "CNAME", "a.min.test.")])
        self.over_all(check)

    def test_cname_to_missing_name_is_nxdomain(self):
        # RFC 6604: the rcode describes the last name in the chain.
        r = self.server.dig("dangling.min.test", "A")
        self.assertEqual(r.rcode, "NXDOMAIN")
        self.assertEqual([(rr.name, rr.rtype, rr.rdata) for rr in r.answer],
                         [("dangling.min.test.", "CNAME", "nowhere.min.test.")])
        self.assertEqual([(rr.name, rr.rtype) for rr in r.authority], [("min.test.", "SOA")])

    # -- 4. DNAME ----------------------------------------------------------
    def test_dname_synthesizes_cname(self):
        def check(t):
            r = self.server.dig("www.legacy.example.com", "A", transport=t)
            self.assertEqual(r.rcode, "NOERROR")
            self.assertIn("aa", r.flags)
            self.assertEqual([(rr.name, rr.rtype, rr.rdata) for rr in r.answer],
                             [("legacy.example.com.", "DNAME", "example.net."),
                              ("www.legacy.example.com.", "CNAME", "www.example.net."),
                              ("www.example.net.", "A", "198.51.100.10")])
            # RFC 6672 section 3.1: the synthesized CNAME carries the DNAME's TTL.
            self.assertEqual(r.answer[1].ttl, r.answer[0].ttl)
        self.over_all(check)

    def test_dname_owner_itself_is_not_rewritten(self):
        r = self.server.dig("legacy.example.com", "DNAME")
        self.assertEqual([(rr.name, rr.rtype, rr.rdata) for rr in r.answer],
                         [("legacy.example.com.", "DNAME", "example.net.")])
        self.assertNegative(self.server.dig("legacy.example.com", "A"), "NOERROR")

    def test_dname_to_missing_name_is_nxdomain(self):
        r = self.server.dig("nope.legacy.example.com", "A")
        self.assertEqual(r.rcode, "NXDOMAIN")
        self.assertEqual([(rr.name, rr.rtype) for rr in r.answer],
                         [("legacy.example.com.", "DNAME"), ("nope.legacy.example.com.", "CNAME")])
        self.assertEqual([(rr.name, rr.rtype) for rr in r.authority], [("example.net.", "SOA")])

    def test_dname_chain(self):
        def check(t):
            r = self.server.dig("www.d1.dname.test", "A", transport=t)
            self.assertEqual(r.rcode, "NOERROR")
            self.assertEqual([(rr.name, rr.rtype, rr.rdata) for rr in r.answer],
                             [("d1.dname.test.", "DNAME", "d2.dname.test."),
                              ("www.d1.dname.test.", "CNAME", "www.d2.dname.test."),
                              ("d2.dname.test.", "DNAME", "example.net."),
                              ("www.d2.dname.test.", "CNAME", "www.example.net."),
                              ("www.example.net.", "A", "198.51.100.10")])
        self.over_all(check, ("udp4", "tcp6"))

    def test_dname_overflow_is_yxdomain(self):
        r = self.server.dig("a" * 60 + ".short.dname.test", "A")
        self.assertEqual(r.rcode, "YXDOMAIN")
        self.assertEqual(r.rrs("CNAME"), [])

    # -- 5. wildcards --------------------------------------------------------
    def test_cname_wildcard(self):
        def check(t):
            r = self.server.dig("x.apps.example.com", "A", transport=t)
            self.assertEqual(r.rcode, "NOERROR")
            self.assertEqual((r.answer[0].name, r.answer[0].rtype, r.answer[0].rdata),
                             ("x.apps.example.com.", "CNAME", "www.example.com."))
            self.assertEqual(r.rdata("A"), WWW_A)
        self.over_all(check)

    def test_wildcard_a_and_txt_use_query_name(self):
        def check(t):
            for qname in ("foo.wild.example.com.", "a.b.wild.example.com."):
                r = self.server.dig(qname, "A", transport=t)
                self.assertEqual(r.rcode, "NOERROR")
                self.assertIn("aa", r.flags)
                self.assertEqual([(rr.name, rr.rdata) for rr in r.answer], [(qname, "192.0.2.80")])
            r = self.server.dig("foo.wild.example.com", "TXT", transport=t)
            self.assertEqual([(rr.name, rr.rdata) for rr in r.answer],
                             [("foo.wild.example.com.", '"matched by *.wild"')])
        self.over_all(check)

    def test_wildcard_nodata(self):
        self.assertNegative(self.server.dig("foo.wild.example.com", "AAAA"), "NOERROR")

    def test_empty_non_terminal_blocks_wildcard(self):
        def check(t):
            for qtype in ("A", "TXT"):
                self.assertNegative(self.server.dig("sub.wild.example.com", qtype, transport=t), "NOERROR")
            # Below the ENT the closest encloser is sub.wild, which has no wildcard.
            self.assertNegative(self.server.dig("a.sub.wild.example.com", "A", transport=t), "NXDOMAIN")
            r = self.server.dig("host.sub.wild.example.com", "A", transport=t)
            self.assertEqual(r.rdata("A"), ["192.0.2.81"])
        self.over_all(check)

    # -- 6. delegation -------------------------------------------------------
    def assertReferral(self, r):
        self.assertEqual(r.rcode, "NOERROR")
        self.assertNotIn("aa", r.flags)
        self.assertEqual(r.answer, [])
        self.assertEqual({rr.name for rr in r.authority}, {"sub.example.com."})
        self.assertEqual(r.rdata("NS", "authority"), ["ns.example.net.", "ns1.sub.example.com."])
        self.assertIn(("ns1.sub.example.com.", "A", "192.0.2.53"),
                      [(rr.name, rr.rtype, rr.rdata) for rr in r.additional])

    def test_referral_below_delegation(self):
        def check(t):
            self.assertReferral(self.server.dig("www.sub.example.com", "A", transport=t))
        self.over_all(check)

    def test_referral_at_delegation_point(self):
        self.assertReferral(self.server.dig("sub.example.com", "NS"))
        self.assertReferral(self.server.dig("sub.example.com", "A"))

    def test_glue_is_not_authoritative(self):
        # ns1.sub lies below the cut: its A record is glue, answered by referral.
        self.assertReferral(self.server.dig("ns1.sub.example.com", "A"))

    def test_ds_answered_by_parent(self):
        def check(t):
            r = self.server.dig("sub.example.com", "DS", transport=t)
            self.assertEqual(r.rcode, "NOERROR")
            self.assertIn("aa", r.flags)
            self.assertEqual([(rr.name, rr.rtype) for rr in r.answer], [("sub.example.com.", "DS")])
            self.assertEqual(r.answer[0].rdata.replace(" ", ""),
                             "12345132" "3F5E4B0C2E9D0F2A1B6C7D8E9F00112233445566778899AABBCCDDEEFF001122")
        self.over_all(check)

    # -- 7. additional section ------------------------------------------------
    def additional(self, r):
        return {(rr.name, rr.rtype, rr.rdata) for rr in r.additional}

    def test_mx_adds_addresses(self):
        def check(t):
            r = self.server.dig("example.com", "MX", transport=t)
            self.assertEqual(r.rdata("MX"), ["10 mail.example.com.", "20 mail.example.net."])
            self.assertLessEqual({("mail.example.com.", "A", "192.0.2.25"),
                                  ("mail.example.com.", "AAAA", "2001:db8::25")}, self.additional(r))
        self.over_all(check)

    def test_srv_adds_target_address(self):
        def check(t):
            r = self.server.dig("_sip._tcp.example.com", "SRV", transport=t)
            self.assertEqual(r.rdata("SRV"), ["10 60 5060 sip.example.com."])
            self.assertIn(("sip.example.com.", "A", "192.0.2.50"), self.additional(r))
        self.over_all(check)

    def test_ns_adds_addresses(self):
        r = self.server.dig("example.com", "NS")
        self.assertEqual(r.rdata("NS"), ["ns1.example.com.", "ns2.example.com."])
        self.assertLessEqual({("ns1.example.com.", "A", "192.0.2.1"), ("ns1.example.com.", "AAAA", "2001:db8::1"),
                              ("ns2.example.com.", "A", "192.0.2.2")}, self.additional(r))

    # -- 14. round-robin ------------------------------------------------------
    def test_round_robin(self):
        def check(t):
            orders = set()
            for _ in range(12):
                r = self.server.dig("www.example.com", "A", transport=t)
                self.assertEqual(r.rdata("A"), WWW_A)       # always the whole set
                orders.add(tuple(rr.rdata for rr in r.answer))
            self.assertGreaterEqual(len({o[0] for o in orders}), 2, f"orders seen: {orders}")
        self.over_all(check, ("udp4", "tcp6"))


if __name__ == "__main__":
    unittest.main()
