#pragma once
// Converts an RFC 1035 master file (BIND/NSD/Knot) into Meridian TOML, so
// operators can migrate. Parsing is done by ldns.
#include <string>
#include <string_view>

namespace meridian {

// Returns true and fills `toml` on success; false with `error` naming the
// file and line otherwise.
bool import_rfc1035(const std::string& path, std::string_view origin_text, std::string& toml,
                    std::string& error);

}  // namespace meridian
