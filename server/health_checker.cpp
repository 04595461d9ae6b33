#include "server/health_checker.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "server/log.hpp"
#include "server/probe.hpp"

namespace meridian {

bool Thresholds::feed(bool ok) {
  if (ok) {
    fail_run_ = 0;
    if (ok_run_ < 1000000) ++ok_run_;
    if (state_ == HealthState::Down && ok_run_ >= rise_) {
      state_ = HealthState::Up;
      return true;
    }
  } else {
    ok_run_ = 0;
    if (fail_run_ < 1000000) ++fail_run_;
    if (state_ == HealthState::Up && fail_run_ >= fall_) {
      state_ = HealthState::Down;
      return true;
    }
  }
  return false;
}

HealthState calculate(const CheckSpec& spec, const std::vector<HealthState>& children, std::string* reason) {
  const auto up = static_cast<std::size_t>(std::count(children.begin(), children.end(), HealthState::Up));
  std::size_t need = 1;
  std::string need_text = "needs one";
  if (spec.type == CheckType::All) {
    need = children.size();
    need_text = "needs all";
  } else if (spec.type == CheckType::AtLeast) {
    need = spec.n;
    need_text = "needs " + std::to_string(spec.n);
  }
  bool healthy = up >= need;
  if (spec.invert) healthy = !healthy;
  if (reason)
    *reason = std::to_string(up) + " of " + std::to_string(children.size()) + " children up, " + need_text +
              (spec.invert ? ", inverted" : "");
  return healthy ? HealthState::Up : HealthState::Down;
}

namespace {

constexpr std::uint64_t kProbeGridMs = 10;

std::string state_change_text(HealthState from, HealthState to) {
  return std::string(health_state_name(from)) + " -> " + std::string(health_state_name(to));
}

}  // namespace

struct HealthChecker::Impl {
  explicit Impl(HealthRegistry& r) : registry(r), rng(std::random_device{}()) {}

  // One probed check on the loop.
  struct Running {
    Impl* impl;
    CheckSpec spec;
    std::unique_ptr<Probe> probe;
    uv_timer_t* tick = nullptr;
    uv_timer_t* deadline = nullptr;
    Thresholds th;
    bool in_flight = false;
    std::uint64_t seq = 0;
    std::uint64_t gen;  // the definition's generation (see Impl::gens)

    Running(Impl* i, CheckSpec s, std::uint64_t g)
        : impl(i), spec(std::move(s)), th(spec.rise, spec.fall, spec.initial), gen(g) {}
    ~Running() {
      if (probe) probe->cancel();
      close_and_delete(tick);
      close_and_delete(deadline);
    }

    void start(std::uint64_t offset_ms) {
      tick = new uv_timer_t;
      uv_timer_init(&impl->loop, tick);
      tick->data = this;
      deadline = new uv_timer_t;
      uv_timer_init(&impl->loop, deadline);
      deadline->data = this;
      uv_timer_start(tick, [](uv_timer_t* t) { static_cast<Running*>(t->data)->fire(); }, offset_ms, spec.interval_ms);
    }

    // A probe now (the interval timer, or a file that changed).
    void fire() {
      if (in_flight) return;
      in_flight = true;
      const std::uint64_t my = ++seq;
      uv_timer_start(deadline, [](uv_timer_t* t) { static_cast<Running*>(t->data)->on_timeout(); }, spec.timeout_ms, 0);
      probe->run([this, my](ProbeResult r) { finish(my, std::move(r)); });
    }

    void on_timeout() {
      if (!in_flight) return;
      probe->cancel();
      finish(seq, {false, "timeout after " + format_duration(spec.timeout_ms)});
    }

    void finish(std::uint64_t my, ProbeResult r) {
      if (!in_flight || my != seq) return;
      in_flight = false;
      uv_timer_stop(deadline);
      impl->probes.fetch_add(1, std::memory_order_relaxed);
      if (!impl->still_wanted(spec.name, gen)) return;  // removed or redefined since: its result no longer counts
      bool ok = r.ok;
      if (spec.invert) {
        ok = !ok;
        r.reason = "inverted: " + r.reason;
      }
      impl->registry.report(spec.name, ok, r.reason);
      const HealthState before = th.state();
      if (!th.feed(ok)) return;
      impl->registry.set(spec.name, th.state());
      const unsigned run = ok ? th.successes() : th.failures();
      std::string note;
      if (auto o = impl->override_of(spec.name)) note = "; admin override " + std::string(health_state_name(*o)) + " still wins";
      const std::string msg = "check " + spec.name + ": " + state_change_text(before, th.state()) + " (" + r.reason +
                              "; " + std::to_string(run) + " consecutive " + (ok ? "success" : "failure") +
                              (run == 1 ? "" : (ok ? "es" : "s")) + note + ")";
      if (ok) log::info("{}", msg);
      else log::warn("{}", msg);
      impl->after_change();
    }
  };

  HealthRegistry& registry;
  std::mt19937_64 rng;

