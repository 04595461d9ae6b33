#include "geo/geoip_db.hpp"

#include "geo/mmdb_tree.hpp"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace meridian {

namespace {

// Record paths in the GeoIP2 schema (City, Country, ASN databases; ours are
// written in the same layout by geo/tools/mmdb-from-csv.pl). Static arrays
// for MMDB_aget_value: MMDB_get_value/vget_value copy the path to the heap.
const char* const kContinent[] = {"continent", "code", nullptr};
const char* const kCountry[] = {"country", "iso_code", nullptr};
const char* const kRegisteredCountry[] = {"registered_country", "iso_code", nullptr};
const char* const kSubdivision[2][4] = {{"subdivisions", "0", "iso_code", nullptr},
                                         {"subdivisions", "1", "iso_code", nullptr}};
const char* const kLatitude[] = {"location", "latitude", nullptr};
const char* const kLongitude[] = {"location", "longitude", nullptr};
const char* const kAsn[] = {"autonomous_system_number", nullptr};

// The policy fields of one data record, decoded once at open. Decoding a
// record field by field with MMDB_aget_value costs ~4,000 instructions per
// lookup (7 paths, each walking the record's maps from the start): over half
// of a geolocation answer. Databases hold few distinct records next to
// their networks (~250 in a country database, some 10^5 in a city one), so
// decoding each once and finding it by data offset at query time is cheap
// in memory and leaves only the tree walk on the query path.
struct DecodedRecord {
  std::uint32_t offset;  // in the data section: what a lookup result points at
  Location fields;       // `found` unused; empty fields are absent in the record
};

struct Db {
  MMDB_s mmdb{};
  bool is_open = false;
  std::string path;
  std::vector<DecodedRecord> records;  // sorted by offset
  // For a small data section (a country database: ~250 records in a few
  // KiB), record index + 1 by data offset, 0 for none: one read instead of
  // a binary search over the records (callgrind --geo: ~95 of ~2,300
  // instructions an answer, and under cold caches one line instead of
  // up to nine). Empty for larger sections (city databases;
  // GeoIpDb::dense_index_max).
  std::vector<std::uint32_t> index_by_offset;
  MmdbTree tree;
  ~Db() {
    if (is_open) MMDB_close(&mmdb);
  }

  void index_records() {
    index_by_offset.clear();
    if (mmdb.data_section_size > GeoIpDb::dense_index_max || records.empty()) return;
    index_by_offset.assign(records.back().offset + 1, 0);
    for (std::size_t i = 0; i < records.size(); ++i)
      index_by_offset[records[i].offset] = static_cast<std::uint32_t>(i + 1);
  }

