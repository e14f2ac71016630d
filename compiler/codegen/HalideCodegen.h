// Stage: spec + target policy -> Halide objects.
//
// Runs gru-gen's two generators (pipelines/) in-process through Halide's execute_generator,
// autoscheduled as schedules/ says, and compiles the Halide runtime they share.
#pragma once

#include <filesystem>
#include <vector>

#include "schedules/SchedulePlan.h"
#include "schedules/SchedulePolicy.h"
#include "spec/GruSpec.h"

namespace grugen {

// Extra outputs a user may ask for with --emit, written beside the library.
struct EmitOptions {
  bool stmt = false;      // Halide's lowered statement, <name>_kernel_<pipeline>.stmt
  bool assembly = false;  // <name>_kernel_<pipeline>.s
  bool schedule = false;  // the schedule that was used, <name>_kernel_<pipeline>.schedule.h
  bool device_code = false;  // GPU kernel source: <name>_kernel_<pipeline>.metal (or .cl)
  bool schedule_report = false;  // <name>.schedule-report.txt (codegen/ScheduleReport.h)
};

struct PipelineFiles {
  std::filesystem::path object;               // compiled kernel, no Halide runtime inside
  std::vector<std::filesystem::path> extras;  // the --emit outputs
  std::vector<std::string> notes;  // what the user should know, e.g. that a fallback was used
};

// Compiles the kernels of `spec` for `policy` into `dir`: <name>_kernel_projection (a block of
// GruSpec::projection_block_rows() rows), <name>_kernel_step_projection (N rows) and <name>_kernel_step,
// each in files of that name (<name>_kernel_step.o, .h, ...) defining the symbol
// <name>__kernel_step (and so on: the library's internal namespace is <name>__), with the
// plan's tiles and weight panels. Throws GruGenError.
std::vector<PipelineFiles> compile_pipelines(const GruSpec &spec, const TargetPolicy &policy,
                                             const SchedulePlan &plan,
                                             const std::filesystem::path &dir,
                                             const EmitOptions &emit);

// Seconds per call of one kernel of `plan` under `schedule` (gru-gen's own, with the plan's tile
// or GPU block, or an autoscheduler), JIT-compiled for `policy`'s target (which must run on this
// machine; a GPU kernel's call lasts until its device is done): the least of repetitions over
// `seconds` (at least ten). For --tune (codegen/Tuning.h).
double time_kernel(const GruSpec &spec, const TargetPolicy &policy, const SchedulePlan &plan,
                   KernelKind kind, const PipelineSchedule &schedule, double seconds);

// The assembly of one kernel of `plan` under gru-gen's own CPU schedule, for `policy`'s target
// (any: nothing runs), written into `dir`; its path. For --tune's predictions.
std::filesystem::path kernel_assembly(const GruSpec &spec, const TargetPolicy &policy,
                                      const SchedulePlan &plan, KernelKind kind,
                                      const std::filesystem::path &dir);

// Compiles Halide's runtime for `policy`'s target, less its instruction-set features (the
// runtime checks them at create, so it must run where they are missing), into `dir`; its symbols
// are weak, so any number of gru-gen libraries can link into one program. Throws GruGenError.
std::filesystem::path compile_halide_runtime(const TargetPolicy &policy,
                                             const std::filesystem::path &dir);

}  // namespace grugen
