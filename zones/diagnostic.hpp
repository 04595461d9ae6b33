#pragma once
// Where a piece of configuration came from, and an error found in it.
// Every load error an operator sees is printed as "file:line:col: message".
#include <cstdint>
#include <string>
#include <vector>

namespace meridian {

struct SourceLoc {
  std::string file;
  std::uint32_t line = 0;
  std::uint32_t col = 0;
};

struct Diagnostic {
  SourceLoc loc;
  std::string message;

  std::string str() const {
    std::string s = loc.file;
    if (loc.line) s += ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col ? loc.col : 1);
    return s + ": " + message;
  }
};

using Diagnostics = std::vector<Diagnostic>;

}  // namespace meridian
