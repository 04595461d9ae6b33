#include "server/notify.hpp"

#include <systemd/sd-daemon.h>

#include <ctime>
#include <string>

#include "server/log.hpp"

namespace meridian::notify {

namespace {

void send(const std::string& state) {
  // unset_environment = 0: reloads and the final STOPPING=1 need the
  // socket too. A negative result is an unreachable socket: log, go on.
  if (int r = sd_notify(0, state.c_str()); r < 0) log::warn("sd_notify: cannot notify the service manager ({})", r);
}

}  // namespace

void ready() { send("READY=1\nSTATUS=serving"); }

void reloading() {
  // systemd 253+ (Type=notify-reload) wants the CLOCK_MONOTONIC time of the
  // reload; older versions ignore the field.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const unsigned long long usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ull + ts.tv_nsec / 1000;
  send("RELOADING=1\nSTATUS=reloading zones\nMONOTONIC_USEC=" + std::to_string(usec));
}

void stopping() { send("STOPPING=1\nSTATUS=stopping"); }

}  // namespace meridian::notify
