#pragma once
// `meridian explain NAME TYPE --client IP`: runs one query through the real
// answer path with a policy trace and prints why the client gets what it
// gets: its location in each database, the policy path, the health states
// consulted, the records and the ECS scope.
#include <string>

#include "server/runtime.hpp"

namespace meridian {

// Returns the report; on bad input (name, type, address) returns false and
// sets `error`.
bool explain_query(Runtime& rt, const std::string& name, const std::string& type, const std::string& client,
                   std::string& report, std::string& error);

}  // namespace meridian
