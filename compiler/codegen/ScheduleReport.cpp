#include "codegen/ScheduleReport.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "support/Files.h"
#include "support/Subprocess.h"

namespace grugen {
namespace fs = std::filesystem;

namespace {

std::string fmt(const char *format, double a, double b = 0, double c = 0, double d = 0) {
  char text[512];
  std::snprintf(text, sizeof text, format, a, b, c, d);
  return text;
}

std::string trim(const std::string &s) {
  const size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// One instruction of the assembly: mnemonic and operand text, comments removed.
struct Instruction {
  std::string mnemonic, operands, text;
};

// The operands split at top-level commas (not inside braces or brackets).
std::vector<std::string> split_operands(const std::string &ops) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : ops) {
    if (c == '{' || c == '[' || c == '(') ++depth;
    if (c == '}' || c == ']' || c == ')') --depth;
    if (c == ',' && depth == 0) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!trim(cur).empty()) out.push_back(trim(cur));
  return out;
}

// A multiply-accumulate of the reduction: a float FMA, or (w8a8) an integer dot product, Arm's
// sdot/udot or x86's VNNI vpdpbusd (4 byte products into each 32-bit lane), which the report
// counts as the reduction's "FMAs".
bool is_fma(const Instruction &i, bool arm) {
  if (arm)
    return i.mnemonic.rfind("fmla", 0) == 0 || i.mnemonic.rfind("fmadd", 0) == 0 ||
           i.mnemonic == "sdot" || i.mnemonic == "udot";
  return i.mnemonic.find("fmadd") != std::string::npos ||
         i.mnemonic.find("fnmadd") != std::string::npos || i.mnemonic.rfind("vpdpbusd", 0) == 0;
}

// Vector or scalar loads an instruction issues: ARM ld* (ldp two, ld1 {a, b} one per register),
// x86 any instruction reading memory (an operand other than the destination, the last, in
// AT&T syntax).
int loads_of(const Instruction &i, bool arm) {
  if (arm) {
    if (i.mnemonic.rfind("ld", 0) != 0) return 0;
    if (i.mnemonic.rfind("ldp", 0) == 0) return 2;
    const size_t open = i.operands.find('{'), close = i.operands.find('}');
    if (open != std::string::npos && close != std::string::npos)
      return int(split_operands(i.operands.substr(open + 1, close - open - 1)).size());
    return 1;
  }
  const auto ops = split_operands(i.operands);
  for (size_t k = 0; k + 1 < ops.size(); ++k)
    if (ops[k].find('(') != std::string::npos) return 1;
  return 0;
}

// The single-block loops of an assembly file (a label whose block ends in a branch back to
// it), as their instructions; of those with at least two FMAs, the one where FMAs are the
// largest share of the instructions: a reduction's loop (a gate's polynomials also use FMAs,
// among many other instructions). `label` is set to its label.
std::vector<Instruction> innermost_fma_loop(const std::string &text, bool arm, int &fmas,
                                            std::string &best_label) {
  std::vector<Instruction> best, block;
  std::string label;
  fmas = 0;
  double best_density = 0;
  std::istringstream in(text);
  static const std::regex label_re(R"(^([.A-Za-z_$][\w.$]*):)");
  for (std::string line; std::getline(in, line);) {
    // Comments: '#' on x86 (AT&T), '//' and ';' on AArch64 ('#' is an immediate there).
    for (const char *mark : arm ? std::vector<const char *>{"//", ";"}
                                : std::vector<const char *>{"#"})
      if (size_t at = line.find(mark); at != std::string::npos) line.erase(at);
    std::smatch m;
    if (std::regex_search(line, m, label_re)) {
      label = m[1];
      block.clear();
      continue;
    }
    const std::string body = trim(line);
    if (body.empty() || body[0] == '.') continue;  // a directive
    Instruction ins;
    const size_t space = body.find_first_of(" \t");
    ins.mnemonic = body.substr(0, space);
    ins.operands = space == std::string::npos ? "" : trim(body.substr(space));
    ins.text = body;
    block.push_back(ins);
    // A branch back to this block's label closes a single-block loop.
    const bool branch = arm ? (ins.mnemonic == "b" || ins.mnemonic.rfind("b.", 0) == 0 ||
                               ins.mnemonic == "cbnz" || ins.mnemonic == "cbz" ||
                               ins.mnemonic == "tbnz" || ins.mnemonic == "tbz")
                            : ins.mnemonic[0] == 'j';
    if (branch && !label.empty()) {
      const auto ops = split_operands(ins.operands);
      if (!ops.empty() && ops.back() == label) {
        int count = 0;
        for (const Instruction &i : block) count += is_fma(i, arm);
        const double density = double(count) / double(block.size());
        if (count >= 2 && density > best_density) {
          fmas = count;
          best = block;
          best_label = label;
          best_density = density;
        }
      }
      label.clear();  // the block goes on past a branch only as another block
    }
  }
  return best;
}

std::string mca_triple(const Halide::Target &t) {
  if (t.arch == Halide::Target::ARM)
    return t.os == Halide::Target::OSX ? "arm64-apple-macosx11.0" : "aarch64-unknown-linux-gnu";
  return "x86_64-unknown-linux-gnu";
}

// llvm-mca: $GRU_GEN_LLVM_MCA, else llvm-mca-19 or llvm-mca on PATH, else where the build found
// LLVM's tools.
std::vector<std::string> mca_candidates() {
  std::vector<std::string> c;
  if (const char *e = std::getenv("GRU_GEN_LLVM_MCA"); e && *e) return {e};
  c = {"llvm-mca-19", "llvm-mca"};
#ifdef GRUGEN_LLVM_TOOLS_DIR
  c.push_back(std::string(GRUGEN_LLVM_TOOLS_DIR) + "/llvm-mca");
#endif
  return c;
}

// Cycles per iteration llvm-mca predicts for `body` (a loop body, label included) on `cpu`;
// 0 with `error` set when it cannot.
double mca_cycles(const std::string &body, const Halide::Target &target, const std::string &cpu,
                  const fs::path &file, std::string &error) {
  write_file(file, body);
  constexpr int kIterations = 200;
  for (const std::string &mca : mca_candidates()) {
    const SubprocessResult r =
        run_subprocess({mca, "-mtriple=" + mca_triple(target), "-mcpu=" + cpu,
                        "-iterations=" + std::to_string(kIterations), file.string()},
                       file.parent_path());
    if (!r.started) continue;
    std::smatch m;
    static const std::regex cycles_re(R"(Total Cycles:\s+(\d+))");
    if (r.exit_code != 0 || !std::regex_search(r.output, m, cycles_re)) {
      error = mca + " failed: " + r.output.substr(0, r.output.find('\n'));
      return 0;
    }
    return std::stod(m[1]) / kIterations;
  }
  error = "llvm-mca not found (set GRU_GEN_LLVM_MCA, or install LLVM 19's tools)";
  return 0;
}

}  // namespace

