// Schedules of the reset-before step (ResetBeforeStepFuncs in OwnSchedules.h): the r and z
// products, then r * h, then the n gate's product of it, then the gates. r needs all of hp's r
// row before any n product, so the stages cannot share one register tile as the reset-after
// step's do (CpuSchedules.cpp): on CPUs each product is computed at root, register-tiled like
// the reset-after step's; on GPUs each stage is a kernel of one thread per output.
#include <algorithm>

#include "OwnSchedules.h"

namespace grugen {

using Halide::TailStrategy;

namespace {

// Work (flops) from which a product splits its tiles over Halide's thread pool.
constexpr double kParallelFlops = 1.0e6;

// A product `acc` (pure, then an update over k) over states i, `gates` gate rows g (or none) and
// batch rows n, materialized at root by a wrapper tiled over (i, n): each tile's accumulators
// (gates x tile vectors x batch rows) stay in registers while the tile's Wh columns stream past
// once, as in the reset-after step. The tile is the schedule plan's step tile (one panel of Wh
// wide, SchedulePlan.h), chosen for three gates: with two or one, it holds fewer accumulators.
void register_tiled_product(const Halide::Target &target, Halide::Func acc, Halide::Var i,
                            const Halide::Var *g, Halide::Var n, Halide::RVar k, int H, int N,
                            int gates, const CpuTile &tile) {
  const int lanes = target.natural_vector_size<float>();
  // Tiles shift inwards at the end (pure wrappers only recompute a few states); below a vector,
  // one vector of H's width.
  const int v = std::min(H, lanes);
  const int width = int(tile_width(H, lanes, tile.vectors));
  const int rows = tile.rows;
  Halide::Func tiled = acc.in();
  Halide::Var io("io"), ii("ii"), no("no"), ni("ni");
  const Halide::TailStrategy shift = Halide::TailStrategy::ShiftInwards;
  tiled.compute_root()
      .split(i, io, ii, width, shift)
      .split(n, no, ni, rows, shift)
      .vectorize(ii, v)
      .unroll(ni);
  if (g) {
    tiled.reorder(ii, *g, ni, no, io).unroll(*g);
  } else {
    tiled.reorder(ii, ni, no, io);
  }
  if (2.0 * N * H * gates * H >= kParallelFlops && H / width > 1) tiled.parallel(io);
  acc.compute_at(tiled, no).vectorize(i, v).unroll(i).unroll(n);
  if (g) {
    acc.unroll(*g);
    acc.update().reorder(i, *g, n, k).vectorize(i, v).unroll(i).unroll(*g).unroll(n);
  } else {
    acc.update().reorder(i, n, k).vectorize(i, v).unroll(i).unroll(n);
  }
}

}  // namespace

void schedule_reset_before_step_for_cpu(const Halide::Target &target,
                                        const ResetBeforeStepFuncs &f) {
  Halide::Func h_next = f.step.h_next, rh = f.rh;
  const Halide::Var i = f.step.i, g = f.step.g, n = f.step.n;
  const int H = f.step.H, N = f.step.N;
  const int v = std::min(H, target.natural_vector_size<float>());
  // Packed Wh: row k holds the r, z and n columns of every state contiguously. The r and z
  // products, then r * h (all of it: every n product reads every state), then the n product.
  register_tiled_product(target, f.step.hp, i, &g, n, f.step.k, H, N, 2, f.step.tile);
  rh.compute_root().vectorize(i, v, Halide::TailStrategy::GuardWithIf);
  register_tiled_product(target, f.hn, i, nullptr, n, f.step.k, H, N, 1, f.step.tile);
  h_next.vectorize(i, v, Halide::TailStrategy::GuardWithIf);
}

void schedule_reset_before_step_for_gpu(const ResetBeforeStepFuncs &f) {
  // hp and h_next as in the reset-after step (one thread per output, hp its own kernel); r * h
  // and the n product get a kernel each, one thread per state element.
  schedule_step_for_gpu(f.step);
  Halide::Func rh = f.rh, hn = f.hn;
  const Halide::Var i = f.step.i, n = f.step.n;
  const int t = f.step.block.threads, r = f.step.block.rows;
  const TailStrategy guard = TailStrategy::GuardWithIf;
  Halide::Var io("io"), ii("ii"), no("no"), ni("ni");
  rh.compute_root().gpu_tile(i, n, io, no, ii, ni, t, r, guard);
  hn.compute_root().gpu_tile(i, n, io, no, ii, ni, t, r, guard);
  hn.update().gpu_tile(i, n, io, no, ii, ni, t, r, guard);
}

}  // namespace grugen
