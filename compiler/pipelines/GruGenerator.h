// The GeneratorParams every gru-gen pipeline shares: the spec's fixed shape.
//
// Shapes are compile-time constants of the generated code (that is the point of a fixed-shape
// compiler): buffers get explicit bounds from them, so Halide can drop bounds arithmetic and the
// autoscheduler sees exact extents. Every extent is static, the projection's row count included
// (the runtime walks a sequence in blocks of `rows`): with a dynamic extent, Adams2019 splits with
// TailStrategy::ShiftInwards, which reads before row 0 whenever the extent is below the factor.
#pragma once

#include <functional>
#include <limits>
#include <string>

#include "Halide.h"
#include "schedules/OwnSchedules.h"
#include "schedules/SchedulePlan.h"
#include "schedules/SchedulePolicy.h"

namespace grugen {

// Registered generator names, as gru-gen's codegen stage asks for them.
inline constexpr const char *kProjectionGenerator = "gru_projection";
inline constexpr const char *kStepGenerator = "gru_step";

template <typename T>
class GruGenerator : public Halide::Generator<T> {
 public:
  template <typename P>
  using GeneratorParam = Halide::GeneratorParam<P>;

  GeneratorParam<int> input_size{"input_size", 1, 1, 1 << 20};
  GeneratorParam<int> hidden_size{"hidden_size", 1, 1, 1 << 20};
  GeneratorParam<int> batch{"batch", 1, 1, 1 << 20};
  GeneratorParam<bool> has_bias{"has_bias", true};
  // Where the step applies the reset gate (GruSpec::reset_after): after the recurrent product
  // (mlx.nn.GRU) or before it (ONNX linear_before_reset=0). The projection does not read it.
  GeneratorParam<bool> reset_after{"reset_after", true};
  // Rows of x the projection handles per call (N*L rows are walked in blocks of this many).
  GeneratorParam<int> rows{"rows", 1, 1, 1 << 20};
  // Target-dependent decisions, made by the target policy (TargetToolchain in
  // schedules/SchedulePolicy.h, which says what each means) and passed in by codegen.
  GeneratorParam<bool> vector_gates{"vector_gates", true};
  // The policy's own schedule to apply (PipelineSchedule): none where an autoscheduler runs.
  GeneratorParam<OwnSchedule> own_schedule{"own_schedule",
                                           OwnSchedule::None,
                                           {{"none", OwnSchedule::None},
                                            {"cpu", OwnSchedule::Cpu},
                                            {"gpu", OwnSchedule::Gpu}}};
  // From the schedule plan (schedules/SchedulePlan.h): the packed weights' panel width, in floats
  // per gate (the projection: Wx's columns P; the step: Wh's states T), 0 for MLX's layout; and
  // the own CPU schedule's register tile.
  GeneratorParam<int> panel{"panel", 0, 0, 1 << 30};
  GeneratorParam<int> tile_vectors{"tile_vectors", 1, 1, 64};
  GeneratorParam<int> tile_rows{"tile_rows", 1, 1, 1 << 20};
  GeneratorParam<int> k_block{"k_block", 0, 0, 1 << 20};
  GeneratorParam<int> tile_panels{"tile_panels", 1, 1, 1 << 20};
  // The order of xp's columns the step reads (SchedulePlan.h's WeightPanels::xp): 0, MLX's;
  // X > 0, the gates of each X states side by side (xp_column).
  GeneratorParam<int> xp_panel{"xp_panel", 0, 0, 1 << 20};
  // The own GPU schedule's thread block (SchedulePlan.h's GpuBlock).
  GeneratorParam<int> gpu_threads{"gpu_threads", 64, 1, 1024};
  GeneratorParam<int> gpu_rows{"gpu_rows", 1, 1, 1024};
  // The step for one member of a team of `team` threads (the runtime's persistent team,
  // SchedulePlan::team_sizes): it computes H / team states, slice `slice` of them, from its own
  // range of Wh's panels; 0: the whole step. The projection: > 0 for a team model's step
  // projection, the same kernel on one thread (no parallel loop).
  GeneratorParam<int> team{"team", 0, 0, 1 << 10};
  // How Wx and Wh are stored (GruSpec::weights_precision), whether f16/bf16 arrive as their
  // bits (TargetToolchain::half_as_bits of the precision) and bf16 two k per element
  // (uses_bf16_pairs): weight_storage of the three is the weight inputs' type and layout;
  // weight() converts each element to float32 in registers.
  GeneratorParam<WeightsPrecision> weights_precision{"weights_precision", WeightsPrecision::F32,
                                                     precisions_by_name()};
  GeneratorParam<bool> half_weights_as_bits{"half_weights_as_bits", false};
  GeneratorParam<bool> bf16_pairs{"bf16_pairs", false};

