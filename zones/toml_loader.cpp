#include "zones/toml_loader.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <toml++/toml.h>
#include <vector>

#include "zones/name.hpp"
#include "zones/policy_loader.hpp"
#include "zones/radix_sort.hpp"
#include "zones/rdata.hpp"
#include "zones/rdata_fast.hpp"
#include "zones/toml_records_scan.hpp"
#include "zones/zone_builder.hpp"

namespace meridian {

namespace {

constexpr std::uint32_t kDefaultTtl = 3600;

// SOA timer defaults (RFC 1912 section 2.2 ranges; minimum is the
// negative-caching TTL of RFC 2308).
constexpr std::uint32_t kDefaultRefresh = 3600, kDefaultRetry = 600, kDefaultExpire = 1209600,
                        kDefaultMinimum = 300;

bool has_lower(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return out;
}

void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

// "hostmaster@example.com" -> "hostmaster.example.com."; dots in the local
// part are escaped so they stay inside the first label (RFC 1035 8).
std::optional<std::string> email_to_name(std::string_view s) {
  std::size_t at = s.find('@');
  if (at == std::string_view::npos || s == "@") return std::nullopt;
  std::string out;
  for (char c : s.substr(0, at)) {
    if (c == '.') out += '\\';
    out += c;
  }
  out += '.';
  out += s.substr(at + 1);
  if (out.back() != '.') out += '.';  // a mail domain is always absolute
  return out;
}

// One table under [records]: the key path that leads to it and, once a
// record needs it, the owner name in wire format.
struct Owner {
  Owner(std::vector<std::string> p, const toml::table* t) : path(std::move(p)), table(t) {}

  std::vector<std::string> path;  // keys as written, outermost first
  const toml::table* table;
  bool resolved = false;
  std::optional<std::string> wire;  // nullopt after resolve() when the name is bad

  // `[records._sip._tcp]` and `[records."_sip._tcp"]` name the same owner.
  std::string text() const {
    std::string s;
    for (const auto& k : path) s += (s.empty() ? "" : ".") + k;
    return s;
  }
};

class Loader {
 public:
  Loader(std::string file, long long mtime, const ZoneLoadOptions& opts)
      : file_(std::move(file)), mtime_(mtime), opts_(opts) {}

  ZoneLoadResult run(std::string_view text) {
    ZoneLoadResult result;
    toml::table doc;
    try {
      doc = toml::parse(text, file_);
    } catch (const toml::parse_error& err) {
      error(err.source().begin, std::string(err.description()));
      result.errors = std::move(errors_);
      return result;
    }
    read_document(doc);
    policies_->finish();
    if (builder_) {
      builder_->set_health(policies_->health());
      auto zone = builder_->build(errors_);
      if (errors_.empty()) result.zone = std::move(zone);
    }
    // Manual check states take effect only with a zone that loaded.
    if (result.zone && policies_) policies_->apply_checks();
    // toml++ tables iterate in key order; an operator reads errors in file order.
    std::stable_sort(errors_.begin(), errors_.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return a.loc.line != b.loc.line ? a.loc.line < b.loc.line : a.loc.col < b.loc.col;
    });
    result.errors = std::move(errors_);
    return result;
  }

  // The same load for a file whose [records] tables are all in the plain
  // form (toml_records_scan.hpp): toml++ reads only the head of the file,
  // the scanner feeds the records to the builder without a document tree.
  // Gives up (nullopt) at anything outside that form and at the first
  // problem of any kind; the caller then runs run() on a fresh Loader, so
  // diagnostics always come from the full path.
  std::optional<ZoneLoadResult> run_fast(std::string_view text) {
    const std::size_t at = find_records_region(text);
    if (at == std::string_view::npos) return std::nullopt;
    {
      toml::table head;
      try {
        head = toml::parse(text.substr(0, at), file_);
      } catch (const toml::parse_error&) {
        return std::nullopt;
      }
      if (head.contains("records")) return std::nullopt;
      read_document(head);
    }  // the head's tree is released before the records are read
    if (!errors_.empty() || !builder_) return std::nullopt;
    FastRecords sink(*this);
    const auto first_line = static_cast<std::uint32_t>(1 + std::count(text.begin(), text.begin() + at, '\n'));
    if (!scan_records_region(text.substr(at), first_line, sink)) return std::nullopt;
    sink.flush();
    if (!errors_.empty() || !sink.owners_distinct()) return std::nullopt;
    policies_->finish();
    builder_->set_health(policies_->health());
    ZoneLoadResult result;
    result.streamed = true;
    result.zone = builder_->build(errors_);
    if (!errors_.empty() || !result.zone) return std::nullopt;
    policies_->apply_checks();
    return result;
  }

