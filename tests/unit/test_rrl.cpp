// Response rate limiting: the token bucket with a fake clock (burst, steady
// rate, debt and window, slip), client prefixes, how responses are
// classified, the truncated form of a slipped response, exemptions.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "dns_test_util.hpp"
#include "server/rrl.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {

constexpr std::uint64_t kSecond = 1000000;  // the table's clock is in microseconds
constexpr std::uint64_t kStart = 1000 * kSecond;

sockaddr_storage addr(const char* text) {
  sockaddr_storage ss{};
  if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in&>(ss).sin_addr) == 1) {
    ss.ss_family = AF_INET;
  } else {
    REQUIRE(inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6&>(ss).sin6_addr) == 1);
    ss.ss_family = AF_INET6;
  }
  return ss;
}
const sockaddr* sa(const sockaddr_storage& s) { return reinterpret_cast<const sockaddr*>(&s); }

RrlConfig config(unsigned rate, unsigned slip = 2, unsigned window = 15) {
  RrlConfig c;
  c.enabled = true;
  c.responses_per_second = rate;
  c.slip = slip;
  c.window = window;
  c.table_size = 4096;
  return c;
}

struct Tally {
  int send = 0, drop = 0, slip = 0;
  void add(RrlVerdict v) { (v == RrlVerdict::Send ? send : v == RrlVerdict::Drop ? drop : slip)++; }
};

// `n` responses for one account at `now`.
Tally burst(RrlTable& t, std::uint64_t key, int n, std::uint64_t now) {
  Tally r;
  for (int i = 0; i < n; ++i) r.add(t.account(key, now));
  return r;
}

// The response answer_query() gives to `name`/`type` (UDP, with EDNS).
std::vector<std::uint8_t> response(const ZoneSet& zs, const std::string& name, ldns_rr_type type) {
  auto q = make_query(name, type);
  std::vector<std::uint8_t> out(kMaxMessage);
  WorkerState ws;
  out.resize(answer_query(zs, AnswerConfig{}, ws, q.data(), q.size(), Transport::Udp, out.data()));
  REQUIRE(out.size() > 0);
  return out;
}

RrlClass classify(const ZoneSet& zs, const std::string& name, ldns_rr_type type) {
  auto r = response(zs, name, type);
  RrlClass c;
  CHECK(rrl_classify(r.data(), r.size(), c));
  return c;
}

}  // namespace

TEST_CASE("rrl: a burst of `rate` responses, then every 2nd limited one slips") {
  RrlCounters counters;
  RrlTable t(config(10), counters, 1);
  Tally r = burst(t, 42, 30, kStart);
  CHECK(r.send == 10);
  CHECK(r.slip == 10);
  CHECK(r.drop == 10);
}

TEST_CASE("rrl: a client at the rate is never limited; twice the rate soon gets nothing but slips") {
  RrlCounters counters;
  RrlTable t(config(10), counters, 1);
  Tally steady;
  for (int i = 0; i < 200; ++i) steady.add(t.account(7, kStart + i * kSecond / 10));  // 10/s for 20 s
  CHECK(steady.send == 200);

  // 20/s for 20 s: the 10-response burst plus 1 s of refill while it drains,
  // then nothing: limited responses add debt too, so it never clears (BIND's
  // design; without that debt the flood would get 10 + 20 s x 10 = 210).
  Tally flood;
  for (int i = 0; i < 400; ++i) flood.add(t.account(8, kStart + i * kSecond / 20));
  CHECK(flood.send >= 19);
  CHECK(flood.send <= 21);
  CHECK(flood.slip + flood.drop == 400 - flood.send);
  CHECK(flood.slip == doctest::Approx((400 - flood.send) / 2.0).epsilon(0.02));
}

TEST_CASE("rrl: after a flood the client is limited until it has been quiet for about `window` seconds") {
  RrlCounters counters;
  RrlTable t(config(10, 0, 5), counters, 1);
  const Tally r = burst(t, 9, 1000, kStart);  // debt far beyond the window
  CHECK(r.send == 10);
  CHECK(r.slip == 0);  // slip = 0: every limited response is dropped
  CHECK(t.account(9, kStart + 4 * kSecond) == RrlVerdict::Drop);
  // The debt is capped at window + 1 s of responses; the probe above added
  // 100 ms more. 6.2 s after the flood the bucket holds a token again.
  CHECK(t.account(9, kStart + 6 * kSecond + kSecond / 5) == RrlVerdict::Send);
}

TEST_CASE("rrl: slip = 1 truncates every limited response; accounts are independent") {
  RrlCounters counters;
  RrlTable t(config(5, 1), counters, 1);
  Tally a = burst(t, 100, 20, kStart);
  CHECK(a.send == 5);
  CHECK(a.slip == 15);
  CHECK(a.drop == 0);
  Tally b = burst(t, 200, 5, kStart);  // another account is untouched by the first
  CHECK(b.send == 5);
}

