#pragma once
// `meridian ctl`: the command-line client of the admin endpoint (libcurl).
#include <string>
#include <vector>

namespace meridian {

// `admin` is "127.0.0.1:9153"; `token` the bearer token ([admin] token),
// empty for none; `args` the words after `ctl`. Prints the result; returns
// the process exit code.
int run_ctl(const std::string& admin, const std::string& token, const std::vector<std::string>& args, bool json);

}  // namespace meridian
