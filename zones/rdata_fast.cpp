#include "zones/rdata_fast.hpp"

#include <arpa/inet.h>

#include <cctype>

#include "zones/rdata.hpp"

namespace meridian {

namespace {

bool all_of(std::string_view s, bool (*ok)(char)) {
  for (char c : s)
    if (!ok(c)) return false;
  return true;
}

bool ip4_char(char c) { return (c >= '0' && c <= '9') || c == '.'; }
bool ip6_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}
bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// A plain host name ("www", "mail.example.net.", ".") in wire form, relative
// names completed with `origin`. Only letters, digits, '-', '_' and dots
// between non-empty labels: escapes, '@' and the rest are ldns's to judge.
bool plain_name(std::string_view text, std::string_view origin, std::string& out) {
  if (text == ".") {
    out += '\0';
    return true;
  }
  const bool absolute = !text.empty() && text.back() == '.';
  if (absolute) text.remove_suffix(1);
  if (text.empty()) return false;
  const std::size_t start = out.size();
  while (true) {
    const std::size_t dot = text.find('.');
    const std::string_view label = text.substr(0, dot);
    if (label.empty() || label.size() > 63 || !all_of(label, host_char)) return false;
    out += static_cast<char>(label.size());
    out += label;
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  if (absolute) out += '\0';
  else out += origin;
  return out.size() - start <= 255;
}

}  // namespace

bool rdata_from_text_fast(std::uint16_t type, std::string_view text, std::string_view origin,
                          std::string& wire) {
  // The same trimming as rdata_from_text.
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  if (text.empty() || origin.empty()) return false;
  wire.clear();
  switch (type) {
    case rrtype::A: {
      unsigned char a[4];
      if (text.size() > 15 || !all_of(text, ip4_char)) return false;
      const std::string z(text);
      if (inet_pton(AF_INET, z.c_str(), a) != 1) return false;
      wire.assign(reinterpret_cast<const char*>(a), 4);
      return true;
    }
    case rrtype::AAAA: {
      unsigned char a[16];
      if (text.size() > 45 || !all_of(text, ip6_char)) return false;
      const std::string z(text);
      if (inet_pton(AF_INET6, z.c_str(), a) != 1) return false;
      wire.assign(reinterpret_cast<const char*>(a), 16);
      return true;
    }
    case rrtype::NS:
    case rrtype::CNAME:
    case rrtype::PTR:
    case rrtype::DNAME:
      return plain_name(text, origin, wire);
    case rrtype::MX: {
      std::size_t i = 0;
      unsigned pref = 0;
      while (i < text.size() && i < 5 && text[i] >= '0' && text[i] <= '9') pref = pref * 10 + unsigned(text[i++] - '0');
      if (i == 0 || pref > 65535 || i >= text.size() || (text[i] != ' ' && text[i] != '\t')) return false;
      while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
      wire += static_cast<char>(pref >> 8);
      wire += static_cast<char>(pref & 0xff);
      return plain_name(text.substr(i), origin, wire);
    }
    case rrtype::TXT:
    case rrtype::SPF: {
      // Unquoted: one string, cut in 255-octet pieces (as rdata_from_text
      // quotes it). Printable ASCII only, and short: ldns decides the rest.
      if (text.front() == '"' || text.size() > 2048) return false;
      for (char c : text)
        if (c < 0x20 || c > 0x7e) return false;
      for (std::size_t at = 0; at < text.size(); at += 255) {
        const std::string_view piece = text.substr(at, 255);
        wire += static_cast<char>(piece.size());
        wire += piece;
      }
      return true;
    }
    default:
      return false;
  }
}

bool rdata_from_text_any(std::uint16_t type, std::string_view text, std::string_view origin,
                         std::string& wire, std::string& error) {
  return rdata_from_text_fast(type, text, origin, wire) || rdata_from_text(type, text, origin, wire, error);
}

}  // namespace meridian
