#include "OwnSchedules.h"

#include <algorithm>
#include <utility>

namespace grugen {
namespace {

using Halide::TailStrategy;

// A tile's width (SchedulePlan.h's tile_width) and the vector width in it: extents below one
// vector make one vector of their own width. Tiles that do not divide the extent shift inwards
// (recompute a few outputs), which keeps every read inside the buffers.
struct Tile {
  int width, lanes;
};
Tile tile_of(int extent, int lanes, int vectors) {
  const int width = int(tile_width(extent, lanes, vectors));
  return {width, std::min(width, lanes)};
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

// w8a8's quantized inputs, once per call before the product (a few hundred bytes): the rows'
// magnitudes, then the quantized bytes in vectors (q is internal, so rounding its extent up to
// whole vectors only pads its buffer; its reads of the input are clamped).
void quantize_inputs_first(const Halide::Target &target, const DotInputs &dot) {
  const Halide::Var k(dot.q.args()[0].name());
  Halide::Func amax = dot.amax, q = dot.q;
  const int lanes = target.natural_vector_size<float>();
  amax.compute_root();
  if (dot.K % lanes == 0 && dot.K > lanes) {
    // The magnitude in vectors: a lane-wise maximum over the row's vectors, then across lanes
    // (integers: the float32 magnitudes' bits).
    Halide::RVar ko("amax_ko"), ki("amax_ki");
    Halide::Var lane("amax_lane");
    Halide::Func lanes_max = amax.update().split(dot.amax_k, ko, ki, lanes).rfactor(ki, lane);
    lanes_max.compute_at(amax, Halide::Var(amax.args()[0].name())).vectorize(lane);
    lanes_max.update().vectorize(lane);
    // The maximum across the lanes as one vector reduction (a tree of shuffles and maxima)
    // rather than a chain of `lanes` scalar maxima.
    amax.update().atomic().vectorize(ki);
  }
  q.compute_root().vectorize(k, lanes, TailStrategy::RoundUp);
}

// The reduction of a w8a8 product: each lane's 4 k (kk) vectorized with the outputs' vectors,
// which Halide makes one dot-product instruction per vector (x86 VNNI vpdpbusd, Arm sdot).
Halide::Stage dot_reduction(Halide::Stage update, const DotInputs &dot) {
  return update.atomic().vectorize(dot.kk);
}

}  // namespace

void schedule_projection_for_cpu(const Halide::Target &target, const ProjectionFuncs &f) {
  Halide::Func xp = f.xp, acc = f.acc;
  const Halide::Var j = f.j, r = f.r;
  const int G = f.G, rows = f.rows, D = f.D;
  Tile tj = tile_of(G, target.natural_vector_size<float>(), f.tile.vectors);
  // Outer loop over column panels of Wx (D x tj floats, contiguous in the panel layout, reused by
  // every row tile), inner over row tiles; each tile is tj x rows accumulators in registers, one
  // FMA per weight vector and broadcast x(k, r). A tile of several panels (the plan divides G
  // by them) streams each of its panels side by side.
  tj.width *= f.tile.panels;
  const auto [jo, ro] = register_tiles(xp, j, r, tj, f.tile.rows);
  if (!f.team && 2.0 * rows * D * G >= kParallelFlops && G / tj.width > 1) xp.parallel(jo);
  acc.compute_at(xp, ro).vectorize(j, tj.lanes).unroll(j).unroll(r);
  if (f.dot.defined()) {
    quantize_inputs_first(target, f.dot);
    dot_reduction(acc.update().reorder(f.dot.kk, j, r, f.k), f.dot)
        .vectorize(j, tj.lanes)
        .unroll(j)
        .unroll(r);
    return;
  }
  acc.update().reorder(j, r, f.k).vectorize(j, tj.lanes).unroll(j).unroll(r);
}

void schedule_step_for_cpu(const Halide::Target &target, const StepFuncs &f) {
  Halide::Func h_next = f.h_next, hp = f.hp;
  const Halide::Var i = f.i, g = f.g, n = f.n;
  const int H = f.H, N = f.N, K = f.K > 0 ? f.K : f.H;
  const Tile ti = tile_of(H, target.natural_vector_size<float>(), f.tile.vectors);
  // Outer loop over tiles of states (each streams its panel of Wh, 3 gates x ti states per row
  // of the reduction, once per batch tile), then batch tiles; hp for the tile lives in
  // registers, the gates follow in vectors.
  const auto [io, no] = register_tiles(h_next, i, n, ti, f.tile.rows);
  if (!f.team && 2.0 * N * H * 3 * K >= kParallelFlops && H / ti.width > 1) h_next.parallel(io);
  // Each gate stage for the whole tile in turn, once its products are done: the tile's rows and
  // vectors are independent chains of exp, divide and polynomial, side by side in the code, where
  // inlined into h_next each state's r -> tanh -> update chain ran mostly alone (D=H=128 N=16,
  // AVX-512: the step's gates took 35 % of it, 29 % staged). Same arithmetic, same bits.
  for (Halide::Func gate : f.gates)
    gate.compute_at(h_next, no).vectorize(i, ti.lanes).unroll(i).unroll(n);
  if (f.dot.defined()) {
    // w8a8: the whole reduction per batch tile (the panel is a quarter of float32's).
    quantize_inputs_first(target, f.dot);
    hp.compute_at(h_next, no).vectorize(i, ti.lanes).unroll(i).unroll(g).unroll(n);
    dot_reduction(hp.update().reorder(f.dot.kk, i, g, n, f.k), f.dot)
        .vectorize(i, ti.lanes)
        .unroll(i)
        .unroll(g)
        .unroll(n);
    return;
  }
  if (f.tile.k_block > 0 && f.tile.k_block < K && f.tile.k_block % f.k_per_step == 0) {
    // The reduction in blocks (BLIS's kc): hp for all N rows of the tile of states, then for
    // each block of k, every batch tile in turn while the block of the panel stays in L1.
    Halide::Var hno("hno"), hni("hni");
    Halide::RVar ko("ko"), ki("ki");
    const TailStrategy guard = TailStrategy::GuardWithIf;  // both divide exactly
    hp.compute_at(h_next, io).vectorize(i, ti.lanes).unroll(i).unroll(g);
    hp.update()
        .split(n, hno, hni, f.tile.rows, guard)
        .split(f.k, ko, ki, f.tile.k_block / f.k_per_step, guard)
        .reorder(i, g, hni, ki, hno, ko)
        .vectorize(i, ti.lanes)
        .unroll(i)
        .unroll(g)
        .unroll(hni);
    return;
  }
  hp.compute_at(h_next, no).vectorize(i, ti.lanes).unroll(i).unroll(g).unroll(n);
  hp.update().reorder(i, g, n, f.k).vectorize(i, ti.lanes).unroll(i).unroll(g).unroll(n);
}

}  // namespace grugen
