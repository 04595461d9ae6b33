// geolocation: the target whose `match` is the most specific one that fits
// the client: CIDR (longest prefix first), then autonomous system, then
// subdivision (the deeper level first), then country, then continent, then
// "*". When that target is down, the next less specific matching target
// that is up (as Route 53 does), degraded; when no matching target is up,
// the most specific match anyway (fail open, degraded). No match and no "*":
// no records (the server answers NODATA).
//
// ECS scope (RFC 7871 section 7.2.1). The answer must be the same for every
// address that shares the first `scope` bits with the client, so the scope
// is the largest of:
//  - for each CIDR of the client's family (and IPv4 CIDRs for an IPv4-mapped
//    IPv6 client, counted in IPv6 bits): its prefix length when it holds
//    the client, else (common prefix length with the client + 1), the
//    shortest prefix whose block lies outside it. Every address in the
//    block then matches exactly the same CIDRs;
//  - when the decision looked at the GeoIP location (no CIDR target that
//    holds the client is up): the prefix of the database network the
//    location came from (Location::prefix_len; the full source prefix when
//    the databases give none), within which every field is the same.
// A policy without CIDRs and without location matches ("*" only) notes
// nothing. Health is not a function of the address, so it does not enter.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "geo/client.hpp"
#include "geo/location.hpp"
#include "zones/policy_impl.hpp"

namespace meridian::policy {

namespace {

// ISO 3166-1 alpha-2 (officially assigned), plus XK (Kosovo, used by the
// GeoIP databases) and AN (Netherlands Antilles, deleted in 2010 but still in
// older data).
constexpr std::string_view kCountries =
    "AD AE AF AG AI AL AM AN AO AQ AR AS AT AU AW AX AZ "
    "BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ "
    "CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ "
    "DE DJ DK DM DO DZ "
    "EC EE EG EH ER ES ET "
    "FI FJ FK FM FO FR "
    "GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY "
    "HK HM HN HR HT HU "
    "ID IE IL IM IN IO IQ IR IS IT "
    "JE JM JO JP "
    "KE KG KH KI KM KN KP KR KW KY KZ "
    "LA LB LC LI LK LR LS LT LU LV LY "
    "MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ "
    "NA NC NE NF NG NI NL NO NP NR NU NZ "
    "OM "
    "PA PE PF PG PH PK PL PM PN PR PS PT PW PY "
    "QA "
    "RE RO RS RU RW "
    "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ "
    "TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ "
    "UA UG UM US UY UZ "
    "VA VC VE VG VI VN VU "
    "WF WS "
    "XK "
    "YE YT "
    "ZA ZM ZW";

constexpr std::string_view kContinents = "AF AN AS EU NA OC SA";
// Continent codes that are also country codes.
constexpr std::string_view kAmbiguous = "AF AN AS NA SA";

bool in_list(std::string_view list, std::string_view code) {
  if (code.size() != 2) return false;
  for (std::size_t i = 0; i + 2 <= list.size(); i += 3)
    if (list.substr(i, 2) == code) return true;
  return false;
}

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& ch : u) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return u;
}

bool all_of(std::string_view s, int (*pred)(int)) {
  if (s.empty()) return false;
  for (char ch : s)
    if (!pred(static_cast<unsigned char>(ch))) return false;
  return true;
}

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

constexpr const char* kSyntax =
    "expected a continent (\"EU\"), a country (\"JP\"), a subdivision (\"US-CA\"), an autonomous system "
    "(\"AS7018\"), a CIDR (\"10.0.0.0/8\", \"2001:db8::/32\") or \"*\"";

bool set_country(GeoMatch& m, std::string_view code, std::string_view original, std::string& error) {
  const std::string cc = upper(code);
  if (cc.size() != 2 || !all_of(cc, isalpha)) {
    error = "bad country code " + q(original) + " (two letters, ISO 3166-1, e.g. \"JP\")";
    return false;
  }
  if (cc == "UK") {
    error = "unknown country code 'UK': the United Kingdom is \"GB\" (ISO 3166-1)";
    return false;
  }
  if (!in_list(kCountries, cc)) {
    if (in_list(kContinents, cc))
      error = q(cc) + " is a continent code, not a country (write \"continent:" + cc + "\")";
    else
      error = "unknown country code " + q(original) + " (not an ISO 3166-1 alpha-2 code)";
    return false;
  }
  std::memcpy(m.country, cc.data(), 2);
  return true;
}

