#include "zones/check_spec.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <set>

#include "zones/name.hpp"
#include "zones/rdata.hpp"

namespace meridian {

namespace {

constexpr const char* kTypes = "tcp, http, https, dns, file, all, any or at_least";

struct Rcode {
  const char* name;
  std::uint8_t value;
};
constexpr Rcode kRcodes[] = {{"NOERROR", 0}, {"FORMERR", 1},  {"SERVFAIL", 2}, {"NXDOMAIN", 3},
                             {"NOTIMP", 4},  {"REFUSED", 5},  {"YXDOMAIN", 6}, {"YXRRSET", 7},
                             {"NXRRSET", 8}, {"NOTAUTH", 9},  {"NOTZONE", 10}};

std::string qt(std::string_view s) { return "'" + std::string(s) + "'"; }

SourceLoc loc_of(const std::string& file, const toml::source_region& r) {
  return {file, static_cast<std::uint32_t>(r.begin.line), static_cast<std::uint32_t>(r.begin.column)};
}

// The keys each type accepts, besides `type`.
std::vector<std::string_view> keys_for(CheckType t) {
  static const std::vector<std::string_view> probe{"interval", "timeout", "rise", "fall", "initial", "invert"};
  std::vector<std::string_view> k;
  if (is_probe(t)) k = probe;
  switch (t) {
    case CheckType::Manual:
      return {"state"};
    case CheckType::Tcp:
      k.push_back("address");
      break;
    case CheckType::Https:
      k.insert(k.end(), {"insecure", "ca_file"});
      [[fallthrough]];
    case CheckType::Http:
      k.insert(k.end(), {"url", "host", "expect_status", "expect_body"});
      break;
    case CheckType::Dns:
      k.insert(k.end(), {"address", "query", "query_type", "expect_rcode", "expect_answer", "transport"});
      break;
    case CheckType::File:
      k.push_back("path");
      break;
    case CheckType::AtLeast:
      k.push_back("n");
      [[fallthrough]];
    case CheckType::All:
    case CheckType::Any:
      k.insert(k.end(), {"children", "invert"});
      break;
  }
  return k;
}

// "192.0.2.1:53", "[2001:db8::1]:53"; without a port, `default_port` (0: required).
bool valid_address(std::string_view text, unsigned default_port) {
  if (text.empty()) return false;
  std::string host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
    in6_addr a6;
    if (inet_pton(AF_INET6, host.c_str(), &a6) != 1) return false;
  } else {
    auto colon = text.rfind(':');
    host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) port = text.substr(colon + 1);
    in_addr a4;
    if (inet_pton(AF_INET, host.c_str(), &a4) != 1) return false;
  }
  if (port.empty()) return default_port != 0 && (text.front() != '[' || text.back() == ']');
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  return ec == std::errc() && ptr == port.data() + port.size() && p >= 1 && p <= 65535;
}

class Reader {
 public:
  Reader(const std::string& file, Diagnostics& errors) : file_(file), errors_(errors) {
    namespace fs = std::filesystem;
    base_dir_ = fs::path(file).parent_path().string();
    if (base_dir_.empty()) base_dir_ = ".";
  }

