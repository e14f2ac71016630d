// All-or-nothing output: gru-gen writes into a staging directory next to the output directory
// and moves the finished files into place only when every step has succeeded. On any failure
// (an exception unwinding past this object) the staging directory is removed, so the output
// directory never holds half a library; a commit that fails puts back what it had moved, so the
// output directory is as it was before the run.
#pragma once

#include <filesystem>
#include <functional>
#include <vector>

namespace grugen {

class StagedOutput {
 public:
  // Creates the staging directory; throws GruGenError when `dir` cannot be written (also when
  // it, or a directory on its path, is a symbolic link to nothing).
  explicit StagedOutput(std::filesystem::path dir);
  ~StagedOutput();
  StagedOutput(const StagedOutput &) = delete;
  StagedOutput &operator=(const StagedOutput &) = delete;

  // Where to write; the tree under it mirrors what will appear under the output directory.
  const std::filesystem::path &staging() const { return staging_; }

  // Moves every staged file to the output directory (creating it if needed), replacing files of
  // the same name, and removes the paths `stale` (optional) names: files or directories under
  // the output directory that the new files would contradict (stale_library_files). Other files
  // there are left alone. `stale` runs under the lock below, when the output directory already
  // exists, before anything moves.
  // All or nothing: every file replaced or removed is first moved aside (renamed into a
  // directory .gru-gen-XXXXXX in the output directory) and deleted only once every new file is
  // in place; a step that fails (a file that cannot be moved, a non-directory where a target's
  // directory goes) moves everything back and throws GruGenError naming the path, so the output
  // directory is as it was. Directories the removals leave empty are removed after success.
  // Commits into one directory are serialized (a lock on its parent), and an interrupting
  // signal waits until the commit is done, so concurrent runs leave one run's complete output.
  void commit(const std::function<std::vector<std::filesystem::path>(
                  const std::filesystem::path &output_dir)> &stale = {});

 private:
  std::filesystem::path dir_;
  std::filesystem::path staging_;
  int interrupt_handle_ = -1;  // removed on SIGINT/SIGTERM (support/Interrupt.h)
  bool committed_ = false;
};

// A private temporary directory for intermediate files, removed with this object.
class ScratchDirectory {
 public:
  ScratchDirectory();
  ~ScratchDirectory();
  ScratchDirectory(const ScratchDirectory &) = delete;
  ScratchDirectory &operator=(const ScratchDirectory &) = delete;
  const std::filesystem::path &path() const { return path_; }

 private:
  std::filesystem::path path_;
  int interrupt_handle_ = -1;
};

}  // namespace grugen