bool parse_continent(GeoMatch& m, std::string_view code, std::string_view original, std::string& error) {
  const std::string cc = upper(code);
  if (!in_list(kContinents, cc)) {
    error = "unknown continent code " + q(original) + " (expected AF, AN, AS, EU, NA, OC or SA)";
    return false;
  }
  m.kind = GeoMatch::Kind::Continent;
  std::memcpy(m.continent, cc.data(), 2);
  m.text = "continent:" + cc;
  return true;
}

bool parse_country(GeoMatch& m, std::string_view code, std::string_view original, std::string& error) {
  if (!set_country(m, code, original, error)) return false;
  m.kind = GeoMatch::Kind::Country;
  m.text = "country:" + std::string(m.country);
  return true;
}

// "US-CA": a country, '-', 1 to 3 letters or digits (ISO 3166-2).
bool parse_subdivision(GeoMatch& m, std::string_view code, std::string_view original, std::string& error) {
  const auto dash = code.find('-');
  const std::string_view sub = dash == std::string_view::npos ? std::string_view() : code.substr(dash + 1);
  if (dash != 2 || sub.empty() || sub.size() > 3 || !all_of(sub, isalnum)) {
    error = "bad subdivision " + q(original) +
            " (a country, '-' and 1 to 3 letters or digits, ISO 3166-2, e.g. \"US-CA\", \"GB-ENG\")";
    return false;
  }
  if (!set_country(m, code.substr(0, 2), original, error)) {
    error += " in subdivision " + q(original);
    return false;
  }
  const std::string s = upper(sub);
  std::memcpy(m.subdivision, s.data(), s.size());
  m.kind = GeoMatch::Kind::Subdivision;
  m.text = "subdivision:" + std::string(m.country) + "-" + s;
  return true;
}

// "7018" or "AS7018".
bool parse_asn(GeoMatch& m, std::string_view code, std::string_view original, std::string& error) {
  if (code.size() > 2 && (code[0] == 'A' || code[0] == 'a') && (code[1] == 'S' || code[1] == 's'))
    code.remove_prefix(2);
  if (!all_of(code, isdigit) || code.size() > 10) {
    error = "bad autonomous system number " + q(original) + " (e.g. \"AS7018\" or \"asn:7018\")";
    return false;
  }
  const std::uint64_t n = std::stoull(std::string(code));
  if (n == 0 || n > 4294967295ull) {
    error = "autonomous system number out of range in " + q(original) + " (1 to 4294967295)";
    return false;
  }
  m.kind = GeoMatch::Kind::Asn;
  m.asn = static_cast<std::uint32_t>(n);
  m.text = "asn:" + std::to_string(n);
  return true;
}

bool parse_cidr(GeoMatch& m, std::string_view text, std::string_view original, std::string& error) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    error = "a CIDR needs a prefix length, e.g. \"10.0.0.0/8\" (in " + q(original) + ")";
    return false;
  }
  const std::string host(text.substr(0, slash));
  const std::string_view len = text.substr(slash + 1);
  std::uint8_t buf[16] = {};
  int family = 0;
  if (inet_pton(AF_INET, host.c_str(), buf) == 1) family = AF_INET;
  else if (inet_pton(AF_INET6, host.c_str(), buf) == 1) family = AF_INET6;
  if (!family) {
    error = "bad CIDR " + q(original) + ": " + q(host) + " is not an IPv4 or IPv6 address";
    return false;
  }
  const unsigned max = family == AF_INET ? 32 : 128;
  if (!all_of(len, isdigit) || len.size() > 3 || std::stoul(std::string(len)) > max) {
    error = "bad CIDR " + q(original) + ": the prefix length must be a number from 0 to " + std::to_string(max);
    return false;
  }
  const auto prefix = static_cast<std::uint8_t>(std::stoul(std::string(len)));
  std::uint8_t net[16] = {};
  for (unsigned bit = 0; bit < prefix; ++bit) net[bit / 8] |= buf[bit / 8] & (0x80 >> (bit % 8));
  char canon[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, net, canon, sizeof canon);
  if (std::memcmp(net, buf, sizeof buf) != 0) {
    error = "bad CIDR " + q(original) + ": bits are set after the prefix (the network is \"" + canon + "/" +
            std::to_string(prefix) + "\")";
    return false;
  }
  m.kind = GeoMatch::Kind::Cidr;
  m.family = family;
  m.prefix = prefix;
  std::memcpy(m.addr, net, sizeof net);
  m.text = "cidr:" + std::string(canon) + "/" + std::to_string(prefix);
  return true;
}

