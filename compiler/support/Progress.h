// One line on stderr per long step (scheduling a kernel, compiling a runtime), so a user
// watching a build sees where the seconds go; `gru-gen -q` turns them off.
#pragma once

#include <cstdio>
#include <string>

namespace grugen {

inline bool &progress_enabled() {
  static bool enabled = true;
  return enabled;
}

// Writes "gru-gen: <what>" in one write, so lines from parallel target processes stay whole.
inline void progress(const std::string &what) {
  if (!progress_enabled()) return;
  const std::string line = "gru-gen: " + what + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace grugen
