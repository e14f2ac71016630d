// GruSpec: the fixed shape of one GRU layer, as gru-gen compiles it.
//
// The spec is the first stage of the data path (spec -> pipelines + schedule -> objects + header
// -> runtime). Everything downstream reads shapes from here; nothing downstream re-validates them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace grugen {

// Rows of x the run-time projection kernel handles per call (a block of the N*L rows of a
// sequence): this many, or four times as many for a large Wx (GruSpec::projection_block_rows,
// the one rule). The same for every target and layer, because the model's scratch, reported in
// the header, holds one block: the zero-padded tail of a sequence.
inline constexpr int64_t kProjectionBlockRows = 32;

// GPU targets lay out the rows of the arrays the time loop slices on the device at multiples of
// this many floats (256 bytes: OpenCL sub-buffers must be aligned that way).
inline constexpr int64_t kDeviceRowAlignFloats = 64;

// What a library's kernel computes: the projection of a run's blocks of rows, the projection
// of one timestep's N rows (the streaming step's), or the recurrent step.
enum class KernelKind { Projection, StepProjection, Step };

// One kernel of a library (GruSpec::kernels): <name>_kernel_<suffix>.
struct LibraryKernel {
  std::string suffix;
  KernelKind kind;
  bool deep = false;  // a layer above 0's projection: it reads output_size() features, not D
  // A team's kernels: a step of one of `team` members (a team size, or the step's slices),
  // 1 for the team's step projections (run by one member); 0 for the others.
  int64_t team = 0;
};

// Bytes at the start of a model's block that hold the runtime's model struct (runtime/ checks
// at compile time that its struct fits).
inline constexpr int64_t kModelStructBytes = 1024;

// Which way each layer walks the sequence (the IR's gru.direction): forward t = 0..L-1, reverse
// t = L-1..0, or both over the same input, the output at t being [forward h_t, reverse h_t].
enum class GruDirection { Forward, Reverse, Bidirectional };

// How Wx and Wh are stored in a created model and read by the kernels (the IR's
// gru.precision, --weights-precision): float32; IEEE binary16 or bfloat16, each converted from
// the caller's float32 by round to nearest even; or int8 with a float32 scale per output row
// (per gate row j of Wx and of Wh): scale[j] = max_k |W[j][k]| / 127 (1 where that is 0),
// q[j][k] = round_half_even(W[j][k] / scale[j]) clamped to [-127, 127]. The kernels convert
// in registers and accumulate in float32; int8 multiplies row j's sum by scale[j]. Biases, the
// input and the states stay float32.
// W8A8: the weights as int8, and each product's input vector too (a row of x for the projection,
// of h for the step, per call): a = max_k |v[k]| (NaN when a v[k] is NaN); for 0 < a < inf,
// inv = 127 / a in float32 and q[k] = round_half_even(v[k] * inv) clamped to [-127, 127]; for
// a = inf, q[k] = +-127 where v[k] = +-inf, else 0; otherwise all 0; scale_v = a / 127. Row j's
// product is the exact int32 sum_k q_w[j][k] q[k], then float32(sum) * scale[j] * scale_v in
// IEEE float32 (an infinite row gives +-inf, or NaN over a zero sum, as float32 products would;
// a NaN row NaN): the integer dot products of x86 VNNI (vpdpbusd) and Arm sdot, the same
// products on every target.
enum class WeightsPrecision { F32, F16, BF16, Int8, W8A8 };

// Floats of row data a weight matrix of `rows` rows carries in `precision` (the rule behind
// GruSpec::weight_row_floats, which the generators apply to their own matrices): none for f32,
// f16 and bf16; a float32 scale per row for int8; for w8a8 the scales, then each row's integer
// sum sum_k q[j][k] (exact in float32: |sum| <= 127 * 16384), which the kernels that take
// unsigned inputs subtract 128 times (runtime/gru_pack.h).
inline int64_t weight_row_floats_of(WeightsPrecision precision, int64_t rows) {
  switch (precision) {
    case WeightsPrecision::Int8: return rows;
    case WeightsPrecision::W8A8: return 2 * rows;
    default: return 0;
  }
}