 private:
  // Receives the scanner's tables and values; false (give up) wherever the
  // full path would report an error or could order records differently.
  class FastRecords final : public RecordsScanSink {
   public:
    explicit FastRecords(Loader& l) : l_(l) {}

    bool table(const std::vector<std::string_view>& keys, std::uint32_t) override {
      flush();
      std::string text;
      for (std::size_t i = 1; i < keys.size(); ++i) {
        const std::string_view k = keys[i];
        // "@" with other labels, and a record type as a table (a type table
        // or policy): the full path reports or reads those.
        if ((k == "@" && keys.size() > 2) || (!has_lower(k) && rr_type_from_name(k))) return false;
        if (i > 1) text += '.';
        text += k;
      }
      if (origin_lower_.empty()) origin_lower_ = lowered(l_.origin_);
      if (!bare_owner(keys)) {
        std::string err;
        auto wire = name_from_text(text, l_.origin_, &err);
        if (!wire) return false;
        lower_name(*wire);
        if (!is_subdomain(*wire, origin_lower_)) return false;
        owner_ = std::move(*wire);
      }
      owner_hashes_.push_back({NameHash{}(owner_), static_cast<std::uint32_t>(owner_hashes_.size())});
      types_seen_.clear();
      return true;
    }

    bool key(std::string_view k, std::uint32_t, std::uint32_t) override {
      flush();
      if (owner_.empty() || has_lower(k)) return false;
      type_ = type_of(k);
      if (type_ == 0 || is_meta_type(type_) || type_ == rrtype::SOA) return false;
      for (auto t : types_seen_)
        if (t == type_) return false;  // a key twice in one table
      types_seen_.push_back(type_);
      return true;
    }

    bool value(std::string_view, std::string_view text, std::uint32_t line, std::uint32_t col) override {
      std::string wire, err;
      if (!rdata_from_text_any(type_, text, l_.origin_, wire, err)) return false;
      if (rdata_.empty()) loc_ = {line, col};
      // Identical records are one record (RFC 2181 section 5), as in ZoneBuilder::add.
      if (std::find(rdata_.begin(), rdata_.end(), wire) == rdata_.end()) rdata_.push_back(std::move(wire));
      return true;
    }

    // Hands the RRset of the last key to the builder: one call per RRset,
    // no lookup (owners are distinct, checked by owners_distinct()).
    void flush() {
      if (rdata_.empty()) return;
      l_.builder_->add_rrset(owner_, type_, l_.ttl_, std::move(rdata_), SourceLoc{{}, loc_.first, loc_.second});
      rdata_.clear();
    }

    // Bare keys ([records.www], [records.a.b]) are one label each: the
    // owner's wire form is built directly, as name_from_text would (it is
    // a profile hot spot at a million owners). False: use name_from_text.
    bool bare_owner(const std::vector<std::string_view>& keys) {
      owner_.clear();
      for (std::size_t i = 1; i < keys.size(); ++i) {
        const std::string_view k = keys[i];
        if (k.empty() || k.size() > 63) return false;
        for (char c : k)
          if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
        owner_ += static_cast<char>(k.size());
        for (char c : k) owner_ += static_cast<char>(ascii_lower(static_cast<std::uint8_t>(c)));
      }
      owner_ += origin_lower_;
      return owner_.size() <= kMaxNameLen;
    }

