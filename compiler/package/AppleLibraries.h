// What gru-gen builds for Apple's platforms besides the static archives: the macOS shared
// library (--shared on arm64-macos: lib<name>.dylib) and the XCFramework with its Swift package
// (--xcframework). The archives themselves are LibraryPackager's, the same for every target.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "schedules/SchedulePolicy.h"
#include "spec/GruSpec.h"
#include "weights/GruWeights.h"

namespace grugen {

// @rpath/lib<name>.<kSonameVersion>.dylib: the install name of a macOS shared library, which
// carries the ABI version as the Linux SONAME does.
std::string dylib_install_name(const GruSpec &spec);

// Links <target_dir>/lib<name>.dylib from the archive's `members` (objects in `work`) with the
// target's C compiler (zig's linker, -dynamiclib), exporting only the ABI functions and the spec
// symbol: an exported-symbols list (<name>.exp, honoured by Apple's ld) and, because zig's
// linker ignores that list, every other external symbol of copies of the objects marked private
// extern (N_PEXT, what -fvisibility=hidden writes), which every Mach-O linker keeps inside the
// image. Also the symlink lib<name>.<kSonameVersion>.dylib, the file the install name names.
void write_dylib(const GruSpec &spec, const GruWeights *embedded, const TargetPolicy &policy,
                 const std::vector<std::filesystem::path> &members,
                 const std::filesystem::path &work, const std::filesystem::path &target_dir);

// Why --xcframework cannot package `policies` ("" when it can): it needs at least one Apple
// target, and at most one per platform (an XCFramework has one library per platform and
// architecture: arm64-macos or metal, arm64-ios or metal-ios).
std::string xcframework_refusal(const std::vector<TargetPolicy> &policies);

// Writes <dir>/<name>.xcframework (Info.plist; per Apple target a slice <platform>-arm64 with
// lib<name>.a and Headers/<name>/{<name>.h, module.modulemap}) and <dir>/Package.swift, which
// declares it as a binaryTarget, from the libraries already built into <dir>/<target>/.
void write_xcframework(const GruSpec &spec, const std::vector<TargetPolicy> &policies,
                       const std::filesystem::path &dir);

// What a run's commit into <dir> removes (StagedOutput::commit): <dir>/<name>.xcframework when
// this run writes one (it replaces the old one whole, slices of other targets included), or when
// its header is not `header` (another spec's), then with the Package.swift that declares it.
// Removes nothing.
std::vector<std::filesystem::path> stale_xcframework(const GruSpec &spec, bool writing,
                                                     const std::string &header,
                                                     const std::filesystem::path &dir);

}  // namespace grugen
