#include "GpuSchedules.h"

namespace grugen {
namespace {

using Halide::TailStrategy;

// Threads per block along the contiguous dimension. Extents are static but arbitrary (H = 13),
// so every tile guards its tail instead of shifting it inwards past the buffer's start.
constexpr int kThreads = 64;

}  // namespace

void schedule_projection_for_gpu(Halide::Func xp, Halide::Func acc, Halide::Var j, Halide::Var r) {
  Halide::Var jo("jo"), ji("ji"), ro("ro"), ri("ri");
  xp.gpu_tile(j, r, jo, ro, ji, ri, kThreads, 1, TailStrategy::GuardWithIf);
  acc.compute_at(xp, ji);
}

void schedule_step_for_gpu(Halide::Func h_next, Halide::Func hp, Halide::Var i, Halide::Var j,
                           Halide::Var n) {
  Halide::Var io("io"), ii("ii"), jo("jo"), ji("ji"), no("no"), ni("ni");
  hp.compute_root().gpu_tile(j, n, jo, no, ji, ni, kThreads, 1, TailStrategy::GuardWithIf);
  hp.update().gpu_tile(j, n, jo, no, ji, ni, kThreads, 1, TailStrategy::GuardWithIf);
  h_next.gpu_tile(i, n, io, no, ii, ni, kThreads, 1, TailStrategy::GuardWithIf);
}

}  // namespace grugen
