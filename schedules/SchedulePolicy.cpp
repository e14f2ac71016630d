#include "SchedulePolicy.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <cstdlib>
#include <iterator>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>

#include "compiler/spec/GruSpec.h"
#include "compiler/support/Subprocess.h"

namespace grugen {
namespace {

using Halide::Target;

// One named target: its Halide target and the parallelism its class of machine offers; for a
// portable target, the feature levels its kernels are compiled for, best first (the last is
// the Halide target's).
struct NamedTarget {
  const char *name;
  Target (*halide_target)();
  int parallelism;  // 0: the cores of the machine gru-gen runs on
  std::vector<const char *> variants = {};
};

Target host_target() {
  // The machine gru-gen runs on, all its ISA extensions included; Debug traces are never wanted.
  return Halide::get_host_target().without_feature(Target::Debug);
}

const NamedTarget kNamedTargets[] = {
    // This machine's CPU, every ISA extension it has.
    {"host", host_target, 0},
    // ARM64 Linux (Raspberry Pi, Jetson, Android-class boards), for shipping: ARMv8.2-A kernels
    // with the dot product and float16 arithmetic (Cortex-A55/A75/A76 and later, Neoverse: sdot
    // for w8a8, fcvtl for f16 weights; Raspberry Pi 5) and baseline ARMv8-A NEON kernels
    // (Cortex-A53/A72: Raspberry Pi 3 and 4) in one archive, the best the CPU has chosen at
    // create. 4 cores is the common embedded board.
    {"arm64-linux", [] { return Target("arm-64-linux"); }, 4,
     {"arm-64-linux-arm_dot_prod-arm_fp16", "arm-64-linux"}},
    // Apple silicon macOS, M-series: 8 or more cores (performance + efficiency), NEON,
    // dot-product.
    {"arm64-macos", [] { return Target("arm-64-osx-arm_dot_prod"); }, 8},
    // The same, with the kernels on the GPU through Metal.
    {"metal", [] { return Target("arm-64-osx-arm_dot_prod-metal"); }, 8},
    // This machine's CPU with the kernels on an OpenCL device: the Metal schedules through
    // OpenCL, the executable stand-in for `metal` here (PoCL).
    {"opencl", [] { return host_target().with_feature(Target::OpenCL); }, 0},
    // Any x86-64 Linux CPU, for shipping: AVX-512 (Skylake-SP and later: F, CD, BW, DQ, VL),
    // AVX2 with FMA (Haswell, Zen) and SSE4.1 kernels in one archive, the best the CPU has
    // chosen at create. Tuned for a common 4-core machine, not for this one.
    {"x86-64-linux", [] { return Target("x86-64-linux-sse41"); }, 4,
     {"x86-64-linux-avx-avx2-avx512-avx512_skylake-f16c-fma-sse41",
      "x86-64-linux-avx-avx2-f16c-fma-sse41", "x86-64-linux-sse41"}},
    // iPhone and iPad, iOS 17 or later (kIosMinimum): baseline NEON, no dot product (the A12 of
    // iOS 17's oldest devices lacks it); 6 cores (2 performance + 4 efficiency) is the iPhone.
    {"arm64-ios", [] { return Target("arm-64-ios"); }, 6},
    // The same, with the kernels on the GPU through Metal: metal's schedules and Metal source.
    {"metal-ios", [] { return Target("arm-64-ios-metal"); }, 6},
    // Android phones, API level kAndroidApiLevel or later: baseline ARMv8-A NEON; 8 cores is the
    // common phone SoC. The runtime needs an NDK (c_compiler_for).
    {"arm64-android", [] { return Target("arm-64-android"); }, 8},
};

// The oldest iOS the arm64-ios and metal-ios libraries run on. Halide 21 compiles the kernels
// and its runtime for iOS 17.0 (LC_BUILD_VERSION minos 17.0, fixed by Halide), so the C runtime
// is compiled for the same version: every object of the archive says iOS 17.0.
constexpr const char *kIosMinimum = "17.0";
// The Android API level of arm64-android: 21 (Android 5.0) is the first with arm64, and has
// every bionic function the runtime and Halide's runtime call; the NDK's clang is chosen by it.
constexpr int kAndroidApiLevel = 21;

// A kernel variant's name: its feature level, from the features that set it apart.
std::string variant_name(const Target &t) {
  if (t.arch == Target::ARM) return t.has_feature(Target::ARMDotProd) ? "armv82" : "armv8";
  if (t.has_feature(Target::AVX512_Skylake) || t.has_feature(Target::AVX512)) return "avx512";
  if (t.has_feature(Target::AVX2)) return "avx2";
  if (t.has_feature(Target::AVX)) return "avx";
  if (t.has_feature(Target::SSE41)) return "sse41";
  return "base";
}

// One device API: how a Halide target names it, what the runtime and --emit need of it, where
// it exists. A target has the device API whose feature it carries (the last row's, should it
// carry several).
struct DeviceApiRow {
  DeviceApi api;
  Target::Feature feature;
  const char *name;              // in messages
  const char *interface;         // TargetToolchain::device_interface
  const char *source_extension;  // TargetToolchain::device_source_extension
  bool on_linux;                 // every device API exists on macOS; some on Linux too
  bool native_half;              // f16 weights as the API's half (TargetToolchain::f16_as_bits)
  std::vector<std::string> macos_link_libraries;  // what an app links for it on macOS
};

const DeviceApiRow kDeviceApis[] = {
    {DeviceApi::Metal, Target::Metal, "Metal", "halide_metal_device_interface", ".metal", false,
     true, {"-framework Metal", "-framework Foundation"}},
    {DeviceApi::OpenCL, Target::OpenCL, "OpenCL", "halide_opencl_device_interface", ".cl", true,
     false, {}},
};

// The row of the device API `target` carries, or nullptr for a CPU target.
const DeviceApiRow *device_api_of(const Target &target) {
  const DeviceApiRow *found = nullptr;
  for (const DeviceApiRow &row : kDeviceApis)
    if (target.has_feature(row.feature)) found = &row;
  return found;
}

// A command in an environment variable, split into words as make and CMake users expect:
// blanks separate words; '...' keeps its text as it is, "..." too except that \" and \\ stand
// for " and \; elsewhere a backslash keeps the next character. Nothing is expanded and no shell
// runs. Throws std::invalid_argument naming the variable when the text is not such a command.
std::vector<std::string> command_words(const char *variable, const std::string &text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  auto fail = [&](const char *why) {
    throw std::invalid_argument(std::string(variable) + " '" + text + "': " + why);
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      const size_t end = text.find('\'', i + 1);
      if (end == std::string::npos) fail("unterminated quote");
      word.append(text, i + 1, end - i - 1);
      i = end;
    } else if (c == '"') {
      for (++i;; ++i) {
        if (i >= text.size()) fail("unterminated quote");
        if (text[i] == '"') break;
        if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '"' || text[i + 1] == '\\'))
          ++i;
        word += text[i];
      }
    } else if (c == '\\') {
      if (i + 1 == text.size()) fail("a backslash ends it");
      word += text[++i];
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(word);
  if (words.empty()) fail("no command");
  return words;
}

// The command a variable names when it is set (even to blanks, which is a mistake), else
// `fallback`.
std::vector<std::string> command_from(const char *variable, std::vector<std::string> fallback) {
  const char *value = std::getenv(variable);
  return value && *value ? command_words(variable, value) : std::move(fallback);
}

// zig, for macOS runtimes, found where an installed gru-gen can see it (nothing is fixed at
// build time): $GRU_GEN_ZIG, else `zig` on PATH, else `python-zig` on PATH (the command that
// `pip install ziglang` installs beside its Python). "" when there is none.
std::string find_zig() {
  if (const char *zig = std::getenv("GRU_GEN_ZIG"); zig && *zig) return zig;
  const char *path = std::getenv("PATH");
  for (const char *program : {"zig", "python-zig"}) {
    std::string dirs = path ? path : "";
    for (size_t start = 0; start <= dirs.size();) {
      size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      const std::string dir = end == start ? "." : dirs.substr(start, end - start);
      const std::string candidate = dir + "/" + program;
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
      start = end + 1;
    }
  }
  return "";
}

// zig's library directory (`zig env`: .lib_dir, ZON since zig 0.14, JSON before), whose
// libc/include/any-darwin-any holds the Darwin libc headers zig carries; "" when zig does not
// say.
std::string zig_lib_dir(const std::string &zig) {
  const SubprocessResult r = run_subprocess({zig, "env"}, ".");
  if (!r.started || r.exit_code != 0) return "";
  for (const char *key : {".lib_dir = \"", "\"lib_dir\": \""}) {
    const size_t at = r.output.find(key);
    if (at == std::string::npos) continue;
    const size_t start = at + std::string(key).size(), end = r.output.find('"', start);
    // zig names it relative to the directory it ran in when it lies below it: made absolute
    // here (this process's directory), as the compiler runs elsewhere.
    if (end != std::string::npos)
      return std::filesystem::absolute(r.output.substr(start, end - start)).string();
  }
  return "";
}

// The C compiler for the runtime and the variable that overrides it. Host code honours $CC as
// make and CMake do; cross targets have their own variables, so one environment can build every
// target. An empty argv: no compiler is known for the target.
std::pair<std::vector<std::string>, std::string> c_compiler_for(const Target &t) {
  const Target host = Halide::get_host_target();
  if (t.os == host.os && t.arch == host.arch && t.bits == host.bits)
    return {command_from("CC", {"cc"}), "CC"};
  if (t.os == Target::OSX) {
    // Debian has no macOS SDK; zig (PyPI `ziglang`) carries the macOS libc headers.
    if (const char *cc = std::getenv("GRU_GEN_CC_MACOS"); cc && *cc)
      return {command_words("GRU_GEN_CC_MACOS", cc), "GRU_GEN_CC_MACOS"};
    const std::string zig = find_zig();
    if (zig.empty()) return {{}, "GRU_GEN_CC_MACOS"};
    return {{zig, "cc", "-target",
             t.arch == Target::ARM ? "aarch64-macos.11.0" : "x86_64-macos.11.0", "-g0"},
            "GRU_GEN_CC_MACOS"};
  }
  if (t.os == Target::IOS) {
    // zig's clang compiles for iOS (-target aarch64-ios.17.0: LC_BUILD_VERSION platform iOS),
    // but zig provides libc headers for macOS only; the Darwin headers it carries are Apple's
    // libSystem headers, which iOS shares (the same Libc, xnu and libpthread sources; what differs
    // per platform is marked __API_AVAILABLE(ios(...)) and TargetConditionals.h, both decided by
    // the -target), with the same arm64 Darwin ABI. So they are searched after clang's own
    // headers (-idirafter), where an SDK's usr/include would be.
    if (const char *cc = std::getenv("GRU_GEN_CC_IOS"); cc && *cc)
      return {command_words("GRU_GEN_CC_IOS", cc), "GRU_GEN_CC_IOS"};
    const std::string zig = find_zig();
    const std::string lib = zig.empty() ? "" : zig_lib_dir(zig);
    if (lib.empty()) return {{}, "GRU_GEN_CC_IOS"};
    return {{zig, "cc", "-target", std::string("aarch64-ios.") + kIosMinimum, "-idirafter",
             lib + "/libc/include/any-darwin-any", "-g0"},
            "GRU_GEN_CC_IOS"};
  }
  if (t.os == Target::Android) {
    // Bionic is not glibc (errno is __errno(), stdio's FILE and stdin/stdout differ, no _chk
    // fortify entry points of glibc's), so only an NDK's clang builds a correct runtime.
    if (const char *cc = std::getenv("GRU_GEN_CC_ARM64_ANDROID"); cc && *cc)
      return {command_words("GRU_GEN_CC_ARM64_ANDROID", cc), "GRU_GEN_CC_ARM64_ANDROID"};
    const char *ndk = std::getenv("ANDROID_NDK_HOME");
    if (!ndk || !*ndk) return {{}, "GRU_GEN_CC_ARM64_ANDROID"};
    return {{std::string(ndk) + "/toolchains/llvm/prebuilt/linux-x86_64/bin/clang",
             "--target=aarch64-linux-android" + std::to_string(kAndroidApiLevel)},
            "GRU_GEN_CC_ARM64_ANDROID"};
  }
  if (t.os == Target::Linux && t.arch == Target::ARM && t.bits == 64)
    return {command_from("GRU_GEN_CC_ARM64_LINUX", {"aarch64-linux-gnu-gcc"}),
            "GRU_GEN_CC_ARM64_LINUX"};
  if (t.os == Target::Linux && t.arch == Target::X86 && t.bits == 64)
    return {command_from("GRU_GEN_CC_X86_64_LINUX", {"x86_64-linux-gnu-gcc"}),
            "GRU_GEN_CC_X86_64_LINUX"};
  return {};
}

// The 16-bit weight formats `target`'s kernels take as bits (TargetToolchain::f16_as_bits and
// bf16_as_bits): bf16 on every GPU target (bfloat16 is in neither OpenCL C nor Metal 2), f16
// where the API has no half that every device takes (OpenCL C has it only with cl_khr_fp16).
// CPU targets take Halide's float16 and bfloat16, which Halide converts natively where the
// target can (x86 F16C, ARM arm_fp16) and emulates exactly elsewhere (measured on arm64's 4x1
// step tile: Halide's emulation spilled less than GruGenerator.h's weight_to_float).
void set_half_formats(TargetToolchain &t, const Target &target) {
  const DeviceApiRow *device = device_api_of(target);
  t.f16_as_bits = device != nullptr && !device->native_half;
  t.bf16_as_bits = device != nullptr;
  t.bf16_pairs_max_batch = device != nullptr || target.arch != Target::X86 ? 0
                           : target.has_feature(Target::AVX512)            ? INT32_MAX
                           : target.has_feature(Target::AVX2)              ? 1
                                                                           : 0;
}

TargetPolicy make_policy(const std::string &name, const Target &target, int parallelism,
                         bool host) {
  TargetPolicy p;
  p.name = name;
  p.halide_target = target;
  set_half_formats(p, target);
  p.machine = machine_model_for(target, host);
  if (parallelism <= 0) parallelism = int(std::max(1u, std::thread::hardware_concurrency()));
  const std::string cores = std::to_string(parallelism);

  const DeviceApiRow *device = device_api_of(target);
  if (device) {
    p.device = device->api;
    p.device_interface = device->interface;
    p.device_source_extension = device->source_extension;
    // GPU targets keep MLX's layout (their schedules were written for it) and Halide's exp and
    // tanh, and align the rows the time loop slices (OpenCL sub-buffers must start 256-byte
    // aligned).
    p.packed_weights = false;
    p.vector_gates = false;
    p.row_align_floats = kDeviceRowAlignFloats;
    // Metal and OpenCL share one schedule, so the OpenCL run on PoCL vouches for Metal.
    // Li2018 is not offered: it emits atomics, which the Metal backend rejects.
    const PipelineSchedule gpu = {Autoscheduler{
        "Mullapudi2016", {{"experimental_gpu_schedule", "1"}, {"parallelism", "128"}}}};
    const PipelineSchedule fallback = {OwnSchedule::Gpu};
    p.schedules.projection = {gpu, fallback};
    p.schedules.step = {gpu, fallback};
    // Measured by --tune only: Anderson2021's cost model was trained on NVIDIA GPUs, and Li2018
    // may emit atomics (which the Metal backend rejects): neither is a default.
    p.schedules.gpu_measured = {Autoscheduler{"Anderson2021", {{"parallelism", "128"}}},
                                Autoscheduler{"Li2018", {{"parallelism", "128"}}}};
  } else {
    // gru-gen's own register-tiled schedules beat both autoschedulers on every shape measured
    // (bench/, docs/ARCHITECTURE.md); Adams2019, then Mullapudi2016, back them up.
    const PipelineSchedule own = {OwnSchedule::Cpu};
    const PipelineSchedule adams = {Autoscheduler{"Adams2019", {{"parallelism", cores}}}};
    const PipelineSchedule mullapudi = {Autoscheduler{"Mullapudi2016", {{"parallelism", cores}}}};
    p.schedules.projection = {own, adams, mullapudi};
    p.schedules.step = {own, adams, mullapudi};
  }

  std::tie(p.c_compiler, p.c_compiler_variable) = c_compiler_for(target);
  if (p.c_compiler.empty() && (target.os == Target::OSX || target.os == Target::IOS))
    p.no_c_compiler = "target '" + name + "' needs zig to compile its runtime and there is none: "
                      "pip install ziglang (or put zig on PATH, set GRU_GEN_ZIG to a zig "
                      "executable, or " + p.c_compiler_variable + " to a C compiler for " +
                      (target.os == Target::IOS ? "iOS)" : "macOS)");
  if (p.c_compiler.empty() && target.os == Target::Android)
    p.no_c_compiler = "target '" + name + "' needs the Android NDK to compile its runtime for "
                      "bionic: set ANDROID_NDK_HOME to an NDK (r23 or later; API level " +
                      std::to_string(kAndroidApiLevel) + "), or GRU_GEN_CC_ARM64_ANDROID to its clang";
  if (target.os == Target::OSX || target.os == Target::IOS) {
    p.archive = ArchiveFormat::Darwin;
    if (device) p.link_libraries = device->macos_link_libraries;
    // Halide's iOS runtime prints with NSLog and drains Objective-C autorelease pools: Foundation.
    else if (target.os == Target::IOS) p.link_libraries = {"-framework Foundation"};
  } else if (target.os == Target::Android) {
    // Halide's runtime prints through liblog (__android_log_print); pthread is in bionic's libc.
    p.link_libraries = {"-llog", "-ldl", "-lm"};
  } else {
    p.link_libraries = {"-lpthread", "-ldl", "-lm"};
  }
  // ELF shared objects on Linux, Mach-O dylibs on macOS (package/AppleLibraries.cpp).
  // (CPU only: zig's linker finds no Apple frameworks for a Metal dylib).
  p.shared_library = target.os == Target::Linux || (target.os == Target::OSX && !device);
  return p;
}

}  // namespace