LoopPrediction predict_inner_loop(const fs::path &assembly, const Halide::Target &target,
                                  const std::string &mca_cpu, const MachineModel &model,
                                  const fs::path &work) {
  LoopPrediction p;
  const bool arm = target.arch == Halide::Target::ARM;
  std::string label;
  const std::vector<Instruction> loop =
      innermost_fma_loop(read_text(assembly), arm, p.fmas, label);
  if (loop.empty()) {
    p.why_not = "no single-block loop with FMAs in the kernel's assembly";
    return p;
  }
  p.instructions = int(loop.size());
  // The loop, and its FMAs alone and its loads alone (each with the loop's branch): llvm-mca's
  // cycles for those are the FMA and load bounds of its own model of the CPU for exactly these
  // instructions (its models differ from the hardware's figures: LLVM 19 issues apple-a14's FP
  // work on three pipes where Firestorm has four, and one 512-bit FMA per cycle on Ice Lake
  // server), so the shares say how close the schedule comes to what the model allows.
  std::string body = label + ":\n", fmas = body, loads = body;  // Mach-O needs the label
  for (const Instruction &i : loop) {
    body += "\t" + i.text + "\n";
    const int n = loads_of(i, arm);
    p.loads += n;
    if (is_fma(i, arm)) fmas += "\t" + i.text + "\n";
    if (n > 0 && !is_fma(i, arm)) loads += "\t" + i.text + "\n";
  }
  fmas += "\t" + loop.back().text + "\n";
  loads += "\t" + loop.back().text + "\n";
  p.fma_hw_bound = double(p.fmas) / model.fma_pipes;
  std::string error;
  const std::string base = (work / (assembly.stem().string() + "." + mca_cpu)).string();
  p.cycles = mca_cycles(body, target, mca_cpu, base + ".loop.s", error);
  if (p.cycles > 0) p.fma_bound = mca_cycles(fmas, target, mca_cpu, base + ".fmas.s", error);
  // x86 folds most loads into the FMAs (a memory operand): there the bound is the loads over the
  // machine model's ports.
  if (p.fma_bound > 0)
    p.load_bound = arm ? mca_cycles(loads, target, mca_cpu, base + ".loads.s", error)
                       : double(p.loads) / model.load_ports;
  if (p.load_bound <= 0) {
    p.why_not = error;
    return p;
  }
  p.found = true;
  return p;
}

