"""Message size: truncation (RFC 1035 4.2.1, RFC 6891 7), minimal ANY over
UDP (RFC 8482) and name compression (RFC 1035 4.1.4)."""

import unittest

import harness as h

BIG_TXT = [f'"record-{i:02d}-' + "x" * 190 + '"' for i in range(8)]
APEX_RRSETS = {("example.com.", t) for t in ("SOA", "NS", "MX", "TXT", "CAA", "A")}

# 40 A records: ~700 bytes, more than 512 but well under our 1232.
MANY = [f"192.0.2.{i}" for i in range(1, 41)]
# A delegation whose in-domain glue (10 A + 10 AAAA) needs more than 512 bytes.
GLUE_NAMES = [f"ns{i}.del" for i in range(10)]
SIZE_ZONE = h.soa_zone("size.test.", "[records.many]\nA = [" + ", ".join(f'"{a}"' for a in MANY) + "]\n"
                       + "[records.del]\nNS = [" + ", ".join(f'"{n}"' for n in GLUE_NAMES) + "]\n"
                       + "".join(f'[records."{n}"]\nA = "192.0.2.{i}"\nAAAA = "2001:db8::{i}"\n'
                                 for i, n in enumerate(GLUE_NAMES)))


def setUpModule():
    SizeTest.server = h.module_server(zones={"size.test.toml": SIZE_ZONE})