 protected:
  int gates() const { return 3 * int(hidden_size); }
  // xp's column of gate g's pre-activation of state i (runtime/gru_pack.h's gru_xp_column, which
  // orders Wx's rows and b at create).
  Halide::Expr xp_column(Halide::Expr i, int g) const {
    const int X = xp_panel, H = hidden_size;
    if (X == 0) return i + g * H;
    return (i / X) * (3 * X) + g * X + i % X;
  }

  bool packed_weights() const { return int(panel) > 0; }
  WeightsPrecision precision() const { return weights_precision; }
  WeightStorage storage() const {
    return weight_storage(precision(), half_weights_as_bits, bf16_pairs, this->get_target());
  }
  Halide::Type weight_type() const { return storage().type; }
  // int8 and w8a8 weights: each gate row's sum is multiplied by its float32 scale (an extra
  // input, which for w8a8 also holds the rows' integer sums after the scales).
  bool scaled_weights() const {
    return precision() == WeightsPrecision::Int8 || precision() == WeightsPrecision::W8A8;
  }
  // w8a8: the products' inputs are quantized per call and the products are int32 dot products
  // over groups of k_group() k (GruSpec::quantized_activations, IntegerDot).
  bool quantized_activations() const { return precision() == WeightsPrecision::W8A8; }
  int k_group() const { return storage().k_group; }
  // The k one stored element holds (bf16 pairs: 2); the products' reductions run over elements
  // (reduction, accumulate).
  int k_per_element() const { return storage().k_per_element; }
  int padded_k(int K) const { return int(storage().padded_k(K)); }
  // Floats of the row-data input per weight matrix of `rows` rows: scales, then (w8a8) sums.
  int row_floats(int rows) const { return int(weight_row_floats_of(precision(), rows)); }
  CpuTile tile() const {
    return {int(tile_vectors), int(tile_rows), int(k_block), int(tile_panels)};
  }
  GpuBlock gpu_block() const { return {int(gpu_threads), int(gpu_rows)}; }

  // A weight matrix W [gates x per_gate][K] (MLX's layout, (k, c)) as the kernels read it: with
  // packed panels, transposed and cut into panels of `panel` columns per gate, the gates
  // interleaved: [per_gate / panel][K][gates][panel], a 2-D buffer (K x gates x panel, panels).
  template <typename B>
  void bound_weights(B &buf, int gates, int per_gate, int K) {
    const WeightShape shape = storage().shape(gates, per_gate, K, int(panel));
    bound_dense_matrix(buf, int(shape.inner), int(shape.outer));
  }

  // Element (k, gate g, column c of that gate) of such a weight matrix, as float32.
  template <typename B>
  Halide::Expr weight(B &buf, int gates, int per_gate, Halide::Expr k, Halide::Expr g,
                      Halide::Expr c) {
    Halide::Expr w = stored_weight(buf, gates, per_gate, k / k_group(), k % k_group(), g, c);
    return precision() == WeightsPrecision::F32 ? w : weight_to_float(w);
  }

  // A float product's reduction over a weight row of K: one step per stored element (K, or
  // K / 2 with bf16 pairs).
  Halide::RDom reduction(int K, const std::string &name) const {
    return Halide::RDom(0, padded_k(K) / k_per_element(), name);
  }

  // `sum` plus the terms of reduction step e of row (g, c)'s product with input(k): w(k) *
  // input(k), or with bf16 pairs w(2e) * input(2e) then w(2e + 1) * input(2e + 1), added in
  // that order (the order of k, as one k per step adds them). A bfloat16 is the top half of a
  // float32: the pair's low one is the element shifted left by 16, its high one the element
  // with the low half cleared.
  template <typename B>
  Halide::Expr accumulate(Halide::Expr sum, B &buf, int gates, int per_gate, Halide::Expr e,
                          Halide::Expr g, Halide::Expr c,
                          const std::function<Halide::Expr(Halide::Expr)> &input) {
    if (k_per_element() == 1) return sum + weight(buf, gates, per_gate, e, g, c) * input(e);
    const Halide::Expr pair = stored_weight(buf, gates, per_gate, e, 0, g, c);
    const Halide::Expr low = Halide::reinterpret<float>(pair << 16);
    const Halide::Expr high_half = Halide::Expr(uint32_t(0xffff0000u));
    const Halide::Expr high = Halide::reinterpret<float>(pair & high_half);
    return sum + low * input(2 * e) + high * input(2 * e + 1);
  }