TEST_CASE("rrl: clients in one prefix share an account; other prefixes and kinds do not") {
  RrlCounters counters;
  RrlConfig cfg = config(10);
  cfg.ipv6_prefix = 56;
  RrlTable t(cfg, counters, 12345);
  RrlClass pos;
  pos.kind = RrlKind::Positive;
  pos.qtype = 1;
  pos.name_hash = 99;
  const auto k = [&](const char* a, const RrlClass& c) { return t.key(sa(addr(a)), c); };
  CHECK(k("192.0.2.1", pos) == k("192.0.2.200", pos));
  CHECK(k("192.0.2.1", pos) != k("192.0.3.1", pos));
  CHECK(k("192.0.2.1", pos) == k("::ffff:192.0.2.7", pos));  // IPv4-mapped is IPv4
  CHECK(k("2001:db8:0:100::1", pos) == k("2001:db8:0:1ff:ffff::2", pos));
  CHECK(k("2001:db8:0:100::1", pos) != k("2001:db8:0:200::1", pos));
  RrlClass other_type = pos, other_name = pos, nx = pos;
  other_type.qtype = 28;
  other_name.name_hash = 100;
  nx.kind = RrlKind::NxDomain;
  CHECK(k("192.0.2.1", pos) != k("192.0.2.1", other_type));
  CHECK(k("192.0.2.1", pos) != k("192.0.2.1", other_name));
  CHECK(k("192.0.2.1", pos) != k("192.0.2.1", nx));
  // Another seed, other keys: collisions cannot be aimed across servers.
  RrlTable t2(cfg, counters, 777);
  CHECK(t.key(sa(addr("192.0.2.1")), pos) != t2.key(sa(addr("192.0.2.1")), pos));
}

TEST_CASE("rrl: responses are classified by kind and keyed on the right name") {
  auto zs = zones_from_toml({kTestZone});
  const RrlClass www = classify(*zs, "www.example.com.", LDNS_RR_TYPE_A);
  CHECK(www.kind == RrlKind::Positive);
  CHECK(www.qtype == LDNS_RR_TYPE_A);
  CHECK(classify(*zs, "WWW.Example.COM.", LDNS_RR_TYPE_A).name_hash == www.name_hash);  // case-folded
  CHECK(classify(*zs, "mail.example.com.", LDNS_RR_TYPE_A).name_hash != www.name_hash);
  // Case folding in long labels (hashed 8 bytes at a time) and bytes that
  // only differ from letters by 0x20 outside A-Z ('@' vs '`', '[' vs '{').
  // (Names under *.wild are positive answers, keyed on the query name.)
  const RrlClass upper = classify(*zs, "ABCDEFGHIJKLMNOPQRSTUVWXYZ.wild.example.com.", LDNS_RR_TYPE_A);
  CHECK(upper.kind == RrlKind::Positive);
  CHECK(upper.name_hash == classify(*zs, "abcdefghijklmnopqrstuvwxyz.wild.example.com.", LDNS_RR_TYPE_A).name_hash);
  CHECK(upper.name_hash != classify(*zs, "abcdefghijklmnopqrstuvwxyy.wild.example.com.", LDNS_RR_TYPE_A).name_hash);
  CHECK(classify(*zs, "a@b.wild.example.com.", LDNS_RR_TYPE_A).name_hash !=
        classify(*zs, "a`b.wild.example.com.", LDNS_RR_TYPE_A).name_hash);
  CHECK(classify(*zs, "a[b.wild.example.com.", LDNS_RR_TYPE_A).name_hash !=
        classify(*zs, "a{b.wild.example.com.", LDNS_RR_TYPE_A).name_hash);

  // NXDOMAIN: per zone, whatever the (random) name.
  const RrlClass nx1 = classify(*zs, "nope.example.com.", LDNS_RR_TYPE_A);
  const RrlClass nx2 = classify(*zs, "x7f3q.example.com.", LDNS_RR_TYPE_AAAA);
  CHECK(nx1.kind == RrlKind::NxDomain);
  CHECK(nx2.kind == RrlKind::NxDomain);
  CHECK(nx1.name_hash == nx2.name_hash);
  CHECK(nx1.name_hash != www.name_hash);

  // NODATA: per name and type.
  const RrlClass nodata = classify(*zs, "www.example.com.", LDNS_RR_TYPE_TXT);
  CHECK(nodata.kind == RrlKind::Nodata);
  CHECK(nodata.name_hash == www.name_hash);
  CHECK(nodata.qtype == LDNS_RR_TYPE_TXT);

  // Referral: per delegation.
  const RrlClass ref1 = classify(*zs, "www.sub.example.com.", LDNS_RR_TYPE_A);
  const RrlClass ref2 = classify(*zs, "other.sub.example.com.", LDNS_RR_TYPE_MX);
  CHECK(ref1.kind == RrlKind::Referral);
  CHECK(ref1.name_hash == ref2.name_hash);
  CHECK(ref1.name_hash != nx1.name_hash);

  // Errors: per client only.
  const RrlClass refused = classify(*zs, "www.example.org.", LDNS_RR_TYPE_A);
  CHECK(refused.kind == RrlKind::Error);
  CHECK(refused.name_hash == 0);
  CHECK(classify(*zs, "zz.example.net.", LDNS_RR_TYPE_A).name_hash == 0);

  // A CNAME chain ending in NXDOMAIN is still accounted to the zone.
  const std::string chain = std::string(kTestZone) + "[records.dangling]\nCNAME = \"missing\"\n";
  auto zs2 = zones_from_toml({chain});
  const RrlClass dangling = classify(*zs2, "dangling.example.com.", LDNS_RR_TYPE_A);
  CHECK(dangling.kind == RrlKind::NxDomain);
  CHECK(dangling.name_hash == classify(*zs2, "nope.example.com.", LDNS_RR_TYPE_A).name_hash);
}

