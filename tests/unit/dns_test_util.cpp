#include "dns_test_util.hpp"

#include <doctest/doctest.h>

namespace meridian::test {

const char* const kTestZone = R"(
origin = "example.com."
ttl = 300
[soa]
mname = "ns1"
rname = "hostmaster"
serial = 7
minimum = 60
[records."@"]
NS = ["ns1", "ns2.example.net."]
MX = ["10 mail"]
[records.ns1]
A = "192.0.2.1"
[records.mail]
A = "192.0.2.25"
AAAA = "2001:db8::25"
[records.www]
A = ["192.0.2.10", "192.0.2.11", "192.0.2.12"]
[records.alias]
CNAME = "www"
[records.loop1]
CNAME = "loop2"
[records.loop2]
CNAME = "loop1"
[records."*.wild"]
A = "192.0.2.80"
[records."host.ent.wild"]
A = "192.0.2.81"
[records.sub]
NS = ["ns.sub"]
DS = "1 13 2 0011223344556677889900112233445566778899001122334455667788990011"
[records."ns.sub"]
A = "192.0.2.53"
[records.old]
DNAME = "example.com."
)";

ZoneSetPtr zones_from_toml(const std::vector<std::string>& texts) {
  auto set = std::make_shared<ZoneSet>();
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto r = load_toml_zone_text(texts[i], "zone" + std::to_string(i) + ".toml");
    for (const auto& e : r.errors) FAIL_CHECK(e.str());
    REQUIRE(r.zone);
    set->add(r.zone);
  }
  return set;
}

std::vector<std::uint8_t> make_query(const std::string& name, ldns_rr_type type, std::uint16_t edns_size, bool rd,
                                     ldns_rr_class klass) {
  ldns_rdf* owner = ldns_dname_new_frm_str(name.c_str());
  ldns_pkt* q = ldns_pkt_query_new(owner, type, klass, rd ? LDNS_RD : 0);
  ldns_pkt_set_id(q, 0x1234);
  if (edns_size) ldns_pkt_set_edns_udp_size(q, edns_size);
  uint8_t* wire = nullptr;
  size_t len = 0;
  ldns_pkt2wire(&wire, q, &len);
  std::vector<std::uint8_t> out(wire, wire + len);
  free(wire);
  ldns_pkt_free(q);
  return out;
}

Pkt ask(const ZoneSet& zs, const std::vector<std::uint8_t>& query, Transport t, const AnswerConfig& cfg) {
  static std::uint8_t out[kMaxMessage];
  WorkerState ws;
  std::size_t n = answer_query(zs, cfg, ws, query.data(), query.size(), t, out);
  if (n == 0) return nullptr;
  ldns_pkt* p = nullptr;
  REQUIRE(ldns_wire2pkt(&p, out, n) == LDNS_STATUS_OK);
  return Pkt(p);
}

Pkt ask(const ZoneSet& zs, const std::string& name, ldns_rr_type type, std::uint16_t edns_size) {
  return ask(zs, make_query(name, type, edns_size));
}

std::vector<std::string> section(const ldns_pkt* p, ldns_pkt_section s) {
  std::vector<std::string> out;
  ldns_rr_list* l = ldns_pkt_get_section_clone(p, s);
  for (size_t i = 0; i < ldns_rr_list_rr_count(l); ++i) {
    char* str = ldns_rr2str(ldns_rr_list_rr(l, i));
    std::string line(str);
    free(str);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    for (auto& c : line)
      if (c == '\t') c = ' ';
    out.push_back(line);
  }
  ldns_rr_list_deep_free(l);
  return out;
}

}  // namespace meridian::test
