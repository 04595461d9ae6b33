#include "geo/latency_model.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <unordered_map>

#include "geo/country_data.hpp"

namespace meridian {

namespace {

// A network in the measured table: family index (0 IPv4, 1 IPv6), prefix
// length and the address with the host bits cleared.
struct NetKey {
  std::uint8_t fam = 0;
  std::uint8_t len = 0;
  std::uint8_t addr[16] = {};
  bool operator==(const NetKey& o) const {
    return fam == o.fam && len == o.len && std::memcmp(addr, o.addr, 16) == 0;
  }
};

struct NetKeyHash {
  std::size_t operator()(const NetKey& k) const noexcept {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a
    auto mix = [&h](std::uint8_t b) { h = (h ^ b) * 1099511628211ull; };
    mix(k.fam);
    mix(k.len);
    for (std::uint8_t b : k.addr) mix(b);
    return static_cast<std::size_t>(h);
  }
};

NetKey make_key(std::uint8_t fam, std::uint8_t len, const std::uint8_t* addr) {
  NetKey k;
  k.fam = fam;
  k.len = len;
  const std::size_t bytes = fam == 0 ? 4 : 16;
  std::memcpy(k.addr, addr, bytes);
  for (std::size_t i = 0; i < bytes; ++i) {
    const int keep = std::clamp(static_cast<int>(len) - static_cast<int>(i * 8), 0, 8);
    k.addr[i] &= static_cast<std::uint8_t>(0xff00u >> keep);
  }
  return k;
}

std::uint16_t country_key(const char* cc) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(cc[0]) << 8) | static_cast<unsigned char>(cc[1]));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

struct LatencyModel::Impl {
  std::size_t nregions = 0;
  std::vector<float> rows;  // nregions figures per row; NaN = no figure
  std::unordered_map<NetKey, std::uint32_t, NetKeyHash> networks;
  std::unordered_map<std::uint16_t, std::uint32_t> countries;
  std::vector<std::uint8_t> lens[2];  // prefix lengths present per family, longest first

  std::uint32_t new_row() {
    rows.resize(rows.size() + nregions, std::nanf(""));
    return static_cast<std::uint32_t>(rows.size() / nregions - 1);
  }
  float cell(std::uint32_t row, std::size_t region) const { return rows[row * nregions + region]; }
};

LatencyModel::LatencyModel() : impl_(std::make_unique<Impl>()) {}
LatencyModel::~LatencyModel() = default;