  std::optional<CheckSpec> read(const std::string& name, const toml::key& key, const toml::node& node) {
    const auto* t = node.as_table();
    if (!t) {
      error(node.source(), "check " + qt(name) + " must be a table such as { type = \"tcp\", address = "
                           "\"192.0.2.1:80\" } or { state = \"down\" }");
      return std::nullopt;
    }
    const std::size_t before = errors_.size();
    CheckSpec s;
    s.name = name;
    s.loc = loc_of(file_, key.source());
    s.base_dir = base_dir_;
    name_ = name;
    if (const toml::node* ty = t->get("type")) {
      const auto* str = ty->as_string();
      std::optional<CheckType> ct = str ? check_type_from_text(str->get()) : std::nullopt;
      if (!ct || *ct == CheckType::Manual) {
        error(ty->source(), str ? "unknown check type " + qt(str->get()) + " (expected " + kTypes + ")"
                                : std::string("'type' must be a string: ") + kTypes);
        return std::nullopt;
      }
      s.type = *ct;
    } else if (!t->get("state")) {
      error(key.source(), "check " + qt(name) + " needs type = (" + kTypes +
                              ") for a probe or a calculated check, or state = \"up\" or \"down\" for a manual one");
      for (const auto& [k, v] : *t) unknown_key(k, "type, state");
      return std::nullopt;
    }
    const auto allowed = keys_for(s.type);
    std::string expected;
    for (auto k : allowed) expected += (expected.empty() ? "" : ", ") + std::string(k);
    for (const auto& [k, v] : *t) {
      if (k.str() == "type") continue;
      if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end()) {
        if (k.str() == "state") error(k.source(), "'state' is for manual checks, which have no 'type'");
        else unknown_key(k, s.type == CheckType::Manual ? "state; give 'type' for a probe" : expected);
      }
    }
    switch (s.type) {
      case CheckType::Manual: read_manual(*t, s); break;
      case CheckType::All:
      case CheckType::Any:
      case CheckType::AtLeast: read_calculated(*t, key, s); break;
      default: read_probe(*t, key, s); break;
    }
    if (errors_.size() != before) return std::nullopt;
    return s;
  }

 private:
  void error(const toml::source_region& r, std::string msg) { errors_.push_back({loc_of(file_, r), std::move(msg)}); }
  void unknown_key(const toml::key& k, const std::string& expected) {
    error(k.source(), "unknown key " + qt(k.str()) + " in check " + qt(name_) + " (expected " + expected + ")");
  }

  void read_manual(const toml::table& t, CheckSpec& s) {
    const toml::node* state = t.get("state");
    const auto* str = state->as_string();
    auto hs = str ? health_state_from_text(str->get()) : std::nullopt;
    if (!hs) error(state->source(), "'state' must be \"up\" or \"down\"");
    else s.state = *hs;
  }

  const std::string* string_key(const toml::table& t, const char* key, bool nonempty = true) {
    const toml::node* n = t.get(key);
    if (!n) return nullptr;
    const auto* str = n->as_string();
    if (!str || (nonempty && str->get().empty())) {
      error(n->source(), std::string("'") + key + "' must be a" + (nonempty ? " non-empty" : "") + " string");
      return nullptr;
    }
    return &str->get();
  }

  std::optional<std::int64_t> int_key(const toml::table& t, const char* key, std::int64_t lo, std::int64_t hi) {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    const auto* i = n->as_integer();
    if (!i || i->get() < lo || i->get() > hi) {
      error(n->source(), std::string("'") + key + "' must be an integer from " + std::to_string(lo) + " to " +
                             std::to_string(hi));
      return std::nullopt;
    }
    return i->get();
  }

  std::optional<bool> bool_key(const toml::table& t, const char* key) {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (const auto* b = n->as_boolean()) return b->get();
    error(n->source(), std::string("'") + key + "' must be true or false");
    return std::nullopt;
  }

  std::optional<std::uint32_t> duration_key(const toml::table& t, const char* key, std::uint32_t lo, std::uint32_t hi) {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    std::optional<std::uint32_t> ms;
    if (const auto* str = n->as_string()) ms = parse_duration_ms(str->get());
    else if (const auto* i = n->as_integer(); i && i->get() >= 0 && i->get() <= 86400) ms = static_cast<std::uint32_t>(i->get() * 1000);
    if (!ms) {
      error(n->source(), std::string("'") + key + "' must be a duration such as \"200ms\", \"10s\" or \"1m\"");
      return std::nullopt;
    }
    if (*ms < lo || *ms > hi) {
      error(n->source(), std::string("'") + key + "' must be from " + format_duration(lo) + " to " + format_duration(hi));
      return std::nullopt;
    }
    return ms;
  }

  std::string resolve(const std::string& p) const {
    namespace fs = std::filesystem;
    fs::path path(p);
    if (path.is_relative()) path = fs::path(base_dir_) / path;
    return path.lexically_normal().string();
  }

  void read_probe(const toml::table& t, const toml::key& key, CheckSpec& s) {
    if (s.type == CheckType::File) s.rise = s.fall = 1;  // the file says the state; no need to confirm it
    if (auto v = duration_key(t, "interval", kMinIntervalMs, kMaxIntervalMs)) s.interval_ms = *v;
    if (auto v = duration_key(t, "timeout", kMinTimeoutMs, kMaxIntervalMs)) {
      s.timeout_ms = *v;
      if (s.timeout_ms >= s.interval_ms)
        error(t.get("timeout")->source(), "'timeout' (" + format_duration(s.timeout_ms) +
                                              ") must be shorter than 'interval' (" + format_duration(s.interval_ms) + ")");
    } else if (!t.get("timeout")) {
      s.timeout_ms = std::min(kDefaultTimeoutMs, s.interval_ms / 2);
    }
    if (auto v = int_key(t, "rise", 1, 100)) s.rise = static_cast<unsigned>(*v);
    if (auto v = int_key(t, "fall", 1, 100)) s.fall = static_cast<unsigned>(*v);
    if (const toml::node* n = t.get("initial")) {
      const auto* str = n->as_string();
      auto hs = str ? health_state_from_text(str->get()) : std::nullopt;
      if (!hs) error(n->source(), "'initial' must be \"up\" or \"down\"");
      else s.initial = *hs;
    }
    if (auto v = bool_key(t, "invert")) s.invert = *v;

    auto need = [&](const char* k) {
      error(key.source(), "check " + qt(s.name) + " (type " + std::string(check_type_name(s.type)) + ") needs '" +
                              k + "'");
    };
    switch (s.type) {
      case CheckType::Tcp:
        if (const auto* a = string_key(t, "address")) {
          if (!valid_address(*a, 0))
            error(t.get("address")->source(), "'address' must be an IP address and port, such as \"192.0.2.1:80\" "
                                              "or \"[2001:db8::1]:443\"");
          s.address = *a;
        } else if (!t.get("address")) {
          need("address");
        }
        break;
      case CheckType::Http:
      case CheckType::Https: {
        const std::string scheme = s.type == CheckType::Http ? "http://" : "https://";
        if (const auto* u = string_key(t, "url")) {
          if (u->rfind(scheme, 0) != 0 || u->size() == scheme.size() || (*u)[scheme.size()] == '/')
            error(t.get("url")->source(), "'url' of a check of type " + std::string(check_type_name(s.type)) +
                                              " must start with " + scheme + " and a host");
          s.url = *u;
        } else if (!t.get("url")) {
          need("url");
        }
        if (const auto* h = string_key(t, "host")) s.host = *h;
        if (const auto* b = string_key(t, "expect_body")) {
          if (b->size() > kHttpBodyLimit) error(t.get("expect_body")->source(), "'expect_body' is longer than 5 KiB");
          s.expect_body = *b;
        }
        if (const toml::node* n = t.get("expect_status")) {
          auto one = [&](const toml::node& e) {
            const auto* i = e.as_integer();
            if (!i || i->get() < 100 || i->get() > 599)
              return error(e.source(), "'expect_status' must be an HTTP status (100 to 599) or an array of them");
            s.expect_status.push_back(static_cast<int>(i->get()));
          };
          if (const auto* arr = n->as_array()) {
            if (arr->empty()) error(n->source(), "'expect_status' is an empty array");
            for (const auto& e : *arr) one(e);
          } else {
            one(*n);
          }
          std::sort(s.expect_status.begin(), s.expect_status.end());
          s.expect_status.erase(std::unique(s.expect_status.begin(), s.expect_status.end()), s.expect_status.end());
        }
        if (auto v = bool_key(t, "insecure")) s.insecure = *v;
        if (const auto* c = string_key(t, "ca_file")) {
          s.ca_file = resolve(*c);
          if (::access(s.ca_file.c_str(), R_OK) != 0)
            error(t.get("ca_file")->source(), "cannot read 'ca_file' " + s.ca_file);
          if (s.insecure) error(t.get("ca_file")->source(), "'ca_file' is not used with insecure = true");
        }
        break;
      }
      case CheckType::Dns: {
        if (const auto* a = string_key(t, "address")) {
          if (!valid_address(*a, 53))
            error(t.get("address")->source(), "'address' must be the DNS server's IP address, optionally with a "
                                              "port: \"192.0.2.53\", \"192.0.2.53:5353\" or \"[2001:db8::53]:53\"");
          s.address = *a;
        } else if (!t.get("address")) {
          need("address");
        }
        if (const auto* q = string_key(t, "query")) {
          std::string err;
          auto wire = name_from_text(*q, std::string(1, '\0'), &err);
          if (!wire) error(t.get("query")->source(), "bad 'query': " + err);
          else s.query = name_to_text(*wire);
        } else if (!t.get("query")) {
          need("query");
        }
        if (const auto* qtype = string_key(t, "query_type")) {
          auto type = rr_type_from_name(*qtype);
          if (!type) error(t.get("query_type")->source(), "unknown record type " + qt(*qtype));
          else s.query_type = *type;
        }
        if (const toml::node* n = t.get("expect_rcode")) {
          bool ok = false;
          if (const auto* str = n->as_string())
            for (const auto& r : kRcodes)
              if (str->get() == r.name) {
                s.expect_rcode = r.value;
                ok = true;
              }
          if (!ok) error(n->source(), "'expect_rcode' must be an rcode name such as \"NOERROR\", \"NXDOMAIN\" or \"REFUSED\"");
        }
        if (const auto* a = string_key(t, "expect_answer")) {
          std::string wire, err;
          if (!rdata_from_text(s.query_type, *a, std::string(1, '\0'), wire, err))
            error(t.get("expect_answer")->source(), "bad 'expect_answer' for type " + rr_type_name(s.query_type) +
                                                        ": " + err);
          s.expect_answer = *a;
        }
        if (const toml::node* n = t.get("transport")) {
          const auto* str = n->as_string();
          if (str && (str->get() == "udp" || str->get() == "tcp")) s.dns_tcp_only = str->get() == "tcp";
          else error(n->source(), "'transport' must be \"udp\" (TCP after a truncated reply) or \"tcp\"");
        }
        break;
      }
      case CheckType::File:
        if (const auto* p = string_key(t, "path")) s.path = resolve(*p);
        else if (!t.get("path")) need("path");
        break;
      default:
        break;
    }
  }

  void read_calculated(const toml::table& t, const toml::key& key, CheckSpec& s) {
    if (auto v = bool_key(t, "invert")) s.invert = *v;
    const toml::node* c = t.get("children");
    if (!c) {
      error(key.source(), "check " + qt(s.name) + " (type " + std::string(check_type_name(s.type)) +
                              ") needs 'children', the names of the checks it combines");
    } else if (const auto* arr = c->as_array(); arr && !arr->empty()) {
      for (const auto& e : *arr) {
        const auto* str = e.as_string();
        if (!str || str->get().empty()) {
          error(e.source(), "'children' must be names of checks (strings)");
        } else if (std::find(s.children.begin(), s.children.end(), str->get()) != s.children.end()) {
          error(e.source(), "child " + qt(str->get()) + " is listed twice");
        } else {
          s.children.push_back(str->get());
          s.child_locs.push_back(loc_of(file_, e.source()));
        }
      }
    } else {
      error(c->source(), "'children' must be a non-empty array of check names");
    }
    if (s.type == CheckType::AtLeast) {
      if (!t.get("n")) error(key.source(), "check " + qt(s.name) + " (type at_least) needs 'n', how many children must be up");
      else if (auto v = int_key(t, "n", 1, std::max<std::int64_t>(1, static_cast<std::int64_t>(s.children.size()))))
        s.n = static_cast<unsigned>(*v);
    }
  }

  const std::string& file_;
  Diagnostics& errors_;
  std::string base_dir_;
  std::string name_;
};

}  // namespace

