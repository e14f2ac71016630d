#include "OwnSchedules.h"

namespace grugen {

using Halide::TailStrategy;

// Blocks of the plan's threads along the contiguous dimension by its rows. Extents are static but
// arbitrary (H = 13), so every tile guards its tail instead of shifting it inwards past the
// buffer's start.

namespace {
// w8a8's quantized inputs, in kernels of their own before the product: one thread per row for
// its magnitude, then one per byte.
void quantize_inputs_first(const DotInputs &dot, const GpuBlock &block) {
  if (!dot.defined()) return;
  const Halide::Var r(dot.amax.args()[0].name()), k(dot.q.args()[0].name()),
      qr(dot.q.args()[1].name());
  Halide::Var ro("ro"), ri("ri"), ko("ko"), ki("ki");
  Halide::Func amax = dot.amax, q = dot.q;
  amax.compute_root().gpu_tile(r, ro, ri, 1, TailStrategy::GuardWithIf);
  amax.update().gpu_tile(r, ro, ri, 1, TailStrategy::GuardWithIf);
  q.compute_root().gpu_tile(k, qr, ko, ro, ki, ri, block.threads, 1, TailStrategy::GuardWithIf);
}
}  // namespace

void schedule_projection_for_gpu(const ProjectionFuncs &f) {
  quantize_inputs_first(f.dot, f.block);
  Halide::Func xp = f.xp, acc = f.acc;
  Halide::Var jo("jo"), ji("ji"), ro("ro"), ri("ri");
  xp.gpu_tile(f.j, f.r, jo, ro, ji, ri, f.block.threads, f.block.rows, TailStrategy::GuardWithIf);
  acc.compute_at(xp, ji);
}

void schedule_step_for_gpu(const StepFuncs &f) {
  Halide::Func h_next = f.h_next, hp = f.hp;
  const Halide::Var i = f.i, j = f.j, n = f.n;
  const int t = f.block.threads, r = f.block.rows;
  quantize_inputs_first(f.dot, f.block);
  const TailStrategy guard = TailStrategy::GuardWithIf;
  Halide::Var io("io"), ii("ii"), jo("jo"), ji("ji"), no("no"), ni("ni");
  hp.compute_root().gpu_tile(j, n, jo, no, ji, ni, t, r, guard);
  hp.update().gpu_tile(j, n, jo, no, ji, ni, t, r, guard);
  h_next.gpu_tile(i, n, io, no, ii, ni, t, r, guard);
}

}  // namespace grugen