  const Location* decoded(std::uint32_t offset) const {
    if (!index_by_offset.empty()) {
      const std::uint32_t i = offset < index_by_offset.size() ? index_by_offset[offset] : 0;
      return i ? &records[i - 1].fields : nullptr;
    }
    auto it = std::lower_bound(records.begin(), records.end(), offset,
                               [](const DecodedRecord& r, std::uint32_t o) { return r.offset < o; });
    return it != records.end() && it->offset == offset ? &it->fields : nullptr;
  }
};

// Copies a UTF-8 string value of length 1..max into out (NUL-terminated);
// false when the field is missing, not a string or too long.
template <std::size_t N>
bool get_code(MMDB_entry_s& entry, const char* const* path, char (&out)[N], std::size_t min_len) {
  MMDB_entry_data_s d;
  if (MMDB_aget_value(&entry, &d, path) != MMDB_SUCCESS || !d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING)
    return false;
  if (d.data_size < min_len || d.data_size > N - 1) return false;
  std::memcpy(out, d.utf8_string, d.data_size);
  out[d.data_size] = '\0';
  return true;
}

bool get_double(MMDB_entry_s& entry, const char* const* path, double& out) {
  MMDB_entry_data_s d;
  if (MMDB_aget_value(&entry, &d, path) != MMDB_SUCCESS || !d.has_data) return false;
  switch (d.type) {
    case MMDB_DATA_TYPE_DOUBLE: out = d.double_value; return true;
    case MMDB_DATA_TYPE_FLOAT: out = d.float_value; return true;
    default: return false;
  }
}

bool get_uint(MMDB_entry_s& entry, const char* const* path, std::uint64_t& out) {
  MMDB_entry_data_s d;
  if (MMDB_aget_value(&entry, &d, path) != MMDB_SUCCESS || !d.has_data) return false;
  switch (d.type) {
    case MMDB_DATA_TYPE_UINT16: out = d.uint16; return true;
    case MMDB_DATA_TYPE_UINT32: out = d.uint32; return true;
    case MMDB_DATA_TYPE_INT32: out = d.int32 < 0 ? 0 : static_cast<std::uint64_t>(d.int32); return true;
    case MMDB_DATA_TYPE_UINT64: out = d.uint64; return true;
    default: return false;
  }
}

// Fills the fields of `loc` that are still empty from `entry`. Returns true
// when the record supplied at least one of them.
bool merge_fields(MMDB_entry_s& entry, Location& loc) {
  bool supplied = false;
  if (!loc.continent[0]) supplied |= get_code(entry, kContinent, loc.continent, 2);
  if (!loc.country[0]) {
    supplied |= get_code(entry, kCountry, loc.country, 2) || get_code(entry, kRegisteredCountry, loc.country, 2);
  }
  if (!loc.subdivisions[0][0] && get_code(entry, kSubdivision[0], loc.subdivisions[0], 1)) {
    supplied = true;
    if (!get_code(entry, kSubdivision[1], loc.subdivisions[1], 1))
      std::memset(loc.subdivisions[1], 0, sizeof loc.subdivisions[1]);  // NUL-padded: compared whole
  }
  if (!loc.has_coords) {
    double lat = 0, lon = 0;
    if (get_double(entry, kLatitude, lat) && get_double(entry, kLongitude, lon) && lat >= -90 && lat <= 90 &&
        lon >= -180 && lon <= 180) {
      loc.has_coords = true;
      loc.lat = static_cast<float>(lat);
      loc.lon = static_cast<float>(lon);
      supplied = true;
    }
  }
  if (!loc.asn) {
    std::uint64_t asn = 0;
    if (get_uint(entry, kAsn, asn) && asn > 0 && asn <= 0xffffffffu) {
      loc.asn = static_cast<std::uint32_t>(asn);
      supplied = true;
    }
  }
  return supplied;
}

// merge_fields() for a record decoded at open: fills the empty fields of
// `loc` from `rec`, with the same rules (subdivisions come as a pair).
bool merge_decoded(const Location& rec, Location& loc) {
  bool supplied = false;
  if (!loc.continent[0] && rec.continent[0]) {
    std::memcpy(loc.continent, rec.continent, sizeof loc.continent);
    supplied = true;
  }
  if (!loc.country[0] && rec.country[0]) {
    std::memcpy(loc.country, rec.country, sizeof loc.country);
    supplied = true;
  }
  if (!loc.subdivisions[0][0] && rec.subdivisions[0][0]) {
    std::memcpy(loc.subdivisions, rec.subdivisions, sizeof loc.subdivisions);
    supplied = true;
  }
  if (!loc.has_coords && rec.has_coords) {
    loc.has_coords = true;
    loc.lat = rec.lat;
    loc.lon = rec.lon;
    supplied = true;
  }
  if (!loc.asn && rec.asn) {
    loc.asn = rec.asn;
    supplied = true;
  }
  return supplied;
}

// Cheap structural check at open, beyond what MMDB_open verifies (metadata
// and the search tree fitting in the file): walks the search tree and
// decodes every distinct data record once, the way mmdbverify does. A file
// with a broken record would otherwise open fine and fail (or mislead) at
// query time. Cost: one pass over the tree, ~0.1 s for a country database.
// Each record's policy fields are decoded into `records` on the way.
bool verify_and_decode(MMDB_s& db, std::vector<DecodedRecord>& records, std::string& why) {
  const std::uint32_t nodes = db.metadata.node_count;
  const std::uint64_t data_size = db.data_section_size;
  std::vector<std::uint8_t> seen_data;  // bitmap over data offsets already decoded
  seen_data.resize((data_size + 7) / 8);
  for (std::uint32_t n = 0; n < nodes; ++n) {
    MMDB_search_node_s node;
    if (int s = MMDB_read_node(&db, n, &node); s != MMDB_SUCCESS) {
      why = "search tree node " + std::to_string(n) + ": " + MMDB_strerror(s);
      return false;
    }
    const std::uint64_t recs[2] = {node.left_record, node.right_record};
    const int types[2] = {node.left_record_type, node.right_record_type};
    for (int i = 0; i < 2; ++i) {
      if (types[i] == MMDB_RECORD_TYPE_INVALID) {
        why = "search tree node " + std::to_string(n) + " points outside the file";
        return false;
      }
      if (types[i] != MMDB_RECORD_TYPE_DATA) continue;
      const std::uint64_t off = recs[i] - nodes - 16;  // offset in the data section
      if (off >= data_size) {
        why = "search tree node " + std::to_string(n) + " points past the data section";
        return false;
      }
      if (seen_data[off / 8] & (1u << (off % 8))) continue;
      seen_data[off / 8] |= static_cast<std::uint8_t>(1u << (off % 8));
      MMDB_entry_s entry{&db, static_cast<std::uint32_t>(off)};
      MMDB_entry_data_list_s* list = nullptr;
      const int s = MMDB_get_entry_data_list(&entry, &list);
      MMDB_free_entry_data_list(list);
      if (s != MMDB_SUCCESS) {
        why = "data record at offset " + std::to_string(off) + ": " + MMDB_strerror(s);
        return false;
      }
      DecodedRecord rec{static_cast<std::uint32_t>(off), {}};
      merge_fields(entry, rec.fields);
      records.push_back(rec);
    }
  }
  std::sort(records.begin(), records.end(),
            [](const DecodedRecord& a, const DecodedRecord& b) { return a.offset < b.offset; });
  return true;
}

}  // namespace

