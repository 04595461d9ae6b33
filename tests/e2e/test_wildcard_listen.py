"""A server bound to the wildcard addresses (0.0.0.0 and ::) answers each
UDP query from the address the query was sent to: clients (and dig) drop
answers from any other address. 127.0.0.2 and 127.0.0.3 are loopback
addresses the kernel routes replies for from 127.0.0.1 unless the server
sets the source (IP_PKTINFO)."""
import socket
import unittest

import harness as h


def ask(addr, qname, id):
    """The reply source and the answer, from the reply to one query."""
    with h.socket_for(addr, socket.SOCK_DGRAM) as s:
        s.settimeout(h.QUERY_TIMEOUT)
        s.sendto(h.build_query(qname, id=id), addr)
        try:
            data, source = s.recvfrom(65535)
        except socket.timeout:
            return None, None
        return source[0], h.parse_message(data)


class WildcardListenTest(h.DnsTestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = h.class_server(cls, listen=("0.0.0.0:0", "[::]:0"))
        cls.port4 = cls.srv.addrs[socket.AF_INET][1]
        cls.port6 = cls.srv.addrs[socket.AF_INET6][1]

    def test_ipv4_answers_leave_from_the_queried_address(self):
        for i, dst in enumerate(("127.0.0.1", "127.0.0.2", "127.0.0.3")):
            source, msg = ask((dst, self.port4), "www.example.com", 100 + i)
            self.assertEqual(source, dst)
            self.assertEqual(msg.id, 100 + i)
            self.assertEqual(msg.rcode, 0)

    def test_ipv6(self):
        source, msg = ask(("::1", self.port6), "www.example.com", 7)
        self.assertEqual(source, "::1")
        self.assertEqual(msg.rcode, 0)

    def test_dig_and_tcp_on_another_loopback_address(self):
        r = h.dig("127.0.0.2", self.port4, "www.example.com")   # dig rejects a reply from elsewhere
        self.assertEqual(r.rcode, "NOERROR")
        self.assertEqual(len(r.rdata("A")), 3)
        self.assertEqual(h.dig("127.0.0.2", self.port4, "www.example.com", "A", "+tcp").rcode, "NOERROR")

    def test_many_queries_in_one_batch_keep_their_own_source(self):
        socks = []
        for i in range(40):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(h.QUERY_TIMEOUT)
            self.addCleanup(s.close)
            dst = f"127.0.0.{2 + i % 5}"
            s.sendto(h.build_query("www.example.com", id=i), (dst, self.port4))
            socks.append((s, dst, i))
        for s, dst, i in socks:
            data, source = s.recvfrom(65535)
            self.assertEqual((source[0], h.parse_message(data).id), (dst, i))


if __name__ == "__main__":
    unittest.main()
