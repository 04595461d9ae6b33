#pragma once
// Opens the listening sockets before the workers start: one UDP and one TCP
// socket per worker and listen address, all with SO_REUSEPORT so the kernel
// spreads queries over the workers. Port 0 picks one free port shared by UDP,
// TCP and all workers (tests use it).
#include <sys/socket.h>

#include <string>
#include <vector>

namespace meridian {

struct ListenSockets {
  std::string address;           // as configured
  std::string bound;             // "127.0.0.1:40123" after resolving port 0
  std::vector<int> udp_fds;      // one per worker
  std::vector<int> tcp_fds;      // one per worker
  int udp_receive_buffer = 0;    // what the kernel granted (getsockopt: twice the
  int udp_send_buffer = 0;       // usable bytes, as Linux reports it)
};

// Kernel buffer sizes asked for each UDP socket, in bytes; 0 keeps the
// system default.
struct UdpBufferSizes {
  unsigned receive = 0;
  unsigned send = 0;
};

// Parses "127.0.0.1:53", "[::1]:53", "0.0.0.0:53". Returns false on error.
bool parse_listen_address(const std::string& text, sockaddr_storage& out, std::string& error);

// Opens one UDP and one TCP socket per worker on `address`. Every UDP
// socket ignores path MTU information (IP_PMTUDISC_OMIT, or DONT where that
// is missing; see socket_bind.cpp for why) and gets `buffers`.
bool open_listen_sockets(const std::string& address, unsigned workers, ListenSockets& out, std::string& error,
                         const UdpBufferSizes& buffers = {});

}  // namespace meridian
