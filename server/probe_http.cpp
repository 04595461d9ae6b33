// http / https: a GET of `url`; up when the status is expected (default
// 2xx or 3xx; redirects are not followed) and, with `expect_body`, the
// first 5 KiB of the body contain it. `host` sets the Host header and the
// TLS server name (SNI and the name the certificate must carry) while the
// connection still goes to the URL's address (CURLOPT_CONNECT_TO).
// Certificates are verified unless `insecure`; `ca_file` replaces the
// system CAs. Proxies from the environment are ignored, and each probe
// opens a fresh connection.
//
// libcurl's multi interface is driven by the checker's libuv loop, the
// integration curl documents (multi-uv.c): curl tells which sockets to
// watch (CURLMOPT_SOCKETFUNCTION -> uv_poll) and when to call back
// (CURLMOPT_TIMERFUNCTION -> uv_timer); the loop reports readiness with
// curl_multi_socket_action.
#include <curl/curl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "server/probe.hpp"
#include "version.hpp"

namespace meridian {

namespace {

class UvCurlMulti final : public CurlMulti {
 public:
  explicit UvCurlMulti(uv_loop_t* loop) : loop_(loop) {
    multi_ = curl_multi_init();
    timer_ = new uv_timer_t;
    uv_timer_init(loop_, timer_);
    timer_->data = this;
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  }

  ~UvCurlMulti() override {
    for (auto& [easy, f] : pending_) curl_multi_remove_handle(multi_, static_cast<CURL*>(easy));
    pending_.clear();
    curl_multi_cleanup(multi_);
    for (Poll* p : polls_) close_poll(p);
    polls_.clear();
    close_and_delete(timer_);
  }

  void add(void* easy, Finished f) override {
    pending_[easy] = std::move(f);
    curl_multi_add_handle(multi_, static_cast<CURL*>(easy));
  }

  void remove(void* easy) override {
    if (pending_.erase(easy)) curl_multi_remove_handle(multi_, static_cast<CURL*>(easy));
  }

 private:
  struct Poll {
    uv_poll_t handle;
    curl_socket_t fd;
    UvCurlMulti* self;
  };

  static void close_poll(Poll* p) {
    uv_poll_stop(&p->handle);
    uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), [](uv_handle_t* h) { delete static_cast<Poll*>(h->data); });
  }

  static int on_socket(CURL*, curl_socket_t s, int what, void* userp, void* socketp) {
    auto* self = static_cast<UvCurlMulti*>(userp);
    auto* p = static_cast<Poll*>(socketp);
    if (what == CURL_POLL_REMOVE) {
      if (p) {
        self->polls_.erase(p);
        close_poll(p);
        curl_multi_assign(self->multi_, s, nullptr);
      }
      return 0;
    }
    if (!p) {
      p = new Poll;
      p->fd = s;
      p->self = self;
      p->handle.data = p;
      if (uv_poll_init_socket(self->loop_, &p->handle, s) != 0) {
        delete p;
        return -1;
      }
      self->polls_.insert(p);
      curl_multi_assign(self->multi_, s, p);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
    uv_poll_start(&p->handle, events, on_poll);
    return 0;
  }

  static void on_poll(uv_poll_t* h, int status, int events) {
    auto* p = static_cast<Poll*>(h->data);
    UvCurlMulti* self = p->self;
    int flags = 0;
    if (status < 0) flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    int running = 0;
    curl_multi_socket_action(self->multi_, p->fd, flags, &running);
    self->drain();
  }

  static int on_timer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<UvCurlMulti*>(userp);
    if (timeout_ms < 0) {
      uv_timer_stop(self->timer_);
    } else {
      uv_timer_start(self->timer_, [](uv_timer_t* t) {
        auto* me = static_cast<UvCurlMulti*>(t->data);
        int running = 0;
        curl_multi_socket_action(me->multi_, CURL_SOCKET_TIMEOUT, 0, &running);
        me->drain();
      }, static_cast<std::uint64_t>(timeout_ms), 0);
    }
    return 0;
  }

  // Completed transfers: remove them and call their owners.
  void drain() {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      CURL* easy = m->easy_handle;
      const CURLcode code = m->data.result;
      auto it = pending_.find(easy);
      curl_multi_remove_handle(multi_, easy);
      if (it == pending_.end()) continue;
      Finished f = std::move(it->second);
      pending_.erase(it);
      f(static_cast<int>(code));
    }
  }

  uv_loop_t* loop_;
  CURLM* multi_;
  uv_timer_t* timer_;
  std::map<void*, Finished> pending_;
  std::set<Poll*> polls_;
};

bool is_tls_verify_error(CURLcode c) {
  return c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CACERT_BADFILE || c == CURLE_SSL_ISSUER_ERROR ||
         c == CURLE_SSL_PINNEDPUBKEYNOTMATCH || c == CURLE_SSL_INVALIDCERTSTATUS;
}

