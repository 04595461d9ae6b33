#pragma once
// [server] socket_affinity: each UDP query, and each TCP connection, is
// served by the worker pinned to the CPU that received it. The kernel runs
// a datagram's (or a SYN's) receive path on one CPU (the NIC queue's, or
// the sender's on loopback); a BPF program on the SO_REUSEPORT group picks
// the socket of the worker on that CPU, so the wake-up and the packet's
// cache lines stay on one core instead of crossing to another
// (docs/performance.md, "Socket affinity"). Knot DNS calls the same thing
// `socket-affinity`. It pays only where the receive side is spread over the
// CPUs (a multi-queue NIC, RSS/RPS): with one queue every query lands on
// one worker, so it is off by default.

#include <pthread.h>
#include <sched.h>

#include <string>
#include <thread>

namespace meridian {

// CPUs this process may run on (sched_getaffinity; taskset, cpusets), at least 1.
unsigned available_cpus();

// The CPU worker `worker` of `workers` is pinned to: the first allowed CPU
// c with c % workers == worker (what steer_by_cpu sends to that
// worker), or -1 when there is none (more workers than CPU numbers).
int worker_cpu(unsigned worker, unsigned workers);
// The same over a given set of CPUs (what worker_cpu reads from the process).
int worker_cpu_in(const cpu_set_t& allowed, unsigned worker, unsigned workers);

// [server] pin_workers (no steering, so no remainder to match): worker
// `worker` on the (worker mod n)-th of the n CPUs this process may use, so
// the affinity mask (systemd's CPUAffinity=, taskset) chooses the CPUs:
// CPUAffinity=2 4 puts workers 0 and 1 on CPUs 2 and 4, which the
// remainder map would leave worker 1 without. More workers than CPUs share
// them in turn. -1 when the set is empty.
int nth_allowed_cpu(unsigned worker);
int nth_allowed_cpu_in(const cpu_set_t& allowed, unsigned worker);

// Attaches "socket = receiving CPU % workers" to the SO_REUSEPORT group of
// `fd`, UDP or TCP (bound; the group's sockets were bound in worker order,
// so socket i is worker i's; for TCP the choice is made at the SYN and the
// connection is accepted by that worker). Returns 0 or an errno value.
int steer_by_cpu(int fd, unsigned workers);

// Pins thread `t` to `cpu`. Returns 0 or an errno value.
int pin_thread(pthread_t t, int cpu);

// Names thread `t` (`top -H`) and, when `cpu` >= 0, pins it there; a pin
// that fails is logged, not fatal. Done by the thread that started `t`,
// before the server reports ready: a thread that moved itself would sleep
// once for the migration, and could be seen unnamed or unpinned.
void place_thread(std::thread& t, const std::string& name, int cpu);

}  // namespace meridian
