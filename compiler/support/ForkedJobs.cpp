#include "support/ForkedJobs.h"

#include "support/Interrupt.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>
#include <map>

namespace grugen {
namespace {

// The child's report travels over a pipe as lines: "N<note>" or "E<error>".
void send(int fd, char kind, std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::string line = kind + text + "\n";
  for (size_t done = 0; done < line.size();) {
    const ssize_t n = write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += size_t(n);
  }
}

[[noreturn]] void run_child(const ForkedJob &job, int fd) {
  adopt_orphans();  // not inherited across fork
  int status = 0;
  try {
    job([fd](const std::string &note) { send(fd, 'N', note); });
  } catch (const std::exception &e) {
    send(fd, 'E', e.what());
    status = 1;
  } catch (...) {
    send(fd, 'E', "internal: unknown exception");
    status = 1;
  }
  close(fd);
  // _exit: the parent's atexit handlers and stdio buffers are not the child's to run.
  _exit(status);
}

struct Running {
  size_t job;
  int fd;
  std::string report;
};

void parse_report(const std::string &report, ForkedJobResult &result) {
  size_t at = 0;
  while (at < report.size()) {
    const size_t end = std::min(report.find('\n', at), report.size());
    const std::string line = report.substr(at, end - at);
    if (!line.empty() && line[0] == 'N') result.notes.push_back(line.substr(1));
    if (!line.empty() && line[0] == 'E') result.error = line.substr(1);
    at = end + 1;
  }
}

}  // namespace

std::vector<ForkedJobResult> run_forked_jobs(const std::vector<ForkedJob> &jobs, unsigned parallel) {
  std::vector<ForkedJobResult> results(jobs.size());
  std::map<pid_t, Running> running;
  size_t next = 0;
  parallel = std::max(1u, parallel);
  while (next < jobs.size() || !running.empty()) {
    while (next < jobs.size() && running.size() < parallel) {
      int fds[2];
      if (pipe(fds) != 0) {
        results[next++].error = std::string("cannot create a pipe: ") + std::strerror(errno);
        continue;
      }
      DeferInterrupts defer;  // the child is remembered before an interruption can see it
      const pid_t parent = getpid();
      const pid_t pid = fork();
      if (pid == 0) {
        die_with_parent(parent);  // delivered once the signals are unblocked below
        defer.end();
        close(fds[0]);
        run_child(jobs[next], fds[1]);
      }
      close(fds[1]);
      if (pid < 0) {
        close(fds[0]);
        results[next++].error = std::string("cannot fork: ") + std::strerror(errno);
        continue;
      }
      remember_child(pid);  // stopped and waited for if gru-gen is interrupted
      defer.end();
      running[pid] = Running{next++, fds[0], {}};
    }
    if (running.empty()) break;
    // Reports are short (a few lines), far below a pipe's capacity, so reading them after the
    // child exits cannot deadlock.
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    forget_child(pid);
    auto it = running.find(pid);
    if (it == running.end()) continue;
    Running job = it->second;
    running.erase(it);
    char chunk[4096];
    ssize_t n;
    while ((n = read(job.fd, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR))
      if (n > 0) job.report.append(chunk, size_t(n));
    close(job.fd);
    ForkedJobResult &result = results[job.job];
    parse_report(job.report, result);
    result.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!result.ok && result.error.empty())
      result.error = WIFSIGNALED(status)
                         ? "internal: the compiler process died of signal " +
                               std::to_string(WTERMSIG(status))
                         : "internal: the compiler process failed without a message";
  }
  return results;
}

}  // namespace grugen
