"""How each server is set up for each section: configuration files in its
own scratch directory and the command line that runs it in the foreground
on 127.0.0.1:PORT with one worker. A function returns None when the server
is not installed."""
import os
import shutil
import subprocess
import sys

from runner import Server
from workload import (CONTINENTS, FAILOVER, GEO_MAP, GEO_OTHER, ORIGIN, WEIGHTED, expected_geo,
                      meridian_policy_zone)

HERE = os.path.dirname(os.path.abspath(__file__))
PDNS_GEOIP = "/usr/lib/x86_64-linux-gnu/pdns/libgeoipbackend.so"


def _exe(name):
    path = shutil.which(name) or f"/usr/sbin/{name}"
    return path if os.path.exists(path) else None


def _dir(work, name):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    return d


def _compile(work, source):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        print(f"bench: no C compiler (cc): {source} is skipped", file=sys.stderr)
        return None
    exe = os.path.join(work, source[:-2])
    if not os.path.exists(exe):
        subprocess.run([cc, "-O2", "-Wall", "-o", exe, os.path.join(HERE, source)], check=True, timeout=60)
    return exe


def compile_tool(work, source):
    """A bench/ C tool compiled into `work` (None without a C compiler)."""
    return _compile(work, source)


def _reflector(source, work, port, cpu, tcp_ready=False):
    """The floor: a reflector from bench/ that does no DNS work. cpu: started
    pinned to that CPU (taskset), the floor for servers that pin their
    serving thread (name "floor+pin")."""
    exe = _compile(work, source)
    if not exe:
        return None
    argv = [exe, "127.0.0.1", str(port)]
    if cpu is None:
        return Server("floor", argv, port, work, tcp_ready=tcp_ready)
    return Server("floor+pin", ["taskset", "-c", str(cpu)] + argv, port, work, tcp_ready=tcp_ready, pinned=True)


def floor_udp(work, port, cpu=None):
    return _reflector("udp-reflector.c", work, port, cpu)


def floor_tcp(work, port, cpu=None):
    return _reflector("tcp-reflector.c", work, port, cpu, tcp_ready=True)


# --- Meridian ----------------------------------------------------------------

def meridian(label, binary, work, port, threads=1, zone=None, policy=None, mmdb=None, tag="", affinity=False,
             pin=True):
    """zone: an RFC 1035 file served through `meridian import`; policy:
    "geo" or "mix" for the policy zones (workload.meridian_policy_zone);
    affinity: [server] socket_affinity on; pin: [server] pin_workers,
    Meridian's default; False: row "LABEL+nopin"."""
    d = _dir(work, f"{label}-{tag}{threads}{'a' if affinity else ''}{'' if pin else 'n'}")
    os.makedirs(os.path.join(d, "zones"), exist_ok=True)
    with open(os.path.join(d, "zones", "bench.toml"), "w") as f:
        if zone:
            subprocess.run([binary, "import", zone, "--origin", ORIGIN], stdout=f, check=True, timeout=120)
        else:
            f.write(meridian_policy_zone(policy == "mix"))
    with open(os.path.join(d, "meridian.toml"), "w") as f:
        # The TCP section opens 100 connections from one address and sends
        # each more than the default 1000 queries.
        f.write(f'[server]\nzones = "zones"\nthreads = {threads}\nallow_root = true\n'
                f'tcp_max_connections_per_client = 1000\ntcp_max_queries_per_connection = 1000000000\n'
                f'tcp_idle_timeout = 60\n' + ('socket_affinity = true\n' if affinity else '')
                # Explicit either way, so a build from before the default
                # changed (0be424e) is run pinned too when compared.
                + f'pin_workers = {"true" if pin else "false"}\n')
        if mmdb:
            f.write(f'[geoip]\ndatabases = ["{mmdb}"]\n')
    name = (label if threads == 1 else f"{label}/{threads}t") + ("+aff" if affinity else "") + ("" if pin else "+nopin")
    return Server(name, [binary, "serve", "--config", "meridian.toml", "--listen", f"127.0.0.1:{port}"],
                  port, d, threads, pinned=pin or affinity)


# --- Knot, NSD: static zone only ------------------------------------------------

