// The scheduling policy per target: which Halide target a gru-gen target name means, which
// autoscheduler schedules each pipeline (and what to fall back to when it fails), how the C
// runtime is compiled and archived, and what an app must link.
//
// This is data, kept in one table (SchedulePolicy.cpp), so that adding a target or retuning one
// is an edit to that table rather than `if`s scattered through the compiler.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "Halide.h"
#include "schedules/MachineModel.h"
#include "schedules/SchedulePlan.h"

namespace grugen {

// gru-gen's own schedules for its pipelines: the register-tiled CPU ones (schedules/
// CpuSchedules.cpp, written for the packed weight layout) or the known-good GPU ones
// (schedules/GpuSchedules.cpp, for MLX's layout). The generators apply the one they are given
// (GeneratorParam own_schedule); with an autoscheduler, none.
enum class OwnSchedule { None, Cpu, Gpu };

// An autoscheduler run: the Halide plugin and its parameters.
struct Autoscheduler {
  std::string name;                           // Halide plugin name, e.g. "Adams2019"
  std::map<std::string, std::string> params;  // autoscheduler.<key>=<value>
};

// How one pipeline is scheduled: gru-gen's own schedule, or an autoscheduler with parameters.
struct PipelineSchedule {
  std::variant<OwnSchedule, Autoscheduler> how;

