#pragma once
// The health checker: runs every probed check (tcp, http, https, dns,
// file) on its own thread with its own libuv loop, so the query workers
// never see it. Each check has a repeating timer started at a random offset
// within its interval (hundreds of checks do not fire together), a timeout,
// and rise/fall thresholds; state changes are logged with the reason and
// written to HealthRegistry (the configured state: admin overrides still
// win). Calculated checks (all, any, at_least) follow their children's
// effective states. A check defined once is probed once per interval, no
// matter how many targets read it.
//
// reconcile() takes the full set of definitions after each config or zone
// load: unchanged checks keep running with their state, new ones start in
// their `initial` state, removed ones stop. It may be called before start()
// (`meridian check` and `explain` never start the thread) and from any
// thread.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "zones/check_spec.hpp"
#include "zones/health.hpp"

namespace meridian {

// Consecutive-result thresholds of one probed check.
class Thresholds {
 public:
  Thresholds(unsigned rise, unsigned fall, HealthState initial) : rise_(rise), fall_(fall), state_(initial) {}
  // Feeds one result; true when the state changed.
  bool feed(bool ok);
  HealthState state() const { return state_; }
  unsigned successes() const { return ok_run_; }
  unsigned failures() const { return fail_run_; }

 private:
  unsigned rise_, fall_;
  HealthState state_;
  unsigned ok_run_ = 0, fail_run_ = 0;
};

// The state of a calculated check from its children's states; `reason`
// (optional) gets "2 of 3 children up, needs all".
HealthState calculate(const CheckSpec& spec, const std::vector<HealthState>& children, std::string* reason = nullptr);

class HealthChecker {
 public:
  explicit HealthChecker(HealthRegistry& registry = HealthRegistry::global());
  ~HealthChecker();  // stops the thread
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  void reconcile(const std::vector<CheckSpec>& specs);
  // Called on the checker thread after states changed (probe results,
  // calculated checks, overrides) and after each reconcile.
  void set_on_change(std::function<void()> f);
  // Starts the thread; false with `error` when the loop cannot be set up.
  bool start(std::string& error);
  void stop();

  // Probe attempts finished since start (tests, benchmarks).
  std::uint64_t probes_done() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace meridian
