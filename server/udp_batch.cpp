#include "server/udp_batch.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "server/cpu_affinity.hpp"
#include "server/frontend.hpp"
#include "server/hot_answer.hpp"
#include "server/log.hpp"
#include "server/rrl.hpp"

namespace meridian {

UdpBatch::UdpBatch() : rx_msg{}, rx_iov{}, peer{}, tx_msg{}, tx_iov{}, rx_control{}, tx_control{} {
  for (unsigned i = 0; i < kUdpBatch; ++i) {
    rx_iov[i] = iovec{rx[i], kMaxMessage};
    rx_msg[i].msg_hdr.msg_name = &peer[i];
    rx_msg[i].msg_hdr.msg_namelen = sizeof peer[i];
    rx_msg[i].msg_hdr.msg_iov = &rx_iov[i];
    rx_msg[i].msg_hdr.msg_iovlen = 1;
    tx_msg[i].msg_hdr.msg_iov = &tx_iov[i];
    tx_msg[i].msg_hdr.msg_iovlen = 1;
  }
}

namespace {

// recvmmsg and sendmmsg through syscall(2) rather than glibc's wrappers,
// which are thread-cancellation points: each call brackets the system call
// with two atomic compare-exchanges on the thread's cancel state (callgrind,
// one query per wake-up: 1,345 -> 1,261 instructions per query). These
// threads are never cancelled; udp_stop() ends the wait with shutdown(SHUT_RD).
int recv_batch(int fd, mmsghdr* msg, unsigned n, int flags) {
  return static_cast<int>(syscall(SYS_recvmmsg, fd, msg, n, flags, nullptr));
}
int send_batch(int fd, mmsghdr* msg, unsigned n, int flags) {
  return static_cast<int>(syscall(SYS_sendmmsg, fd, msg, n, flags));
}

void send_all(int fd, mmsghdr* msg, unsigned n, WorkerMetrics* metrics) {
  unsigned sent = 0;
  unsigned i = 0;
  while (i < n) {
    // MSG_DONTWAIT: a full send buffer drops answers instead of stalling
    // the receive side (a client that asked again will be answered).
    const int r = send_batch(fd, msg + i, n - i, MSG_DONTWAIT);
    if (r > 0) {
      i += static_cast<unsigned>(r);
      sent += static_cast<unsigned>(r);
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      ++i;  // this datagram cannot be sent (e.g. unreachable peer): skip it
    }
  }
  if (metrics && sent < n) metrics->drop(DropReason::SendFailed, n - sent);
}

// With pktinfo: the answer to rx slot `i`, in tx slot `t`, leaves from the
// address the query was sent to (and, for IPv6, by the interface it came
// in on, which link-local addresses need).
void set_source(UdpBatch& b, unsigned i, unsigned t, int family) {
  msghdr& in = b.rx_msg[i].msg_hdr;
  msghdr& out = b.tx_msg[t].msg_hdr;
  out.msg_control = nullptr;
  out.msg_controllen = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&in); c; c = CMSG_NXTHDR(&in, c)) {
    if (family == AF_INET && c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo got;
      std::memcpy(&got, CMSG_DATA(c), sizeof got);
      in_pktinfo send{};
      send.ipi_spec_dst = got.ipi_addr;  // ifindex 0: the route decides the interface
      out.msg_control = b.tx_control[t];
      out.msg_controllen = CMSG_SPACE(sizeof send);
      cmsghdr* o = CMSG_FIRSTHDR(&out);
      o->cmsg_level = IPPROTO_IP;
      o->cmsg_type = IP_PKTINFO;
      o->cmsg_len = CMSG_LEN(sizeof send);
      std::memcpy(CMSG_DATA(o), &send, sizeof send);
      return;
    }
    if (family == AF_INET6 && c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      out.msg_control = b.tx_control[t];
      out.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
      cmsghdr* o = CMSG_FIRSTHDR(&out);
      o->cmsg_level = IPPROTO_IPV6;
      o->cmsg_type = IPV6_PKTINFO;
      o->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
      std::memcpy(CMSG_DATA(o), CMSG_DATA(c), sizeof(in6_pktinfo));
      return;
    }
  }
}

std::uint64_t monotonic_us() {
  // The coarse clock is a vDSO read with no system call; RRL buckets need
  // milliseconds, not better.
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::uint64_t(ts.tv_sec) * 1000000u + std::uint64_t(ts.tv_nsec) / 1000u + 1;
}

