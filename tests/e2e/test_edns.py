"""EDNS(0) (RFC 6891) and NSID (RFC 5001)."""

import unittest

import harness as h

UNKNOWN_OPTION = 65001
NSID = 3


def setUpModule():
    EdnsTest.server = h.module_server()


class EdnsTest(h.DnsTestCase):
    def test_opt_echoed_with_our_payload(self):
        def check(t):
            for bufsize in ("+bufsize=512", "+bufsize=1232", "+bufsize=4096"):
                r = self.server.dig("www.example.com", "A", bufsize, transport=t)
                self.assertIsNotNone(r.edns, bufsize)
                self.assertEqual(r.edns["version"], 0)
                self.assertEqual(r.edns["udp"], 1232, bufsize)
                self.assertEqual(r.rcode, "NOERROR")
        self.over_all(check)

    def test_no_opt_without_edns(self):
        def check(t):
            r = self.server.dig("www.example.com", "A", "+noedns", transport=t)
            self.assertIsNone(r.edns)
            self.assertEqual(len(r.answer), 3)
        self.over_all(check)

    def test_badvers(self):
        def check(t):
            r = self.server.dig("example.com", "SOA", "+edns=1", "+noednsnegotiation", transport=t)
            self.assertEqual(r.rcode, "BADVERS")
            self.assertEqual(r.edns["version"], 0)
            self.assertEqual(r.answer, [])
            # The same on the wire: extended rcode 1 in the OPT + header rcode 0 = 16.
            m = self.server.raw(h.build_query("example.com", "SOA", edns=h.opt_rr(version=1)), t)
            self.assertEqual(m.rcode, h.RCODES["BADVERS"])
            self.assertEqual(m.flags & 0xF, 0)
            self.assertEqual((m.opt.ttl >> 16) & 0xFF, 0, "OPT version")
        self.over_all(check)

    def test_unknown_option_ignored_and_not_echoed(self):
        opt = h.opt_rr(options=[(UNKNOWN_OPTION, b"\x01\x02\x03\x04")])
        def check(t):
            m = self.server.raw(h.build_query("www.example.com", "A", edns=opt), t)
            self.assertEqual(m.rcode, 0)
            self.assertEqual(len(m.answer), 3)
            self.assertIsNotNone(m.opt)
            self.assertNotIn(UNKNOWN_OPTION, [code for code, _ in m.edns_options()])
        self.over_all(check)

    def test_undefined_flag_bits_cleared(self):
        def check(t):
            for flags in (0x7FFF, 0x0001, 0xFFFF):
                m = self.server.raw(h.build_query("www.example.com", "A", edns=h.opt_rr(flags=flags)), t)
                self.assertEqual(m.rcode, 0)
                reply_flags = m.opt.ttl & 0xFFFF
                self.assertEqual(reply_flags & 0x7FFF, 0, f"Z bits echoed for query flags {flags:#06x}")
                self.assertEqual(reply_flags & h.EDNS_DO, flags & h.EDNS_DO, "DO bit not copied")
            # dig reports any MBZ bits it sees in the reply.
            r = self.server.dig("www.example.com", "A", "+ednsflags=0x0001", transport=t)
            self.assertEqual(r.edns["mbz"], 0)
        self.over_all(check)

    def test_do_bit_copied(self):
        def check(t):
            r = self.server.dig("www.example.com", "A", "+dnssec", transport=t)
            self.assertEqual(r.rcode, "NOERROR")
            self.assertIn("do", r.edns["flags"])
            self.assertEqual(len(r.answer), 3)
            self.assertNotIn("do", self.server.dig("www.example.com", "A", transport=t).edns["flags"])
        self.over_all(check)

    def test_nsid(self):
        def check(t):
            r = self.server.dig("www.example.com", "A", "+nsid", transport=t)
            self.assertEqual(r.edns.get("nsid"), "meridian-example")
            self.assertNotIn("nsid", self.server.dig("www.example.com", "A", transport=t).edns)
        self.over_all(check)

    def test_nsid_on_the_wire(self):
        opt = h.opt_rr(options=[(NSID, b""), (UNKNOWN_OPTION, b"")])
        m = self.server.raw(h.build_query("www.example.com", "A", edns=opt))
        self.assertEqual(m.edns_options(), [(NSID, b"meridian-example")])

    def test_small_advertised_payload_treated_as_512(self):
        # RFC 6891 section 6.2.5: values below 512 are treated as 512, so a
        # response that fits in 512 bytes is not truncated.
        m = self.server.raw(h.build_query("example.com", "MX", edns=h.opt_rr(payload=100)))
        self.assertFalse(m.tc)
        self.assertEqual(len(m.answer), 2)


if __name__ == "__main__":
    unittest.main()
