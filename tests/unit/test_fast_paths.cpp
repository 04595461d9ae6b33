// The query path's shortcuts give the same results as the general code:
// zone selection by comparing origins (few zones) against the suffix hash
// lookup (many zones), and name compression through the query-name slot
// and the length-filtered target table.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dns_test_util.hpp"
#include "server/response_writer.hpp"
#include "zone_test_util.hpp"
#include "zones/name.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {

std::string origin_of(const ZoneSet& set, const std::string& qname) {
  const Zone* z = set.find_for(qname == "." ? std::string(1, '\0') : wire(qname));
  return z ? z->origin_text : "-";
}

// Zones example.com., sub.example.com. and `extra` more unrelated ones.
ZoneSetPtr nested_zones(int extra) {
  std::vector<std::string> texts = {kHead, bare_zone("sub.example.com.") + "[records.ns1]\nA = \"192.0.2.2\"\n"};
  for (int i = 0; i < extra; ++i)
    texts.push_back(bare_zone("z" + std::to_string(i) + ".test.") + "[records.ns1]\nA = \"192.0.2.3\"\n");
  return zones_from_toml(texts);
}

}  // namespace

TEST_CASE("zone selection: the origin comparison and the hash lookup agree") {
  auto few = nested_zones(0);    // 2 zones: compared directly
  auto many = nested_zones(10);  // 12 zones: suffix hash lookup
  REQUIRE(few->zones.size() <= ZoneSet::kLinearZones);
  REQUIRE(many->zones.size() > ZoneSet::kLinearZones);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"www.example.com.", "example.com."},
      {"example.com.", "example.com."},
      {"sub.example.com.", "sub.example.com."},          // the longer origin wins
      {"a.b.sub.example.com.", "sub.example.com."},
      {"xsub.example.com.", "example.com."},             // same tail bytes, not a label boundary
      {"ub.example.com.", "example.com."},
      {"example.org.", "-"},
      {"com.", "-"},
      {"wwwexample.com.", "-"},                          // "example.com" inside a label
      {".", "-"},
  };
  // Not a structured binding: CAPTURE is a lambda, and clang before 16
  // cannot capture one (a build error with clang-14, MERIDIAN_FUZZ).
  for (const auto& c : cases) {
    const auto& q = c.first;
    const auto& want = c.second;
    CAPTURE(q);
    CHECK(origin_of(*few, q) == want);
    CHECK(origin_of(*many, q) == want);
  }
}

TEST_CASE("compression: the query name slot and length-filtered targets") {
  std::uint8_t buf[512] = {};
  ResponseWriter w(buf, sizeof buf);
  // A question for WWW.Example.COM (case kept), as the assembler echoes it.
  const std::string q = wire("www.example.com.");
  std::string asked = q;
  asked[1] = 'W';
  asked[5] = 'E';
  w.put_bytes(std::string(12, '\0').data(), 12);
  w.put_bytes(asked.data(), asked.size());
  w.put_u16(1);
  w.put_u16(1);
  w.remember_name(12);
  w.set_query_name(q, 12);
  const std::size_t after_question = w.size();

  // The same string_view: a bare pointer to offset 12.
  REQUIRE(w.put_name(q));
  CHECK(w.size() == after_question + 2);
  CHECK(buf[after_question] == 0xC0);
  CHECK(buf[after_question + 1] == 12);

  // Equal bytes elsewhere (not the registered view) still compress to the
  // question through the target table.
  const std::string copy = q;
  std::size_t at = w.size();
  REQUIRE(w.put_name(copy));
  CHECK(w.size() == at + 2);
  CHECK(buf[at + 1] == 12);

  // Same length as "example.com." but different labels: no false match;
  // the common suffix "com." is used.
  const std::string other = wire("elpmaxe.com.");
  at = w.size();
  REQUIRE(w.put_name(other));
  CHECK(w.size() == at + 8 + 2);  // "\7elpmaxe" then a pointer to "com."
  CHECK(buf[at + 8] == 0xC0);
  CHECK(buf[at + 9] == 12 + 4 + 8);  // "com" in the question

  // A name compressed onto an earlier compressed one: "x.elpmaxe.com."
  // points at the copy of "elpmaxe" just written.
  const std::string deeper = wire("x.elpmaxe.com.");
  const std::size_t elpmaxe_at = at;
  at = w.size();
  REQUIRE(w.put_name(deeper));
  CHECK(w.size() == at + 2 + 2);
  CHECK(buf[at + 3] == elpmaxe_at);

  // Rollback forgets targets written after the mark.
  auto m = w.mark();
  REQUIRE(w.put_name(wire("new.name.")));
  w.rollback(m);
  at = w.size();
  REQUIRE(w.put_name(wire("new.name.")));
  CHECK(w.size() == at + 10);  // written in full again, not pointing past the end
}

TEST_CASE("answers through the shortcuts decompress to the right names") {
  auto set = zones_from_toml({kHead + R"([records.www]
A = ["192.0.2.10", "192.0.2.11"]
MX = ["10 mail"]
[records.mail]
A = "192.0.2.25"
)"});
  for (const char* qname : {"www.example.com.", "WwW.ExAmPlE.cOm."}) {
    CAPTURE(qname);
    Pkt p = ask(*set, make_query(qname, LDNS_RR_TYPE_MX));
    REQUIRE(p);
    ldns_rr_list* an = ldns_pkt_answer(p.get());
    REQUIRE(ldns_rr_list_rr_count(an) == 1);
    char* owner = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(an, 0)));
    CHECK(names_equal(wire(owner), wire("www.example.com.")));
    char* exch = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(an, 0), 1));
    // Compressed onto the question, so in its case (names compare without case).
    CHECK(names_equal(wire(exch), wire("mail.example.com.")));
    free(owner);
    free(exch);
  }
}
