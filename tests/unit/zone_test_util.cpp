#include "zone_test_util.hpp"

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "zones/name.hpp"

namespace meridian::test {

using namespace std::string_literals;

std::string bare_zone(const std::string& origin) {
  return "origin = \"" + origin + "\"\n" + R"([soa]
mname = "ns1"
rname = "h"
serial = 1
[records."@"]
NS = "ns1"
)";
}

const std::string kOrigin = "\x07" "example\x03" "com\x00"s;

std::string wire(const std::string& text) { return *name_from_text(text, kOrigin, nullptr); }

std::string all_errors(const Diagnostics& d) {
  std::string s;
  for (const auto& e : d) s += e.str() + "\n";
  return s;
}

bool has_error(const Diagnostics& d, std::uint32_t line, const std::string& text, ErrorScope scope) {
  for (const auto& e : d)
    if (e.loc.line == line && (!scope.with_column || e.loc.col > 0) && e.message.find(text) != std::string::npos &&
        (scope.file.empty() || e.loc.file == scope.file))
      return true;
  return false;
}

Loaded load_rrset_as(const std::string& file, const std::string& text, const std::string& owner,
                     std::uint16_t type) {
  auto r = load_toml_zone_text(kHead + text, file);
  INFO(all_errors(r.errors));
  REQUIRE(r.zone);
  Loaded l;
  l.zone = r.zone;
  auto name = name_from_text(owner, kOrigin, nullptr);
  const Node* n = r.zone->find(lowered(*name));
  REQUIRE(n);
  l.rs = n->find(type);
  REQUIRE(l.rs);
  return l;
}

Loaded load_policy_rrset(const std::string& file, const std::string& text, const std::string& owner,
                         std::uint16_t type) {
  Loaded l = load_rrset_as(file, text, owner, type);
  REQUIRE(l.rs->policy);
  return l;
}

void set(const std::string& check, HealthState s) { HealthRegistry::global().set(check, s); }

PolicyOutput run_policy(const RRset& rs, const PolicyInput& in) {
  PolicyOutput out;
  out.count = 77;
  out.degraded = true;
  rs.policy->select(in, out);
  return out;
}

std::string Lines::all() const {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

Location where(const char* continent, const char* country, std::vector<const char*> subs, std::uint32_t asn,
               std::uint8_t prefix) {
  Location l;
  l.found = true;
  code(l.continent, continent);
  code(l.country, country);
  for (std::size_t i = 0; i < subs.size() && i < 2; ++i) code(l.subdivisions[i], subs[i]);
  l.asn = asn;
  l.prefix_len = prefix;
  return l;
}

Location with_coords(Location l, double lat, double lon) {
  l.has_coords = true;
  l.lat = static_cast<float>(lat);
  l.lon = static_cast<float>(lon);
  return l;
}

ClientInfo client(const char* addr, const Location& loc, std::uint8_t source) {
  ClientInfo c;
  if (inet_pton(AF_INET, addr, c.addr) == 1) c.family = AF_INET;
  else if (inet_pton(AF_INET6, addr, c.addr) == 1) c.family = AF_INET6;
  REQUIRE(c.family);
  c.source_prefix = source ? source : (c.family == AF_INET ? 32 : 128);
  c.from_ecs = source != 0;
  c.set_location(loc);
  return c;
}

std::string doc_toml_example(const std::string& heading) {
  std::ifstream in(std::string(MERIDIAN_SOURCE_DIR) + "/docs/zone-format.md");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  const auto section = doc.find(heading);
  REQUIRE(section != std::string::npos);
  const auto begin = doc.find("```toml\n", section);
  REQUIRE(begin != std::string::npos);
  const auto end = doc.find("```\n", begin + 8);
  return doc.substr(begin + 8, end - begin - 8);
}

}  // namespace meridian::test
