#include "zones/rfc1035_import.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "zones/name.hpp"
#include "zones/rdata.hpp"

// Last: ldns's C headers break <optional> and friends when included first.
#include <ldns/ldns.h>

namespace meridian {

namespace {

struct ZoneFree { void operator()(ldns_zone* z) const { ldns_zone_deep_free(z); } };
struct RdfFree { void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); } };
struct FileClose { void operator()(std::FILE* f) const { std::fclose(f); } };

std::string rdf_text(const ldns_rdf* rdf) {
  char* s = ldns_rdf2str(rdf);
  std::string out = s ? s : "";
  std::free(s);
  return out;
}

// Presentation rdata: the rdata fields as ldns prints them, space separated.
std::string rr_rdata_text(const ldns_rr* rr) {
  std::string out;
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    if (i) out += ' ';
    out += rdf_text(ldns_rr_rdf(rr, i));
  }
  return out;
}

std::string rr_rdata_wire(const ldns_rr* rr) {
  std::unique_ptr<ldns_buffer, void (*)(ldns_buffer*)> buf(ldns_buffer_new(512), ldns_buffer_free);
  ldns_rr_rdata2buffer_wire(buf.get(), rr);
  return {reinterpret_cast<const char*>(ldns_buffer_begin(buf.get())), ldns_buffer_position(buf.get())};
}

std::string owner_wire(const ldns_rr* rr) {
  const ldns_rdf* o = ldns_rr_owner(rr);
  return lowered({reinterpret_cast<const char*>(ldns_rdf_data(o)), ldns_rdf_size(o)});
}

// TOML basic string: always valid, used for keys and as the fallback.
std::string toml_basic(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Values read best as literal strings: TXT data and escapes like "\032"
// keep their quotes and backslashes untouched.
std::string toml_string(std::string_view s) {
  bool literal_ok = std::none_of(s.begin(), s.end(), [](unsigned char c) {
    return c == '\'' || (c < 0x20 && c != '\t') || c == 0x7f;
  });
  return literal_ok ? "'" + std::string(s) + "'" : toml_basic(s);
}

struct RRsetOut {
  std::uint32_t ttl = 0xffffffffu;  // lowered to the smallest TTL seen
  std::vector<std::string> values;
  std::set<std::string> wires;  // dedupe identical records (RFC 2181 section 5)
};

// Owner (relative presentation) -> type -> RRset. "@" sorts first, then
// owners alphabetically, which keeps related names together.
struct OwnerLess {
  bool operator()(const std::string& a, const std::string& b) const {
    if (a == "@" || b == "@") return a == "@" && b != "@";
    return a < b;
  }
};
using Owners = std::map<std::string, std::map<std::uint16_t, RRsetOut>, OwnerLess>;

// The owner relative to the origin: "@", "www", "*.apps"; nullopt outside.
std::optional<std::string> relative_owner(const std::string& owner, const std::string& origin) {
  if (!is_subdomain(owner, origin)) return std::nullopt;
  if (owner == origin) return "@";
  std::string text = name_to_text(owner);
  return text.substr(0, text.size() - name_to_text(origin).size() - 1);
}

void write_records(std::string& out, const Owners& owners, std::uint32_t default_ttl) {
  for (const auto& [owner, types] : owners) {
    out += "\n[records." + toml_basic(owner) + "]\n";
    for (const auto& [type, set] : types) {
      std::string list = "[";
      for (std::size_t i = 0; i < set.values.size(); ++i)
        list += (i ? ", " : "") + toml_string(set.values[i]);
      list += "]";
      out += rr_type_name(type) + " = ";
      if (set.ttl == default_ttl) out += list + "\n";
      else out += "{ ttl = " + std::to_string(set.ttl) + ", values = " + list + " }\n";
    }
  }
}

// Reads the file record by record without keeping the records, to find the
// first error (and its line) before ldns_zone_new_frm_fp_l is called:
// that function leaks the records read so far, the SOA and its origin when
// a later line fails (found by tests/fuzz/fuzz_import under LeakSanitizer),
// so it is only given files that parse. It also silently drops every SOA
// after the first, which this pass reports. Origins follow ldns's zone
// reader: the one given, else the owner of the first SOA.
ldns_status check_records(std::FILE* fp, const ldns_rdf* origin, int& line, int& soas) {
  struct Names {
    ldns_rdf* origin = nullptr;
    ldns_rdf* prev = nullptr;
    ~Names() {
      if (origin) ldns_rdf_deep_free(origin);
      if (prev) ldns_rdf_deep_free(prev);
    }
  } n;
  if (origin) {
    n.origin = ldns_rdf_clone(origin);
    n.prev = ldns_rdf_clone(origin);
  }
  std::uint32_t ttl = 3600;
  while (!std::feof(fp)) {
    ldns_rr* rr = nullptr;
    // ldns replaces (and frees) n.origin on $ORIGIN and n.prev on each owner.
    const ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &n.origin, &n.prev, &line);
    switch (st) {
      case LDNS_STATUS_OK:
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ++soas == 1 && !n.origin)
          n.origin = ldns_rdf_clone(ldns_rr_owner(rr));
        ldns_rr_free(rr);
        break;
      case LDNS_STATUS_SYNTAX_EMPTY:
      case LDNS_STATUS_SYNTAX_TTL:
      case LDNS_STATUS_SYNTAX_ORIGIN:
        break;
      case LDNS_STATUS_SYNTAX_INCLUDE:
        return LDNS_STATUS_SYNTAX_INCLUDE_ERR_NOTIMPL;  // as ldns's zone reader
      default:
        return st;
    }
  }
  return LDNS_STATUS_OK;
}