std::string schedule_report(const GruSpec &spec, const TargetPolicy &policy,
                            const SchedulePlan &plan, const std::vector<ReportedKernel> &kernels,
                            const fs::path &work) {
  const MachineModel &m = policy.machine;
  std::string r = spec.name + " (D=" + std::to_string(spec.input_size) +
                  " H=" + std::to_string(spec.hidden_size) + " N=" +
                  std::to_string(spec.batch) + ") for target " + policy.name + " (" +
                  policy.halide_target.to_string() + ")\n";
  r += "schedule plan: " + plan.origin + "\n";
  r += "machine model: " + m.name +
       fmt(": %g-byte vectors, %g registers, %g FMA pipes of latency %g, ", m.vector_bytes,
           m.vector_registers, m.fma_pipes, m.fma_latency) +
       fmt("%g loads per cycle, L1d %g KiB, L2 %g KiB", m.load_ports, double(m.l1d_bytes >> 10),
           double(m.l2_bytes >> 10)) +
       (m.simd_width ? fmt(", GPU SIMD-groups of %g, %g KiB threadgroup memory, %g threads per "
                           "group",
                           m.simd_width, double(m.threadgroup_bytes >> 10),
                           m.max_threads_per_group)
                     : "") +
       " (" + m.source + ")\n";
  const int64_t H = spec.hidden_size;
  if (plan.panels.packed())
    r += "weight panels: Wx " + std::to_string(plan.panels.wx) + " columns (of " +
         std::to_string(3 * H) + "), Wh " + std::to_string(plan.panels.wh) + " states (of " +
         std::to_string(H) + ")" +
         (plan.panels.xp > 0 ? "; xp's columns: r, z, n side by side per " +
                                   std::to_string(plan.panels.xp) + " states"
                             : "") +
         "\n";
  else
    r += "weight layout: MLX's ([3H][D], [3H][H])\n";
  if (spec.weights_precision != WeightsPrecision::F32) {
    // How the kernels hold the weights (WeightStorage): element type, k per element, k groups.
    const WeightStorage ws = weight_storage(policy, spec);
    std::ostringstream type;
    type << ws.type;  // Halide's names: uint32, bfloat16, ...
    r += "weight storage: " + std::string(precision_name(spec.weights_precision)) + " as " +
         type.str();
    if (ws.k_per_element > 1)
      r += ", " + std::to_string(ws.k_per_element) +
           " consecutive k per element (the low one by a shift, the high one by clearing the low "
           "half)";
    else if (ws.k_group > 1)
      r += ", each row's k in groups of " + std::to_string(ws.k_group);
    r += "\n";
  }
  if (plan.step_slices > 1)
    r += "step slices: " + std::to_string(plan.step_slices) + " of " +
         std::to_string(H / plan.step_slices) +
         " states, walked forward and backward on alternate timesteps by runs of " +
         (plan.slice_threads_max > 1 ? "1.." + std::to_string(plan.slice_threads_max) + " threads"
                                     : std::string("1 thread")) +
         " (Wh is over half of their share of L2: SchedulePlan.h)\n";
  std::vector<std::string> cpus;
  for (std::stringstream s(m.mca_cpus); s.good();) {
    std::string cpu;
    std::getline(s, cpu, ',');
    if (!cpu.empty()) cpus.push_back(cpu);
  }
  for (const ReportedKernel &k : kernels) {
    r += "\nkernel " + k.name + ": " + k.schedule + "\n";
    if (k.own_cpu_schedule) {
      const KernelPlan &kp = kernel_plan(plan, k.kind);
      const TileEstimate &e = kp.estimate;
      r += fmt("  tile: %g vectors x %g rows; %g accumulators, %g registers", kp.tile.vectors,
               kp.tile.rows, e.accumulators, e.registers) +
           (kp.tile.panels > 1 ? fmt(" over %g panels at once", kp.tile.panels) : "") +
           (kp.tile.k_block ? fmt("; the reduction in blocks of %g (L1)", kp.tile.k_block) : "") +
           "\n";
      r += fmt("  model, per reduction step: %.1f FMA cycles, ", e.fma_cycles) +
           (e.convert_cycles > 0 ? fmt("%.1f conversion cycles, ", e.convert_cycles) : "") +
           fmt("%.1f load cycles, latency %.0f: %.0f%% of the FMA peak\n", e.load_cycles,
               e.latency_cycles, 100 * e.efficiency);
      if (!kp.why.empty()) r += "  why: " + kp.why + "\n";
    }
    if (k.own_gpu_schedule) {
      const KernelPlan &kp = kernel_plan(plan, k.kind);
      r += fmt("  block: %g threads x %g rows (%g SIMD-groups of %g)\n", kp.block.threads,
               kp.block.rows, double(kp.block.threads * kp.block.rows) / std::max(1, m.simd_width),
               m.simd_width);
      if (!kp.why.empty()) r += "  why: " + kp.why + "\n";
    }
    if (policy.device != DeviceApi::None) continue;  // a GPU kernel's loop is not on the CPU
    for (const std::string &cpu : cpus) {
      const LoopPrediction p = predict_inner_loop(k.assembly, policy.halide_target, cpu, m, work);
      if (!p.found) {
        r += "  llvm-mca " + cpu + ": " + p.why_not + "\n";
        continue;
      }
      r += "  llvm-mca " + cpu +
           fmt(": inner loop %g instructions, %g FMAs, %g loads: %.2f cycles per iteration; ",
               p.instructions, p.fmas, p.loads, p.cycles) +
           fmt("its FMA bound %.2f (%.0f%%), load bound %.2f (%.0f%%); ", p.fma_bound,
               100 * p.fma_bound / p.cycles, p.load_bound, 100 * p.load_bound / p.cycles) +
           fmt("at the machine model's %g FMA pipes %.2f (%.0f%%)\n", m.fma_pipes,
               p.fma_hw_bound, 100 * p.fma_hw_bound / p.cycles);
    }
  }
  return r;
}

}  // namespace grugen