TEST_CASE("rrl: malformed bytes are classified as errors without reading out of bounds") {
  RrlClass c;
  const std::uint8_t short_msg[] = {0x12, 0x34, 0x84, 0x00};
  CHECK_FALSE(rrl_classify(short_msg, sizeof short_msg, c));
  // A positive answer whose question name is a compression pointer to itself.
  const std::uint8_t loop[] = {0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1};
  CHECK_FALSE(rrl_classify(loop, sizeof loop, c));
  // A label running past the end.
  const std::uint8_t past[] = {0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0, 40, 'a', 'b'};
  CHECK_FALSE(rrl_classify(past, sizeof past, c));
}

TEST_CASE("rrl: filter sends, drops, or rewrites a slipped response to an empty TC=1 one") {
  auto zs = zones_from_toml({kTestZone});
  RrlCounters counters;
  RrlTable t(config(2, 2), counters, 5);
  const auto client = addr("198.51.100.7");
  int sent = 0, dropped = 0, slipped = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = response(*zs, "www.example.com.", LDNS_RR_TYPE_A);
    const std::size_t full = r.size();
    const std::size_t n = t.filter(sa(client), r.data(), r.size(), kStart);
    if (n == full) {
      ++sent;
    } else if (n == 0) {
      ++dropped;
    } else {
      ++slipped;
      ldns_pkt* p = nullptr;
      REQUIRE(ldns_wire2pkt(&p, r.data(), n) == LDNS_STATUS_OK);
      Pkt pkt(p);
      CHECK(ldns_pkt_tc(p));
      CHECK(ldns_pkt_qr(p));
      CHECK(ldns_pkt_id(p) == 0x1234);  // make_query's id, kept
      CHECK(ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR);
      CHECK(ldns_pkt_qdcount(p) == 1);
      CHECK(ldns_pkt_ancount(p) == 0);
      CHECK(ldns_pkt_nscount(p) == 0);
      CHECK(ldns_pkt_arcount(p) == 0);
      CHECK(section(p, LDNS_SECTION_QUESTION) == std::vector<std::string>{"www.example.com. IN A"});
    }
  }
  CHECK(sent == 2);
  CHECK(dropped == 2);
  CHECK(slipped == 2);
  CHECK(counters.snapshot().dropped == 2);
  CHECK(counters.snapshot().slipped == 2);
}

TEST_CASE("rrl: exempt networks are never limited") {
  auto zs = zones_from_toml({kTestZone});
  RrlConfig cfg = config(1, 0);
  std::string error;
  cfg.exempt.push_back(*parse_cidr("203.0.113.0/24", error));
  RrlCounters counters;
  RrlTable t(cfg, counters, 5);
  auto r = response(*zs, "www.example.com.", LDNS_RR_TYPE_A);
  int exempt_sent = 0, other_sent = 0;
  for (int i = 0; i < 50; ++i) {
    auto a = r, b = r;
    exempt_sent += t.filter(sa(addr("203.0.113.9")), a.data(), a.size(), kStart) == r.size();
    other_sent += t.filter(sa(addr("192.0.2.9")), b.data(), b.size(), kStart) == r.size();
  }
  CHECK(exempt_sent == 50);
  CHECK(other_sent == 1);
}

TEST_CASE("rrl: a full table evicts recovered accounts first and counts evicted limited ones") {
  RrlConfig cfg = config(1, 0);
  cfg.table_size = 1024;
  RrlCounters counters;
  RrlTable t(cfg, counters, 3);
  CHECK(t.capacity() == 1024);
  // 4096 accounts, each limited at once: more than fit, so limited accounts are pushed out.
  for (std::uint64_t k = 0; k < 4096; ++k) burst(t, k * 0x9E3779B97F4A7C15ull, 3, kStart);
  CHECK(counters.snapshot().evictions > 0);
  // Accounts whose time has passed are replaced without counting an eviction.
  const std::uint64_t before = counters.snapshot().evictions;
  for (std::uint64_t k = 0; k < 4096; ++k) t.account(k * 0xC2B2AE3D27D4EB4Full, kStart + 100 * kSecond);
  CHECK(counters.snapshot().evictions == before);
}

TEST_CASE("rrl: per-worker stats add up") {
  std::vector<RrlStats> w{{1, 2, 3}, {10, 20, 30}};
  const RrlStats s = sum(w);
  CHECK(s.dropped == 11);
  CHECK(s.slipped == 22);
  CHECK(s.evictions == 33);
}
