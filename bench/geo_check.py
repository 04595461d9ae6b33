"""Do the servers of a section do the same work? Each one, while it is up,
answers a fixed sample of ECS queries (the same /24s for every server); the
A records they return are compared afterwards."""
import struct
import time

from runner import ask_udp
from workload import FAILOVER, ORIGIN, WEIGHTED, ecs_query, geo_nets


def skip_name(msg, at):
    while True:
        n = msg[at]
        if n >= 0xC0:
            return at + 2
        if n == 0:
            return at + 1
        at += 1 + n


def a_records(msg):
    """The sorted A addresses of the answer section (after any CNAME), or
    "rcode=N" / "no answer" when there are none."""
    if msg is None:
        return "no answer"
    _, flags, qd, an = struct.unpack(">4H", msg[:8])
    at = 12
    for _ in range(qd):
        at = skip_name(msg, at) + 4
    out = []
    for _ in range(an):
        at = skip_name(msg, at)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[at:at + 10])
        at += 10
        if rtype == 1 and rdlen == 4:
            out.append(".".join(str(b) for b in msg[at:at + 4]))
        at += rdlen
    return ",".join(sorted(out)) if out else f"rcode={flags & 15}"


def probe_names(names, samples=300, seed=99, budget=20.0):
    """A probe for runner.Server.measure: for each name, its answers to
    `samples` ECS queries from the same /24s, in order."""
    nets = geo_nets(samples, seed)

    def probe(port):
        end = time.monotonic() + budget
        res = {}
        for name in names:
            got = []
            for i, net in enumerate(nets):
                if time.monotonic() > end:
                    break
                got.append(a_records(ask_udp(port, ecs_query(f"{name}.{ORIGIN}", net, qid=i + 1), 0.3)))
            res[name] = got
        return res
    return probe


def agreement(results, name, reference):
    """% of sampled subnets where each server's answer for `name` equals
    the reference server's."""
    ref = (results.get(reference) or {}).get("probe") or {}
    ref = ref.get(name, [])
    out = {}
    for server, r in results.items():
        mine = (r.get("probe") or {}).get(name, [])
        if server == reference or not ref or not mine:
            continue
        same = sum(1 for a, b in zip(ref, mine) if a == b)
        out[server] = 100.0 * same / len(ref)
    return out


def policy_summary(results):
    """What each server answered for the weighted and failover names: the
    share of the first weighted target (configured WEIGHTED[0] of the total
    weight) and of the failover primary (should be 100 %)."""
    out = {}
    for server, r in results.items():
        p = r.get("probe") or {}
        w, fo = p.get("w", []), p.get("fo", [])
        if w and fo:
            out[server] = {"weighted_first_pct": 100.0 * w.count(WEIGHTED[0][0]) / len(w),
                           "failover_primary_pct": 100.0 * fo.count(FAILOVER[0]) / len(fo)}
    return out
