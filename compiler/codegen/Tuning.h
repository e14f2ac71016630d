// --tune and --tuning-record: the schedule plan measured on this machine, and kept as a record
// that reproduces it without measuring (FFTW's wisdom is the model).
//
// --tune times the candidate tiles of each kernel (SchedulePlan.h's candidates, the machine
// model's choice first, then in the model's order) by JIT-compiling each under gru-gen's CPU
// schedule for the target and running it here, within a time budget, and keeps the fastest; the
// model's choice is always measured, so a tuned plan is never slower than the default by this
// measurement. A CPU target this machine cannot run (arm64-linux, arm64-macos, an x86 feature
// set this CPU lacks) is predicted instead: each candidate's assembly, llvm-mca's cycles per FMA
// of its inner loop on the first CPU model of the target's class, candidates whose panel divides
// the matrix only. A GPU target whose device this machine has (opencl) is measured on it: the
// policy's autoscheduler, the autoschedulers it measures only (gpu_measured: Anderson2021,
// Li2018) and the own GPU schedule with each thread block (SchedulePlan.h's gpu_candidates); a GPU target this machine cannot run (metal) is refused. The record
// (<target>/<name>.tuning.json) names the spec, the
// target, the machine it was measured on and every time; --tuning-record FILE gives the same
// plan, so the same library bytes, on any machine.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "schedules/SchedulePlan.h"
#include "schedules/SchedulePolicy.h"
#include "spec/GruSpec.h"

namespace grugen {

// Why --tune cannot measure `policy`'s target here, or "" when it can.
std::string tune_refusal(const TargetPolicy &policy);

// Measures and returns the fastest plan; `record` receives the tuning record (JSON), `progress`
// a line per candidate. Throws GruGenError.
SchedulePlan tune_plan(const GruSpec &spec, const TargetPolicy &policy, double seconds,
                       std::string &record, const std::function<void(const std::string &)> &progress);

// The plan a tuning record gives for `spec` on `policy`'s target. Throws GruGenError, one line
// naming the file and what is wrong (not JSON, another spec or target, a tile the target cannot
// take).
SchedulePlan plan_from_record(const GruSpec &spec, const TargetPolicy &policy,
                              const std::filesystem::path &file);

// The Halide target string a record names (to pick the record's target among several).
std::string record_target(const std::filesystem::path &file);

}  // namespace grugen
