#include "support/StagedOutput.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <vector>

#include "support/Error.h"
#include "support/Interrupt.h"

namespace grugen {
namespace fs = std::filesystem;

namespace {

// `what` names the directory the user asked for, which `parent` may only be an ancestor of.
fs::path make_temp_dir(const fs::path &parent, const std::string &what) {
  std::string pattern = (parent / ".gru-gen-XXXXXX").string();
  if (!mkdtemp(pattern.data()))
    throw GruGenError("cannot write " + what + ": " + std::strerror(errno));
  return pattern;
}

// `dir` absolute, without "." or ".." or a trailing separator.
fs::path normal(const fs::path &dir) {
  fs::path p = fs::absolute(dir).lexically_normal();
  return p.has_filename() ? p : p.parent_path();
}

// Whether `path` names something, a symbolic link to nothing included (fs::exists follows
// links: a dangling one "does not exist", yet a directory cannot be made in its place).
bool present(const fs::path &path) {
  std::error_code ec;
  return fs::symlink_status(path, ec).type() != fs::file_type::not_found;
}

// Whether `path` is a symbolic link to nothing.
bool dangling(const fs::path &path) {
  std::error_code ec;
  return fs::is_symlink(fs::symlink_status(path, ec)) && !fs::exists(fs::status(path, ec));
}

// The output directory itself when it exists, else its nearest existing ancestor: staging
// there keeps the final moves on one file system (so they are renames, not copies).
fs::path existing_ancestor(const fs::path &dir) {
  fs::path p = normal(dir);
  while (!p.empty() && !present(p)) p = p.parent_path();
  return p;
}

}  // namespace

StagedOutput::StagedOutput(fs::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  const std::string what = "output directory '" + dir_.string() + "'";
  const fs::path anchor = existing_ancestor(dir_);
  if (dangling(anchor)) {
    const std::string to = fs::read_symlink(anchor, ec).string();
    throw GruGenError(what + (anchor == normal(dir_)
                                  ? " is a dangling symbolic link (to '" + to + "')"
                                  : " has a dangling symbolic link in its path: '" +
                                        anchor.string() + "' (to '" + to + "')"));
  }
  if (present(dir_) && !fs::is_directory(dir_, ec))
    throw GruGenError(what + " exists and is not a directory");
  if (!fs::is_directory(anchor, ec))
    throw GruGenError(what + " has a non-directory in its path");
  {
    DeferInterrupts defer;  // made and remembered at once, for the interrupt handler
    staging_ = make_temp_dir(anchor, "output directory '" + dir_.string() + "'");
    interrupt_handle_ = remember_directory(staging_.string());
  }
  // mkdtemp makes it private (0700); when it is renamed into place as the output directory
  // it must have the mode any new directory would get.
  const mode_t mask = umask(0);
  umask(mask);
  chmod(staging_.c_str(), 0777 & ~mask);
}

StagedOutput::~StagedOutput() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(staging_, ec);
  }
  forget_directory(interrupt_handle_);  // after: an interruption meanwhile removes it too
}

namespace {

// An exclusive lock on a directory for this object's lifetime (flock; released on any exit).
class DirectoryLock {
 public:
  explicit DirectoryLock(const fs::path &dir) : fd_(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_ >= 0)
      while (flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
  }
  ~DirectoryLock() {
    if (fd_ >= 0) close(fd_);
  }
  DirectoryLock(const DirectoryLock &) = delete;
  DirectoryLock &operator=(const DirectoryLock &) = delete;

 private:
  int fd_;
};

}  // namespace

void StagedOutput::commit(const std::function<void(const fs::path &)> &before_moving) {
  std::error_code ec;
  const fs::path target = normal(dir_);
  DeferInterrupts defer;  // a commit never stops halfway
  // What this commit makes: missing parents of the output directory (innermost first) and the
  // output directory itself. A commit that fails removes them again (parents only if empty),
  // so a failure leaves no trace.
  std::vector<fs::path> parents;
  for (fs::path p = target.parent_path(); p.has_relative_path() && !present(p);
       p = p.parent_path())
    parents.push_back(p);
  bool made_target = false;
  struct Undo {
    const std::vector<fs::path> &parents;
    const fs::path &target;
    const bool &made_target, &committed;
    ~Undo() {
      if (committed) return;
      std::error_code ec;
      if (made_target) fs::remove_all(target, ec);  // only this run's files are in it
      for (const fs::path &dir : parents) fs::remove(dir, ec);  // fails if not empty: kept
    }
  } undo{parents, target, made_target, committed_};
  fs::create_directories(target.parent_path(), ec);
  DirectoryLock lock(target.parent_path());  // one commit into this directory at a time
  made_target = !present(target);
  if (made_target) {
    // A new directory appears whole, in one rename.
    fs::rename(staging_, target, ec);
    if (!ec) {
      committed_ = true;
      forget_directory(interrupt_handle_);  // it is the output now
      interrupt_handle_ = -1;
      return;
    }
  }
  if (before_moving) before_moving(target);
  for (const fs::directory_entry &entry : fs::recursive_directory_iterator(staging_)) {
    if (entry.is_directory()) continue;
    const fs::path destination = target / fs::relative(entry.path(), staging_);
    fs::create_directories(destination.parent_path(), ec);
    if (ec || (fs::rename(entry.path(), destination, ec), ec))
      throw GruGenError("cannot write '" + destination.string() + "': " + ec.message());
  }
  fs::remove_all(staging_, ec);
  committed_ = true;
}

ScratchDirectory::ScratchDirectory() {
  std::error_code ec;
  fs::path tmp = fs::temp_directory_path(ec);
  const fs::path parent = ec ? fs::path("/tmp") : tmp;
  DeferInterrupts defer;  // made and remembered at once, for the interrupt handler
  path_ = make_temp_dir(parent, "temporary files in '" + parent.string() + "'");
  interrupt_handle_ = remember_directory(path_.string());
}

ScratchDirectory::~ScratchDirectory() {
  struct Forget {
    int handle;
    ~Forget() { forget_directory(handle); }  // after the removal below
  } forget{interrupt_handle_};
  // For gru-gen's developers: GRU_GEN_KEEP_TEMPS=1 keeps intermediate files for inspection.
  if (const char *keep = std::getenv("GRU_GEN_KEEP_TEMPS"); keep && *keep && *keep != '0') {
    std::fprintf(stderr, "gru-gen: kept intermediate files in %s\n", path_.c_str());
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace grugen
