#include "server/socket_bind.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace meridian {

bool parse_listen_address(const std::string& text, sockaddr_storage& out, std::string& error) {
  std::memset(&out, 0, sizeof out);
  std::string host, port;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "expected [IPv6]:port in '" + text + "'";
      return false;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) {
      error = "expected address:port in '" + text + "'";
      return false;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end || p < 0 || p > 65535) {
    error = "bad port in '" + text + "'";
    return false;
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(p));
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(p));
  } else {
    error = "bad IP address in '" + text + "' (names are not resolved)";
    return false;
  }
  return true;
}

namespace {

socklen_t addr_len(const sockaddr_storage& a) {
  return a.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

uint16_t get_port(const sockaddr_storage& a) {
  return ntohs(a.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in&>(a).sin_port
                                      : reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
}

// Linux's default for UDP (IP_PMTUDISC_WANT) believes ICMP "fragmentation
// needed" / "packet too big" messages, which anyone can forge: a forged one
// lowers the path MTU to a resolver, our answers to it are then fragmented
// here, and a spoofed second fragment can poison its cache (Herzberg and
// Shulman, 2013; RFC 9715 asks responders not to fragment). OMIT ignores
// path MTU information and never sets DF: NSD, Knot DNS and gdnsd set it on
// their UDP sockets too (read back with getsockopt). UDP answers stay at
// most 1232 octets by default, so they fit any path. Kernels before 3.15
// lack OMIT: DONT is the next best (no DF, but still believes ICMP).
void ignore_path_mtu(int fd, int family) {
  const int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
  const int name = family == AF_INET ? IP_MTU_DISCOVER : IPV6_MTU_DISCOVER;
  const int omit = family == AF_INET ? IP_PMTUDISC_OMIT : IPV6_PMTUDISC_OMIT;
  const int dont = family == AF_INET ? IP_PMTUDISC_DONT : IPV6_PMTUDISC_DONT;
  if (setsockopt(fd, level, name, &omit, sizeof omit) != 0) setsockopt(fd, level, name, &dont, sizeof dont);
}

int open_one(const sockaddr_storage& addr, int type, std::string& error) {
  int fd = socket(addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (addr.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), addr_len(addr)) != 0) {
    error = std::string("bind ") + (type == SOCK_DGRAM ? "udp" : "tcp") + ": " + std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

void close_all(ListenSockets& s) {
  for (int fd : s.udp_fds) close(fd);
  for (int fd : s.tcp_fds) close(fd);
  s.udp_fds.clear();
  s.tcp_fds.clear();
}

std::string format(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a).sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(get_port(a));
  }
  inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr, host, sizeof host);
  return "[" + std::string(host) + "]:" + std::to_string(get_port(a));
}

// SO_RCVBUFFORCE/SO_SNDBUFFORCE when the process may (CAP_NET_ADMIN, i.e.
// started as root), else SO_RCVBUF/SO_SNDBUF, which the kernel caps at
// net.core.rmem_max / wmem_max.
void set_udp_buffers(int fd, const UdpBufferSizes& sizes) {
  auto set = [fd](int forced, int capped, unsigned bytes) {
    if (!bytes) return;
    const int v = static_cast<int>(bytes);
    if (setsockopt(fd, SOL_SOCKET, forced, &v, sizeof v) != 0) setsockopt(fd, SOL_SOCKET, capped, &v, sizeof v);
  };
  set(SO_RCVBUFFORCE, SO_RCVBUF, sizes.receive);
  set(SO_SNDBUFFORCE, SO_SNDBUF, sizes.send);
}

}  // namespace

bool open_listen_sockets(const std::string& address, unsigned workers, ListenSockets& out, std::string& error,
                         const UdpBufferSizes& buffers) {
  sockaddr_storage addr;
  if (!parse_listen_address(address, addr, error)) return false;
  out.address = address;
  const bool ephemeral = get_port(addr) == 0;
  // With port 0 the UDP bind picks the port; TCP may find it taken, so retry.
  for (int attempt = 0; attempt < (ephemeral ? 20 : 1); ++attempt) {
    close_all(out);
    sockaddr_storage a = addr;
    bool ok = true;
    for (unsigned w = 0; w < workers && ok; ++w) {
      int u = open_one(a, SOCK_DGRAM, error);
      if (u < 0) { ok = false; break; }
      out.udp_fds.push_back(u);
      ignore_path_mtu(u, a.ss_family);
      set_udp_buffers(u, buffers);
      if (w == 0 && ephemeral) {
        socklen_t len = sizeof a;
        getsockname(u, reinterpret_cast<sockaddr*>(&a), &len);
      }
      int t = open_one(a, SOCK_STREAM, error);
      if (t < 0) { ok = false; break; }
      out.tcp_fds.push_back(t);
    }
    if (ok) {
      out.bound = format(a);
      socklen_t len = sizeof out.udp_receive_buffer;
      getsockopt(out.udp_fds[0], SOL_SOCKET, SO_RCVBUF, &out.udp_receive_buffer, &len);
      len = sizeof out.udp_send_buffer;
      getsockopt(out.udp_fds[0], SOL_SOCKET, SO_SNDBUF, &out.udp_send_buffer, &len);
      return true;
    }
  }
  close_all(out);
  error = address + ": " + error;
  return false;
}

}  // namespace meridian