// `s` with A-Z as a-z (a library's name where a file system or CMake ignores case).
std::string ascii_lower(std::string s);

// "forward", "reverse" or "bidirectional": as the header and messages write it.
const char *direction_name(GruDirection direction);
// "3 bidirectional layers", "1 forward layer": a model's stack, for messages.
std::string describe_stack(int64_t layers, GruDirection direction);

// Its name as the flag, the IR and the header write it: "f32", "f16", "bf16", "int8", "w8a8".
const char *precision_name(WeightsPrecision precision);
// The precision a name states, or nullopt (the error names precision_names()).
std::optional<WeightsPrecision> parse_precision(std::string_view name);
// "f32, f16, bf16, int8 or w8a8": what parse_precision accepts, for messages.
const char *precision_names();
// Every precision by its name (the table behind the three above; the generators' GeneratorParam).
const std::map<std::string, WeightsPrecision> &precisions_by_name();

struct GruSpec {
  std::string name;         // C identifier; prefixes every exported symbol of the library
  int64_t input_size = 0;   // D: features per timestep of the model's input (layer 0's)
  int64_t hidden_size = 0;  // H, every layer's
  int64_t batch = 1;        // N
  bool has_bias = true;     // b [3H] and bhn [H] exist exactly when true
  // A stack of `layers` layers, each with `direction`: layer 0 reads D features, layer l > 0
  // the previous layer's output (directions() * H). Every stage takes any stack: the IR, code
  // generation (the deep layers' own projection kernels) and the runtime (one model descriptor,
  // a layer descriptor per input size).
  int64_t layers = 1;
  GruDirection direction = GruDirection::Forward;
  // Where the reset gate applies: after the recurrent product, n = tanh(xp_n + r * (hp_n + bhn))
  // (mlx.nn.GRU, PyTorch, ONNX linear_before_reset=1), or before it (false: ONNX
  // linear_before_reset=0, Keras reset_after=False), n = tanh(xp_n + (r * h) Wh_n^T + bhn).
  bool reset_after = true;
  // How the model stores Wx and Wh (see WeightsPrecision); every other array is float32.
  WeightsPrecision weights_precision = WeightsPrecision::F32;

