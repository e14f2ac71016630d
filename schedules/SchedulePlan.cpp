#include "SchedulePlan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace grugen {
namespace {

// The analytical model (after Low et al., "Analytical modeling is enough for high-performance
// BLIS", TOMS 2016): a register tile of `acc` accumulators, each updated by one FMA per step of
// the reduction, runs at the FMA peak when (1) its FMAs cover the pipes' latency (acc >=
// pipes x latency), (2) its loads (weight vectors and broadcasts) issue in no more cycles than
// its FMAs, and (3) it fits the registers. The efficiency is FMA cycles over the largest of the
// three per-step cycle counts. Where a broadcast is an instruction on the FMA pipes' ports too
// (MachineModel's broadcast_alu: SSE4.1's shuffle), its cycles add to the FMAs'.
//
// With bf16 pairs (k_per_element 2, SchedulePolicy.h's WeightStorage) on a machine of 16
// vector registers (AVX2), a reduction step is two k: each weight vector loaded becomes two
// float vectors, by a shift and an AND that issue where the FMAs do (counted so, though the AND
// could go elsewhere), each accumulator takes two FMAs in a row (its chain's latency twice),
// each row two broadcasts, and the AND's mask takes a register. Measured on the AVX2 level of an
// AVX-512 Xeon (D=H=512, N=1): with the pair's registers uncounted the step's 4 x 1 tile spilled
// (27 loads for 24 FMAs) and took 31 us, the 2 x 1 tile counted so 26-27 us. With 32 registers
// (AVX-512) the estimate is a plain one's: its tiles fit the pairs' extra registers (the FMAs
// take broadcasts and the mask from memory), and measured faster than the tiles the pairs'
// costs would pick there (D=H=512, N=1: run 3.27-3.39 ms against 3.72-3.78, with a 1 x 16
// projection tile and a 2 x 1 step tile).
TileEstimate estimate(const MachineModel &m, int acc, int weight_vectors, int broadcasts,
                      bool reuse_weights, int k_per_element) {
  TileEstimate e;
  e.accumulators = acc;
  const int halves = m.vector_registers <= 16 ? k_per_element : 1;
  // Weights reused by several rows stay in registers; used once, they are an FMA's operand (x86)
  // or one register at a time (ARM). Broadcasts: one register on x86 (a load feeding the FMAs),
  // one per row on ARM (ld1r, each kept for its row's FMAs).
  e.registers = acc + (reuse_weights ? weight_vectors : 1) * halves +
                (m.memory_broadcast ? 1 : std::min(broadcasts, 2)) * halves + (halves > 1 ? 1 : 0);
  e.fma_cycles = double(acc) * halves / m.fma_pipes;
  e.convert_cycles = halves > 1 ? 2.0 * weight_vectors / m.fma_pipes : 0;
  e.load_cycles = double(weight_vectors + broadcasts * halves) / m.load_ports;
  e.latency_cycles = double(m.fma_latency) * halves;
  const double broadcast_cycles = broadcasts * halves * m.broadcast_alu / m.fma_pipes;
  e.efficiency = e.fma_cycles / std::max({e.fma_cycles + e.convert_cycles + broadcast_cycles,
                                          e.load_cycles, e.latency_cycles});
  return e;
}

std::vector<int> divisors_up_to(int64_t n, int64_t limit) {
  std::vector<int> d;
  for (int64_t r = 1; r <= std::min(n, limit); ++r)
    if (n % r == 0) d.push_back(int(r));
  return d;
}

std::string fmt(const char *format, double a, double b = 0, double c = 0, double d = 0) {
  char text[256];
  std::snprintf(text, sizeof text, format, a, b, c, d);
  return text;
}

// Candidates within 5 % of the best efficiency are equally good for the model (its figures are
// not finer than that); among them `better` decides.
template <typename Better>
const KernelPlan &choose(const std::vector<KernelPlan> &all, Better better) {
  double best = 0;
  for (const KernelPlan &k : all) best = std::max(best, k.estimate.efficiency);
  const KernelPlan *pick = nullptr;
  for (const KernelPlan &k : all)
    if (k.estimate.efficiency >= 0.95 * best && (!pick || better(k, *pick))) pick = &k;
  return *pick;
}

// The streaming step's projection shares the projection's panel of Wx: same vectors, the most
// rows of N that fit; where those rows leave its accumulators too few to cover the FMA latency
// (N = 1: one panel is `vectors` accumulators), the fewest consecutive panels per tile that
// reach the best efficiency in the registers. Then the panels of the plan's tiles.
void complete(const MachineModel &m, const GruSpec &spec, int k_per_element, SchedulePlan &plan) {
  const int64_t G = 3 * spec.hidden_size;
  const auto step_projections =
      projection_candidates(m, G, spec.batch, plan.projection.tile.vectors, k_per_element);
  plan.step_projection = step_projections.front();
  for (const KernelPlan &k : step_projections)
    if (k.estimate.registers <= m.vector_registers &&
        k.estimate.efficiency >= plan.step_projection.estimate.efficiency)
      plan.step_projection = k;
  plan.step_projection.why = "the projection's panel, the most rows of N that fit";
  KernelPlan &sp = plan.step_projection;
  const int64_t width = tile_width(G, m.lanes(), sp.tile.vectors);
  const int vecs = int((width + m.lanes() - 1) / m.lanes()), rows = sp.tile.rows;
  if (G % width == 0) {
    KernelPlan best = sp;
    for (int g : divisors_up_to(G / width, 16)) {
      const TileEstimate e =
          estimate(m, g * vecs * rows, g * vecs, rows, rows > 1, k_per_element);
      if (e.registers > m.vector_registers) break;
      if (e.efficiency > best.estimate.efficiency + 1e-9) {
        best.estimate = e;
        best.tile.panels = g;
      }
    }
    if (best.tile.panels > 1) {
      sp = best;
      sp.why = fmt("the projection's panel, the most rows of N that fit, %g panels at once: ",
                   sp.tile.panels) +
               fmt("%.0f%% of the FMA peak by the model", 100 * sp.estimate.efficiency);
    }
  }
  plan.panels = panels_for(m, spec, plan.projection.tile, plan.step.tile);
}

}  // namespace

