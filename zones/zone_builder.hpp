#pragma once
// Collects records from any loader (TOML, RFC 1035 import, tests), checks the
// zone-level rules and compiles the immutable snapshot.
#include <cstdint>
#include <map>
#include <string_view>
#include <memory>
#include <string>
#include <vector>

#include "zones/diagnostic.hpp"
#include "zones/zone.hpp"

namespace meridian {

struct RecordInput {
  std::string owner;  // wire, any case
  std::uint16_t type = 0;
  std::uint32_t ttl = 0;
  std::string rdata;  // wire
  SourceLoc loc;
};

// An RRset whose records a routing policy selects. `rdata` is every record
// any target can produce, each distinct value once, in the order the
// policy's indexes refer to; the builder keeps that order and never merges
// it with other records.
struct PolicyRRsetInput {
  std::string owner;  // wire, any case
  std::uint16_t type = 0;
  std::uint32_t ttl = 0;
  std::uint32_t ttl_when_degraded = 0;  // 0: use ttl
  std::vector<std::string> rdata;       // wire, distinct
  std::shared_ptr<const Policy> policy; // null: static records (round robin)
  SourceLoc loc;
  // Wire names the policy's cname indexes refer to (RRset::cname_targets).
  std::vector<std::string> cname_targets{};
};

inline constexpr std::uint32_t kMaxTtl = 0x7fffffffu;  // RFC 2181 section 8

class ZoneBuilder {
 public:
  ZoneBuilder(std::string origin_wire, std::string file);

  // Records the record; rules that need the whole zone are checked in build().
  void add(RecordInput r);
  // Records a whole plain RRset from a reader that has merged its records
  // already (no duplicates) and never gives the same owner and type twice
  // (the streaming TOML reader). Appended without a lookup; build() sorts
  // these once, which for a million RRsets is much cheaper than keeping a
  // search tree up to date. `owner` is lower-case wire.
  void add_rrset(std::string_view owner, std::uint16_t type, std::uint32_t ttl, std::vector<std::string> rdata,
                 SourceLoc loc);
  // Records a whole policy RRset. Plain records and a policy RRset for the
  // same owner and type (or two policy RRsets) are an error.
  void add_policy_rrset(PolicyRRsetInput r);

  // Checks: SOA present (once, at the apex), apex NS, owners inside the
  // origin, CNAME alone at its name, nothing below a DNAME, only glue below a
  // delegation, no NS/DNAME at a wildcard, in-zone NS targets have addresses,
  // equal TTLs within an RRset. Appends problems to `errors`; returns null
  // when there was any.
  ZonePtr build(Diagnostics& errors);
  // Health-check data the built zone carries (Zone::health).
  void set_health(std::shared_ptr<const ZoneHealth> h) { health_ = std::move(h); }

  const std::string& origin() const { return origin_; }

 private:
  // The owner (lower-case) is inside the origin and the TTL in range;
  // otherwise records the error and returns false.
  bool acceptable(const std::string& owner, const std::string& as_written, std::uint32_t ttl, const SourceLoc& loc);

  struct Key {
    std::string owner;
    std::uint16_t type;
    bool operator<(const Key& o) const {
      const int c = owner.compare(o.owner);
      return c != 0 ? c < 0 : type < o.type;
    }
  };
  struct Pending {
    std::uint32_t ttl = 0;
    SourceLoc loc;
    std::vector<std::string> rdata;
    bool from_policy = false;             // added by add_policy_rrset: kept as given
    std::shared_ptr<const Policy> policy{};
    std::uint32_t ttl_when_degraded = 0;
    std::vector<std::string> cname_targets{};
  };
  std::string origin_;
  std::string file_;
  std::map<Key, Pending> sets_;
  // From add_rrset, in arrival order; the owners' octets are in
  // bulk_names_ (no allocation per owner, and nothing to free one by one).
  struct BulkRRset {  // 48 octets, where a Pending is 130
    std::uint32_t owner_at;
    std::uint16_t owner_len;
    std::uint16_t type;
    std::uint32_t ttl;
    std::uint32_t line, col;  // of the first value (the file is file_)
    std::vector<std::string> rdata;
  };
  std::vector<BulkRRset> bulk_;
  std::string bulk_names_;
  Diagnostics early_errors_;
  std::shared_ptr<const ZoneHealth> health_;
};

}  // namespace meridian