  // Bytes of one stored element of Wx and Wh: 4, 2, 2 or 1.
  int64_t weight_element_bytes() const;
  // Rows per call of the projection kernel: kProjectionBlockRows, or up to 4x that where a
  // layer's Wx (3H x its input, in the stored precision) is over 1 MiB, as many as keep the
  // model's one block of x (its zero-padded tail, rows x input x 4 bytes) within 256 KiB. Such a
  // Wx does not stay in L2 beside Wh and streams from L3 on every call; a call of 4x the rows
  // reuses each panel for them all (D=H=512 N=16 L=128, one thread, Xeon family 6 model 167: run 45 -> 40 ms on the
  // host level, 70 -> 66 ms on AVX2; at H=256, whose Wx stays in its 2 MiB L2, 32 rows were
  // 1-2 % faster).
  int64_t projection_block_rows() const;
  // Whether Wx and Wh carry a float32 scale per gate row (int8, w8a8).
  bool has_weight_scales() const {
    return weights_precision == WeightsPrecision::Int8 || weights_precision == WeightsPrecision::W8A8;
  }
  // Whether the products' inputs are quantized per call too (w8a8: integer dot products).
  bool quantized_activations() const { return weights_precision == WeightsPrecision::W8A8; }
  // w8a8 stores each weight row's k in groups (one 32-bit lane of the target's integer dot
  // product sums a group: IntegerDot in schedules/SchedulePolicy.h, runtime/gru_pack.h), each row
  // zero-padded to a multiple of its group; the model's block has room for the largest group,
  // kMaxKGroup, on every target. Other precisions: K.
  static constexpr int64_t kMaxKGroup = 4;
  int64_t padded_k(int64_t K) const {
    return quantized_activations() ? (K + kMaxKGroup - 1) / kMaxKGroup * kMaxKGroup : K;
  }
  // Floats per matrix (3H rows) in the row-data array (wx_scale, wh_scale).
  int64_t weight_row_floats() const {
    return weight_row_floats_of(weights_precision, 3 * hidden_size);
  }
  int64_t directions() const { return direction == GruDirection::Bidirectional ? 2 : 1; }
  // Features of each output row: directions() * H.
  int64_t output_size() const { return directions() * hidden_size; }
  // Features layer `layer` reads: D for layer 0, output_size() above it.
  int64_t layer_input_size(int64_t layer) const { return layer == 0 ? input_size : output_size(); }
  // Layers above 0 get projection kernels of their own ("projection_deep",
  // "step_projection_deep") when their input size differs from D; the step kernel serves all.
  bool has_deep_kernels() const { return layers > 1 && output_size() != input_size; }
  // The library's kernels (the one list: code generation compiles them, the packager names
  // them), in the order code generation compiles them: "projection", "step_projection",
  // "step", then the deep projections, then the team's step projections
  // ("step_projection_team", "step_projection_deep_team": the same on one thread), then a team
  // step per team size ("step_team2", ...: the schedule plan's team_sizes, last, so that the
  // kernels before them keep their bytes), then the step in slices when the plan has them
  // ("step_slices<Q>", SchedulePlan::step_slices).
  std::vector<LibraryKernel> kernels(const std::vector<int64_t> &team_sizes = {},
                                     int64_t step_slices = 0) const;
  // Their suffixes, in that order.
  std::vector<std::string> kernel_suffixes(const std::vector<int64_t> &team_sizes = {},
                                           int64_t step_slices = 0) const;
  bool is_single_forward_layer() const {
    return layers == 1 && direction == GruDirection::Forward;
  }

  // Elements of the weights the model copies: per layer and direction Wx [3H][D_l],
  // Wh [3H][H], b [3H], bhn [H].
  int64_t weight_elements() const;
  // Where each layer instance's Wx and Wh start in those elements (GruWeights::values, the
  // order create_layers takes them: layer by layer, forward before backward), and its D_l.
  struct InstanceWeights {
    int64_t layer, direction, input_size;
    size_t wx, wh;  // offsets of Wx [3H][D_l] and Wh [3H][H]; b and bhn follow with bias
  };
  std::vector<InstanceWeights> weight_instances() const;
  // Where a created model keeps the arrays of one instance of layer `layer` (a "sub-model":
  // every layer has directions() of them): its part of the one host block that create obtains
  // from halide_malloc (the generated layer descriptor carries them to runtime/gru_runtime.c,
  // which carves it). Layers above 0 share one layout (their input size is output_size()).
  // Wx and Wh take weight_element_bytes() per element; wx_scale and wh_scale ([3H] float32
  // each, in one array [2][3H rounded up to kDeviceRowAlignFloats]) are empty but for int8.
  struct ModelLayout {
    int64_t Wx, Wh, wx_scale, wh_scale, b, bhn, x_tail, zeros, xp_step, h_step;  // byte offsets, 64-byte aligned
    int64_t bytes;  // the sub-model's part, its struct included
  };
  // weights_in_place: without room for Wx and Wh, which the kernels then read where they are
  // (weights embedded in the library already packed).
  ModelLayout model_layout(int64_t layer = 0, bool weights_in_place = false) const;
  // Bytes a created model holds from halide_malloc, NAME_MODEL_BYTES: the sub-models' parts, one
  // after another in layer-major order, forward before backward (weights_in_place:
  // NAME_MODEL_BYTES_DEFAULT of a library whose embedded weights are used in place).
  int64_t model_bytes(bool weights_in_place = false) const;
  // Bytes per timestep that `run` obtains on top of the projected input (NAME_RUN_SCRATCH_BYTES):
  // with several layers the activations between them, N x output_size() floats; with a backward
  // direction a reversed copy of a layer's input and of its states (for rows shorter than the
  // sequence), N x (widest layer input + H) floats. 0 for one forward layer.
  int64_t run_scratch_bytes_per_step() const;
  // Longest sequence one `run` call accepts: every buffer the kernels see must stay
  // addressable with 32-bit extents and strides (Halide's default addressing).
  int64_t max_seq_len() const;
};

