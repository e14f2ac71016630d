// Known-good GPU schedules for gru-gen's two pipelines: what a GPU target falls back to when its
// autoscheduler fails or emits something the backend rejects (schedules/SchedulePolicy.cpp).
//
// Written for Metal and OpenCL alike (nothing here is API-specific), simple rather than fast:
// one thread per output element, reductions kept in registers, no atomics.
#pragma once

#include "Halide.h"

namespace grugen {

// xp(j, r) = acc(j, r): `acc` is the bias-initialised reduction over the input size.
void schedule_projection_for_gpu(Halide::Func xp, Halide::Func acc, Halide::Var j, Halide::Var r);

// h_next(i, n) from hp(j, n) = h * Wh^T: hp gets its own kernel (each output needs three of its
// rows), then the gate arithmetic runs one thread per state element.
void schedule_step_for_gpu(Halide::Func h_next, Halide::Func hp, Halide::Var i, Halide::Var j,
                           Halide::Var n);

}  // namespace grugen
