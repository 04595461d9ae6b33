// PageBlock: large tables get a 2 MiB-aligned mapping advised for huge
// pages (read back from /proc/self/smaps, where the kernel lists the
// advice as VmFlags "hg"), small ones come from the heap; a zone's name
// block takes the mapped form once the zone is large, and every name is
// still found through it. The name index over that block: every node,
// entries whose hot sets were dropped, absent names.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "dns_test_util.hpp"
#include "zones/name.hpp"
#include "zones/page_block.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {

// The smaps lines of the mapping that contains `p`: its header ("start-end
// perms ...") and its VmFlags, or empty strings when none contains it.
struct MappingInfo {
  std::string perms, vm_flags;
};

MappingInfo mapping_of(const void* p) {
  const auto at = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  MappingInfo info;
  bool inside = false;
  while (std::getline(smaps, line)) {
    unsigned long lo = 0, hi = 0;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %7s", &lo, &hi, perms) == 3 && line.find(':') > line.find(' ')) {
      inside = at >= lo && at < hi;
      if (inside) info.perms = perms;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      info.vm_flags = line;
    }
  }
  return info;
}

std::uintptr_t chunk_of_ptr(const char* p) { return reinterpret_cast<std::uintptr_t>(p) / PageBlock::kHuge; }

bool has_flag(const std::string& vm_flags, const std::string& flag) {
  std::istringstream words(vm_flags);
  std::string w;
  while (words >> w)
    if (w == flag) return true;
  return false;
}

}  // namespace

TEST_CASE("page block: heap, pooled slices of shared huge pages, own mappings") {
  PageBlock small(4096);
  REQUIRE(small.data());
  CHECK(small.size() == 4096);
  CHECK_FALSE(small.huge());
  small.data()[4095] = 1;  // writable to the end

  // Mid-sized blocks are slices of one shared 2 MiB chunk, advised for huge
  // pages; two of 600 KiB fit in one chunk. The filler takes a chunk of its
  // own (whatever earlier tests left in the pool's current one), so `a`
  // starts the next.
  PageBlock filler(PageBlock::kHuge - 64);
  CHECK(filler.huge());
  PageBlock a(600 << 10), b(600 << 10);
  CHECK(chunk_of_ptr(a.data()) != chunk_of_ptr(filler.data()));
  REQUIRE(a.data());
  REQUIRE(b.data());
  CHECK(a.huge());
  CHECK(b.huge());
  CHECK(reinterpret_cast<std::uintptr_t>(a.data()) % 64 == 0);
  CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % 64 == 0);
  CHECK(chunk_of_ptr(a.data()) == chunk_of_ptr(b.data()));
  CHECK((b.data() >= a.data() + a.size() || a.data() >= b.data() + b.size()));  // no overlap
  a.data()[0] = 1;
  b.data()[b.size() - 1] = 2;
  CHECK(has_flag(mapping_of(a.data()).vm_flags, "hg"));
  b.seal();  // a no-op for a slice: protecting part of a huge page would split it
  CHECK(mapping_of(b.data()).perms.rfind("rw", 0) == 0);
  // A third one does not fit the chunk's rest: it starts a new chunk.
  PageBlock c(1 << 20);
  CHECK(c.huge());
  CHECK(chunk_of_ptr(c.data()) != chunk_of_ptr(a.data()));

  // From 2 MiB on a block has its own aligned mapping, which seal() makes read-only.
  PageBlock large(PageBlock::kHuge + 100);
  REQUIRE(large.data());
  CHECK(large.huge());
  CHECK(reinterpret_cast<std::uintptr_t>(large.data()) % PageBlock::kHuge == 0);
  large.data()[0] = 1;
  large.data()[large.size() - 1] = 2;
  const MappingInfo before = mapping_of(large.data());
  CHECK(before.perms.rfind("rw", 0) == 0);
  CHECK(has_flag(before.vm_flags, "hg"));  // MADV_HUGEPAGE took
  large.seal();
  CHECK(mapping_of(large.data()).perms.rfind("r-", 0) == 0);
  CHECK(large.data()[large.size() - 1] == 2);

  // Moving hands the memory over; the source is empty.
  const char* at = large.data();
  PageBlock moved(std::move(large));
  CHECK(moved.data() == at);
  CHECK(moved.huge());
  CHECK(large.data() == nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is the point
  CHECK(large.size() == 0);
  const char* slice = a.data();
  PageBlock moved_slice(std::move(a));
  CHECK(moved_slice.data() == slice);
  CHECK(moved_slice.huge());

  PageBlock empty(0);
  CHECK(empty.data() == nullptr);
  CHECK_FALSE(empty.huge());
}