    // Two tables naming one owner ([records."a.b"] and [records.a.b], or
    // [records.WWW] and [records.www]) are valid TOML, but the full path
    // would visit them in key order, not file order: let it handle them.
    bool owners_distinct() {
      radix_sort(owner_hashes_);
      bool distinct = true;
      for (std::size_t i = 1; i < owner_hashes_.size() && distinct; ++i)
        distinct = owner_hashes_[i].first != owner_hashes_[i - 1].first;
      std::vector<std::pair<std::uint64_t, std::uint32_t>>().swap(owner_hashes_);  // before build() allocates
      return distinct;
    }

   private:
    // A few type names repeat all through a zone: look each up once.
    std::uint16_t type_of(std::string_view k) {
      for (const auto& [name, type] : type_cache_)
        if (name == k) return type;
      const std::uint16_t t = rr_type_from_name(k).value_or(0);
      if (type_cache_.size() < 16) type_cache_.emplace_back(std::string(k), t);
      return t;
    }

    Loader& l_;
    std::string owner_;  // lower-case wire
    std::string origin_lower_;
    std::uint16_t type_ = 0;
    std::vector<std::uint16_t> types_seen_;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> owner_hashes_;
    std::vector<std::pair<std::string, std::uint16_t>> type_cache_;
    std::vector<std::string> rdata_;  // the current key's values
    std::pair<std::uint32_t, std::uint32_t> loc_;  // line, column of its first value
  };

  SourceLoc loc(const toml::source_position& p) const { return {file_, p.line, p.column}; }
  SourceLoc loc(const toml::node& n) const { return loc(n.source().begin); }
  SourceLoc loc(const toml::key& k) const { return loc(k.source().begin); }
  template <typename Where>
  void error(const Where& where, std::string msg) {
    errors_.push_back({loc(where), std::move(msg)});
  }

  void read_document(const toml::table& doc) {
    // The origin comes first: every other name is relative to it.
    if (const auto* o = doc.get("origin")) {
      read_origin(*o);
    } else {
      errors_.push_back({{file_, 1, 1}, "missing 'origin' (the zone name, e.g. origin = \"example.com.\")"});
    }
    if (const auto* t = doc.get("ttl")) ttl_ = read_ttl(*t).value_or(kDefaultTtl);
    // Pools before records (tables iterate in key order), so RRsets can use them.
    policies_.emplace(file_, origin_, errors_);
    policies_->set_server_checks(opts_.server_checks);
    if (const auto* p = doc.get("pools")) policies_->read_pools(*p);
    if (const auto* c = doc.get("checks")) policies_->read_checks(*c);

    for (const auto& [key, node] : doc) {
      const std::string_view k = key.str();
      if (k == "origin" || k == "ttl" || k == "pools" || k == "checks") continue;
      if (k == "soa") {
        if (const auto* t = node.as_table()) read_soa(*t);
        else error(node, "'soa' must be a table ([soa])");
      } else if (k == "records") {
        if (const auto* t = node.as_table()) read_records(*t);
        else error(node, "'records' must be a table of owner names ([records.www])");
      } else {
        error(key, "unknown top-level key '" + std::string(k) +
                       "' (expected origin, ttl, soa, records, pools or checks)");
      }
    }
  }

  void read_origin(const toml::node& node) {
    const auto* s = node.as_string();
    if (!s) return error(node, "'origin' must be a string such as \"example.com.\"");
    const std::string& text = s->get();
    if (text.empty() || text.back() != '.')
      return error(node, "origin '" + text + "' must be an absolute name ending in '.'");
    std::string err;
    auto wire = name_from_text(text, {}, &err);
    if (!wire) return error(node, "invalid origin: " + err);
    origin_ = *wire;
    builder_.emplace(origin_, file_);
  }

  // TTLs are signed 31-bit values (RFC 2181 section 8).
  std::optional<std::uint32_t> read_ttl(const toml::node& node) {
    const auto* i = node.as_integer();
    if (!i) {
      error(node, "TTL must be an integer number of seconds");
      return std::nullopt;
    }
    if (i->get() < 0 || i->get() > static_cast<std::int64_t>(kMaxTtl)) {
      error(node, "TTL out of range (0..2147483647)");
      return std::nullopt;
    }
    return static_cast<std::uint32_t>(i->get());
  }

