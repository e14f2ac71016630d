#include "package/AppleLibraries.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <set>

#include "llvm/BinaryFormat/MachO.h"
#include "package/LibraryPackager.h"
#include "support/Error.h"
#include "support/Files.h"
#include "support/Progress.h"

namespace grugen {
namespace fs = std::filesystem;

namespace {

template <typename T>
T load(const std::string &bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof value);
  return value;
}

// Marks every defined external symbol of a 64-bit little-endian Mach-O object whose name is not
// in `keep` private extern (N_PEXT): still resolved across the objects of one link, never
// exported from the image. Only the symbol table's type bytes change.
void hide_symbols(const fs::path &object, const std::set<std::string> &keep) {
  std::string bytes = read_text(object);
  namespace M = llvm::MachO;
  const auto fail = [&](const char *why) {
    throw GruGenError("cannot make a shared library of '" + object.filename().string() + "': " +
                      why);
  };
  if (bytes.size() < sizeof(M::mach_header_64) ||
      load<uint32_t>(bytes, 0) != M::MH_MAGIC_64)
    fail("not a 64-bit little-endian Mach-O object");
  const auto header = load<M::mach_header_64>(bytes, 0);
  size_t at = sizeof(M::mach_header_64);
  for (uint32_t i = 0; i < header.ncmds; ++i) {
    if (at + sizeof(M::load_command) > bytes.size()) fail("truncated load commands");
    const auto command = load<M::load_command>(bytes, at);
    if (command.cmd == M::LC_SYMTAB) {
      const auto symtab = load<M::symtab_command>(bytes, at);
      if (uint64_t(symtab.symoff) + uint64_t(symtab.nsyms) * sizeof(M::nlist_64) > bytes.size() ||
          uint64_t(symtab.stroff) + symtab.strsize > bytes.size())
        fail("truncated symbol table");
      for (uint32_t s = 0; s < symtab.nsyms; ++s) {
        const size_t entry = symtab.symoff + size_t(s) * sizeof(M::nlist_64);
        auto symbol = load<M::nlist_64>(bytes, entry);
        if (!(symbol.n_type & M::N_EXT) || (symbol.n_type & M::N_TYPE) != M::N_SECT) continue;
        if (symbol.n_strx >= symtab.strsize) fail("a symbol name outside the string table");
        const std::string name(bytes.c_str() + symtab.stroff + symbol.n_strx);
        if (keep.count(name)) continue;
        symbol.n_type |= M::N_PEXT;
        std::memcpy(bytes.data() + entry, &symbol, sizeof symbol);
      }
    }
    at += command.cmdsize;
  }
  write_file(object, bytes);
}

// One platform of an XCFramework: its identifier and Info.plist name.
struct ApplePlatform {
  const char *identifier, *platform, *swift;
};
const ApplePlatform *platform_of(const TargetPolicy &policy) {
  static const ApplePlatform macos = {"macos-arm64", "macos", ".macOS(.v11)"};
  static const ApplePlatform ios = {"ios-arm64", "ios", ".iOS(\"17.0\")"};
  if (policy.halide_target.arch != Halide::Target::ARM || policy.halide_target.bits != 64)
    return nullptr;
  if (policy.halide_target.os == Halide::Target::OSX) return &macos;
  if (policy.halide_target.os == Halide::Target::IOS) return &ios;
  return nullptr;
}

}  // namespace

std::string dylib_install_name(const GruSpec &spec) {
  return "@rpath/lib" + spec.name + "." + std::to_string(kSonameVersion) + ".dylib";
}

void write_dylib(const GruSpec &spec, const GruWeights *embedded, const TargetPolicy &policy,
                 const std::vector<fs::path> &members, const fs::path &work,
                 const fs::path &target_dir) {
  // Mach-O names carry a leading underscore.
  std::set<std::string> keep;
  std::string list;
  std::vector<std::string> exported = abi_functions(spec, embedded);
  exported.push_back(spec_symbol(spec, embedded));
  for (const std::string &name : exported) {
    keep.insert("_" + name);
    list += "_" + name + "\n";
  }
  const fs::path dir = work / "dylib";
  fs::create_directories(dir);
  write_file(dir / (spec.name + ".exp"), list);
  const std::string library = target_file(spec.name, TargetFile::Dylib);
  std::vector<std::string> argv = policy.c_compiler;
  for (const std::string &arg :
       {std::string("-dynamiclib"), std::string("-install_name"), dylib_install_name(spec),
        "-Wl,-exported_symbols_list," + spec.name + ".exp", std::string("-o"), library})
    argv.push_back(arg);
  // Copies (the archive keeps the originals), by file name: no temporary paths in the link.
  for (const fs::path &member : members) {
    fs::copy_file(member, dir / member.filename(), fs::copy_options::overwrite_existing);
    hide_symbols(dir / member.filename(), keep);
    argv.push_back(member.filename().string());
  }
  for (const std::string &flag : policy.link_libraries) argv.push_back(flag);
  progress(policy.name + ": linking " + library + " with " +
           fs::path(policy.c_compiler[0]).filename().string());
  run_c_compiler(policy, dir, argv, library);
  std::error_code ec;
  fs::rename(dir / library, target_dir / library, ec);
  if (ec) throw GruGenError("cannot write '" + (target_dir / library).string() + "': " + ec.message());
  const std::string versioned = target_file(spec.name, TargetFile::VersionedDylib);
  fs::create_symlink(library, target_dir / versioned, ec);
  if (ec)
    throw GruGenError("cannot write '" + (target_dir / versioned).string() + "': " + ec.message());
}

