#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora into tests/fuzz/corpus/NAME/ from the
project's own examples, fixtures and docs (deterministic: rerunning it gives
the same files).

    make-corpus.py [--mmdb-dir BUILD/tests/fixtures/geoip]

answer  queries in wire form (byte 0 = mode, see fuzz_answer.cpp) for the
        example zones: every lookup case, EDNS, ECS, NSID, CHAOS, TCP streams
zone    examples/zones/*.toml, the bad-zone fixture, docs/zone-format.md examples
import  tests/fixtures/import/*.zone and a few small master files
config  examples/meridian.toml and the ```toml blocks of docs/configuration.md
geoip   the GeoIP fixtures of a build (fixture, asn and the corrupt copies),
        only with --mmdb-dir
"""
import argparse
import glob
import hashlib
import os
import re
import shutil
import struct

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")


def write(kind, name, data):
    d = os.path.join(OUT, kind)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def toml_blocks(path):
    text = open(path, encoding="utf-8").read()
    return re.findall(r"```toml\n(.*?)```", text, re.S)


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split(".") if name != "." else []:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(name, qtype, qclass=1, qid=0x1234, flags=0, opt=None, extra=b""):
    """A query; `opt` is (udp size, DO bit, options bytes) or None."""
    ar = 1 if opt is not None else 0
    msg = struct.pack(">HHHHHH", qid, flags, 1, 0, 0, ar) + wire_name(name) + struct.pack(">HH", qtype, qclass)
    if opt is not None:
        size, do, options = opt
        msg += b"\0" + struct.pack(">HHBBHH", 41, size, 0, 0, 0x8000 if do else 0, len(options)) + options
    return msg + extra


def ecs(family, source, addr):
    n = (source + 7) // 8
    body = struct.pack(">HBB", family, source, 0) + addr[:n]
    return struct.pack(">HH", 8, len(body)) + body


NSID = struct.pack(">HH", 3, 0)
A, NS, CNAME, SOA, MX, TXT, AAAA, SRV, DNAME, DS, ANY, CAA = 1, 2, 5, 6, 15, 16, 28, 33, 39, 43, 255, 257


def answer_seeds():
    e = (1232, False, b"")
    names = [
        ("example.com.", SOA), ("example.com.", NS), ("example.com.", MX), ("example.com.", ANY),
        ("www.example.com.", A), ("WWW.Example.COM.", AAAA), ("alias.example.com.", A),
        ("x.apps.example.com.", A), ("a.wild.example.com.", TXT), ("sub.wild.example.com.", A),
        ("_sip._tcp.example.com.", SRV), ("www.sub.example.com.", A), ("sub.example.com.", DS),
        ("x.legacy.example.com.", A), ("big.example.com.", TXT), ("nope.example.com.", A),
        ("example.net.", SOA), ("www.example.org.", A), ("example.com.", CAA),
    ]
    seeds = []
    for n, t in names:
        seeds.append((0, query(n, t, opt=e)))
        seeds.append((0, query(n, t)))  # no EDNS: 512-octet limit, TC
    # Policies: weighted, failover, geolocation (by source and by ECS), latency, multivalue.
    for label in ("api", "app", "geo", "fast", "pool", "ftp"):
        seeds.append((0, query(label + ".example.com.", A, opt=e)))
    for mode in range(0, 32, 4):  # sources 127.0.1-7.1 and IPv6
        seeds.append((mode, query("geo.example.com.", A, opt=e)))
    for fam, src, addr in ((1, 24, bytes([81, 2, 69, 0])), (1, 24, bytes([216, 160, 83, 0])),
                           (1, 32, bytes([175, 16, 199, 1])), (2, 56, bytes.fromhex("20010db8000000")),
                           (1, 0, b""), (1, 33, bytes(5)), (3, 8, b"\x01")):
        seeds.append((0, query("geo.example.com.", A, opt=(1232, True, ecs(fam, src, addr) + NSID))))
    seeds.append((0, query("example.com.", SOA, opt=(4096, True, NSID))))
    seeds.append((0, query("example.com.", SOA, opt=(100, False, b""))))
    seeds.append((0, query("id.server.", TXT, qclass=3)))
    seeds.append((0, query("version.bind.", TXT, qclass=3)))
    seeds.append((0, query("example.com.", A, flags=0x2800)))  # opcode UPDATE: NOTIMP
    # Malformed: FORMERR or drop.
    seeds.append((0, struct.pack(">HHHHHH", 1, 0, 0, 0, 0, 0)))
    seeds.append((0, struct.pack(">HHHHHH", 1, 0, 1, 0, 0, 0) + b"\xc0\x0c\0\1\0\1"))
    seeds.append((0, struct.pack(">HHHHHH", 1, 0, 1, 0, 0, 0) + b"\x3fwww"))
    seeds.append((0, query("example.com.", A, opt=(1232, False, b"\0\x08\0\x02\0"))))
    ednsv1 = bytearray(query("example.com.", A, opt=e))
    ednsv1[-5] = 1  # EDNS version 1: BADVERS
    seeds.append((0, bytes(ednsv1)))
    # TCP streams: several framed messages, pipelined.
    stream = b"".join(struct.pack(">H", len(m)) + m for _, m in seeds[:6])
    seeds.append((1, stream))
    seeds.append((1, struct.pack(">H", 40) + query("big.example.com.", TXT)))  # short frame
    seeds.append((3, struct.pack(">H", len(seeds[0][1])) + seeds[0][1]))
    for mode, msg in seeds:
        data = bytes([mode]) + msg
        write("answer", hashlib.sha1(data).hexdigest()[:16], data)


def text_seeds():
    for p in sorted(glob.glob(os.path.join(ROOT, "examples", "zones", "*.toml"))):
        shutil.copy(p, os.path.join(OUT, "zone", os.path.basename(p)))
    for p in sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "bad-zone", "*.toml"))):
        shutil.copy(p, os.path.join(OUT, "zone", "bad-" + os.path.basename(p)))
    for i, block in enumerate(toml_blocks(os.path.join(ROOT, "docs", "zone-format.md"))):
        write("zone", f"doc-{i:02d}.toml", block)

    for p in sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "import", "*.zone"))):
        shutil.copy(p, os.path.join(OUT, "import", os.path.basename(p)))
    write("import", "minimal.zone", "$ORIGIN example.org.\n$TTL 300\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n")
    write("import", "no-origin.zone", "example.org. 300 IN SOA ns.example.org. hm.example.org. 1 2 3 4 5\n"
                                      "example.org. 300 IN NS ns.example.org.\nwww.example.org. 60 IN AAAA 2001:db8::1\n")
    write("import", "include-and-paren.zone", "$TTL 1h\n@ IN SOA ns hm ( 1\n 2 3 4 5 )\n$INCLUDE nothing\n")
    write("import", "escapes.zone", "$ORIGIN example.org.\n@ 300 SOA ns hm 1 2 3 4 5\n"
                                    "a\\.b 300 TXT \"x\\\"y\" \"\\065\\255\"\n* 300 MX 10 @\n")

    shutil.copy(os.path.join(ROOT, "examples", "meridian.toml"), os.path.join(OUT, "config", "meridian.toml"))
    for doc in ("configuration.md", "hardening.md", "health-checks.md", "geoip.md", "metrics.md"):
        path = os.path.join(ROOT, "docs", doc)
        if os.path.exists(path):
            for i, block in enumerate(toml_blocks(path)):
                write("config", f"{doc[:-3]}-{i:02d}.toml", block)


def mmdb_seeds(mmdb_dir):
    for p in sorted(glob.glob(os.path.join(mmdb_dir, "*.mmdb"))):
        shutil.copy(p, os.path.join(OUT, "geoip", os.path.basename(p)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mmdb-dir", help="a build's tests/fixtures/geoip directory")
    args = ap.parse_args()
    for kind in ("answer", "zone", "import", "config"):
        shutil.rmtree(os.path.join(OUT, kind), ignore_errors=True)
        os.makedirs(os.path.join(OUT, kind))
    answer_seeds()
    text_seeds()
    if args.mmdb_dir:
        shutil.rmtree(os.path.join(OUT, "geoip"), ignore_errors=True)
        os.makedirs(os.path.join(OUT, "geoip"))
        mmdb_seeds(args.mmdb_dir)


if __name__ == "__main__":
    main()
