#include "codegen/Tuning.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "codegen/HalideCodegen.h"
#include "codegen/ScheduleReport.h"
#include "llvm/Support/JSON.h"
#include "support/Error.h"
#include "support/Files.h"
#include "support/StagedOutput.h"

namespace grugen {
namespace fs = std::filesystem;

namespace {

// This machine's CPU, as /proc/cpuinfo names it.
std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string name, family, model;
  for (std::string line; std::getline(in, line);) {
    auto value = [&] { return line.substr(line.find(':') + 2); };
    if (name.empty() && line.rfind("model name", 0) == 0) name = value();
    if (family.empty() && line.rfind("cpu family", 0) == 0) family = value();
    if (model.empty() && line.rfind("model\t", 0) == 0) model = value();
  }
  if (name.empty()) return "unknown";
  return name + " (family " + family + ", model " + model + ")";
}

// The threads a kernel measured here runs on: Halide's thread pool, HL_NUM_THREADS or else
// every core (what the library's own runtime does with the same variable). A kernel's parallel
// loops make candidates rank differently with one thread and with several, so a record says it.
int measuring_threads() {
  if (const char *v = std::getenv("HL_NUM_THREADS"))
    if (const int n = std::atoi(v); n > 0) return n;
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return text;
}

// Candidates in the model's order (efficiency, then its own choice first among equals).
std::vector<KernelPlan> ordered(std::vector<KernelPlan> all, const CpuTile &first) {
  std::stable_sort(all.begin(), all.end(), [&](const KernelPlan &a, const KernelPlan &b) {
    if ((a.tile == first) != (b.tile == first)) return a.tile == first;
    return a.estimate.efficiency > b.estimate.efficiency;
  });
  return all;
}

std::string tile_text(const CpuTile &t) {
  return std::to_string(t.vectors) + " vectors x " + std::to_string(t.rows) + " rows";
}

[[noreturn]] void bad_record(const fs::path &file, const std::string &why) {
  throw GruGenError("--tuning-record '" + file.string() + "': " + why);
}

// A record --tune writes is a few kilobytes, nested four levels deep. Anything far larger is not
// one and is refused as it is read (/dev/zero would never end), and so is JSON nested deeper
// than this, before LLVM's parser, which recurses once per level and overflows the stack on
// some ten thousand.
constexpr size_t kRecordBytesMax = size_t(1) << 20;
constexpr int kRecordDepthMax = 64;

// The deepest nesting of arrays and objects in `text` (brackets inside strings not counted).
int json_depth(const std::string &text) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// JSON lets an object name a key twice, and LLVM's parser keeps the last one: a record with two
// "step" choices, or two "vectors" in one, was built from whichever came last, silently. The
// first key that an object of `text` (valid JSON) repeats, with the keys around it as
// "choice.step" (array elements as "[i]"), each as written (escapes kept: one line); else "".
std::string repeated_key(const std::string &text) {
  struct Level {
    bool object;
    std::string path;
    std::set<std::string> keys;  // decoded, as the parser compares them
    std::string key;             // the last key, as written
    bool want_key = true;
    size_t index = 0;
  };
  std::vector<Level> levels;
  auto inner_path = [&]() -> std::string {
    if (levels.empty()) return "";
    const Level &l = levels.back();
    if (!l.object) return l.path + "[" + std::to_string(l.index) + "]";
    return l.path.empty() ? l.key : l.path + "." + l.key;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      const size_t start = i;
      for (++i; text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
      if (levels.empty() || !levels.back().object || !levels.back().want_key) continue;
      Level &l = levels.back();
      const std::string token = text.substr(start, i + 1 - start);
      llvm::Expected<llvm::json::Value> key = llvm::json::parse(token);
      const std::string decoded = key && key->getAsString() ? key->getAsString()->str() : token;
      if (!key) llvm::consumeError(key.takeError());
      l.key = token.substr(1, token.size() - 2);
      l.want_key = false;
      if (!l.keys.insert(decoded).second) return inner_path();
    } else if (c == ',' && !levels.empty()) {
      Level &l = levels.back();
      if (l.object) l.want_key = true;
      else ++l.index;
    } else if (c == '{' || c == '[') {
      Level l{c == '{', inner_path()};
      levels.push_back(std::move(l));
    } else if (c == '}' || c == ']') {
      levels.pop_back();
    }
  }
  return "";
}

// The record's text, read once per process: the driver reads a record before it builds and again
// in each target's process, and those must see the same record even if the file is a pipe
// (--tuning-record <(...)), which can be read only once, or is replaced meanwhile.
const std::string &record_text(const fs::path &file) {
  static std::map<std::string, std::string> texts;
  if (const auto it = texts.find(file.string()); it != texts.end()) return it->second;
  std::error_code ec;
  if (fs::is_directory(file, ec)) bad_record(file, "it is a directory, not a file");
  std::ifstream in(file, std::ios::binary);
  if (!in) bad_record(file, "cannot read it");
  std::string text;
  char chunk[65536];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, size_t(in.gcount()));
    if (text.size() > kRecordBytesMax)
      bad_record(file, "it is larger than 1 MiB, which no tuning record is");
  }
  if (in.bad()) bad_record(file, "cannot read it");
  return texts.emplace(file.string(), std::move(text)).first->second;
}