  // The autoscheduler, or nullptr for an own schedule.
  const Autoscheduler *autoscheduler() const { return std::get_if<Autoscheduler>(&how); }
  // The own schedule, or OwnSchedule::None for an autoscheduler.
  OwnSchedule own() const {
    return autoscheduler() ? OwnSchedule::None : std::get<OwnSchedule>(how);
  }
  // Where an own schedule is written: "schedules/CpuSchedules.cpp", ...; "" for an autoscheduler.
  std::string source() const;
  // "Adams2019 (parallelism=4)", "the CPU schedule" or "the GPU schedule"
  std::string describe() const;
};

// Where a library keeps its weights and state between kernel calls.
enum class DeviceApi { None, Metal, OpenCL };

// The static-library flavour the target's linker reads.
enum class ArchiveFormat { GNU, Darwin };

// The target and its toolchain: every target-dependent decision besides the schedules, each made
// once, in make_policy (SchedulePolicy.cpp), from the named-target and device-API tables there.
// The generators receive the ones they need as GeneratorParams (codegen's generator_params), the
// packager and the runtime read them here.
struct TargetToolchain {
  std::string name;               // gru-gen's name: the output subdirectory
  Halide::Target halide_target;   // what the kernels and Halide's runtime are compiled for
  DeviceApi device = DeviceApi::None;
  // Halide's device interface getter the runtime passes to halide_device_malloc and friends,
  // e.g. "halide_opencl_device_interface"; "" without a device.
  std::string device_interface;
  // The extension of the GPU kernel source --emit metal writes (".metal", ".cl"); "" without a
  // device.
  std::string device_source_extension;
  // The weight layout the kernels read: packed (transposed at create and cut into the panels
  // the schedule plan's tiles stream, SchedulePlan.h; CPU targets) or MLX's ([3H][D], [3H][H];
  // GPU targets, whose one-thread-per-output schedules were written for it).
  bool packed_weights = true;
  // Whether f16 and bf16 weights reach the kernels as their bits (uint16), converted to float32
  // by integer arithmetic in the kernel, or as Halide's float16 and bfloat16. CPU targets take
  // both as such (F16C's vcvtph2ps, arm_fp16's fcvtl, emulated exactly by Halide without them;
  // bfloat16 by a shift); Metal takes f16 as MSL's half (every Metal version has it, and Apple
  // GPUs convert it as they load it); OpenCL takes both as bits (OpenCL C has half only with
  // cl_khr_fp16, Halide's cl_half, which a device may lack), and neither OpenCL C nor Metal 2
  // has bfloat16. weight_storage says which type. Per kernel variant of a portable target.
  bool f16_as_bits = false;
  bool bf16_as_bits = false;
  bool half_as_bits(WeightsPrecision precision) const {
    return precision == WeightsPrecision::F16    ? f16_as_bits
           : precision == WeightsPrecision::BF16 ? bf16_as_bits
                                                 : false;
  }
  // The largest batch N whose bf16 weights are read two k per 32-bit element (WeightStorage;
  // 0: never): x86 CPU targets, where converting a pair takes one vpslld or vpand per vector
  // and the FMA ports do the rest (the N = 1 step is bound by those ports). With AVX-512, every
  // N. With AVX2, N = 1 only: its 16 vector registers hold a pair's two halves, two broadcasts
  // and the mask beside a tile of 6 to 9 accumulators (SchedulePlan.cpp's estimate counts them;
  // measured on an AVX-512 Xeon at the AVX2 level, one thread, against bfloat16 vectors: run
  // 6.26-6.52 -> 5.36-5.59 ms at D=H=512, 1.59-1.61 -> 1.37 ms at D=H=256; step kernel 31 -> 26-27
  // and 8.0 -> 6.4 us). At N = 16 the tiles that fit them are too small for the batch rows:
  // D=H=512 run 85.4-85.7 ms against bfloat16 vectors' 73.0-74.5 (a 1 x 2 step tile against
  // 1 x 4; with the registers uncounted they spilled: 0.72-0.79x float32's). Arm's ushll
  // converts a bfloat16 vector in one instruction already.
  int32_t bf16_pairs_max_batch = 0;
  // The target's class of machine: what the schedule plan is made from.
  MachineModel machine;
  // The gates' sigmoid and tanh in gru-gen's own vector arithmetic (GruStep.cpp's
  // vector_sigmoid and vector_tanh: CPU backends would call libm's tanhf lane by lane, and
  // Halide's vector exp costs more) or Halide's exp and tanh (GPU targets, which have native ones).
  bool vector_gates = true;
  // The rows of the arrays the time loop slices on the device start at multiples of this many
  // floats (kDeviceRowAlignFloats on GPU targets; 1, no padding, on CPU targets).
  int64_t row_align_floats = 1;
  std::vector<std::string> c_compiler;      // compiles the C runtime: argv prefix
  std::string c_compiler_variable;          // the environment variable that overrides it
  // Why c_compiler is empty when a compiler would exist but is not installed here (zig for
  // macOS): building for the target is refused with it, naming what to install; printing the
  // link flags is not.
  std::string no_c_compiler;
  std::vector<std::string> link_libraries;  // linker flags an app adds after lib<name>.a
  ArchiveFormat archive = ArchiveFormat::GNU;
  // --shared can also link lib<name>.so from the archive's objects with c_compiler (ELF targets,
  // a GNU-style linker: version script and SONAME), or lib<name>.dylib (arm64-macos: zig's
  // linker, package/AppleLibraries.h).
  bool shared_library = false;
  // Portable targets: the kernels are compiled once per feature level, best first, and the
  // runtime takes the first the running CPU has, at create (kernel_variants). Empty: one set of
  // kernels, for halide_target (then the least demanding level: Halide's runtime and the C
  // compiler's target).
  std::vector<Halide::Target> variant_targets;
  // One kernel variant's name, in its kernels' symbols (<name>__<variant>_kernel_*) and files;
  // "" for a target with one set of kernels.
  std::string variant;
};

// Schedules to try, in order, for the input projection (a GEMM, both of its instances) and for
// one recurrent step (GEMV-like for small N). A later entry is a fallback, used only when the ones
// before it fail on this target; gru-gen says so when that happens.
struct ScheduleLists {
  std::vector<PipelineSchedule> projection;
  std::vector<PipelineSchedule> step;
  // GPU targets: autoschedulers --tune also measures (and a record may name), which the lists
  // above do not try by default.
  std::vector<Autoscheduler> gpu_measured;
};

// Everything gru-gen does differently per target: the target and toolchain, and the schedules.
struct TargetPolicy : TargetToolchain {
  ScheduleLists schedules;
};

// The schedule plan for `spec` on `policy`'s target: the machine model's tiles and panels with
// packed weights (plan_from_model), MLX's layout without.
SchedulePlan plan_schedules(const TargetPolicy &policy, const GruSpec &spec);

// The schedules a GPU kernel whose policy lists `listed` tries, in order, for a plan's
// gpu_schedule (SchedulePlan.h): "" the list; "own" its own schedule alone; the name of the
// list's autoscheduler or of one of gpu_measured, that autoscheduler and then the own schedule.
// Empty for any other name.
std::vector<PipelineSchedule> gpu_schedules(const TargetPolicy &policy,
                                            const std::vector<PipelineSchedule> &listed,
                                            const std::string &choice);

// The autoschedulers --tune measures for a GPU kernel whose policy lists `listed`: the list's
// first, then gpu_measured.
std::vector<Autoscheduler> gpu_autoschedulers(const TargetPolicy &policy,
                                              const std::vector<PipelineSchedule> &listed);

// w8a8's integer dot product on `target` (weight_storage's k_group for w8a8; the generators
// read unsigned_inputs): each 32-bit lane sums `k_group` consecutive k of a weight row (the
// layout the runtime packs), and its inputs are q + 128 as unsigned bytes, or signed.
//  - x86 with AVX-512 VNNI (Halide's avx512_zen4 level and up): vpdpbusd multiplies unsigned by
//    signed bytes, 4 per lane: groups of 4, unsigned inputs (the kernels subtract 128 times each
//    weight row's integer sum).
//  - other x86 (AVX2, SSE4.1): pmaddwd sums 2 products of 16-bit integers per lane: groups of 2
//    (with 4, Halide needs shuffles to add each lane's two pairs: 10 instructions per 32
//    products instead of 3 per 16), signed.
//  - Arm (sdot with arm_dot_prod; smull/sadalp without) and the GPUs: groups of 4, signed.
// The int32 sums are the same on every target.
struct IntegerDot {
  int k_group;
  bool unsigned_inputs;
};
IntegerDot integer_dot(const Halide::Target &target);

// How the kernels' Wx and Wh buffers hold the weights. The one rule: the generators type and
// index their weight inputs with it (from their GeneratorParams weights_precision,
// half_weights_as_bits and bf16_pairs), the packager writes type and k_group into the layer
// descriptor, with which the runtime packs the weights (runtime/gru_pack.h) and types the
// buffers it passes, and the tuner sizes its buffers by it.
//  - type: float32, float16, bfloat16, int8, uint16 holding f16/bf16 bits (half_weights_as_bits:
//    TargetToolchain::half_as_bits of the precision), or uint32 holding two bfloat16 (bf16_pairs).
//  - k_group: consecutive k of a weight row stored together, each row zero-padded to a multiple
//    of it: w8a8's IntegerDot group; 2 for bf16 pairs; else 1.
//  - k_per_element: the k one element holds: 2 for bf16 pairs (k even in the low half, so that
//    the low weight is the element shifted left by 16 and the high one the element with its low
//    half cleared: one integer instruction per 16 weights where a bfloat16 vector takes two),
//    else 1. Extents and strides of the buffers count elements.
struct WeightStorage {
  Halide::Type type;
  int k_group = 1;
  int k_per_element = 1;
  // A row's K as stored: padded to a multiple of the k group.
  int64_t padded_k(int64_t K) const { return (K + k_group - 1) / k_group * k_group; }
  // The buffer of a [gates x per_gate][K] matrix in this storage, in elements: weight_shape
  // of the padded rows, with the k per element folded in.
  WeightShape shape(int gates, int64_t per_gate, int64_t K, int64_t panel) const {
    const WeightShape s = weight_shape(gates, per_gate, padded_k(K), panel);
    return {s.inner / k_per_element, s.outer};
  }
};
WeightStorage weight_storage(WeightsPrecision precision, bool half_weights_as_bits,
                             bool bf16_pairs, const Halide::Target &target);
// The storage `toolchain`'s kernels use for `spec`: bf16 in pairs where the toolchain reads
// them so at the spec's batch (TargetToolchain::bf16_pairs_max_batch) and every weight row's k
// is even (D and H even), so that no pair reads past the input the weights multiply.
bool uses_bf16_pairs(const TargetToolchain &toolchain, const GruSpec &spec);
WeightStorage weight_storage(const TargetToolchain &toolchain, const GruSpec &spec);

// The policies the kernels are compiled under: the target's own, or for a portable target one per
// feature level, best first (each with its Halide target, machine model and `variant` name).
std::vector<TargetPolicy> kernel_variants(const TargetPolicy &policy);

// Names accepted by --target, in the order --help lists them.
std::vector<std::string> known_target_names();

// The policy for a target name, or for a raw Halide target string (e.g. "arm-64-linux-sve2")
// for experts; std::nullopt, with the reason in `why`, when gru-gen cannot build for it.
std::optional<TargetPolicy> lookup_target(const std::string &name, std::string &why);

}  // namespace grugen