// Answers the `n` datagrams of one batch and sends the answers.
void answer_batch(UdpSocket& s, UdpBatch& b, unsigned n) {
  const AnswerConfig& cfg = s.fe->config().answer;
  const ZoneSet& zones = s.zones.current();
  const std::uint64_t now_us = s.rrl ? monotonic_us() : 0;
  // Parse every datagram, then start the zone reads of all of them, then
  // answer: the index slot and name entry of each answer are cache misses
  // after a wake-up (perf, static zone at 30,000 q/s: find_entry had 40% of
  // Meridian's own samples), and this way the misses of a batch (3.7
  // datagrams a wake-up at that rate) overlap instead of following one
  // another. The second loop only reads slots and issues prefetches, so
  // its iterations do not wait for each other.
  for (unsigned i = 0; i < n; ++i)
    if (!(b.rx_msg[i].msg_hdr.msg_flags & MSG_TRUNC))
      prepare_query(zones, cfg, s.state, b.rx[i], b.rx_msg[i].msg_len, b.prepared[i]);
  if (n > 1)
    for (unsigned i = 0; i < n; ++i)
      if (!(b.rx_msg[i].msg_hdr.msg_flags & MSG_TRUNC)) prefetch_answer(b.prepared[i].where);
  unsigned ntx = 0;
  std::size_t used = 0;  // bytes of b.tx holding answers of this batch
  for (unsigned i = 0; i < n; ++i) {
    msghdr& in = b.rx_msg[i].msg_hdr;
    const socklen_t from_len = in.msg_namelen;
    in.msg_namelen = sizeof b.peer[i];  // recvmmsg overwrote it: reset for the next call
    if (in.msg_flags & MSG_TRUNC) continue;
    if (used > kUdpTxArena - kMaxMessage) {  // not enough room left: send what we have
      send_all(s.fd, b.tx_msg, ntx, s.state.metrics);
      ntx = 0;
      used = 0;
    }
    std::uint8_t* out = b.tx + used;
    std::size_t len = answer_prepared(zones, cfg, s.state, b.prepared[i], b.rx[i],
                                      QueryMeta{Transport::Udp, reinterpret_cast<const sockaddr*>(&b.peer[i]), nullptr},
                                      out);
    if (len == 0) continue;  // dropped
    if (s.rrl) {  // response rate limiting: send, drop, or send truncated
      len = s.rrl->filter(reinterpret_cast<const sockaddr*>(&b.peer[i]), out, len, now_us);
      if (len == 0) continue;
    }
    used += len;
    b.tx_iov[ntx] = iovec{out, len};
    msghdr& o = b.tx_msg[ntx].msg_hdr;
    o.msg_name = &b.peer[i];  // the peer slot stays valid until the next recvmmsg
    o.msg_namelen = from_len;
    if (s.pktinfo) set_source(b, i, ntx, s.pktinfo);
    ++ntx;
  }
  send_all(s.fd, b.tx_msg, ntx, s.state.metrics);
  if (s.pktinfo)  // recvmmsg overwrote the lengths: reset for the next call
    for (unsigned i = 0; i < n; ++i) b.rx_msg[i].msg_hdr.msg_controllen = kUdpControl;
}

void serve(UdpSocket& s) {
  UdpBatch& b = *s.batch;
  while (!s.stopping.load(std::memory_order_relaxed)) {
    // Blocks for the first datagram, then takes whatever else is queued.
    const int n = recv_batch(s.fd, b.rx_msg, kUdpBatch, MSG_WAITFORONE);
    if (n > 0) {
      answer_batch(s, b, static_cast<unsigned>(n));
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      // ECONNREFUSED and the like are reports about earlier sends; anything
      // persistent would spin, so pause a little.
      if (errno != ECONNREFUSED) usleep(1000);
    }
    // n == 0: shut down for reading (udp_stop); the loop condition ends it.
  }
}

}  // namespace

int udp_start(UdpSocket& s) {
  // Blocking reads (the sockets are opened non-blocking for the loop), with
  // no receive timeout: a timeout arms and cancels a kernel timer on every
  // wait (perf: about 0.5% of the CPU of a query at 30,000 q/s, which the
  // floor does not pay). Stopping relies on shutdown(SHUT_RD) waking the
  // wait, which Linux does for UDP (udp_stop; every test stops servers).
  const int flags = fcntl(s.fd, F_GETFL);
  if (flags < 0 || fcntl(s.fd, F_SETFL, flags & ~O_NONBLOCK) != 0) return errno;
  // Default-initialised, not value-initialised: the 2 MiB of receive slots
  // are not zeroed, so only the pages that datagrams reach become resident.
  s.batch.reset(new UdpBatch);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (getsockname(s.fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) return errno;
  const int one = 1;
  if (bound.ss_family == AF_INET &&
      reinterpret_cast<const sockaddr_in&>(bound).sin_addr.s_addr == htonl(INADDR_ANY)) {
    if (setsockopt(s.fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) != 0) return errno;
    s.pktinfo = AF_INET;
  } else if (bound.ss_family == AF_INET6 &&
             IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6&>(bound).sin6_addr)) {
    if (setsockopt(s.fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) != 0) return errno;
    s.pktinfo = AF_INET6;
  }
  if (s.pktinfo)
    for (unsigned i = 0; i < kUdpBatch; ++i) {
      s.batch->rx_msg[i].msg_hdr.msg_control = s.batch->rx_control[i];
      s.batch->rx_msg[i].msg_hdr.msg_controllen = kUdpControl;
    }
  s.thread = std::thread([&s] { serve(s); });
  place_thread(s.thread, s.name, s.cpu);
  return 0;
}

void udp_stop(UdpSocket& s) {
  s.stopping.store(true, std::memory_order_relaxed);
  // On Linux shutdown() of a UDP socket fails with ENOTCONN but still marks
  // it shut for reading and wakes a blocked recvmmsg, which returns 0.
  shutdown(s.fd, SHUT_RD);
  if (s.thread.joinable()) s.thread.join();
}

}  // namespace meridian
