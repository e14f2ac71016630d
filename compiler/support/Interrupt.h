// Clean-up when gru-gen is interrupted (SIGINT, SIGTERM, SIGHUP): the processes it forked are
// stopped with their process groups (each removes its own files) and waited for, then the
// staging and scratch directories this process registered are removed and the process dies of
// the signal as it would have.
// SIGXFSZ is ignored (writes past ulimit -f fail with EFBIG, an error like any other).
// SIGKILL cannot be caught: after one, a `.gru-gen-XXXXXX` directory may remain beside the
// output directory (never inside it) and one in $TMPDIR.
#pragma once

#include <sys/types.h>

#include <string>

namespace grugen {

// Installs the handlers; once, early in main.
void install_interrupt_cleanup();

// A directory to remove on interruption; returns a handle for forget_directory (-1 when the
// registry is full, which only loses the clean-up).
int remember_directory(const std::string &path);
void forget_directory(int handle);

// Makes this process the reaper of its descendants' orphans (Linux: PR_SET_CHILD_SUBREAPER), so
// that an interruption waits for the processes a stopped compiler driver leaves running. Called
// by install_interrupt_cleanup, and by each forked process that starts compilers of its own.
void adopt_orphans();

// In a forked gru-gen process: SIGTERM when `parent`, the process that forked it, dies, even of
// SIGKILL (Linux: PR_SET_PDEATHSIG, which follows the forking thread: gru-gen forks from its
// only one). It then stops its compilers and removes its directories as on any interruption.
void die_with_parent(pid_t parent);

// A forked process to stop (SIGTERM, to it and to its process group) on interruption.
void remember_child(pid_t pid);
void forget_child(pid_t pid);

// Blocks the interrupting signals for its lifetime (a commit that must not stop halfway, a
// directory or a child process and its registration, which must not be separated).
class DeferInterrupts {
 public:
  DeferInterrupts();
  ~DeferInterrupts() { end(); }
  // Restores the signal mask now, e.g. in a forked child (which inherits the blocked mask).
  void end();
  DeferInterrupts(const DeferInterrupts &) = delete;
  DeferInterrupts &operator=(const DeferInterrupts &) = delete;

 private:
  unsigned long saved_[16];
  bool active_ = true;
};

}  // namespace grugen
