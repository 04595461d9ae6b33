#pragma once
// The common record forms of large zones (A, AAAA, names, MX, unquoted
// TXT) converted to wire without ldns. rdata_from_text formats a whole
// master-file line and has ldns tokenize and parse it: about 1 us per record,
// most of a million-record zone's load time (docs/performance.md, "Zone
// load"). The output is byte-for-byte what rdata_from_text gives (tested in
// tests/unit/test_zone_load_path.cpp); anything unusual is left to it.
#include <cstdint>
#include <string>
#include <string_view>

namespace meridian {

// True and `wire` set when `text` has one of the handled forms and is
// valid; false means "not handled here": call rdata_from_text, which also
// produces the error message for bad data.
bool rdata_from_text_fast(std::uint16_t type, std::string_view text, std::string_view origin,
                          std::string& wire);

// Same as rdata_from_text_fast, then rdata_from_text for what it leaves.
bool rdata_from_text_any(std::uint16_t type, std::string_view text, std::string_view origin,
                         std::string& wire, std::string& error);

}  // namespace meridian