llvm::json::Object read_record(const fs::path &file) {
  const std::string &text = record_text(file);
  if (json_depth(text) > kRecordDepthMax)
    bad_record(file, "not a gru-gen tuning record (nested more than " +
                         std::to_string(kRecordDepthMax) + " levels deep)");
  llvm::Expected<llvm::json::Value> value = llvm::json::parse(text);
  if (!value) {
    const std::string why = llvm::toString(value.takeError());
    bad_record(file, "not JSON (" + why + ")");
  }
  if (const std::string key = repeated_key(text); !key.empty())
    bad_record(file, "it has \"" + key + "\" twice (a record states each field once)");
  llvm::json::Object *object = value->getAsObject();
  if (!object || object->getInteger("gru_gen_tuning_record") != 1)
    bad_record(file, "not a gru-gen tuning record (version 1)");
  return std::move(*object);
}

// A record's fields, each of its one type: absent gives nullopt (an older record's default, or a
// missing choice); another type, or an integer beyond what the field holds, is refused, not read
// as absent or cut to fit ("layers": "2" is not one layer, nor "vectors": 4294967297 one vector).
std::optional<int64_t> int_field(const fs::path &file, const llvm::json::Object &o,
                                 const std::string &whose, llvm::StringRef key,
                                 int64_t most = INT64_MAX) {
  const llvm::json::Value *v = o.get(key);
  if (!v) return std::nullopt;
  const std::optional<int64_t> i = v->getAsInteger();
  if (!i) bad_record(file, whose + " " + key.str() + " is not an integer");
  if (*i < -most || *i > most)
    bad_record(file, whose + " " + key.str() + " (" + std::to_string(*i) + ") is out of range");
  return i;
}

std::optional<int> small_int_field(const fs::path &file, const llvm::json::Object &o,
                                   const std::string &whose, llvm::StringRef key) {
  const auto i = int_field(file, o, whose, key, 1 << 20);
  return i ? std::optional<int>(int(*i)) : std::nullopt;
}

std::optional<bool> bool_field(const fs::path &file, const llvm::json::Object &o,
                               const std::string &whose, llvm::StringRef key) {
  const llvm::json::Value *v = o.get(key);
  if (!v) return std::nullopt;
  if (!v->getAsBoolean()) bad_record(file, whose + " " + key.str() + " is not true or false");
  return v->getAsBoolean();
}

std::optional<std::string> string_field(const fs::path &file, const llvm::json::Object &o,
                                        const std::string &whose, llvm::StringRef key) {
  const llvm::json::Value *v = o.get(key);
  if (!v) return std::nullopt;
  if (!v->getAsString()) bad_record(file, whose + " " + key.str() + " is not a string");
  return v->getAsString()->str();
}

}  // namespace

// Why this machine cannot run `policy`'s kernels, or "" when it can.
std::string cannot_run_here(const TargetPolicy &policy) {
  const Halide::Target host = Halide::get_host_target(), &t = policy.halide_target;
  if (t.arch != host.arch || t.bits != host.bits || t.os != host.os)
    return "this machine cannot run target '" + policy.name + "'";
  for (int i = 0; i < Halide::Target::FeatureEnd; ++i) {
    const auto f = static_cast<Halide::Target::Feature>(i);
    // A GPU API is the device's, not the CPU's: whether one is there shows when it is used.
    if (Halide::Target().with_feature(f).has_gpu_feature()) continue;
    if (t.has_feature(f) && !host.has_feature(f))
      return "this machine's CPU lacks " + Halide::Target::feature_to_name(f) + " of target '" +
             policy.name + "'";
  }
  return "";
}

