// Bytes as the server configuration (meridian.toml): load_config must fail
// with errors or succeed, never crash, leak, or accept silently what it
// did not understand.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "fuzz_input_file.hpp"
#include "server/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  meridian::fuzz::InputFile file(data, size);
  meridian::ServerConfig cfg;
  meridian::Diagnostics errors;
  const bool ok = meridian::load_config(file.path(), cfg, errors);
  if (ok != errors.empty()) std::abort();  // false always comes with a reason
  return 0;
}
