// gru-gen's own CPU schedules for its two pipelines, written for the packed weight layout
// (compiler/pipelines/GruGenerator.h) and the shapes gru-gen compiles: register-tiled
// outer-product kernels, every extent static. The CPU targets try them before the autoschedulers
// (schedules/SchedulePolicy.cpp), which stay behind them as fallbacks; why they win is in
// docs/ARCHITECTURE.md.
#pragma once

#include "Halide.h"

namespace grugen {

// xp(j, r) = acc(j, r), acc = b(j) + sum_k Wx(j, k) * x(k, r): a [rows][D] x [D][G] GEMM.
void schedule_projection_for_cpu(const Halide::Target &target, Halide::Func xp, Halide::Func acc,
                                 Halide::Var j, Halide::Var r, Halide::RVar k, int G, int rows,
                                 int D);

// h_next(i, n) from hp(i, g, n) = sum_k Wh(i + g*H, k) * h(k, n), g = r, z, n gates.
void schedule_step_for_cpu(const Halide::Target &target, Halide::Func h_next, Halide::Func hp,
                           Halide::Var i, Halide::Var g, Halide::Var n, Halide::RVar k, int H,
                           int N);

}  // namespace grugen
