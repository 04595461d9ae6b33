#include "server/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace meridian {

namespace {

std::string errno_text() { return std::strerror(errno); }

// getpwnam_r/getgrnam_r with a buffer that grows: some NSS sources return
// large entries, and the non-reentrant calls are not thread-safe (the admin
// thread is already running).
bool lookup_user(const std::string& name, uid_t& uid, gid_t& gid) {
  std::vector<char> buf(4096);
  passwd pw{}, *res = nullptr;
  int rc;
  while ((rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res)) == ERANGE && buf.size() < (1u << 20))
    buf.resize(buf.size() * 2);
  if (rc != 0 || !res) return false;
  uid = pw.pw_uid;
  gid = pw.pw_gid;
  return true;
}

bool lookup_group(const std::string& name, gid_t& gid) {
  std::vector<char> buf(4096);
  group gr{}, *res = nullptr;
  int rc;
  while ((rc = getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &res)) == ERANGE && buf.size() < (1u << 20))
    buf.resize(buf.size() * 2);
  if (rc != 0 || !res) return false;
  gid = gr.gr_gid;
  return true;
}

}  // namespace

bool plan_privileges(const ServerConfig& cfg, bool allow_root_flag, PrivilegePlan& plan, std::string& error) {
  plan = PrivilegePlan{};
  const uid_t euid = geteuid();
  if (cfg.user.empty()) {
    if (euid != 0 || allow_root_flag || cfg.allow_root) return true;
    error = "refusing to run as root. Either set [server] user = \"meridian\" in " + cfg.file +
            " (sockets are bound as root, then the server switches to that user), or pass --allow-root / set "
            "[server] allow_root = true to run as root on purpose (e.g. in a container)";
    return false;
  }
  if (!lookup_user(cfg.user, plan.uid, plan.gid)) {
    error = cfg.file + ": [server] user '" + cfg.user + "' does not exist on this system";
    return false;
  }
  if (!cfg.group.empty() && !lookup_group(cfg.group, plan.gid)) {
    error = cfg.file + ": [server] group '" + cfg.group + "' does not exist on this system";
    return false;
  }
  if (plan.uid == 0) {
    error = cfg.file + ": [server] user '" + cfg.user + "' is root; name an unprivileged user or use allow_root";
    return false;
  }
  plan.user = cfg.user;
  plan.group = cfg.group;
  if (euid == 0) {
    plan.switch_user = true;
    return true;
  }
  // Not root: started as the user already (systemd User=, runuser). Only
  // root could switch, so any other uid is a mistake worth stopping for.
  if (euid != plan.uid) {
    error = cfg.file + ": [server] user is '" + cfg.user + "' (uid " + std::to_string(plan.uid) +
            ") but the server runs as uid " + std::to_string(euid) +
            "; only root can switch users: start it as root or as '" + cfg.user + "'";
    return false;
  }
  return true;
}

bool drop_privileges(const PrivilegePlan& plan, std::string& error) {
  // Order matters: groups and gid while still root, uid last.
  if (setgroups(1, &plan.gid) != 0) {
    error = "setgroups: " + errno_text();
    return false;
  }
  if (setgid(plan.gid) != 0) {
    error = "setgid(" + std::to_string(plan.gid) + "): " + errno_text();
    return false;
  }
  if (setuid(plan.uid) != 0) {
    error = "setuid(" + std::to_string(plan.uid) + "): " + errno_text();
    return false;
  }
  // setuid() from root sets real, effective and saved uid; make sure there
  // is no way back before serving a single query.
  if (setuid(0) == 0 || geteuid() != plan.uid || getuid() != plan.uid || getegid() != plan.gid ||
      getgid() != plan.gid) {
    error = "privileges were not dropped completely";
    return false;
  }
  return true;
}

}  // namespace meridian
