#include "spec/GruSpec.h"

#include <algorithm>
#include <array>
#include <climits>

namespace grugen {

int64_t GruSpec::weight_elements() const {
  const int64_t gates = 3 * hidden_size;
  int64_t elements = 0;
  for (int64_t layer = 0; layer < layers; ++layer)
    elements += directions() * (gates * layer_input_size(layer) + gates * hidden_size +
                                (has_bias ? gates + hidden_size : 0));
  return elements;
}

std::vector<GruSpec::InstanceWeights> GruSpec::weight_instances() const {
  const int64_t gates = 3 * hidden_size;
  std::vector<InstanceWeights> instances;
  size_t at = 0;
  for (int64_t layer = 0; layer < layers; ++layer)
    for (int64_t d = 0; d < directions(); ++d) {
      const int64_t D = layer_input_size(layer);
      instances.push_back({layer, d, D, at, at + size_t(gates * D)});
      at += size_t(gates * D + gates * hidden_size + (has_bias ? gates + hidden_size : 0));
    }
  return instances;
}

GruSpec::ModelLayout GruSpec::model_layout(int64_t layer, bool weights_in_place) const {
  const int64_t input_size = layer_input_size(layer);
  // The model struct, then each array 64-byte aligned for the kernels' vector loads: the weights
  // (Wx [3H][D], Wh [3H][H], b [3H], bhn [H]); the zero-padded tail block of a sequence
  // [rows][D]; the zero state [N][H] used when no initial state is given; for `step` one
  // projected input [N][3H] and one state [N][H].
  int64_t at = kModelStructBytes;
  auto carve_bytes = [&at](int64_t bytes) {
    const int64_t offset = at;
    at = (at + bytes + 63) / 64 * 64;
    return offset;
  };
  auto carve = [&](int64_t floats) { return carve_bytes(floats * int64_t(sizeof(float))); };
  const int64_t gates = 3 * hidden_size, element = weight_element_bytes();
  ModelLayout layout;
  layout.Wx = carve_bytes(weights_in_place ? 0 : gates * padded_k(input_size) * element);
  layout.Wh = carve_bytes(weights_in_place ? 0 : gates * padded_k(hidden_size) * element);
  // int8: the row scales of Wx, then of Wh, one array whose rows start kDeviceRowAlignFloats
  // apart (the runtime slices it per kernel, on GPU targets in device memory).
  const int64_t scale_row = !weights_in_place
                                ? (weight_row_floats() + kDeviceRowAlignFloats - 1) /
                                      kDeviceRowAlignFloats * kDeviceRowAlignFloats
                                : 0;
  layout.wx_scale = carve(2 * scale_row);
  layout.wh_scale = layout.wx_scale + scale_row * int64_t(sizeof(float));
  layout.b = carve(has_bias ? gates : 0);
  layout.bhn = carve(has_bias ? hidden_size : 0);
  layout.x_tail = carve(projection_block_rows() * input_size);
  layout.zeros = carve(batch * hidden_size);
  layout.xp_step = carve(batch * gates);
  layout.h_step = carve(batch * hidden_size);
  layout.bytes = at;
  return layout;
}

int64_t GruSpec::projection_block_rows() const {
  const int64_t widest = layers > 1 ? std::max(input_size, output_size()) : input_size;
  const int64_t wx_bytes = 3 * hidden_size * widest * weight_element_bytes();
  if (wx_bytes <= (int64_t(1) << 20)) return kProjectionBlockRows;
  // The model holds one block of x (the zero-padded tail): at most 256 KiB of it.
  int64_t rows = 4 * kProjectionBlockRows;
  while (rows > kProjectionBlockRows && rows * widest * int64_t(sizeof(float)) > (256 << 10))
    rows /= 2;
  return rows;
}

int64_t GruSpec::model_bytes(bool weights_in_place) const {
  return directions() * (model_layout(0, weights_in_place).bytes +
                         (layers - 1) * model_layout(1, weights_in_place).bytes);
}

int64_t GruSpec::weight_element_bytes() const {
  switch (weights_precision) {
    case WeightsPrecision::F32: return 4;
    case WeightsPrecision::F16:
    case WeightsPrecision::BF16: return 2;
    case WeightsPrecision::Int8:
    case WeightsPrecision::W8A8: return 1;
  }
  return 4;
}

namespace {
struct PrecisionName {
  WeightsPrecision precision;
  const char *name;
};
constexpr PrecisionName kPrecisionNames[] = {{WeightsPrecision::F32, "f32"},
                                             {WeightsPrecision::F16, "f16"},
                                             {WeightsPrecision::BF16, "bf16"},
                                             {WeightsPrecision::Int8, "int8"},
                                             {WeightsPrecision::W8A8, "w8a8"}};
}  // namespace

std::string ascii_lower(std::string s) {
  for (char &c : s) c = char(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

const char *direction_name(GruDirection direction) {
  return direction == GruDirection::Bidirectional ? "bidirectional"
         : direction == GruDirection::Reverse     ? "reverse"
                                                  : "forward";
}

std::string describe_stack(int64_t layers, GruDirection direction) {
  return std::to_string(layers) + " " + direction_name(direction) + " layer" +
         (layers == 1 ? "" : "s");
}

const char *precision_name(WeightsPrecision precision) {
  for (const PrecisionName &p : kPrecisionNames)
    if (p.precision == precision) return p.name;
  return "f32";
}

std::optional<WeightsPrecision> parse_precision(std::string_view name) {
  for (const PrecisionName &p : kPrecisionNames)
    if (name == p.name) return p.precision;
  return std::nullopt;
}

const char *precision_names() { return "f32, f16, bf16, int8 or w8a8"; }

const std::map<std::string, WeightsPrecision> &precisions_by_name() {
  static const std::map<std::string, WeightsPrecision> kByName = [] {
    std::map<std::string, WeightsPrecision> by_name;
    for (const PrecisionName &p : kPrecisionNames) by_name[p.name] = p.precision;
    return by_name;
  }();
  return kByName;
}

namespace {

// The kernels every library of some spec has, by suffix: the first three always, the deep
// projections with has_deep_kernels, the team's step projections with teams (the deep one with
// both). The team steps and the step in slices follow (team_step_suffix, step_slices_suffix).
constexpr const char *kFixedKernelSuffixes[] = {"projection",           "step_projection",
                                               "step",                 "projection_deep",
                                               "step_projection_deep", "step_projection_team",
                                               "step_projection_deep_team"};
constexpr const char *kTeamStepPrefix = "step_team", *kStepSlicesPrefix = "step_slices";

// The number after `prefix` in `text`, when `text` is `prefix` and a positive decimal number.
bool is_numbered(const std::string &text, const std::string &prefix) {
  if (text.compare(0, prefix.size(), prefix) != 0 || text.size() == prefix.size()) return false;
  const std::string digits = text.substr(prefix.size());
  return digits.find_first_not_of("0123456789") == std::string::npos && digits[0] != '0';
}

}  // namespace

std::vector<LibraryKernel> GruSpec::kernels(const std::vector<int64_t> &team_sizes,
                                            int64_t step_slices) const {
  const auto *fixed = kFixedKernelSuffixes;
  std::vector<LibraryKernel> kernels = {{fixed[0], KernelKind::Projection},
                                        {fixed[1], KernelKind::StepProjection},
                                        {fixed[2], KernelKind::Step}};
  if (has_deep_kernels()) {
    kernels.push_back({fixed[3], KernelKind::Projection, true});
    kernels.push_back({fixed[4], KernelKind::StepProjection, true});
  }
  if (!team_sizes.empty()) {
    kernels.push_back({fixed[5], KernelKind::StepProjection, false, 1});
    if (has_deep_kernels()) kernels.push_back({fixed[6], KernelKind::StepProjection, true, 1});
  }
  for (int64_t threads : team_sizes)
    kernels.push_back({team_step_suffix(threads), KernelKind::Step, false, threads});
  if (step_slices > 1)
    kernels.push_back({step_slices_suffix(step_slices), KernelKind::Step, false, step_slices});
  return kernels;
}

std::vector<std::string> GruSpec::kernel_suffixes(const std::vector<int64_t> &team_sizes,
                                                  int64_t step_slices) const {
  std::vector<std::string> suffixes;
  for (const LibraryKernel &k : kernels(team_sizes, step_slices)) suffixes.push_back(k.suffix);
  return suffixes;
}

std::string team_step_suffix(int64_t members) { return kTeamStepPrefix + std::to_string(members); }

std::string step_slices_suffix(int64_t slices) { return kStepSlicesPrefix + std::to_string(slices); }

bool is_kernel_suffix(const std::string &suffix) {
  for (const char *fixed : kFixedKernelSuffixes)
    if (suffix == fixed) return true;
  return is_numbered(suffix, kTeamStepPrefix) || is_numbered(suffix, kStepSlicesPrefix);
}

std::string kernel_symbol(const std::string &library, const std::string &variant,
                          const std::string &suffix) {
  return library + "__" + (variant.empty() ? "" : variant + "_") + "kernel_" + suffix;
}

std::string kernel_file(const std::string &library, const std::string &variant,
                        const std::string &suffix) {
  return library + "_" + (variant.empty() ? "" : variant + "_") + "kernel_" + suffix;
}

int64_t GruSpec::run_scratch_bytes_per_step() const {
  const int64_t activations = layers > 1 ? output_size() : 0;
  const int64_t reversal =
      direction == GruDirection::Forward ? 0
                                         : std::max(input_size, activations) + hidden_size;
  return batch * (activations + reversal) * int64_t(sizeof(float));
}

// Within the limits, one timestep of every kernel buffer is addressable with 32-bit extents,
// so max_seq_len() >= 1 for every valid spec.
static_assert(GruSpecLimits::kMaxBatch *
                      std::max(3 * GruSpecLimits::kMaxHiddenSize, GruSpecLimits::kMaxInputSize) <=
                  INT32_MAX,
              "limits must keep one timestep addressable");

int64_t GruSpec::max_seq_len() const {
  const int64_t widest_row = std::max({3 * hidden_size, input_size, output_size()});
  return int64_t(INT32_MAX) / (batch * widest_row);
}

namespace {

std::string range_message(int64_t lo, int64_t hi, int64_t got) {
  return "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
         std::to_string(got);
}

bool is_c_keyword(const std::string &s) {
  static const std::array<const char *, 44> kKeywords = {
      "auto",     "break",    "case",          "char",       "const",        "continue",
      "default",  "do",       "double",        "else",       "enum",         "extern",
      "float",    "for",      "goto",          "if",         "inline",       "int",
      "long",     "register", "restrict",      "return",     "short",        "signed",
      "sizeof",   "static",   "struct",        "switch",     "typedef",      "union",
      "unsigned", "void",     "volatile",      "while",      "bool",         "true",
      "false",    "alignas",  "alignof",       "nullptr",    "static_assert", "thread_local",
      "typeof",   "constexpr"};
  return std::find(kKeywords.begin(), kKeywords.end(), s) != kKeywords.end();
}

// Names whose symbols a C library already defines (glibc, musl, macOS libSystem), read from
// their symbol tables by tools/make_reserved_names.py.
struct ReservedName {
  const char *name;
  const char *symbol;     // the C library's symbol the library would define too
  const char *libraries;  // which C libraries define it
};
const ReservedName kReservedNames[] = {
#include "spec/ReservedNames.inc"
};

const ReservedName *find_reserved(const std::string &name) {
  for (const ReservedName &r : kReservedNames)
    if (name == r.name) return &r;
  return nullptr;
}

}  // namespace

std::optional<int64_t> parse_size(std::string_view text) {
  const bool negative = !text.empty() && text[0] == '-';
  if (negative) text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  uint64_t magnitude = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = uint64_t(c - '0');
    if (magnitude > (uint64_t(INT64_MAX) + 1 - digit) / 10) return std::nullopt;
    magnitude = magnitude * 10 + digit;
  }
  if (!negative && magnitude > uint64_t(INT64_MAX)) return std::nullopt;
  return negative ? int64_t(0 - magnitude) : int64_t(magnitude);
}

std::optional<std::string> check_library_name(const std::string &name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > GruSpecLimits::kMaxNameLength)
    return "must be at most " + std::to_string(GruSpecLimits::kMaxNameLength) + " characters";
  auto is_alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!is_alpha(name[0]))
    return "'" + name + "' is not a C identifier starting with a letter";
  for (char c : name)
    if (!is_alpha(c) && !is_digit(c) && c != '_')
      return "'" + name + "' is not a C identifier (letters, digits and '_' only)";
  if (is_c_keyword(name)) return "'" + name + "' is a C keyword";
  // Compared without case where a file is named after the library: NAME.h is the header an app
  // includes (from a directory on its include path, before the system's), and a macOS or
  // Windows file system does not tell Math.h from math.h.
  const std::string lower = ascii_lower(name);
  if (lower.rfind("halide", 0) == 0)
    return "'" + name + "' would clash with Halide's runtime symbols or headers (Halide*.h)";
  // gru and gru_* belong to gru-gen: the shared ABI types and codes every library's header
  // declares (gru_status, gru_options, GRU_OK), the runtime every library compiles into the same
  // translation unit as its ABI functions (gru_rt_*, gru_team_*, gru_pack_*, static) and its
  // files (gru_runtime.c, which <NAME>_runtime.c includes, gru_status.h, gru_team.h, ...): a
  // library named gru included itself, one named gru_rt defined gru_rt_create twice.
  if (lower == "gru" || lower.rfind("gru_", 0) == 0)
    return "'" + name + "' would clash with gru-gen's runtime and shared types (gru, gru_*)";
  if (lower == "jsmn")
    return "'" + name + "' would clash with the runtime's JSON parser (jsmn.h)";
  // NAME__ prefixes the library's internal symbols; no other name may produce that prefix.
  if (name.find("__") != std::string::npos)
    return "'" + name + "' contains '__', which separates a library's name from its internal symbols";
  if (name.back() == '_')
    return "'" + name + "' ends with '_': its symbols would start with '" + name +
           "_', the prefix of a library's internal symbols";
  if (const ReservedName *r = find_reserved(name))
    return "'" + name + "' would define " + r->symbol + ", which the C library defines (" +
           r->libraries + ")";
  // The C standard's and POSIX's headers: an app's #include <math.h> would get the library's.
  static const char *const kSystemHeaders[] = {
      "aio",       "assert",   "complex",  "cpio",     "ctype",     "dirent",    "dlfcn",
      "errno",     "fcntl",    "fenv",     "float",    "fmtmsg",    "fnmatch",   "ftw",
      "glob",      "grp",      "iconv",    "inttypes", "iso646",    "langinfo",  "libgen",
      "limits",    "locale",   "math",     "monetary", "mqueue",    "ndbm",      "netdb",
      "nl_types",  "poll",     "pthread",  "pwd",      "regex",     "sched",     "search",
      "semaphore", "setjmp",   "signal",   "spawn",    "stdalign",  "stdarg",    "stdatomic",
      "stdbit",    "stdbool",  "stdckdint", "stddef",  "stdint",    "stdio",     "stdlib",
      "stdnoreturn", "string", "strings",  "stropts",  "syslog",    "tar",       "termios",
      "tgmath",    "threads",  "time",     "trace",    "uchar",     "ulimit",    "unistd",
      "utime",     "utmpx",    "wchar",    "wctype",   "wordexp"};
  for (const char *header : kSystemHeaders)
    if (lower == header)
      return "'" + name + "' would name its header " + name + ".h, which would hide the system's <" +
             header + ".h> from an app that includes both";
  return std::nullopt;
}

