// gru-gen: compiles a fixed-shape GRU spec into a static library with a C ABI.
//
//   flags or spec.mlir -> gru module -> pass pipeline -> GruSpec (read back from the module)
//     -> (per target) Halide pipelines + schedule -> objects -> lib<name>.a
//     -> <name>.h
//
// Every user error ends here as one line `gru-gen: error: ...` and exit status 1, with nothing
// left in the output directory (StagedOutput).
#include <cmath>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <optional>
#include <set>
#include <thread>

#include "HalideRuntime.h"
#include "codegen/HalideCodegen.h"
#include "codegen/Tuning.h"
#include "frontend/SpecFrontend.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"
#include "package/AppleLibraries.h"
#include "package/LibraryPackager.h"
#include "schedules/SchedulePolicy.h"
#include "spec/GruSpec.h"
#include "support/Error.h"
#include "support/Files.h"
#include "support/ForkedJobs.h"
#include "support/Interrupt.h"
#include "support/Progress.h"
#include "support/StagedOutput.h"
#include "weights/GruWeights.h"

namespace cl = llvm::cl;
namespace fs = std::filesystem;
using namespace grugen;

namespace {

cl::OptionCategory category("gru-gen options");

cl::opt<std::string> spec_file(cl::Positional, cl::Optional, cl::desc("[spec.mlir]"),
                               cl::cat(category));

// Sizes are parsed here rather than by llvm::cl, so a bad value gets the same one-line error
// as every other mistake.
cl::opt<std::string> input_size("input-size", cl::desc("D: features per timestep"),
                                cl::value_desc("D"), cl::cat(category));
cl::opt<std::string> hidden_size("hidden-size", cl::desc("H: hidden state size"),
                                 cl::value_desc("H"), cl::cat(category));
cl::opt<std::string> batch("batch", cl::desc("N: sequences per call (default 1)"),
                           cl::value_desc("N"), cl::init("1"), cl::cat(category));
cl::opt<bool> no_bias("no-bias", cl::desc("The layer has no b/bhn (mlx.nn.GRU(bias=False))"),
                      cl::cat(category));
cl::opt<std::string> layers("layers",
                            cl::desc("Stacked layers (default 1): layer l > 0 reads the output of "
                                     "layer l-1"),
                            cl::value_desc("count"), cl::init("1"), cl::cat(category));
cl::opt<bool> bidirectional("bidirectional",
                            cl::desc("Each layer runs forward and backward over its input; its "
                                     "output is [forward h_t, backward h_t]"),
                            cl::cat(category));
cl::opt<bool> reset_before("reset-before",
                           cl::desc("Apply the reset gate before the recurrent product: "
                                    "n = tanh(xp_n + (r*h) Wh_n^T + bhn) (ONNX "
                                    "linear_before_reset=0, Keras reset_after=False)"),
                           cl::cat(category));
cl::opt<std::string> weights_precision(
    "weights-precision",
    cl::desc("How the model stores Wx and Wh: f32 (default), f16 or bf16 (rounded to nearest "
             "even), int8 (symmetric per gate row, float32 scales), accumulation in float32; or "
             "w8a8: int8 weights and each product's input quantized per call, int32 dot "
             "products"),
    cl::value_desc("f32|f16|bf16|int8|w8a8"), cl::init("f32"), cl::cat(category));
cl::opt<std::string> weights_file("weights",
                                  cl::desc("A trained layer's or model's weights (MLX "
                                           "safetensors, mlx.nn.GRU save_weights; a model's "
                                           "layer l under <prefix><l>. and <prefix><l>.reverse.):"
                                           " gives D, H, bias, the reset variant, the layers "
                                           "and their direction"),
                                  cl::value_desc("file"), cl::cat(category));
cl::opt<std::string> weights_prefix("weights-prefix",
                                    cl::desc("Prefix of the layer's or model's keys in "
                                             "--weights, e.g. 'layers.0.' for one layer of a "
                                             "list, 'layers.' for the list (default: none)"),
                                    cl::value_desc("prefix"), cl::cat(category));
cl::opt<bool> embed_weights("embed-weights",
                            cl::desc("Bake the --weights into the library: <name>_create_default"),
                            cl::cat(category));
cl::opt<bool> shared("shared",
                     cl::desc("Also write <target>/lib<name>.so exporting only the ABI "
                              "(SONAME lib<name>.so.1; Linux targets), or lib<name>.dylib "
                              "(@rpath/lib<name>.1.dylib; arm64-macos)"),
                     cl::cat(category));
cl::opt<bool> xcframework("xcframework",
                          cl::desc("Also write <name>.xcframework (the Apple targets' slices, "
                                   "header, module map) and Package.swift declaring it"),
                          cl::cat(category));
cl::opt<std::string> name("name", cl::desc("Library name: prefixes every symbol (a C identifier)"),
                          cl::value_desc("name"), cl::cat(category));
// Its description names the policy's targets: set in main (target_description).
cl::list<std::string> targets("target", cl::value_desc("targets"), cl::CommaSeparated,
                              cl::cat(category));
cl::opt<std::string> output_dir("o", cl::desc("Output directory: <name>.h and <target>/lib<name>.a"),
                                cl::value_desc("dir"), cl::cat(category));
cl::opt<bool> quiet("q", cl::desc("Quiet: no progress lines (errors and notes still print)"),
                    cl::cat(category));
cl::opt<bool> tune("tune",
                   cl::desc("Measure the candidate schedules on this machine (CPU targets it "
                            "runs, opencl on its device; other CPU targets predicted by "
                            "llvm-mca) and keep the fastest; writes <target>/<name>.tuning.json"),
                   cl::cat(category));
cl::opt<std::string> tune_seconds("tune-seconds",
                                  cl::desc("Time budget of --tune per target (default 30)"),
                                  cl::value_desc("seconds"), cl::init("30"), cl::cat(category));
cl::opt<std::string> tuning_record("tuning-record",
                                   cl::desc("A record --tune wrote: its target gets the measured "
                                            "schedules again, without measuring (same bytes)"),
                                   cl::value_desc("file"), cl::cat(category));
cl::opt<std::string> threads_max(
    "threads-max",
    cl::desc("CPU targets: team step kernels for persistent teams of 2..N threads (those whose "
             "members own whole weight panels, up to the target's cores; 0: the target's cores). "
             "Default 1: no team kernels"),
    cl::value_desc("N"), cl::init("1"), cl::cat(category));
cl::opt<bool> print_link_flags("print-link-flags",
                               cl::desc("Print what an app links besides lib<name>.a for each "
                                        "--target, one line 'TARGET: FLAGS' per target ('(none)' "
                                        "when nothing), and exit"),
                               cl::cat(category));
// The kinds --emit takes, in the order --help lists them: what each writes, and the EmitOptions
// flag it sets (none for mlir, the front end's output, not code generation's).
struct EmitKind {
  const char *name;
  const char *help;  // "" or " (...)" after the name in --help
  bool EmitOptions::*option;
};
const EmitKind kEmitKinds[] = {
    {"stmt", " (Halide's lowered statement)", &EmitOptions::stmt},
    {"assembly", "", &EmitOptions::assembly},
    {"schedule", " (the schedule that was used, as C++)", &EmitOptions::schedule},
    // The extension is the policy's (TargetToolchain::device_source_extension).
    {"metal", " (GPU kernel source: .metal for metal, .cl for opencl)",
     &EmitOptions::device_code},
    {"schedule-report",
     " (per target, <target>/<name>.schedule-report.txt: each kernel's schedule, why it was "
     "chosen, and llvm-mca's prediction of its inner loop)",
     &EmitOptions::schedule_report},
    {"mlir", " (the gru module that was compiled, DIR/<name>.mlir)", nullptr},
};

// Its description lists kEmitKinds: set in main (emit_description).
cl::list<std::string> emits("emit", cl::value_desc("kinds"), cl::CommaSeparated,
                            cl::cat(category));

long long parse_size(const cl::opt<std::string> &flag) {
  const std::string &text = flag.getValue();
  const std::optional<int64_t> value = grugen::parse_size(text);
  if (!value)
    throw GruGenError("invalid --" + flag.ArgStr.str() + " '" + text + "': not an integer");
  return *value;
}

// Flags, checked against the weights file when there is one: its shapes are the truth, and a
// flag that says otherwise is a mistake worth stopping for.
GruSpec spec_from_flags(const std::optional<GruWeights> &weights) {
  if (name.getNumOccurrences() == 0) throw GruGenError("--name is required");
  GruSpec spec;
  spec.name = name;
  spec.batch = parse_size(batch);
  spec.reset_after = !reset_before;
  spec.layers = parse_size(layers);
  const std::optional<WeightsPrecision> precision = parse_precision(weights_precision.getValue());
  if (!precision)
    throw GruGenError(std::string("invalid ") + names_of(GruSpecField::WeightsPrecision).flag +
                      " '" + weights_precision.getValue() + "': must be " + precision_names());
  spec.weights_precision = *precision;
  if (bidirectional) spec.direction = GruDirection::Bidirectional;
  if (weights) {
    const std::string source = "--weights '" + weights_file.getValue() + "'";
    auto agree = [&](const cl::opt<std::string> &flag, int64_t from_file) {
      if (flag.getNumOccurrences() && parse_size(flag) != from_file)
        throw GruGenError("--" + flag.ArgStr.str() + " " + flag.getValue() + " contradicts " +
                          source + ", whose layer has " + flag.ArgStr.str() + " " +
                          std::to_string(from_file));
    };
    agree(input_size, weights->input_size);
    agree(hidden_size, weights->hidden_size);
    const std::string model = describe_stack(weights->layers, weights->direction);
    if (layers.getNumOccurrences() && spec.layers != weights->layers)
      throw GruGenError("--layers " + layers.getValue() + " contradicts " + source +
                        ", whose model has " + model);
    if (bidirectional && weights->direction != GruDirection::Bidirectional)
      throw GruGenError("--bidirectional contradicts " + source + ", whose model has " + model);
    if (no_bias && weights->has_bias)
      throw GruGenError("--no-bias contradicts " + source + ", whose layer has b and bhn");
    if (reset_before && weights->reset_after)
      throw GruGenError("--reset-before contradicts " + source + ", whose layer applies the "
                        "reset gate after the recurrent product (its metadata has no "
                        "\"reset_after\": \"false\" for it)");
    spec.input_size = weights->input_size;
    spec.hidden_size = weights->hidden_size;
    spec.has_bias = weights->has_bias;
    spec.reset_after = weights->reset_after;
    spec.layers = weights->layers;
    spec.direction = weights->direction;
  } else {
    if (input_size.getNumOccurrences() == 0) throw GruGenError("--input-size is required");
    if (hidden_size.getNumOccurrences() == 0) throw GruGenError("--hidden-size is required");
    spec.input_size = parse_size(input_size);
    spec.hidden_size = parse_size(hidden_size);
    spec.has_bias = !no_bias;
  }
  if (auto err = validate(spec)) {
    throw GruGenError(std::string("invalid ") + names_of(err->field).flag + ": " + err->message);
  }
  return spec;
}

std::optional<GruWeights> weights_from_flags() {
  if (weights_file.getNumOccurrences() == 0) {
    if (embed_weights) throw GruGenError("--embed-weights needs --weights FILE");
    if (weights_prefix.getNumOccurrences()) throw GruGenError("--weights-prefix needs --weights FILE");
    return std::nullopt;
  }
  return read_gru_weights(weights_file, weights_prefix);
}

// Weights baked into a library whose create would refuse them are refused now: int8 and w8a8
// scale each gate row by its largest magnitude, which a NaN or an infinity has none of (the
// runtime's create says the same at run time, where nothing could be done about it).
void check_embeddable(const GruSpec &spec, const GruWeights &weights) {
  if (!spec.has_weight_scales()) return;
  const size_t wh = size_t(3 * spec.hidden_size * spec.hidden_size);
  for (const GruSpec::InstanceWeights &w : spec.weight_instances()) {
    const char *bad = nullptr;
    for (size_t i = w.wx; i < w.wh + wh && i < weights.values.size() && !bad; ++i)
      if (!std::isfinite(weights.values[i])) bad = i < w.wh ? "Wx" : "Wh";
    if (bad)
      throw GruGenError("--embed-weights: '" + std::string(weights_file) + "' " +
                        (spec.layers * spec.directions() == 1
                             ? std::string()
                             : "layer " + std::to_string(w.layer) +
                                   (w.direction ? " (reverse)" : "") + "'s ") +
                        bad + " holds a NaN or an infinity, which --weights-precision " +
                        precision_name(spec.weights_precision) +
                        " cannot store (its rows are scaled by their largest magnitude)");
  }
}

// The spec's front end: a spec file, or the flags that state one (not both). A weights file
// must agree with a spec file as it must with flags.
SpecFrontend frontend_from_input(const std::optional<GruWeights> &weights) {
  if (spec_file.empty()) return SpecFrontend::from_flags(spec_from_flags(weights));
  const cl::Option *spec_flags[] = {&name,    &input_size,   &hidden_size, &batch,
                                     &no_bias, &reset_before, &layers,      &bidirectional,
                                     &weights_precision};
  for (const cl::Option *flag : spec_flags)
    if (flag->getNumOccurrences() > 0)
      throw GruGenError("--" + flag->ArgStr.str() + " cannot be combined with a spec file, "
                        "which states the whole spec");
  return SpecFrontend::from_file(spec_file);
}

// A spec file and a weights file state the shape twice: they must agree. (With flags, the spec
// takes its shape from the weights, checked against the flags by spec_from_flags.)
void check_weights_match(const GruSpec &spec, const std::optional<GruWeights> &weights) {
  if (!weights || spec_file.empty()) return;
  auto reset = [](bool after) { return after ? " reset after" : " reset before"; };
  // The stack is named when either is more than one forward layer.
  const bool stacks = !spec.is_single_forward_layer() || weights->layers != 1 ||
                      weights->direction != GruDirection::Forward;
  auto describe = [&](int64_t D, int64_t H, bool bias, bool after, int64_t layers,
                      GruDirection direction) {
    return "D=" + std::to_string(D) + " H=" + std::to_string(H) + " bias " + (bias ? "on" : "off") +
           reset(after) + (stacks ? ", " + describe_stack(layers, direction) : "");
  };
  if (weights->input_size != spec.input_size || weights->hidden_size != spec.hidden_size ||
      weights->has_bias != spec.has_bias || weights->reset_after != spec.reset_after ||
      weights->layers != spec.layers || weights->direction != spec.direction)
    throw GruGenError("--weights '" + weights_file.getValue() + "' holds a GRU with " +
                      describe(weights->input_size, weights->hidden_size, weights->has_bias,
                               weights->reset_after, weights->layers, weights->direction) +
                      ", but the spec says " +
                      describe(spec.input_size, spec.hidden_size, spec.has_bias, spec.reset_after,
                               spec.layers, spec.direction));
}

// --emit mlir: DIR/<name>.mlir, the module the front end compiled.
bool emit_mlir_requested() { return llvm::is_contained(emits, "mlir"); }

std::vector<TargetPolicy> policies_from_flags() {
  std::vector<std::string> names(targets.begin(), targets.end());
  if (names.empty()) names = {"host"};
  std::vector<TargetPolicy> policies;
  std::set<std::string> seen;
  for (const std::string &t : names) {
    std::string why;
    auto policy = lookup_target(t, why);
    if (!policy)
      throw GruGenError("unknown target '" + t + "': " + why + " (gru-gen targets: " +
                        llvm::join(known_target_names(), ", ") + ")");
    if (seen.insert(policy->name).second) policies.push_back(*policy);
  }
  return policies;
}

// --tune-seconds, checked.
double tune_budget() {
  char *end = nullptr;
  const double s = std::strtod(tune_seconds.c_str(), &end);
  if (tune_seconds.empty() || *end || !(s > 0) || s > 86400)
    throw GruGenError("invalid --tune-seconds '" + tune_seconds + "': not a number of seconds in "
                      "(0, 86400]");
  return s;
}

// --tune and --tuning-record, checked before anything is built: each target tunes here, or the
// record names one of the targets and fits the spec.
void check_tuning_flags(const GruSpec &spec, const std::vector<TargetPolicy> &policies) {
  if (tune && tuning_record.getNumOccurrences())
    throw GruGenError("--tune and --tuning-record exclude each other: a record is a tuning");
  if (tune_seconds.getNumOccurrences() && !tune)
    throw GruGenError("--tune-seconds needs --tune");
  if (tune) {
    tune_budget();
    for (const TargetPolicy &policy : policies)
      if (const std::string why = tune_refusal(policy); !why.empty()) throw GruGenError(why);
  }
  if (tuning_record.getNumOccurrences()) {
    const std::string target = record_target(tuning_record.getValue());
    const auto it = std::find_if(policies.begin(), policies.end(), [&](const TargetPolicy &p) {
      return p.halide_target.to_string() == target;
    });
    if (it == policies.end())
      throw GruGenError("--tuning-record '" + tuning_record.getValue() + "': it was tuned for " +
                        target + ", which is none of --target");
    plan_from_record(spec, *it, tuning_record.getValue());  // throws on a mismatch
  }
}

// The schedule plan of one target: measured (--tune; the record goes beside the library), a
// record's (--tuning-record, for the target it names), else the machine model's.
SchedulePlan plan_for(const GruSpec &spec, const TargetPolicy &policy, const fs::path &target_dir) {
  if (tune) {
    // Measuring JIT-compiles pipelines, which advances Halide's process-wide names (and so the
    // bytes of what this process compiles next): it runs in a child of its own, and this
    // process takes the plan from the record it wrote, exactly as --tuning-record would.
    const fs::path record = target_dir / target_file(spec.name, TargetFile::TuningRecord);
    const std::vector<ForkedJob> job = {[&](const auto &) {
      std::string text;
      tune_plan(spec, policy, tune_budget(), text, progress);
      write_file(record, text);
    }};
    const ForkedJobResult result = run_forked_jobs(job, 1).front();
    if (!result.ok) throw GruGenError(result.error);
    return plan_from_record(spec, policy, record);
  }
  if (tuning_record.getNumOccurrences() &&
      record_target(tuning_record.getValue()) == policy.halide_target.to_string())
    return plan_from_record(spec, policy, tuning_record.getValue());
  return plan_schedules(policy, spec);
}

// --threads-max, checked: 0 (the target's cores) to 64.
int64_t team_threads_max() {
  const std::optional<int64_t> value = grugen::parse_size(threads_max.getValue());
  if (!value || *value < 0 || *value > 64)
    throw GruGenError("invalid --threads-max '" + threads_max.getValue() +
                      "': not a number of threads in [0, 64] (0: the target's cores)");
  return *value;
}

// Builds one target's directory: kernels, runtime, archive, link metadata.
void build_target(const GruSpec &spec, const GruWeights *embedded, const TargetPolicy &policy,
                  const EmitOptions &emit, const fs::path &target_dir,
                  const std::function<void(const std::string &)> &note) {
  ScratchDirectory work;
  std::vector<fs::path> members;
  fs::create_directories(target_dir);
  // The tiles and weight panels, decided once per kernel variant (a portable target has several:
  // each feature level's from its machine model): codegen and the runtime's descriptor read them.
  const std::vector<TargetPolicy> variants = kernel_variants(policy);
  std::vector<SchedulePlan> plans;
  for (const TargetPolicy &variant : variants) {
    if (variants.size() > 1 && (tune || tuning_record.getNumOccurrences()))
      throw GruGenError("--tune and --tuning-record: not for the portable target '" +
                        policy.name + "' (tune a target of one feature level)");
    plans.push_back(variants.size() > 1 ? plan_schedules(variant, spec)
                                        : plan_for(spec, variant, target_dir));
    plans.back().team_sizes =
        team_sizes_for(variant.machine, spec, plans.back().panels, team_threads_max());
    plan_step_slices(variant.machine, spec, plans.back());
    for (const PipelineFiles &pipeline :
         compile_pipelines(spec, variant, plans.back(), work.path(), emit)) {
      for (const std::string &text : pipeline.notes) note(text);
      members.push_back(pipeline.object);
      for (const fs::path &extra : pipeline.extras) fs::rename(extra, target_dir / extra.filename());
    }
  }
  members.push_back(compile_runtime(spec, embedded, policy, plans, work.path()));
  if (embedded)
    members.push_back(assemble_embedded_weights(spec, *embedded, policy, plans, work.path()));
  members.push_back(compile_halide_runtime(policy, work.path()));
  write_archive(target_dir / target_file(spec.name, TargetFile::Archive), members, policy.archive);
  if (shared) write_shared_library(spec, embedded, policy, members, work.path(), target_dir);
  write_link_metadata(spec, embedded, policy, target_dir);
}

void generate(const GruSpec &spec, const GruWeights *embedded,
              const std::vector<TargetPolicy> &policies, const EmitOptions &emit,
              const SpecFrontend *write_mlir_of) {
  if (output_dir.empty()) throw GruGenError("an output directory is required (-o DIR)");
  StagedOutput out(output_dir.getValue());
  write_header(spec, embedded, out.staging());
  if (write_mlir_of) write_mlir_of->write_module(out.staging() / (spec.name + ".mlir"));

  // Each target compiles in a process of its own (support/ForkedJobs.h says why), as many at
  // once as there are cores; notes and the first error are reported in --target order. With
  // --tune, one at a time: a target measured while another compiles, predicts or measures on
  // the same cores is timed on what those leave free, and the two ranked each other's noise.
  std::vector<ForkedJob> jobs;
  for (const TargetPolicy &policy : policies)
    jobs.push_back([&, target_dir = out.staging() / policy.name](const auto &note) {
      build_target(spec, embedded, policy, emit, target_dir, note);
    });
  const auto results =
      run_forked_jobs(jobs, tune ? 1u : std::max(1u, std::thread::hardware_concurrency()));
  for (const ForkedJobResult &result : results)
    for (const std::string &note : result.notes)
      std::fprintf(stderr, "gru-gen: note: %s\n", note.c_str());
  for (const ForkedJobResult &result : results)
    if (!result.ok) throw GruGenError(result.error);
  if (xcframework) write_xcframework(spec, policies, out.staging());
  // No library of another spec may stay beside the new header (same-spec ones from earlier
  // runs, e.g. another target, do).
  // DIR/<name>.mlir (--emit mlir) belongs to the header beside it: a run that writes another
  // header and no module removes it.
  const std::string header = spec.name + ".h", module = spec.name + ".mlir";
  out.commit([&](const fs::path &dir) {
    std::vector<std::string> built;
    for (const TargetPolicy &policy : policies) built.push_back(policy.name);
    std::vector<fs::path> stale =
        stale_library_files(spec.name, spec_stamp(spec, embedded), dir, out.staging(), built);
    for (const fs::path &path :
         stale_xcframework(spec, xcframework, read_text(out.staging() / header), dir))
      stale.push_back(path);
    std::error_code ec;
    if (!write_mlir_of && fs::exists(dir / module, ec) &&
        read_text(dir / header) != read_text(out.staging() / header))
      stale.push_back(dir / module);
    return stale;
  });
  progress("wrote " + output_dir.getValue());
}

EmitOptions emit_from_flags(const std::vector<TargetPolicy> &policies) {
  EmitOptions emit;
  for (const std::string &kind : emits) {
    const EmitKind *known = llvm::find_if(kEmitKinds, [&](const EmitKind &k) { return kind == k.name; });
    if (known == std::end(kEmitKinds)) {
      std::string names;
      for (const EmitKind &k : kEmitKinds) names += std::string(names.empty() ? "" : ", ") + k.name;
      throw GruGenError("unknown --emit kind '" + kind + "' (known: " + names + ")");
    }
    // mlir is the front end's output, not code generation's: emit_mlir_requested()
    if (known->option) emit.*known->option = true;
  }
  const bool any_gpu = std::any_of(policies.begin(), policies.end(), [](const TargetPolicy &p) {
    return p.device != DeviceApi::None;
  });
  if (emit.device_code && !any_gpu)
    throw GruGenError("--emit metal needs a GPU target (metal or opencl) in --target");
  return emit;
}

// llvm::cl reports some mistakes on stderr itself, over one or more lines, and others through
// the stream it is given. Both are captured here and reduced to the first line, without LLVM's
// "<program>: " prefix and "Try: ..." advice, because the contract is one line.
bool parse_command_line(int argc, char **argv, std::string &error) {
  std::FILE *capture = std::tmpfile();
  const int saved_stderr = dup(STDERR_FILENO);
  if (capture) dup2(fileno(capture), STDERR_FILENO);
  std::string stream_errors;
  llvm::raw_string_ostream errs(stream_errors);
  const bool ok = cl::ParseCommandLineOptions(
      argc, argv,
      "gru-gen: compile a fixed-shape GRU (mlx.nn.GRU semantics) into a static library with a "
      "C ABI\n\n"
      "  The spec is given as flags (--name, --input-size, --hidden-size, --batch, --no-bias,\n"
      "  --reset-before, --layers, --bidirectional, --weights-precision),\n"
      "  taken from a trained layer's weights (--weights, MLX safetensors), or read from a\n"
      "  file, spec.mlir: a gru dialect module (see --emit mlir).\n",
      &errs);
  errs.flush();
  std::string text;
  if (capture) {
    llvm::errs().flush();
    dup2(saved_stderr, STDERR_FILENO);
    std::rewind(capture);
    char chunk[512];
    size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, capture)) > 0) text.append(chunk, n);
    std::fclose(capture);
  }
  close(saved_stderr);
  text += stream_errors;
  if (ok) {
    std::fputs(text.c_str(), stderr);  // nothing is expected here; never hide it
    // LLVM lets a scalar option occur again, the last value silently winning (--name a --name b
    // made b): one value per flag (lists, --target and --emit, add up).
    for (const auto &entry : cl::getRegisteredOptions()) {
      const cl::Option *o = entry.getValue();
      if (o->getNumOccurrences() > 1 && o->getNumOccurrencesFlag() == cl::Optional &&
          llvm::is_contained(o->Categories, &category)) {
        error = (o->ArgStr.size() == 1 ? "-" : "--") + o->ArgStr.str() + " is given " + std::to_string(o->getNumOccurrences()) +
                " times: give it once";
        return false;
      }
    }
    return true;
  }
  llvm::StringRef first = llvm::StringRef(text).ltrim().split('\n').first;
  first.consume_front("gru-gen: ");
  first = first.split("  Try:").first.rtrim();
  error = first.empty() ? "invalid command line" : first.str();
  return false;
}

}  // namespace

