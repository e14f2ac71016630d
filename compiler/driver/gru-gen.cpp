// gru-gen: compiles a fixed-shape GRU spec into a static library with a C ABI.
//
//   flags -> GruSpec -> (per target) Halide pipelines + schedule -> objects -> lib<name>.a
//                    -> <name>.h
//
// Every user error ends here as one line `gru-gen: error: ...` and exit status 1, with nothing
// left in the output directory (StagedOutput).
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "codegen/HalideCodegen.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"
#include "package/LibraryPackager.h"
#include "package/StagedOutput.h"
#include "schedules/SchedulePolicy.h"
#include "spec/GruSpec.h"
#include "support/Error.h"

namespace cl = llvm::cl;
namespace fs = std::filesystem;
using namespace grugen;

namespace {

cl::OptionCategory category("gru-gen options");

cl::opt<long long> input_size("input-size", cl::desc("D: features per timestep"),
                              cl::value_desc("D"), cl::init(0), cl::cat(category));
cl::opt<long long> hidden_size("hidden-size", cl::desc("H: hidden state size"),
                               cl::value_desc("H"), cl::init(0), cl::cat(category));
cl::opt<long long> batch("batch", cl::desc("N: sequences per call (default 1)"),
                         cl::value_desc("N"), cl::init(1), cl::cat(category));
cl::opt<bool> no_bias("no-bias", cl::desc("The layer has no b/bhn (mlx.nn.GRU(bias=False))"),
                      cl::cat(category));
cl::opt<std::string> name("name", cl::desc("Library name: prefixes every symbol (a C identifier)"),
                          cl::value_desc("name"), cl::cat(category));
cl::list<std::string> targets("target",
                              cl::desc("Comma-separated targets to compile for (default host)"),
                              cl::value_desc("targets"), cl::CommaSeparated, cl::cat(category));
cl::opt<std::string> output_dir("o", cl::desc("Output directory: <name>.h and <target>/lib<name>.a"),
                                cl::value_desc("dir"), cl::cat(category));
enum class Emit { Stmt, Assembly, Schedule };
cl::list<Emit> emits("emit", cl::desc("Extra outputs, written beside each library"),
                     cl::CommaSeparated, cl::cat(category),
                     cl::values(clEnumValN(Emit::Stmt, "stmt", "Halide's lowered statement"),
                                clEnumValN(Emit::Assembly, "assembly", "kernel assembly"),
                                clEnumValN(Emit::Schedule, "schedule",
                                           "the schedule that was used (C++)")));

GruSpec spec_from_flags() {
  GruSpec spec;
  spec.name = name;
  spec.input_size = input_size;
  spec.hidden_size = hidden_size;
  spec.batch = batch;
  spec.has_bias = !no_bias;
  if (name.getNumOccurrences() == 0) throw GruGenError("--name is required");
  if (input_size.getNumOccurrences() == 0) throw GruGenError("--input-size is required");
  if (hidden_size.getNumOccurrences() == 0) throw GruGenError("--hidden-size is required");
  if (auto err = validate(spec)) {
    static const char *flag_of[] = {"--name", "--input-size", "--hidden-size", "--batch",
                                    "--input-size/--hidden-size"};
    throw GruGenError(std::string("invalid ") + flag_of[int(err->field)] + ": " + err->message);
  }
  return spec;
}

std::vector<TargetPolicy> policies_from_flags() {
  std::vector<std::string> names(targets.begin(), targets.end());
  if (names.empty()) names = {"host"};
  std::vector<TargetPolicy> policies;
  std::set<std::string> seen;
  for (const std::string &t : names) {
    auto policy = lookup_target(t);
    if (!policy)
      throw GruGenError("unknown target '" + t + "' (known: " +
                        llvm::join(known_target_names(), ", ") + ")");
    if (seen.insert(policy->name).second) policies.push_back(*policy);
  }
  return policies;
}

void generate(const GruSpec &spec, const std::vector<TargetPolicy> &policies,
              const EmitOptions &emit) {
  if (output_dir.empty()) throw GruGenError("an output directory is required (-o DIR)");
  StagedOutput out(output_dir.getValue());
  std::ofstream header(out.staging() / (spec.name + ".h"));
  header << render_header(spec);
  if (!header.flush()) throw GruGenError("cannot write '" + spec.name + ".h'");

  for (const TargetPolicy &policy : policies) {
    ScratchDirectory work;
    std::vector<fs::path> members;
    const fs::path target_dir = out.staging() / policy.name;
    fs::create_directories(target_dir);
    for (const PipelineFiles &pipeline : compile_pipelines(spec, policy, work.path(), emit)) {
      members.push_back(pipeline.object);
      for (const fs::path &extra : pipeline.extras)
        fs::rename(extra, target_dir / extra.filename());
    }
    members.push_back(compile_runtime(spec, policy, work.path()));
    members.push_back(compile_halide_runtime(policy, work.path()));
    write_archive(target_dir / ("lib" + spec.name + ".a"), members);
  }
  out.commit();
}

}  // namespace

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(category);
  std::string parse_errors;
  llvm::raw_string_ostream errs(parse_errors);
  if (!cl::ParseCommandLineOptions(argc, argv,
                                   "gru-gen: compile a fixed-shape GRU (mlx.nn.GRU semantics) "
                                   "into a static library with a C ABI\n",
                                   &errs)) {
    // LLVM's parser may explain over several lines; the contract is one line.
    errs.flush();
    std::string first = parse_errors.substr(0, parse_errors.find('\n'));
    const std::string prefix = std::string(argv[0]) + ": ";
    if (first.rfind(prefix, 0) == 0) first = first.substr(prefix.size());
    while (!first.empty() && first.back() == ' ') first.pop_back();
    std::fprintf(stderr, "gru-gen: error: %s\n", first.c_str());
    return 1;
  }
  try {
    const GruSpec spec = spec_from_flags();
    const std::vector<TargetPolicy> policies = policies_from_flags();
    EmitOptions emit;
    for (Emit e : emits) {
      emit.stmt |= e == Emit::Stmt;
      emit.assembly |= e == Emit::Assembly;
      emit.schedule |= e == Emit::Schedule;
    }
    generate(spec, policies, emit);
  } catch (const GruGenError &e) {
    std::fprintf(stderr, "gru-gen: error: %s\n", e.what());
    return 1;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "gru-gen: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