const GruSpecFieldNames &names_of(GruSpecField field) {
  static const GruSpecFieldNames kNames[] = {
      /* Name */ {"--name", "library name"},
      /* InputSize */ {"--input-size", "input_size"},
      /* HiddenSize */ {"--hidden-size", "hidden_size"},
      /* Batch */ {"--batch", "batch"},
      /* Layers */ {"--layers", "layers"},
      /* Weights */ {"--input-size/--hidden-size", "input_size/hidden_size"},
      /* WeightsPrecision */ {"--weights-precision", "weights_precision"},
  };
  static_assert(std::size(kNames) == size_t(GruSpecField::WeightsPrecision) + 1,
                "one row per field");
  return kNames[size_t(field)];
}

std::optional<GruSpecError> validate(const GruSpec &spec) {
  if (auto why = check_library_name(spec.name)) return GruSpecError{GruSpecField::Name, *why};
  if (spec.input_size < 1 || spec.input_size > GruSpecLimits::kMaxInputSize)
    return GruSpecError{GruSpecField::InputSize,
                        range_message(1, GruSpecLimits::kMaxInputSize, spec.input_size)};
  if (spec.hidden_size < 1 || spec.hidden_size > GruSpecLimits::kMaxHiddenSize)
    return GruSpecError{GruSpecField::HiddenSize,
                        range_message(1, GruSpecLimits::kMaxHiddenSize, spec.hidden_size)};
  if (spec.batch < 1 || spec.batch > GruSpecLimits::kMaxBatch)
    return GruSpecError{GruSpecField::Batch, range_message(1, GruSpecLimits::kMaxBatch, spec.batch)};
  if (spec.layers < 1 || spec.layers > GruSpecLimits::kMaxLayers)
    return GruSpecError{GruSpecField::Layers,
                        range_message(1, GruSpecLimits::kMaxLayers, spec.layers)};
  if (spec.weight_elements() > GruSpecLimits::kMaxWeightElements)
    return GruSpecError{GruSpecField::Weights,
                        std::string(spec.is_single_forward_layer() ? "3H*(D+H)"
                                                                   : "the layers' 3H*(D_l+H)") +
                            (spec.has_bias ? "+4H" : "") + " weight elements = " + std::to_string(spec.weight_elements()) +
                            " exceed the limit of " +
                            std::to_string(GruSpecLimits::kMaxWeightElements)};
  if (spec.quantized_activations() && !spec.reset_after)
    return GruSpecError{GruSpecField::WeightsPrecision,
                        std::string(precision_name(spec.weights_precision)) +
                            " takes the reset-after variant only (the reset-before product's "
                            "input r*h is not quantized)"};
  return std::nullopt;
}

}  // namespace grugen
