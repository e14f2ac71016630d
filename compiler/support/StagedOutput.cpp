#include "support/StagedOutput.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
// Any other failure to look (a name too long, a directory it may not search) is an error of its
// own: "exists and is not a directory" said of a name too long to exist was wrong.
bool present(const fs::path &path) {
  std::error_code ec;
  const fs::file_type type = fs::symlink_status(path, ec).type();
  if (type == fs::file_type::not_found) return false;
  if (ec) throw GruGenError("cannot look up '" + path.string() + "': " + ec.message());
  return true;
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

namespace {

// The moves of one commit into an existing output directory, in order, so that a failure can
// undo them: old files moved aside (into a directory of the output directory's own, so that
// every move is a rename on one file system), new files moved in, directories made for them.
// Nothing is deleted before finish().
class CommitJournal {
 public:
  explicit CommitJournal(fs::path output) : output_(std::move(output)) {}
  CommitJournal(const CommitJournal &) = delete;
  CommitJournal &operator=(const CommitJournal &) = delete;

  // Moves `path` (under the output directory) aside; `verb` says why, in the error.
  void move_aside(const fs::path &path, const char *verb) {
    std::error_code ec;
    if (aside_.empty()) {
      aside_ = make_temp_dir(output_, "output directory '" + output_.string() + "'");
      log_.push_back({Step::MakeAside, {}, aside_});
    }
    const fs::path to = aside_ / path.lexically_relative(output_);
    fs::create_directories(to.parent_path(), ec);
    if (!ec) fs::rename(path, to, ec);
    if (ec) throw GruGenError(std::string("cannot ") + verb + " '" + path.string() + "': " + ec.message());
    log_.push_back({Step::Move, path, to});
  }

  // Moves the staged file `from` to `to` (under the output directory), making the directories
  // it needs and moving aside what is there.
  void place(const fs::path &from, const fs::path &to) {
    std::error_code ec;
    fs::path dir = output_;
    for (const fs::path &part : to.parent_path().lexically_relative(output_)) {
      if (part == ".") continue;
      dir /= part;
      if (!present(dir)) {
        fs::create_directory(dir, ec);
        if (ec) throw GruGenError("cannot write '" + to.string() + "': " + ec.message());
        log_.push_back({Step::MakeDirectory, {}, dir});
      } else if (!fs::is_directory(dir, ec)) {
        throw GruGenError("cannot write '" + to.string() + "': '" + dir.string() +
                          "' exists and is not a directory");
      }
    }
    if (present(to)) {
      if (fs::is_directory(fs::symlink_status(to, ec)))
        throw GruGenError("cannot write '" + to.string() + "': a directory is in its place");
      move_aside(to, "replace");
    }
    fs::rename(from, to, ec);
    if (ec) throw GruGenError("cannot write '" + to.string() + "': " + ec.message());
    log_.push_back({Step::Move, from, to});
  }

  // Deletes what was moved aside (the commit is whole), and the directories that held only
  // files moved aside for good (`removed`).
  void finish(const std::vector<fs::path> &removed) {
    std::error_code ec;
    if (!aside_.empty()) fs::remove_all(aside_, ec);
    for (const fs::path &path : removed)
      if (path.parent_path() != output_) fs::remove(path.parent_path(), ec);  // only if empty
    log_.clear();
  }

  // Undoes every step, newest first; "" when all is back, else what could not be restored.
  std::string undo() {
    std::string lost;
    std::error_code ec;
    for (auto step = log_.rbegin(); step != log_.rend(); ++step) {
      switch (step->kind) {
        case Step::Move:
          fs::rename(step->to, step->from, ec);
          if (ec && lost.empty()) lost = step->from.string();
          break;
        case Step::MakeDirectory:
          fs::remove(step->to, ec);
          break;
        case Step::MakeAside:
          if (lost.empty()) fs::remove_all(step->to, ec);
          break;
      }
    }
    log_.clear();
    return lost.empty() ? "" : "; '" + lost + "' could not be put back (it is in '" +
                                   aside_.string() + "')";
  }

 private:
  struct Step {
    enum Kind { Move, MakeDirectory, MakeAside } kind;
    fs::path from, to;
  };
  fs::path output_, aside_;
  std::vector<Step> log_;
};

}  // namespace

void StagedOutput::commit(
    const std::function<std::vector<fs::path>(const fs::path &)> &stale) {
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
    fs::create_directory(target, ec);
    if (ec) throw GruGenError("cannot write '" + target.string() + "': " + ec.message());
  }
  // The staged files (symbolic links too: a shared library's SONAME), in a fixed order.
  std::vector<fs::path> staged;
  for (fs::recursive_directory_iterator it(staging_, ec), end; !ec && it != end; it.increment(ec))
    if (!fs::is_directory(it->symlink_status(ec))) staged.push_back(it->path());
  if (ec) throw GruGenError("cannot read '" + staging_.string() + "': " + ec.message());
  std::sort(staged.begin(), staged.end());
  std::vector<fs::path> removed;
  if (stale && !made_target) removed = stale(target);
  CommitJournal journal(target);
  try {
    for (const fs::path &path : removed) journal.move_aside(path, "remove");
    for (const fs::path &file : staged)
      journal.place(file, target / file.lexically_relative(staging_));
  } catch (const GruGenError &e) {
    if (const std::string lost = journal.undo(); !lost.empty())
      throw GruGenError(e.what() + lost);
    throw;
  } catch (...) {
    journal.undo();
    throw;
  }
  journal.finish(removed);
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