  // Shared with other threads, under mu.
  std::mutex mu;
  std::map<std::string, CheckSpec, std::less<>> desired;  // the last reconcile
  // Per name, a number that changes whenever its definition does: cheaper
  // to compare per probe than the definitions.
  std::map<std::string, std::uint64_t, std::less<>> gens;
  std::uint64_t next_gen = 1;
  std::vector<std::string> calc_order;                    // calculated checks, children first
  bool dirty = false;
  bool stopping = false;
  bool started = false;
  std::function<void()> on_change;

  // Loop thread only.
  uv_loop_t loop{};
  uv_async_t* wake = nullptr;
  std::unique_ptr<CurlMulti> curl;
  std::map<std::string, std::unique_ptr<Running>, std::less<>> running;
  std::thread thread;
  std::atomic<std::uint64_t> probes{0};

  bool still_wanted(const std::string& name, std::uint64_t gen) {
    std::lock_guard lock(mu);
    auto it = gens.find(name);
    return it != gens.end() && it->second == gen;
  }

  std::optional<HealthState> override_of(const std::string& name) {
    for (const auto& e : registry.overrides())
      if (e.first == name) return e.second;
    return std::nullopt;
  }

  // Children before parents; cycles (rejected at load) are cut.
  void order_calculated() {
    calc_order.clear();
    std::set<std::string> done, visiting;
    auto visit = [&](auto& self, const std::string& name) -> void {
      if (done.count(name) || visiting.count(name)) return;
      auto it = desired.find(name);
      if (it == desired.end() || !is_calculated(it->second.type)) return;
      visiting.insert(name);
      for (const auto& c : it->second.children) self(self, c);
      visiting.erase(name);
      done.insert(name);
      calc_order.push_back(name);
    };
    for (const auto& [name, spec] : desired) visit(visit, name);
  }

  // Recomputes every calculated check from its children's effective
  // states; logs changes. Under mu.
  bool recalc_locked() {
    bool changed = false;
    for (const auto& name : calc_order) {
      const CheckSpec& spec = desired.at(name);
      std::vector<HealthState> kids;
      for (const auto& c : spec.children) kids.push_back(registry.get(c).value_or(HealthState::Up));
      std::string reason;
      const HealthState s = calculate(spec, kids, &reason);
      const HealthState before = registry.configured(name).value_or(HealthState::Up);
      registry.report(name, s == HealthState::Up, reason);
      if (s == before) continue;
      registry.set(name, s);
      changed = true;
      if (started) {
        const std::string msg = "check " + name + ": " + state_change_text(before, s) + " (" + reason + ")";
        if (s == HealthState::Up) log::info("{}", msg);
        else log::warn("{}", msg);
      }
    }
    return changed;
  }

  void notify() {
    std::function<void()> f;
    {
      std::lock_guard lock(mu);
      f = on_change;
    }
    if (f) f();
  }

  // After a probed check changed state (loop thread).
  void after_change() {
    {
      std::lock_guard lock(mu);
      recalc_locked();
    }
    notify();
  }

  void reconcile(const std::vector<CheckSpec>& specs) {
    std::lock_guard lock(mu);
    std::map<std::string, CheckSpec, std::less<>> next;
    std::map<std::string, std::uint64_t, std::less<>> next_gens;
    for (const auto& s : specs) next.emplace(s.name, s);
    for (const auto& [name, s] : next) {
      auto old = desired.find(name);
      const bool fresh = old == desired.end() || !old->second.same_definition(s);
      next_gens[name] = fresh ? next_gen++ : gens.at(name);
      registry.declare(name, check_type_name(s.type), s.target());
      if (s.type == CheckType::Manual) {
        registry.set(name, s.state);
        registry.report(name, s.state == HealthState::Up,
                        "set in " + s.loc.file + (s.loc.line ? ":" + std::to_string(s.loc.line) : ""));
      } else if (fresh && is_probe(s.type)) {
        registry.set(name, s.initial);
        registry.report(name, s.initial == HealthState::Up, "initial state " + std::string(health_state_name(s.initial)) +
                                                                 ", not probed yet");
      }
    }
    for (const auto& [name, s] : desired)
      if (!next.count(name)) registry.undeclare(name);
    desired = std::move(next);
    gens = std::move(next_gens);
    order_calculated();
    recalc_locked();
    dirty = true;
    if (started) uv_async_send(wake);
  }

