// The GeneratorParams every gru-gen pipeline shares: the spec's fixed shape.
//
// Shapes are compile-time constants of the generated code (that is the point of a fixed-shape
// compiler): buffers get explicit bounds from them, so Halide can drop bounds arithmetic and the
// autoscheduler sees exact extents. Every extent is static, the projection's row count included
// (the runtime walks a sequence in blocks of `rows`): with a dynamic extent, Adams2019 splits with
// TailStrategy::ShiftInwards, which reads before row 0 whenever the extent is below the factor.
#pragma once

#include "Halide.h"
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
  GeneratorParam<bool> packed_weights{"packed_weights", true};
  GeneratorParam<bool> vector_tanh{"vector_tanh", true};
  // The policy's own schedule to apply (PipelineSchedule): none where an autoscheduler runs.
  GeneratorParam<OwnSchedule> own_schedule{"own_schedule",
                                           OwnSchedule::None,
                                           {{"none", OwnSchedule::None},
                                            {"cpu", OwnSchedule::Cpu},
                                            {"gpu", OwnSchedule::Gpu}}};

 protected:
  int gates() const { return 3 * int(hidden_size); }

  // A weight matrix of `gate_rows` x `cols` in MLX's layout ([gate_rows][cols]), or transposed
  // ([cols][gate_rows]) where the runtime packs it.
  template <typename B>
  void bound_weights(B &buf, int gate_rows, int cols) {
    if (packed_weights) {
      bound_dense_matrix(buf, gate_rows, cols);
    } else {
      bound_dense_matrix(buf, cols, gate_rows);
    }
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
