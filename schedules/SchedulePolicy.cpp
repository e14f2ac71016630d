#include "SchedulePolicy.h"

#include <algorithm>
#include <cstdlib>
#include <thread>
#include <tuple>
#include <utility>

namespace grugen {
namespace {

using Halide::Target;

// One named target: its Halide target and the parallelism its class of machine offers.
struct NamedTarget {
  const char *name;
  Target (*halide_target)();
  int parallelism;  // 0: the cores of the machine gru-gen runs on
};

Target host_target() {
  // The machine gru-gen runs on, all its ISA extensions included; Debug traces are never wanted.
  return Halide::get_host_target().without_feature(Target::Debug);
}

const NamedTarget kNamedTargets[] = {
    // This machine's CPU, every ISA extension it has.
    {"host", host_target, 0},
    // ARM64 Linux (Raspberry Pi, Jetson, Android-class boards). Baseline ARMv8-A: NEON is always
    // there; 4 cores is the common embedded board.
    {"arm64-linux", [] { return Target("arm-64-linux"); }, 4},
    // Apple silicon macOS, M-series: 8 or more cores (performance + efficiency), NEON,
    // dot-product.
    {"arm64-macos", [] { return Target("arm-64-osx-arm_dot_prod"); }, 8},
    // The same, with the kernels on the GPU through Metal.
    {"metal", [] { return Target("arm-64-osx-arm_dot_prod-metal"); }, 8},
    // This machine's CPU with the kernels on an OpenCL device: the Metal schedules through
    // OpenCL, the executable stand-in for `metal` here (PoCL).
    {"opencl", [] { return host_target().with_feature(Target::OpenCL); }, 0},
};

std::string env_or(const char *var, const std::string &fallback) {
  const char *value = std::getenv(var);
  return value && *value ? value : fallback;
}

// The C compiler for the runtime and the variable that overrides it. Host code honours $CC as
// make and CMake do; cross targets have their own variables, so one environment can build every
// target. An empty argv: no compiler is known for the target.
std::pair<std::vector<std::string>, std::string> c_compiler_for(const Target &t) {
  const Target host = Halide::get_host_target();
  if (t.os == host.os && t.arch == host.arch && t.bits == host.bits)
    return {{env_or("CC", "cc")}, "CC"};
  if (t.os == Target::OSX) {
    // Debian has no macOS SDK; zig (PyPI `ziglang`) carries the macOS libc headers.
    const std::string cc = env_or("GRU_GEN_CC_MACOS", "");
    if (!cc.empty()) return {{cc}, "GRU_GEN_CC_MACOS"};
    return {{GRUGEN_ZIG, "cc", "-target",
             t.arch == Target::ARM ? "aarch64-macos.11.0" : "x86_64-macos.11.0", "-g0"},
            "GRU_GEN_CC_MACOS"};
  }
  if (t.os == Target::Linux && t.arch == Target::ARM && t.bits == 64)
    return {{env_or("GRU_GEN_CC_ARM64_LINUX", "aarch64-linux-gnu-gcc")}, "GRU_GEN_CC_ARM64_LINUX"};
  if (t.os == Target::Linux && t.arch == Target::X86 && t.bits == 64)
    return {{env_or("GRU_GEN_CC_X86_64_LINUX", "x86_64-linux-gnu-gcc")}, "GRU_GEN_CC_X86_64_LINUX"};
  return {};
}

TargetPolicy make_policy(const std::string &name, const Target &target, int parallelism) {
  TargetPolicy p;
  p.name = name;
  p.halide_target = target;
  if (parallelism <= 0) parallelism = int(std::max(1u, std::thread::hardware_concurrency()));
  const std::string cores = std::to_string(parallelism);

  if (target.has_feature(Target::Metal)) p.device = DeviceApi::Metal;
  if (target.has_feature(Target::OpenCL)) p.device = DeviceApi::OpenCL;
  if (p.device != DeviceApi::None) {
    // Metal and OpenCL share one schedule, so the OpenCL run on PoCL vouches for Metal.
    // Li2018 is not offered: it emits atomics, which the Metal backend rejects.
    const PipelineSchedule gpu = {"Mullapudi2016",
                                  {{"experimental_gpu_schedule", "1"}, {"parallelism", "128"}}};
    p.projection = {gpu, {}};
    p.step = {gpu, {}};
  } else {
    // gru-gen's own register-tiled schedules beat both autoschedulers on every shape measured
    // (bench/, docs/ARCHITECTURE.md); Adams2019, then Mullapudi2016, back them up.
    const PipelineSchedule own = {"", {}, "schedules/CpuSchedules.cpp"};
    const PipelineSchedule adams = {"Adams2019", {{"parallelism", cores}}};
    const PipelineSchedule mullapudi = {"Mullapudi2016", {{"parallelism", cores}}};
    p.projection = {own, adams, mullapudi};
    p.step = {own, adams, mullapudi};
  }

  std::tie(p.c_compiler, p.c_compiler_variable) = c_compiler_for(target);
  if (target.os == Target::OSX) {
    p.archive = ArchiveFormat::Darwin;
    if (p.device == DeviceApi::Metal)
      p.link_libraries = {"-framework Metal", "-framework Foundation"};
  } else {
    p.link_libraries = {"-lpthread", "-ldl", "-lm"};
  }
  return p;
}

}  // namespace

std::string PipelineSchedule::describe() const {
  if (autoscheduler.empty())
    return source == "schedules/CpuSchedules.cpp" ? "the CPU schedule" : "the fallback schedule";
  std::string text = autoscheduler + " (";
  for (auto it = params.begin(); it != params.end(); ++it)
    text += (it == params.begin() ? "" : ", ") + it->first + "=" + it->second;
  return text + ")";
}

std::vector<std::string> known_target_names() {
  std::vector<std::string> names;
  for (const NamedTarget &t : kNamedTargets) names.push_back(t.name);
  return names;
}

std::optional<TargetPolicy> lookup_target(const std::string &name, std::string &why) {
  for (const NamedTarget &t : kNamedTargets)
    if (name == t.name) return make_policy(t.name, t.halide_target(), t.parallelism);
  // An expert's raw Halide target string: a policy derived from its OS, architecture and GPU API.
  if (!Target::validate_target_string(name)) {
    why = "not a gru-gen target nor a Halide target string";
    return std::nullopt;
  }
  const Target target(name);
  if (target.os != Target::Linux && target.os != Target::OSX) {
    why = "gru-gen builds for Linux and macOS only";
  } else if (target.bits != 64) {
    why = "gru-gen builds for 64-bit targets only";
  } else if (target.has_gpu_feature() && !target.has_feature(Target::Metal) &&
             !target.has_feature(Target::OpenCL)) {
    why = "the GPU APIs gru-gen supports are Metal and OpenCL";
  }
  if (!why.empty()) return std::nullopt;
  // Tuned for this machine when it is this machine's kind, else for a common 4-core device, so
  // that a cross target's library does not depend on where gru-gen ran.
  const Target host = Halide::get_host_target();
  const bool native = target.os == host.os && target.arch == host.arch;
  TargetPolicy p = make_policy(name, target, native ? 0 : 4);
  if (p.c_compiler.empty()) {
    why = "gru-gen has no C compiler for its runtime on this architecture";
    return std::nullopt;
  }
  return p;
}

}  // namespace grugen