std::string_view check_type_name(CheckType t) {
  switch (t) {
    case CheckType::Manual: return "manual";
    case CheckType::Tcp: return "tcp";
    case CheckType::Http: return "http";
    case CheckType::Https: return "https";
    case CheckType::Dns: return "dns";
    case CheckType::File: return "file";
    case CheckType::All: return "all";
    case CheckType::Any: return "any";
    case CheckType::AtLeast: return "at_least";
  }
  return "?";
}

std::optional<CheckType> check_type_from_text(std::string_view s) {
  for (CheckType t : {CheckType::Manual, CheckType::Tcp, CheckType::Http, CheckType::Https, CheckType::Dns,
                      CheckType::File, CheckType::All, CheckType::Any, CheckType::AtLeast})
    if (check_type_name(t) == s) return t;
  return std::nullopt;
}

std::optional<std::uint32_t> parse_duration_ms(std::string_view text) {
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr == text.data()) return std::nullopt;
  const std::string_view unit(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
  std::uint64_t mult;
  if (unit == "ms") mult = 1;
  else if (unit == "s" || unit.empty()) mult = 1000;
  else if (unit == "m") mult = 60'000;
  else if (unit == "h") mult = 3'600'000;
  else return std::nullopt;
  if (v > 100ull * 24 * 3600 * 1000 / mult) return std::nullopt;
  const std::uint64_t ms = v * mult;
  if (ms > 0xffffffffull) return std::nullopt;
  return static_cast<std::uint32_t>(ms);
}

