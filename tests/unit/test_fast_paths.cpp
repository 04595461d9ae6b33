// The query path's shortcuts give the same results as the general code:
// zone selection by comparing origins (few zones) against the suffix hash
// lookup (many zones), and name compression through the query-name slot
// and the length-filtered target table.
#include <doctest/doctest.h>

#include <cstring>
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

TEST_CASE("lower8 folds exactly the octets ascii_lower folds, in every lane") {
  // Every octet value in every lane, beside neighbours that are letters,
  // high-bit octets and length octets: a carry or borrow between lanes
  // would show up as a wrong neighbour.
  const std::uint8_t fill[] = {'A', 'z', 0x80, 0xDA, 0x3F, 0x00, '@', '['};
  for (std::uint8_t f : fill)
    for (unsigned lane = 0; lane < 8; ++lane)
      for (unsigned v = 0; v < 256; ++v) {
        std::uint8_t in[8], want[8], got[8];
        for (unsigned i = 0; i < 8; ++i) in[i] = i == lane ? static_cast<std::uint8_t>(v) : f;
        for (unsigned i = 0; i < 8; ++i) want[i] = ascii_lower(in[i]);
        std::uint64_t w;
        std::memcpy(&w, in, 8);
        w = lower8(w);
        std::memcpy(got, &w, 8);
        CAPTURE(v);
        CAPTURE(lane);
        CAPTURE(unsigned(f));
        REQUIRE(std::memcmp(got, want, 8) == 0);
      }
}

TEST_CASE("compression: a target matches whatever the letter case on either side") {
  std::uint8_t buf[512] = {};
  ResponseWriter w(buf, sizeof buf);
  const std::string q = wire("a.example.org.");
  w.put_bytes(std::string(12, '\0').data(), 12);
  w.put_bytes(q.data(), q.size());
  w.set_query_name(q, 12);
  // Mixed case, longer than 8 octets so both the 8-octet and the tail
  // comparison run: compresses fully onto "example.org." in the question.
  std::size_t at = w.size();
  const std::string mixed = wire("ExAmPlE.OrG."), other = wire("ExAmPlF.OrG.");  // outlive the message
  REQUIRE(w.put_name(mixed));
  CHECK(w.size() == at + 2);
  CHECK(buf[at + 1] == 12 + 2);
  // One letter different in the tail: only "org." is shared.
  at = w.size();
  REQUIRE(w.put_name(other));
  CHECK(w.size() == at + 8 + 2);
  CHECK(buf[at + 9] == 12 + 2 + 8);
}

// same_octets() reads words and an overlapping last word: every length from
// 0 to 48 and a difference at every position (and none) must agree with
// memcmp, with the data at every alignment.
TEST_CASE("same_octets agrees with memcmp for every length, position and alignment") {
  unsigned char a[64], b[64];
  int checked = 0;
  for (std::size_t align = 0; align < 8; ++align)
    for (std::size_t n = 0; n <= 48; ++n) {
      for (std::size_t i = 0; i < sizeof a; ++i) a[i] = b[i] = static_cast<unsigned char>(i * 7 + 1);
      CHECK(same_octets(a + align, b + align, n));
      for (std::size_t diff = 0; diff < n; ++diff) {
        b[align + diff] ^= 0x20;  // the case bit: what a wrong compare would most likely miss
        CHECK(same_octets(a + align, b + align, n) == (std::memcmp(a + align, b + align, n) == 0));
        CHECK_FALSE(same_octets(a + align, b + align, n));
        b[align + diff] ^= 0x20;
        ++checked;
      }
      // A difference just outside the range is not looked at.
      b[align + n] ^= 0xFF;
      CHECK(same_octets(a + align, b + align, n));
      b[align + n] ^= 0xFF;
    }
  CHECK(checked == 8 * 48 * 49 / 2);
}
