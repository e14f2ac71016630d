// gru-gen's own schedules for its two pipelines (OwnSchedule in schedules/SchedulePolicy.h),
// applied by the generators beside their algorithms (compiler/pipelines/) when the policy picks
// one: each pipeline hands over one struct of the Funcs and Vars it defines.
//
// CpuSchedules.cpp: register-tiled outer-product kernels for the packed weight panels
// (compiler/pipelines/GruGenerator.h) and the shapes gru-gen compiles, every extent static, with
// the tile the schedule plan chose (schedules/SchedulePlan.h). The CPU targets try them before
// the autoschedulers, which stay behind them as fallbacks; why they win is in
// docs/ARCHITECTURE.md.
//
// GpuSchedules.cpp: the known-good GPU schedules, what a GPU target falls back to when its
// autoscheduler fails or emits something the backend rejects, or what --tune measured fastest.
// Written for Metal and OpenCL alike (nothing there is API-specific): one thread per output
// element in blocks of the plan's GpuBlock, reductions kept in registers, no atomics.
#pragma once

#include <vector>

#include "Halide.h"
#include "schedules/SchedulePlan.h"

namespace grugen {

// w8a8's integer dot products (GruGenerator.h's quantize_rows): the input rows' magnitudes and
// quantized rows (computed once per call, before the product), and the product's reduction in
// two dimensions: kk within a group of k (vectorized with the outputs: one 32-bit lane's dot
// product of 4 bytes) and ko over the groups. Undefined for the other precisions.
struct DotInputs {
  Halide::Func amax, q;
  Halide::RVar kk, ko;
  Halide::RVar amax_k;  // amax's reduction over the K inputs of a row
  int K = 0;
  bool defined() const { return q.defined(); }
};

// The projection: xp(j, r) = acc(j, r), acc = b(j) + sum_k Wx(j, k) * x(k, r), a
// [rows][D] x [D][G] GEMM (`acc` is the bias-initialised reduction over the input size).
struct ProjectionFuncs {
  Halide::Func xp, acc;
  Halide::Var j, r;
  Halide::RVar k;
  int G, rows, D;
  CpuTile tile;    // the plan's tile (SchedulePlan.h), for the CPU schedule
  GpuBlock block;  // the plan's thread block, for the GPU schedule
  bool team = false;  // a team model's step projection (run by one member): no parallel loop
  DotInputs dot;      // w8a8: acc is the int32 dot product over (dot.kk, dot.ko = k)
};

// The step: h_next(i, n) from the gate products hp, sum_k Wh * h(k, n) over the states: in the
// packed layout hp(i, g, n) (g = r, z, n gates; w8a8 with several panels hp(i, panel, g, n), i
// the column in its panel, one panel per tile), in MLX's hp(j, n) (j over 3H).
struct StepFuncs {
  Halide::Func h_next, hp;
  Halide::Var i, g, j, n;
  Halide::RVar k;
  int H, N;        // the states computed (a team member's share of them) and the batch
  CpuTile tile;    // the plan's tile (SchedulePlan.h), for the CPU schedule
  GpuBlock block;  // the plan's thread block, for the GPU schedule
  int K = 0;       // the reduction's extent, the layer's H (0: H above)
  int k_per_step = 1;  // the k each step of k adds (2 with bf16 pairs: k runs over K / 2)
  bool team = false;  // a team member's step (the runtime's thread): never a parallel loop
  DotInputs dot;      // w8a8: hp is the int32 dot product over (dot.kk, dot.ko = k)
  // The gate stages h_next reads (r, z, then the n gate's tanh, each over (i, n)); empty where
  // they stay inlined into h_next.
  std::vector<Halide::Func> gates;
};

// The step with the reset gate before the n gate's product (reset_after = false): `step.hp`
// holds the r and z products only, rh(i, n) = r * h, and hn(i, n) = sum_k Wh_n(i, k) * rh(k, n)
// (Wh_n: Wh's n block, in the step's weight layout). ResetBeforeSchedules.cpp: on CPUs each
// product computed at root, register-tiled; on GPUs one kernel per stage.
struct ResetBeforeStepFuncs {
  StepFuncs step;
  Halide::Func rh, hn;
};

void schedule_projection_for_cpu(const Halide::Target &target, const ProjectionFuncs &f);
void schedule_step_for_cpu(const Halide::Target &target, const StepFuncs &f);

// hp gets its own kernel in the step (each output needs three of its rows), then the gate
// arithmetic runs one thread per state element.
void schedule_projection_for_gpu(const ProjectionFuncs &f);
void schedule_step_for_gpu(const StepFuncs &f);

void schedule_reset_before_step_for_cpu(const Halide::Target &target,
                                        const ResetBeforeStepFuncs &f);
void schedule_reset_before_step_for_gpu(const ResetBeforeStepFuncs &f);

}  // namespace grugen