// A kernel's symbol, <library>__[<variant>_]kernel_<suffix> (the library's internal namespace,
// which no other valid library name produces), and its files' base name,
// <library>_[<variant>_]kernel_<suffix>; `variant` names a portable target's feature level ("" for
// a target with one set of kernels), `suffix` is one of kernel_suffixes().
std::string kernel_symbol(const std::string &library, const std::string &variant,
                          const std::string &suffix);
std::string kernel_file(const std::string &library, const std::string &variant,
                        const std::string &suffix);
// The suffixes of the step kernels with a `slice` input (kernel_suffixes names them): a team's,
// "step_team<members>", and the step in slices, "step_slices<slices>".
std::string team_step_suffix(int64_t members);
std::string step_slices_suffix(int64_t slices);
// Whether `suffix` is one that kernel_suffixes gives for some spec and plan.
bool is_kernel_suffix(const std::string &suffix);

// Documented limits, checked before any code is generated so that an absurd spec is refused
// up front rather than by running out of memory halfway through compilation.
struct GruSpecLimits {
  static constexpr int64_t kMaxInputSize = 16384;
  static constexpr int64_t kMaxHiddenSize = 8192;
  static constexpr int64_t kMaxBatch = 4096;
  static constexpr int64_t kMaxLayers = 64;
  static constexpr int64_t kMaxWeightElements = int64_t(1) << 28;  // 1 GiB of fp32 weights
  static constexpr size_t kMaxNameLength = 64;
};

// Which part of the spec a validation error concerns, so front ends (flags, IR, weight files)
// can name the thing the user wrote.
enum class GruSpecField { Name, InputSize, HiddenSize, Batch, Layers, Weights, WeightsPrecision };

// How each front end names a field: the flag and the IR attribute, e.g. "--input-size" and
// "input_size" (one table in GruSpec.cpp, read by the driver and the gru-check-limits pass).
struct GruSpecFieldNames {
  const char *flag;
  const char *attribute;
};
const GruSpecFieldNames &names_of(GruSpecField field);

struct GruSpecError {
  GruSpecField field;
  std::string message;  // complete sentence fragment, e.g. "must be in [1, 8192], got 0"
};

// Checks every field and the derived sizes; returns the first problem found.
std::optional<GruSpecError> validate(const GruSpec &spec);

// A size as the flags write it: an optional '-', then decimal digits only, within int64 (no
// '+', no spaces, no other radix). nullopt when `text` is not one; range checks are validate's.
std::optional<int64_t> parse_size(std::string_view text);

// Why `name` cannot prefix a library's C symbols, or nullopt when it can: it must be
// [A-Za-z][A-Za-z0-9_]* of at most kMaxNameLength characters, not a C keyword, not in Halide's
// namespace or gru-gen's own (gru, gru_*, jsmn), without "__" and not ending in '_' (NAME__ is
// the library's internal namespace), not the name of a C standard or POSIX header (NAME.h would
// hide it; without case), and none of its symbols (NAME_create, ...) may be one a C library
// defines (ReservedNames.inc).
std::optional<std::string> check_library_name(const std::string &name);

}  // namespace grugen
