#pragma once
// The UDP fast path: one thread per (worker, UDP socket) that blocks in
// recvmmsg(MSG_WAITFORONE), answers every datagram it got in place, and
// sends the answers with one sendmmsg. That is two system calls per wake-up,
// the same as a bare reflector, where an event loop needs three (epoll_wait,
// recvmmsg, sendmmsg): at the query rates where batches are short the third
// call cost more CPU than answering (docs/performance.md, "UDP threads").
// gdnsd serves UDP the same way. TCP stays on the worker's libuv loop.
#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "server/answer.hpp"
#include "server/zone_view.hpp"

namespace meridian {

class Frontend;
class RrlTable;

inline constexpr unsigned kUdpBatch = 32;
// A receive slot holds any UDP datagram (at most 65,527 bytes over IPv6), so
// no query is truncated; pages are touched only as far as datagrams reach.
// The extra 64 bytes stagger the slots over cache sets.
inline constexpr std::size_t kUdpRxSlot = kMaxMessage + 1 + 64;
// Answers are packed one after another; answer_query() wants kMaxMessage
// bytes of room, so the batch is flushed early when less is left (only with
// very large answers: UDP answers are at most 4 KiB).
inline constexpr std::size_t kUdpTxArena = 2 * kMaxMessage;

// Room for one IP_PKTINFO or IPV6_PKTINFO control message.
inline constexpr std::size_t kUdpControl = 64;

// Batch buffers, allocated once per thread (not per query).
struct UdpBatch {
  mmsghdr rx_msg[kUdpBatch];
  iovec rx_iov[kUdpBatch];
  sockaddr_storage peer[kUdpBatch];
  mmsghdr tx_msg[kUdpBatch];
  iovec tx_iov[kUdpBatch];
  // Destination address of each query and source of its answer, for a
  // socket bound to a wildcard address (UdpSocket::pktinfo).
  alignas(cmsghdr) std::uint8_t rx_control[kUdpBatch][kUdpControl];
  alignas(cmsghdr) std::uint8_t tx_control[kUdpBatch][kUdpControl];
  // Each datagram parsed (answer_batch parses the whole batch, then answers it).
  PreparedQuery prepared[kUdpBatch];
  std::uint8_t tx[kUdpTxArena];
  std::uint8_t rx[kUdpBatch][kUdpRxSlot];

  UdpBatch();  // points the receive headers at the slots; leaves buffers untouched
};

// One UDP socket of a worker and the thread that serves it. Everything the
// thread writes per query (state, zone view, batch, RRL table) is its own.
struct UdpSocket {
  Frontend* fe = nullptr;
  int fd = -1;       // owned: closed by the front end after the thread ends
  std::string name;  // thread name, "udp-W.S" (top -H, ps -L)
  // Bound to 0.0.0.0 or ::: each answer must leave from the address its
  // query came to (a client ignores an answer from another address), so
  // the destination is read with IP_PKTINFO/IPV6_RECVPKTINFO and set as the
  // answer's source. AF_INET or AF_INET6 then; 0 for a specific address.
  int pktinfo = 0;
  int cpu = -1;  // pinned to this CPU ([server] socket_affinity or pin_workers); -1: not pinned
  WorkerState state;
  ZoneView zones;
  std::unique_ptr<UdpBatch> batch;
  std::unique_ptr<RrlTable> rrl;  // null unless [rrl] enabled
  std::atomic<bool> stopping{false};
  std::thread thread;
};

// Starts the thread serving `s.fd` (bound). Returns 0 or an errno value.
int udp_start(UdpSocket& s);
// Makes the thread return (wakes a blocked recvmmsg) and joins it.
void udp_stop(UdpSocket& s);

}  // namespace meridian
