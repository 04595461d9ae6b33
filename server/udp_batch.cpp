#include "server/udp_batch.hpp"

#include <cerrno>
#include <cstddef>
#include <type_traits>

#include "server/frontend.hpp"

namespace meridian {

static_assert(std::is_standard_layout_v<UdpSocket> && offsetof(UdpSocket, poll) == 0,
              "the poll callback finds its UdpSocket from the uv_poll_t");

UdpBatch::UdpBatch() : rx_msg{}, rx_iov{}, peer{}, tx_msg{}, tx_iov{} {
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

// Sends tx_msg[0..n). A full socket buffer drops the rest, as a lost
// datagram would; an error on one answer (say, a source port of 0) skips
// only that one: sendmmsg reports it on the call that starts with it.
// Counts the answers not sent.
void send_all(int fd, mmsghdr* msg, unsigned n, WorkerMetrics* metrics) {
  unsigned sent = 0;
  unsigned i = 0;
  while (i < n) {
    const int r = sendmmsg(fd, msg + i, n - i, MSG_DONTWAIT);
    if (r > 0) {
      i += static_cast<unsigned>(r);
      sent += static_cast<unsigned>(r);
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      ++i;
    }
  }
  if (metrics && sent < n) metrics->drop(DropReason::SendFailed, n - sent);
}

void on_readable(uv_poll_t* h, int status, int) {
  if (status < 0) return;
  auto* w = static_cast<Worker*>(h->data);
  const int fd = reinterpret_cast<UdpSocket*>(h)->fd;
  UdpBatch& b = *w->udp_batch;
  const AnswerConfig& cfg = w->fe->config().answer;
  // The loop's cached clock (ms): free, and fresh enough for RRL's accounts.
  const std::uint64_t now_us = std::uint64_t(uv_now(&w->loop)) * 1000;
  for (unsigned round = 0; round < kUdpMaxRounds; ++round) {
    const int n = recvmmsg(fd, b.rx_msg, kUdpBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) return;  // EAGAIN (or an error the next wake-up will see again)
    unsigned ntx = 0;
    std::size_t used = 0;  // bytes of b.tx holding answers of this batch
    for (unsigned i = 0; i < static_cast<unsigned>(n); ++i) {
      msghdr& in = b.rx_msg[i].msg_hdr;
      const std::size_t qlen = b.rx_msg[i].msg_len;
      const socklen_t from_len = in.msg_namelen;
      in.msg_namelen = sizeof b.peer[i];  // recvmmsg overwrote it: reset for the next call
      if (in.msg_flags & MSG_TRUNC) continue;
      if (used > kUdpTxArena - kMaxMessage) {  // not enough room left: send what we have
        send_all(fd, b.tx_msg, ntx, w->state.metrics);
        ntx = 0;
        used = 0;
      }
      std::uint8_t* out = b.tx + used;
      std::size_t len =
          answer_query(w->current_zones(), cfg, w->state, b.rx[i], qlen,
                       QueryMeta{Transport::Udp, reinterpret_cast<const sockaddr*>(&b.peer[i]), nullptr}, out);
      if (len == 0) continue;  // dropped
      if (w->rrl) {  // response rate limiting: send, drop, or send truncated
        len = w->rrl->filter(reinterpret_cast<const sockaddr*>(&b.peer[i]), out, len, now_us);
        if (len == 0) continue;
      }
      used += len;
      b.tx_iov[ntx] = iovec{out, len};
      msghdr& o = b.tx_msg[ntx].msg_hdr;
      o.msg_name = &b.peer[i];  // the peer slot stays valid until the next recvmmsg
      o.msg_namelen = from_len;
      ++ntx;
    }
    send_all(fd, b.tx_msg, ntx, w->state.metrics);
    // A short batch drained the socket; epoll reports it again if more came.
    if (static_cast<unsigned>(n) < kUdpBatch) return;
  }
}

}  // namespace

int udp_start(Worker& w, UdpSocket& s) {
  int r = uv_poll_init(&w.loop, &s.poll, s.fd);
  if (r != 0) return r;
  s.poll.data = &w;
  return uv_poll_start(&s.poll, UV_READABLE, on_readable);
}

}  // namespace meridian
