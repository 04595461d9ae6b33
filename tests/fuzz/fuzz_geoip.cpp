// Bytes as a MaxMind DB file: open must refuse it with a reason or accept
// it, and then lookups of a few addresses (IPv4, IPv6, mapped) must not
// read out of bounds, whatever the tree and data sections hold.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_input_file.hpp"
#include "geo/geoip_db.hpp"

namespace {
struct Address {
  int family;
  std::uint8_t bytes[16];
};

Address parse(int family, const char* text) {
  Address a{family, {}};
  if (inet_pton(family, text, a.bytes) != 1) std::abort();
  return a;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Address addresses[] = {
      parse(AF_INET, "127.0.1.1"),       parse(AF_INET, "198.51.100.7"), parse(AF_INET, "0.0.0.0"),
      parse(AF_INET, "255.255.255.255"), parse(AF_INET6, "2001:db8::1"), parse(AF_INET6, "::ffff:127.0.2.1"),
      parse(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
  };
  meridian::fuzz::InputFile file(data, size);
  meridian::GeoIpDb db;
  std::string error;
  if (!db.open({file.path()}, error)) {
    if (error.empty()) std::abort();
    return 0;
  }
  for (const Address& a : addresses) (void)db.lookup(a.family, a.bytes);
  (void)db.info();
  return 0;
}
