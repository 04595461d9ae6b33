"""The benchmark's zones and queries: what every server is asked.

static  an RFC 1035 zone with 10,000 hosts and the shapes a real zone has,
        and a text query mix for dnsperf.
geo     one name, geo.ORIGIN, answered by continent (GEO_MAP), and binary
        wire queries (dnsperf -B) each with an EDNS Client Subnet option
        from a different random public /24.
mix     policy answers: a weighted name (80/20), a failover name (first
        target up) and the geo name, one third each, all with ECS.
"""
import ipaddress
import os
import random
import struct

ORIGIN = "bench.example"

# Continent -> address, the same for every geo server. Anything else,
# including addresses the database does not know, gets OTHER.
GEO_MAP = {"EU": "192.0.2.1", "NA": "192.0.2.2", "AS": "192.0.2.3"}
GEO_OTHER = "192.0.2.4"
CONTINENTS = ("AF", "AN", "AS", "EU", "NA", "OC", "SA")

WEIGHTED = [("198.51.100.1", 80), ("198.51.100.2", 20)]
FAILOVER = ["198.51.100.11", "198.51.100.12"]  # the first one is up


def write_zone(path, hosts):
    """A zone with the shapes a real one has: apex records, a CNAME, a
    wildcard, a delegation with glue, and `hosts` plain A records."""
    o = ORIGIN + "."
    rr = [f"$ORIGIN {o}", "$TTL 3600",
          "@ SOA ns1 hostmaster 1 7200 900 1209600 600",
          "@ NS ns1", "@ NS ns2", "ns1 A 192.0.2.53", "ns2 A 198.51.100.53",
          "@ A 192.0.2.80", "@ MX 10 mx", "mx A 192.0.2.25", '@ TXT "v=spf1 mx -all"',
          "www A 192.0.2.80", "www A 192.0.2.81", "www AAAA 2001:db8::80",
          "alias CNAME www", "*.users A 192.0.2.100",
          "child NS ns.child", "ns.child A 192.0.2.200"]
    rr += [f"host{i} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in range(hosts)]
    with open(path, "w") as f:
        f.write("\n".join(rr) + "\n")


def write_apex_zone(path):
    """The static part of the geo and mix zones: SOA, NS and glue only."""
    with open(path, "w") as f:
        f.write(f"$ORIGIN {ORIGIN}.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 900 1209600 600\n"
                "@ NS ns1\nns1 A 192.0.2.53\n")


def write_queries(path, hosts, count=100000, seed=7):
    """dnsperf input: mostly positive answers, some NXDOMAIN, CNAME, wildcard
    and referral answers, in a fixed pseudo-random order."""
    rnd = random.Random(seed)
    mix = [(40, lambda: f"host{rnd.randrange(hosts)}.{ORIGIN} A"),
           (15, lambda: f"www.{ORIGIN} A"),
           (8, lambda: f"www.{ORIGIN} AAAA"),
           (10, lambda: f"missing{rnd.randrange(10 ** 6)}.{ORIGIN} A"),
           (6, lambda: f"{ORIGIN} MX"),
           (6, lambda: f"alias.{ORIGIN} A"),
           (5, lambda: f"u{rnd.randrange(5000)}.users.{ORIGIN} A"),
           (5, lambda: f"www.child.{ORIGIN} A"),
           (5, lambda: f"{ORIGIN} TXT")]
    weights = [w for w, _ in mix]
    with open(path, "w") as f:
        for _ in range(count):
            f.write(rnd.choices(mix, weights)[0][1]() + "\n")


QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28}


def wire_query(name, qtype, qid=0, flags=0):
    """One query, no EDNS: `qtype` is a mnemonic of QTYPES."""
    return struct.pack(">6H", qid & 0xFFFF, flags, 1, 0, 0, 0) + wire_name(name) + struct.pack(">2H", QTYPES[qtype], 1)


def write_binary_queries(text_path, path):
    """The text query file (name type per line) as a dnsperf -B file, no
    EDNS: what bench/udp-blaster sends."""
    with open(text_path) as src, open(path, "wb") as f:
        for i, line in enumerate(src):
            w = wire_query(*line.split(), qid=i)
            f.write(struct.pack(">H", len(w)) + w)


def wire_name(name):
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".") if p) + b"\0"