std::string format_duration(std::uint32_t ms) {
  if (ms % 3'600'000 == 0 && ms) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0 && ms) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0 && ms) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string CheckSpec::canonical() const {
  std::string c(check_type_name(type));
  auto add = [&](std::string_view k, const std::string& v) {
    c += '|';
    c += k;
    c += '=';
    c += v;
  };
  if (type == CheckType::Manual) {
    add("state", std::string(health_state_name(state)));
    return c;
  }
  add("invert", invert ? "1" : "0");
  if (is_calculated(type)) {
    std::string ch;
    for (const auto& x : children) ch += x + ",";
    add("children", ch);
    if (type == CheckType::AtLeast) add("n", std::to_string(n));
    return c;
  }
  add("interval", std::to_string(interval_ms));
  add("timeout", std::to_string(timeout_ms));
  add("rise", std::to_string(rise));
  add("fall", std::to_string(fall));
  add("initial", std::string(health_state_name(initial)));
  add("address", address);
  add("url", url);
  add("host", host);
  std::string st;
  for (int x : expect_status) st += std::to_string(x) + ",";
  add("expect_status", st);
  add("expect_body", expect_body);
  add("insecure", insecure ? "1" : "0");
  add("ca_file", ca_file);
  add("query", query);
  add("query_type", std::to_string(query_type));
  add("expect_rcode", std::to_string(expect_rcode));
  add("expect_answer", expect_answer);
  add("transport", dns_tcp_only ? "tcp" : "udp");
  add("path", path);
  return c;
}

