#include "codegen/HalideCodegen.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>
#include <string_view>

#include "codegen/ScheduleReport.h"
#include "pipelines/GruGenerator.h"
#include "spec/LibraryFiles.h"
#include "support/Error.h"
#include "support/Files.h"
#include "support/Progress.h"

namespace grugen {
namespace fs = std::filesystem;

namespace {

// Halide reports compile errors through this hook; turning them into GruGenError keeps every
// failure on the driver's one-line error path, however the Halide library was built.
class HalideErrorToException : public Halide::CompileTimeErrorReporter {
 public:
  void warning(const char *) override {}  // Halide's warnings are advice to pipeline authors
  [[noreturn]] void error(const char *msg) override {
    std::string text(msg);
    text.erase(std::remove(text.begin(), text.end(), '\n'), text.end());
    throw GruGenError("Halide: " + text);
  }
};

void install_error_reporter() {
  static HalideErrorToException reporter;
  Halide::set_custom_compile_time_error_reporter(&reporter);
}

// Where the autoscheduler plugins are: beside an installed gru-gen (<prefix>/bin/gru-gen and
// <prefix>/GRUGEN_INSTALLED_PLUGIN_DIR), else where the build found them (the Halide wheel).
fs::path plugin_dir() {
  static const fs::path dir = [] {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      const fs::path installed = exe.parent_path().parent_path() / GRUGEN_INSTALLED_PLUGIN_DIR;
      if (fs::exists(installed / "libautoschedule_adams2019.so", ec)) return installed;
    }
    return fs::path(GRUGEN_HALIDE_PLUGIN_DIR);
  }();
  return dir;
}

// Each plugin is loaded once per process.
void load_autoscheduler(const std::string &name) {
  static std::set<std::string> loaded;
  if (loaded.count(name)) return;
  std::string file = name;
  std::transform(file.begin(), file.end(), file.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  const fs::path plugin = plugin_dir() / ("libautoschedule_" + file + ".so");
  if (!fs::exists(plugin))
    throw GruGenError("autoscheduler plugin '" + plugin.string() + "' not found");
  Halide::load_plugin(plugin.string());
  loaded.insert(name);
}

// One kernel of a library: which generator, with which rows, under which schedules (tried in
// order until one compiles).
struct Kernel {
  const char *generator;
  std::string suffix;  // <name>_kernel_<suffix>, one of GruSpec::kernels()
  KernelKind kind;
  int64_t input_size;  // the features of the rows a projection reads: D, or a deep layer's
  int64_t rows;        // projection rows per call (ignored by the step)
  const std::vector<PipelineSchedule> &schedules;
  const KernelPlan &plan;  // its tile (for the own CPU schedule)
  int64_t panel;           // its weights' panel width (SchedulePlan's panels), 0: MLX's layout
  int64_t xp_panel = 0;    // the order of xp's columns the step reads (the plan's panels.xp)
  std::string variant = {};  // a portable target's feature level (TargetPolicy::variant)
  int64_t team = 0;  // a team step's team size (GruStep's `team`), 0 for every other kernel
};

Halide::GeneratorParamsMap generator_params(const GruSpec &spec, const TargetPolicy &policy,
                                            const Kernel &kernel,
                                            const PipelineSchedule &schedule) {
  Halide::GeneratorParamsMap params = {
      {"input_size", std::to_string(kernel.input_size)},
      {"hidden_size", std::to_string(spec.hidden_size)},
      {"batch", std::to_string(spec.batch)},
      {"has_bias", spec.has_bias ? "true" : "false"},
      {"reset_after", spec.reset_after ? "true" : "false"},
      {"rows", std::to_string(kernel.rows)},
      {"vector_gates", policy.vector_gates ? "true" : "false"},
      {"panel", std::to_string(kernel.panel)},
      {"tile_vectors", std::to_string(kernel.plan.tile.vectors)},
      {"tile_rows", std::to_string(kernel.plan.tile.rows)},
      {"k_block", std::to_string(kernel.plan.tile.k_block)},
      {"tile_panels", std::to_string(kernel.plan.tile.panels)},
      {"xp_panel", std::to_string(kernel.xp_panel)},
      {"gpu_threads", std::to_string(kernel.plan.block.threads)},
      {"gpu_rows", std::to_string(kernel.plan.block.rows)},
      {"weights_precision", precision_name(spec.weights_precision)},
      {"half_weights_as_bits", policy.half_as_bits(spec.weights_precision) ? "true" : "false"},
      {"bf16_pairs", uses_bf16_pairs(policy, spec) ? "true" : "false"},
  };
  if (kernel.team > 0) params["team"] = std::to_string(kernel.team);
  if (const Autoscheduler *as = schedule.autoscheduler()) {
    load_autoscheduler(as->name);
    params["autoscheduler"] = as->name;
    for (const auto &[key, value] : as->params) params["autoscheduler." + key] = value;
  } else {
    params["own_schedule"] = schedule.own() == OwnSchedule::Cpu ? "cpu" : "gpu";
  }
  return params;
}

// The library's kernels (GruSpec::kernels, in its order; the first three are indexed by
// KernelKind), each with its generator, rows, schedules and part of the plan. Layers above 0
// read the previous layer's output: their tiles and panels depend on 3H and the rows only, so
// the plan's serve them.
std::vector<Kernel> kernels_of(const GruSpec &spec, const TargetPolicy &policy,
                               const SchedulePlan &plan) {
  std::vector<Kernel> kernels;
  for (const LibraryKernel &k : spec.kernels(plan.team_sizes, plan.step_slices)) {
    const bool step = k.kind == KernelKind::Step;
    // A projection's rows per call: a block of a run's N*L rows, or one timestep's N.
    const int64_t rows = k.kind == KernelKind::Projection ? spec.projection_block_rows()
                         : step                           ? 0
                                                          : spec.batch;
    kernels.push_back({step ? kStepGenerator : kProjectionGenerator, k.suffix, k.kind,
                       step ? spec.hidden_size : k.deep ? spec.output_size() : spec.input_size,
                       rows, step ? policy.schedules.step : policy.schedules.projection,
                       kernel_plan(plan, k.kind), step ? plan.panels.wh : plan.panels.wx});
    Kernel &kernel = kernels.back();
    kernel.team = k.team;
    kernel.variant = policy.variant;
    kernel.xp_panel = plan.panels.xp;
  }
  return kernels;
}

// The ABI owns <name>_<function>; every other symbol of a library lives under <name>__: a kernel
// is the symbol <name>__[<variant>_]kernel_<suffix> (and Halide's ..._argv and _metadata), its
// files <name>_[<variant>_]kernel_<suffix>.* (GruSpec.h).
std::string kernel_symbol(const GruSpec &spec, const Kernel &kernel) {
  return grugen::kernel_symbol(spec.name, kernel.variant, kernel.suffix);
}
std::string kernel_file(const GruSpec &spec, const Kernel &kernel) {
  return grugen::kernel_file(spec.name, kernel.variant, kernel.suffix);
}

// The Halide target a kernel is compiled for. The runtime is compiled once per library
// (compile_halide_runtime), not into each kernel. UserContext: the C runtime passes its own tag,
// so its error handler can tell our kernels' errors (returned as statuses) from those of other
// Halide code in the process.
//
// Checked: with Halide's run-time checks of the kernel's buffers and allocations (its asserts,
// which return an error code the runtime turns into a status). compile_one leaves them out of a
// CPU kernel that allocates nothing on the heap (unchecked_is_safe).
Halide::Target kernel_target(const TargetPolicy &policy, bool checked = true) {
  const Halide::Target target = policy.halide_target.with_feature(Halide::Target::NoRuntime)
                                    .with_feature(Halide::Target::UserContext);
  return checked ? target : target.with_feature(Halide::Target::NoAsserts);
}

// What execute_generator needs for one kernel under one schedule, but the outputs: files
// kernel_file(...).* in `dir`.
Halide::Internal::ExecuteGeneratorArgs generator_args(const GruSpec &spec,
                                                      const TargetPolicy &policy,
                                                      const fs::path &dir, const Kernel &kernel,
                                                      const PipelineSchedule &schedule,
                                                      bool checked = true) {
  Halide::Internal::ExecuteGeneratorArgs args;
  args.output_dir = dir.string();
  args.targets = {kernel_target(policy, checked)};
  args.generator_name = kernel.generator;
  args.function_name = kernel_symbol(spec, kernel);
  args.file_base_name = kernel_file(spec, kernel);
  args.generator_params = generator_params(spec, policy, kernel, schedule);
  return args;
}

void run_generator(const GruSpec &spec, const TargetPolicy &policy, const fs::path &dir,
                   const EmitOptions &emit, const Kernel &kernel,
                   const PipelineSchedule &schedule, bool checked) {
  using Halide::OutputFileType;
  Halide::Internal::ExecuteGeneratorArgs args =
      generator_args(spec, policy, dir, kernel, schedule, checked);
  // The statement is always written: check_schedule reads it.
  args.output_types = {OutputFileType::object, OutputFileType::c_header, OutputFileType::stmt};
  // The report reads the assembly (llvm-mca) whether or not it is kept.
  if (emit.assembly || emit.schedule_report) args.output_types.insert(OutputFileType::assembly);
  if (emit.schedule && schedule.autoscheduler())
    args.output_types.insert(OutputFileType::schedule);
  if (emit.device_code && policy.device != DeviceApi::None)
    args.output_types.insert(OutputFileType::device_code);
  Halide::Internal::execute_generator(args);
}

// Lowers the kernel (its statement only, no code) with Halide's checks in it, for check_schedule
// and unchecked_is_safe to read.
void lower_checked(const GruSpec &spec, const TargetPolicy &policy, const fs::path &dir,
                   const Kernel &kernel, const PipelineSchedule &schedule) {
  Halide::Internal::ExecuteGeneratorArgs args = generator_args(spec, policy, dir, kernel, schedule);
  args.output_types = {Halide::OutputFileType::stmt};
  Halide::Internal::execute_generator(args);
}

// Whether a CPU kernel may run without Halide's run-time checks. They check the buffers each call
// passes (types, dimensions, bounds, strides) and that every allocation succeeded. The runtime
// makes every buffer a kernel sees from the descriptor's fixed shapes (user arrays only as the
// host pointers of views it sizes itself), so the buffer checks always pass and cost the call
// ~60 ns (0.89 against 1.01 us for a w8a8 step at D = H = 128, two kernels). An allocation that
// fails is the one thing they catch that the runtime cannot rule out: so only a kernel whose
// every allocation is on the stack (a constant size Halide puts there, can_allocation_fit_on_stack)
// goes unchecked; a heap allocation, a size known only at run time or any other memory keeps
// the checks. (GPU kernels keep them: compile_one does not ask, as their device calls report
// their errors through them.) Reads the statement Halide lowered, where each allocation is a line
//   allocate NAME[TYPE * EXTENT * ...] [in MEMORY] [if CONDITION]
bool unchecked_is_safe(const fs::path &stmt_file) {
  std::ifstream in(stmt_file, std::ios::binary);
  if (!in) return false;
  for (std::string line; std::getline(in, line);) {
    const size_t first = line.find_first_not_of(' ');
    if (first == std::string::npos || line.compare(first, 9, "allocate ") != 0) continue;
    const size_t open = line.find('[', first), close = line.find(']', first);
    if (open == std::string::npos || close == std::string::npos || close < open) return false;
    const std::string tail = line.substr(close + 1);
    if (!tail.empty() && tail != " in Stack" && tail != " in Register") return false;
    // TYPE: [u]int<bits> or [b]float<bits>, optionally x<lanes>; then " * <integer>" each.
    std::istringstream fields(line.substr(open + 1, close - open - 1));
    std::string type, star;
    fields >> type;
    size_t digit = type.find_first_of("0123456789");
    const std::string kind = type.substr(0, digit);
    if (digit == std::string::npos ||
        (kind != "int" && kind != "uint" && kind != "float" && kind != "bfloat"))
      return false;
    char *end = nullptr;
    int64_t bytes = std::strtoll(type.c_str() + digit, &end, 10) / 8;
    if (*end == 'x') bytes *= std::strtoll(end + 1, &end, 10);
    if (*end != '\0' || bytes <= 0) return false;
    for (std::string extent; fields >> star >> extent;) {
      if (star != "*" || extent.empty() ||
          extent.find_first_not_of("0123456789") != std::string::npos || extent.size() > 9)
        return false;
      bytes *= std::stoll(extent);
      if (bytes > (int64_t(1) << 32)) return false;
    }
    if (!Halide::Internal::can_allocation_fit_on_stack(bytes)) return false;
  }
  return true;
}

// Rejects a schedule whose kernel would fail on every call. Every extent is fixed, so when a
// schedule computes past a buffer's end (a GPU tile rounded up, say), Halide's lowered code
// carries this constraint check, which no valid call can pass.
void check_schedule(const fs::path &stmt_file) {
  std::ifstream in(stmt_file, std::ios::binary);
  const std::string stmt((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  static const std::string marker = "halide_error_constraints_make_required_region_smaller(";
  const size_t at = stmt.find(marker);
  if (at == std::string::npos) return;
  const size_t name_end = stmt.find(',', at);
  throw GruGenError("it reads outside " +
                    stmt.substr(at + marker.size(), name_end - at - marker.size()));
}

// --emit schedule for a kernel under gru-gen's own schedule (no autoscheduler, so Halide writes
// no schedule file): the loop nest that schedule gives, as Halide prints it
// (Pipeline::print_loop_nest: every Func's loops with their splits, and which are parallel,
// vectorized or unrolled), from the same generator and parameters the object was compiled with.
std::string own_schedule_loop_nest(const GruSpec &spec, const TargetPolicy &policy,
                                   const Kernel &kernel, const PipelineSchedule &schedule) {
  auto generator = Halide::Internal::GeneratorRegistry::create(
      kernel.generator, Halide::GeneratorContext(kernel_target(policy)));
  if (!generator) throw GruGenError(std::string("internal: no generator ") + kernel.generator);
  for (const auto &[key, value] : generator_params(spec, policy, kernel, schedule))
    generator->set_generatorparam_value(key, value);
  Halide::Pipeline pipeline = generator->build_pipeline();
  // print_loop_nest writes to stderr (Halide's debug(0)): caught in a temporary file.
  std::fflush(stderr);
  std::cerr.flush();
  std::FILE *capture = std::tmpfile();
  if (!capture) throw GruGenError("cannot write the schedule: no temporary file");
  const int saved = dup(STDERR_FILENO);
  dup2(fileno(capture), STDERR_FILENO);
  pipeline.print_loop_nest();
  std::cerr.flush();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::rewind(capture);
  std::string text;
  char chunk[4096];
  for (size_t n; (n = std::fread(chunk, 1, sizeof chunk, capture)) > 0;) text.append(chunk, n);
  std::fclose(capture);
  return text;
}

PipelineFiles compile_one(const GruSpec &spec, const TargetPolicy &policy, const fs::path &dir,
                          const EmitOptions &emit, const Kernel &kernel,
                          PipelineSchedule &used) {
  const std::string function = kernel_file(spec, kernel);
  PipelineFiles files;
  std::string failures;
  // A GPU plan's measured choice (gpu_schedule) replaces the policy's list.
  const std::vector<PipelineSchedule> schedules =
      policy.device == DeviceApi::None
          ? kernel.schedules
          : gpu_schedules(policy, kernel.schedules, kernel.plan.gpu_schedule);
  if (schedules.empty())
    throw GruGenError("internal: no GPU schedule '" + kernel.plan.gpu_schedule + "'");
  for (const PipelineSchedule &schedule : schedules) {
    progress(policy.name + ": scheduling " + function + " with " + schedule.describe());
    try {
      // A CPU kernel is lowered with the checks first (check_schedule reads them), then
      // compiled without them where that is safe; a GPU kernel is compiled with them, once.
      const fs::path stmt = dir / (function + kStatementExtension);
      const bool cpu = policy.device == DeviceApi::None;
      if (cpu) {
        lower_checked(spec, policy, dir, kernel, schedule);
        check_schedule(stmt);
      }
      const bool checked = !cpu || !unchecked_is_safe(stmt);
      run_generator(spec, policy, dir, emit, kernel, schedule, checked);
      if (!cpu) check_schedule(stmt);
      used = schedule;
      break;
    } catch (const GruGenError &e) {
      // An autoscheduler that fails (or schedules what the backend rejects) is not the user's
      // problem while a fallback remains; the last failure is.
      if (&schedule == &schedules.back()) throw;
      failures += (failures.empty() ? "" : "; ") + schedule.describe() + ": " + e.what();
    }
  }
  if (!failures.empty())
    files.notes.push_back(policy.name + ": " + function + " uses " + used.describe() +
                          " because " + failures);

  files.object = dir / (function + ".o");
  if (emit.stmt) files.extras.push_back(dir / (function + kStatementExtension));
  if (emit.assembly) files.extras.push_back(dir / (function + kAssemblyExtension));
  if (emit.schedule) {
    const fs::path schedule_file = dir / (function + kScheduleExtension);
    // Halide writes the schedule an autoscheduler chose; for an own schedule, its loop nest
    // follows (append_loop_nests) once every kernel is compiled.
    // The reset-before step's own schedules are in a file of their own (OwnSchedules.h).
    const bool reset_before_step =
        !spec.reset_after && std::string_view(kernel.generator) == kStepGenerator;
    if (!used.autoscheduler())
      write_file(schedule_file, "// " + function + ": " + used.describe() + " of " +
                                    (reset_before_step ? std::string("schedules/ResetBeforeSchedules.cpp")
                                                       : used.source()) +
                                    " (no autoscheduler), as the loop nest Halide prints for it:\n");
    files.extras.push_back(schedule_file);
  }
  if (emit.device_code && policy.device != DeviceApi::None) {
    // The source Halide writes for GPU kernels, named for the language it is in.
    const fs::path source = dir / (function + policy.device_source_extension);
    fs::rename(dir / (function + ".device_code"), source);
    files.extras.push_back(source);
  }
  for (const fs::path &p : files.extras)
    if (!fs::exists(p)) throw GruGenError("Halide did not write '" + p.filename().string() + "'");
  return files;
}

}  // namespace

std::vector<PipelineFiles> compile_pipelines(const GruSpec &spec, const TargetPolicy &policy,
                                             const SchedulePlan &plan, const fs::path &dir,
                                             const EmitOptions &emit) {
  install_error_reporter();
  const std::vector<Kernel> kernels = kernels_of(spec, policy, plan);
  std::vector<PipelineFiles> files;
  std::vector<PipelineSchedule> used;
  for (const Kernel &kernel : kernels)
    files.push_back(compile_one(spec, policy, dir, emit, kernel, used.emplace_back()));
  if (emit.schedule_report) {
    std::vector<ReportedKernel> reported;
    for (size_t i = 0; i < kernels.size(); ++i)
      reported.push_back({kernels[i].suffix, kernels[i].kind, used[i].describe(),
                          used[i].own() == OwnSchedule::Cpu,
                          dir / (kernel_file(spec, kernels[i]) + kAssemblyExtension),
                          used[i].own() == OwnSchedule::Gpu});
    const fs::path report = dir / schedule_report_file(spec.name, policy.variant);
    write_file(report, schedule_report(spec, policy, plan, reported, dir));
    files.back().extras.push_back(report);
  }
  // --emit schedule, own schedules: the loop nests, built only now, after every kernel, because
  // building a pipeline advances Halide's unique names, which later kernels' objects would show
  // (a library must not depend on --emit).
  if (emit.schedule)
    for (size_t i = 0; i < kernels.size(); ++i)
      if (!used[i].autoscheduler()) {
        const std::string nest = own_schedule_loop_nest(spec, policy, kernels[i], used[i]);
        std::string text;
        for (size_t at = 0; at < nest.size();) {
          const size_t end = std::min(nest.find('\n', at), nest.size());
          text += "// " + nest.substr(at, end - at) + "\n";
          at = end + 1;
        }
        for (const fs::path &file : files[i].extras)
          if (file.stem().extension() == ".schedule")
            std::ofstream(file, std::ios::app) << text;
      }
  return files;
}

namespace {

// The target Halide's runtime is compiled for: the kernels' target reduced as Halide reduces the
// runtime of a multi-target library, here against the plain architecture: instruction-set
// features (sse41, avx512, x86apx, arm_dot_prod, ...) go, device APIs and the features every
// part must agree on (sanitizers, debug) stay. The runtime checks at create that the CPU has
// the kernels' features (halide_can_use_target_features), so it must run on a CPU that lacks
// them; and its symbols are weak, so any library's copy may serve every gru-gen library of a
// program.
Halide::Target runtime_target(const Halide::Target &target) {
  Halide::Target plain(target.os, target.arch, target.bits, target.processor_tune, {},
                       target.vector_bits);
  for (int i = 0; i < Halide::Target::FeatureEnd; ++i) {
    const auto feature = static_cast<Halide::Target::Feature>(i);
    Halide::Target with = plain.with_feature(feature), ignored;
    // A feature both sides must agree on (the comparison fails without it) is kept.
    if (target.has_feature(feature) && !with.get_runtime_compatible_target(plain, ignored))
      plain = plain.with_feature(feature);
  }
  Halide::Target kernels = target, result;
  return kernels.get_runtime_compatible_target(plain, result) ? result : target;
}

}  // namespace

fs::path compile_halide_runtime(const TargetPolicy &policy, const fs::path &dir) {
  install_error_reporter();
  const fs::path object = dir / "halide_runtime.o";
  Halide::compile_standalone_runtime(object.string(), runtime_target(policy.halide_target));
  return object;
}

double time_kernel(const GruSpec &spec, const TargetPolicy &policy, const SchedulePlan &plan,
                   KernelKind kind, const PipelineSchedule &schedule, double seconds) {
  install_error_reporter();
  const std::vector<Kernel> kernels = kernels_of(spec, policy, plan);
  const Kernel &kernel = kernels[size_t(kind)];
  const Halide::Target target = policy.halide_target;
  auto generator = Halide::Internal::GeneratorRegistry::create(
      kernel.generator, Halide::GeneratorContext(target));
  if (!generator) throw GruGenError(std::string("internal: no generator ") + kernel.generator);
  generator->set_generatorparam_values(generator_params(spec, policy, kernel, schedule));
  Halide::Callable callable;
  if (const Autoscheduler *as = schedule.autoscheduler()) {
    // A generator's callable is not autoscheduled: its pipeline is, as execute_generator does,
    // then compiled with the generator's inputs in order (the outputs follow, as in the object).
    Halide::Pipeline pipeline = generator->build_pipeline();
    pipeline.apply_autoscheduler(target, Halide::AutoschedulerParams(as->name, as->params));
    std::vector<Halide::Argument> args;
    for (const auto &info : generator->arginfos()) {
      if (info.dir != Halide::Internal::ArgInfoDirection::Input) continue;
      for (const Halide::Parameter &p : generator->input_parameter(info.name))
        args.emplace_back(p.name(), Halide::Argument::InputBuffer, p.type(), p.dimensions(),
                          p.get_argument_estimates());
    }
    callable = pipeline.compile_to_callable(args, target);
  } else {
    callable = generator->compile_to_callable();
  }
  // Buffers of the kernel's shapes (GruGenerator.h), filled with small values.
  const int D = int(kernel.input_size), H = int(spec.hidden_size), N = int(spec.batch),
            G = 3 * H;
  auto matrix = [](int64_t d0, int64_t d1) {
    Halide::Buffer<float> b(static_cast<int>(d0), static_cast<int>(d1));
    b.for_each_element([&](int x, int y) { b(x, y) = 0.01f * float((x * 7 + y * 13) % 97) - 0.48f; });
    return b;
  };
  auto vector = [](int n) {
    Halide::Buffer<float> b(n);
    b.fill(0.1f);
    return b;
  };
  // The weights of the spec's precision (timing does not depend on their values: zeros) and,
  // for int8 and w8a8, their row data (GruSpec::weight_row_floats).
  const WeightStorage storage = weight_storage(policy, spec);
  auto weights = [&](const WeightShape &ws) {
    Halide::Buffer<> b(storage.type, static_cast<int>(ws.inner), static_cast<int>(ws.outer));
    std::memset(b.data(), 0, b.size_in_bytes());
    return b;
  };
  const bool scaled = spec.has_weight_scales();
  std::function<int()> call;
  Halide::Buffer<float> a, bias, out, extra, scale = vector(int(std::max<int64_t>(G, spec.weight_row_floats())));
  Halide::Buffer<> w;
  if (kind == KernelKind::Step) {
    const WeightShape ws = storage.shape(3, H, H, kernel.panel);
    a = matrix(G, N), extra = matrix(H, N), w = weights(ws), bias = vector(H);
    out = Halide::Buffer<float>(H, N);
    call = [&] {
      int e;
      if (scaled)
        e = spec.has_bias ? callable(a, extra, w, scale, bias, out)
                          : callable(a, extra, w, scale, out);
      else
        e = spec.has_bias ? callable(a, extra, w, bias, out) : callable(a, extra, w, out);
      return e ? e : out.device_sync();
    };
  } else {
    const WeightShape ws = storage.shape(1, G, D, kernel.panel);
    a = matrix(D, kernel.rows), w = weights(ws), bias = vector(G);
    out = Halide::Buffer<float>(G, int(kernel.rows));
    call = [&] {
      int e;
      if (scaled) e = spec.has_bias ? callable(a, w, scale, bias, out) : callable(a, w, scale, out);
      else e = spec.has_bias ? callable(a, w, bias, out) : callable(a, w, out);
      return e ? e : out.device_sync();  // a GPU kernel's time is until its queue is done
    };
  }
  double best = 1e30;
  int reps = 0;
  const auto start = std::chrono::steady_clock::now();
  auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  for (int warm = 0; warm < 2; ++warm)
    if (call() != 0) throw GruGenError("a tuning candidate failed to run");
  while (reps < 10 || since(start) < seconds) {
    const auto t0 = std::chrono::steady_clock::now();
    if (call() != 0) throw GruGenError("a tuning candidate failed to run");
    best = std::min(best, since(t0));
    ++reps;
  }
  return best;
}

fs::path kernel_assembly(const GruSpec &spec, const TargetPolicy &policy, const SchedulePlan &plan,
                         KernelKind kind, const fs::path &dir) {
  install_error_reporter();
  const std::vector<Kernel> kernels = kernels_of(spec, policy, plan);
  const Kernel &kernel = kernels[size_t(kind)];
  Halide::Internal::ExecuteGeneratorArgs args =
      generator_args(spec, policy, dir, kernel, PipelineSchedule{OwnSchedule::Cpu});
  args.output_types = {Halide::OutputFileType::assembly};
  Halide::Internal::execute_generator(args);
  return dir / (kernel_file(spec, kernel) + kAssemblyExtension);
}

}  // namespace grugen
