#include "server/explain.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fmt/format.h>

#include <cstring>

#include "geo/geoip_db.hpp"
#include "server/answer.hpp"
#include "server/wire.hpp"
#include "zones/health.hpp"
#include "zones/policy.hpp"
#include "zones/rdata.hpp"

// Last: ldns's C headers clash with <optional> when included first.
#include <ldns/ldns.h>

namespace meridian {

namespace {

class CollectTrace : public PolicyTrace {
 public:
  std::vector<std::string> lines;
  void note(std::string_view line) override { lines.emplace_back(line); }
};

std::string describe(const Location& l) {
  if (!l.found) return "not found";
  std::string s = l.continent[0] ? l.continent : "-";
  s += fmt::format(" / {}", l.country[0] ? l.country : "-");
  for (const auto& sub : l.subdivisions)
    if (sub[0]) s += fmt::format(" / {}", sub);
  if (l.has_coords) s += fmt::format(", {:.4f},{:.4f}", l.lat, l.lon);
  if (l.asn) s += fmt::format(", AS{}", l.asn);
  return s + fmt::format(" (network /{})", l.prefix_len);
}

// The query on the wire: header, question, and an OPT carrying the client
// as an ECS /32 or /128, the way a resolver would send it.
std::string build_query(const std::string& wire_name, std::uint16_t type, int family,
                                      const std::uint8_t* addr) {
  // std::string as the byte buffer: g++ 12 -O2 reports a false
  // -Warray-bounds for vector::insert after a brace-initialised vector.
  std::string q("\x4d\x45\0\0\0\1\0\0\0\0\0\1", 12);
  q += wire_name;
  auto put16 = [&](std::uint16_t v) {
    q.push_back(static_cast<char>(v >> 8));
    q.push_back(static_cast<char>(v));
  };
  put16(type);
  put16(wire::kClassIN);
  const std::size_t alen = family == AF_INET ? 4 : 16;
  q.push_back(0);  // OPT owner: root
  put16(rrtype::OPT);
  put16(4096);
  put16(0);
  put16(0);
  put16(static_cast<std::uint16_t>(8 + alen));
  put16(wire::kOptEcs);
  put16(static_cast<std::uint16_t>(4 + alen));
  put16(family == AF_INET ? 1 : 2);
  q.push_back(static_cast<char>(alen * 8));
  q.push_back(0);
  q.append(reinterpret_cast<const char*>(addr), alen);
  return q;
}

}  // namespace

bool explain_query(Runtime& rt, const std::string& name, const std::string& type, const std::string& client,
                   std::string& report, std::string& error) {
  auto qtype = rr_type_from_name(type);
  if (!qtype) {
    error = "unknown record type '" + type + "'";
    return false;
  }
  auto wire_name = name_from_text(name.back() == '.' ? name : name + ".", {}, &error);
  if (!wire_name) return false;
  sockaddr_storage from{};
  std::uint8_t addr[16] = {};
  int family = 0;
  if (inet_pton(AF_INET, client.c_str(), addr) == 1) {
    family = AF_INET;
    auto* sin = reinterpret_cast<sockaddr_in*>(&from);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, addr, 4);
  } else if (inet_pton(AF_INET6, client.c_str(), addr) == 1) {
    family = AF_INET6;
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&from);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, addr, 16);
  } else {
    error = "bad client address '" + client + "'";
    return false;
  }

  const ServerConfig& cfg = rt.config();
  report = fmt::format("query:   {} {} from client {} (sent as packet source and as ECS /{})\n",
                       name_to_text(*wire_name), rr_type_name(*qtype), client, family == AF_INET ? 32 : 128);
  report += "client location:\n";
  if (cfg.geoip_databases.empty()) report += "  (no [geoip] databases configured)\n";
  for (const auto& path : cfg.geoip_databases) {
    GeoIpDb one;
    std::string err;
    if (!one.open({path}, err)) {
      report += fmt::format("  {}: {}\n", path, err);
      continue;
    }
    auto info = one.info();
    report += fmt::format("  {} ({}): {}\n", path, info.empty() ? "?" : info[0].type,
                          describe(one.lookup(family, addr)));
  }

  CollectTrace trace;
  WorkerState ws;
  ws.rng ^= std::hash<std::string>{}(client);
  auto q = build_query(*wire_name, *qtype, family, addr);
  std::vector<std::uint8_t> out(kMaxMessage);
  ZoneSetPtr zones = rt.box().get();
  const std::size_t n = answer_query(*zones, cfg.answer, ws, reinterpret_cast<const std::uint8_t*>(q.data()), q.size(),
                                     QueryMeta{Transport::Tcp, reinterpret_cast<sockaddr*>(&from), &trace}, out.data());
  report += "policy:\n";
  if (trace.lines.empty()) report += "  (no routing policy on the way: static records)\n";
  for (const auto& l : trace.lines) report += "  " + l + "\n";

  auto health = HealthRegistry::global().list();
  report += "health:\n";
  if (health.empty()) report += "  (no checks)\n";
  for (const auto& e : health)
    report += fmt::format("  {}: {}{}{}\n", e.name, health_state_name(e.state),
                          e.override ? " (admin override)" : "",
                          e.reason.empty() ? std::string() : " (" + (e.type.empty() ? "" : e.type + ": ") + e.reason + ")");

  ldns_pkt* pkt = nullptr;
  if (n == 0 || ldns_wire2pkt(&pkt, out.data(), n) != LDNS_STATUS_OK) {
    report += "response: none (dropped)\n";
    return true;
  }
  char* rcode = ldns_pkt_rcode2str(ldns_pkt_get_rcode(pkt));
  int scope = -1;
  if (ldns_rdf* data = ldns_pkt_edns_data(pkt)) {
    const std::uint8_t* d = ldns_rdf_data(data);
    for (std::size_t i = 0; i + 4 <= ldns_rdf_size(data);) {
      std::uint16_t code = wire::get16(d + i), len = wire::get16(d + i + 2);
      if (code == wire::kOptEcs && len >= 4) scope = d[i + 7];
      i += 4 + len;
    }
  }
  report += fmt::format("response: {}{}, ECS scope /{}\n", rcode, ldns_pkt_aa(pkt) ? " (authoritative)" : "",
                        scope < 0 ? 0 : scope);
  free(rcode);
  for (ldns_pkt_section sec : {LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY}) {
    ldns_rr_list* l = ldns_pkt_get_section_clone(pkt, sec);
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(l); ++i) {
      char* s = ldns_rr2str(ldns_rr_list_rr(l, i));
      report += std::string("  ") + (sec == LDNS_SECTION_AUTHORITY ? "authority: " : "") + s;
      free(s);
    }
    ldns_rr_list_deep_free(l);
  }
  ldns_pkt_free(pkt);
  return true;
}

}  // namespace meridian