std::string CheckSpec::target() const {
  switch (type) {
    case CheckType::Manual:
      return "state " + std::string(health_state_name(state));
    case CheckType::Tcp:
      return address;
    case CheckType::Http:
    case CheckType::Https:
      return host.empty() ? url : url + " (host " + host + ")";
    case CheckType::Dns:
      return query + " " + rr_type_name(query_type) + " @" + address;
    case CheckType::File:
      return path;
    default: {
      std::string s = type == CheckType::All ? "all of " : type == CheckType::Any ? "any of " : std::to_string(n) + " of ";
      for (std::size_t i = 0; i < children.size(); ++i) s += (i ? ", " : "") + children[i];
      return invert ? "not " + s : s;
    }
  }
}

void read_check_table(const std::string& file, const toml::node& checks, std::vector<CheckSpec>& out,
                      Diagnostics& errors) {
  const auto* t = checks.as_table();
  if (!t) {
    errors.push_back({loc_of(file, checks.source()), "'checks' must be a table of named checks ([checks.NAME])"});
    return;
  }
  Reader r(file, errors);
  for (const auto& [k, v] : *t)
    if (auto spec = r.read(std::string(k.str()), k, v)) out.push_back(std::move(*spec));
}

const CheckSpec* find_check(const std::vector<CheckSpec>& specs, std::string_view name) {
  for (const auto& s : specs)
    if (s.name == name) return &s;
  return nullptr;
}

void validate_check_set(const std::vector<CheckSpec>& local, const std::vector<CheckSpec>* outer, bool resolve,
                        Diagnostics& errors) {
  if (outer)
    for (const auto& s : local)
      if (const CheckSpec* o = find_check(*outer, s.name); o && !o->same_definition(s))
        errors.push_back({s.loc, "check " + qt(s.name) + " is already defined differently at " + o->loc.file + ":" +
                                     std::to_string(o->loc.line) + " (one name, one definition: rename one of them)"});
  for (const auto& s : local) {
    if (!resolve) break;
    for (std::size_t i = 0; i < s.children.size(); ++i)
      if (!find_check(local, s.children[i]) && !(outer && find_check(*outer, s.children[i])))
        errors.push_back({s.child_locs.size() > i ? s.child_locs[i] : s.loc,
                          "check " + qt(s.name) + " has an unknown child " + qt(s.children[i]) +
                              " (declare it as [checks." + s.children[i] + "])"});
  }
  // Cycles among the local calculated checks (outer checks never name local ones).
  enum Color : std::uint8_t { White, Grey, Black };
  std::map<std::string, Color, std::less<>> color;
  std::vector<std::string> stack;
  std::set<std::string> reported;
  auto visit = [&](auto& self, const CheckSpec& s) -> void {
    color[s.name] = Grey;
    stack.push_back(s.name);
    for (std::size_t i = 0; i < s.children.size(); ++i) {
      const CheckSpec* c = find_check(local, s.children[i]);
      if (!c) continue;
      const Color col = color[c->name];
      if (col == White) {
        self(self, *c);
      } else if (col == Grey) {
        auto from = std::find(stack.begin(), stack.end(), c->name);
        std::string path;
        for (auto it = from; it != stack.end(); ++it) path += qt(*it) + " -> ";
        if (reported.insert(c->name).second)
          errors.push_back({s.child_locs.size() > i ? s.child_locs[i] : s.loc,
                            "calculated checks refer to each other in a cycle: " + path + qt(c->name)});
      }
    }
    stack.pop_back();
    color[s.name] = Black;
  };
  for (const auto& s : local)
    if (is_calculated(s.type) && color[s.name] == White) visit(visit, s);
}

}  // namespace meridian