class HttpProbe final : public Probe {
 public:
  HttpProbe(CurlMulti& multi, const CheckSpec& spec) : multi_(multi), spec_(spec) {
    url_ = spec.url;
    if (!spec.host.empty()) {
      // Ask for https://HOST:PORT/path but connect to the URL's own address.
      CURLU* u = curl_url();
      char *host = nullptr, *port = nullptr;
      if (curl_url_set(u, CURLUPART_URL, spec.url.c_str(), 0) == CURLUE_OK &&
          curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
          curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        connect_to_ = spec.host + ":" + port + ":" + host + ":" + port;
        char* rewritten = nullptr;
        if (curl_url_set(u, CURLUPART_HOST, spec.host.c_str(), 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_URL, &rewritten, 0) == CURLUE_OK)
          url_ = rewritten;
        curl_free(rewritten);
      }
      curl_free(host);
      curl_free(port);
      curl_url_cleanup(u);
    }
  }
  ~HttpProbe() override { cancel(); }

  void run(Done done) override {
    cancel();
    easy_ = curl_easy_init();
    if (!easy_) return done({false, "cannot create a libcurl handle"});
    done_ = std::move(done);
    body_.clear();
    body_full_ = false;
    errbuf_[0] = 0;
    curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy_, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(easy_, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(spec_.timeout_ms));
    curl_easy_setopt(easy_, CURLOPT_USERAGENT, "meridian-health/" MERIDIAN_VERSION);
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, errbuf_);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    if (!connect_to_.empty()) {
      connect_list_ = curl_slist_append(nullptr, connect_to_.c_str());
      curl_easy_setopt(easy_, CURLOPT_CONNECT_TO, connect_list_);
    }
    if (spec_.insecure) {
      curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (!spec_.ca_file.empty()) {
      curl_easy_setopt(easy_, CURLOPT_CAINFO, spec_.ca_file.c_str());
    }
    multi_.add(easy_, [this](int code) { finished(static_cast<CURLcode>(code)); });
  }

  void cancel() override {
    if (!easy_) return;
    multi_.remove(easy_);
    release();
  }

 private:
  void release() {
    curl_easy_cleanup(easy_);
    easy_ = nullptr;
    curl_slist_free_all(connect_list_);
    connect_list_ = nullptr;
  }

  static std::size_t on_body(char* p, std::size_t size, std::size_t n, void* self_p) {
    auto* self = static_cast<HttpProbe*>(self_p);
    const std::size_t len = size * n;
    const std::size_t room = kHttpBodyLimit - self->body_.size();
    self->body_.append(p, std::min(len, room));
    if (self->body_.size() >= kHttpBodyLimit) {
      self->body_full_ = true;
      return 0;  // enough: stop the transfer (CURLE_WRITE_ERROR, which is not a failure here)
    }
    return len;
  }

  std::string curl_reason(CURLcode c) const {
    const std::string detail = errbuf_[0] ? std::string(errbuf_) : std::string(curl_easy_strerror(c));
    if (c == CURLE_COULDNT_CONNECT) {
      long os_errno = 0;
      curl_easy_getinfo(easy_, CURLINFO_OS_ERRNO, &os_errno);
      if (os_errno == ECONNREFUSED) return "connection refused";
      return "cannot connect: " + detail;
    }
    if (c == CURLE_OPERATION_TIMEDOUT) return "timeout after " + format_duration(spec_.timeout_ms);
    if (is_tls_verify_error(c)) return "certificate error: " + detail;
    if (c == CURLE_SSL_CONNECT_ERROR) return "TLS handshake failed: " + detail;
    if (c == CURLE_COULDNT_RESOLVE_HOST) return "cannot resolve: " + detail;
    if (c == CURLE_GOT_NOTHING) return "empty reply";
    return detail;
  }

  void finished(CURLcode code) {
    ProbeResult r;
    long status = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && body_full_)) {
      r = {false, curl_reason(code)};
    } else {
      const bool status_ok = spec_.expect_status.empty()
                                 ? status >= 200 && status < 400
                                 : std::find(spec_.expect_status.begin(), spec_.expect_status.end(), status) !=
                                       spec_.expect_status.end();
      r.reason = "status " + std::to_string(status);
      if (!status_ok) {
        r.ok = false;
      } else if (!spec_.expect_body.empty() && body_.find(spec_.expect_body) == std::string::npos) {
        r = {false, r.reason + ", body mismatch ('" + spec_.expect_body + "' not in the first " +
                        std::to_string(body_.size()) + " bytes)"};
      } else {
        r.ok = true;
        if (!spec_.expect_body.empty()) r.reason += ", body matched";
      }
    }
    release();
    Done d = std::move(done_);
    d(std::move(r));
  }

  CurlMulti& multi_;
  CheckSpec spec_;
  std::string url_, connect_to_;
  CURL* easy_ = nullptr;
  curl_slist* connect_list_ = nullptr;
  std::string body_;
  bool body_full_ = false;
  char errbuf_[CURL_ERROR_SIZE] = {};
  Done done_;
};

}  // namespace

std::unique_ptr<CurlMulti> make_curl_multi(uv_loop_t* loop) { return std::make_unique<UvCurlMulti>(loop); }

std::unique_ptr<Probe> make_http_probe(CurlMulti& multi, const CheckSpec& spec) {
  return std::make_unique<HttpProbe>(multi, spec);
}

}  // namespace meridian