  // The stored element k = kg * k_group() + kk (kk < k_group()): with groups of k (w8a8), one
  // group of a packed panel's column is k_group() consecutive elements ([Kp / k_group][gates]
  // [panel][k_group], runtime/gru_pack.h's gru_pack_converted).
  template <typename B>
  Halide::Expr stored_weight(B &buf, int gates, int per_gate, Halide::Expr kg, Halide::Expr kk,
                             Halide::Expr g, Halide::Expr c) {
    const int p = panel;
    if (!packed_weights()) return buf(kg * k_group() + kk, g * per_gate + c);
    // One panel: no division (the plain transposed layout [K][gates][per_gate]).
    if (p == per_gate) return panel_weight(buf, gates, kg, kk, g, c, 0);
    return panel_weight(buf, gates, kg, kk, g, c % p, c / p);
  }

  // The same element as column `column` of panel `which` (packed weights): linear in column,
  // so that a vector of columns is one contiguous load even with the group's kk vectorized
  // inside it (c % p over such lane-repeated columns defeats Halide's simplifier: gathers).
  // With bf16 pairs the group is one element (kk 0).
  template <typename B>
  Halide::Expr panel_weight(B &buf, int gates, Halide::Expr kg, Halide::Expr kk, Halide::Expr g,
                            Halide::Expr column, Halide::Expr which) {
    const int per_column = k_group() / k_per_element();
    return buf(((kg * gates + g) * int(panel) + column) * per_column + kk, which);
  }

  // w8a8's quantized input vectors: v(k, r) (r: a row of x, or a batch row of h) over k < K as
  // q(k, r) for k < padded_k(K) (zeros past K), in the form the target's integer dot product
  // takes (IntegerDot: q + 128 as uint8, else int8), and scale(r), the row's scale
  // (GruSpec.h's WeightsPrecision states the rule: a = max_k |v[k]|, NaN when a v[k] is; an
  // infinite v[k] quantizes to +-127 and the scale is inf, as float32's products would be
  // infinite). The float arithmetic is strict IEEE, so that every target (and NumPy's float32
  // model of it, tools/gru_precision.py) quantizes alike; the products' dequantization
  // (dequantized) too, so that run's and step's projections are the same bits.
  struct QuantizedRows {
    Halide::Func amax, q, scale;
    bool unsigned_inputs;
    Halide::RVar amax_k;  // amax's reduction over k
  };
  QuantizedRows quantize_rows(Halide::Func v, int K, const std::string &name) {
    using Halide::Expr;
    Halide::Var k("k"), r("r");
    Halide::RDom e(0, K, name + "_e");
    QuantizedRows out{Halide::Func(name + "_amax"), Halide::Func(name + "_q"),
                      Halide::Func(name + "_scale"), integer_dot(this->get_target()).unsigned_inputs, e};
    // The largest magnitude as the largest of the magnitudes' bits (an integer maximum): a NaN's
    // are above infinity's, so a NaN in the row makes it NaN.
    out.amax(r) = Halide::cast<uint32_t>(0);
    out.amax(r) = Halide::max(out.amax(r),
                              Halide::reinterpret<uint32_t>(v(e, r)) & 0x7fffffffu);
    const Expr a = Halide::reinterpret<float>(out.amax(r));
    const Expr inf = Expr(std::numeric_limits<float>::infinity());
    const Expr finite = a > 0.0f && a < inf;
    const Expr value = v(Halide::min(k, K - 1), r);
    const Expr inv = Halide::strict_float(127.0f / a);
    // Only a finite row's levels are used; the others are 0 before the conversion to an
    // integer, which a NaN or infinite float must never reach (C, hence Metal source, leaves it
    // undefined: UBSan caught it through the test Metal device).
    const Expr level =
        Halide::strict_float(Halide::round(Halide::select(finite, value * inv, 0.0f)));
    auto i16 = [](Expr x) { return Halide::cast<int16_t>(x); };
    const Expr infinite = Halide::select(Halide::is_inf(value),
                                         Halide::select(value > 0.0f, i16(127), i16(-127)), i16(0));
    // Strict: else LLVM may assume no infinity and no NaN reaches a comparison (Halide's float
    // arithmetic is fast-math by default) and fold the tests of a.
    Expr q = Halide::strict_float(Halide::select(k >= K, i16(0), finite,
                                                 i16(Halide::clamp(level, -127.0f, 127.0f)),
                                                 a == inf, infinite, i16(0)));
    out.q(k, r) = out.unsigned_inputs ? Halide::cast<uint8_t>(q + 128) : Halide::cast<int8_t>(q);
    out.scale(r) = Halide::strict_float(a / 127.0f);
    return out;
  }

