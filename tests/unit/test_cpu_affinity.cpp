// socket_affinity's CPU -> worker map: the steering program sends a query
// received on CPU c to worker c % workers, so worker w must be pinned to an
// allowed CPU with that remainder, or to none.
#include <doctest/doctest.h>

#include <initializer_list>

#include "server/cpu_affinity.hpp"

using meridian::nth_allowed_cpu_in;
using meridian::worker_cpu_in;

namespace {

cpu_set_t cpus(std::initializer_list<int> list) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : list) CPU_SET(c, &set);
  return set;
}

}  // namespace

TEST_CASE("socket affinity: worker i on CPU i when the process may use CPUs 0..n-1") {
  const cpu_set_t all = cpus({0, 1, 2, 3});
  for (unsigned w = 0; w < 4; ++w) CHECK(worker_cpu_in(all, w, 4) == static_cast<int>(w));
  CHECK(worker_cpu_in(all, 0, 1) == 0);
}

TEST_CASE("socket affinity: a cpuset not starting at 0 maps by remainder") {
  const cpu_set_t upper = cpus({2, 3});
  CHECK(worker_cpu_in(upper, 0, 2) == 2);
  CHECK(worker_cpu_in(upper, 1, 2) == 3);
  const cpu_set_t shifted = cpus({1, 2});
  CHECK(worker_cpu_in(shifted, 0, 2) == 2);
  CHECK(worker_cpu_in(shifted, 1, 2) == 1);
}

TEST_CASE("socket affinity: a worker no allowed CPU maps to is not pinned") {
  CHECK(worker_cpu_in(cpus({0, 2}), 1, 2) == -1);  // no odd CPU
  const cpu_set_t two = cpus({0, 1});
  CHECK(worker_cpu_in(two, 2, 4) == -1);  // more workers than CPU numbers
  CHECK(worker_cpu_in(two, 3, 4) == -1);
  CHECK(worker_cpu_in(two, 0, 0) == -1);
}

// pin_workers has no steering program to agree with: the allowed CPUs in
// order, whatever their numbers, shared in turn when workers outnumber them.
TEST_CASE("pin workers: worker i on the i-th CPU the process may use") {
  const cpu_set_t all = cpus({0, 1, 2, 3});
  for (unsigned w = 0; w < 4; ++w) CHECK(nth_allowed_cpu_in(all, w) == static_cast<int>(w));
  const cpu_set_t even = cpus({2, 4});  // the remainder map leaves worker 1 of 2 unpinned here
  CHECK(worker_cpu_in(even, 1, 2) == -1);
  CHECK(nth_allowed_cpu_in(even, 0) == 2);
  CHECK(nth_allowed_cpu_in(even, 1) == 4);
  CHECK(nth_allowed_cpu_in(even, 2) == 2);  // a third worker shares the first CPU
  CHECK(nth_allowed_cpu_in(cpus({1}), 0) == 1);
  CHECK(nth_allowed_cpu_in(cpus({1}), 1) == 1);
  CHECK(nth_allowed_cpu_in(cpus({}), 0) == -1);
}
