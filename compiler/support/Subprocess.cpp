#include "support/Subprocess.h"

#include "support/Interrupt.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace grugen {

SubprocessResult run_subprocess(const std::vector<std::string> &argv,
                                const std::filesystem::path &cwd) {
  SubprocessResult result;
  int out[2], status_pipe[2];
  if (argv.empty() || pipe(out) != 0) return result;
  if (pipe2(status_pipe, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    return result;
  }
  std::vector<char *> args;
  for (const std::string &a : argv) args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  // The tool's temporary files go into `cwd` (gru-gen's scratch directory, removed with it, on
  // interruption too), never into the user's $TMPDIR. Made before fork: the child only execs.
  std::error_code ec;
  const std::string tmpdir = "TMPDIR=" + std::filesystem::absolute(cwd, ec).string();
  std::vector<char *> env;
  for (char **e = environ; *e; ++e)
    if (ec || std::strncmp(*e, "TMPDIR=", 7) != 0) env.push_back(*e);
  if (!ec) env.push_back(const_cast<char *>(tmpdir.c_str()));  // else the caller's TMPDIR
  env.push_back(nullptr);

  DeferInterrupts defer;  // the child is remembered before an interruption can see it
  const pid_t pid = fork();
  if (pid == 0) {
    // Child: a process group of its own (an interruption stops the driver and what it started),
    // no input, output into the pipe; an exec failure is reported through status_pipe.
    setpgid(0, 0);
    defer.end();  // the signal mask survives exec
    const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) dup2(null, STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    close(out[0]);
    close(out[1]);
    close(status_pipe[0]);
    if (chdir(cwd.c_str()) == 0) execvpe(args[0], args.data(), env.data());
    const int err = errno;
    (void)!write(status_pipe[1], &err, sizeof err);
    _exit(127);
  }
  if (pid > 0) {
    setpgid(pid, pid);    // as the child does: whichever runs first, the group exists now
    remember_child(pid);  // stopped and waited for if gru-gen is interrupted
  }
  defer.end();
  close(out[1]);
  close(status_pipe[1]);
  if (pid < 0) {
    close(out[0]);
    close(status_pipe[0]);
    return result;
  }
  char chunk[4096];
  ssize_t n;
  while ((n = read(out[0], chunk, sizeof chunk)) > 0) result.output.append(chunk, size_t(n));
  close(out[0]);
  int exec_errno = 0;
  result.started = read(status_pipe[0], &exec_errno, sizeof exec_errno) != sizeof exec_errno;
  close(status_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  forget_child(pid);
  if (result.started) result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace grugen
