// The listening sockets the server answers from: every UDP socket ignores
// path MTU information (IP_PMTUDISC_OMIT), so a forged ICMP "fragmentation
// needed" cannot make us fragment answers; TCP keeps the kernel's default
// (it checks such messages against its sequence numbers).
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <string>

#include "server/socket_bind.hpp"

using namespace meridian;

namespace {

int mtu_mode(int fd, int family) {
  int v = -1;
  socklen_t len = sizeof v;
  const int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
  const int name = family == AF_INET ? IP_MTU_DISCOVER : IPV6_MTU_DISCOVER;
  REQUIRE(getsockopt(fd, level, name, &v, &len) == 0);
  return v;
}

void close_all(const ListenSockets& s) {
  for (int fd : s.udp_fds) close(fd);
  for (int fd : s.tcp_fds) close(fd);
}

}  // namespace

TEST_CASE("listen sockets: UDP ignores path MTU (OMIT) over IPv4 and IPv6; TCP keeps the default") {
  for (const auto& [address, family] : {std::pair<std::string, int>{"127.0.0.1:0", AF_INET}, {"[::1]:0", AF_INET6}}) {
    INFO(address);
    ListenSockets s;
    std::string error;
    REQUIRE_MESSAGE(open_listen_sockets(address, 2, s, error), error);
    REQUIRE(s.udp_fds.size() == 2);
    for (int fd : s.udp_fds) CHECK(mtu_mode(fd, family) == (family == AF_INET ? IP_PMTUDISC_OMIT : IPV6_PMTUDISC_OMIT));
    for (int fd : s.tcp_fds) CHECK(mtu_mode(fd, family) != (family == AF_INET ? IP_PMTUDISC_OMIT : IPV6_PMTUDISC_OMIT));
    close_all(s);
  }
}