SchedulePlan plan_schedules(const TargetPolicy &policy, const GruSpec &spec) {
  if (policy.packed_weights)
    return plan_from_model(policy.machine, spec, spec.projection_block_rows(),
                           weight_storage(policy, spec).k_per_element);
  return plan_for_gpu(policy.machine);
}

std::vector<Autoscheduler> gpu_autoschedulers(const TargetPolicy &policy,
                                              const std::vector<PipelineSchedule> &listed) {
  std::vector<Autoscheduler> all;
  for (const PipelineSchedule &s : listed)
    if (s.autoscheduler()) {
      all.push_back(*s.autoscheduler());
      break;
    }
  all.insert(all.end(), policy.schedules.gpu_measured.begin(),
             policy.schedules.gpu_measured.end());
  return all;
}

std::vector<PipelineSchedule> gpu_schedules(const TargetPolicy &policy,
                                            const std::vector<PipelineSchedule> &listed,
                                            const std::string &choice) {
  if (choice.empty()) return listed;
  const PipelineSchedule own = {OwnSchedule::Gpu};
  if (choice == "own") return {own};
  for (const Autoscheduler &as : gpu_autoschedulers(policy, listed))
    if (as.name == choice) return {PipelineSchedule{as}, own};
  return {};
}

IntegerDot integer_dot(const Halide::Target &target) {
  if (target.arch != Halide::Target::X86) return {4, false};
  using F = Halide::Target::Feature;
  const bool vnni = target.has_feature(F::AVX512_Zen4) || target.has_feature(F::AVX512_Zen5) ||
                    target.has_feature(F::AVX512_SapphireRapids);
  return vnni ? IntegerDot{4, true} : IntegerDot{2, false};
}