  std::optional<std::uint32_t> read_u32(const toml::node& node, std::string_view what) {
    const auto* i = node.as_integer();
    if (!i || i->get() < 0 || i->get() > 0xffffffffLL) {
      error(node, "'" + std::string(what) + "' must be an integer from 0 to 4294967295");
      return std::nullopt;
    }
    return static_cast<std::uint32_t>(i->get());
  }

  std::optional<std::string> read_soa_name(const toml::table& soa, std::string_view key) {
    const toml::node* node = soa.get(key);
    if (!node) {
      error(soa, "[soa] is missing '" + std::string(key) + "'");
      return std::nullopt;
    }
    const auto* s = node->as_string();
    if (!s) {
      error(*node, "'" + std::string(key) + "' must be a domain name string");
      return std::nullopt;
    }
    std::string text = s->get();
    if (key == "rname")
      if (auto name = email_to_name(text)) text = *name;
    std::string err;
    auto wire = name_from_text(text, origin_, &err);
    if (!wire) error(*node, "bad '" + std::string(key) + "': " + err);
    return wire;
  }

  std::optional<std::uint32_t> read_serial(const toml::table& soa) {
    const toml::node* node = soa.get("serial");
    if (!node) {
      error(soa, "[soa] is missing 'serial' (a number, or \"auto\" for the file's modification time)");
      return std::nullopt;
    }
    if (const auto* s = node->as_string()) {
      // The file's mtime (wraps in 2106, as serials do), but never at or
      // below the serial already served: two edits in one second, or a
      // clock set back, must still move the serial forward (RFC 1982 order).
      if (s->get() == "auto") {
        const auto t = static_cast<std::uint32_t>(mtime_);
        const std::uint32_t floor = opts_.min_auto_serial;
        return floor != 0 && static_cast<std::int32_t>(floor - t) > 0 ? floor : t;
      }
      error(*node, "serial must be a number or \"auto\"");
      return std::nullopt;
    }
    return read_u32(*node, "serial");
  }

  // Wire SOA built by hand: mname, rname, then five 32-bit fields.
  void read_soa(const toml::table& soa) {
    for (const auto& [key, node] : soa) {
      static constexpr std::string_view known[] = {"mname",  "rname",   "serial", "refresh",
                                                   "retry",  "expire",  "minimum", "ttl"};
      if (std::find(std::begin(known), std::end(known), key.str()) == std::end(known))
        error(key, "unknown key '" + std::string(key.str()) + "' in [soa] (expected mname, rname, "
                   "serial, refresh, retry, expire, minimum, ttl)");
    }
    auto mname = read_soa_name(soa, "mname");
    auto rname = read_soa_name(soa, "rname");
    auto serial = read_serial(soa);
    auto timer = [&](std::string_view key, std::uint32_t dflt) -> std::optional<std::uint32_t> {
      const toml::node* n = soa.get(key);
      if (!n) return dflt;
      return key == "minimum" ? read_ttl(*n) : read_u32(*n, key);
    };
    auto refresh = timer("refresh", kDefaultRefresh), retry = timer("retry", kDefaultRetry),
         expire = timer("expire", kDefaultExpire), minimum = timer("minimum", kDefaultMinimum);
    std::optional<std::uint32_t> ttl = ttl_;
    if (const toml::node* n = soa.get("ttl")) ttl = read_ttl(*n);
    if (!mname || !rname || !serial || !refresh || !retry || !expire || !minimum || !ttl) return;

    std::string wire = *mname + *rname;
    for (std::uint32_t v : {*serial, *refresh, *retry, *expire, *minimum}) put_u32(wire, v);
    add(origin_, rrtype::SOA, *ttl, std::move(wire), loc(soa));
  }

  void read_records(const toml::table& records) {
    for (const auto& [key, node] : records) {
      if (const auto* t = node.as_table()) {
        Owner owner({std::string(key.str())}, t);
        read_owner(owner);
      } else {
        error(key, "'" + std::string(key.str()) + "' under [records] must be a table of record "
                   "types, e.g. [records." + std::string(key.str()) + "] A = \"192.0.2.1\"");
      }
    }
  }