// Length of the common prefix of `a` and `b`, at most `limit` bits.
unsigned common_prefix(const std::uint8_t* a, const std::uint8_t* b, unsigned limit) {
  unsigned n = 0;
  for (unsigned byte = 0; n < limit; ++byte) {
    const std::uint8_t diff = a[byte] ^ b[byte];
    if (!diff) {
      n += 8;
      continue;
    }
    for (unsigned bit = 0; bit < 8 && !(diff & (0x80 >> bit)); ++bit) ++n;
    break;
  }
  return std::min(n, limit);
}

constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// Specificity of each kind for this client; larger wins. -1: no match.
constexpr int kScoreCidr = 1000;  // + prefix length
constexpr int kScoreAsn = 900;
constexpr int kScoreSubdivision = 800;  // + level (0 = most general)
constexpr int kScoreCountry = 700;
constexpr int kScoreContinent = 600;
constexpr int kScoreDefault = 0;

// Location matches are found by key, not by a scan over every match: a
// policy that lists 250 countries costs the same per answer as one that
// lists three. A key is the kind in the top byte and the code below it.
constexpr std::uint64_t key_of(GeoMatch::Kind kind, std::uint64_t code) {
  return std::uint64_t(kind) << 56 | code;
}
// A NUL-terminated code of up to N-1 characters as an integer, one byte a
// character: exact, since a code holds no NUL.
template <std::size_t N>
constexpr std::uint64_t pack(const char (&c)[N]) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i + 1 < N && c[i]; ++i) v |= std::uint64_t(static_cast<unsigned char>(c[i])) << (8 * i);
  return v;
}
std::uint64_t subdivision_key(const char (&country)[3], const char (&sub)[4]) {
  return key_of(GeoMatch::Kind::Subdivision, pack(country) | pack(sub) << 16);
}

class Geolocation final : public CompiledPolicy {
 public:
  Geolocation(std::vector<Target> targets, std::vector<GeoMatch> matches)
      : CompiledPolicy(std::move(targets)), matches_(std::move(matches)) {
    for (std::size_t i = 0; i < matches_.size(); ++i) {
      const GeoMatch& m = matches_[i];
      const auto idx = static_cast<std::uint16_t>(i);
      switch (m.kind) {
        case GeoMatch::Kind::Cidr: cidrs_.push_back(idx); continue;
        case GeoMatch::Kind::Default: default_ = &m; continue;
        case GeoMatch::Kind::Asn: keyed_.push_back({key_of(m.kind, m.asn), idx}); break;
        case GeoMatch::Kind::Subdivision: keyed_.push_back({subdivision_key(m.country, m.subdivision), idx}); break;
        case GeoMatch::Kind::Country: keyed_.push_back({key_of(m.kind, pack(m.country)), idx}); break;
        case GeoMatch::Kind::Continent: keyed_.push_back({key_of(m.kind, pack(m.continent)), idx}); break;
      }
      kinds_ |= 1u << unsigned(m.kind);
    }
    std::sort(keyed_.begin(), keyed_.end(), [](const Keyed& a, const Keyed& b) { return a.key < b.key; });
  }
  std::string_view kind() const override { return "geolocation"; }

