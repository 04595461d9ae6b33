// Bytes as an RFC 1035 master file: the importer (ldns parses) must fail
// with a message or produce TOML, never crash or leak. Its TOML is then
// loaded, as `meridian import` output is meant to be.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_input_file.hpp"
#include "zones/rfc1035_import.hpp"
#include "zones/toml_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  meridian::fuzz::InputFile file(data, size);
  // The first byte picks between an origin given on the command line and
  // none (the file's $ORIGIN or absolute names), so both paths are fuzzed.
  const char* origin = size > 0 && (data[0] & 1) ? "example.com." : "";
  std::string toml, error;
  if (!meridian::import_rfc1035(file.path(), origin, toml, error)) {
    if (error.empty()) std::abort();  // a failure must say why
    return 0;
  }
  (void)meridian::load_toml_zone_text(toml, "imported.toml");
  return 0;
}
