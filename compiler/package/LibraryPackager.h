// Stage: Halide objects + runtime source -> what a user ships: <name>.h, lib<name>.a and
// its link metadata.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "schedules/SchedulePlan.h"
#include "schedules/SchedulePolicy.h"
#include "spec/GruSpec.h"
#include "spec/LibraryFiles.h"
#include "weights/GruWeights.h"

namespace grugen {

// Writes the public header dir/<name>.h (compiler/package/templates/gru_library.h.in filled in).
// One header serves every target. `embedded` (may be null): the weights baked into the library.
void write_header(const GruSpec &spec, const GruWeights *embedded,
                  const std::filesystem::path &dir);

// Compiles the library's runtime for `policy`'s target in `dir`, which must already hold the
// kernels' Halide headers (<name>_kernel_*.h): <name>_runtime.c, the fixed runtime/gru_runtime.c
// with the library's descriptors (filled from the spec, the policy and the schedule plan of each
// kernel variant, plans[i] for kernel_variants(policy)[i]: the one place the runtime's
// target-dependent facts are decided) and its ABI functions. Returns the object.
std::filesystem::path compile_runtime(const GruSpec &spec, const GruWeights *embedded,
                                      const TargetPolicy &policy,
                                      const std::vector<SchedulePlan> &plans,
                                      const std::filesystem::path &dir);

// Whether a library for `policy` embeds its weights already packed for its kernels, which
// create_default then uses in place (no copy of Wx and Wh): CPU targets whose kernels all read
// one layout, i.e. whose kernel variants' plans (`plans`, one per variant, as for
// compile_runtime) have the same panels: a target with one set of kernels, arm64-linux (its
// ARMv8 and ARMv8.2 kernels plan the same panels), x86-64-linux only where its levels' panels
// happen to agree. GPU targets copy them to the device anyway; reduced-precision weights are
// embedded as float32 and converted by create_default, as create converts them.
bool embeds_packed_weights(const GruSpec &spec, const TargetPolicy &policy,
                           const std::vector<SchedulePlan> &plans);

// Assembles `weights` into an object for `policy`'s target, defining <name>__embedded_weights
// (read-only data, 64-byte aligned) for <name>_create_default: in MLX's layout, or with
// embeds_packed_weights each layer instance's Wx and Wh in the panels of `plans` (one per kernel
// variant, as for compile_runtime). Returns the object.
std::filesystem::path assemble_embedded_weights(const GruSpec &spec, const GruWeights &weights,
                                                const TargetPolicy &policy,
                                                const std::vector<SchedulePlan> &plans,
                                                const std::filesystem::path &dir);

// Runs the target's C compiler (argv, its first word policy.c_compiler's) in `dir` on `what` (the
// runtime, a shared library, ...); a failure throws GruGenError naming the first line of its
// output that says "error".
void run_c_compiler(const TargetPolicy &policy, const std::filesystem::path &dir,
                    const std::vector<std::string> &argv, const std::string &what);

// Writes a deterministic static library (no timestamps, owners or modes) with a symbol index,
// in the format the target's linker reads.
void write_archive(const std::filesystem::path &archive,
                   const std::vector<std::filesystem::path> &members, ArchiveFormat format);

// The ABI version: <name>_abi_version() returns it (runtime/gru_runtime.c) and a shared
// library's SONAME carries it.
constexpr int kAbiVersion = 2;
// The SONAME's version: kSonameVersion (spec/LibraryFiles.h).

// The ABI's functions of a library: <name>_abi_version, ..., <name>_destroy (<name>_create_default
// only with embedded weights).
std::vector<std::string> abi_functions(const GruSpec &spec, const GruWeights *embedded);

// Why --shared cannot be honoured for `policy`'s target (one line), or "" when it can.
std::string shared_library_refusal(const TargetPolicy &policy);

// lib<name>.so.<kSonameVersion>: the SONAME of a shared library.
std::string shared_library_soname(const GruSpec &spec);

// --shared: links target_dir/lib<name>.so from the archive's `members` (in `work`) with the
// target's C compiler, exporting only abi_functions and the spec symbol (a version script
// written to work/<name>.map), with SONAME shared_library_soname and the symlink
// target_dir/<SONAME> -> lib<name>.so. Throws GruGenError for a target without
// policy.shared_library.
void write_shared_library(const GruSpec &spec, const GruWeights *embedded,
                          const TargetPolicy &policy,
                          const std::vector<std::filesystem::path> &members,
                          const std::filesystem::path &work,
                          const std::filesystem::path &target_dir);

// Writes what an app needs to link the library in `dir` (one target's directory): <name>.pc for
// pkg-config and <name>-config.cmake (imported target gru::<name>) for CMake, both carrying the
// include directory and the target's link flags; and the spec stamp <name>.spec (spec_stamp).
void write_link_metadata(const GruSpec &spec, const GruWeights *embedded,
                         const TargetPolicy &policy, const std::filesystem::path &dir);

// The symbol only a runtime of this spec defines and every header of it references, so that a
// header linked against a library of another spec fails to link, naming the spec:
// <name>__spec_d<D>_h<H>_n<N>_<bias|nobias>[_rb][_l<layers>][_bi|_rev]_w<0|1> (_l: a stack of
// more than one layer; _bi, _rev: bidirectional or reverse layers; _rb: the reset gate before the
// recurrent product; w1: weights embedded).
std::string spec_symbol(const GruSpec &spec, const GruWeights *embedded);

// What <target>/<name>.spec holds: the gru-gen version, the spec symbol and a digest of the
// embedded weights. Two libraries of one name with equal stamps serve the same header.
std::string spec_stamp(const GruSpec &spec, const GruWeights *embedded);

// The files of library `name` present in one target directory (named after its target): every
// file a gru-gen run writes there for it (spec/LibraryFiles.h names them: archive, shared
// library, link metadata, stamp, tuning record, schedule reports and the --emit outputs of each
// kernel variant of that target), and nothing of another library.
std::vector<std::filesystem::path> library_files(const std::string &name,
                                                 const std::filesystem::path &target_dir);

// What committing a new <name>.h into the output directory `dir` removes (StagedOutput::commit,
// which restores them should the commit fail), each file once: in every target directory, the
// files of a library `name` whose stamp differs from `stamp` (or is missing: an older gru-gen's),
// so that no library of another spec is left beside it; and in each directory of `built` (the
// targets this run builds, staged under `staging`), the library's files the new build does not
// write, which describe an earlier build of it (a tuning record, and a schedule report naming it
// as the plan, beside a library built without --tune; an --emit output not asked for again).
// Removes nothing.
std::vector<std::filesystem::path> stale_library_files(const std::string &name,
                                                       const std::string &stamp,
                                                       const std::filesystem::path &dir,
                                                       const std::filesystem::path &staging,
                                                       const std::vector<std::string> &built);

}  // namespace grugen