def knot(work, zone, port, pinned=True):
    """pinned: whether the section's load reaches Knot's UDP worker, which
    Knot 3.2 pins to a CPU by default (its TCP workers it does not)."""
    exe = _exe("knotd")
    if not exe:
        return None
    d = _dir(work, "knot")
    with open(os.path.join(d, "knot.conf"), "w") as f:
        f.write(f"server:\n  listen: 127.0.0.1@{port}\n  rundir: {d}\n  user: root:root\n"
                f"  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n"
                f"database:\n  storage: {d}\n"
                f"zone:\n  - domain: {ORIGIN}\n    file: {zone}\n    storage: {d}\n"
                f"log:\n  - target: stderr\n    any: error\n")
    return Server("knot", [exe, "-c", os.path.join(d, "knot.conf")], port, d, pinned=pinned)


def nsd(work, zone, port):
    exe = _exe("nsd")
    if not exe:
        return None
    d = _dir(work, "nsd")
    with open(os.path.join(d, "nsd.conf"), "w") as f:
        f.write(f'server:\n  ip-address: 127.0.0.1@{port}\n  server-count: 1\n  username: ""\n'
                f'  database: ""\n  pidfile: "{d}/nsd.pid"\n  xfrdfile: "{d}/xfrd.state"\n'
                f'  zonelistfile: "{d}/zone.list"\n  verbosity: 0\n'
                f'  rrl-ratelimit: 0\n  rrl-whitelist-ratelimit: 0\n'
                f'  tcp-count: 1000\n  tcp-query-count: 0\n'
                f'remote-control:\n  control-enable: no\n'
                f'zone:\n  name: {ORIGIN}\n  zonefile: {zone}\n')
    return Server("nsd", [exe, "-d", "-c", os.path.join(d, "nsd.conf")], port, d)


# --- gdnsd: static zone, geoip plugin, weighted and simplefo -------------------

