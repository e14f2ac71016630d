// The schedule plan of one library: for gru-gen's own CPU schedules, the register tile of each
// kernel and the weight panels the tiles stream, chosen from the target's machine model
// (MachineModel.h) by an analytical model, or read from a tuning record (--tuning-record), or
// measured (--tune).
//
// The plan is made once per spec and target (the driver), and passed on: codegen gives each
// generator its tile and panel (GeneratorParams), the packager writes the panels into the layer
// descriptor, from which the runtime packs the weights at create. Nothing re-derives them.
//
// The candidates, as data (CpuTile): a tile of `vectors` vectors of outputs (of each gate, in
// the step) by `rows` rows. Its weights are one panel: the projection's Wxᵀ columns j..j+P, the
// step's Whᵀ columns of states i..i+T of each of the three gates, interleaved, so that one tile
// streams one contiguous run (Wx as [3H/P][D][P], Wh as [H/T][H][3][T]). A panel as wide as the
// matrix (P = 3H, T = H) is the plain transposed layout, used when no tile width divides it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/spec/GruSpec.h"
#include "schedules/MachineModel.h"

namespace grugen {

struct CpuTile {
  int vectors = 1;  // vectors of outputs: of xp columns (projection), of states per gate (step)
  int rows = 1;     // rows: of x (projection), batch rows (step)
  // The step's reduction in blocks of this many (BLIS's kc), 0 for one block: a block of the
  // tile's panel stays in L1 while every batch tile uses it (step_k_block).
  int k_block = 0;
  // The projection's tile over this many consecutive panels of Wx at once (1: one panel), each
  // `vectors` wide: more independent accumulators where few rows leave the FMAs waiting on
  // their latency (the step projection at N = 1). Per output, the reduction is the same.
  int panels = 1;
  // The same register tile (k_block and panels are derived from it, or recorded beside it).
  bool operator==(const CpuTile &o) const { return vectors == o.vectors && rows == o.rows; }
};

// A GPU kernel's thread block under gru-gen's own GPU schedule (GpuSchedules.cpp): `threads`
// threads along the contiguous outputs (xp's columns, the gate rows, the states) by `rows` rows
// (the projection's rows of x, the step's batch rows). Every tile guards its tail.
struct GpuBlock {
  int threads = 64;
  int rows = 1;
  bool operator==(const GpuBlock &o) const { return threads == o.threads && rows == o.rows; }
};

// Panel widths of the packed weights, in floats per gate: Wx's columns (P), Wh's states (T).
// 0 and 0: MLX's layout, unpacked (GPU targets).
//
// xp: the order of xp's 3H columns (the projection's output, the step's input). 0: MLX's, the
// gates one after another ([3][H]); X > 0: the three gates of each X states side by side
// ([H / X][3][X]; runtime/gru_pack.h's gru_xp_column), so that the step's tile of X states reads
// its r, z and n pre-activations of a batch row as one contiguous run: 16 rows of 3 runs far
// apart made 48 streams at N = 16, more than the L2 streamer follows (measured on a Xeon with
// AVX-512, one thread, `run` at D = H = 256, N = 16: 8.42 -> 8.16 ms; H = 512: 39.3 -> 38.8 ms;
// the AVX2 target H = 512: 68.6 -> 67.1 ms; N = 1 unchanged). The order is
// Wx's rows (and b's) as create packs them: the projection computes the columns in any order. X
// is Wh's panel where that cuts H in several panels; 0 for one panel (the same order) and for
// int8 and w8a8, whose row scales follow MLX's rows.
struct WeightPanels {
  int64_t wx = 0, wh = 0, xp = 0;
  bool packed() const { return wx > 0; }
  bool operator==(const WeightPanels &o) const { return wx == o.wx && wh == o.wh && xp == o.xp; }
};

// What the model expects of one kernel's tile, for --emit schedule-report.
struct TileEstimate {
  int accumulators = 0, registers = 0;  // vector registers the tile holds
  double fma_cycles = 0, load_cycles = 0, latency_cycles = 0;  // per reduction step
  double convert_cycles = 0;  // bf16 pairs: their shifts and ANDs on the FMA pipes, per step
  double efficiency = 0;  // fma_cycles / max(...): the share of the FMA peak
};

struct KernelPlan {
  CpuTile tile;
  TileEstimate estimate;
  std::string why;  // one line: why this candidate
  // GPU targets: the own schedule's block, and the schedule a measurement chose (the policy's
  // gpu_schedules says what each means): "" the policy's list in its order (its autoscheduler
  // first, the own schedule with `block` behind it); "own" the own schedule alone; else the
  // named autoscheduler, then the own schedule.
  GpuBlock block;
  std::string gpu_schedule;
};

struct SchedulePlan {
  WeightPanels panels;
  KernelPlan projection, step_projection, step;
  std::string origin;  // "the machine model", "tuning record <file>", "measured"
  // The sizes of the runtime's persistent thread teams the library can run, ascending (each
  // has a team step kernel, "step_team<T>"): team_sizes_for's. Empty: no team.
  std::vector<int64_t> team_sizes;
  // The recurrence in slices (step_slices_for): 0 for none, else `step_slices` slices of the
  // states ("step_slices<Q>": the team step kernel of Q members), which a run of T threads
  // (1: its caller alone) with T <= slice_threads_max and Q % T == 0 calls member by member, in
  // turn forward and backward on alternate timesteps.
  int64_t step_slices = 0, slice_threads_max = 0;
};

// The step's slices: a matrix-vector pass over a Wh larger than about half of a core's L2 misses
// in L2 on every timestep when it walks Wh the same way each time (LRU keeps the end of Wh,
// which is read last). Walking the states' panels forward on one timestep and backward on the
// next starts each timestep on the part the last one left in L2 (measured on a Xeon with 2 MiB
// L2, fp32, N = 1: H = 512 from 100 to 51 us per step; H = 384 from 18 to 11.5). The pass is cut
// into Q slices of at most a quarter of L2 each where whole panels allow, Q at most 8 (each
// slice is a kernel call; SchedulePlan.cpp's kStepSlicesMax) (else a panel each; a
// team member's slices are its part of Wh), for every team of T threads whose members' part of
// Wh is over half of L2 (slice_threads_max: the largest such T, 1 for the caller alone). Each
// state's reduction is the whole step's: the same bits. Same conditions as teams (packed
// weights, reset after); none when Wh fits; for batches of 5 to 16 only for the caller alone
// (slice_threads_max 1), none over 16 (their steps wait on the FMAs more than on Wh's bytes:
// the measurements are in SchedulePlan.cpp).
void plan_step_slices(const MachineModel &model, const GruSpec &spec, SchedulePlan &plan);

// The team sizes a library gets (gru-gen --threads-max): each T in [2, min(threads_max, the
// machine model's cores)] whose members own whole panels of Wh (H divisible by T x the step's
// panel width), on CPU targets with packed weights, for the reset-after step (the reset-before
// step needs all of r before its n product: a second barrier per step, not done). threads_max
// 0: the machine model's cores.
std::vector<int64_t> team_sizes_for(const MachineModel &model, const GruSpec &spec,
                                    const WeightPanels &panels, int64_t threads_max);

// A tile's width in floats over an extent (the one rule, which CpuSchedules.cpp applies):
// `vectors` vectors of `lanes`, at most the extent in whole vectors; an extent below one vector
// is one narrow vector.
int64_t tile_width(int64_t extent, int lanes, int vectors);

// The 2-D buffer the kernels read a weight matrix W [gates x per_gate][K] as: with a panel
// width (packed), [per_gate / panel][K][gates][panel] as (K x gates x panel, per_gate / panel);
// with panel 0, MLX's [gates x per_gate][K] as (K, gates x per_gate).
struct WeightShape {
  int64_t inner, outer;
};
WeightShape weight_shape(int gates, int64_t per_gate, int64_t K, int64_t panel);

// Whether `tile`'s width divides `extent` (then its weights are a panel of their own).
bool panel_divides(const MachineModel &model, int64_t extent, const CpuTile &tile);

// A kernel's part of `plan` (GruSpec::kernels says which kernels a library has).
const KernelPlan &kernel_plan(const SchedulePlan &plan, KernelKind kind);
KernelPlan &kernel_plan(SchedulePlan &plan, KernelKind kind);

// The tiles a kernel may take on `model` for `spec` (block_rows: the projection's rows per
// call); each valid (fits the registers, its panel divides the matrix, or it is the one-panel
// layout), with its estimate. The step's and the projection's rows divide N and block_rows.
// k_per_element: the weights' WeightStorage::k_per_element (2: bf16 pairs, which the estimate
// counts in registers, FMAs per step and conversions; SchedulePlan.cpp's estimate).
std::vector<KernelPlan> step_candidates(const MachineModel &model, const GruSpec &spec,
                                        int k_per_element);
std::vector<KernelPlan> projection_candidates(const MachineModel &model, int64_t columns,
                                              int64_t rows, int fixed_vectors,
                                              int k_per_element);

// The model's choice for a CPU target (packed weights), deterministic.
SchedulePlan plan_from_model(const MachineModel &model, const GruSpec &spec, int64_t block_rows,
                             int k_per_element);

// The blocks a GPU kernel may take on `model` (a GPU class: simd_width, max_threads_per_group):
// threads 1, 2, 4 or 8 SIMD-groups, rows dividing `rows` up to 4, at most the group's threads.
std::vector<GpuBlock> gpu_candidates(const MachineModel &model, int64_t rows);

// The model's plan for a GPU target (MLX's weight layout, no panels): each kernel's own block is
// two SIMD-groups of threads by one row, behind the policy's autoscheduler.
SchedulePlan plan_for_gpu(const MachineModel &model);

// A GPU plan with these choices for the projection and the step (a tuning record's or a
// measured one); the step projection follows the projection's (its block's rows cut to N).
SchedulePlan plan_with_gpu_blocks(const MachineModel &model, const GruSpec &spec,
                                  const KernelPlan &projection, const KernelPlan &step,
                                  const std::string &origin);

// The step's k block for `tile` (BLIS's kc): where several batch tiles reuse the tile's panel of
// Wh and the panel is larger than half of L1, the largest divisor of H whose block of the panel
// (k_block x 3 gates x T weights of the spec's precision) fits there; else 0, the whole
// reduction at once; 0 too for a spec whose step schedule takes the whole reduction at once
// (step_blocks_reduction).
int step_k_block(const MachineModel &model, const GruSpec &spec, const CpuTile &tile);

// Whether the spec's CPU step schedule can block its reduction (CpuSchedules.cpp): not the
// reset-before step (ResetBeforeSchedules.cpp) nor w8a8's integer dot products, which take it
// whole whatever the tile's k block says.
bool step_blocks_reduction(const GruSpec &spec);

// The plan with these tiles for the projection and the step (a tuning record's or a measured
// choice): their estimates, the step projection's tile (the projection's panel, the most rows of
// N that fit) and the panels, as plan_from_model completes its own choice.
SchedulePlan plan_with_tiles(const MachineModel &model, const GruSpec &spec, int64_t block_rows,
                             int k_per_element, const CpuTile &projection, const CpuTile &step,
                             const std::string &origin);

// The panels a plan's tiles imply (the one place this is computed): the tile's width when it
// divides the matrix, else the whole matrix.
WeightPanels panels_for(const MachineModel &model, const GruSpec &spec, const CpuTile &projection,
                        const CpuTile &step);

}  // namespace grugen
