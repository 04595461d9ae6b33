#include "server/query_log.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

namespace meridian {

namespace {

// Appends without allocating; never writes past `end` (the caller sizes
// the buffer for the longest line).
struct Out {
  char* p;
  char* end;
  void put(std::string_view s) {
    const std::size_t n = std::min<std::size_t>(s.size(), static_cast<std::size_t>(end - p));
    std::memcpy(p, s.data(), n);
    p += n;
  }
  void put(char c) {
    if (p < end) *p++ = c;
  }
  void num(std::uint64_t v, int width = 0) {
    // Unsigned counts, the padding bounded by the buffer: with a signed
    // count GCC's -Warray-bounds (sanitizer build) sees a possible tmp[-1],
    // and a width above 20 would have written past the buffer.
    char tmp[24];
    std::size_t n = 0;
    do {
      tmp[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);  // at most 20 digits
    const std::size_t w = std::min<std::size_t>(width > 0 ? static_cast<std::size_t>(width) : 0, sizeof tmp);
    while (n < w) tmp[n++] = '0';
    while (n) put(tmp[--n]);
  }
};

// Presentation form of a wire name, RFC 4343 escapes for odd octets.
void put_name(Out& o, const std::uint8_t* name, std::size_t len) {
  if (len <= 1) {
    o.put('.');
    return;
  }
  std::size_t i = 0;
  while (i < len && name[i] != 0) {
    const std::size_t l = name[i++];
    for (std::size_t k = 0; k < l && i < len; ++k, ++i) {
      const std::uint8_t c = name[i];
      if (c == '.' || c == '\\' || c == '"' || c == '=') {
        o.put('\\');
        o.put(static_cast<char>(c));
      } else if (c <= 0x20 || c >= 0x7F) {
        o.put('\\');
        o.num(c, 3);
      } else {
        o.put(static_cast<char>(c));
      }
    }
    o.put('.');
  }
}

void put_addr(Out& o, int family, const void* addr) {
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(family, addr, text, sizeof text)) o.put(text);
  else o.put('?');
}

void put_time(Out& o, std::int64_t unix_ms) {
  using namespace std::chrono;
  const sys_days day = floor<days>(sys_time<milliseconds>(milliseconds(unix_ms)));
  const year_month_day ymd(day);  // pure arithmetic: gmtime_r takes a lock in glibc
  std::int64_t ms_of_day = unix_ms - duration_cast<milliseconds>(day.time_since_epoch()).count();
  o.num(static_cast<std::uint64_t>(int(ymd.year())), 4);
  o.put('-');
  o.num(unsigned(ymd.month()), 2);
  o.put('-');
  o.num(unsigned(ymd.day()), 2);
  o.put('T');
  o.num(static_cast<std::uint64_t>(ms_of_day / 3600000), 2);
  o.put(':');
  o.num(static_cast<std::uint64_t>(ms_of_day / 60000 % 60), 2);
  o.put(':');
  o.num(static_cast<std::uint64_t>(ms_of_day / 1000 % 60), 2);
  o.put('.');
  o.num(static_cast<std::uint64_t>(ms_of_day % 1000), 3);
  o.put('Z');
}

void put_type(Out& o, std::uint16_t type) {
  const ldns_rr_descriptor* d = ldns_rr_descript(type);  // a static table: no allocation
  if (d && d->_name) {
    o.put(d->_name);
  } else {
    o.put("TYPE");
    o.num(type);
  }
}

void put_rcode(Out& o, std::uint16_t rcode) {
  const unsigned slot = rcode_slot(rcode);
  if (slot < kRcodeSlots - 1) {
    o.put(rcode_slot_name(slot));
  } else {
    o.put("RCODE");
    o.num(rcode);
  }
}

}  // namespace

std::size_t format_query_log_line(char* buf, const QueryLogEntry& e, std::int64_t unix_ms) {
  Out o{buf, buf + kQueryLogLineMax - 1};  // room for the newline
  put_time(o, unix_ms);
  o.put(" client=");
  if (e.from && e.from->sa_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(e.from);
    put_addr(o, AF_INET, &a->sin_addr);
    o.put('#');
    o.num(ntohs(a->sin_port));
  } else if (e.from && e.from->sa_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(e.from);
    put_addr(o, AF_INET6, &a->sin6_addr);
    o.put('#');
    o.num(ntohs(a->sin6_port));
  } else {
    o.put('-');
  }
  o.put(" ecs=");
  if (e.ecs && e.ecs_addr) {
    if (e.ecs_family == 1) {
      put_addr(o, AF_INET, e.ecs_addr);
    } else {
      put_addr(o, AF_INET6, e.ecs_addr);
    }
    o.put('/');
    o.num(e.ecs_source);
  } else {
    o.put('-');
  }
  o.put(" qname=");
  if (e.qname) put_name(o, e.qname, e.qname_len);
  else o.put('-');
  o.put(" qtype=");
  put_type(o, e.qtype);
  o.put(" rcode=");
  put_rcode(o, e.rcode);
  o.put(e.tcp ? " proto=tcp" : " proto=udp");
  if (e.truncated) o.put(" tc=1");
  o.put(" policy=");
  o.put(policy_kind_name(e.policy));
  if (!e.target.empty()) {
    if (e.target_type == 1 && e.target.size() == 4) {
      o.put(" target=");
      put_addr(o, AF_INET, e.target.data());
    } else if (e.target_type == 28 && e.target.size() == 16) {
      o.put(" target=");
      put_addr(o, AF_INET6, e.target.data());
    } else if (e.target_type == 5) {
      o.put(" target=");
      put_name(o, reinterpret_cast<const std::uint8_t*>(e.target.data()), e.target.size());
    }
  }
  *o.p++ = '\n';  // Out stopped one short of the buffer's end
  return static_cast<std::size_t>(o.p - buf);
}

void QueryLogRing::write(const QueryLogEntry& e) {
  char line[kQueryLogLineMax];
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  const std::size_t n =
      format_query_log_line(line, e, std::int64_t(ts.tv_sec) * 1000 + std::int64_t(ts.tv_nsec / 1000000));
  if (push(line, n)) bump(lines_);
  else bump(dropped_);
}

bool QueryLogRing::push(const char* line, std::size_t n) {
  const std::uint64_t head = head_.load(std::memory_order_relaxed);
  const std::uint64_t tail = tail_.load(std::memory_order_acquire);  // the drainer is done with those bytes
  if (kBytes - (head - tail) < n) return false;
  const std::size_t at = head % kBytes;
  const std::size_t first = std::min(n, kBytes - at);
  std::memcpy(buf_.get() + at, line, first);
  std::memcpy(buf_.get(), line + first, n - first);
  head_.store(head + n, std::memory_order_release);  // publishes the bytes
  return true;
}

std::size_t QueryLogRing::drain(int fd) {
  const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
  const std::uint64_t head = head_.load(std::memory_order_acquire);
  std::size_t left = head - tail;
  std::size_t at = tail % kBytes;
  while (left > 0) {
    const std::size_t chunk = std::min(left, kBytes - at);
    const ssize_t w = ::write(fd, buf_.get() + at, chunk);
    if (w < 0 && errno == EINTR) continue;
    // A failing file (disk full, closed stderr) must not stall the rings:
    // the bytes are dropped as if written.
    const std::size_t done = w > 0 ? static_cast<std::size_t>(w) : chunk;
    left -= done;
    at = (at + done) % kBytes;
  }
  tail_.store(head, std::memory_order_release);
  return head - tail;
}

QueryLog::~QueryLog() { stop(); }

bool QueryLog::start(std::string& error) {
  if (cfg_.file.empty()) {
    fd_ = STDERR_FILENO;
  } else {
    fd_ = ::open(cfg_.file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ < 0) {
      error = "query log " + cfg_.file + ": " + std::strerror(errno);
      return false;
    }
    own_fd_ = true;
  }
  thread_ = std::thread([this] { run(); });
  return true;
}

QueryLogRing& QueryLog::add_worker() {
  std::lock_guard lock(mu_);
  rings_.push_back(std::make_unique<QueryLogRing>(cfg_.sample));
  return *rings_.back();
}

void QueryLog::drain_all() {
  std::lock_guard lock(mu_);
  for (auto& r : rings_) r->drain(fd_);
}

void QueryLog::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; });
    lock.unlock();
    drain_all();
    lock.lock();
  }
}

void QueryLog::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) {
    drain_all();  // what the workers wrote before they stopped
    if (own_fd_) ::close(fd_);
    fd_ = -1;
  }
}

std::uint64_t QueryLog::lines() const {
  std::lock_guard lock(mu_);
  std::uint64_t n = 0;
  for (const auto& r : rings_) n += r->lines();
  return n;
}

std::uint64_t QueryLog::dropped() const {
  std::lock_guard lock(mu_);
  std::uint64_t n = 0;
  for (const auto& r : rings_) n += r->dropped();
  return n;
}

}  // namespace meridian