bool step_blocks_reduction(const GruSpec &spec) {
  return spec.reset_after && spec.weights_precision != WeightsPrecision::W8A8;
}

int step_k_block(const MachineModel &m, const GruSpec &spec, const CpuTile &tile) {
  if (!step_blocks_reduction(spec)) return 0;
  const int64_t H = spec.hidden_size;
  // Bytes of one k of the tile's panel: 3 gates x T weights of the spec's precision.
  const int64_t panel_row_bytes =
      3 * tile_width(H, m.lanes(), tile.vectors) * spec.weight_element_bytes();
  if (spec.batch <= tile.rows || H * panel_row_bytes <= m.l1d_bytes / 2) return 0;
  for (int64_t kc = m.l1d_bytes / 2 / panel_row_bytes; kc >= 8; --kc)
    if (H % kc == 0) return int(kc);
  return 0;
}

int64_t tile_width(int64_t extent, int lanes, int vectors) {
  if (extent < lanes) return extent;
  return lanes * std::max<int64_t>(1, std::min<int64_t>(vectors, extent / lanes));
}

WeightShape weight_shape(int gates, int64_t per_gate, int64_t K, int64_t panel) {
  if (panel > 0) return {K * gates * panel, per_gate / panel};
  return {K, gates * per_gate};
}

bool panel_divides(const MachineModel &m, int64_t extent, const CpuTile &tile) {
  return extent % tile_width(extent, m.lanes(), tile.vectors) == 0;
}

const KernelPlan &kernel_plan(const SchedulePlan &plan, KernelKind kind) {
  switch (kind) {
    case KernelKind::Projection: return plan.projection;
    case KernelKind::StepProjection: return plan.step_projection;
    case KernelKind::Step: break;
  }
  return plan.step;
}

KernelPlan &kernel_plan(SchedulePlan &plan, KernelKind kind) {
  return const_cast<KernelPlan &>(kernel_plan(const_cast<const SchedulePlan &>(plan), kind));
}

