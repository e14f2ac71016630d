// The names of the files gru-gen writes into a target directory (DIR/<target>/) for a library:
// every writer takes its file's name from here, and library_file_in recognizes exactly these
// names, so that a run for another spec removes (and a failed run keeps) all of an old library.
#pragma once

#include <string>
#include <vector>

namespace grugen {

// The SONAME's version (lib<name>.so.<kSonameVersion>, lib<name>.<kSonameVersion>.dylib): ABI
// versions only add functions (an app built against ABI 1 runs with a library of ABI 2), so
// shared libraries keep the first one.
constexpr int kSonameVersion = 1;

// The files of a library named by the library alone, one per target directory.
enum class TargetFile {
  Archive,          // lib<name>.a
  SharedObject,     // lib<name>.so (--shared, ELF targets)
  Soname,           // lib<name>.so.<kSonameVersion>, the symlink to it
  Dylib,            // lib<name>.dylib (--shared, arm64-macos)
  VersionedDylib,   // lib<name>.<kSonameVersion>.dylib, the symlink to it
  PkgConfig,        // <name>.pc
  CMakeConfig,      // <name in lower case>-config.cmake (find_package(<name>) finds it)
  SpecStamp,        // <name>.spec
  TuningRecord,     // <name>.tuning.json (--tune)
};
inline constexpr TargetFile kTargetFiles[] = {
    TargetFile::Archive, TargetFile::SharedObject, TargetFile::Soname,
    TargetFile::Dylib,   TargetFile::VersionedDylib, TargetFile::PkgConfig,
    TargetFile::CMakeConfig, TargetFile::SpecStamp, TargetFile::TuningRecord};
std::string target_file(const std::string &library, TargetFile file);

// --emit schedule-report: <name>[_<variant>].schedule-report.txt, one per kernel variant.
std::string schedule_report_file(const std::string &library, const std::string &variant);

// What --emit writes per kernel: kernel_file(library, variant, suffix) (GruSpec.h) followed by
// one of these (Halide's names for its outputs), or by the target's device source extension
// (TargetToolchain::device_source_extension).
inline constexpr const char *kStatementExtension = ".stmt";
inline constexpr const char *kAssemblyExtension = ".s";
inline constexpr const char *kScheduleExtension = ".schedule.h";

// Whether the file name `file` is one of those above for `library` in a target directory whose
// kernel variants are `variants` ("" included for a target with one set of kernels) and whose
// device source extension is `device_extension` ("" for none). Exact: names of another library
// (`a_kernel`, `a_armv8`, ...) never match.
bool library_file_in(const std::string &library, const std::vector<std::string> &variants,
                     const std::string &device_extension, const std::string &file);

}  // namespace grugen