WeightStorage weight_storage(WeightsPrecision precision, bool half_weights_as_bits,
                             bool bf16_pairs, const Halide::Target &target) {
  switch (precision) {
    case WeightsPrecision::F32: return {Halide::Float(32)};
    case WeightsPrecision::F16:
      return {half_weights_as_bits ? Halide::UInt(16) : Halide::Float(16)};
    case WeightsPrecision::BF16:
      if (bf16_pairs) return {Halide::UInt(32), 2, 2};
      return {half_weights_as_bits ? Halide::UInt(16) : Halide::BFloat(16)};
    case WeightsPrecision::Int8: return {Halide::Int(8)};
    case WeightsPrecision::W8A8: return {Halide::Int(8), integer_dot(target).k_group};
  }
  return {Halide::Float(32)};
}

bool uses_bf16_pairs(const TargetToolchain &toolchain, const GruSpec &spec) {
  // Pairs index the packed panels only (GruGenerator::panel_weight).
  return spec.weights_precision == WeightsPrecision::BF16 &&
         spec.batch <= toolchain.bf16_pairs_max_batch &&
         toolchain.packed_weights && spec.input_size % 2 == 0 && spec.hidden_size % 2 == 0;
}

WeightStorage weight_storage(const TargetToolchain &toolchain, const GruSpec &spec) {
  return weight_storage(spec.weights_precision, toolchain.half_as_bits(spec.weights_precision),
                        uses_bf16_pairs(toolchain, spec), toolchain.halide_target);
}

