// Runs independent jobs in forked child processes, a few at a time.
//
// gru-gen compiles each target in a child of its own for two reasons: Halide numbers the
// functions it creates process-wide, so a target compiled after another would get different
// internal names (and bytes) than the same target compiled alone; and targets are independent,
// so they can use every core.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace grugen {

struct ForkedJobResult {
  bool ok = false;
  std::string error;               // one line, when !ok
  std::vector<std::string> notes;  // what the job reported, in order
};

// A job runs in the child; it reports notes through `note` and fails by throwing.
using ForkedJob = std::function<void(const std::function<void(const std::string &)> &note)>;

// Runs every job, at most `parallel` at once, and returns their results in the jobs' order.
std::vector<ForkedJobResult> run_forked_jobs(const std::vector<ForkedJob> &jobs, unsigned parallel);

}  // namespace grugen
