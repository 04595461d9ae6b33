// Bytes as a query: the real parser and answer path (answer_query) against
// the example zones (weighted, failover, geolocation, multivalue, CNAME
// chains, wildcards, DNAME, a delegation, a large RRset) with the GeoIP test
// fixture. Every response must parse back with ldns (an independent reader
// of the wire format), carry the query's ID with QR set, fit the UDP size
// the query allows, and say FORMERR/NOTIMP when the parser said so.
//
// Input layout: byte 0 selects the transport (bit 0: TCP) and the packet
// source (bit 1: IPv6; the next bits pick one of the fixture's networks, so
// geolocation by source address is exercised). The rest is one UDP datagram,
// or a TCP byte stream of 2-byte length-prefixed messages, answered in
// order as server/tcp_conn.cpp does.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "geo/regions.hpp"
#include "server/answer.hpp"
#include "server/config.hpp"
#include "server/query_parser.hpp"
#include "server/wire.hpp"
#include "zones/zone_set.hpp"

// Last: ldns's C headers break <optional> when included first.
#include <ldns/ldns.h>

namespace {

using namespace meridian;

[[noreturn]] void fail(const char* what, const Diagnostics& errors) {
  std::fprintf(stderr, "fuzz_answer: cannot load %s\n", what);
  for (const auto& e : errors) std::fprintf(stderr, "  %s\n", e.str().c_str());
  std::abort();
}

struct World {
  ZoneSetPtr zones;
  AnswerConfig cfg;
};

const World& world() {
  static const World w = [] {
    World x;
    // The example config: its regions (the latency policy needs them) and
    // checks, as `meridian serve --config examples/meridian.toml` loads them.
    ServerConfig sc;
    Diagnostics errors;
    if (!load_config(MERIDIAN_SOURCE_DIR "/examples/meridian.toml", sc, errors)) fail("examples/meridian.toml", errors);
    RegionRegistry::global().set(sc.regions);
    ZoneDirOptions opts;
    opts.server_checks = &sc.checks;
    auto set = load_zone_dir(sc.zones_dir, errors, opts);
    if (!set || set->zones.empty() || !errors.empty()) fail("examples/zones", errors);
    auto geo = std::make_shared<GeoIpDb>();
    std::string error;
    if (!geo->open({MERIDIAN_FIXTURE_MMDB}, error)) std::abort();
    x.cfg.identity = "fuzz-ns";  // NSID and CHAOS answers on
    x.cfg.version = "meridian-fuzz";
    x.cfg.geo = geo;
    x.zones = std::move(set);
    return x;
  }();
  return w;
}

void check_response(const std::uint8_t* query, std::size_t qlen, const std::uint8_t* resp, std::size_t rlen,
                    Transport t) {
  const World& w = world();
  ParsedQuery pq;
  const ParseStatus st = parse_query(query, qlen, pq);
  if (rlen == 0) return;  // dropped: always allowed
  if (rlen > kMaxMessage || rlen < wire::kHeaderLen) std::abort();
  if (st == ParseStatus::Drop) std::abort();  // the parser said drop, yet we answered
  if (t == Transport::Udp) {
    std::size_t limit = 512;
    if (st == ParseStatus::Ok && pq.edns) limit = std::max<std::size_t>(512, std::min<std::size_t>(pq.edns_udp_size, w.cfg.udp_payload));
    else if (st != ParseStatus::Ok) limit = std::max<std::size_t>(512, w.cfg.udp_payload);
    if (rlen > limit) std::abort();
  }
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, resp, rlen) != LDNS_STATUS_OK) std::abort();
  std::unique_ptr<ldns_pkt, void (*)(ldns_pkt*)> pkt(p, ldns_pkt_free);
  if (!ldns_pkt_qr(p)) std::abort();
  if (ldns_pkt_id(p) != wire::get16(query)) std::abort();
  if (st == ParseStatus::FormErr && ldns_pkt_get_rcode(p) != LDNS_RCODE_FORMERR) std::abort();
  if (st == ParseStatus::NotImp && ldns_pkt_get_rcode(p) != LDNS_RCODE_NOTIMPL) std::abort();
}

void answer_one(const std::uint8_t* q, std::size_t len, Transport t, const sockaddr* from, WorkerState& ws) {
  static std::uint8_t out[kMaxMessage];
  const World& w = world();
  const std::size_t n = answer_query(*w.zones, w.cfg, ws, q, len, QueryMeta{t, from, nullptr}, out);
  check_response(q, len, out, n, t);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  ++data;
  --size;
  // A source in one of the fixture's networks (127.0.1-7.x) or, for IPv6,
  // ::1 or an address of the documentation range.
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(5353);
  v4.sin_addr.s_addr = htonl(0x7f000001u | (((mode >> 2) & 7u) << 8));
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(5353);
  inet_pton(AF_INET6, (mode & 4) ? "2001:db8::1" : "::1", &v6.sin6_addr);
  const sockaddr* from = (mode & 2) ? reinterpret_cast<const sockaddr*>(&v6) : reinterpret_cast<const sockaddr*>(&v4);
  WorkerState ws;
  ws.rng ^= mode;
  if (!(mode & 1)) {
    answer_one(data, size, Transport::Udp, from, ws);
    return 0;
  }
  // TCP: as tcp_conn.cpp, a frame shorter than a header ends the stream.
  for (std::size_t off = 0; size - off >= 2;) {
    const std::size_t len = wire::get16(data + off);
    if (len < wire::kHeaderLen || size - off - 2 < len) break;
    answer_one(data + off + 2, len, Transport::Tcp, from, ws);
    off += 2 + len;
  }
  return 0;
}