std::string PipelineSchedule::source() const {
  switch (own()) {
    case OwnSchedule::Cpu: return "schedules/CpuSchedules.cpp";
    case OwnSchedule::Gpu: return "schedules/GpuSchedules.cpp";
    case OwnSchedule::None: break;
  }
  return "";
}

std::string PipelineSchedule::describe() const {
  if (own() == OwnSchedule::Cpu) return "the CPU schedule";
  if (own() == OwnSchedule::Gpu) return "the GPU schedule";
  const Autoscheduler &as = *autoscheduler();
  std::string text = as.name + " (";
  for (auto it = as.params.begin(); it != as.params.end(); ++it)
    text += (it == as.params.begin() ? "" : ", ") + it->first + "=" + it->second;
  return text + ")";
}

std::vector<TargetPolicy> kernel_variants(const TargetPolicy &policy) {
  if (policy.variant_targets.empty()) return {policy};
  std::vector<TargetPolicy> variants;
  for (const Target &t : policy.variant_targets) {
    TargetPolicy v = policy;
    v.halide_target = t;
    v.machine = machine_model_for(t, false);
    set_half_formats(v, t);
    v.variant = variant_name(t);
    v.variant_targets.clear();
    variants.push_back(v);
  }
  return variants;
}

std::vector<std::string> known_target_names() {
  std::vector<std::string> names;
  for (const NamedTarget &t : kNamedTargets) names.push_back(t.name);
  return names;
}

