#include "zones/zone_builder.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <set>

#include "zones/policy_impl.hpp"
#include "zones/radix_sort.hpp"
#include "zones/rdata.hpp"

namespace meridian {

ZoneBuilder::ZoneBuilder(std::string origin_wire, std::string file)
    : origin_(lowered(origin_wire)), file_(std::move(file)) {}

bool ZoneBuilder::acceptable(const std::string& owner, const std::string& as_written, std::uint32_t ttl,
                             const SourceLoc& loc) {
  if (!is_subdomain(owner, origin_)) {
    early_errors_.push_back({loc, "owner '" + name_to_text(as_written) + "' is outside the zone origin " +
                                      name_to_text(origin_)});
    return false;
  }
  if (ttl > kMaxTtl) {
    early_errors_.push_back({loc, "TTL " + std::to_string(ttl) + " out of range (0..2147483647)"});
    return false;
  }
  return true;
}

void ZoneBuilder::add(RecordInput r) {
  std::string owner = lowered(r.owner);
  if (!acceptable(owner, r.owner, r.ttl, r.loc)) return;
  auto [it, fresh] = sets_.try_emplace(Key{std::move(owner), r.type});
  Pending& p = it->second;
  const std::string& owner_lc = it->first.owner;
  if (fresh) {
    p.ttl = r.ttl;
    p.loc = r.loc;
  }
  if (p.from_policy) {
    early_errors_.push_back({r.loc, name_to_text(owner_lc) + " " + rr_type_name(r.type) +
                                        ": plain records and a routing policy (line " + std::to_string(p.loc.line) +
                                        ") for the same name and type"});
    return;
  }
  if (!fresh && p.ttl != r.ttl) {
    early_errors_.push_back({r.loc, name_to_text(owner_lc) + " " + rr_type_name(r.type) + ": TTL " +
                                        std::to_string(r.ttl) + " differs from " + std::to_string(p.ttl) +
                                        " given at line " + std::to_string(p.loc.line) +
                                        " (one TTL per RRset, RFC 2181)"});
    return;
  }
  // Identical records are one record (RFC 2181 section 5).
  if (std::find(p.rdata.begin(), p.rdata.end(), r.rdata) == p.rdata.end()) p.rdata.push_back(std::move(r.rdata));
}

void ZoneBuilder::add_rrset(std::string_view owner, std::uint16_t type, std::uint32_t ttl,
                            std::vector<std::string> rdata, SourceLoc loc) {
  if (bulk_names_.size() + owner.size() > 0xffffffffu) {  // offsets are 32-bit: over 4 GB of names
    early_errors_.push_back({loc, "too many names for one zone"});
    return;
  }
  if (!is_subdomain(owner, origin_) || ttl > kMaxTtl) {
    acceptable(std::string(owner), std::string(owner), ttl, loc);  // records why
    return;
  }
  bulk_.push_back(BulkRRset{static_cast<std::uint32_t>(bulk_names_.size()), static_cast<std::uint16_t>(owner.size()),
                            type, ttl, loc.line, loc.col, std::move(rdata)});
  bulk_names_ += owner;
}

void ZoneBuilder::add_policy_rrset(PolicyRRsetInput r) {
  std::string owner = lowered(r.owner);
  if (!acceptable(owner, r.owner, r.ttl, r.loc)) return;
  Pending fresh_set{r.ttl, r.loc, std::move(r.rdata)};
  fresh_set.from_policy = true;
  fresh_set.policy = std::move(r.policy);
  fresh_set.ttl_when_degraded = r.ttl_when_degraded;
  fresh_set.cname_targets = std::move(r.cname_targets);
  auto [it, fresh] = sets_.try_emplace(Key{owner, r.type}, std::move(fresh_set));
  if (!fresh) {
    const Pending& p = it->second;
    early_errors_.push_back({r.loc, name_to_text(owner) + " " + rr_type_name(r.type) + ": " +
                                        (p.from_policy ? "a second routing policy"
                                                       : "a routing policy and plain records") +
                                        " (line " + std::to_string(p.loc.line) + ") for the same name and type"});
  }
}

namespace {

std::string type_list(const Node& n) {
  std::string s;
  for (const auto& rs : n.rrsets) {
    if (rs.type == rrtype::CNAME) continue;
    if (!s.empty()) s += ", ";
    s += rr_type_name(rs.type);
  }
  return s;
}

}  // namespace

ZonePtr ZoneBuilder::build(Diagnostics& errors) {
  Diagnostics errs = early_errors_;
  auto zone = std::make_shared<Zone>();
  zone->origin = origin_;
  zone->origin_text = name_to_text(origin_);
  zone->file = file_;
  zone->health = health_;
  const SourceLoc file_loc{file_, 1, 1};

  // Every RRset in (owner, type) order: the map's, merged with the sorted
  // bulk ones. The same key in both is a caller's mistake: an error.
  struct Ref {
    std::string_view owner;
    std::uint16_t type;
    Pending* p;                 // from the map, or
    BulkRRset* b;               // from add_rrset
    bool bulk;
    bool operator<(const Ref& o) const {
      const int c = owner.compare(o.owner);
      return c != 0 ? c < 0 : type < o.type;
    }
  };
  std::vector<Ref> all;
  {
    // Sorted on the owner's first 8 octets (big-endian, zero-padded: the
    // same order as the bytes) by radix sort; only names sharing those 8
    // octets are then compared as strings.
    std::vector<Ref> refs;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> keys;
    refs.reserve(bulk_.size());
    keys.reserve(bulk_.size());
    for (auto& b : bulk_) {
      const std::string_view owner(bulk_names_.data() + b.owner_at, b.owner_len);
      std::uint64_t prefix = 0;
      for (std::size_t i = 0; i < 8; ++i)
        prefix = (prefix << 8) | (i < owner.size() ? static_cast<std::uint8_t>(owner[i]) : 0);
      keys.emplace_back(prefix, static_cast<std::uint32_t>(refs.size()));
      refs.push_back(Ref{owner, b.type, nullptr, &b, true});
    }
    radix_sort(keys);
    for (std::size_t i = 0; i < keys.size();) {
      std::size_t j = i + 1;
      while (j < keys.size() && keys[j].first == keys[i].first) ++j;
      if (j - i > 1)
        std::sort(keys.begin() + static_cast<std::ptrdiff_t>(i), keys.begin() + static_cast<std::ptrdiff_t>(j),
                  [&](const auto& a, const auto& b) { return refs[a.second] < refs[b.second]; });
      i = j;
    }
    std::vector<Ref> sorted;
    sorted.reserve(keys.size());
    for (const auto& k : keys) sorted.push_back(refs[k.second]);
    std::vector<Ref>().swap(refs);
    std::vector<std::pair<std::uint64_t, std::uint32_t>>().swap(keys);
    all.reserve(sets_.size() + sorted.size());
    auto it = sets_.begin();
    auto map_ref = [](auto& e) { return Ref{e.first.owner, e.first.type, &e.second, nullptr, false}; };
    for (const Ref& b : sorted) {
      for (; it != sets_.end() && map_ref(*it) < b; ++it) all.push_back(map_ref(*it));
      if ((!all.empty() && !(all.back() < b)) || (it != sets_.end() && !(b < map_ref(*it)))) {
        errs.push_back({SourceLoc{file_, b.b->line, b.b->col}, name_to_text(b.owner) + " " + rr_type_name(b.type) + ": RRset given twice"});
        continue;
      }
      all.push_back(b);
    }
    for (; it != sets_.end(); ++it) all.push_back(map_ref(*it));
  }

  // Nodes: every owner plus every empty non-terminal between it and the
  // apex. The names are gathered first (views into the keys, which do not
  // move) so that the node vector is allocated once, at its final size.
  {
    // `all` is ordered by owner, so the owners come sorted and each once;
    // only the empty non-terminals (usually few) need sorting.
    std::vector<std::string_view> owners, between, names;
    owners.reserve(all.size());
    for (const Ref& key : all) {
      if (key.owner.size() <= origin_.size() || (!owners.empty() && owners.back() == key.owner)) continue;
      owners.push_back(key.owner);
      for (std::string_view s = parent_name(key.owner); s.size() > origin_.size(); s = parent_name(s))
        between.push_back(s);
    }
    std::sort(between.begin(), between.end());
    names.reserve(owners.size() + between.size());
    std::set_union(owners.begin(), owners.end(), between.begin(), between.end(), std::back_inserter(names));
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::vector<std::string_view>().swap(owners);
    std::vector<std::string_view>().swap(between);
    // The names are views into the keys until the RRsets are attached;
    // then they move into the name arena, beside their hot sets.
    zone->nodes.reserve(names.size() + 1);
    zone->nodes.push_back(Node{origin_, {}, -1, false, false});  // nodes[0]: the apex
    for (std::string_view n : names) zone->nodes.push_back(Node{n, {}, -1, false, false});
  }
  // Nodes after the apex are in owner order too: a merge walk finds each
  // owner's node without a hash lookup (random memory accesses).
  std::size_t next_node = 1;
  for (const Ref& key : all) {
    std::vector<std::string>& rdata = key.bulk ? key.b->rdata : key.p->rdata;
    std::size_t idx = 0;
    if (key.owner != origin_) {
      while (next_node < zone->nodes.size() && zone->nodes[next_node].name != key.owner) ++next_node;
      if (next_node == zone->nodes.size()) {  // cannot happen: every owner became a node
        errs.push_back({file_loc, "internal error: no node for " + name_to_text(key.owner)});
        break;
      }
      idx = next_node;
    }
    RRset rs;
    rs.type = key.type;
    rs.ttl = key.bulk ? key.b->ttl : key.p->ttl;
    if (!key.bulk) {
      rs.policy = std::move(key.p->policy);
      rs.ttl_when_degraded = key.p->ttl_when_degraded;
      rs.cname_targets = std::move(key.p->cname_targets);
    }
    // Per-record targets only where a record can have one (NS, MX, SRV) or
    // a policy chooses records: most RRsets of a large zone are A records,
    // and two empty lists cost nothing where one-element ones cost ~80 bytes.
    const bool per_record = (!key.bulk && key.p->from_policy) || has_additional_target(key.type);
    if (!key.bulk) rs.rdata.reserve(rdata.size());
    if (per_record) rs.targets.reserve(rdata.size());
    for (auto& rd : rdata) {
      if (per_record) rs.targets.push_back(additional_target(key.type, rd));
      // Copied, not moved, from the map: a long value's octets were
      // allocated while the file was read, between blocks the builder (and
      // the TOML tree) free after build(); one such value pins a whole page.
      // Copies sit with the rest of the snapshot, and malloc_trim can return
      // the builder's pages. Bulk RRsets are moved whole (below): their
      // reader allocates little else on the heap.
      if (!key.bulk) rs.rdata.emplace_back(rd);
    }
    if (key.bulk) rs.rdata = std::move(rdata);
    zone->record_count += rs.rdata.size();
    zone->nodes[idx].rrsets.push_back(std::move(rs));
  }
  for (auto& n : zone->nodes)
    std::sort(n.rrsets.begin(), n.rrsets.end(), [](const RRset& a, const RRset& b) { return a.type < b.type; });
  // Laid out once, with every RRset that may be hot; the sets of nodes that
  // turn out to be below a cut or a DNAME are dropped once covers are known.
  zone->name_bytes = build_name_arena(zone->nodes, zone->index);
  for (auto& n : zone->nodes)
    for (auto& rs : n.rrsets) {
      rs.target_nodes.reserve(rs.targets.size());
      for (const auto& t : rs.targets) {
        const Node* tn = t.empty() || !is_subdomain(t, origin_) ? nullptr : zone->find(t);
        const bool has_address = tn && (tn->find(rrtype::A) || tn->find(rrtype::AAAA));
        rs.target_nodes.push_back(has_address ? static_cast<std::int32_t>(tn - zone->nodes.data()) : -1);
      }
    }

  auto loc_of_ref = [&](const Ref& r) { return r.bulk ? SourceLoc{file_, r.b->line, r.b->col} : r.p->loc; };
  auto loc_of = [&](const Node& n) {
    // The owner's first RRset in (owner, type) order: looked up only for a
    // message, instead of a map of every owner built for every load.
    auto it = std::lower_bound(all.begin(), all.end(), Ref{n.name, 0, nullptr, nullptr, false});
    return it == all.end() || it->owner != n.name ? file_loc : loc_of_ref(*it);
  };
  auto loc_of_set = [&](const Node& n, std::uint16_t type) {
    auto it = std::lower_bound(all.begin(), all.end(), Ref{n.name, type, nullptr, nullptr, false});
    return it == all.end() || it->owner != n.name || it->type != type ? loc_of(n) : loc_of_ref(*it);
  };

  // Apex: exactly one SOA, at least one NS.
  const Node& apex = zone->apex();
  const RRset* soa = apex.find(rrtype::SOA);
  if (!soa) {
    errs.push_back({file_loc, "missing SOA record for zone " + zone->origin_text});
  } else if (soa->rdata.size() != 1) {
    errs.push_back({loc_of_set(apex, rrtype::SOA), "more than one SOA record at the apex"});
  } else {
    const std::string& rd = soa->rdata[0];
    if (rd.size() >= 20) {
      auto u32 = [&](std::size_t off) {
        return (std::uint32_t(std::uint8_t(rd[off])) << 24) | (std::uint32_t(std::uint8_t(rd[off + 1])) << 16) |
               (std::uint32_t(std::uint8_t(rd[off + 2])) << 8) | std::uint32_t(std::uint8_t(rd[off + 3]));
      };
      zone->serial = u32(rd.size() - 20);
      zone->negative_ttl = std::min(soa->ttl, u32(rd.size() - 4));  // RFC 2308 section 5
      auto name_end = [&](std::size_t from) {
        while (from < rd.size() && rd[from] != 0) from += 1 + static_cast<std::uint8_t>(rd[from]);
        return from + 1;
      };
      auto prefix_below_origin = [&](std::string_view name) {
        const std::string lower = lowered(name);
        return is_subdomain(lower, origin_) ? static_cast<std::int16_t>(lower.size() - origin_.size())
                                            : std::int16_t{-1};
      };
      const std::size_t m1 = name_end(0), m2 = name_end(m1);
      if (m2 + 20 == rd.size()) {
        zone->soa_mname_prefix = prefix_below_origin(std::string_view(rd).substr(0, m1));
        zone->soa_rname_prefix = prefix_below_origin(std::string_view(rd).substr(m1, m2 - m1));
      }
    }
  }
  if (!apex.find(rrtype::NS)) errs.push_back({soa ? loc_of_set(apex, rrtype::SOA) : file_loc,
                                             "no NS records at the zone apex " + zone->origin_text});

  // Per-node rules, and the cover index used by lookup.
  for (std::uint32_t i = 0; i < zone->nodes.size(); ++i) {
    Node& n = zone->nodes[i];
    bool apex_node = i == 0;
    n.is_cut = !apex_node && n.find(rrtype::NS);
    n.has_dname = n.find(rrtype::DNAME);
    bool wildcard = n.name.size() > 1 && n.name[0] == 1 && n.name[1] == '*';
    if (const RRset* c = n.find(rrtype::CNAME)) {
      if (c->rdata.size() > 1 && !c->policy)  // a policy returns one (checked by its loader)
        errs.push_back({loc_of_set(n, rrtype::CNAME), name_to_text(n.name) + ": more than one CNAME record"});
      if (n.rrsets.size() > 1)
        errs.push_back({loc_of_set(n, rrtype::CNAME), name_to_text(n.name) + ": CNAME cannot coexist with other data (" +
                                                          type_list(n) + ") at the same name"});
    }
    if (const RRset* d = n.find(rrtype::DNAME); d && d->rdata.size() > 1 && !d->policy)
      errs.push_back({loc_of_set(n, rrtype::DNAME), name_to_text(n.name) + ": more than one DNAME record"});
    if (!apex_node && n.find(rrtype::SOA))
      errs.push_back({loc_of_set(n, rrtype::SOA), "SOA record below the apex at " + name_to_text(n.name)});
    if (wildcard && (n.is_cut || n.has_dname))
      errs.push_back({loc_of(n), name_to_text(n.name) + ": NS and DNAME are not allowed at a wildcard name"});
    if (n.is_cut && n.has_dname)
      errs.push_back({loc_of(n), name_to_text(n.name) + ": DNAME cannot be at a delegation point"});
  }

  // Walk top-down (parents have fewer labels) so a parent's cover is known.
  // A counting sort by name length (at most 255), stable: no comparisons.
  std::vector<std::uint32_t> order(zone->nodes.size());
  {
    std::vector<std::uint32_t> start(kMaxNameLen + 2, 0);
    for (const auto& n : zone->nodes) ++start[n.name.size() + 1];
    for (std::size_t len = 1; len < start.size(); ++len) start[len] += start[len - 1];
    for (std::uint32_t i = 0; i < zone->nodes.size(); ++i) order[start[zone->nodes[i].name.size()]++] = i;
  }
  for (std::uint32_t i : order) {
    Node& n = zone->nodes[i];
    if (i == 0) { n.cover = n.has_dname ? 0 : -1; continue; }
    const Node* parent = zone->find(parent_name(n.name));
    std::int32_t inherited = parent ? parent->cover : -1;
    if (inherited >= 0) {
      const Node& top = zone->nodes[inherited];
      n.cover = inherited;
      if (top.has_dname && !n.rrsets.empty())
        errs.push_back({loc_of(n), name_to_text(n.name) + " is below the DNAME at " + name_to_text(top.name) +
                                       " and would never be answered"});
      if (top.is_cut && !n.rrsets.empty()) {
        for (const auto& rs : n.rrsets)
          if (rs.type != rrtype::A && rs.type != rrtype::AAAA) {
            errs.push_back({loc_of_set(n, rs.type), name_to_text(n.name) + " " + rr_type_name(rs.type) +
                                                        " is below the delegation at " + name_to_text(top.name) +
                                                        "; only glue (A/AAAA) may be there"});
            break;
          }
      }
    } else {
      n.cover = (n.is_cut || n.has_dname) ? static_cast<std::int32_t>(i) : -1;
    }
  }

  for (const Node& n : zone->nodes)
    if (n.cover >= 0) drop_hot_sets(zone->name_bytes.data(), n);  // referrals and DNAMEs are not copies
  zone->name_bytes.seal();  // complete: from here on every thread only reads it

  // NS targets inside the zone need addresses, or resolvers cannot use them.
  for (const auto& n : zone->nodes) {
    const RRset* ns = n.find(rrtype::NS);
    if (!ns) continue;
    std::set<std::string> reported;
    for (const auto& t : ns->targets) {
      if (t.empty() || !is_subdomain(t, origin_) || reported.count(t)) continue;
      const Node* tn = zone->find(t);
      if (!tn || (!tn->find(rrtype::A) && !tn->find(rrtype::AAAA))) {
        reported.insert(t);
        errs.push_back({loc_of_set(n, rrtype::NS), "NS target " + name_to_text(t) + " of " + name_to_text(n.name) +
                                                       " is inside the zone but has no address records (A/AAAA)"});
      }
    }
  }

  std::stable_sort(errs.begin(), errs.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.loc.line < b.loc.line;
  });
  if (!errs.empty()) {
    errors.insert(errors.end(), errs.begin(), errs.end());
    return nullptr;
  }
  return zone;
}

}  // namespace meridian
