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

// Sets a UDP socket of `family` (AF_INET, AF_INET6) to ignore path MTU
// information (IP_PMTUDISC_OMIT, or DONT where that is missing); see the
// definition for why. open_listen_sockets() does it for every UDP socket.
void ignore_path_mtu(int fd, int family);

// Sets the buffers of a UDP socket: SO_RCVBUFFORCE/SO_SNDBUFFORCE when the
// process may (CAP_NET_ADMIN, i.e. started as root), else SO_RCVBUF/SO_SNDBUF,
// which the kernel caps at net.core.rmem_max / wmem_max.
void set_udp_buffers(int fd, const UdpBufferSizes& sizes);

bool open_listen_sockets(const std::string& address, unsigned workers, ListenSockets& out, std::string& error,
                         const UdpBufferSizes& buffers = {});

}  // namespace meridian
