#include "zones/toml_records_scan.hpp"

#include <cstring>

namespace meridian {

namespace {

bool bare_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Printable ASCII or tab: what the subset allows in strings and comments
// (control characters and non-ASCII bytes go to toml++, which validates them).
bool plain_char(char c) { return (c >= 0x20 && c <= 0x7e) || c == '\t'; }

class LineReader {
 public:
  explicit LineReader(std::string_view line) : s_(line) {}

  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[i_]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  std::uint32_t col() const { return static_cast<std::uint32_t>(i_ + 1); }

  // The rest of the line is blank or a comment.
  bool end_of_line() {
    skip_ws();
    if (at_end()) return true;
    if (s_[i_] != '#') return false;
    for (std::size_t j = i_ + 1; j < s_.size(); ++j)
      if (!plain_char(s_[j])) return false;
    i_ = s_.size();
    return true;
  }

  bool bare_key(std::string_view& out) {
    const std::size_t start = i_;
    while (i_ < s_.size() && bare_key_char(s_[i_])) ++i_;
    out = s_.substr(start, i_ - start);
    return i_ > start;
  }

  // "basic" without escapes, or 'literal'; single-line only.
  bool string(std::string_view& out) {
    const char q = peek();
    if (q != '"' && q != '\'') return false;
    if (s_.substr(i_, 3) == std::string_view(q == '"' ? "\"\"\"" : "'''", 3)) return false;  // multi-line
    const std::size_t start = ++i_;
    while (i_ < s_.size() && s_[i_] != q) {
      if (!plain_char(s_[i_]) || (q == '"' && s_[i_] == '\\')) return false;
      ++i_;
    }
    if (i_ >= s_.size()) return false;
    out = s_.substr(start, i_ - start);
    ++i_;
    return true;
  }

  bool key(std::string_view& out) { return peek() == '"' || peek() == '\'' ? string(out) : bare_key(out); }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

bool header(LineReader& r, std::vector<std::string_view>& keys) {
  keys.clear();
  if (!r.eat('[') || r.peek() == '[') return false;  // [[array of tables]]
  do {
    r.skip_ws();
    std::string_view k;
    if (!r.key(k)) return false;
    keys.push_back(k);
    r.skip_ws();
  } while (r.eat('.'));
  if (!r.eat(']') || keys.size() < 2 || keys[0] != "records") return false;
  return r.end_of_line();
}

bool key_value(LineReader& r, std::uint32_t line, RecordsScanSink& sink) {
  std::string_view key, text;
  const std::uint32_t key_col = r.col();
  if (!r.bare_key(key)) return false;
  r.skip_ws();
  if (!r.eat('=')) return false;  // dotted keys and the rest: toml++
  r.skip_ws();
  if (!sink.key(key, line, key_col)) return false;
  if (r.eat('[')) {
    r.skip_ws();
    do {
      r.skip_ws();
      const std::uint32_t col = r.col();
      if (!r.string(text) || !sink.value(key, text, line, col)) return false;  // also: [] and [..., ]
      r.skip_ws();
    } while (r.eat(','));
    if (!r.eat(']')) return false;
  } else {
    const std::uint32_t col = r.col();
    if (!r.string(text) || !sink.value(key, text, line, col)) return false;
  }
  return r.end_of_line();
}

}  // namespace

std::size_t find_records_region(std::string_view text) {
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t i = at;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i < text.size() && text[i] == '[') {
      std::size_t j = i + 1;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) ++j;
      if (text.substr(j, 7) == "records") return at;
    }
    const std::size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) break;
    at = nl + 1;
  }
  return std::string_view::npos;
}

bool scan_records_region(std::string_view region, std::uint32_t first_line, RecordsScanSink& sink) {
  std::vector<std::string_view> keys;
  std::uint32_t line = first_line;
  const char* p = region.data();
  const char* const end = p + region.size();
  for (; p < end; ++line) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* eol = nl ? nl : end;
    std::string_view text(p, static_cast<std::size_t>(eol - p));
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);  // CRLF
    p = nl ? nl + 1 : end;
    LineReader r(text);
    r.skip_ws();
    if (r.peek() == '[') {
      if (!header(r, keys) || !sink.table(keys, line)) return false;
    } else if (!r.end_of_line() && !key_value(r, line, sink)) {
      return false;
    }
  }
  return true;
}

}  // namespace meridian
