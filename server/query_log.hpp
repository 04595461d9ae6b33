#pragma once
// The optional query log ([query_log], docs/metrics.md): one line per
// sampled query. The query path must neither allocate nor block, so a
// worker formats a sampled line on its stack and copies it into its own
// lock-free single-producer ring; a logging thread drains every ring to the
// file (or stderr) every 100 ms. When a ring is full the line is dropped
// and counted: a slow disk never slows answers. Sampling is a per-worker
// countdown, not randomness: exactly one query in N per worker is logged.
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "server/metrics.hpp"

namespace meridian {

struct QueryLogConfig {
  bool enabled = false;
  unsigned sample = 1;  // log one query in `sample`
  std::string file;     // empty: stderr
};

// What one line says. Pointers refer to the query being answered.
struct QueryLogEntry {
  const sockaddr* from = nullptr;  // packet source; null: unknown
  bool ecs = false;                // ECS option present and well-formed
  std::uint8_t ecs_family = 0;     // 1 IPv4, 2 IPv6
  std::uint8_t ecs_source = 0;
  const std::uint8_t* ecs_addr = nullptr;
  const std::uint8_t* qname = nullptr;  // lower-case wire; null: no question
  std::size_t qname_len = 0;
  std::uint16_t qtype = 0;
  std::uint16_t rcode = 0;
  bool tcp = false;
  bool truncated = false;
  PolicyKind policy = PolicyKind::None;
  // The first record the policy chose, when cheap to show: an A/AAAA
  // address or a CNAME target (wire). Empty: not shown.
  std::uint16_t target_type = 0;
  std::string_view target;
};

// Longest line format_query_log_line() writes (a 255-octet name escaped
// as \DDD is 1,020 characters).
inline constexpr std::size_t kQueryLogLineMax = 1536;

// "2026-05-04T10:11:12.345Z client=192.0.2.1#5353 ecs=198.51.100.0/24
//  qname=www.example.com. qtype=A rcode=NOERROR proto=udp policy=weighted
//  target=192.0.2.20\n" (one line; ecs=- and no target= when absent).
// No allocation. Returns the length written (at most kQueryLogLineMax).
std::size_t format_query_log_line(char* buf, const QueryLogEntry& e, std::int64_t unix_ms);

// One worker's ring. Only the worker calls sampled() and write(); only the
// logging thread calls drain().
class QueryLogRing {
 public:
  static constexpr std::size_t kBytes = std::size_t(1) << 20;  // ~7,000 lines per 100 ms
  explicit QueryLogRing(unsigned sample) : sample_(sample ? sample : 1), countdown_(sample_) {}

  bool sampled() {
    if (--countdown_ != 0) return false;
    countdown_ = sample_;
    return true;
  }
  void write(const QueryLogEntry& e);  // format and enqueue, or count a drop
  // Writes what is queued to `fd`; returns the bytes taken off the ring.
  std::size_t drain(int fd);

  std::uint64_t lines() const { return peek(lines_); }
  std::uint64_t dropped() const { return peek(dropped_); }

 private:
  bool push(const char* line, std::size_t n);
  const unsigned sample_;
  unsigned countdown_;
  std::uint64_t lines_ = 0, dropped_ = 0;  // written by the worker (bump)
  alignas(64) std::atomic<std::uint64_t> head_{0};  // bytes ever pushed (worker)
  alignas(64) std::atomic<std::uint64_t> tail_{0};  // bytes ever drained (logging thread)
  std::unique_ptr<char[]> buf_ = std::make_unique<char[]>(kBytes);
};

class QueryLog {
 public:
  explicit QueryLog(QueryLogConfig cfg) : cfg_(std::move(cfg)) {}
  ~QueryLog();
  QueryLog(const QueryLog&) = delete;
  QueryLog& operator=(const QueryLog&) = delete;

  // Opens the file (appending) and starts the logging thread.
  bool start(std::string& error);
  // A ring for one more worker; call before the worker runs.
  QueryLogRing& add_worker();
  // Final drain and join; after the workers stopped. Idempotent.
  void stop();

  std::uint64_t lines() const;
  std::uint64_t dropped() const;

 private:
  void run();
  void drain_all();
  QueryLogConfig cfg_;
  int fd_ = -1;
  bool own_fd_ = false;
  mutable std::mutex mu_;  // guards rings_ (start-up and scrapes; never the query path)
  std::vector<std::unique_ptr<QueryLogRing>> rings_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace meridian