std::optional<TargetPolicy> lookup_target(const std::string &name, std::string &why) {
  for (const NamedTarget &t : kNamedTargets)
    if (name == t.name) {
      TargetPolicy p = make_policy(t.name, t.halide_target(), t.parallelism, t.parallelism == 0);
      for (const char *variant : t.variants) p.variant_targets.emplace_back(variant);
      return p;
    }
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
  } else if (target.has_gpu_feature() && !device_api_of(target)) {
    why = "the GPU APIs gru-gen supports are ";
    for (size_t i = 0; i < std::size(kDeviceApis); ++i)
      why += std::string(i == 0 ? "" : i + 1 == std::size(kDeviceApis) ? " and " : ", ") +
             kDeviceApis[i].name;
  } else if (const DeviceApiRow *device = device_api_of(target);
             device && !device->on_linux && target.os != Target::OSX &&
             !(device->api == DeviceApi::Metal && target.arch == Target::X86)) {
    // Each device API by the operating systems that have it: Metal is Apple's (of gru-gen's
    // operating systems, macOS); OpenCL exists on Linux and macOS alike. One exception:
    // x86-64-linux-metal, Halide's x86-64 Metal runtime on Linux, which links against whatever
    // provides Objective-C's and Metal's entry points there: the test suite's Metal device
    // (test/metal_shim), which runs the Metal source the `metal` target ships.
    why = std::string(device->name) + " exists on macOS only, not on Linux";
  }
  if (!why.empty()) return std::nullopt;
  // Tuned for this machine when it is this machine's kind, else for a common 4-core device, so
  // that a cross target's library does not depend on where gru-gen ran.
  const Target host = Halide::get_host_target();
  const bool native = target.os == host.os && target.arch == host.arch;
  TargetPolicy p = make_policy(name, target, native ? 0 : 4, false);
  if (p.c_compiler.empty() && p.no_c_compiler.empty()) {
    why = "gru-gen has no C compiler for its runtime on this architecture";
    return std::nullopt;
  }
  return p;
}

}  // namespace grugen
