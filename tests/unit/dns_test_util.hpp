#pragma once
// Helpers for unit tests of the query path: build queries and parse
// responses with ldns (an independent implementation of the wire format).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "server/answer.hpp"
#include "zones/toml_loader.hpp"
#include "zones/zone_set.hpp"

// Last: ldns's C headers break <optional>'s operator<=> when included first.
#include <ldns/ldns.h>

namespace meridian::test {

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

// Zone set from TOML texts; fails the test on load errors.
ZoneSetPtr zones_from_toml(const std::vector<std::string>& texts);

// Wire query for name/type, with EDNS (payload size) when edns_size > 0.
std::vector<std::uint8_t> make_query(const std::string& name, ldns_rr_type type, std::uint16_t edns_size = 1232,
                                     bool rd = false, ldns_rr_class klass = LDNS_RR_CLASS_IN);

// Runs the answer path and parses the response (null if dropped).
Pkt ask(const ZoneSet& zs, const std::vector<std::uint8_t>& query, Transport t = Transport::Udp,
        const AnswerConfig& cfg = {});
Pkt ask(const ZoneSet& zs, const std::string& name, ldns_rr_type type, std::uint16_t edns_size = 1232);

// Presentation strings of a section's RRs ("www.example.com. 300 IN A 192.0.2.1").
std::vector<std::string> section(const ldns_pkt* p, ldns_pkt_section s);

// A small zone exercising every lookup case, used by several tests.
extern const char* const kTestZone;

}  // namespace meridian::test
