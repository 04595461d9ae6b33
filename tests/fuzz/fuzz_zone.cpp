// Bytes as a Meridian TOML zone file: the loader and every validator behind
// it (builder, policies, checks) must report errors, never crash or leak.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "zones/toml_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const meridian::ZoneLoadResult r = meridian::load_toml_zone_text(text, "fuzz.toml");
  // Exactly one of the two: a zone, or at least one error saying why not.
  if ((r.zone == nullptr) == r.errors.empty()) std::abort();
  return 0;
}
