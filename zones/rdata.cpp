#include "zones/rdata.hpp"

#include <ldns/ldns.h>

#include <strings.h>

#include <cctype>
#include <charconv>
#include <memory>

#include "zones/name.hpp"

namespace meridian {

namespace {
struct RrFree { void operator()(ldns_rr* rr) const { ldns_rr_free(rr); } };
struct RdfFree { void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); } };
struct BufFree { void operator()(ldns_buffer* b) const { ldns_buffer_free(b); } };

// A TXT value written without quotes is one string: quote it ourselves and
// split it into 255-octet character-strings (RFC 1035 section 3.3.14).
std::string quote_txt(std::string_view text) {
  std::string out;
  std::size_t in_piece = 0;
  out += '"';
  for (unsigned char c : text) {
    if (in_piece == 255) { out += "\" \""; in_piece = 0; }
    if (c == '"' || c == '\\') out += '\\';
    out += static_cast<char>(c);
    ++in_piece;
  }
  out += '"';
  return out;
}
}  // namespace

std::optional<std::uint16_t> rr_type_from_name(std::string_view name) {
  // The generic form TYPEnnn (RFC 3597 section 5) is read here: ldns reads
  // it with atoi into its enum, so "TYPE5555555555555" (the zone fuzzer's
  // find) was undefined behaviour, and any number over 65535 came back as
  // some other type.
  if (name.size() > 4 && strncasecmp(name.data(), "TYPE", 4) == 0) {
    std::uint32_t n = 0;
    const char* end = name.data() + name.size();
    const auto [at, ec] = std::from_chars(name.data() + 4, end, n);
    if (ec != std::errc{} || at != end || n == 0 || n > 0xffff) return std::nullopt;
    return static_cast<std::uint16_t>(n);
  }
  std::string s(name);
  if (s.empty()) return std::nullopt;
  ldns_rr_type t = ldns_get_rr_type_by_name(s.c_str());
  if (t == 0) return std::nullopt;
  return static_cast<std::uint16_t>(t);
}

std::string rr_type_name(std::uint16_t type) {
  char* s = ldns_rr_type2str(static_cast<ldns_rr_type>(type));
  std::string out = s ? s : ("TYPE" + std::to_string(type));
  free(s);
  return out;
}

bool is_meta_type(std::uint16_t type) {
  // OPT, TKEY, TSIG, IXFR, AXFR, MAILB, MAILA, ANY and the 128-255 meta range.
  return type == 0 || type == rrtype::OPT || (type >= 128 && type <= 255);
}

bool rdata_from_text(std::uint16_t type, std::string_view text, std::string_view origin,
                     std::string& wire, std::string& error) {
  std::string value(text);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
  std::size_t first = value.find_first_not_of(" \t");
  if (first == std::string::npos) {
    error = "empty record data";
    return false;
  }
  value.erase(0, first);
  if ((type == rrtype::TXT || type == rrtype::SPF) && value[0] != '"') value = quote_txt(value);

  // ldns reads the rdata text into a buffer of LDNS_MAX_RDFLEN octets and
  // silently drops the rest: a 70,000-character TXT loaded cut short
  // (tests/unit/test_input_hardening.cpp). No rdata that long fits in
  // 65,535 wire octets in any case that matters, so refuse it.
  if (value.size() >= LDNS_MAX_RDFLEN) {
    error = "record data text longer than " + std::to_string(LDNS_MAX_RDFLEN - 1) + " characters";
    return false;
  }
  std::string line = ". 0 IN " + rr_type_name(type) + " " + value;
  std::unique_ptr<ldns_rdf, RdfFree> origin_rdf;
  if (!origin.empty())
    origin_rdf.reset(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, origin.size(), origin.data()));
  ldns_rr* raw = nullptr;
  ldns_status st = ldns_rr_new_frm_str(&raw, line.c_str(), 0, origin_rdf.get(), nullptr);
  std::unique_ptr<ldns_rr, RrFree> rr(raw);
  if (st != LDNS_STATUS_OK) {
    error = std::string("bad ") + rr_type_name(type) + " data '" + value + "': " + ldns_get_errorstr_by_id(st);
    return false;
  }
  if (ldns_rr_get_type(rr.get()) != type) {
    error = "record data parsed as a different type";
    return false;
  }
  std::unique_ptr<ldns_buffer, BufFree> buf(ldns_buffer_new(512));
  st = ldns_rr_rdata2buffer_wire(buf.get(), rr.get());
  if (st != LDNS_STATUS_OK) {
    error = std::string("cannot encode ") + rr_type_name(type) + " data: " + ldns_get_errorstr_by_id(st);
    return false;
  }
  wire.assign(reinterpret_cast<const char*>(ldns_buffer_begin(buf.get())), ldns_buffer_position(buf.get()));
  if (wire.size() > 65535) {
    error = "record data longer than 65535 octets";
    return false;
  }
  return true;
}

std::string rdata_to_text(std::uint16_t type, std::string_view wire) {
  // Build a one-record packet-free RR from wire rdata via ldns's wire parser.
  std::string rr_wire;
  rr_wire += '\0';  // root owner
  rr_wire += static_cast<char>(type >> 8);
  rr_wire += static_cast<char>(type & 0xff);
  rr_wire += '\0';
  rr_wire += '\1';           // class IN
  rr_wire.append(4, '\0');   // ttl
  rr_wire += static_cast<char>(wire.size() >> 8);
  rr_wire += static_cast<char>(wire.size() & 0xff);
  rr_wire.append(wire);
  ldns_rr* raw = nullptr;
  std::size_t pos = 0;
  if (ldns_wire2rr(&raw, reinterpret_cast<const uint8_t*>(rr_wire.data()), rr_wire.size(), &pos,
                   LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
    return "\\# " + std::to_string(wire.size());
  std::unique_ptr<ldns_rr, RrFree> rr(raw);
  std::string out;
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr.get()); ++i) {
    char* s = ldns_rdf2str(ldns_rr_rdf(rr.get(), i));
    if (!out.empty()) out += ' ';
    out += s ? s : "";
    free(s);
  }
  return out;
}

std::string additional_target(std::uint16_t type, std::string_view wire) {
  std::size_t off;
  switch (type) {
    case rrtype::NS: off = 0; break;
    case rrtype::MX: off = 2; break;
    case rrtype::SRV: off = 6; break;
    default: return {};
  }
  if (wire.size() <= off) return {};
  std::string name(wire.substr(off));
  // Rdata names are uncompressed and end with the root label.
  std::size_t i = 0;
  while (i < name.size() && name[i] != 0) i += 1 + static_cast<std::uint8_t>(name[i]);
  name.resize(std::min(name.size(), i + 1));
  lower_name(name);
  if (name == std::string(1, '\0')) return {};  // "." means no service
  return name;
}

}  // namespace meridian
