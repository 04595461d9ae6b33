#pragma once
// The UDP fast path. libuv's uv_udp_t costs one recvmsg per datagram, one
// sendmsg per answer and a final recvmsg that returns EAGAIN before every
// epoll_wait; on loopback those system calls cost more CPU than answering.
// Instead each worker watches its UDP socket with a uv_poll_t and, when it
// is readable, takes up to kUdpBatch datagrams with one recvmmsg, answers
// them all and sends the answers with one sendmmsg. Level-triggered epoll
// calls us again if more arrived, so a short batch needs no extra recvmmsg.
#include <sys/socket.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>

#include "server/answer.hpp"

namespace meridian {

struct Worker;

inline constexpr unsigned kUdpBatch = 32;
// Full batches taken per wake-up before yielding to the loop (TCP, stop).
inline constexpr unsigned kUdpMaxRounds = 8;
// A receive slot holds any UDP datagram (at most 65,527 bytes over IPv6), so
// no query is truncated; pages are touched only as far as datagrams reach.
// The extra 64 bytes stagger the slots over cache sets.
inline constexpr std::size_t kUdpRxSlot = kMaxMessage + 1 + 64;
// Answers are packed one after another; answer_query() wants kMaxMessage
// bytes of room, so the batch is flushed early when less is left (only with
// very large answers: UDP answers are at most 4 KiB).
inline constexpr std::size_t kUdpTxArena = 2 * kMaxMessage;

// Per-worker batch buffers, allocated once (not per query). Shared by the
// worker's UDP sockets: their callbacks run one at a time on its loop.
struct UdpBatch {
  mmsghdr rx_msg[kUdpBatch];
  iovec rx_iov[kUdpBatch];
  sockaddr_storage peer[kUdpBatch];
  mmsghdr tx_msg[kUdpBatch];
  iovec tx_iov[kUdpBatch];
  std::uint8_t tx[kUdpTxArena];
  std::uint8_t rx[kUdpBatch][kUdpRxSlot];

  UdpBatch();  // points the receive headers at the slots; leaves buffers untouched
};

// One listening UDP socket of a worker. `poll.data` is the Worker.
struct UdpSocket {
  uv_poll_t poll{};
  int fd = -1;  // owned: closed by the front end after the worker loop ends
};

// Starts polling `s.fd` (non-blocking, bound) on the worker's loop.
int udp_start(Worker& w, UdpSocket& s);

}  // namespace meridian