  void select(const PolicyInput& in, PolicyOutput& out) const override {
    begin(out);
    Rng rng(in.random);
    const ClientInfo* c = in.client;
    const bool has_addr = c && (c->family == AF_INET || c->family == AF_INET6);

    // Up-ness is read only for the few matches that could win, not for
    // every target.
    int any_score = -1, up_score = -1;  // the best match, and the best match whose target is up
    const GeoMatch* any_best = nullptr;
    const GeoMatch* up_best = nullptr;
    auto consider = [&](const GeoMatch& m, int score) {
      if (score > any_score) {
        any_score = score;
        any_best = &m;
      }
      if (score > up_score && targets_[m.target].up()) {
        up_score = score;
        up_best = &m;
      }
    };

    unsigned scope = 0;
    if (has_addr && !cidrs_.empty()) {
      // An IPv4-mapped IPv6 client (::ffff:a.b.c.d) also matches IPv4 CIDRs,
      // as the GeoIP lookup treats it; its scope stays in IPv6 bits.
      const bool mapped = c->family == AF_INET6 && std::memcmp(c->addr, kMapped, sizeof kMapped) == 0;
      for (const std::uint16_t i : cidrs_) {
        const GeoMatch& m = matches_[i];
        const std::uint8_t* a = c->addr;
        unsigned offset = 0;
        if (m.family != c->family) {
          if (!mapped || m.family != AF_INET) continue;
          a += sizeof kMapped;
          offset = 96;
        }
        const unsigned common = common_prefix(a, m.addr, m.prefix);
        if (common >= m.prefix) {
          consider(m, kScoreCidr + m.prefix);
          scope = std::max<unsigned>(scope, offset + m.prefix);
        } else {
          scope = std::max(scope, offset + common + 1);  // the block of this length lies outside m
        }
      }
    }
    // A CIDR target that is up beats every location match: the location is
    // not needed (nor looked up).
    const Location* loc = nullptr;
    if (!up_best) {
      if (has_addr && kinds_) {
        loc = &c->location();
        scope = std::max<unsigned>(scope, location_scope(*c, *loc));
        if (loc->found) consider_location(*loc, consider);
      }
      if (default_) consider(*default_, kScoreDefault);
    }
    if (has_addr && scope) c->note_scope(static_cast<std::uint8_t>(std::min<unsigned>(scope, 255)));

    const GeoMatch* chosen = up_best ? up_best : any_best;  // none up: fail open to the best match
    if (chosen && chosen != any_best) out.degraded = true;
    if (chosen && !up_best) out.degraded = true;
    if (in.trace) trace_decision(in, loc, any_best, up_best, scope);
    if (chosen) {
      Collector col{out};
      emit(in, targets_[chosen->target], rng, col);
    }
  }

 private:
  void trace_decision(const PolicyInput& in, const Location* loc, const GeoMatch* any_best,
                      const GeoMatch* up_best, unsigned scope) const {
    std::string line = "geolocation: client " + describe_client(in.client);
    if (loc) line += " → " + describe_location(*loc);
    else if (in.client && in.client->family && kinds_) line += " (location not needed)";
    auto target = [&](const GeoMatch& m) {
      const Target& t = targets_[m.target];
      return describe_target(t, m.target) + " (" + describe_health(t) + ")";
    };
    if (!any_best) {
      line += "; no match and no \"*\": no records";
    } else {
      line += "; best match " + q(any_best->text) + " → " + target(*any_best);
      if (!up_best)
        line += "; no matching target is up: fail open to it";
      else if (up_best != any_best)
        line += "; using the next match that is up, " + q(up_best->text) + " → " + target(*up_best);
    }
    if (in.client) scope = std::min<unsigned>(scope, in.client->source_prefix);  // as note_scope clamps
    line += fmt::format("; ECS scope /{}", scope);
    in.trace->note(line);
  }

  // The location matches that fit `l`, each found by key (at most one per
  // kind and subdivision level, since no two matches have the same text).
  template <class Consider>
  void consider_location(const Location& l, Consider& consider) const {
    auto has = [&](GeoMatch::Kind k) { return (kinds_ >> unsigned(k) & 1) != 0; };
    if (has(GeoMatch::Kind::Asn) && l.asn)
      if (const GeoMatch* m = find(key_of(GeoMatch::Kind::Asn, l.asn))) consider(*m, kScoreAsn);
    if (has(GeoMatch::Kind::Subdivision) && l.country[0])
      for (int level = 0; level < 2; ++level)
        if (l.subdivisions[level][0])
          if (const GeoMatch* m = find(subdivision_key(l.country, l.subdivisions[level])))
            consider(*m, kScoreSubdivision + level);
    if (has(GeoMatch::Kind::Country) && l.country[0])
      if (const GeoMatch* m = find(key_of(GeoMatch::Kind::Country, pack(l.country)))) consider(*m, kScoreCountry);
    if (has(GeoMatch::Kind::Continent) && l.continent[0])
      if (const GeoMatch* m = find(key_of(GeoMatch::Kind::Continent, pack(l.continent))))
        consider(*m, kScoreContinent);
  }