std::vector<KernelPlan> step_candidates(const MachineModel &m, const GruSpec &spec,
                                        int k_per_element) {
  const int64_t H = spec.hidden_size, N = spec.batch;
  const int lanes = m.lanes();
  std::vector<KernelPlan> all;
  for (int v = 1; v <= 8; ++v) {
    const int64_t width = tile_width(H, lanes, v);
    if (v > 1 && width == tile_width(H, lanes, v - 1)) break;  // no wider than H
    for (int r : divisors_up_to(N, 16)) {
      KernelPlan k;
      k.tile = {v, r};
      const int vecs = int((width + lanes - 1) / lanes);
      k.estimate = estimate(m, 3 * vecs * r, 3 * vecs, r, r > 1, k_per_element);
      if (k.estimate.registers > m.vector_registers) continue;
      all.push_back(k);
    }
  }
  return all;
}

std::vector<KernelPlan> projection_candidates(const MachineModel &m, int64_t columns,
                                              int64_t rows, int fixed_vectors,
                                              int k_per_element) {
  const int lanes = m.lanes();
  std::vector<KernelPlan> all;
  for (int v = 1; v <= 8; ++v) {
    if (fixed_vectors && v != fixed_vectors) continue;
    const int64_t width = tile_width(columns, lanes, v);
    if (v > 1 && width == tile_width(columns, lanes, v - 1)) break;
    for (int r : divisors_up_to(rows, 16)) {
      KernelPlan k;
      k.tile = {v, r};
      const int vecs = int((width + lanes - 1) / lanes);
      k.estimate = estimate(m, vecs * r, vecs, r, r > 1, k_per_element);
      if (k.estimate.registers > m.vector_registers && !fixed_vectors) continue;
      all.push_back(k);
    }
  }
  return all;
}

WeightPanels panels_for(const MachineModel &m, const GruSpec &spec, const CpuTile &projection,
                        const CpuTile &step) {
  const int64_t H = spec.hidden_size, G = 3 * H;
  const int64_t p = tile_width(G, m.lanes(), projection.vectors);
  const int64_t t = tile_width(H, m.lanes(), step.vectors);
  const int64_t wh = H % t == 0 ? t : H;
  // w8a8: one panel of Wx (its projection tile spans several panels, whose lane-repeated
  // column indices Halide's simplifier cannot always make contiguous); Wh's panels are the
  // step's tiles (GruStep.cpp indexes them by panel and column, no division).
  const int64_t xp = wh < H && !spec.has_weight_scales() ? wh : 0;
  if (spec.quantized_activations()) return {G, wh, xp};
  return {G % p == 0 ? p : G, wh, xp};
}

