#include "support/Interrupt.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace grugen {
namespace {

// Everything the handler reads lives in fixed arrays; a slot is live when its owner is the
// pid of the process that registered it (a forked child inherits its parent's slots but owns
// none of them).
constexpr int kSlots = 16;
constexpr size_t kPathMax = 4096;
struct Slot {
  pid_t owner;
  char path[kPathMax];
};
Slot directories[kSlots];
struct ChildSlot {
  pid_t owner, child;
};
ChildSlot children[kSlots];

const int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

// Removes a directory tree with async-signal-safe calls only (no readdir, no allocation).
void remove_tree_at(int parent, const char *name) {
  const int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    alignas(8) char buffer[4096];
    for (;;) {
      const long n = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
      if (n <= 0) break;
      for (long at = 0; at < n;) {
        struct entry {
          unsigned long long ino;
          long long off;
          unsigned short reclen;
          unsigned char type;
          char name[1];
        };
        const entry *e = reinterpret_cast<const entry *>(buffer + at);
        at += e->reclen;
        if (!std::strcmp(e->name, ".") || !std::strcmp(e->name, "..")) continue;
        if (e->type == DT_DIR) {
          remove_tree_at(fd, e->name);
        } else if (unlinkat(fd, e->name, 0) != 0 && e->type == DT_UNKNOWN) {
          remove_tree_at(fd, e->name);
        }
      }
    }
    close(fd);
  }
  unlinkat(parent, name, AT_REMOVEDIR);
}

void on_interrupt(int sig) {
  const int saved_errno = errno;
  const pid_t self = getpid();
  // Each child and its process group (a compiler driver's cc1 and as) is stopped and waited
  // for, so that nothing still writes into the directories removed below. The group outlives a
  // stopped driver while its cc1 runs on; those orphans are this process's to reap
  // (adopt_orphans). A daemon a compiler started in a session of its own (a compiler cache's
  // server) is no member and not waited for.
  auto mine = [self](const ChildSlot &c) {
    return __atomic_load_n(&c.owner, __ATOMIC_ACQUIRE) == self && c.child > 0;
  };
  for (ChildSlot &c : children)
    if (mine(c)) {
      kill(c.child, SIGTERM);
      kill(-c.child, SIGTERM);
    }
  int status;
  for (ChildSlot &c : children)
    if (mine(c))
      while (waitpid(c.child, &status, 0) < 0 && errno == EINTR) {
      }
  // The groups' last members: SIGKILL after 1 s, given up after 2 s (10 ms polls).
  for (int poll = 0; poll < 200; ++poll) {
    while (waitpid(-1, &status, WNOHANG) > 0) {
    }
    bool alive = false;
    for (ChildSlot &c : children)
      if (mine(c) && kill(-c.child, poll == 100 ? SIGKILL : 0) == 0) alive = true;
    if (!alive) break;
    const struct timespec pause = {0, 10 * 1000 * 1000};
    nanosleep(&pause, nullptr);
  }
  for (Slot &s : directories)
    if (__atomic_load_n(&s.owner, __ATOMIC_ACQUIRE) == self) remove_tree_at(AT_FDCWD, s.path);
  // Die of the signal, as without a handler (the shell reports it; make stops).
  signal(sig, SIG_DFL);
  errno = saved_errno;
  raise(sig);
}

}  // namespace

void install_interrupt_cleanup() {
  // A write past a file-size limit (ulimit -f) then fails with EFBIG, which gru-gen reports
  // and cleans up after, rather than killing gru-gen with SIGXFSZ.
  signal(SIGXFSZ, SIG_IGN);
  adopt_orphans();
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  for (int sig : kSignals) sigaddset(&action.sa_mask, sig);
  for (int sig : kSignals) {
    struct sigaction previous;
    // A signal ignored by whoever started gru-gen (nohup, a background job) stays ignored.
    if (sigaction(sig, nullptr, &previous) == 0 && previous.sa_handler == SIG_IGN) continue;
    sigaction(sig, &action, nullptr);
  }
}

void adopt_orphans() {
#ifdef __linux__
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
#endif
}

void die_with_parent(pid_t parent) {
#ifdef __linux__
  prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
#endif
  if (getppid() != parent) raise(SIGTERM);  // it died before the request
}

int remember_directory(const std::string &path) {
  if (path.size() >= kPathMax) return -1;
  for (int i = 0; i < kSlots; ++i) {
    Slot &s = directories[i];
    pid_t expected = __atomic_load_n(&s.owner, __ATOMIC_ACQUIRE);
    if (expected == getpid()) continue;
    // Free, or inherited from the parent of a forked process: this process's to reuse.
    std::memcpy(s.path, path.c_str(), path.size() + 1);
    __atomic_store_n(&s.owner, getpid(), __ATOMIC_RELEASE);
    return i;
  }
  return -1;
}

void forget_directory(int handle) {
  if (handle >= 0 && handle < kSlots) __atomic_store_n(&directories[handle].owner, 0, __ATOMIC_RELEASE);
}

void remember_child(pid_t pid) {
  for (ChildSlot &c : children)
    if (__atomic_load_n(&c.owner, __ATOMIC_ACQUIRE) != getpid()) {
      c.child = pid;
      __atomic_store_n(&c.owner, getpid(), __ATOMIC_RELEASE);
      return;
    }
}

void forget_child(pid_t pid) {
  for (ChildSlot &c : children)
    if (__atomic_load_n(&c.owner, __ATOMIC_ACQUIRE) == getpid() && c.child == pid)
      __atomic_store_n(&c.owner, 0, __ATOMIC_RELEASE);
}

DeferInterrupts::DeferInterrupts() {
  static_assert(sizeof(saved_) >= sizeof(sigset_t), "room for a sigset_t");
  sigset_t block;
  sigemptyset(&block);
  for (int sig : kSignals) sigaddset(&block, sig);
  sigprocmask(SIG_BLOCK, &block, reinterpret_cast<sigset_t *>(saved_));
}

void DeferInterrupts::end() {
  if (!active_) return;
  active_ = false;
  sigprocmask(SIG_SETMASK, reinterpret_cast<const sigset_t *>(saved_), nullptr);
}

}  // namespace grugen