  // Loop thread: brings `running` in line with `desired`.
  void apply(const std::map<std::string, CheckSpec, std::less<>>& want,
             const std::map<std::string, std::uint64_t, std::less<>>& want_gens) {
    for (auto it = running.begin(); it != running.end();) {
      auto w = want_gens.find(it->first);
      if (w == want_gens.end() || w->second != it->second->gen) {
        it = running.erase(it);
      } else {
        ++it;
      }
    }
    std::size_t started_now = 0;
    for (const auto& [name, spec] : want) {
      if (!is_probe(spec.type) || running.count(name)) continue;
      auto r = std::make_unique<Running>(this, spec, want_gens.at(name));
      Running* raw = r.get();
      switch (spec.type) {
        case CheckType::Tcp: r->probe = make_tcp_probe(&loop, spec); break;
        case CheckType::Http:
        case CheckType::Https: r->probe = make_http_probe(*curl, spec); break;
        case CheckType::Dns: r->probe = make_dns_probe(&loop, spec); break;
        case CheckType::File: r->probe = make_file_probe(&loop, spec, [raw] { raw->fire(); }); break;
        default: break;
      }
      if (!r->probe) continue;
      // A random start within the interval so that checks spread out, on
      // a 10 ms grid: checks due in the same 10 ms fire in one wake-up of
      // the checker (500 checks at 1 s: at most 100 wake-ups a second, not
      // 500), and their timers stay together since libuv re-arms every
      // timer that fired in one loop turn from the same time.
      std::uniform_int_distribution<std::uint64_t> offset(0, spec.interval_ms - 1);
      const std::uint64_t start = offset(rng);
      r->start(spec.type == CheckType::File ? 0 : start - start % kProbeGridMs);
      running.emplace(name, std::move(r));
      ++started_now;
    }
    if (started_now) log::info("health checker: {} check(s) running ({} started)", running.size(), started_now);
  }

  void on_wake() {
    std::map<std::string, CheckSpec, std::less<>> want;
    std::map<std::string, std::uint64_t, std::less<>> want_gens;
    bool do_apply = false;
    {
      std::lock_guard lock(mu);
      if (stopping) {
        running.clear();
        curl.reset();
        close_and_delete(wake);
        wake = nullptr;
        return;
      }
      if (dirty) {
        want = desired;
        want_gens = gens;
        dirty = false;
        do_apply = true;
      }
      recalc_locked();
    }
    if (do_apply) apply(want, want_gens);
    notify();
  }

  void request_wake() {
    std::lock_guard lock(mu);
    if (started && !stopping) uv_async_send(wake);
  }
};

HealthChecker::HealthChecker(HealthRegistry& registry) : impl_(std::make_unique<Impl>(registry)) {}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::reconcile(const std::vector<CheckSpec>& specs) { impl_->reconcile(specs); }

void HealthChecker::set_on_change(std::function<void()> f) {
  std::lock_guard lock(impl_->mu);
  impl_->on_change = std::move(f);
}

bool HealthChecker::start(std::string& error) {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    if (m.started) return true;
    if (int rc = uv_loop_init(&m.loop); rc != 0) {
      error = std::string("health checker: cannot create its loop: ") + uv_strerror(rc);
      return false;
    }
    m.wake = new uv_async_t;
    m.wake->data = &m;
    uv_async_init(&m.loop, m.wake, [](uv_async_t* a) { static_cast<Impl*>(a->data)->on_wake(); });
    m.curl = make_curl_multi(&m.loop);
    m.dirty = true;
    m.started = true;
    uv_async_send(m.wake);
    m.thread = std::thread([&m] {
      pthread_setname_np(pthread_self(), "health-checker");  // for top -H, ps -L
      // Below the query workers: when the CPUs are busy, answers go first
      // (probes tolerate milliseconds of delay; a nice +10 thread still gets
      // about a tenth of a contended core, far more than probing needs).
      setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
      uv_run(&m.loop, UV_RUN_DEFAULT);
    });
  }
  // Overrides change what calculated checks see, and what fails open. (Set
  // without holding mu: the registry calls the listener under its own lock,
  // and the listener takes mu.)
  m.registry.set_override_listener([&m] { m.request_wake(); });
  return true;
}

void HealthChecker::stop() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    if (!m.started || m.stopping) return;
  }
  m.registry.set_override_listener(nullptr);
  {
    std::lock_guard lock(m.mu);
    m.stopping = true;
    uv_async_send(m.wake);
  }
  m.thread.join();
  // Handles closed on the loop; run what is left of their close callbacks.
  uv_run(&m.loop, UV_RUN_DEFAULT);
  uv_loop_close(&m.loop);
}

std::uint64_t HealthChecker::probes_done() const { return impl_->probes.load(std::memory_order_relaxed); }

}  // namespace meridian

namespace meridian {

bool parse_probe_address(const std::string& text, unsigned default_port, sockaddr_storage& out) {
  out = {};
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) return false;
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return false;
      port = text.substr(close + 2);
    }
  } else {
    const auto colon = text.rfind(':');
    host = text.substr(0, colon);
    if (colon != std::string::npos) port = text.substr(colon + 1);
  }
  unsigned p = default_port;
  if (!port.empty()) {
    try {
      std::size_t used = 0;
      p = static_cast<unsigned>(std::stoul(port, &used));
      if (used != port.size()) return false;
    } catch (...) {
      return false;
    }
  }
  if (p == 0 || p > 65535) return false;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (uv_ip4_addr(host.c_str(), static_cast<int>(p), v4) == 0) return true;
  out = {};
  return uv_ip6_addr(host.c_str(), static_cast<int>(p), v6) == 0;
}

}  // namespace meridian