SchedulePlan plan_from_model(const MachineModel &m, const GruSpec &spec, int64_t block_rows,
                             int k_per_element) {
  SchedulePlan plan;
  plan.origin = "the machine model (" + m.name + ")";
  const int64_t H = spec.hidden_size, G = 3 * H;
  auto divides = [&](int64_t extent, const CpuTile &t) { return panel_divides(m, extent, t); };

  // The step: the most weight reuse (rows), then the narrowest panel that reaches the efficiency
  // (the most tiles to share out, the smallest L1 footprint), a panel that divides H first.
  const auto steps = step_candidates(m, spec, k_per_element);
  plan.step = choose(steps, [&](const KernelPlan &a, const KernelPlan &b) {
    if (divides(H, a.tile) != divides(H, b.tile)) return divides(H, a.tile);
    if (a.tile.rows != b.tile.rows) return a.tile.rows > b.tile.rows;
    return a.tile.vectors < b.tile.vectors;
  });
  plan.step.why = fmt("%.0f%% of the FMA peak by the model; ", 100 * plan.step.estimate.efficiency) +
                  "the most batch rows per weight load, then the narrowest panel";
  plan.step.tile.k_block = step_k_block(m, spec, plan.step.tile);

  // The projection: its panel dividing 3H first; then, where a broadcast is a load an FMA takes
  // as it is (x86 with AVX; at SSE4.1 it is also a shuffle, which the efficiency counts), the
  // most rows per weight load (the weights stream from L2, the rows of x
  // stay in L1: measured, D=H=512 on AVX-512, 3 vectors x 8 rows took 331 us where 6 x 4 took
  // 361), then the fewest loads per FMA (BLIS's mr x nr); where each row's broadcast is an
  // instruction of its own (ARM: ld1r, or a lane load for a by-element FMA), the fewest loads
  // per FMA first (llvm-mca, apple-a14: 6 x 4 at 9.0 cycles per step, 3 x 8 at 10.0).
  const auto projections = projection_candidates(m, G, block_rows, 0, k_per_element);
  const bool broadcast_is_load = m.memory_broadcast && m.broadcast_alu == 0;
  auto loads_per_fma = [](const KernelPlan &k) {
    return double(k.tile.vectors + k.tile.rows) / (double(k.tile.vectors) * k.tile.rows);
  };
  plan.projection = choose(projections, [&](const KernelPlan &a, const KernelPlan &b) {
    if (divides(G, a.tile) != divides(G, b.tile)) return divides(G, a.tile);
    if (broadcast_is_load && a.tile.rows != b.tile.rows) return a.tile.rows > b.tile.rows;
    if (loads_per_fma(a) != loads_per_fma(b)) return loads_per_fma(a) < loads_per_fma(b);
    return a.tile.rows > b.tile.rows;
  });
  plan.projection.why =
      fmt("%.0f%% of the FMA peak by the model; ", 100 * plan.projection.estimate.efficiency) +
      (broadcast_is_load ? "the most rows per weight load, then the fewest loads per FMA"
                         : "the fewest loads per FMA (each row's broadcast is an instruction)");

  complete(m, spec, k_per_element, plan);
  return plan;
}

SchedulePlan plan_with_tiles(const MachineModel &m, const GruSpec &spec, int64_t block_rows,
                             int k_per_element, const CpuTile &projection, const CpuTile &step,
                             const std::string &origin) {
  SchedulePlan plan;
  plan.origin = origin;
  for (const KernelPlan &k :
       projection_candidates(m, 3 * spec.hidden_size, block_rows, 0, k_per_element))
    if (k.tile == projection) plan.projection = k;
  for (const KernelPlan &k : step_candidates(m, spec, k_per_element))
    if (k.tile == step) plan.step = k;
  plan.projection.tile = projection;
  plan.step.tile = step;
  plan.projection.why = plan.step.why = origin;
  complete(m, spec, k_per_element, plan);
  return plan;
}

std::vector<GpuBlock> gpu_candidates(const MachineModel &m, int64_t rows) {
  std::vector<GpuBlock> all;
  const int simd = std::max(1, m.simd_width), most = std::max(simd, m.max_threads_per_group);
  for (int groups : {1, 2, 4, 8})
    for (int r : divisors_up_to(rows, 4))
      if (simd * groups * r <= most) all.push_back({simd * groups, r});
  return all;
}

SchedulePlan plan_for_gpu(const MachineModel &m) {
  SchedulePlan plan;
  plan.origin = "MLX's weight layout; the machine model (" + m.name + ") for the own GPU blocks";
  // Two SIMD-groups per block: a group waiting on memory leaves the other to issue, and a
  // block as small as that keeps every core of a small GPU busy at N=1 (3H outputs).
  const GpuBlock block{2 * std::max(1, m.simd_width), 1};
  for (KernelKind kind : {KernelKind::Projection, KernelKind::StepProjection, KernelKind::Step}) {
    KernelPlan &k = kernel_plan(plan, kind);
    k.block = block;
    k.why = "the policy's autoscheduler, then the own schedule with two SIMD-groups by one row";
  }
  return plan;
}

SchedulePlan plan_with_gpu_blocks(const MachineModel &m, const GruSpec &spec,
                                  const KernelPlan &projection, const KernelPlan &step,
                                  const std::string &origin) {
  SchedulePlan plan = plan_for_gpu(m);
  plan.origin = origin;
  plan.projection = projection;
  plan.step = step;
  plan.step_projection = projection;
  int rows = 1;
  for (int r : divisors_up_to(spec.batch, projection.block.rows)) rows = r;
  plan.step_projection.block.rows = rows;
  plan.projection.why = plan.step.why = plan.step_projection.why = origin;
  return plan;
}

}  // namespace grugen

