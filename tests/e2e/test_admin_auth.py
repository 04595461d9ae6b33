"""Admin endpoint exposure (docs/hardening.md#admin-endpoint-exposure): the
bearer token (401 without it, `meridian ctl` sends it from the config or a
token file), the allow list (other sources are disconnected before any
request is read), and a non-loopback listen address without a token is a
configuration error."""

import http.client
import json
import os
import unittest

import harness as h

TOKEN = "e2e-Token_0123456789abcdef"
ZONE = h.soa_zone("adm.test.", '[records.www]\nA = "192.0.2.10"\n')


def get(addr: str, path: str = "/status", token: str | None = None, source: str | None = None):
    """(status, headers, body) of one GET; raises if the server hangs up."""
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5,
                                      source_address=(source, 0) if source else None)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode()
    finally:
        conn.close()


class TokenTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = h.class_server(cls, example_zones=False, zones={"adm.test.toml": ZONE}, admin=True,
                                 extra_config=f'[admin]\ntoken = "{TOKEN}"\n')

    def test_requests_need_the_token(self):
        status, headers, body = get(self.srv.admin_addr)
        self.assertEqual(status, 401)
        self.assertIn("Bearer", headers.get("WWW-Authenticate", ""))
        self.assertIn("bearer token", json.loads(body)["error"])
        self.assertEqual(get(self.srv.admin_addr, token=TOKEN[:-1] + "X")[0], 401)
        self.assertEqual(get(self.srv.admin_addr, token=TOKEN[:-1])[0], 401)   # a prefix is not enough
        status, _, body = get(self.srv.admin_addr, token=TOKEN)
        self.assertEqual(status, 200)
        self.assertEqual([z["origin"] for z in json.loads(body)["zones"]], ["adm.test."])
        # POSTs too: an override without the token changes nothing.
        host, port = self.srv.admin_addr.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("POST", "/reload", body=b"")
        self.assertEqual(conn.getresponse().status, 401)
        conn.close()

    def test_ctl_sends_the_token_from_the_config_or_a_file(self):
        r = self.srv.ctl("status")   # --admin only: no token
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("bearer token", r.stderr)
        r = h.run_meridian("ctl", "--config", str(self.srv.config_path), "--admin", self.srv.admin_addr, "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("zone adm.test.", r.stdout)
        token_file = self.srv.dir / "token"
        token_file.write_text(TOKEN + "\n")
        r = h.run_meridian("ctl", "--admin", self.srv.admin_addr, "--token-file", str(token_file), "status")
        self.assertEqual(r.returncode, 0, r.stderr)


class AllowListTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = h.class_server(cls, example_zones=False, zones={"adm.test.toml": ZONE}, admin=True,
                                 extra_config='[admin]\nallow = ["127.0.0.2/32"]\n')

    def test_other_sources_are_disconnected_before_any_request(self):
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            get(self.srv.admin_addr, source="127.0.0.1")
        status, _, _ = get(self.srv.admin_addr, source="127.0.0.2")
        self.assertEqual(status, 200)
        r = self.srv.ctl("status")   # ctl connects from 127.0.0.1
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("allow list", r.stderr)


class ExposureConfigTest(unittest.TestCase):
    def test_non_loopback_listen_needs_a_token(self):
        srv = h.Server(example_zones=False, zones={"adm.test.toml": ZONE},
                       extra_config='[admin]\nlisten = "192.0.2.1:9153"\n')
        self.addCleanup(srv.close)
        r = h.run_meridian("check", "--config", str(srv.config_path))
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"meridian\.toml:\d+:\d+: admin listen address 192\.0\.2\.1:9153 is not loopback")

    def test_serve_with_a_non_loopback_admin_override_and_no_token_refuses_to_start(self):
        srv = h.Server(example_zones=False, zones={"adm.test.toml": ZONE})
        self.addCleanup(srv.close)
        root = ["--allow-root"] if os.geteuid() == 0 else []   # else the root refusal comes first
        r = h.run_meridian("serve", "--config", str(srv.config_path), "--listen", "127.0.0.1:0",
                           "--admin", "192.0.2.1:0", *root, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("is not loopback: set [admin] token", r.stderr)


if __name__ == "__main__":
    unittest.main()