def gdnsd(work, zone, port, mmdb=None, mix=False, tag=""):
    """zone: the static zone; with mmdb, `zone` is the apex-only zone and
    geo.ORIGIN is the geoip plugin; with mix also weighted and simplefo."""
    exe = _exe("gdnsd")
    if not exe:
        return None
    d = _dir(work, f"gdnsd-{tag}")
    for sub in ("zones", "run", "state"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    with open(zone) as src, open(os.path.join(d, "zones", ORIGIN), "w") as dst:
        dst.write(src.read())
        if mmdb:
            dst.write("geo 60 DYNA geoip!geo\n")
        if mix:
            dst.write("w 60 DYNA weighted!w\nfo 60 DYNA simplefo!fo\n")
    plugins = ""
    if mmdb:
        cmap = ", ".join(f"{c} => [{c.lower() if c in GEO_MAP else 'other'}]" for c in CONTINENTS)
        dcmap = ", ".join(f"{c.lower()} => {ip}" for c, ip in GEO_MAP.items())
        dcs = " ".join(c.lower() for c in GEO_MAP)
        # Networks the database does not know get the whole datacenter list
        # in order (gdnsd has no `default` key), so "other" comes first.
        plugins += (f"  geoip => {{\n    maps => {{ world => {{\n      geoip2_db => {mmdb}\n"
                    f"      datacenters => [other {dcs}]\n"
                    f"      map => {{ {cmap} }}\n    }} }}\n"
                    f"    resources => {{ geo => {{ map => world, dcmap => {{ {dcmap}, other => {GEO_OTHER} }} }} }}\n"
                    f"  }}\n")
    if mix:
        items = " ".join(f"t{i} => [ {ip}, {w} ]" for i, (ip, w) in enumerate(WEIGHTED))
        plugins += (f"  weighted => {{ w => {{ multi => false, {items} }} }}\n"
                    f"  simplefo => {{ fo => {{ primary => {FAILOVER[0]}, secondary => {FAILOVER[1]} }} }}\n")
    with open(os.path.join(d, "config"), "w") as f:
        f.write(f"options => {{\n  listen => [ 127.0.0.1 ]\n  dns_port => {port}\n"
                f"  udp_threads => 1\n  tcp_threads => 1\n"
                f"  run_dir => {d}/run\n  state_dir => {d}/state\n}}\n")
        if plugins:
            f.write("plugins => {\n" + plugins + "}\n")
    return Server("gdnsd", [exe, "-c", d, "start"], port, d)


# --- PowerDNS: bind backend (static), geoip backend (geo) ------------------------

_PDNS_COMMON = ("local-address=127.0.0.1\nlocal-port={port}\nsocket-dir={d}\ndaemon=no\nguardian=no\n"
                "setuid=\nsetgid=\nreceiver-threads=1\ndistributor-threads=1\nloglevel=3\n"
                "max-tcp-connections=1000\nmax-tcp-connections-per-client=0\n"
                "max-tcp-transactions-per-conn=0\ntcp-idle-timeout=60\n")


def pdns_bind(work, zone, port):
    exe = _exe("pdns_server")
    if not exe:
        return None
    d = _dir(work, "pdns-bind")
    with open(os.path.join(d, "named.conf"), "w") as f:
        f.write(f'zone "{ORIGIN}" {{ type master; file "{zone}"; }};\n')
    with open(os.path.join(d, "pdns.conf"), "w") as f:
        f.write(f"launch=bind\nbind-config={d}/named.conf\n" + _PDNS_COMMON.format(port=port, d=d))
    return Server("pdns", [exe, f"--config-dir={d}"], port, d)


def pdns_geoip(work, mmdb, port):
    exe = _exe("pdns_server")
    if not exe or not os.path.exists(PDNS_GEOIP):
        return None
    d = _dir(work, "pdns-geoip")
    # %cn is the continent code, lower case, or "unknown".
    recs = "\n".join(f"    {c.lower()}.geo.{ORIGIN}:\n      - a: {expected_geo(c)}"
                     for c in CONTINENTS + ("unknown",))
    with open(os.path.join(d, "zones.yaml"), "w") as f:
        f.write(f"domains:\n- domain: {ORIGIN}\n  ttl: 60\n  records:\n    {ORIGIN}:\n"
                f"      - soa: ns1.{ORIGIN} hostmaster.{ORIGIN} 1 7200 900 1209600 600\n"
                f"      - ns: ns1.{ORIGIN}\n{recs}\n"
                f"  services:\n    geo.{ORIGIN}: '%cn.geo.{ORIGIN}'\n")
    with open(os.path.join(d, "pdns.conf"), "w") as f:
        f.write(f"launch=geoip\ngeoip-database-files={mmdb}\ngeoip-zones-file={d}/zones.yaml\n"
                "edns-subnet-processing=yes\n" + _PDNS_COMMON.format(port=port, d=d))
    return Server("pdns", [exe, f"--config-dir={d}"], port, d)


def pdns_lua(work, apex, mmdb, port):
    """The mix zone as PowerDNS LUA records (bind backend; the geoip backend
    loaded only for continent()): weighted by pickwrandom, geo by
    continent(); the failover name is a LUA record returning the first
    target, since PowerDNS's failover functions (ifportup, ifurlup) need
    reachable targets. enable-lua-records=shared: one Lua state for all
    queries (PowerDNS's fast mode; per-query states answered ~1,000 q/s)."""
    exe = _exe("pdns_server")
    if not exe or not os.path.exists(PDNS_GEOIP):
        return None
    d = _dir(work, "pdns-lua")
    weighted = ",".join(f"{{{w},'{ip}'}}" for ip, w in WEIGHTED)
    geo = " else".join(f"if continent('{c}') then return '{ip}'" for c, ip in GEO_MAP.items())
    zone = os.path.join(d, "bench.zone")
    with open(apex) as src, open(zone, "w") as f:
        f.write(src.read())
        f.write(f'w 60 IN LUA A "pickwrandom({{{weighted}}})"\n'
                f'fo 60 IN LUA A ";return \'{FAILOVER[0]}\'"\n'
                f'geo 60 IN LUA A ";{geo} else return \'{GEO_OTHER}\' end"\n')
    with open(os.path.join(d, "named.conf"), "w") as f:
        f.write(f'zone "{ORIGIN}" {{ type master; file "{zone}"; }};\n')
    with open(os.path.join(d, "geo.yaml"), "w") as f:
        f.write("domains: []\n")
    with open(os.path.join(d, "pdns.conf"), "w") as f:
        f.write(f"launch=bind,geoip\nbind-config={d}/named.conf\ngeoip-database-files={mmdb}\n"
                f"geoip-zones-file={d}/geo.yaml\nenable-lua-records=shared\nedns-subnet-processing=yes\n"
                + _PDNS_COMMON.format(port=port, d=d))
    return Server("pdns-lua", [exe, f"--config-dir={d}"], port, d)