namespace grugen {

std::vector<int64_t> team_sizes_for(const MachineModel &model, const GruSpec &spec,
                                    const WeightPanels &panels, int64_t threads_max) {
  std::vector<int64_t> sizes;
  // Every weights precision: a member converts and reads its own range of Wh's panels (int8 and
  // w8a8: with Wh's whole row data, indexed by the member's absolute states; w8a8: each member
  // quantizes the whole h itself).
  if (!panels.packed() || !spec.reset_after) return sizes;
  const int64_t most = threads_max == 0 ? model.cores : std::min<int64_t>(threads_max, model.cores);
  for (int64_t t = 2; t <= most; ++t)
    if (spec.hidden_size % (t * panels.wh) == 0) sizes.push_back(t);
  return sizes;
}

// The batches that get slices: up to kStepSlicesMaxBatch for every team the slices serve, up
// to kStepSlicesMaxBatchAlone for the caller alone (see plan_step_slices).
constexpr int64_t kStepSlicesMaxBatch = 4, kStepSlicesMaxBatchAlone = 16;
// The most slices a step is cut into: each is a kernel call (its views, its tile's set-up), and
// finer slices than this saved less than their calls cost. Measured (Xeon, 2 MiB L2; the AVX2
// target, whose class model has 512 KiB of L2: D = H = 512, one thread, `run`, three rounds in
// turn): N = 16, 32 slices of 96 KiB 61.5-65.6 ms, 8 of 384 KiB 60.6-62.9 ms; N = 4 17.2 against
// 16.9-17.0 ms, a team of 2 8.40-8.43 against 8.03-8.17 ms; N = 1 (16 slices of 192 KiB)
// 8.54-8.67 against 8.47-8.61 ms; 4 slices lost there (8.78-8.87 ms).
constexpr int64_t kStepSlicesMax = 8;

void plan_step_slices(const MachineModel &model, const GruSpec &spec, SchedulePlan &plan) {
  plan.step_slices = plan.slice_threads_max = 0;
  const int64_t H = spec.hidden_size, panel = plan.panels.wh;
  if (!plan.panels.packed() || !spec.reset_after || panel <= 0 || H % panel != 0) return;
  // Few batch rows: each weight then feeds few FMAs, so the step waits on Wh's bytes.
  // Measured (Xeon, 2 MiB L2, fp32, D = H = 512, L = 128; run): N = 1 1.66x faster, N = 4
  // 1.31x, N = 8 1.03x on 1 thread. At N = 16 the caller alone gains a little (1.04x on the
  // host level: 39.65 against 41.23 ms, the best of 5 runs in turn; 1.01x at AVX2), but a team of
  // 2 loses (host 0.98x, AVX2 0.91x: each member's half of Wh nearly fits its L2, and the
  // slices' calls cost more than the misses they save): over 4 rows, the caller alone only.
  if (spec.batch > kStepSlicesMaxBatchAlone) return;
  const int64_t wh_bytes = 3 * H * H * spec.weight_element_bytes();
  const int64_t most_threads = spec.batch > kStepSlicesMaxBatch ? 1 : model.cores;
  int64_t threads_max = 0;
  for (int64_t t = 1; t <= most_threads; ++t)
    if (2 * wh_bytes > t * model.l2_bytes) threads_max = t;
  if (threads_max == 0) return;
  // The fewest slices of whole panels, each at most a quarter of L2 (else a panel each), and
  // at most kStepSlicesMax.
  const int64_t panels = H / panel;
  if (panels < 2) return;
  int64_t q = 2;
  while (q < panels && (panels % q != 0 || 4 * wh_bytes > q * model.l2_bytes)) ++q;
  // At most kStepSlicesMax: the largest number of whole panels' slices up to it.
  while (q > kStepSlicesMax || panels % q != 0) --q;
  if (q < 2) return;
  plan.step_slices = q;
  plan.slice_threads_max = threads_max;
}

}  // namespace grugen
