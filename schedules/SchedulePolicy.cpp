#include "SchedulePolicy.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace grugen {
namespace {

// The C compiler for host code: $CC when set (as make and CMake honour it), else cc.
std::vector<std::string> host_c_compiler() {
  const char *cc = std::getenv("CC");
  return {cc && *cc ? cc : "cc"};
}

TargetPolicy host_policy() {
  TargetPolicy p;
  p.name = "host";
  // The machine gru-gen runs on, all its ISA extensions included; Debug traces are never wanted.
  p.halide_target = Halide::get_host_target().without_feature(Halide::Target::Debug);
  // Tuned for this machine: the autoscheduler may use every core it has.
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  p.projection = {"Adams2019", {{"parallelism", std::to_string(cores)}}};
  p.step = {"Adams2019", {{"parallelism", std::to_string(cores)}}};
  p.c_compiler = host_c_compiler();
  p.link_libraries = {"-lpthread", "-ldl", "-lm"};
  return p;
}

}  // namespace

std::vector<std::string> known_target_names() { return {"host"}; }

std::optional<TargetPolicy> lookup_target(const std::string &name) {
  if (name == "host") return host_policy();
  return std::nullopt;
}

}  // namespace grugen
