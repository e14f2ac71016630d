// Schedules of the reset-before step (ResetBeforeStepFuncs in OwnSchedules.h): the r and z
// products, then r * h, then the n gate's product of it, then the gates. r needs all of hp's r
// row before any n product, so the stages cannot share one register tile as the reset-after
// step's do (CpuSchedules.cpp); each is computed at root, vectorized along the states.
// Simple and correct rather than fast; register tiling them is left for later.
#include <algorithm>

#include "OwnSchedules.h"

namespace grugen {

using Halide::TailStrategy;

void schedule_reset_before_step_for_cpu(const Halide::Target &target,
                                        const ResetBeforeStepFuncs &f) {
  Halide::Func h_next = f.step.h_next, hp = f.step.hp, rh = f.rh, hn = f.hn;
  const Halide::Var i = f.step.i, g = f.step.g, n = f.step.n;
  const Halide::RVar k = f.step.k;
  // States below a vector make one vector of their own width; a tail is guarded, never shifted
  // (a shifted update would add twice, a rounded-up n product read past Wh).
  const int v = std::min(f.step.H, target.natural_vector_size<float>());
  const TailStrategy guard = TailStrategy::GuardWithIf;
  // Packed Wh: row k holds the r, z and n columns of every state contiguously, so each loop
  // over k streams one row's blocks into vectors of the states' accumulators.
  hp.compute_root().vectorize(i, v, guard);
  hp.update().reorder(i, g, k, n).vectorize(i, v, guard).unroll(g);
  rh.compute_root().vectorize(i, v, guard);
  hn.compute_root().vectorize(i, v, guard);
  hn.update().reorder(i, k, n).vectorize(i, v, guard);
  h_next.vectorize(i, v, guard);
}

void schedule_reset_before_step_for_gpu(const ResetBeforeStepFuncs &f) {
  // hp and h_next as in the reset-after step (one thread per output, hp its own kernel); r * h
  // and the n product get a kernel each, one thread per state element.
  schedule_step_for_gpu(f.step);
  Halide::Func rh = f.rh, hn = f.hn;
  const Halide::Var i = f.step.i, n = f.step.n;
  constexpr int kThreads = 64;
  const TailStrategy guard = TailStrategy::GuardWithIf;
  Halide::Var io("io"), ii("ii"), no("no"), ni("ni");
  rh.compute_root().gpu_tile(i, n, io, no, ii, ni, kThreads, 1, guard);
  hn.compute_root().gpu_tile(i, n, io, no, ii, ni, kThreads, 1, guard);
  hn.update().gpu_tile(i, n, io, no, ii, ni, kThreads, 1, guard);
}

}  // namespace grugen
