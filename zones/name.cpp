#include "zones/name.hpp"

#include <ldns/ldns.h>

namespace meridian {

void lower_name(std::string& wire) {
  for (auto& c : wire) c = static_cast<char>(ascii_lower(static_cast<std::uint8_t>(c)));
}

std::string lowered(std::string_view wire) {
  std::string s(wire);
  lower_name(s);
  return s;
}

std::string_view parent_name(std::string_view wire) {
  if (wire.empty() || wire[0] == 0) return {};
  return wire.substr(1 + static_cast<std::uint8_t>(wire[0]));
}

bool is_subdomain(std::string_view name, std::string_view ancestor) {
  if (ancestor.size() > name.size()) return false;
  // Walk label boundaries of `name` until the remaining suffix has the
  // ancestor's length; a byte match at a label boundary is a real suffix.
  std::string_view s = name;
  while (s.size() > ancestor.size()) s = parent_name(s);
  return s == ancestor;
}

bool names_equal(std::string_view a, std::string_view b) {
  // The octets with letters folded, 8 at a time (length octets are below
  // 64, never letters): the response writer compares compression targets
  // with this for every name it writes.
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  auto differ = [](const char* x, const char* y, std::size_t len) {  // len <= 8
    std::uint64_t u = 0, v = 0;
    std::memcpy(&u, x, len);
    std::memcpy(&v, y, len);
    return u != v && lower8(u) != lower8(v);
  };
  if (n < 8) return !differ(a.data(), b.data(), n);
  for (std::size_t i = 0; i + 8 < n; i += 8)
    if (differ(a.data() + i, b.data() + i, 8)) return false;
  return !differ(a.data() + n - 8, b.data() + n - 8, 8);  // the last 8, overlapping what was compared
}

std::string name_to_text(std::string_view wire) {
  if (wire.empty() || wire[0] == 0) return ".";
  std::string out;
  std::size_t i = 0;
  while (i < wire.size() && wire[i] != 0) {
    std::size_t len = static_cast<std::uint8_t>(wire[i]);
    for (std::size_t j = i + 1; j <= i + len && j < wire.size(); ++j) {
      unsigned char c = static_cast<unsigned char>(wire[j]);
      if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' || c == '@' || c == '$') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c <= 32 || c >= 127) {
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\%03u", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '.';
    i += len + 1;
  }
  return out;
}

std::optional<std::string> name_from_text(std::string_view text, std::string_view origin,
                                          std::string* error) {
  auto fail = [&](std::string msg) -> std::optional<std::string> {
    if (error) *error = std::move(msg);
    return std::nullopt;
  };
  if (text.empty()) return fail("empty name");
  if (text == "@") {
    if (origin.empty()) return fail("'@' used without an origin");
    return std::string(origin);
  }
  bool absolute = text.back() == '.' && (text.size() < 2 || text[text.size() - 2] != '\\');
  std::string s(text);
  ldns_rdf* rdf = ldns_dname_new_frm_str(s.c_str());
  if (!rdf) return fail("invalid domain name '" + s + "'");
  std::string wire(reinterpret_cast<const char*>(ldns_rdf_data(rdf)), ldns_rdf_size(rdf));
  ldns_rdf_deep_free(rdf);
  if (!absolute && text != ".") {
    if (origin.empty()) return fail("relative name '" + s + "' without an origin");
    wire.pop_back();  // drop root label, then append origin
    wire.append(origin);
  }
  if (wire.size() > kMaxNameLen) return fail("name '" + s + "' is longer than 255 octets");
  return wire;
}

}  // namespace meridian
