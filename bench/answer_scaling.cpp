// answer-scaling: the answer path alone (parse, lookup, policy, write; no
// sockets) in 1, 2... threads at once, each with its own WorkerState and
// counters, as the server's UDP workers have. It shows whether the query
// path itself scales with threads: shared state written per query (a
// counter, a lock, a false-shared cache line) would flatten the curve.
// On a 2-core machine the end-to-end UDP figure cannot show that, because
// the load generator needs one of the two cores (docs/performance.md).
//
// usage: answer-scaling ZONE_DIR QUERIES SECONDS THREADS[,THREADS...] [GEOIP.mmdb]
//   QUERIES: a dnsperf -B file (u16 length, wire query; bench/workload.py).
// prints what each query gets once ("queries N noerror ..."), then one line
// per thread count: "threads N answers A per_second Q"
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>

#include "server/answer.hpp"
#include "server/metrics.hpp"
#include "zones/zone_set.hpp"

using namespace meridian;

namespace {

struct Query {
  const std::uint8_t* bytes;
  std::size_t len;
};

std::vector<Query> split(const std::vector<std::uint8_t>& file) {
  std::vector<Query> out;
  for (std::size_t at = 0; at + 2 <= file.size();) {
    const std::size_t len = std::size_t(file[at]) << 8 | file[at + 1];
    if (at + 2 + len > file.size()) break;
    out.push_back(Query{file.data() + at + 2, len});
    at += 2 + len;
  }
  return out;
}

// Each thread answers the queries in a loop from its own starting point
// until told to stop; returns the answers given by all.
std::uint64_t run(const ZoneSet& zones, const AnswerConfig& cfg, const std::vector<Query>& queries,
                  unsigned threads, double seconds) {
  std::atomic<bool> go{false}, stop{false};
  std::vector<std::uint64_t> answered(threads * 8, 0);  // 64 bytes apart: no shared line
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      auto metrics = std::make_unique<WorkerMetrics>();
      auto out = std::make_unique<std::uint8_t[]>(kMaxMessage);
      WorkerState ws;
      ws.rng += t;
      ws.metrics = metrics.get();
      sockaddr_in from{};
      from.sin_family = AF_INET;
      from.sin_addr.s_addr = htonl(0x7f000001);
      const QueryMeta meta{Transport::Udp, reinterpret_cast<const sockaddr*>(&from), nullptr};
      std::size_t i = queries.size() * t / threads;
      std::uint64_t n = 0;
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      while (!stop.load(std::memory_order_relaxed)) {
        for (int k = 0; k < 256; ++k) {  // check the flag every 256 answers
          const Query& q = queries[i];
          if (++i == queries.size()) i = 0;
          n += answer_query(zones, cfg, ws, q.bytes, q.len, meta, out.get()) != 0;
        }
      }
      answered[t * 8] = n;
    });
  go.store(true, std::memory_order_release);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (auto& th : pool) th.join();
  std::uint64_t total = 0;
  for (unsigned t = 0; t < threads; ++t) total += answered[t * 8];
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || argc > 6) {
    std::fprintf(stderr, "usage: %s ZONE_DIR QUERIES SECONDS THREADS[,THREADS...] [GEOIP.mmdb]\n", argv[0]);
    return 2;
  }
  Diagnostics errors;
  auto zones = load_zone_dir(argv[1], errors);
  if (!zones || zones->zones.empty()) {
    std::fprintf(stderr, "answer-scaling: no zone loaded from %s\n", argv[1]);
    return 1;
  }
  std::ifstream in(argv[2], std::ios::binary);
  const std::vector<std::uint8_t> file{std::istreambuf_iterator<char>(in), {}};
  const auto queries = split(file);
  if (queries.empty()) {
    std::fprintf(stderr, "answer-scaling: no queries in %s\n", argv[2]);
    return 1;
  }
  AnswerConfig cfg;
  if (argc == 6) {
    auto geo = std::make_shared<GeoIpDb>();
    std::string error;
    if (!geo->open({argv[5]}, error)) {
      std::fprintf(stderr, "answer-scaling: %s\n", error.c_str());
      return 1;
    }
    cfg.geo = geo;
  }
  const double seconds = std::atof(argv[3]);
  {
    // Each query once: what the timed runs answer (a mix answered with
    // REFUSED or SERVFAIL would time the wrong path).
    WorkerState ws;
    auto out = std::make_unique<std::uint8_t[]>(kMaxMessage);
    unsigned long long rcode[16] = {}, with_answer = 0, dropped = 0;
    for (const Query& q : queries) {
      const std::size_t len = answer_query(*zones, cfg, ws, q.bytes, q.len, Transport::Udp, out.get());
      if (len < 12) {
        ++dropped;
        continue;
      }
      ++rcode[out[3] & 0xF];
      with_answer += (out[6] | out[7]) != 0;
    }
    std::printf("queries %zu noerror %llu nxdomain %llu other %llu dropped %llu with_answer %llu\n",
                queries.size(), rcode[0], rcode[3], queries.size() - rcode[0] - rcode[3] - dropped, dropped,
                with_answer);
  }
  run(*zones, cfg, queries, 1, 0.2);  // warm-up: caches, page faults
  std::stringstream list(argv[4]);
  for (std::string item; std::getline(list, item, ',');) {
    const unsigned threads = static_cast<unsigned>(std::stoul(item));
    const std::uint64_t n = run(*zones, cfg, queries, threads, seconds);
    std::printf("threads %u answers %llu per_second %.0f\n", threads, static_cast<unsigned long long>(n),
                double(n) / seconds);
    std::fflush(stdout);
  }
  return 0;
}