struct GeoIpDb::Impl {
  std::vector<std::unique_ptr<Db>> dbs;
};

std::uint64_t GeoIpDb::dense_index_max = std::uint64_t{1} << 20;  // at most 4 MiB of index

GeoIpDb::GeoIpDb() : impl_(std::make_unique<Impl>()) {}
GeoIpDb::~GeoIpDb() = default;

namespace {
// A private in-memory copy of the file (memfd). libmaxminddb maps the file
// it opens; if that were the operator's file, `cp new.mmdb current.mmdb`
// (which rewrites the same inode) would change, or truncate, the data under
// a serving process: wrong answers or SIGBUS. A copy is ~8 MB for the
// country database and costs one read at (re)load. -1 (errno set) on error.
int private_copy(const std::string& path) {
  const int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return -1;
  const int out = memfd_create("meridian-geoip", MFD_CLOEXEC);
  if (out < 0) {
    const int e = errno;
    ::close(in);
    errno = e;
    return -1;
  }
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(in, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || ::write(out, buf, static_cast<std::size_t>(n)) != n) {
      const int e = errno ? errno : EIO;
      ::close(in);
      ::close(out);
      errno = e;
      return -1;
    }
  }
  ::close(in);
  return out;
}
}  // namespace

bool GeoIpDb::open(const std::vector<std::string>& files, std::string& error) {
  impl_->dbs.clear();
  std::vector<std::unique_ptr<Db>> dbs;
  for (const auto& path : files) {
    auto db = std::make_unique<Db>();
    db->path = path;
    errno = 0;
    const int copy = private_copy(path);
    if (copy < 0) {
      error = path + ": " + MMDB_strerror(MMDB_FILE_OPEN_ERROR) + ": " + std::strerror(errno);
      return false;
    }
    const std::string copy_path = "/proc/self/fd/" + std::to_string(copy);
    const int status = MMDB_open(copy_path.c_str(), MMDB_MODE_MMAP, &db->mmdb);
    const int saved_errno = errno;
    ::close(copy);  // the mapping keeps the memory alive
    if (status != MMDB_SUCCESS) {
      error = path + ": " + MMDB_strerror(status);
      if (status == MMDB_IO_ERROR || status == MMDB_FILE_OPEN_ERROR)
        if (saved_errno) error += std::string(": ") + std::strerror(saved_errno);
      return false;  // `dbs` closes what was opened so far
    }
    db->is_open = true;
    if (db->mmdb.metadata.ip_version != 4 && db->mmdb.metadata.ip_version != 6) {
      error = path + ": unsupported ip_version " + std::to_string(db->mmdb.metadata.ip_version);
      return false;
    }
    std::string why;
    if (!verify_and_decode(db->mmdb, db->records, why)) {
      error = path + ": corrupt MaxMind DB file: " + why;
      return false;
    }
    db->index_records();
    db->tree.init(db->mmdb);
    dbs.push_back(std::move(db));
  }
  impl_->dbs = std::move(dbs);
  return true;
}