  // Resolves the owner's name on first use, so tables that only hold
  // sub-names (the implicit `_sip` of `[records._sip._tcp]`) are never checked.
  const std::string* owner_wire(Owner& owner, const toml::key& where) {
    if (owner.resolved) return owner.wire ? &*owner.wire : nullptr;
    owner.resolved = true;
    const std::string text = owner.text();
    if (owner.path.size() > 1 &&
        std::any_of(owner.path.begin(), owner.path.end(), [](const std::string& k) { return k == "@"; })) {
      error(where, "'@' (the origin) cannot be combined with other labels in '" + text + "'");
      return nullptr;
    }
    std::string err;
    auto wire = name_from_text(text, origin_, &err);
    if (!wire) {
      error(where, "invalid owner name '" + text + "': " + err);
      return nullptr;
    }
    if (!is_subdomain(lowered(*wire), lowered(origin_))) {
      error(where, "owner '" + name_to_text(*wire) + "' is outside the zone origin " +
                       name_to_text(origin_));
      return nullptr;
    }
    owner.wire = std::move(wire);
    return &*owner.wire;
  }

  void read_owner(Owner& owner) {
    for (const auto& [key, node] : *owner.table) {
      const std::string k(key.str());
      std::optional<std::uint16_t> type;
      if (!has_lower(k)) type = rr_type_from_name(k);
      if (type) {
        read_type(owner, key, *type, node);
      } else if (const auto* t = node.as_table()) {
        Owner child(owner.path, t);
        child.path.push_back(k);
        read_owner(child);
      } else {
        unknown_key(owner, key);
      }
    }
  }

  void unknown_key(const Owner& owner, const toml::key& key) {
    const std::string k(key.str());
    std::string msg = "unknown record type '" + k + "'";
    const std::string& last = owner.path.back();
    if (has_lower(k) && rr_type_from_name(k)) {
      msg += " (did you mean '" + upper(k) + "'? record types are written in upper case)";
    } else if ((k == "values" || k == "ttl") && has_lower(last) && rr_type_from_name(last)) {
      // `aaaa = { values = [...] }` is read as a sub-name "aaaa".
      msg += " ('" + last + "' is read as a sub-name; did you mean the record type '" + upper(last) + "'?)";
    } else {
      msg += " (record types are written in upper case, e.g. A, AAAA, MX; a table here is a sub-name)";
    }
    error(key, std::move(msg));
  }

  // A type's value: "rdata", ["rdata", ...] or { ttl = N, values = ... }.
  void read_type(Owner& owner, const toml::key& key, std::uint16_t type, const toml::node& node) {
    const std::string name = rr_type_name(type);
    if (is_meta_type(type)) return error(key, "type " + name + " cannot appear in zone data");
    if (type == rrtype::SOA) return error(key, "the SOA record is written in the [soa] table");

    std::uint32_t ttl = ttl_;
    if (const auto* t = node.as_table(); t && PolicyLoader::is_policy_table(*t))
      return read_policy(owner, key, type, *t);
    const toml::node* values = &node;
    if (const auto* t = node.as_table()) {
      values = read_type_table(*t, key, ttl);
      if (!values) return;
    }
    const std::string* wire = owner_wire(owner, key);
    if (const auto* s = values->as_string()) {
      add_value(wire, type, ttl, *s);
    } else if (const auto* arr = values->as_array()) {
      if (arr->empty()) error(*values, "'" + name + "' has no values");
      for (const auto& el : *arr) {
        if (const auto* s = el.as_string()) add_value(wire, type, ttl, *s);
        else error(el, name + " values must be strings");
      }
    } else {
      error(*values, "'" + name + "' must be a string, an array of strings or a table with 'values'");
    }
  }

  // A type table with routing-policy keys (docs/zone-format.md, "Routing
  // policies"): the policy loader reads and compiles it into one RRset.
  void read_policy(Owner& owner, const toml::key& key, std::uint16_t type, const toml::table& t) {
    std::uint32_t ttl = ttl_;
    if (const toml::node* n = t.get("ttl")) ttl = read_ttl(*n).value_or(ttl);
    const std::string* wire = owner_wire(owner, key);
    auto rrset = policies_->read_rrset(t, key, type, ttl, wire ? name_to_text(*wire) : owner.text());
    if (!rrset || !wire || !builder_) return;
    builder_->add_policy_rrset(PolicyRRsetInput{*wire, type, rrset->ttl, rrset->ttl_when_degraded,
                                                std::move(rrset->rdata), std::move(rrset->policy), loc(key),
                                                std::move(rrset->cname_targets)});
  }

