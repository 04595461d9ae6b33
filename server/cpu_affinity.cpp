#include "server/cpu_affinity.hpp"

#include <linux/filter.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "server/log.hpp"

namespace meridian {

namespace {

bool allowed_set(cpu_set_t& set) {
  CPU_ZERO(&set);
  return sched_getaffinity(0, sizeof set, &set) == 0;
}

}  // namespace

unsigned available_cpus() {
  cpu_set_t set;
  if (!allowed_set(set)) return 1;
  const int n = CPU_COUNT(&set);
  return n > 0 ? static_cast<unsigned>(n) : 1;
}

int worker_cpu_in(const cpu_set_t& allowed, unsigned worker, unsigned workers) {
  if (!workers) return -1;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &allowed) && static_cast<unsigned>(c) % workers == worker) return c;
  return -1;
}

int worker_cpu(unsigned worker, unsigned workers) {
  cpu_set_t set;
  return allowed_set(set) ? worker_cpu_in(set, worker, workers) : -1;
}

int nth_allowed_cpu_in(const cpu_set_t& allowed, unsigned worker) {
  const int n = CPU_COUNT(&allowed);
  if (n <= 0) return -1;
  int skip = static_cast<int>(worker % static_cast<unsigned>(n));
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &allowed) && skip-- == 0) return c;
  return -1;
}

int nth_allowed_cpu(unsigned worker) {
  cpu_set_t set;
  return allowed_set(set) ? nth_allowed_cpu_in(set, worker) : -1;
}

int steer_by_cpu(int fd, unsigned workers) {
  if (!workers) return EINVAL;  // BPF_MOD by 0
  // Classic BPF, as SO_ATTACH_REUSEPORT_CBPF wants: A = the CPU the packet
  // is processed on; return A % workers, an index into the group. An index
  // past the group's end makes the kernel fall back to its hash.
  sock_filter code[] = {
      {BPF_LD | BPF_W | BPF_ABS, 0, 0, static_cast<__u32>(SKF_AD_OFF + SKF_AD_CPU)},
      {BPF_ALU | BPF_MOD | BPF_K, 0, 0, workers},
      {BPF_RET | BPF_A, 0, 0, 0},
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) == 0 ? 0 : errno;
}

int pin_thread(pthread_t t, int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) return EINVAL;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(t, sizeof set, &set);
}

void place_thread(std::thread& t, const std::string& name, int cpu) {
  pthread_setname_np(t.native_handle(), name.c_str());
  if (cpu >= 0)
    if (int e = pin_thread(t.native_handle(), cpu); e != 0)
      log::warn("{}: cannot pin to CPU {}: {}", name, cpu, std::strerror(e));
}

}  // namespace meridian
