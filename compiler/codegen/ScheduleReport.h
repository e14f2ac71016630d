// --emit schedule-report: per target, <target>/<name>.schedule-report.txt says which schedule
// each kernel got and why (the schedule plan, schedules/SchedulePlan.h: tile, weight panels, the
// machine model's estimate), and, from the kernel's own assembly, what LLVM's llvm-mca predicts
// for its inner loop on the CPU models of the target's class (cycles per iteration and the share
// of the FMA and load-throughput bounds). The prediction is how gru-gen judges the ARM and Apple
// targets, which never run here.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "schedules/SchedulePlan.h"
#include "schedules/SchedulePolicy.h"
#include "spec/GruSpec.h"

namespace grugen {

// One compiled kernel, as the report describes it.
struct ReportedKernel {
  std::string name;                // projection, step_projection, step
  KernelKind kind;
  std::string schedule;            // PipelineSchedule::describe() of the one used
  bool own_cpu_schedule = false;   // the plan's tile applies
  std::filesystem::path assembly;  // its assembly (.s)
  bool own_gpu_schedule = false;   // the plan's GPU block applies
};

// llvm-mca's prediction for the innermost loop (the single-block loop with the most FMAs) of
// an assembly file.
struct LoopPrediction {
  bool found = false;          // an inner loop with FMAs was found
  std::string why_not;         // when not found or llvm-mca is missing or failed
  int instructions = 0, fmas = 0, loads = 0;
  double cycles = 0;           // per iteration, predicted
  // Cycles per iteration of the loop's FMAs alone and of its loads alone (llvm-mca's model), and
  // of its FMAs at the machine model's pipes.
  double fma_bound = 0, load_bound = 0, fma_hw_bound = 0;
};
LoopPrediction predict_inner_loop(const std::filesystem::path &assembly, const Halide::Target &t,
                                  const std::string &mca_cpu, const MachineModel &model,
                                  const std::filesystem::path &work);

// The report's text.
std::string schedule_report(const GruSpec &spec, const TargetPolicy &policy,
                            const SchedulePlan &plan, const std::vector<ReportedKernel> &kernels,
                            const std::filesystem::path &work);

}  // namespace grugen
