"""The command line: --version, --help, check and import.

The import test converts tests/fixtures/import/example.com.zone, serves the
result and compares every (owner, type) of the master file with what the
server answers. The master file is read with the small parser below
(named-checkzone and ldns-read-zone are not installed here); it handles what
the fixture uses: $ORIGIN, $TTL, comments, parentheses, quoted strings,
blank owners and optional TTL/class.
"""

import re
import shutil
import tempfile
import unittest
from collections import defaultdict
from pathlib import Path

import harness as h

IMPORT_ZONE = h.FIXTURES / "import" / "example.com.zone"
IMPORT_ORIGIN = "example.com."
BAD_ZONE = h.FIXTURES / "bad-zone" / "three-errors.toml"
ERROR_LINES = {15, 24, 28}     # documented in the fixture's header comment

# Which rdata fields are domain names (relative names get the origin).
NAME_FIELDS = {"NS": [0], "CNAME": [0], "DNAME": [0], "PTR": [0], "MX": [1], "SRV": [3], "SOA": [0, 1]}


def tokenize(text: str) -> list[list[str]]:
    """Splits a master file into logical lines of tokens (RFC 1035 section 5.1).

    A logical line starting with whitespace gets "" as its first token (the
    previous owner is reused). Quoted strings stay one token, quotes included.
    """
    lines, cur, depth, i = [], [], 0, 0
    at_line_start = True
    while i < len(text):
        c = text[i]
        if c == "\n":
            if depth == 0 and cur:
                lines.append(cur)
                cur = []
            at_line_start = depth == 0
            i += 1
        elif c in " \t":
            if at_line_start and depth == 0 and not cur:
                cur.append("")          # blank owner
            at_line_start = False
            i += 1
        elif c == ";":
            while i < len(text) and text[i] != "\n":
                i += 1
        elif c in "()":
            depth += 1 if c == "(" else -1
            at_line_start = False
            i += 1
        elif c == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            cur.append(text[i:j + 1])
            at_line_start = False
            i = j + 1
        else:
            j = i
            while j < len(text) and text[j] not in ' \t\n;()"':
                j += 1
            cur.append(text[i:j])
            at_line_start = False
            i = j
    if cur:
        lines.append(cur)
    return [l for l in lines if l != [""]]


def parse_master_file(path: Path, origin: str) -> dict[tuple[str, str], list[tuple[int, str]]]:
    """Returns {(owner, type): [(ttl, rdata as dig prints it)]}."""
    def absolute(name: str) -> str:
        if name == "@":
            return origin
        return name if name.endswith(".") else f"{name}.{origin}"

    rrsets, owner, default_ttl = defaultdict(list), None, None
    for tokens in tokenize(path.read_text()):
        if tokens[0] == "$ORIGIN":
            origin = tokens[1]
            continue
        if tokens[0] == "$TTL":
            default_ttl = int(tokens[1])
            continue
        if tokens[0]:
            owner = absolute(tokens[0])
        rest, ttl = tokens[1:], default_ttl
        while rest[0] == "IN" or rest[0].isdigit():
            if rest[0].isdigit():
                ttl = int(rest[0])
            rest = rest[1:]
        rtype, fields = rest[0], rest[1:]
        for idx in NAME_FIELDS.get(rtype, []):
            fields[idx] = absolute(fields[idx])
        rrsets[(owner.lower(), rtype)].append((ttl, " ".join(fields)))
    return rrsets


class CliTest(unittest.TestCase):
    def test_version(self):
        p = h.run_meridian("--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout.strip(), r"^meridian \d+\.\d+\.\d+$")

    def test_help(self):
        p = h.run_meridian("--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        for word in ("serve", "check", "import"):
            self.assertIn(word, p.stdout)

    def test_unknown_subcommand_fails(self):
        self.assertNotEqual(h.run_meridian("frobnicate").returncode, 0)

    def test_check_examples(self):
        p = h.run_meridian("check", "--config", str(h.SOURCE_DIR / "examples" / "meridian.toml"))
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), 2, p.stdout)
        self.assertEqual({l.split(":")[0] for l in lines}, {"example.com.", "example.net."})
        for line in lines:
            self.assertRegex(line, r"^example\.(com|net)\.: ok, serial \d+, \d+ records, \d+ names \(.+\.toml\)$")
        self.assertRegex(p.stdout, r"example\.com\.: ok, serial 2026112201, ")

    def test_check_reports_all_three_errors(self):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "zones").mkdir()
            shutil.copy(BAD_ZONE, Path(tmp) / "zones")
            config = h.write_config(Path(tmp) / "meridian.toml")
            p = h.run_meridian("check", "--config", str(config))
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        errors = [l for l in p.stderr.splitlines() if re.search(r"three-errors\.toml:\d+:\d+: ", l)]
        self.assertEqual(len(errors), 3, p.stderr)
        lines = {int(re.search(r"three-errors\.toml:(\d+):", l).group(1)) for l in errors}
        self.assertEqual(lines, ERROR_LINES, p.stderr)
        self.assertNotIn(": ok,", p.stdout)

    def test_bad_config_rejected(self):
        check, serve = h.check_config(("check", "--config"), ("serve", "--listen", "127.0.0.1:0", "--config"),
                                      tcp_idle_timeout=0, bogus=1)
        for p in (check, serve):
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertRegex(p.stderr, r"meridian\.toml:5:\d+: .*tcp_idle_timeout")
            self.assertRegex(p.stderr, r"meridian\.toml:6:\d+: unknown key 'server\.bogus'")
        self.assertNotIn("listening", serve.stderr)

    def test_import_serves_what_the_master_file_says(self):
        p = h.run_meridian("import", str(IMPORT_ZONE), "--origin", IMPORT_ORIGIN)
        self.assertEqual(p.returncode, 0, p.stderr)
        expected = parse_master_file(IMPORT_ZONE, IMPORT_ORIGIN)
        self.assertGreater(len(expected), 15)   # the parser really read the file

        srv = h.Server(example_zones=False, zones={"example.com.toml": p.stdout})
        self.addCleanup(srv.close)
        check = h.run_meridian("check", "--config", str(srv.config_path))
        self.assertEqual(check.returncode, 0, check.stderr)
        srv.start()

        # Names at or below the delegation sub are answered by referral.
        cuts = {owner for owner, rtype in expected if rtype == "NS" and owner != IMPORT_ORIGIN}
        for (owner, rtype), rrs in sorted(expected.items()):
            with self.subTest(owner=owner, rtype=rtype):
                r = srv.dig(owner, rtype)
                self.assertEqual(r.rcode, "NOERROR")
                delegated = any(owner == c or owner.endswith("." + c) for c in cuts)
                got = r.authority + r.additional if delegated else r.answer
                got = sorted((rr.ttl, rr.rdata) for rr in got if rr.name.lower() == owner and rr.rtype == rtype)
                # The importer gives an RRset with mixed TTLs the smallest one.
                want_ttl = min(ttl for ttl, _ in rrs)
                self.assertEqual(got, sorted((want_ttl, rdata) for _, rdata in rrs))

    def test_import_bad_file_reports_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp) / "bad.zone"
            bad.write_text("$TTL 300\n@ IN SOA ns1 hm 1 2 3 4 5\n@ IN NS ns1\nns1 IN A 300.1.2.3\n")
            p = h.run_meridian("import", str(bad), "--origin", "example.com.")
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr, r"bad\.zone:4")
        self.assertEqual(p.stdout, "")


if __name__ == "__main__":
    unittest.main()
