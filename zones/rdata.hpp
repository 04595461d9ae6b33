#pragma once
// Record data in presentation format <-> wire format, through ldns so that
// every type ldns knows (and RFC 3597 "\# len hex") is accepted.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meridian {

namespace rrtype {
inline constexpr std::uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, HINFO = 13, MX = 15,
                               TXT = 16, AAAA = 28, SRV = 33, NAPTR = 35, OPT = 41, DS = 43,
                               SPF = 99, DNAME = 39, SVCB = 64, HTTPS = 65, IXFR = 251, AXFR = 252,
                               MAILB = 253, MAILA = 254, ANY = 255, CAA = 257;
}

// Type mnemonic ("AAAA", "TYPE65534") to number; nullopt when unknown.
std::optional<std::uint16_t> rr_type_from_name(std::string_view name);
// Number to mnemonic, "TYPEnnn" when ldns has no name for it.
std::string rr_type_name(std::uint16_t type);
// Types that may not appear in zone data (meta and pseudo types).
bool is_meta_type(std::uint16_t type);

// Converts presentation rdata to wire. Names inside the rdata that lack a
// trailing dot are relative to `origin` (wire). TXT/SPF values that do not
// start with a quote are taken as one string (split in 255-octet pieces),
// so `TXT = "v=spf1 -all"` means what it says.
bool rdata_from_text(std::uint16_t type, std::string_view text, std::string_view origin,
                     std::string& wire, std::string& error);

// Presentation form of wire rdata (for import, explain and messages).
std::string rdata_to_text(std::uint16_t type, std::string_view wire);

// The name whose addresses go in the additional section for this record
// (NS nsdname, MX exchange, SRV target), lower-cased; empty when none.
std::string additional_target(std::uint16_t type, std::string_view wire);
// True for the types additional_target can give a name for.
inline bool has_additional_target(std::uint16_t type) {
  return type == rrtype::NS || type == rrtype::MX || type == rrtype::SRV;
}

}  // namespace meridian
