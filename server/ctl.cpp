#include "server/ctl.hpp"

#include <curl/curl.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>

namespace meridian {

namespace {

using nlohmann::json;

struct HttpResult {
  long status = 0;
  std::string body;
  std::string error;
};

std::size_t collect(char* p, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

HttpResult request(const std::string& admin, const std::string& token, const std::string& method,
                   const std::string& path) {
  HttpResult r;
  CURL* c = curl_easy_init();
  if (!c) {
    r.error = "cannot initialise libcurl";
    return r;
  }
  const std::string url = "http://" + admin + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "POST") curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");  // the admin endpoint is local
  curl_slist* headers = nullptr;
  if (!token.empty()) {
    const std::string h = "Authorization: Bearer " + token;
    headers = curl_slist_append(headers, h.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR)
    r.error = std::string("the admin endpoint at ") + admin + " closed the connection (" + curl_easy_strerror(rc) +
              "): is this address in its [admin] allow list?";
  else if (rc != CURLE_OK)
    r.error = std::string("cannot reach the admin endpoint at ") + admin + ": " + curl_easy_strerror(rc);
  curl_slist_free_all(headers);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_cleanup(c);
  return r;
}

std::string escape(const std::string& s) {
  CURL* c = curl_easy_init();
  char* e = curl_easy_escape(c, s.c_str(), static_cast<int>(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  curl_easy_cleanup(c);
  return out;
}

std::string str_or(const json& v, const char* dflt = "-") {
  return v.is_string() && !v.get<std::string>().empty() ? v.get<std::string>() : std::string(dflt);
}

// "4.2s", "3m12s", "2h05m", "-" (never).
std::string age_text(const json& v) {
  if (!v.is_number()) return "-";
  const double s = v.get<double>();
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1fs", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  else std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, int(s) % 3600 / 60);
  return buf;
}

void print_health(const json& j) {
  std::printf("%-20s %-8s %-5s %-10s %-8s %-6s %-8s %-34s %s\n", "CHECK", "TYPE", "STATE", "CONFIGURED", "OVERRIDE",
              "RESULT", "CHANGED", "REASON", "STEERS");
  for (const auto& c : j.at("checks")) {
    std::string steers;
    if (c.contains("steers"))
      for (const auto& s : c.at("steers")) steers += (steers.empty() ? "" : ", ") + s.get<std::string>();
    std::printf("%-20s %-8s %-5s %-10s %-8s %-6s %-8s %-34s %s\n", c.at("name").get<std::string>().c_str(),
                str_or(c.value("type", json())).c_str(), c.at("state").get<std::string>().c_str(),
                c.at("configured").get<std::string>().c_str(), str_or(c.at("override")).c_str(),
                str_or(c.value("last_result", json())).c_str(),
                (age_text(c.value("last_change_age_seconds", json())) + (c.value("last_change_age_seconds", json()).is_number() ? " ago" : "")).c_str(),
                str_or(c.value("reason", json())).c_str(), steers.empty() ? "-" : steers.c_str());
  }
}

void print_zones(const json& zones) {
  for (const auto& z : zones) {
    const json& at = z.value("loaded_at", json());
    std::printf("zone %s serial %u, %zu records (%s, loaded %s)\n", z.at("origin").get<std::string>().c_str(),
                z.at("serial").get<unsigned>(), z.at("records").get<std::size_t>(),
                z.at("file").get<std::string>().c_str(), at.is_string() ? at.get<std::string>().c_str() : "-");
  }
}

void print_status(const json& j) {
  std::printf("uptime %llds, %llu zone load(s)\n", j.at("uptime_seconds").get<long long>(),
              j.at("reloads").get<unsigned long long>());
  if (j.contains("tcp")) std::printf("tcp connections %u\n", j["tcp"].at("connections").get<unsigned>());
  if (j.contains("rrl") && j["rrl"].at("enabled").get<bool>())
    std::printf("rrl dropped %llu, slipped %llu, evictions %llu\n", j["rrl"].at("dropped").get<unsigned long long>(),
                j["rrl"].at("slipped").get<unsigned long long>(), j["rrl"].at("evictions").get<unsigned long long>());
  print_zones(j.at("zones"));
  if (j.contains("reload")) {
    const json& r = j["reload"];
    auto text = [&](const char* k) { return r[k].is_string() ? r[k].get<std::string>() : std::string("never"); };
    std::printf("last reload %s (%llu failed of %llu; last success %s)\n", text("last").c_str(),
                r.at("failures").get<unsigned long long>(), r.at("count").get<unsigned long long>(),
                text("last_success").c_str());
    for (const auto& e : r.at("errors")) std::printf("  error: %s\n", e.get<std::string>().c_str());
  }
  for (const auto& d : j.at("geoip")) {
    // The metadata's build time, as a date: how stale the data is.
    const std::time_t built = static_cast<std::time_t>(d.at("build_epoch").get<unsigned long long>());
    std::tm tm{};
    gmtime_r(&built, &tm);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    std::printf("geoip %s (%s, built %s)\n", d.at("path").get<std::string>().c_str(),
                d.at("type").get<std::string>().c_str(), date);
  }
}

int usage() {
  std::fprintf(stderr,
               "usage: meridian ctl [--admin ADDR] [--config FILE] [--token-file FILE] COMMAND\n"
               "  status | health | reload [ZONE] | state NAME up|down|auto | explain NAME TYPE CLIENT\n");
  return 2;
}

}  // namespace

int run_ctl(const std::string& admin, const std::string& token, const std::vector<std::string>& args, bool as_json) {
  if (args.empty()) return usage();
  const std::string& cmd = args[0];
  std::string method = "GET", path;
  if (cmd == "status" && args.size() == 1) path = "/status";
  else if (cmd == "health" && args.size() == 1) path = "/health";
  else if (cmd == "reload" && args.size() <= 2)
    method = "POST", path = args.size() == 2 ? "/reload/" + escape(args[1]) : "/reload";
  else if (cmd == "state" && args.size() == 3) method = "POST", path = "/health/" + escape(args[1]) + "/" + escape(args[2]);
  else if (cmd == "explain" && args.size() == 4)
    path = "/explain?name=" + escape(args[1]) + "&type=" + escape(args[2]) + "&client=" + escape(args[3]);
  else return usage();

  curl_global_init(CURL_GLOBAL_DEFAULT);
  HttpResult r = request(admin, token, method, path);
  curl_global_cleanup();
  if (!r.error.empty()) {
    std::fprintf(stderr, "%s\n", r.error.c_str());
    return 1;
  }
  const bool ok = r.status >= 200 && r.status < 300;
  if (as_json || cmd == "explain") {
    std::fputs(r.body.c_str(), ok ? stdout : stderr);
    return ok ? 0 : 1;
  }
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) {
    std::fprintf(stderr, "admin endpoint answered %ld with a body that is not JSON\n", r.status);
    return 1;
  }
  if (r.status == 401) {
    std::fprintf(stderr, "admin endpoint: %s (set [admin] token in the config given with --config, or --token-file)\n",
                 j.value("error", std::string("unauthorized")).c_str());
    return 1;
  }
  if (!ok && j.contains("error")) {
    std::fprintf(stderr, "%s\n", j["error"].get<std::string>().c_str());
    return 1;
  }
  if (cmd == "health") print_health(j);
  else if (cmd == "status") print_status(j);
  else if (cmd == "state")
    for (const auto& n : j.at("changed")) std::printf("%s: %s\n", n.get<std::string>().c_str(), args[2].c_str());
  else if (cmd == "reload") {
    for (const auto& e : j.at("errors")) std::fprintf(stderr, "%s\n", e.get<std::string>().c_str());
    print_zones(j.at("zones"));
  }
  return ok ? 0 : 1;
}

}  // namespace meridian
