// tcp: up when a TCP connection to `address` completes. The connection is
// closed at once with a reset (SO_LINGER 0), as HAProxy does for its
// checks, so frequent probes leave no TIME_WAIT sockets behind.
#include <sys/socket.h>

#include <chrono>
#include <cstdio>

#include "server/probe.hpp"

namespace meridian {

namespace {

class TcpProbe final : public Probe {
 public:
  TcpProbe(uv_loop_t* loop, const CheckSpec& spec) : loop_(loop) {
    valid_ = parse_probe_address(spec.address, 0, addr_);
  }
  ~TcpProbe() override { cancel(); }

  void run(Done done) override {
    cancel();
    if (!valid_) return done({false, "bad address"});
    auto* a = new Attempt;
    a->owner = this;
    a->done = std::move(done);
    a->start = std::chrono::steady_clock::now();
    uv_tcp_init(loop_, &a->tcp);
    a->tcp.data = a;
    a->req.data = a;
    int rc = uv_tcp_connect(&a->req, &a->tcp, reinterpret_cast<const sockaddr*>(&addr_), on_connect);
    if (rc != 0) {
      Done d = std::move(a->done);
      uv_close(reinterpret_cast<uv_handle_t*>(&a->tcp), on_close);
      return d({false, describe(rc)});
    }
    current_ = a;
  }

  void cancel() override {
    if (!current_) return;
    current_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&current_->tcp), on_close);  // the connect callback gets ECANCELED
    current_ = nullptr;
  }

 private:
  struct Attempt {
    uv_tcp_t tcp;
    uv_connect_t req;
    TcpProbe* owner = nullptr;
    Done done;
    std::chrono::steady_clock::time_point start;
  };

  static std::string describe(int status) {
    if (status == UV_ECONNREFUSED) return "connection refused";
    if (status == UV_ETIMEDOUT) return "connect timed out";
    if (status == UV_EHOSTUNREACH || status == UV_ENETUNREACH) return "unreachable";
    return std::string("connect failed: ") + uv_strerror(status);
  }

  static void on_close(uv_handle_t* h) { delete static_cast<Attempt*>(h->data); }

  static void on_connect(uv_connect_t* req, int status) {
    auto* a = static_cast<Attempt*>(req->data);
    if (!a->owner) return;  // cancelled; the close callback frees it
    a->owner->current_ = nullptr;
    a->owner = nullptr;
    ProbeResult r;
    if (status == 0) {
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a->start).count();
      char buf[64];
      std::snprintf(buf, sizeof buf, "connected in %.1f ms", ms);
      r = {true, buf};
      uv_os_fd_t fd;
      if (uv_fileno(reinterpret_cast<uv_handle_t*>(&a->tcp), &fd) == 0) {
        linger l{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      }
    } else {
      r = {false, describe(status)};
    }
    Done d = std::move(a->done);
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&a->tcp))) uv_close(reinterpret_cast<uv_handle_t*>(&a->tcp), on_close);
    d(std::move(r));
  }

  uv_loop_t* loop_;
  sockaddr_storage addr_{};
  bool valid_ = false;
  Attempt* current_ = nullptr;
};

}  // namespace

std::unique_ptr<Probe> make_tcp_probe(uv_loop_t* loop, const CheckSpec& spec) {
  return std::make_unique<TcpProbe>(loop, spec);
}

}  // namespace meridian
