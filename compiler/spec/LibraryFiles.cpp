#include "spec/LibraryFiles.h"

#include "spec/GruSpec.h"

namespace grugen {

std::string target_file(const std::string &library, TargetFile file) {
  const std::string version = std::to_string(kSonameVersion);
  switch (file) {
    case TargetFile::Archive: return "lib" + library + ".a";
    case TargetFile::SharedObject: return "lib" + library + ".so";
    case TargetFile::Soname: return "lib" + library + ".so." + version;
    case TargetFile::Dylib: return "lib" + library + ".dylib";
    case TargetFile::VersionedDylib: return "lib" + library + "." + version + ".dylib";
    case TargetFile::PkgConfig: return library + ".pc";
    // find_package(NAME) looks for NAMEConfig.cmake or <NAME in lower case>-config.cmake:
    // MyGru-config.cmake was found by neither.
    case TargetFile::CMakeConfig: return ascii_lower(library) + "-config.cmake";
    case TargetFile::SpecStamp: return library + ".spec";
    case TargetFile::TuningRecord: return library + ".tuning.json";
  }
  return "";
}

std::string schedule_report_file(const std::string &library, const std::string &variant) {
  return library + (variant.empty() ? "" : "_" + variant) + ".schedule-report.txt";
}

bool library_file_in(const std::string &library, const std::vector<std::string> &variants,
                     const std::string &device_extension, const std::string &file) {
  for (TargetFile kind : kTargetFiles)
    if (file == target_file(library, kind)) return true;
  // The config file's name before it was lower-cased (an output directory of an older gru-gen).
  if (file == library + "-config.cmake") return true;
  std::vector<std::string> extensions = {kStatementExtension, kAssemblyExtension,
                                         kScheduleExtension};
  if (!device_extension.empty()) extensions.push_back(device_extension);
  for (const std::string &variant : variants) {
    if (file == schedule_report_file(library, variant)) return true;
    // kernel_file(library, variant, suffix) + extension, for a suffix of some spec.
    const std::string stem = kernel_file(library, variant, "");
    if (file.compare(0, stem.size(), stem) != 0) continue;
    for (const std::string &extension : extensions)
      if (file.size() > stem.size() + extension.size() &&
          file.compare(file.size() - extension.size(), extension.size(), extension) == 0 &&
          is_kernel_suffix(
              file.substr(stem.size(), file.size() - stem.size() - extension.size())))
        return true;
  }
  return false;
}

}  // namespace grugen