TEST_CASE("page block: a large zone's names and index sit in one huge-page block") {
  std::string toml = "origin = \"big.test.\"\n[soa]\nmname = \"ns1.big.test.\"\nrname = \"admin.big.test.\"\nserial = 1\n"
                     "[records.\"@\"]\nNS = [\"ns1.big.test.\"]\n[records.ns1]\nA = \"192.0.2.53\"\n";
  constexpr int kHosts = 20000;
  for (int i = 0; i < kHosts; ++i)
    toml += "[records.h" + std::to_string(i) + "]\nA = \"10." + std::to_string(i / 256 % 256) + "." +
            std::to_string(i % 256) + ".1\"\n";
  auto set = zones_from_toml({toml});
  REQUIRE(set->zones.size() == 1);
  const Zone& zone = *set->zones[0];
  CHECK(zone.name_bytes.huge());
  CHECK(has_flag(mapping_of(zone.name_bytes.data()).vm_flags, "hg"));
  int found = 0;
  for (int i = 0; i < kHosts; i += 997) {
    auto p = ask(*set, "h" + std::to_string(i) + ".big.test.", LDNS_RR_TYPE_A);
    REQUIRE(p);
    const auto answer = section(p.get(), LDNS_SECTION_ANSWER);
    REQUIRE(answer.size() == 1);
    CHECK(answer[0].find("10." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + ".1") !=
          std::string::npos);
    ++found;
  }
  CHECK(found == 21);

  auto small = zones_from_toml({kTestZone});
  CHECK_FALSE(small->zones[0]->name_bytes.huge());
}

TEST_CASE("name index: every node, entries without hot sets, absent names") {
  // 3,000 hosts, a delegation with 40 glue names below it (their hot sets
  // are dropped after layout), and a name of three 63-octet labels.
  std::string toml = "origin = \"idx.test.\"\n[soa]\nmname = \"ns1.idx.test.\"\nrname = \"admin.idx.test.\"\n"
                     "serial = 1\n[records.\"@\"]\nNS = [\"ns1.idx.test.\"]\n[records.ns1]\nA = \"192.0.2.53\"\n"
                     "[records.sub]\nNS = [\"ns.sub.idx.test.\"]\n[records.\"ns.sub\"]\nA = \"192.0.2.54\"\n";
  for (int i = 0; i < 40; ++i) toml += "[records.\"g" + std::to_string(i) + ".sub\"]\nA = \"192.0.2." + std::to_string(i) + "\"\n";
  for (int i = 0; i < 3000; ++i)
    toml += "[records.\"h" + std::to_string(i) + "\"]\nA = \"10.0." + std::to_string(i / 256) + "." +
            std::to_string(i % 256) + "\"\nTXT = \"host " + std::to_string(i) + "\"\n";
  const std::string label63(63, 'x');
  toml += "[records.\"" + label63 + "." + label63 + "." + label63 + "\"]\nA = \"192.0.2.200\"\n";
  auto set = zones_from_toml({toml});
  const Zone& zone = *set->zones[0];

  // Every node is found through its own name, and at the right node.
  std::size_t found = 0;
  for (const Node& n : zone.nodes) {
    const Node* got = zone.find(n.name);
    REQUIRE(got == &n);
    ++found;
  }
  CHECK(found == zone.nodes.size());
  CHECK(zone.nodes.size() > 3000);

  // Names that are not nodes: a prefix, an extension, another case, another zone.
  for (const std::string text : {"h1", "h30000", "h299", "g40.sub", "x.h1", "sub.sub"}) {
    const std::string wire_name = *name_from_text(text, zone.origin, nullptr);
    const bool is_node = text == "h1" || text == "h299";
    CHECK((zone.find(wire_name) != nullptr) == is_node);
  }
  CHECK(zone.find(std::string("\x02" "H1\x03idx\x04test\x00", 13)) == nullptr);  // the index takes lower case only

  // Answers through the index: a host (hot path), glue below the cut (a
  // referral, not a copy of its A record), the long name.
  auto host = ask(*set, "h2999.idx.test.", LDNS_RR_TYPE_TXT);
  REQUIRE(host);
  REQUIRE(section(host.get(), LDNS_SECTION_ANSWER).size() == 1);
  CHECK(section(host.get(), LDNS_SECTION_ANSWER)[0].find("host 2999") != std::string::npos);
  auto glue = ask(*set, "g7.sub.idx.test.", LDNS_RR_TYPE_A);
  REQUIRE(glue);
  CHECK(section(glue.get(), LDNS_SECTION_ANSWER).empty());
  CHECK(section(glue.get(), LDNS_SECTION_AUTHORITY).size() == 1);  // the delegation's NS
  auto deep = ask(*set, label63 + "." + label63 + "." + label63 + ".idx.test.", LDNS_RR_TYPE_A);
  REQUIRE(deep);
  CHECK(section(deep.get(), LDNS_SECTION_ANSWER).size() == 1);
}