void GeoIpDb::prefetch(int family, const std::uint8_t* addr) const {
  const bool v4 = family == AF_INET;
  if (!v4 && family != AF_INET6) return;
  for (const auto& db : impl_->dbs) db->tree.prefetch(addr, v4);
}

Location GeoIpDb::lookup(int family, const std::uint8_t* addr) const {
  Location loc;
  if (!addr || impl_->dbs.empty()) return loc;

  // Bits to subtract from the tree's netmask to get the prefix in the
  // caller's family: 96 for IPv4 in an IPv6 tree; an IPv4-mapped IPv6
  // address is looked up as IPv4 and reported in IPv6 bits (+96).
  bool v4 = false;
  int add = 0;
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (family == AF_INET) {
    v4 = true;
  } else if (family == AF_INET6) {
    if (std::memcmp(addr, kMapped, 12) == 0) {
      v4 = true;
      add = 96;
      addr += 12;
    }
  } else {
    return loc;
  }

  int supplied_bits = -1;  // most specific network that supplied a field
  int unknown_bits = 0;    // most specific network the trees ended in otherwise
  for (const auto& db : impl_->dbs) {
    const TreeResult r = db->tree.lookup(addr, v4);
    if (!r.usable) continue;  // an IPv6 address in an IPv4-only database
    int bits = r.netmask;
    if (v4 && db->mmdb.metadata.ip_version == 6) bits -= 96;
    bits = std::clamp(bits, 0, v4 ? 32 : 128) + add;
    if (!r.found) {
      unknown_bits = std::max(unknown_bits, bits);
      continue;
    }
    loc.found = true;
    // open() decoded every record a tree node points at, so the walk
    // always ends on one of them.
    const Location* rec = db->decoded(r.offset);
    if (rec && merge_decoded(*rec, loc)) supplied_bits = std::max(supplied_bits, bits);
    else unknown_bits = std::max(unknown_bits, bits);
  }
  loc.prefix_len = static_cast<std::uint8_t>(supplied_bits >= 0 ? supplied_bits : unknown_bits);
  return loc;
}

std::vector<GeoIpDb::Info> GeoIpDb::info() const {
  std::vector<Info> out;
  for (const auto& db : impl_->dbs) {
    const auto& m = db->mmdb.metadata;
    out.push_back({db->path, m.database_type ? m.database_type : "", m.build_epoch, m.node_count});
  }
  return out;
}

bool GeoIpDb::empty() const { return impl_->dbs.empty(); }

}  // namespace meridian