// The llvm-mca CPU that ranks a cross target's candidates: the first of its class.
std::string ranking_cpu(const MachineModel &m) { return m.mca_cpus.substr(0, m.mca_cpus.find(',')); }

std::string tune_refusal(const TargetPolicy &policy) {
  const std::string why = cannot_run_here(policy);
  if (policy.device != DeviceApi::None && !why.empty())
    return "--tune measures GPU kernels on this machine's device, and " + why +
           " (a GPU's kernels cannot be predicted)";
  if (policy.device == DeviceApi::Metal && Halide::get_host_target().os != Halide::Target::OSX)
    return "--tune measures GPU kernels on this machine's device, and target '" + policy.name +
           "' runs them through Metal, which only macOS has (a --tuning-record can name its "
           "blocks)";
  if (!why.empty() && ranking_cpu(policy.machine).empty())
    return "--tune measures on this machine, and " + why + " nor predict it (no llvm-mca model)";
  return "";
}

namespace {

std::string gpu_choice_text(const KernelPlan &k) {
  if (k.gpu_schedule != "own") return k.gpu_schedule;
  return "own schedule, " + std::to_string(k.block.threads) + " threads x " +
         std::to_string(k.block.rows) + (k.block.rows == 1 ? " row" : " rows");
}

// The candidates of one GPU kernel: the autoschedulers (the policy's first: the default
// library's choice), then the own schedule with each block, the model's first.
std::vector<KernelPlan> gpu_kernel_candidates(const TargetPolicy &policy, const KernelPlan &model,
                                              const std::vector<PipelineSchedule> &listed,
                                              int64_t rows) {
  std::vector<KernelPlan> all;
  for (const Autoscheduler &as : gpu_autoschedulers(policy, listed)) {
    KernelPlan k = model;
    k.gpu_schedule = as.name;
    all.push_back(k);
  }
  std::vector<GpuBlock> blocks = gpu_candidates(policy.machine, rows);
  std::stable_partition(blocks.begin(), blocks.end(),
                        [&](const GpuBlock &b) { return b == model.block; });
  for (const GpuBlock &b : blocks) {
    KernelPlan k = model;
    k.block = b;
    k.gpu_schedule = "own";
    all.push_back(k);
  }
  return all;
}

std::string json_text(llvm::json::Object object) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(object))) << "\n";
  os.flush();
  return text;
}

llvm::json::Object record_spec(const GruSpec &spec) {
  return llvm::json::Object{{"input_size", spec.input_size},
                            {"hidden_size", spec.hidden_size},
                            {"batch", spec.batch},
                            {"reset_after", spec.reset_after},
                            {"weights_precision", precision_name(spec.weights_precision)},
                            {"has_bias", spec.has_bias},
                            {"layers", spec.layers},
                            {"direction", direction_name(spec.direction)}};
}

