#include "OwnSchedules.h"

#include <algorithm>
#include <utility>

namespace grugen {
namespace {

using Halide::TailStrategy;

// Vector registers the accumulators of one tile may take (the rest hold weights and
// broadcasts): AVX-512 and AArch64 have 32, AVX2 and older x86 16.
int accumulator_registers(const Halide::Target &t) {
  const bool wide = t.arch == Halide::Target::ARM || t.has_feature(Halide::Target::AVX512);
  return wide ? 24 : 12;
}

// The largest divisor of `n` that is at most `limit` (so tiles of it cover n exactly).
int divisor_at_most(int n, int limit) {
  for (int d = std::min(n, std::max(1, limit)); d > 1; --d)
    if (n % d == 0) return d;
  return 1;
}

// A tile of `extent` of up to `vectors` vectors of `lanes`: the width and the vector width in
// it. Extents below one vector make one vector of their own width. Tiles that do not divide the
// extent shift inwards (recompute a few outputs), which keeps every read inside the buffers.
struct Tile {
  int width, lanes;
};
Tile tile_of(int extent, int lanes, int vectors) {
  if (extent < lanes) return {extent, extent};
  return {lanes * std::max(1, std::min(vectors, extent / lanes)), lanes};
}

// Work (flops) below which a kernel call stays on one thread: forking Halide's thread pool
// costs microseconds, more than splitting a small call saves.
constexpr double kParallelFlops = 1.0e6;

// Tiles `out` over (col, row) into `cols` x `rows` blocks whose accumulators stay in registers:
// col tiles outermost, then row tiles; inside a block, col vectorized by cols.lanes and rows
// unrolled. Returns the loops over col tiles and row tiles, named <col>o and <row>o.
std::pair<Halide::Var, Halide::Var> register_tiles(Halide::Func out, Halide::Var col,
                                                   Halide::Var row, Tile cols, int rows) {
  Halide::Var co(col.name() + "o"), ci(col.name() + "i"), ro(row.name() + "o"),
      ri(row.name() + "i");
  out.split(col, co, ci, cols.width, TailStrategy::ShiftInwards)
      .split(row, ro, ri, rows, TailStrategy::ShiftInwards)
      .reorder(ci, ri, ro, co)
      .vectorize(ci, cols.lanes)
      .unroll(ri);
  return {co, ro};
}

}  // namespace

void schedule_projection_for_cpu(const Halide::Target &target, const ProjectionFuncs &f) {
  Halide::Func xp = f.xp, acc = f.acc;
  const Halide::Var j = f.j, r = f.r;
  const Halide::RVar k = f.k;
  const int G = f.G, rows = f.rows, D = f.D;
  const int lanes = target.natural_vector_size<float>();
  const Tile tj = tile_of(G, lanes, 3);
  const int tr = divisor_at_most(rows, accumulator_registers(target) / (tj.width / tj.lanes));
  // Outer loop over column panels of Wx (D x tj floats, reused by every row tile), inner over
  // row tiles; each tile is tj x tr accumulators in registers, one FMA per weight vector and
  // broadcast x(k, r).
  const auto [jo, ro] = register_tiles(xp, j, r, tj, tr);
  if (2.0 * rows * D * G >= kParallelFlops && G / tj.width > 1) xp.parallel(jo);
  acc.compute_at(xp, ro).vectorize(j, tj.lanes).unroll(j).unroll(r);
  acc.update().reorder(j, r, k).vectorize(j, tj.lanes).unroll(j).unroll(r);
}

void schedule_step_for_cpu(const Halide::Target &target, const StepFuncs &f) {
  Halide::Func h_next = f.h_next, hp = f.hp;
  const Halide::Var i = f.i, g = f.g, n = f.n;
  const Halide::RVar k = f.k;
  const int H = f.H, N = f.N;
  const int lanes = target.natural_vector_size<float>();
  // Three gates per state: 3 x (ti / lanes) accumulators per batch row of the tile.
  Tile ti = tile_of(H, lanes, 2);
  const int tn = divisor_at_most(N, accumulator_registers(target) / (3 * (ti.width / ti.lanes)));
  // A lone batch row only streams Wh: 4 vectors per gate row read longer contiguous runs
  // (measured, H=512 N=1 from L3: 51 -> 37 us per step; no change at H=128).
  if (tn == 1) ti = tile_of(H, lanes, 4);
  // Outer loop over tiles of states (each reads its 3 x ti columns of packed Wh once per batch
  // tile), then batch tiles; hp for the tile lives in registers, the gates follow in vectors.
  const auto [io, no] = register_tiles(h_next, i, n, ti, tn);
  if (2.0 * N * H * 3 * H >= kParallelFlops && H / ti.width > 1) h_next.parallel(io);
  hp.compute_at(h_next, no).vectorize(i, ti.lanes).unroll(i).unroll(g).unroll(n);
  hp.update().reorder(i, g, n, k).vectorize(i, ti.lanes).unroll(i).unroll(g).unroll(n);
}

}  // namespace grugen