bool LatencyModel::load_csv(const std::string& path, const std::vector<Region>& regions, Diagnostics& errors) {
  const std::size_t before = errors.size();
  std::ifstream in(path);
  if (!in) {
    errors.push_back({{path, 0, 0}, std::string("cannot open latency table: ") + std::strerror(errno)});
    return false;
  }
  auto next = std::make_unique<Impl>();
  next->nregions = regions.size();
  std::unordered_map<std::uint64_t, std::uint32_t> first_line;  // (row, region) -> line, for duplicates
  auto error = [&](std::uint32_t line, std::uint32_t col, std::string msg) {
    errors.push_back({{path, line, col}, std::move(msg)});
  };

  std::string raw;
  std::uint32_t lineno = 0;
  bool seen_data = false;
  while (std::getline(in, raw)) {
    ++lineno;
    std::string_view line(raw);
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    if (trim(line).empty()) continue;

    std::string_view fields[3];
    std::uint32_t cols[3] = {};
    std::size_t nfields = 0, start = 0;
    for (;;) {
      const std::size_t comma = line.find(',', start);
      const std::string_view f = line.substr(start, comma == std::string_view::npos ? line.npos : comma - start);
      if (nfields < 3) {
        const std::string_view t = trim(f);
        fields[nfields] = t;
        cols[nfields] = static_cast<std::uint32_t>((t.data() - raw.data()) + 1);
      }
      ++nfields;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (nfields != 3) {
      error(lineno, 1, "expected 3 fields \"client,region,rtt_ms\", got " + std::to_string(nfields));
      continue;
    }
    if (!seen_data && fields[0] == "client" && fields[1] == "region") {  // header
      seen_data = true;
      continue;
    }
    seen_data = true;

    // Region.
    std::size_t region = regions.size();
    for (std::size_t i = 0; i < regions.size(); ++i)
      if (regions[i].name == fields[1]) region = i;
    if (region == regions.size()) {
      std::string known;
      for (const auto& r : regions) known += (known.empty() ? "" : ", ") + r.name;
      error(lineno, cols[1],
            "unknown region '" + std::string(fields[1]) + "' (regions: " + (known.empty() ? "none" : known) + ")");
      continue;
    }

    // RTT.
    float rtt = 0;
    {
      const std::string_view f = fields[2];
      auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), rtt);
      if (ec != std::errc() || p != f.data() + f.size() || !std::isfinite(rtt) || rtt < 0 || rtt > 60000) {
        error(lineno, cols[2], "rtt_ms must be a number of milliseconds in [0, 60000], got '" + std::string(f) + "'");
        continue;
      }
    }

    // Client: CIDR, address or country code.
    const std::string_view client = fields[0];
    std::uint32_t row = 0;
    if (client.size() == 2 && std::isalpha(static_cast<unsigned char>(client[0])) &&
        std::isalpha(static_cast<unsigned char>(client[1]))) {
      const CountryInfo* ci = find_country(client);
      if (!ci) {
        error(lineno, cols[0], "unknown country code '" + std::string(client) + "'");
        continue;
      }
      auto [it, fresh] = next->countries.try_emplace(country_key(ci->code), 0);
      if (fresh) it->second = next->new_row();
      row = it->second;
    } else {
      const std::size_t slash = client.find('/');
      const std::string ip(client.substr(0, slash));
      std::uint8_t addr[16] = {};
      std::uint8_t fam = 0;
      int max = 32;
      if (inet_pton(AF_INET, ip.c_str(), addr) == 1) {
        fam = 0;
      } else if (inet_pton(AF_INET6, ip.c_str(), addr) == 1) {
        fam = 1;
        max = 128;
      } else {
        error(lineno, cols[0],
              "client must be a network (\"192.0.2.0/24\", \"2001:db8::/32\") or a country code (\"JP\"), got '" +
                  std::string(client) + "'");
        continue;
      }
      int len = max;
      if (slash != std::string_view::npos) {
        const std::string_view l = client.substr(slash + 1);
        auto [p, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
        if (ec != std::errc() || p != l.data() + l.size() || len < 0 || len > max) {
          error(lineno, cols[0], "bad prefix length in '" + std::string(client) + "'");
          continue;
        }
      }
      const NetKey key = make_key(fam, static_cast<std::uint8_t>(len), addr);
      if (std::memcmp(key.addr, addr, 16) != 0) {
        error(lineno, cols[0], "'" + std::string(client) + "' has host bits set");
        continue;
      }
      auto [it, fresh] = next->networks.try_emplace(key, 0);
      if (fresh) {
        it->second = next->new_row();
        auto& lens = next->lens[fam];
        if (std::find(lens.begin(), lens.end(), key.len) == lens.end()) lens.push_back(key.len);
      }
      row = it->second;
    }
    const std::uint64_t cell = static_cast<std::uint64_t>(row) * next->nregions + region;
    if (auto [it, fresh] = first_line.try_emplace(cell, lineno); !fresh) {
      error(lineno, cols[0],
            "duplicate entry for '" + std::string(client) + "' and region '" + regions[region].name +
                "' (first on line " + std::to_string(it->second) + ")");
      continue;
    }
    next->rows[cell] = rtt;
  }
  if (in.bad()) error(lineno, 0, std::string("read error: ") + std::strerror(errno));
  if (errors.size() != before) return false;
  for (auto& lens : next->lens) std::sort(lens.begin(), lens.end(), std::greater<>());
  impl_ = std::move(next);
  return true;
}

std::optional<float> LatencyModel::measured(const ClientInfo& c, std::size_t region) const {
  const Impl& m = *impl_;
  if (region >= m.nregions) return std::nullopt;
  if (c.family == AF_INET || c.family == AF_INET6) {
    const std::uint8_t* addr = c.addr;
    std::uint8_t fam = c.family == AF_INET ? 0 : 1;
    if (fam == 1 && std::memcmp(addr, kMapped, 12) == 0) {  // IPv4-mapped: use the IPv4 entries
      fam = 0;
      addr += 12;
    }
    for (std::uint8_t len : m.lens[fam]) {  // longest first
      auto it = m.networks.find(make_key(fam, len, addr));
      if (it == m.networks.end()) continue;
      const float v = m.cell(it->second, region);
      if (!std::isnan(v)) return v;
    }
  }
  if (!m.countries.empty()) {
    const Location& loc = c.location();
    if (loc.country[0] && loc.country[1]) {
      auto it = m.countries.find(country_key(loc.country));
      if (it != m.countries.end()) {
        const float v = m.cell(it->second, region);
        if (!std::isnan(v)) return v;
      }
    }
  }
  return std::nullopt;
}

float LatencyModel::estimate_ms(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kPi = 3.14159265358979323846;
  constexpr double kEarthRadiusKm = 6371.0;
  constexpr double kFibreKmPerMs = 299792.458 * 2.0 / 3.0 / 1000.0;  // light in glass: ~2/3 c
  constexpr double kOverheadMs = 5.0;
  const double rad = kPi / 180.0;
  const double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1 * rad) * std::cos(lat2 * rad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  const double km = 2 * kEarthRadiusKm * std::asin(std::sqrt(std::clamp(a, 0.0, 1.0)));
  return static_cast<float>(2 * km / kFibreKmPerMs + kOverheadMs);
}

bool LatencyModel::client_coords(const ClientInfo& c, double& lat, double& lon) {
  const Location& loc = c.location();
  if (loc.has_coords) {
    lat = loc.lat;
    lon = loc.lon;
    return true;
  }
  return loc.country[0] && country_centroid(loc.country_sv(), lat, lon);
}

bool country_centroid(std::string_view country, double& lat, double& lon) {
  const CountryInfo* ci = find_country(country);
  if (!ci || !ci->has_centroid) return false;
  lat = ci->lat;
  lon = ci->lon;
  return true;
}

}  // namespace meridian
