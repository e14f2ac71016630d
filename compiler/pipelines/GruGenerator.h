// The GeneratorParams every gru-gen pipeline shares: the spec's fixed shape.
//
// Shapes are compile-time constants of the generated code (that is the point of a fixed-shape
// compiler): buffers get explicit bounds from them, so Halide can drop bounds arithmetic and the
// autoscheduler sees exact extents. Every extent is static, the projection's row count included
// (the runtime walks a sequence in blocks of `rows`): with a dynamic extent, Adams2019 splits with
// TailStrategy::ShiftInwards, which reads before row 0 whenever the extent is below the factor.
#pragma once

#include "Halide.h"
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
  GeneratorParam<bool> vector_tanh{"vector_tanh", true};
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
  // The own GPU schedule's thread block (SchedulePlan.h's GpuBlock).
  GeneratorParam<int> gpu_threads{"gpu_threads", 64, 1, 1024};
  GeneratorParam<int> gpu_rows{"gpu_rows", 1, 1, 1024};
  // The step for one member of a team of `team` threads (the runtime's persistent team,
  // SchedulePlan::team_sizes): it computes H / team states, slice `slice` of them, from its own
  // range of Wh's panels; 0: the whole step. The projection: > 0 for a team model's step
  // projection, the same kernel on one thread (no parallel loop).
  GeneratorParam<int> team{"team", 0, 0, 1 << 10};
  // How Wx and Wh are stored (GruSpec::weights_precision) and whether f16/bf16 arrive as their
  // bits (TargetToolchain::half_weights_as_bits): weight_storage_type of the two is the weight
  // inputs' type; weight() converts each element to float32 in registers.
  GeneratorParam<WeightsPrecision> weights_precision{"weights_precision", WeightsPrecision::F32,
                                                     precisions_by_name()};
  GeneratorParam<bool> half_weights_as_bits{"half_weights_as_bits", false};

 protected:
  int gates() const { return 3 * int(hidden_size); }

  bool packed_weights() const { return int(panel) > 0; }
  WeightsPrecision precision() const { return weights_precision; }
  Halide::Type weight_type() const { return weight_storage_type(precision(), half_weights_as_bits); }
  // int8 weights: each gate row's sum is multiplied by its float32 scale (an extra input).
  bool scaled_weights() const { return precision() == WeightsPrecision::Int8; }
  CpuTile tile() const {
    return {int(tile_vectors), int(tile_rows), int(k_block), int(tile_panels)};
  }
  GpuBlock gpu_block() const { return {int(gpu_threads), int(gpu_rows)}; }

  // A weight matrix W [gates x per_gate][K] (MLX's layout, (k, c)) as the kernels read it: with
  // packed panels, transposed and cut into panels of `panel` columns per gate, the gates
  // interleaved: [per_gate / panel][K][gates][panel], a 2-D buffer (K x gates x panel, panels).
  template <typename B>
  void bound_weights(B &buf, int gates, int per_gate, int K) {
    const WeightShape shape = weight_shape(gates, per_gate, K, int(panel));
    bound_dense_matrix(buf, int(shape.inner), int(shape.outer));
  }

  // Element (k, gate g, column c of that gate) of such a weight matrix, as float32.
  template <typename B>
  Halide::Expr weight(B &buf, int gates, int per_gate, Halide::Expr k, Halide::Expr g,
                      Halide::Expr c) {
    const int p = panel;
    Halide::Expr w;
    if (!packed_weights()) {
      w = buf(k, g * per_gate + c);
    } else if (p == per_gate) {
      // One panel: no division (the plain transposed layout [K][gates][per_gate]).
      w = buf((k * gates + g) * p + c, 0);
    } else {
      w = buf((k * gates + g) * p + c % p, c / p);
    }
    return precision() == WeightsPrecision::F32 ? w : weight_to_float(w);
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
