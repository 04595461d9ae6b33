#pragma once
// Who the server runs as. A DNS server needs root (or CAP_NET_BIND_SERVICE)
// only to bind port 53; everything after that runs unprivileged. Two ways:
//  * started by root with `[server] user`: open the sockets and the admin
//    endpoint as root, then switch for good (setgroups/setgid/setuid);
//  * started directly as that user with the capability (systemd
//    AmbientCapabilities=CAP_NET_BIND_SERVICE): nothing to switch.
// Root without `user` is refused unless `--allow-root` or
// `[server] allow_root = true` says it is on purpose.
#include <sys/types.h>

#include <string>

#include "server/config.hpp"

namespace meridian {

struct PrivilegePlan {
  bool switch_user = false;  // true: call drop_privileges() after binding
  std::string user, group;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Decides what to do for the current effective uid. False with a message
// when the server must not start (exit code 2).
bool plan_privileges(const ServerConfig& cfg, bool allow_root_flag, PrivilegePlan& plan, std::string& error);

// Switches to plan.uid/gid with only plan.gid as group, irreversibly
// (checked: regaining root must fail). Every thread follows (glibc applies
// set*id to the whole process).
bool drop_privileges(const PrivilegePlan& plan, std::string& error);

}  // namespace meridian
