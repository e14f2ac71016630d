// The scheduling policy per target: which Halide target a gru-gen target name means, which
// autoscheduler schedules each pipeline and with which parameters, and what an app must link.
//
// This is data, kept in one table (SchedulePolicy.cpp), so that adding a target or retuning one
// is an edit to that table rather than `if`s scattered through the compiler.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "Halide.h"

namespace grugen {

struct PipelineSchedule {
  std::string autoscheduler;                  // Halide plugin name, e.g. "Adams2019"
  std::map<std::string, std::string> params;  // autoscheduler.<key>=<value>
};

struct TargetPolicy {
  std::string name;               // gru-gen's name: the output subdirectory
  Halide::Target halide_target;   // what the kernels and Halide's runtime are compiled for
  PipelineSchedule projection;    // the input projection, a GEMM (both of its instances)
  PipelineSchedule step;          // one recurrent step (GEMV-like for small N)
  std::vector<std::string> c_compiler;  // compiles the C runtime: argv prefix, e.g. {"cc"}
  std::vector<std::string> link_libraries;  // what an app links besides lib<name>.a
};

// Names accepted by --target, in the order --help lists them.
std::vector<std::string> known_target_names();

// The policy for one target name; std::nullopt for an unknown name.
std::optional<TargetPolicy> lookup_target(const std::string &name);

}  // namespace grugen