// --tune on a GPU target this machine's device runs (opencl): every candidate of the projection
// and the step timed on the device, within the budget, the policy's default first.
SchedulePlan tune_gpu_plan(const GruSpec &spec, const TargetPolicy &policy, double seconds,
                           std::string &record,
                           const std::function<void(const std::string &)> &progress) {
  const MachineModel &m = policy.machine;
  const SchedulePlan model = plan_for_gpu(m);
  const auto steps = gpu_kernel_candidates(policy, model.step, policy.schedules.step, spec.batch);
  const auto projections = gpu_kernel_candidates(policy, model.projection,
                                                 policy.schedules.projection, spec.projection_block_rows());
  // The autoschedulers' candidates come first; then the model's own block.
  const size_t first_own = gpu_autoschedulers(policy, policy.schedules.step).size();
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const double per = std::clamp(seconds / 40, 0.02, 0.2);
  llvm::json::Array measured;
  KernelPlan best_step = model.step, best_projection = model.projection;
  double step_s = 1e30, projection_s = 1e30;
  // A candidate's time on the device (throws GruGenError when it cannot be used).
  auto time_candidate = [&](const KernelPlan &candidate, bool is_step) {
    const std::vector<PipelineSchedule> &listed =
        is_step ? policy.schedules.step : policy.schedules.projection;
    const SchedulePlan plan =
        is_step ? plan_with_gpu_blocks(m, spec, model.projection, candidate, "measured")
                : plan_with_gpu_blocks(m, spec, candidate, model.step, "measured");
    // The candidate's first schedule is what it measures (its own fallback is a candidate too).
    const PipelineSchedule schedule =
        gpu_schedules(policy, listed, candidate.gpu_schedule).front();
    return time_kernel(spec, policy, plan, is_step ? KernelKind::Step : KernelKind::Projection,
                       schedule, per);
  };
  auto measure = [&](const char *kernel, const KernelPlan &candidate, bool is_step) {
    const std::string what = gpu_choice_text(candidate);
    double s = 0;
    try {
      s = time_candidate(candidate, is_step);
    } catch (const GruGenError &e) {
      progress(policy.name + ": tune " + kernel + " " + what + ": cannot be used (" + e.what() +
               ")");
      return;
    }
    double &best_s = is_step ? step_s : projection_s;
    KernelPlan &best = is_step ? best_step : best_projection;
    const bool faster = s < best_s;
    if (faster) best_s = s, best = candidate;
    char line[96];
    std::snprintf(line, sizeof line, ": %.2f us%s", s * 1e6, faster ? ", fastest so far" : "");
    progress(policy.name + ": tune " + kernel + " " + what + line);
    measured.push_back(llvm::json::Object{
        {"kernel", kernel},
        {"schedule", candidate.gpu_schedule},
        {"threads", candidate.block.threads},
        {"rows", candidate.block.rows},
        {"seconds", s}});
  };
  // The default library's choice, the model's block and every autoscheduler first, whatever
  // the budget; then the other blocks while it lasts.
  std::vector<size_t> order = {0, first_own};
  for (size_t i = 1; i < std::max(steps.size(), projections.size()); ++i)
    if (i != first_own) order.push_back(i);
  for (size_t n = 0; n < order.size(); ++n) {
    const size_t i = order[n];
    if (n > first_own && elapsed() > seconds) break;
    if (i < steps.size()) measure("step", steps[i], true);
    if (i < projections.size()) measure("projection", projections[i], false);
  }
  if (step_s == 1e30 || projection_s == 1e30)
    throw GruGenError("--tune: no candidate of the " + std::string(step_s == 1e30 ? "step" : "projection") +
                      " ran on this machine's " + policy.name + " device");
  // A winner other than the default library's choice (each kernel's first candidate) is timed
  // again against it, in turn, three times each (beyond the budget), and kept only if still
  // faster, as on CPUs: one lucky measurement on a device the rest of the machine shares must not
  // replace the default by a slower schedule. A default that cannot be used loses.
  auto confirm = [&](const char *kernel, const KernelPlan &fallback, KernelPlan &best,
                     bool is_step) {
    if (best.gpu_schedule == fallback.gpu_schedule && best.block == fallback.block) return;
    double default_s = 1e30, winner_s = 1e30;
    for (int round = 0; round < 3; ++round) {
      try {
        default_s = std::min(default_s, time_candidate(fallback, is_step));
      } catch (const GruGenError &) {
        return;
      }
      winner_s = std::min(winner_s, time_candidate(best, is_step));
    }
    const bool keep = winner_s < default_s;
    char line[200];
    std::snprintf(line, sizeof line, ": %.2f us against the default's %s: %.2f us (three times each), %s",
                  winner_s * 1e6, gpu_choice_text(fallback).c_str(), default_s * 1e6,
                  keep ? "kept" : "the default's kept");
    progress(policy.name + ": confirm " + kernel + " " + gpu_choice_text(best) + line);
    measured.push_back(llvm::json::Object{{"kernel", kernel},
                                          {"confirm", true},
                                          {"schedule", best.gpu_schedule},
                                          {"threads", best.block.threads},
                                          {"rows", best.block.rows},
                                          {"seconds", winner_s},
                                          {"default_seconds", default_s}});
    if (!keep) best = fallback;
  };
  confirm("step", steps.front(), best_step, true);
  confirm("projection", projections.front(), best_projection, false);
  auto choice = [&](const KernelPlan &k) {
    return llvm::json::Object{
        {"schedule", k.gpu_schedule}, {"threads", k.block.threads}, {"rows", k.block.rows}};
  };
  const std::string where = cpu_name();
  record = json_text(llvm::json::Object{
      {"gru_gen_tuning_record", 1},
      {"spec", record_spec(spec)},
      {"target", policy.halide_target.to_string()},
      {"method", "measured"},
      {"machine", llvm::json::Object{{"cpu", where}, {"measured_at", utc_now()}}},
      {"choice", llvm::json::Object{{"projection", choice(best_projection)},
                                    {"step", choice(best_step)}}},
      {"measurements", std::move(measured)},
  });
  return plan_with_gpu_blocks(m, spec, best_projection, best_step,
                              "measured (--tune) on " + where);
}

}  // namespace

