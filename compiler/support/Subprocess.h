// Runs a tool (the target's C compiler) and captures what it prints.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace grugen {

struct SubprocessResult {
  bool started = false;  // false: the program could not be executed at all
  int exit_code = -1;    // valid when started; -1 when killed by a signal
  std::string output;    // stdout and stderr, interleaved
};

// Runs argv[0] (looked up on PATH) with `argv` in directory `cwd` and waits for it: in a process
// group of its own, stdin from /dev/null, TMPDIR set to `cwd` (a scratch directory of gru-gen's,
// so that its temporary files go where gru-gen removes them, interrupted or not).
SubprocessResult run_subprocess(const std::vector<std::string> &argv,
                                const std::filesystem::path &cwd);

}  // namespace grugen