int main(int argc, char **argv) {
  static const std::string target_description =
      "Comma-separated targets to compile for (default host): " +
      llvm::join(known_target_names(), ", ") + ", or a Halide target string";
  targets.setDescription(target_description);
  static const std::string emit_description = [] {
    std::string text = "Extra outputs beside each library, comma-separated: ";
    for (const EmitKind &k : kEmitKinds)
      text += std::string(&k == kEmitKinds ? "" : ", ") + k.name + k.help;
    return text;
  }();
  emits.setDescription(emit_description);
  cl::HideUnrelatedOptions(category);
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "gru-gen " GRUGEN_VERSION " (Halide " << HALIDE_VERSION_MAJOR << "." << HALIDE_VERSION_MINOR
       << "." << HALIDE_VERSION_PATCH << ", LLVM " LLVM_VERSION_STRING ")\n";
  });
  std::string error;
  if (!parse_command_line(argc, argv, error)) {
    std::fprintf(stderr, "gru-gen: error: %s\n", error.c_str());
    return 1;
  }
  progress_enabled() = !quiet;
  install_interrupt_cleanup();  // SIGINT/SIGTERM/SIGHUP leave nothing behind
  try {
    if (print_link_flags) {
      // For build systems at configure time (gru_add_library): no spec needed.
      // One line per target, "TARGET: FLAGS", "(none)" when an app links nothing more.
      for (const TargetPolicy &policy : policies_from_flags())
        std::printf("%s: %s\n", policy.name.c_str(),
                    policy.link_libraries.empty() ? "(none)"
                                                  : llvm::join(policy.link_libraries, " ").c_str());
      return 0;
    }
    const std::optional<GruWeights> weights = weights_from_flags();
    SpecFrontend frontend = frontend_from_input(weights);
    const GruSpec spec = frontend.compile();  // the only spec code generation sees
    check_weights_match(spec, weights);
    if (embed_weights) check_embeddable(spec, *weights);
    const std::vector<TargetPolicy> policies = policies_from_flags();
    for (const TargetPolicy &policy : policies)
      if (!policy.no_c_compiler.empty()) throw GruGenError(policy.no_c_compiler);
    for (const TargetPolicy &policy : policies)
      if (const std::string why = shared_library_refusal(policy); shared && !why.empty())
        throw GruGenError(why);
    if (const std::string why = xcframework_refusal(policies); xcframework && !why.empty())
      throw GruGenError(why);
    check_tuning_flags(spec, policies);
    generate(spec, embed_weights ? &*weights : nullptr, policies, emit_from_flags(policies),
             emit_mlir_requested() ? &frontend : nullptr);
  } catch (const GruGenError &e) {
    std::fprintf(stderr, "gru-gen: error: %s\n", e.what());
    return 1;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "gru-gen: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
