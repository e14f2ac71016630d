#include "package/LibraryPackager.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <regex>

#include "llvm/ADT/StringRef.h"
#include "llvm/Object/ArchiveWriter.h"
#include "llvm/Support/Error.h"
#include "package/AppleLibraries.h"
#include "support/Embedded.h"
#include "support/Error.h"
#include "support/Files.h"
#include "support/Progress.h"
#include "support/Subprocess.h"
#include "weights/WeightPacking.h"

namespace grugen {
namespace fs = std::filesystem;

namespace {

std::string_view embedded(std::string_view name) {
  auto text = embedded_file(name);
  if (!text) throw GruGenError("internal: '" + std::string(name) + "' is not built into gru-gen");
  return *text;
}

std::string upper(std::string s) {
  for (char &c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

using TemplateValues = std::map<std::string, std::string>;

int64_t padded_for_device(int64_t floats) {
  return (floats + kDeviceRowAlignFloats - 1) / kDeviceRowAlignFloats * kDeviceRowAlignFloats;
}

// What the header template (templates/gru_library.h.in) says about the library.
TemplateValues header_values(const GruSpec &spec, const GruWeights *weights) {
  // gru_status, as runtime/gru_status.h defines it for the runtime (its opening comment aside).
  std::string_view status = embedded("gru_status.h");
  status.remove_prefix(status.find("*/\n") + 3);
  return {
      {"EMBEDDED_WEIGHTS", weights ? "1" : "0"},
      {"SPEC_SYMBOL", spec_symbol(spec, weights)},
      {"NAME", spec.name},
      {"NAME_UPPER", upper(spec.name)},
      {"INPUT_SIZE", std::to_string(spec.input_size)},
      {"HIDDEN_SIZE", std::to_string(spec.hidden_size)},
      {"BATCH", std::to_string(spec.batch)},
      {"HAS_BIAS", spec.has_bias ? "1" : "0"},
      {"BIAS_WORD", spec.has_bias ? "on" : "off"},
      {"RESET_AFTER", spec.reset_after ? "1" : "0"},
      {"WEIGHTS_PRECISION", precision_name(spec.weights_precision)},
      {"FUNCTION_OF", spec.reset_after ? "the function of mlx.nn.GRU (current MLX)"
                                       : "ONNX's GRU with linear_before_reset=0"},
      {"RESET_WORD", spec.reset_after ? "after" : "before"},
      {"N_GATE", spec.reset_after ? "n = tanh(xp_n + r * (hp_n + bhn))"
                                  : "n = tanh(xp_n + (r * h) Wh_n^T + bhn)"},
      {"MAX_SEQ_LEN", std::to_string(spec.max_seq_len())},
      {"LAYERS", std::to_string(spec.layers)},
      {"DIRECTIONS", std::to_string(spec.directions())},
      {"OUTPUT_SIZE", std::to_string(spec.output_size())},
      {"STATES", std::to_string(spec.layers * spec.directions())},
      {"DIRECTION_WORD", direction_name(spec.direction)},
      {"STEP_BYTES", std::to_string(spec.run_scratch_bytes_per_step())},
      {"SUBMODEL_FETCHES", std::to_string(spec.layers * spec.directions())},
      {"MODEL_BYTES", std::to_string(spec.model_bytes())},
      // Reduced-precision weights are embedded as float32 and converted into a full block.
      {"MODEL_BYTES_DEFAULT", std::to_string(spec.model_bytes(
                                  spec.weights_precision == WeightsPrecision::F32))},
      {"PROJECTION_ROWS", std::to_string(spec.projection_block_rows())},
      {"GATES", std::to_string(3 * spec.hidden_size)},
      {"DEVICE_ROW_ALIGN", std::to_string(kDeviceRowAlignFloats)},
      {"DEVICE_GATES", std::to_string(padded_for_device(3 * spec.hidden_size))},
      {"DEVICE_HIDDEN", std::to_string(padded_for_device(spec.hidden_size))},
      {"STATUS_TYPE", std::string(status)},
  };
}

// Fills a template (@KEY@ placeholders, whole tokens only) with `values`.
std::string render_template(std::string_view template_name, const TemplateValues &values) {
  const std::string text(embedded(template_name));
  static const std::regex placeholder("@([A-Z_]+)@");
  std::string result;
  auto last = text.cbegin();
  for (std::sregex_iterator it(text.begin(), text.end(), placeholder), end; it != end; ++it) {
    auto value = values.find((*it)[1].str());
    if (value == values.end())
      throw GruGenError("internal: " + std::string(template_name) + " has unknown placeholder " +
                        it->str());
    result.append(last, (*it)[0].first);
    result += value->second;
    last = (*it)[0].second;
  }
  result.append(last, text.cend());
  return result;
}

// The ABI v1 functions of a library <name>: each <name>_<suffix> is a call into the fixed
// runtime. One table for the wrappers runtime_source writes and the names a shared library
// exports (abi_functions); "@" stands for the library's name.
struct AbiFunction {
  const char *suffix, *result, *params, *call;
  bool embedded_only;  // only in libraries with --embed-weights
};
const AbiFunction kAbiFunctions[] = {
    {"abi_version", "uint32_t", "void", "gru_rt_abi_version()", false},
    {"last_error", "const char *", "void", "gru_rt_last_error()", false},
    {"status_string", "const char *", "gru_status s", "gru_rt_status_string(s)", false},
    {"create", "gru_status",
     "const float *Wx, const float *Wh, const float *b, const float *bhn, @_model **out",
     "gru_rt_create(&@__descriptor, Wx, Wh, b, bhn, out)", false},
    {"create_from_safetensors", "gru_status",
     "const char *path, const char *prefix, @_model **out",
     "gru_rt_create_from_safetensors(&@__descriptor, path, prefix, out)", false},
    {"create_default", "gru_status", "@_model **out", "gru_rt_create_default(&@__descriptor, out)",
     true},
    {"create_layers", "gru_status", "const gru_layer_weights *w, int32_t count, @_model **out",
     "gru_rt_create_layers(&@__descriptor, w, count, out)", false},
    {"create_with_options", "gru_status",
     "const float *Wx, const float *Wh, const float *b, const float *bhn, "
     "const gru_options *options, @_model **out",
     "gru_rt_create_with_options(&@__descriptor, Wx, Wh, b, bhn, options, out)", false},
    {"create_layers_with_options", "gru_status",
     "const gru_layer_weights *w, int32_t count, const gru_options *options, @_model **out",
     "gru_rt_create_layers_with_options(&@__descriptor, w, count, options, out)", false},
    {"create_from_safetensors_with_options", "gru_status",
     "const char *path, const char *prefix, const gru_options *options, @_model **out",
     "gru_rt_create_from_safetensors_with_options(&@__descriptor, path, prefix, options, out)",
     false},
    {"create_default_with_options", "gru_status", "const gru_options *options, @_model **out",
     "gru_rt_create_default_with_options(&@__descriptor, options, out)", true},
    {"threads", "int32_t", "const @_model *m", "gru_rt_threads(m)", false},
    {"run", "gru_status",
     "@_model *m, const float *x, int32_t seq_len, const float *h0, float *out",
     "gru_rt_run(m, x, seq_len, h0, out)", false},
    {"run_ex", "gru_status",
     "@_model *m, const float *x, int32_t seq_len, const int32_t *lengths, const float *h0, "
     "float *out, float *h_n",
     "gru_rt_run_ex(m, x, seq_len, lengths, h0, out, h_n)", false},
    {"step", "gru_status", "@_model *m, const float *x_t, float *h", "gru_rt_step(m, x_t, h)",
     false},
    {"destroy", "void", "@_model *m", "gru_rt_destroy(m)", false},
};

// `text` with every "@" replaced by the library's name.
std::string substitute(const std::string &text, const std::string &name) {
  std::string out;
  for (char ch : text) out += ch == '@' ? name : std::string(1, ch);
  return out;
}

// The library's descriptors (runtime/gru_runtime_internal.h) for `policy`'s target and its ABI
// functions, each a call into the fixed runtime: <name>_runtime.c, the one translation unit of
// the library's runtime. Every target-dependent fact the runtime reads comes from the policy
// (schedules/SchedulePolicy.cpp decides them once): the row alignment, the device interface and
// the CPU features checked at create; and from the schedule plan: the weights' panels
// (schedules/SchedulePlan.h), which the runtime packs at create. A portable target has a model
// descriptor per kernel variant (kernel_variants, plans[i] for the i-th), chained best first
// through `fallback`; <name>__descriptor is the first.
std::string runtime_source(const GruSpec &spec, const GruWeights *embedded,
                           const TargetPolicy &policy, const std::vector<SchedulePlan> &plans) {
  const std::string &n = spec.name;
  const std::string &device_interface = policy.device_interface;
  const std::vector<TargetPolicy> variants = kernel_variants(policy);
  if (variants.size() != plans.size())
    throw GruGenError("internal: a schedule plan per kernel variant is needed");
  const auto num = [](int64_t v) { return std::to_string(v); };
  // The kernels' member of the descriptor's unions: with int8 weights, those taking scales.
  const std::string bias = std::string(spec.has_bias ? "bias" : "no_bias") +
                           (spec.has_weight_scales() ? "_scaled" : "");
  // runtime/gru_pack.h's GRU_PRECISION_<NAME>, named after the precision.
  const std::string precision_enum = "GRU_PRECISION_" + upper(precision_name(spec.weights_precision));
  const bool deep_kernels = spec.has_deep_kernels();
  // A variant's own symbols: <name>__<what>, or <name>__<variant>_<what>.
  const auto sym = [&](const std::string &variant, const std::string &what) {
    return n + "__" + (variant.empty() ? "" : variant + "_") + what;
  };

  std::string c =
      "/* " + n + "_runtime.c: the runtime of gru-gen library " + n + " for target " +
      policy.name + ". Generated; do not edit.\n"
      " * The fixed runtime (gru_runtime.c, all static), this library's descriptors and its\n"
      " * ABI functions, each a call into the runtime. */\n"
      "#define GRU_RT_MODEL " + n + "_model\n"
      "#include \"gru_runtime.c\"\n"
      "#include \"" + n + ".h\"\n";
  for (size_t i = 0; i < variants.size(); ++i)
    for (const std::string &kernel :
         spec.kernel_suffixes(plans[i].team_sizes, plans[i].step_slices))
      c += "#include \"" + kernel_file(n, variants[i].variant, kernel) + ".h\"\n";
  c += "\n_Static_assert(sizeof(gru_rt_model) <= " + num(kModelStructBytes) +
      ", \"the model struct outgrows the room gru-gen's layout gives it (kModelStructBytes)\");\n\n"
      "/* The spec this runtime implements: " + n + ".h references it (an app that links a header\n"
      " * of another spec against this library fails to link, naming the spec it expected). */\n"
      "const char " + spec_symbol(spec, embedded) + " = 1;\n\n";
  if (!device_interface.empty())
    c += "extern const struct halide_device_interface_t *" + device_interface +
         "(void);\n";
  if (embedded) c += "extern const float " + n + "__embedded_weights[];\n";
  const char *direction = spec.direction == GruDirection::Bidirectional ? "GRU_RT_BIDIRECTIONAL"
                          : spec.direction == GruDirection::Reverse     ? "GRU_RT_REVERSE"
                                                                        : "GRU_RT_FORWARD";
  // The least demanding variant first, so that each one's fallback is defined before it.
  std::string fallback = "NULL";
  for (size_t i = variants.size(); i-- > 0;) {
    const TargetPolicy &v = variants[i];
    const SchedulePlan &plan = plans[i];
    const WeightStorage storage = weight_storage(v, spec);
    const Halide::Type weight_type = storage.type;
    // The features of the variant's Halide target as halide_can_use_target_features takes them
    // (one bit per Halide::Target::Feature, in 64-bit words), and each set one by name.
    const Halide::Target &target = v.halide_target;
    // The k group the variant's kernels read (WeightStorage), which create packs.
    const int64_t k_group = storage.k_group;
    std::vector<uint64_t> words((Halide::Target::FeatureEnd + 63) / 64, 0);
    std::string names;
    for (int f = 0; f < Halide::Target::FeatureEnd; ++f) {
      const auto feature = static_cast<Halide::Target::Feature>(f);
      if (!target.has_feature(feature)) continue;
      words[f / 64] |= uint64_t(1) << (f % 64);
      names += "{" + std::to_string(f) + ", \"" + Halide::Target::feature_to_name(feature) + "\"}, ";
    }
    std::string features;
    for (uint64_t w : words) {
      char text[32];
      std::snprintf(text, sizeof text, "0x%016llxULL", static_cast<unsigned long long>(w));
      features += (features.empty() ? "" : ", ") + std::string(text);
    }
    c += "\nstatic const uint64_t " + sym(v.variant, "target_features") + "[] = {" + features +
         "};\n"
         "static const gru_rt_feature " + sym(v.variant, "target_feature_names") + "[] = {" +
         names + "{-1, \"\"}};\n\n";
    // One layer descriptor per input size: layer 0's (D), and with several layers theirs
    // (output_size(); their own projection kernels when that differs from D).
    const auto layout_text = [&](const GruSpec::ModelLayout &layout) {
      return "{.Wx = " + num(layout.Wx) + ", .Wh = " + num(layout.Wh) + ", .wx_scale = " +
             num(layout.wx_scale) + ", .wh_scale = " + num(layout.wh_scale) + ", .b = " +
             num(layout.b) + ", .bhn = " + num(layout.bhn) + ", .x_tail = " +
             num(layout.x_tail) + ",\n               .zeros = " + num(layout.zeros) +
             ", .xp_step = " + num(layout.xp_step) + ", .h_step = " + num(layout.h_step) +
             ", .bytes = " + num(layout.bytes) + "}";
    };
    const auto layer_descriptor = [&](const std::string &symbol, int64_t layer) {
      const std::string deep = layer > 0 && deep_kernels ? "_deep" : "";
      return "static const gru_layer_descriptor " + symbol + " = {\n"
         "    .version = GRU_LAYER_DESCRIPTOR_VERSION,\n"
         "    .input_size = " + num(spec.layer_input_size(layer)) + ",\n"
         "    .hidden_size = " + num(spec.hidden_size) + ",\n"
         "    .batch = " + num(spec.batch) + ",\n"
         "    .has_bias = " + (spec.has_bias ? "1" : "0") + ",\n" +
         (spec.reset_after ? "" : "    .reset_before = 1,\n") +
         "    .max_seq_len = " + num(spec.max_seq_len()) + ",\n"
         "    .block_rows = " + num(spec.projection_block_rows()) + ",\n"
         "    .wx_panel = " + num(plan.panels.wx) + ",\n"
         "    .wh_panel = " + num(plan.panels.wh) + ",\n"
         "    .xp_panel = " + num(plan.panels.xp) + ",\n"
         "    .weights_precision = " + precision_enum + ",\n"
         "    .weight_type_code = " + num(int64_t(weight_type.code())) + ",\n"
         "    .weight_type_bits = " + num(weight_type.bits()) + ",\n"
         "    .k_group = " + num(k_group) + ",\n"
         "    .row_align_floats = " + num(v.row_align_floats) + ",\n"
         "    .layout = " + layout_text(spec.model_layout(layer)) + ",\n"
         "    .layout_in_place = " + layout_text(spec.model_layout(layer, true)) + ",\n"
         "    .device_interface = " + (device_interface.empty() ? "NULL" : device_interface) + ",\n"
         "    .projection = {." + bias + " = " + kernel_symbol(n, v.variant, "projection" + deep) + "},\n"
         "    .step_projection = {." + bias + " = " + kernel_symbol(n, v.variant, "step_projection" + deep) + "},\n"
         "    .step = {." + bias + " = " + kernel_symbol(n, v.variant, "step") + "},\n"
         "    .target_feature_words = " + num(int64_t(words.size())) + ",\n"
         "    .target_features = " + sym(v.variant, "target_features") + ",\n"
         "    .target_feature_names = " + sym(v.variant, "target_feature_names") + ",\n"
         "    .halide_target = \"" + target.to_string() + "\",\n"
         "};\n\n";
    };
    c += layer_descriptor(sym(v.variant, "layer0"), 0);
    if (spec.layers > 1) c += layer_descriptor(sym(v.variant, "layers"), 1);
    const std::string descriptor = i == 0 ? n + "__descriptor" : sym(v.variant, "descriptor");
    // The team steps (SchedulePlan::team_sizes), one per team size.
    std::string team_sizes, team_steps;
    for (int64_t threads : plan.team_sizes) {
      team_sizes += num(threads) + ", ";
      team_steps += "{." + std::string(bias) + " = " +
                    kernel_symbol(n, v.variant, team_step_suffix(threads)) + "}, ";
    }
    if (!plan.team_sizes.empty())
      c += "static const int32_t " + sym(v.variant, "team_sizes") + "[] = {" + team_sizes +
           "};\n"
           "static const gru_rt_team_step_kernel " + sym(v.variant, "team_steps") + "[] = {" +
           team_steps + "};\n";
    c += "static const gru_model_descriptor " + descriptor + " = {\n"
         "    .version = GRU_MODEL_DESCRIPTOR_VERSION,\n"
         "    .layers = " + num(spec.layers) + ",\n"
         "    .directions = " + num(spec.directions()) + ",\n"
         "    .direction = " + direction + ",\n"
         "    .first = &" + sym(v.variant, "layer0") + ",\n"
         "    .deep = " + (spec.layers > 1 ? "&" + sym(v.variant, "layers") : std::string("NULL")) + ",\n"
         "    .bytes = " + num(spec.model_bytes()) + ",\n"
         "    .embedded_weights = " + (embedded ? n + "__embedded_weights" : std::string("NULL")) +
         ",\n"
         "    .embedded_packed = " + (embedded && embeds_packed_weights(spec, policy, plans) ? "1" : "0") + ",\n"
         "    .bytes_in_place = " + num(spec.model_bytes(true)) + ",\n" +
         (plan.team_sizes.empty()
              ? std::string()
              : "    .team_count = " + num(int64_t(plan.team_sizes.size())) + ",\n"
                "    .team_sizes = " + sym(v.variant, "team_sizes") + ",\n"
                "    .team_steps = " + sym(v.variant, "team_steps") + ",\n"
                "    .team_step_projection = {{." + bias + " = " +
                kernel_symbol(n, v.variant, "step_projection_team") + "}, {." + bias + " = " +
                kernel_symbol(n, v.variant, deep_kernels ? "step_projection_deep_team"
                                                         : "step_projection_team") + "}},\n") +
         (plan.step_slices > 1
              ? "    .step_slices = " + num(plan.step_slices) + ",\n"
                "    .slice_threads_max = " + num(plan.slice_threads_max) + ",\n"
                "    .slice_step = {." + bias + " = " +
                kernel_symbol(n, v.variant, step_slices_suffix(plan.step_slices)) + "},\n"
              : std::string()) +
         "    .fallback = " + fallback + ",\n};\n";
    fallback = "&" + descriptor;
  }
  c += "\n/* The Halide target of the kernels model m runs (tests of portable libraries). */\n"
       "const char *" + n + "__variant(const " + n + "_model *m) { return gru_rt_variant(m); }\n\n"
       "/* The ABI (" + n + ".h). */\n";
  for (const AbiFunction &f : kAbiFunctions)
    if (embedded || !f.embedded_only)
      c += substitute(std::string(f.result) + " @_" + f.suffix + "(" + f.params + ") {\n  " +
                          (std::string(f.result) == "void" ? "" : "return ") + f.call + ";\n}\n",
                      n);
  return c;
}

}  // namespace

std::string spec_symbol(const GruSpec &spec, const GruWeights *embedded) {
  return spec.name + "__spec_d" + std::to_string(spec.input_size) + "_h" +
         std::to_string(spec.hidden_size) + "_n" + std::to_string(spec.batch) +
         (spec.has_bias ? "_bias" : "_nobias") + (spec.reset_after ? "" : "_rb") +
         (spec.weights_precision == WeightsPrecision::F32
              ? std::string()
              : std::string("_") + precision_name(spec.weights_precision)) +
         (spec.layers > 1 ? "_l" + std::to_string(spec.layers) : std::string()) +
         (spec.direction == GruDirection::Bidirectional ? "_bi"
          : spec.direction == GruDirection::Reverse     ? "_rev"
                                                        : "") +
         (embedded ? "_w1" : "_w0");
}

std::string spec_stamp(const GruSpec &spec, const GruWeights *embedded) {
  // The spec symbol names the shape; embedded weights are told apart by their bytes (FNV-1a).
  std::string stamp = "gru-gen " GRUGEN_VERSION " " + spec_symbol(spec, embedded);
  if (embedded) {
    uint64_t hash = 14695981039346656037ull;
    const auto *bytes = reinterpret_cast<const unsigned char *>(embedded->values.data());
    for (size_t i = 0; i < embedded->values.size() * sizeof(float); ++i)
      hash = (hash ^ bytes[i]) * 1099511628211ull;
    char text[48];
    std::snprintf(text, sizeof text, " weights-fnv1a64=%016llx", static_cast<unsigned long long>(hash));
    stamp += text;
  }
  return stamp + "\n";
}

std::vector<fs::path> library_files(const std::string &name, const fs::path &target_dir) {
  // The directory's target says which kernel variants (and device source) its files name; a
  // directory no target is named after has the files of a target with one set of kernels.
  std::vector<std::string> variants = {""};
  std::string device_extension;
  std::string why;
  if (const std::optional<TargetPolicy> policy =
          lookup_target(target_dir.filename().string(), why)) {
    for (const TargetPolicy &variant : kernel_variants(*policy))
      if (!variant.variant.empty()) variants.push_back(variant.variant);
    device_extension = policy->device_source_extension;
  }
  std::vector<fs::path> files;
  std::error_code ec;
  for (const fs::directory_entry &entry : fs::directory_iterator(target_dir, ec))
    if (!entry.is_directory(ec) &&
        library_file_in(name, variants, device_extension, entry.path().filename().string()))
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<fs::path> stale_library_files(const std::string &name, const std::string &stamp,
                                          const fs::path &dir, const fs::path &staging,
                                          const std::vector<std::string> &built) {
  std::vector<fs::path> stale;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return stale;
  for (const fs::directory_entry &entry : fs::directory_iterator(dir, ec)) {
    // Staging directories (.gru-gen-*) hold no library files at their top.
    if (!entry.is_directory(ec) || entry.path().filename().string().rfind(".gru-gen-", 0) == 0)
      continue;
    const std::vector<fs::path> files = library_files(name, entry.path());
    if (files.empty()) continue;
    if (read_text(entry.path() / target_file(name, TargetFile::SpecStamp)) == stamp)
      continue;  // the same spec, from an earlier run: it stays
    stale.insert(stale.end(), files.begin(), files.end());
  }
  for (const std::string &target : built)
    for (const fs::path &old : library_files(name, dir / target))
      if (!fs::exists(staging / target / old.filename(), ec) &&
          std::find(stale.begin(), stale.end(), old) == stale.end())
        stale.push_back(old);
  return stale;
}

void write_header(const GruSpec &spec, const GruWeights *weights, const fs::path &dir) {
  write_file(dir / (spec.name + ".h"),
             render_template("gru_library.h.in", header_values(spec, weights)));
}

namespace {

// GRU_GEN_RUNTIME_CFLAGS: extra flags for the host's compiler ($CC) only, e.g. sanitizers
// for the tests (docs/RELIABILITY.md); cross compilers never see them. Appended to argv.
void add_runtime_cflags(const TargetPolicy &policy, std::vector<std::string> &argv) {
  if (const char *extra = std::getenv("GRU_GEN_RUNTIME_CFLAGS");
      extra && policy.c_compiler_variable == "CC")
    for (llvm::StringRef rest = extra; !rest.trim().empty();) {
      auto [flag, tail] = rest.ltrim().split(' ');
      if (!flag.empty()) argv.push_back(flag.str());
      rest = tail;
    }
}

// Compiles (or assembles) `source` in `dir` with the target's C compiler; returns the object.
fs::path compile_c(const TargetPolicy &policy, const fs::path &dir, const std::string &source,
                   const std::string &what) {
  const std::string object = fs::path(source).stem().string() + ".o";
  progress(policy.name + ": compiling the " + what + " with " +
           fs::path(policy.c_compiler[0]).filename().string());
  // Relative paths in `dir` keep absolute temporary paths out of the object (reproducibility).
  std::vector<std::string> argv = policy.c_compiler;
  for (const char *flag : {"-std=c11", "-O2", "-fPIC", "-fno-common", "-Wall", "-I."})
    argv.push_back(flag);
  add_runtime_cflags(policy, argv);
  for (const std::string &arg : {std::string("-c"), source, std::string("-o"), object})
    argv.push_back(arg);
  run_c_compiler(policy, dir, argv, what);
  return dir / object;
}

}  // namespace

// Runs the target's C compiler (argv) in `dir` on `what`; a failure throws GruGenError naming
// the first line of its output that says "error".
void run_c_compiler(const TargetPolicy &policy, const fs::path &dir,
                    const std::vector<std::string> &argv, const std::string &what) {
  const SubprocessResult r = run_subprocess(argv, dir);
  if (!r.started)
    throw GruGenError("cannot run the C compiler '" + argv[0] + "' for target '" + policy.name +
                      "' (set " + policy.c_compiler_variable + " to choose another)");
  if (r.exit_code != 0) {
    // The first diagnostic that says "error" is the one to show; the rest is context.
    std::string first_line = r.output.substr(0, r.output.find('\n'));
    if (first_line.empty()) first_line = "exited with status " + std::to_string(r.exit_code);
    for (size_t at = 0; at < r.output.size();) {
      const size_t end = std::min(r.output.find('\n', at), r.output.size());
      if (r.output.substr(at, end - at).find("error") != std::string::npos) {
        first_line = r.output.substr(at, end - at);
        break;
      }
      at = end + 1;
    }
    throw GruGenError("the C compiler '" + argv[0] + "' failed on the " + what + " for target '" +
                      policy.name + "': " + first_line);
  }
}


std::vector<std::string> abi_functions(const GruSpec &spec, const GruWeights *embedded) {
  std::vector<std::string> names;
  for (const AbiFunction &f : kAbiFunctions)
    if (embedded || !f.embedded_only) names.push_back(spec.name + "_" + f.suffix);
  return names;
}

std::string shared_library_refusal(const TargetPolicy &policy) {
  if (policy.shared_library) return "";
  return "--shared is not supported for target '" + policy.name +
         "': shared libraries are built for Linux targets and arm64-macos only";
}

std::string shared_library_soname(const GruSpec &spec) {
  return target_file(spec.name, TargetFile::Soname);
}

void write_shared_library(const GruSpec &spec, const GruWeights *embedded,
                          const TargetPolicy &policy, const std::vector<fs::path> &members,
                          const fs::path &work, const fs::path &target_dir) {
  if (const std::string why = shared_library_refusal(policy); !why.empty()) throw GruGenError(why);
  if (policy.archive == ArchiveFormat::Darwin)  // Mach-O: package/AppleLibraries
    return write_dylib(spec, embedded, policy, members, work, target_dir);
  // The version script exports the ABI and the spec symbol (a const char the header's
  // <name>__spec_check references, so an app's link still names a mismatched spec); everything
  // else, Halide's runtime and the <name>__* internals, is local.
  const std::string script = spec.name + ".map";
  std::string text = "/* " + shared_library_soname(spec) + ", generated by gru-gen. */\n{\n  global:\n";
  for (const std::string &f : abi_functions(spec, embedded)) text += "    " + f + ";\n";
  text += "    " + spec_symbol(spec, embedded) + ";\n  local:\n    *;\n};\n";
  write_file(work / script, text);
  const std::string library = target_file(spec.name, TargetFile::SharedObject);
  progress(policy.name + ": linking " + library + " with " +
           fs::path(policy.c_compiler[0]).filename().string());
  // The runtime's extra flags (sanitizers) link too. No -z defs: a sanitized runtime leaves the
  // sanitizer's symbols to the executable; an app's link reports any other undefined symbol.
  std::vector<std::string> argv = policy.c_compiler;
  add_runtime_cflags(policy, argv);
  for (const std::string &arg :
       {std::string("-shared"), "-Wl,-soname," + shared_library_soname(spec),
        "-Wl,--version-script=" + script, std::string("-o"), library})
    argv.push_back(arg);
  // Members by file name, relative to `work` (no temporary paths in the link).
  for (const fs::path &member : members)
    argv.push_back(member.parent_path() == work ? member.filename().string() : member.string());
  for (const std::string &flag : policy.link_libraries) argv.push_back(flag);
  run_c_compiler(policy, work, argv, library);
  std::error_code ec;
  fs::rename(work / library, target_dir / library, ec);
  if (ec) throw GruGenError("cannot write '" + (target_dir / library).string() + "': " + ec.message());
  // The dynamic loader looks for the SONAME: lib<name>.so.1 -> lib<name>.so.
  fs::create_symlink(library, target_dir / shared_library_soname(spec), ec);
  if (ec)
    throw GruGenError("cannot write '" + (target_dir / shared_library_soname(spec)).string() +
                      "': " + ec.message());
}

fs::path compile_runtime(const GruSpec &spec, const GruWeights *weights, const TargetPolicy &policy,
                         const std::vector<SchedulePlan> &plans,
                         const fs::path &dir) {
  for (const char *file : {"HalideRuntime.h", "gru_safetensors.h", "jsmn.h", "gru_runtime.c",
                           "gru_runtime_internal.h", "gru_status.h", "gru_pack.h", "gru_team.h"})
    write_file(dir / file, embedded(file));
  write_header(spec, weights, dir);
  const std::string source = spec.name + "_runtime.c";
  write_file(dir / source, runtime_source(spec, weights, policy, plans));
  return compile_c(policy, dir, source, "runtime");
}

bool embeds_packed_weights(const GruSpec &spec, const TargetPolicy &policy,
                           const std::vector<SchedulePlan> &plans) {
  if (!policy.packed_weights || spec.weights_precision != WeightsPrecision::F32 || plans.empty())
    return false;
  // One packed copy serves every kernel variant only if they all read the same panels (the
  // variant create picks is the CPU's, so each must find its layout in the embedded bytes).
  return std::all_of(plans.begin(), plans.end(), [&](const SchedulePlan &plan) {
    return plan.panels == plans.front().panels;
  });
}

fs::path assemble_embedded_weights(const GruSpec &spec, const GruWeights &weights,
                                   const TargetPolicy &policy, const std::vector<SchedulePlan> &plans,
                                   const fs::path &dir) {
  const std::string blob = spec.name + "_weights.bin", source = spec.name + "_weights.S";
  std::vector<float> values = weights.values;
  if (embeds_packed_weights(spec, policy, plans)) {
    // Each layer instance: Wx [3H][D_l] and Wh [3H][H] packed as the runtime packs them at
    // create (runtime/gru_pack.h), b and bhn as they are; the sizes do not change.
    const int64_t H = spec.hidden_size, G = 3 * H;
    if (int64_t(values.size()) != spec.weight_elements())
      throw GruGenError("internal: the embedded weights are not the spec's layer instances");
    const WeightPanels &panels = plans.front().panels;
    for (const GruSpec::InstanceWeights &w : spec.weight_instances()) {
      grugen_pack_weights(values.data() + w.wx, weights.values.data() + w.wx, 1, int32_t(G),
                          int32_t(w.input_size), int32_t(panels.wx), int32_t(panels.xp));
      grugen_pack_weights(values.data() + w.wh, weights.values.data() + w.wh, 3, int32_t(H),
                          int32_t(H), int32_t(panels.wh), 0);
    }
  }
  write_file(dir / blob, std::string_view(reinterpret_cast<const char *>(values.data()),
                                          values.size() * sizeof(float)));
  // .incbin keeps megabytes of weights out of C initialisers; Mach-O spells the section and
  // the symbol differently from ELF.
  const bool macho = policy.archive == ArchiveFormat::Darwin;
  const std::string symbol = (macho ? "_" : "") + spec.name + "__embedded_weights";
  std::string text = macho ? "  .section __TEXT,__const\n" : "  .section .rodata\n";
  text += "  .globl " + symbol + "\n  .p2align 6\n" + symbol + ":\n  .incbin \"" + blob + "\"\n";
  if (!macho) text += "  .type " + symbol + ", %object\n  .size " + symbol + ", " + std::to_string(weights.values.size() * 4) +
                      "\n  .section .note.GNU-stack,\"\",%progbits\n";
  write_file(dir / source, text);
  return compile_c(policy, dir, source, "embedded weights");
}

void write_archive(const fs::path &archive, const std::vector<fs::path> &members,
                   ArchiveFormat format) {
  // Members are named by file name alone: the scratch directory they come from is random.
  std::vector<std::string> names;
  for (const fs::path &member : members) names.push_back(member.filename().string());
  std::vector<llvm::NewArchiveMember> new_members;
  for (size_t i = 0; i < members.size(); ++i) {
    auto m = llvm::NewArchiveMember::getFile(members[i].string(), /*Deterministic=*/true);
    if (!m)
      throw GruGenError("cannot read '" + members[i].string() +
                        "': " + llvm::toString(m.takeError()));
    m->MemberName = names[i];
    new_members.push_back(std::move(*m));
  }
  // Built in memory and written by write_file: llvm::writeArchive to a file ends the process
  // ("LLVM ERROR: IO failure on output stream") when a write fails, e.g. on a full disk.
  auto buffer = llvm::writeArchiveToBuffer(new_members, llvm::SymtabWritingMode::NormalSymtab,
                                           format == ArchiveFormat::Darwin
                                               ? llvm::object::Archive::K_DARWIN
                                               : llvm::object::Archive::K_GNU,
                                           /*Deterministic=*/true, /*Thin=*/false);
  if (!buffer)
    throw GruGenError("cannot write '" + archive.string() +
                      "': " + llvm::toString(buffer.takeError()));
  write_file(archive, (*buffer)->getBuffer());
}

void write_link_metadata(const GruSpec &spec, const GruWeights *embedded,
                         const TargetPolicy &policy, const fs::path &dir) {
  write_file(dir / target_file(spec.name, TargetFile::SpecStamp), spec_stamp(spec, embedded));
  const std::string library = target_file(spec.name, TargetFile::Archive);
  std::string flags;
  for (const std::string &flag : policy.link_libraries) flags += " " + flag;
  // pkg-config: paths relative to the .pc file, so the output directory can move.
  write_file(dir / target_file(spec.name, TargetFile::PkgConfig),
             "# " + spec.name + " for target " + policy.name + ", generated by gru-gen.\n"
             "libdir=${pcfiledir}\n"
             "includedir=${pcfiledir}/..\n\n"
             "Name: " + spec.name + "\n"
             "Description: GRU layer (mlx.nn.GRU), D=" + std::to_string(spec.input_size) +
             " H=" + std::to_string(spec.hidden_size) + " N=" + std::to_string(spec.batch) +
             ", for " + policy.name + "\n"
             "Version: " GRUGEN_VERSION "\n"
             "Cflags: -I${includedir}\n"
             "Libs: ${libdir}/" + library + flags + "\n");
  // CMake: find_package(<name> CONFIG PATHS <dir>/<target>) gives the imported target gru::<name>.
  std::string cmake_flags;
  for (const std::string &flag : policy.link_libraries)
    cmake_flags += (cmake_flags.empty() ? "" : ";") + flag;
  write_file(dir / target_file(spec.name, TargetFile::CMakeConfig),
             "# " + spec.name + " for target " + policy.name + ", generated by gru-gen.\n"
             "if(NOT TARGET gru::" + spec.name + ")\n"
             "  add_library(gru::" + spec.name + " STATIC IMPORTED)\n"
             "  set_target_properties(gru::" + spec.name + " PROPERTIES\n"
             "    IMPORTED_LOCATION \"${CMAKE_CURRENT_LIST_DIR}/" + library + "\"\n"
             "    INTERFACE_INCLUDE_DIRECTORIES \"${CMAKE_CURRENT_LIST_DIR}/..\"\n"
             "    INTERFACE_LINK_LIBRARIES \"" + cmake_flags + "\")\n"
             "endif()\n");
}

}  // namespace grugen