  const GeoMatch* find(std::uint64_t key) const {
    const auto it = std::lower_bound(keyed_.begin(), keyed_.end(), key,
                                     [](const Keyed& k, std::uint64_t v) { return k.key < v; });
    return it != keyed_.end() && it->key == key ? &matches_[it->match] : nullptr;
  }

  struct Keyed {
    std::uint64_t key;
    std::uint16_t match;  // index into matches_
  };
  std::vector<GeoMatch> matches_;
  std::vector<Keyed> keyed_;          // ASN, subdivision, country and continent matches, by key
  std::vector<std::uint16_t> cidrs_;  // the CIDR matches, as written
  const GeoMatch* default_ = nullptr;  // "*"
  unsigned kinds_ = 0;                // bit per GeoMatch::Kind present in keyed_
};

}  // namespace

std::optional<GeoMatch> parse_geo_match(std::string_view text, std::string& error) {
  GeoMatch m;
  if (text == "*") {
    m.text = "*";
    return m;
  }
  const auto colon = text.find(':');
  if (colon != std::string_view::npos) {
    std::string prefix(text.substr(0, colon));
    for (char& ch : prefix) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const std::string_view rest = text.substr(colon + 1);
    bool ok = false;
    bool known = true;
    if (prefix == "continent") ok = parse_continent(m, rest, text, error);
    else if (prefix == "country") ok = parse_country(m, rest, text, error);
    else if (prefix == "subdivision") ok = parse_subdivision(m, rest, text, error);
    else if (prefix == "asn") ok = parse_asn(m, rest, text, error);
    else if (prefix == "cidr") ok = parse_cidr(m, rest, text, error);
    else known = false;
    if (known) return ok ? std::optional<GeoMatch>(std::move(m)) : std::nullopt;
    // Not a prefix: an IPv6 CIDR (or a mistake).
  }
  if (text.find('/') != std::string_view::npos)
    return parse_cidr(m, text, text, error) ? std::optional<GeoMatch>(std::move(m)) : std::nullopt;
  std::uint8_t buf[16];
  const std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    error = "a CIDR needs a prefix length: write \"" + s + (colon == std::string_view::npos ? "/32" : "/128") +
            "\" for one address";
    return std::nullopt;
  }
  if (colon != std::string_view::npos) {
    error = "unknown match prefix " + q(text.substr(0, colon + 1)) +
            " in " + q(text) + " (expected continent:, country:, subdivision:, asn: or cidr:)";
    return std::nullopt;
  }
  if (text.size() > 2 && (text[0] == 'A' || text[0] == 'a') && (text[1] == 'S' || text[1] == 's') &&
      all_of(text.substr(2), isdigit))
    return parse_asn(m, text, text, error) ? std::optional<GeoMatch>(std::move(m)) : std::nullopt;
  if (text.find('-') != std::string_view::npos)
    return parse_subdivision(m, text, text, error) ? std::optional<GeoMatch>(std::move(m)) : std::nullopt;
  if (text.size() == 2 && all_of(text, isalpha)) {
    const std::string cc = upper(text);
    if (in_list(kAmbiguous, cc)) {
      error = q(text) + " is both a continent and a country code: write \"continent:" + cc + "\" or \"country:" +
              cc + "\"";
      return std::nullopt;
    }
    if (in_list(kContinents, cc)) return parse_continent(m, cc, text, error) ? std::optional<GeoMatch>(std::move(m)) : std::nullopt;
    return parse_country(m, cc, text, error) ? std::optional<GeoMatch>(std::move(m)) : std::nullopt;
  }
  error = "bad match " + q(text) + " (" + kSyntax + ")";
  return std::nullopt;
}

std::unique_ptr<CompiledPolicy> make_geolocation(std::vector<Target> targets, std::vector<GeoMatch> matches) {
  return std::make_unique<Geolocation>(std::move(targets), std::move(matches));
}

}  // namespace meridian::policy