SchedulePlan tune_plan(const GruSpec &spec, const TargetPolicy &policy, double seconds,
                       std::string &record,
                       const std::function<void(const std::string &)> &progress) {
  if (const std::string why = tune_refusal(policy); !why.empty()) throw GruGenError(why);
  if (policy.device != DeviceApi::None)
    return tune_gpu_plan(spec, policy, seconds, record, progress);
  const MachineModel &m = policy.machine;
  // A target this machine runs is measured; another is predicted: llvm-mca's cycles per FMA of
  // the kernel's inner loop on the first CPU of its class (the kernels' FMAs are fixed by the
  // spec, so fewer cycles per FMA is less time, loops and gates aside).
  const bool predict = !cannot_run_here(policy).empty();
  const std::string mca_cpu = ranking_cpu(m);
  ScratchDirectory scratch;
  const int kpe = weight_storage(policy, spec).k_per_element;
  const SchedulePlan model = plan_from_model(m, spec, spec.projection_block_rows(), kpe);
  auto steps = ordered(step_candidates(m, spec, kpe), model.step.tile);
  auto projections = ordered(
      projection_candidates(m, 3 * spec.hidden_size, spec.projection_block_rows(), 0, kpe),
      model.projection.tile);
  if (predict) {
    // A prediction sees one loop, not the memory: a tile whose width does not divide the
    // matrix (so its weights lie in the one-panel layout, three short runs per row) can look
    // as fast as one that streams its own panel, and measured 4-5x slower on x86. Predicted
    // candidates are those whose panel divides, where any does.
    auto keep_dividing = [&](std::vector<KernelPlan> &all, int64_t extent) {
      std::vector<KernelPlan> dividing;
      for (const KernelPlan &k : all)
        if (panel_divides(m, extent, k.tile)) dividing.push_back(k);
      if (!dividing.empty()) all = dividing;
    };
    keep_dividing(steps, spec.hidden_size);
    keep_dividing(projections, 3 * spec.hidden_size);
  }
  const int threads = measuring_threads();
  if (!predict)
    progress(policy.name + ": tune with " + std::to_string(threads) + " thread" +
             (threads == 1 ? "" : "s") +
             " (Halide's pool: HL_NUM_THREADS, else every core; set it to the threads the "
             "library will run with)");
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // Each time is the least of repetitions over this long (a fortieth of the budget, within
  // [0.02 s, 0.2 s]).
  const double per = std::clamp(seconds / 40, 0.02, 0.2);
  llvm::json::Array measured;
  CpuTile best_step = model.step.tile, best_projection = model.projection.tile;
  double step_s = 1e30, projection_s = 1e30;
  // A candidate's figure: its time here, or llvm-mca's cycles per FMA of its inner loop.
  auto figure = [&](KernelPlan candidate, bool is_step) {
    if (is_step) candidate.tile.k_block = step_k_block(m, spec, candidate.tile);
    const SchedulePlan plan =
        is_step ? plan_with_tiles(m, spec, spec.projection_block_rows(), kpe,
                                  model.projection.tile,
                                  candidate.tile, "measured")
                : plan_with_tiles(m, spec, spec.projection_block_rows(), kpe, candidate.tile,
                                  model.step.tile,
                                  "measured");
    const KernelKind kind = is_step ? KernelKind::Step : KernelKind::Projection;
    if (predict) {
      const LoopPrediction p = predict_inner_loop(
          kernel_assembly(spec, policy, plan, kind, scratch.path()), policy.halide_target,
          mca_cpu, m, scratch.path());
      if (!p.found) throw GruGenError(p.why_not);
      return p.cycles / p.fmas;
    }
    return time_kernel(spec, policy, plan, kind, PipelineSchedule{OwnSchedule::Cpu}, per);
  };
  auto measure = [&](const char *kernel, KernelPlan candidate, bool is_step) {
    if (is_step) candidate.tile.k_block = step_k_block(m, spec, candidate.tile);
    double s = 0;
    try {
      s = figure(candidate, is_step);
    } catch (const GruGenError &e) {
      progress(policy.name + ": tune " + kernel + " " + tile_text(candidate.tile) +
               ": cannot be compiled (" + e.what() + ")");
      return;
    }
    double &best_s = is_step ? step_s : projection_s;
    CpuTile &best = is_step ? best_step : best_projection;
    const bool faster = s < best_s;
    if (faster) best_s = s, best = candidate.tile;
    char line[200];
    if (predict)
      std::snprintf(line, sizeof line, ": %.3f cycles per FMA, llvm-mca %s (model: %.0f%% of the FMA peak)%s",
                    s, mca_cpu.c_str(), 100 * candidate.estimate.efficiency,
                    faster ? ", fastest so far" : "");
    else
      std::snprintf(line, sizeof line, ": %.2f us (model: %.0f%% of the FMA peak)%s", s * 1e6,
                    100 * candidate.estimate.efficiency, faster ? ", fastest so far" : "");
    progress(policy.name + (predict ? ": predict " : ": tune ") + kernel + " " +
             tile_text(candidate.tile) + line);
    measured.push_back(llvm::json::Object{{"kernel", kernel},
                                          {"vectors", candidate.tile.vectors},
                                          {"rows", candidate.tile.rows},
                                          {predict ? "cycles_per_fma" : "seconds", s}});
  };
  // The model's choices first, whatever the budget; then the candidates in the model's order,
  // alternating kernels, while the budget lasts.
  for (size_t i = 0; i < std::max(steps.size(), projections.size()); ++i) {
    if (i > 0 && elapsed() > seconds) break;
    if (i < steps.size()) measure("step", steps[i], true);
    if (i < projections.size()) measure("projection", projections[i], false);
  }
  // A measured winner other than the model's choice is timed again against it, in turn, three
  // times each (beyond the budget): one lucky measurement -- a moment when another process left
  // the cores free -- must not replace the model's choice by a slower tile.
  auto confirm = [&](const char *kernel, const KernelPlan &model_plan, CpuTile &best,
                     bool is_step) {
    if (predict || best == model_plan.tile) return;
    KernelPlan winner = model_plan;
    winner.tile = best;
    double model_s = 1e30, winner_s = 1e30;
    for (int round = 0; round < 3; ++round) {
      model_s = std::min(model_s, figure(model_plan, is_step));
      winner_s = std::min(winner_s, figure(winner, is_step));
    }
    const bool keep = winner_s < model_s;
    char line[200];
    std::snprintf(line, sizeof line, ": %.2f us against the model's %s: %.2f us (three times each), %s",
                  winner_s * 1e6, tile_text(model_plan.tile).c_str(), model_s * 1e6,
                  keep ? "kept" : "the model's kept");
    progress(policy.name + ": confirm " + kernel + " " + tile_text(best) + line);
    measured.push_back(llvm::json::Object{{"kernel", kernel},
                                          {"confirm", true},
                                          {"vectors", best.vectors},
                                          {"rows", best.rows},
                                          {"seconds", winner_s},
                                          {"model_seconds", model_s}});
    if (!keep) best = model_plan.tile;
  };
  confirm("step", model.step, best_step, true);
  confirm("projection", model.projection, best_projection, false);
  const std::string where = predict ? "llvm-mca " + mca_cpu + ", run on " + cpu_name() : cpu_name();
  const SchedulePlan plan =
      plan_with_tiles(m, spec, spec.projection_block_rows(), kpe, best_projection, best_step,
                      (predict ? "predicted (--tune) by " : "measured (--tune) on ") + where);
  llvm::json::Object rec{
      {"gru_gen_tuning_record", 1},
      {"spec", record_spec(spec)},
      {"target", policy.halide_target.to_string()},
      {"method", predict ? "predicted" : "measured"},
      {"machine", predict ? llvm::json::Object{{"cpu", where}, {"measured_at", utc_now()}}
                          : llvm::json::Object{{"cpu", where},
                                               {"measured_at", utc_now()},
                                               {"threads", threads}}},
      {"choice",
       llvm::json::Object{
           {"projection", llvm::json::Object{{"vectors", best_projection.vectors},
                                             {"rows", best_projection.rows}}},
           {"step", llvm::json::Object{{"vectors", best_step.vectors},
                                       {"rows", best_step.rows},
                                       {"k_block", best_step.k_block}}}}},
      {"measurements", std::move(measured)},
  };
  record = json_text(std::move(rec));
  return plan;
}