def ecs_query(qname, net4, prefix=24, qid=0, qtype=1):
    """A query for qname/qtype IN with an EDNS0 OPT (payload 1232) holding
    an ECS option (RFC 7871) for the IPv4 network net4/prefix."""
    addr = bytes(net4[: (prefix + 7) // 8])
    ecs = struct.pack(">HBB", 1, prefix, 0) + addr
    opt = b"\0" + struct.pack(">HHIH", 41, 1232, 0, 4 + len(ecs)) + struct.pack(">HH", 8, len(ecs)) + ecs
    return (struct.pack(">6H", qid, 0, 1, 0, 0, 1) + wire_name(qname) + struct.pack(">2H", qtype, 1)
            + opt)


def random_public_net(rnd):
    """A random unicast /24 that is globally routable (not private,
    loopback, shared, link-local, documentation, benchmarking...)."""
    while True:
        net = [rnd.randrange(1, 224), rnd.randrange(256), rnd.randrange(256), 0]
        if ipaddress.IPv4Network(".".join(map(str, net)) + "/24").is_global:
            return net


def geo_nets(count, seed):
    rnd = random.Random(seed)
    return [random_public_net(rnd) for _ in range(count)]


def write_wire_queries(path, names, count, seed):
    """dnsperf -B input (each message preceded by its 2-octet length): the
    names in turn, each query with ECS from a different random /24."""
    rnd = random.Random(seed)
    with open(path, "wb") as f:
        for i in range(count):
            w = ecs_query(names[i % len(names)], random_public_net(rnd))
            f.write(struct.pack(">H", len(w)) + w)


def write_geo_queries(path, count=200000, seed=11):
    write_wire_queries(path, [f"geo.{ORIGIN}"], count, seed)


def write_mix_queries(path, count=200000, seed=13):
    write_wire_queries(path, [f"w.{ORIGIN}", f"fo.{ORIGIN}", f"geo.{ORIGIN}"], count, seed)


def expected_geo(continent):
    return GEO_MAP.get(continent, GEO_OTHER)


# --- Meridian's TOML for the geo and mix zones ------------------------------

def country_codes():
    """The ISO 3166-1 codes of geo/data/country-continent.csv, in file order
    (without its registry-only rows AP, CS and EU)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "geo", "data", "country-continent.csv")
    with open(path) as f:
        rows = [line.split(",")[0] for line in f if line.strip() and not line.startswith("#")]
    return [c for c in rows[1:] if c not in ("AP", "CS", "EU")]


def geo_record(countries=0):
    """Meridian's TOML for geo.ORIGIN A: GEO_MAP by continent, GEO_OTHER for
    the rest. With `countries`, also that many country matches (the first
    of country_codes()) over four more targets, 192.0.2.20-23: a policy
    the size of a real per-country one (bench/callgrind.py --geo-countries)."""
    targets = [f'{{ match = "continent:{c}", value = "{ip}" }}' for c, ip in GEO_MAP.items()]
    codes = country_codes()[:countries]
    for t in range(4 if codes else 0):
        matches = ", ".join(f'"country:{c}"' for c in codes[t::4])
        targets.append(f'{{ match = [{matches}], value = "192.0.2.{20 + t}" }}')
    geo = ", ".join(targets + [f'{{ match = "*", value = "{GEO_OTHER}" }}'])
    return "\n".join(["[records.geo.A]", 'policy = "geolocation"', "ttl = 60", f"targets = [ {geo} ]"]) + "\n"


def meridian_policy_zone(with_mix):
    out = [f'origin = "{ORIGIN}."', "ttl = 3600",
           "[soa]", f'mname = "ns1.{ORIGIN}."', f'rname = "hostmaster.{ORIGIN}."', "serial = 1",
           "refresh = 7200", "retry = 900", "expire = 1209600", "minimum = 600",
           '[records."@"]', 'NS = "ns1"', "[records.ns1]", 'A = "192.0.2.53"', geo_record().rstrip()]
    if with_mix:
        w = ", ".join(f'{{ value = "{ip}", weight = {wt} }}' for ip, wt in WEIGHTED)
        fo = ", ".join(f'{{ value = "{ip}" }}' for ip in FAILOVER)
        out += ["[records.w.A]", 'policy = "weighted"', "ttl = 60", f"targets = [ {w} ]",
                "[records.fo.A]", 'policy = "failover"', "ttl = 60", f"targets = [ {fo} ]"]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["geo-record"]:  # for bench/serve-rfc1035.sh
        sys.stdout.write(geo_record())
    else:
        sys.exit("usage: workload.py geo-record")