std::uint32_t soa_field(const ldns_rr* soa, std::size_t i) {
  return ldns_rdf2native_int32(ldns_rr_rdf(soa, i));
}

}  // namespace

bool import_rfc1035(const std::string& path, std::string_view origin_text, std::string& toml,
                    std::string& error) {
  std::unique_ptr<std::FILE, FileClose> fp(std::fopen(path.c_str(), "r"));
  if (!fp) {
    error = path + ": cannot read file: " + std::strerror(errno);
    return false;
  }
  // Without an origin the file must set one with $ORIGIN (or use absolute names).
  std::unique_ptr<ldns_rdf, RdfFree> origin_rdf;
  if (!origin_text.empty()) {
    std::string o(origin_text);
    if (o.back() != '.') o += '.';
    origin_rdf.reset(ldns_dname_new_frm_str(o.c_str()));
    if (!origin_rdf) {
      error = "invalid origin '" + o + "'";
      return false;
    }
  }
  int line = 0;  // ldns counts the newlines it has consumed
  int soas = 0;
  ldns_status st = check_records(fp.get(), origin_rdf.get(), line, soas);
  ldns_zone* raw = nullptr;
  if (st == LDNS_STATUS_OK) {
    if (soas > 1) {
      error = path + ": more than one SOA record";
      return false;
    }
    std::rewind(fp.get());
    line = 0;
    st = ldns_zone_new_frm_fp_l(&raw, fp.get(), origin_rdf.get(), 3600, LDNS_RR_CLASS_IN, &line);
  }
  std::unique_ptr<ldns_zone, ZoneFree> zone(raw);
  if (st != LDNS_STATUS_OK) {
    // A bad last line without a newline has not been counted yet.
    if (std::feof(fp.get()) && std::fseek(fp.get(), -1, SEEK_END) == 0 && std::fgetc(fp.get()) != '\n') ++line;
    error = path + ":" + std::to_string(line) + ": " + ldns_get_errorstr_by_id(st);
    return false;
  }
  const ldns_rr* soa = ldns_zone_soa(zone.get());
  if (!soa || ldns_rr_rd_count(soa) != 7) {
    error = path + ": no SOA record found";
    return false;
  }
  const std::string origin = owner_wire(soa);
  if (origin_rdf && !names_equal(origin, {reinterpret_cast<const char*>(ldns_rdf_data(origin_rdf.get())),
                                          ldns_rdf_size(origin_rdf.get())})) {
    error = path + ": the SOA record is for " + name_to_text(origin) + ", not the origin " + std::string(origin_text);
    return false;
  }
  const std::uint32_t ttl = ldns_rr_ttl(soa);

  Owners owners;
  ldns_rr_list* rrs = ldns_zone_rrs(zone.get());
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(rrs); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(rrs, i);
    const std::string owner = owner_wire(rr);
    auto rel = relative_owner(owner, origin);
    if (!rel) {
      error = path + ": " + name_to_text(owner) + " is outside the zone origin " + name_to_text(origin);
      return false;
    }
    const std::uint16_t type = ldns_rr_get_type(rr);
    if (type == rrtype::SOA) {
      error = path + ": more than one SOA record (" + name_to_text(owner) + ")";
      return false;
    }
    RRsetOut& set = owners[*rel][type];
    // One TTL per RRset (RFC 2181 section 5.2): take the smallest given.
    set.ttl = std::min(set.ttl, ldns_rr_ttl(rr));
    if (set.wires.insert(rr_rdata_wire(rr)).second) set.values.push_back(rr_rdata_text(rr));
  }

  toml = "# imported from " + path + " by meridian import\n";
  toml += "origin = " + toml_basic(name_to_text(origin)) + "\n";
  toml += "ttl = " + std::to_string(ttl) + "\n\n[soa]\n";
  toml += "mname = " + toml_string(rdf_text(ldns_rr_rdf(soa, 0))) + "\n";
  toml += "rname = " + toml_string(rdf_text(ldns_rr_rdf(soa, 1))) + "\n";
  static constexpr const char* fields[] = {"serial", "refresh", "retry", "expire", "minimum"};
  for (std::size_t i = 0; i < 5; ++i)
    toml += std::string(fields[i]) + " = " + std::to_string(soa_field(soa, i + 2)) + "\n";
  write_records(toml, owners, ttl);
  return true;
}

}  // namespace meridian