std::string xcframework_refusal(const std::vector<TargetPolicy> &policies) {
  std::string seen[2];  // the target of each platform, macOS then iOS
  bool any = false;
  for (const TargetPolicy &policy : policies) {
    const ApplePlatform *platform = platform_of(policy);
    if (!platform) continue;
    any = true;
    std::string &first = seen[std::string(platform->platform) == "ios"];
    if (!first.empty())
      return "--xcframework holds one library per platform: --target has both '" + first +
             "' and '" + policy.name + "' for " + platform->platform;
    first = policy.name;
  }
  if (!any)
    return "--xcframework needs an Apple target in --target (arm64-macos or metal, arm64-ios or "
           "metal-ios)";
  return "";
}

std::vector<fs::path> stale_xcframework(const GruSpec &spec, bool writing,
                                        const std::string &header, const fs::path &dir) {
  const fs::path framework = dir / (spec.name + ".xcframework");
  std::error_code ec;
  if (!fs::is_directory(framework, ec)) return {};
  bool stale = writing;
  for (const fs::directory_entry &slice : fs::directory_iterator(framework, ec)) {
    const fs::path copy = slice.path() / "Headers" / spec.name / (spec.name + ".h");
    if (fs::exists(copy, ec) && read_text(copy) != header) stale = true;
  }
  if (!stale) return {};
  std::vector<fs::path> paths = {framework};
  const fs::path package = dir / "Package.swift";
  if (!writing && fs::exists(package, ec) &&
      read_text(package).find("path: \"" + spec.name + ".xcframework\"") != std::string::npos)
    paths.push_back(package);
  return paths;
}

void write_xcframework(const GruSpec &spec, const std::vector<TargetPolicy> &policies,
                       const fs::path &dir) {
  const std::string &n = spec.name;
  const fs::path framework = dir / (n + ".xcframework");
  const std::string header = read_text(dir / (n + ".h"));
  // One slice per platform (xcframework_refusal), written macOS first, then iOS, whatever the
  // order of --target: the same targets in another order give the same bytes.
  std::vector<std::pair<const ApplePlatform *, const TargetPolicy *>> slices;
  for (const TargetPolicy &policy : policies)
    if (const ApplePlatform *platform = platform_of(policy)) slices.push_back({platform, &policy});
  std::stable_sort(slices.begin(), slices.end(), [](const auto &a, const auto &b) {
    return std::string(a.first->platform) != "ios" && std::string(b.first->platform) == "ios";
  });
  std::string libraries, platforms;
  for (const auto &[platform, policy_of_slice] : slices) {
    const TargetPolicy &policy = *policy_of_slice;
    const fs::path slice = framework / platform->identifier;
    fs::create_directories(slice / "Headers" / n);
    fs::copy_file(dir / policy.name / target_file(n, TargetFile::Archive),
                  slice / target_file(n, TargetFile::Archive),
                  fs::copy_options::overwrite_existing);
    write_file(slice / "Headers" / n / (n + ".h"), header);
    // The module map in a directory named after the module (Headers/<name>/), where clang looks
    // for it, so that several XCFrameworks' headers can share one include directory. What the
    // target's apps link (Metal's frameworks) is linked automatically by `import`.
    std::string links;
    for (size_t i = 0; i < policy.link_libraries.size(); ++i) {
      const std::string &flag = policy.link_libraries[i];
      if (flag.rfind("-framework ", 0) == 0)
        links += "  link framework \"" + flag.substr(11) + "\"\n";
      else if (flag.rfind("-l", 0) == 0)
        links += "  link \"" + flag.substr(2) + "\"\n";
    }
    write_file(slice / "Headers" / n / "module.modulemap",
               "// " + n + " for target " + policy.name + ", generated by gru-gen.\nmodule " + n +
                   " {\n  header \"" + n + ".h\"\n  export *\n" + links + "}\n");
    libraries += std::string("\t\t<dict>\n") +
                 "\t\t\t<key>BinaryPath</key>\n\t\t\t<string>lib" + n + ".a</string>\n" +
                 "\t\t\t<key>HeadersPath</key>\n\t\t\t<string>Headers</string>\n" +
                 "\t\t\t<key>LibraryIdentifier</key>\n\t\t\t<string>" + platform->identifier +
                 "</string>\n" +
                 "\t\t\t<key>LibraryPath</key>\n\t\t\t<string>lib" + n + ".a</string>\n" +
                 "\t\t\t<key>SupportedArchitectures</key>\n\t\t\t<array>\n\t\t\t\t<string>arm64"
                 "</string>\n\t\t\t</array>\n" +
                 "\t\t\t<key>SupportedPlatform</key>\n\t\t\t<string>" + platform->platform +
                 "</string>\n\t\t</dict>\n";
    platforms += std::string(platforms.empty() ? "" : ", ") + platform->swift;
  }
  write_file(framework / "Info.plist",
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
             "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
             "<plist version=\"1.0\">\n<dict>\n\t<key>AvailableLibraries</key>\n\t<array>\n" +
                 libraries +
                 "\t</array>\n\t<key>CFBundlePackageType</key>\n\t<string>XFWK</string>\n"
                 "\t<key>XCFrameworkFormatVersion</key>\n\t<string>1.0</string>\n</dict>\n"
                 "</plist>\n");
  write_file(dir / "Package.swift",
             "// swift-tools-version:5.3\n"
             "// " + n + ", a gru-gen library, as a Swift package: `import " + n +
                 "` in Swift. Generated by gru-gen.\n"
                 "import PackageDescription\n\n"
                 "let package = Package(\n"
                 "    name: \"" + n + "\",\n"
                 "    platforms: [" + platforms + "],\n"
                 "    products: [.library(name: \"" + n + "\", targets: [\"" + n + "\"])],\n"
                 "    targets: [.binaryTarget(name: \"" + n + "\", path: \"" + n +
                 ".xcframework\")]\n"
                 ")\n");
}

}  // namespace grugen
