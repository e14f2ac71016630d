#include "OwnSchedules.h"

namespace grugen {
namespace {

using Halide::TailStrategy;

// Threads per block along the contiguous dimension. Extents are static but arbitrary (H = 13),
// so every tile guards its tail instead of shifting it inwards past the buffer's start.
constexpr int kThreads = 64;

}  // namespace

void schedule_projection_for_gpu(const ProjectionFuncs &f) {
  Halide::Func xp = f.xp, acc = f.acc;
  Halide::Var jo("jo"), ji("ji"), ro("ro"), ri("ri");
  xp.gpu_tile(f.j, f.r, jo, ro, ji, ri, kThreads, 1, TailStrategy::GuardWithIf);
  acc.compute_at(xp, ji);
}

void schedule_step_for_gpu(const StepFuncs &f) {
  Halide::Func h_next = f.h_next, hp = f.hp;
  const Halide::Var i = f.i, j = f.j, n = f.n;
  Halide::Var io("io"), ii("ii"), jo("jo"), ji("ji"), no("no"), ni("ni");
  hp.compute_root().gpu_tile(j, n, jo, no, ji, ni, kThreads, 1, TailStrategy::GuardWithIf);
  hp.update().gpu_tile(j, n, jo, no, ji, ni, kThreads, 1, TailStrategy::GuardWithIf);
  h_next.gpu_tile(i, n, io, no, ii, ni, kThreads, 1, TailStrategy::GuardWithIf);
}

}  // namespace grugen