class SizeTest(h.DnsTestCase):
    def assertWholeRRsets(self, m, full_counts):
        """A truncated reply holds no partial RRset: each is absent or complete."""
        seen = {}
        for rr in m.answer:
            seen[(rr.name.lower(), rr.rtype)] = seen.get((rr.name.lower(), rr.rtype), 0) + 1
        for key, n in seen.items():
            self.assertEqual(n, full_counts[key], f"partial RRset {key}: {n} of {full_counts[key]}")

    # -- truncation ----------------------------------------------------------
    def test_no_edns_over_512_truncates(self):
        def check(t):
            m = self.server.raw(h.build_query("many.size.test", "A"), t)
            self.assertTrue(m.tc)
            self.assertLessEqual(len(m.raw), 512)
            self.assertTrue(m.aa)
            self.assertEqual(m.rcode, 0)
            self.assertWholeRRsets(m, {("many.size.test.", 1): 40})
        self.over_all(check, ("udp4", "udp6"))

    def test_edns_lifts_512_limit(self):
        def check(t):
            r = self.server.dig("many.size.test", "A", transport=t)
            self.assertNotIn("tc", r.flags)
            self.assertEqual(r.rdata("A"), sorted(MANY))
        self.over_all(check, ("udp4", "udp6"))

    def test_small_edns_payload_truncates(self):
        r = self.server.dig("many.size.test", "A", "+bufsize=512")
        self.assertIn("tc", r.flags)
        self.assertIn(len(r.answer), (0, 40))

    def test_referral_glue_that_does_not_fit_sets_tc(self):
        # RFC 9471: in-domain glue is required; if it does not fit, TC=1.
        m = self.server.raw(h.build_query("www.del.size.test", "A"))
        self.assertTrue(m.tc)
        self.assertLessEqual(len(m.raw), 512)
        # With room for it all: a complete referral, no TC.
        r = self.server.dig("www.del.size.test", "A")
        self.assertNotIn("tc", r.flags)
        self.assertNotIn("aa", r.flags)
        self.assertEqual(len(r.rrs("NS", "authority")), 10)
        self.assertEqual(len(r.rrs("A", "additional")), 10)
        self.assertEqual(len(r.rrs("AAAA", "additional")), 10)

    def test_big_txt_truncated_at_our_payload(self):
        def check(t):
            r = self.server.dig("big.example.com", "TXT", "+bufsize=4096", transport=t)
            self.assertIn("tc", r.flags)
            self.assertIn(len(r.answer), (0, 8))
            self.assertIsNotNone(r.edns, "a truncated reply to an EDNS query must keep the OPT")
            m = self.server.raw(h.build_query("big.example.com", "TXT", edns=h.opt_rr(payload=4096)), t)
            self.assertTrue(m.tc)
            self.assertLessEqual(len(m.raw), 1232)
            self.assertWholeRRsets(m, {("big.example.com.", 16): 8})
            self.assertIsNotNone(m.opt)
        self.over_all(check, ("udp4", "udp6"))

    def test_big_txt_without_edns_truncated(self):
        m = self.server.raw(h.build_query("big.example.com", "TXT"))
        self.assertTrue(m.tc)
        self.assertLessEqual(len(m.raw), 512)
        self.assertWholeRRsets(m, {("big.example.com.", 16): 8})
        self.assertEqual(m.question, [("big.example.com.", 16, 1)])

    def test_big_txt_complete_over_tcp(self):
        def check(t):
            # TCP has no 512-byte limit, with or without EDNS.
            for opts in ((), ("+noedns",)):
                r = self.server.dig("big.example.com", "TXT", *opts, transport=t)
                self.assertNotIn("tc", r.flags)
                self.assertEqual(r.rdata("TXT"), BIG_TXT)
        self.over_all(check, ("tcp4", "tcp6"))

    def test_dig_retries_truncated_answer_over_tcp(self):
        # Without +ignore dig follows TC=1 to TCP and must then get all 8.
        host, port = self.server.addr("udp4")
        r = h.dig(host, port, "big.example.com", "TXT", "+noignore")
        self.assertNotIn("tc", r.flags)
        self.assertEqual(len(r.rrs("TXT")), 8)

    # -- ANY -----------------------------------------------------------------
    def test_any_over_udp_is_one_rrset(self):
        def check(t):
            r = self.server.dig("example.com", "ANY", "+notcp", transport=t)
            self.assertEqual(r.rcode, "NOERROR")
            self.assertIn("aa", r.flags)
            self.assertNotIn("tc", r.flags)
            self.assertEqual(len(r.rrsets()), 1, f"RRsets in UDP ANY answer: {r.rrsets()}")
            (owner, rtype), = r.rrsets()
            self.assertIn((owner, rtype), APEX_RRSETS | {("example.com.", "HINFO")})
        self.over_all(check, ("udp4", "udp6"))

    def test_any_over_tcp_is_everything(self):
        def check(t):
            r = self.server.dig("example.com", "ANY", transport=t)
            self.assertEqual(r.rcode, "NOERROR")
            self.assertEqual(r.rrsets(), APEX_RRSETS)
            self.assertEqual(r.rdata("MX"), ["10 mail.example.com.", "20 mail.example.net."])
            self.assertEqual(len(r.rrs("NS")), 2)
        self.over_all(check, ("tcp4", "tcp6"))

    def test_any_for_missing_name(self):
        r = self.server.dig("nope.example.com", "ANY", "+notcp")
        self.assertEqual(r.rcode, "NXDOMAIN")
        self.assertEqual([rr.rtype for rr in r.authority], ["SOA"])

    # -- compression ---------------------------------------------------------
    def test_mx_reply_is_compressed(self):
        def check(t):
            m = self.server.raw(h.build_query("example.com", "MX", edns=h.opt_rr()), t)
            self.assertEqual(m.rcode, 0)
            raw = m.raw
            pointers = [rr.offset for rr in m.answer + m.authority + m.additional
                        if raw[rr.offset] & 0xC0 == 0xC0]
            self.assertGreater(len(pointers), 0, "no owner name is a compression pointer")
            self.assertTrue(any(raw[rr.offset] == 0xC0 and raw[rr.offset + 1] == 12 for rr in m.answer),
                            "answer owner does not point at the question name")
            # Size if every name were written in full.
            full = 12 + len(h.encode_name(m.question[0][0])) + 4
            for rr in m.answer + m.authority + m.additional:
                full += len(h.encode_name(rr.name)) + 10
                if rr.rtype == 15:   # MX: preference + exchange name
                    exchange, _ = h.read_name(raw, rr.rdata_offset + 2)
                    self.assertIn(exchange, ("mail.example.com.", "mail.example.net."))
                    full += 2 + len(h.encode_name(exchange))
                else:
                    full += len(rr.rdata)
            self.assertLess(len(raw), full)
            # (Compressing names inside MX rdata is allowed but optional, so not checked.)
        self.over_all(check)

    def test_pointers_point_backwards(self):
        # parse_message rejects forward or looping pointers; walk a big reply.
        m = self.server.raw(h.build_query("example.com", "ANY", edns=h.opt_rr()), "tcp4")
        self.assertGreater(len(m.answer), 5)
        self.assertEqual({rr.name for rr in m.answer}, {"example.com."})
        self.assertEqual({rr.name for rr in m.additional if rr.rtype != 41} - {"ns1.example.com.", "ns2.example.com.",
                                                                             "mail.example.com."}, set())


if __name__ == "__main__":
    unittest.main()