  // Reads the keys of a type table without a policy; returns its `values`
  // node, or null when the table cannot give records. Sets `ttl` when the
  // table has one.
  const toml::node* read_type_table(const toml::table& t, const toml::key& type_key, std::uint32_t& ttl) {
    for (const auto& [k, n] : t)
      if (k.str() != "values" && k.str() != "ttl")
        error(k, "unknown key '" + std::string(k.str()) + "' in " + std::string(type_key.str()) +
                     " (expected 'values' and optionally 'ttl')");
    if (const toml::node* n = t.get("ttl")) ttl = read_ttl(*n).value_or(ttl);
    const toml::node* values = t.get("values");
    if (!values) error(type_key, std::string(type_key.str()) + " table has no 'values'");
    return values;
  }

  // Converts one rdata string. Runs even when the owner is bad so that every
  // bad value in the file is reported in one pass.
  void add_value(const std::string* owner, std::uint16_t type, std::uint32_t ttl,
                 const toml::value<std::string>& value) {
    std::string wire, err;
    if (!rdata_from_text_any(type, value.get(), origin_, wire, err)) return error(value, err);
    if (owner) add(*owner, type, ttl, std::move(wire), loc(value));
  }

  void add(const std::string& owner, std::uint16_t type, std::uint32_t ttl, std::string rdata, SourceLoc where) {
    if (builder_) builder_->add(RecordInput{owner, type, ttl, std::move(rdata), std::move(where)});
  }

  std::string file_;
  long long mtime_;
  ZoneLoadOptions opts_;
  // Without a valid origin names resolve against the root, so the rest of
  // the file is still checked; nothing is built.
  std::string origin_ = std::string(1, '\0');
  std::uint32_t ttl_ = kDefaultTtl;
  std::optional<ZoneBuilder> builder_;
  Diagnostics errors_;
  std::optional<PolicyLoader> policies_;  // after errors_, which it reports into
};

}  // namespace

ZoneLoadResult load_toml_zone_text(std::string_view text, const std::string& display_path,
                                   long long mtime, const ZoneLoadOptions& opts) {
  if (!opts.tree_only)
    if (auto fast = Loader(display_path, mtime, opts).run_fast(text)) return std::move(*fast);
  return Loader(display_path, mtime, opts).run(text);
}

bool read_zone_file(const std::string& path, std::string& text, long long& mtime, std::string& error) {
  auto unreadable = [&](int err) {
    error = std::string("cannot read file: ") + std::strerror(err);
    return false;
  };
  // stat first: an ifstream opens a directory without complaint.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return unreadable(errno);
  if (S_ISDIR(st.st_mode)) return unreadable(EISDIR);
  std::ifstream in(path, std::ios::binary);
  if (!in) return unreadable(errno);
  // Sized from stat and read in one go: a stringstream grows by doubling
  // and copies again into the result (a 38 MB zone: ~100 MB moved).
  text.assign(static_cast<std::size_t>(st.st_size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return unreadable(errno);
  text.resize(static_cast<std::size_t>(in.gcount()));
  // A file that grew since stat: read the rest too.
  std::ostringstream rest;
  if (!in.eof()) rest << in.rdbuf();
  if (in.bad()) return unreadable(errno);
  text += std::move(rest).str();
  mtime = static_cast<long long>(st.st_mtime);
  return true;
}

ZoneLoadResult load_toml_zone_file(const std::string& path, const ZoneLoadOptions& opts) {
  std::string text, error;
  long long mtime = 0;
  if (!read_zone_file(path, text, mtime, error)) {
    ZoneLoadResult r;
    r.errors.push_back({{path, 0, 0}, error});
    return r;
  }
  return load_toml_zone_text(text, path, mtime, opts);
}

}  // namespace meridian