std::string record_target(const fs::path &file) {
  const llvm::json::Object rec = read_record(file);
  const std::optional<llvm::StringRef> target = rec.getString("target");
  if (!target) bad_record(file, "it names no target");
  return target->str();
}

SchedulePlan plan_from_record(const GruSpec &spec, const TargetPolicy &policy,
                              const fs::path &file) {
  const llvm::json::Object rec = read_record(file);
  const llvm::json::Object *s = rec.getObject("spec");
  if (!s) bad_record(file, "it has no spec");
  const std::string whose = "its spec's";
  const auto D = int_field(file, *s, whose, "input_size"),
             H = int_field(file, *s, whose, "hidden_size"), N = int_field(file, *s, whose, "batch");
  const auto bias = bool_field(file, *s, whose, "has_bias");
  if (!D || !H || !N || !bias)
    bad_record(file, "its spec has no " + std::string(!D ? "input_size" : !H ? "hidden_size"
                                                      : !N ? "batch" : "has_bias"));
  // Records written before these were stated were of float32 reset-after specs of one forward
  // layer.
  const bool reset_after = bool_field(file, *s, whose, "reset_after").value_or(true);
  const std::string precision =
      string_field(file, *s, whose, "weights_precision").value_or("f32");
  const int64_t layers = int_field(file, *s, whose, "layers").value_or(1);
  const std::string direction_text = string_field(file, *s, whose, "direction").value_or("forward");
  std::optional<GruDirection> direction;
  for (GruDirection d : {GruDirection::Forward, GruDirection::Reverse, GruDirection::Bidirectional})
    if (direction_text == direction_name(d)) direction = d;
  if (!direction) bad_record(file, "its direction '" + direction_text + "' is none gru-gen knows");
  auto text = [](int64_t d, int64_t h, int64_t n, bool has_bias, bool after, const std::string &p,
                 int64_t l, GruDirection dir) {
    return "D=" + std::to_string(d) + " H=" + std::to_string(h) + " N=" + std::to_string(n) +
           (has_bias ? "" : " no bias") + (p == "f32" ? "" : " " + p + " weights") +
           (after ? "" : " reset before") +
           (l == 1 && dir == GruDirection::Forward ? "" : ", " + describe_stack(l, dir));
  };
  const std::string wanted = precision_name(spec.weights_precision);
  if (D != spec.input_size || H != spec.hidden_size || N != spec.batch ||
      bias != spec.has_bias || reset_after != spec.reset_after || precision != wanted ||
      layers != spec.layers || *direction != spec.direction)
    bad_record(file, "it was tuned for another spec (" +
                         text(*D, *H, *N, *bias, reset_after, precision, layers, *direction) +
                         "), not " +
                         text(spec.input_size, spec.hidden_size, spec.batch, spec.has_bias,
                              spec.reset_after, wanted, spec.layers, spec.direction));
  const std::string target = record_target(file);
  if (target != policy.halide_target.to_string())
    bad_record(file, "it was tuned for target " + target + ", not " +
                         policy.halide_target.to_string());
  const llvm::json::Object *choice = rec.getObject("choice");
  const llvm::json::Object *machine = rec.getObject("machine");
  const std::optional<llvm::StringRef> cpu = machine ? machine->getString("cpu") : std::nullopt;
  const bool predicted = rec.getString("method") == llvm::StringRef("predicted");
  const std::string origin = "tuning record " + file.filename().string() +
                             (predicted ? " (predicted by " : " (measured on ") +
                             (cpu ? cpu->str() : "an unnamed machine") + ")";
  const MachineModel &m = policy.machine;
  if (policy.device != DeviceApi::None) {
    const SchedulePlan model = plan_for_gpu(m);
    auto gpu = [&](const char *kernel, const KernelPlan &model_choice, int64_t rows,
                   const std::vector<PipelineSchedule> &listed) {
      const llvm::json::Object *t = choice ? choice->getObject(kernel) : nullptr;
      const std::string whose = std::string("its ") + kernel + " choice's";
      const auto schedule = t ? string_field(file, *t, whose, "schedule") : std::nullopt;
      const auto threads = t ? small_int_field(file, *t, whose, "threads") : std::nullopt;
      const auto r = t ? small_int_field(file, *t, whose, "rows") : std::nullopt;
      if (!schedule || !threads || !r)
        bad_record(file, std::string("it has no GPU choice for the ") + kernel);
      KernelPlan k = model_choice;
      k.block = {int(*threads), int(*r)};
      k.gpu_schedule = *schedule;
      if (k.gpu_schedule.empty() || gpu_schedules(policy, listed, k.gpu_schedule).empty())
        bad_record(file, std::string("its ") + kernel + " schedule '" + k.gpu_schedule +
                             "' is neither 'own' nor an autoscheduler of this target");
      const auto blocks = gpu_candidates(m, rows);
      if (std::find(blocks.begin(), blocks.end(), k.block) == blocks.end())
        bad_record(file, std::string("its ") + kernel + " block (" + std::to_string(*threads) +
                             " threads x " + std::to_string(*r) +
                             " rows) is not one this target can take");
      return k;
    };
    return plan_with_gpu_blocks(
        m, spec, gpu("projection", model.projection, spec.projection_block_rows(), policy.schedules.projection),
        gpu("step", model.step, spec.batch, policy.schedules.step), origin);
  }
  auto tile = [&](const char *kernel, const std::vector<KernelPlan> &candidates) {
    const bool is_step = std::string(kernel) == "step";
    const llvm::json::Object *t = choice ? choice->getObject(kernel) : nullptr;
    const std::string whose = std::string("its ") + kernel + " choice's";
    const auto v = t ? small_int_field(file, *t, whose, "vectors") : std::nullopt;
    const auto r = t ? small_int_field(file, *t, whose, "rows") : std::nullopt;
    if (!v || !r) bad_record(file, std::string("it has no choice for the ") + kernel);
    int kb = small_int_field(file, *t, whose, "k_block").value_or(0);
    // Only the step's reduction is blocked (--tune writes no k block for the projection, whose
    // schedule has none: one there was reported as blocks the library did not have).
    if (kb != 0 && !is_step)
      bad_record(file, std::string("its ") + kernel + " has a k block (" + std::to_string(kb) +
                           "); only the step's reduction is blocked");
    if (kb < 0 || kb >= spec.hidden_size || (kb > 0 && spec.hidden_size % kb != 0))
      bad_record(file, std::string("its ") + kernel + " k block (" + std::to_string(kb) +
                           ") does not divide H=" + std::to_string(spec.hidden_size));
    // A step that takes its reduction whole whatever the k block (reset before, w8a8) is the
    // same library with or without one: --tune wrote one for such specs, and those records
    // replay to the same bytes, no longer reported as blocked.
    if (!step_blocks_reduction(spec)) kb = 0;
    const CpuTile chosen{*v, *r, kb};
    for (const KernelPlan &k : candidates)
      if (k.tile == chosen) return chosen;
    bad_record(file, std::string("its ") + kernel + " tile (" + tile_text(chosen) +
                         ") is not one this target can take");
  };
  const int kpe = weight_storage(policy, spec).k_per_element;
  const CpuTile step = tile("step", step_candidates(m, spec, kpe));
  const CpuTile projection = tile(
      "projection",
      projection_candidates(m, 3 * spec.hidden_size, spec.projection_block_rows(), 0, kpe));
  return plan_with_tiles(m, spec, spec.projection_block_rows(), kpe, projection, step, origin);
}

}  // namespace grugen