  // A row's product from its int32 dot product: float32(dot) * the weight row's scale * the
  // input row's, in IEEE order (0 * inf is NaN: an infinite input row over a zero sum).
  Halide::Expr dequantized(Halide::Expr dot, Halide::Expr weight_scale, Halide::Expr input_scale) {
    return Halide::strict_float(Halide::cast<float>(dot) * weight_scale * input_scale);
  }

  // w8a8's product input: the rows of `buf` ([rows][K], (k, r)) quantized by quantize_rows, the
  // product's reduction over groups of k (d.x within a group, d.y over the groups), and what the
  // own schedules need of them (DotInputs).
  struct QuantizedInput {
    QuantizedRows rows;
    Halide::RDom d;
    int group;
    // Input row r's byte at the reduction's current k.
    Halide::Expr byte(Halide::Expr r) const { return rows.q(d.y * group + d.x, r); }
    DotInputs dot(int K) const { return {rows.amax, rows.q, d.x, d.y, rows.amax_k, K}; }
  };
  template <typename B>
  QuantizedInput quantized_input(B &buf, int K, const std::string &name) {
    Halide::Func v(name + "v");
    Halide::Var k("kv"), r("rv");
    v(k, r) = buf(k, r);
    const int q = k_group();
    return {quantize_rows(v, K, name), Halide::RDom(0, q, 0, padded_k(K) / q, "d"), q};
  }

  // One product of an input byte and a weight byte, as the dot-product patterns Halide matches
  // want it: both widened through 16 bits (vpdpbusd, sdot, or pmaddwd on 16-bit integers).
  static Halide::Expr byte_product(Halide::Expr input, Halide::Expr weight) {
    auto wide = [](Halide::Expr b) {
      return Halide::cast<int32_t>(Halide::cast<int16_t>(b));
    };
    return wide(input) * wide(weight);
  }

  // Row j's integer dot product made exact from one over unsigned inputs q + 128: minus 128
  // times the row's integer sum (row_sum: the float stored after the scales).
  Halide::Expr exact_dot(Halide::Expr dot, const QuantizedRows &rows, Halide::Expr row_sum) {
    if (!rows.unsigned_inputs) return dot;
    return dot - 128 * Halide::cast<int32_t>(row_sum);
  }

  // A stored weight as float32, exactly: float16/bfloat16/int8 by Halide's conversions, or
  // f16/bf16 bits (uint16) by integer arithmetic: bfloat16 is the top half of a float32; a
  // binary16 rebiases its exponent (normal), scales its mantissa by 2^-24 (subnormal: exact, and
  // no float32 subnormal is formed, which a GPU might flush) or keeps inf/NaN.
  Halide::Expr weight_to_float(Halide::Expr w) const {
    using Halide::cast;
    using Halide::select;
    if (w.type() != Halide::UInt(16)) return cast<float>(w);
    Halide::Expr u = cast<uint32_t>(w);
    if (precision() == WeightsPrecision::BF16) return Halide::reinterpret<float>(u << 16);
    Halide::Expr e = (u >> 10) & 0x1f, m = u & 0x3ff;
    Halide::Expr normal = Halide::reinterpret<float>(((u & 0x7fff) << 13) + cast<uint32_t>(112 << 23));
    Halide::Expr special = Halide::reinterpret<float>((m << 13) | cast<uint32_t>(0x7f800000));
    Halide::Expr subnormal = cast<float>(m) * (1.0f / 16777216.0f);
    Halide::Expr magnitude = select(e == 0, subnormal, e == 31, special, normal);
    return select((u & 0x8000) != 0, -magnitude, magnitude);
  }

  // A dense row-major matrix [rows][cols] as a Halide buffer (cols innermost, stride 1).
  template <typename B>
  static void bound_dense_matrix(B &buf, int cols, int rows) {
    buf.dim(0).set_bounds(0, cols);
    buf.dim(1).set_bounds(0, rows).set_stride(cols);
    buf.set_estimates({{0, cols}, {0, rows}});
  }

  // A dense vector [n] (a bias).
  template <typename B>
  static void bound_vector(B &buf, int n) {
    buf.dim(0).set_bounds(0, n);
    buf.set_estimates({{0, n}});
  }

  // A [N][cols] slice of a larger batch-first array: rows are `stride` apart, stride known
  // only at run time (it is L*cols when the runtime walks timestep t of a [N][L][cols] array,
  // more than cols where rows are padded).
  template <typename B>
  static void bound_batch_slice(B &buf, int cols, int n) {
    buf.dim(0).set_bounds(0, cols);
    buf.dim(1).set_bounds(0, n);
    buf.set_estimates({{0, cols}, {0, n}});
  }
};

}  // namespace grugen
