// Pipeline (a): the input projection for every timestep at once.
//
//   xp[r][j] = b[j] + sum_k x[r][k] * Wx[j][k]      r over a block of rows, j over 3H gates
//
// A GEMM with the bias fused, as mlx.nn.GRU's addmm does; the runtime covers all N*L rows of a
// sequence in blocks of `rows` before the recurrence starts, which then only adds h*Wh^T per step.
// A second instance with rows = N projects one timestep for streaming `step` calls.
#include "pipelines/GruGenerator.h"
#include "schedules/OwnSchedules.h"

namespace grugen {
namespace {

class GruProjection : public GruGenerator<GruProjection> {
 public:
  Input<Buffer<float, 2>> x{"x"};    // (k, r): [rows][D]
  // (k, j): [3H][D], or packed in panels (GruGenerator.h); of weight_type()
  Input<Buffer<void, 2>> Wx{"Wx"};
  Input<Buffer<float, 1>> *Wx_scale = nullptr;  // (j): [3H], int8 weights' row scales
  Input<Buffer<float, 1>> *b = nullptr;         // (j): [3H], only with bias
  Output<Buffer<float, 2>> xp{"xp"};            // (j, r): [rows][3H]

  void configure() {
    Wx.set_type(weight_type());
    if (scaled_weights()) Wx_scale = add_input<Buffer<float, 1>>("Wx_scale");
    if (has_bias) b = add_input<Buffer<float, 1>>("b");
  }

  void generate() {
    const int D = input_size, G = gates();
    Halide::Var j("j"), r("r");
    // The float products' reduction: over k, or over pairs of k (bf16 pairs).
    const Halide::RDom k = reduction(D, "k");
    auto x_at = [&](Halide::Expr kk) { return x(kk, r); };

    Halide::Func acc("acc");
    DotInputs dot;
    Halide::RVar reduction = k;
    if (quantized_activations()) {
      // w8a8: each row of x quantized, then exact int32 dot products over groups of k; the
      // row's scale and the weight row's apply to the sum, then the bias.
      const QuantizedInput xq = quantized_input(x, D, "x");
      acc(j, r) = 0;
      acc(j, r) += byte_product(xq.byte(r), stored_weight(Wx, 1, G, xq.d.y, xq.d.x, 0, j));
      Halide::Expr scaled = dequantized(exact_dot(acc(j, r), xq.rows, (*Wx_scale)(G + j)),
                                        (*Wx_scale)(j), xq.rows.scale(r));
      xp(j, r) = has_bias ? Halide::strict_float(scaled + (*b)(j)) : scaled;
      dot = xq.dot(D);
      reduction = xq.d.y;
    } else if (scaled_weights()) {
      // int8: the row's scale applies to its whole sum, then the bias.
      acc(j, r) = 0.0f;
      acc(j, r) = accumulate(acc(j, r), Wx, 1, G, k, 0, j, x_at);
      Halide::Expr scaled = acc(j, r) * (*Wx_scale)(j);
      xp(j, r) = has_bias ? scaled + (*b)(j) : scaled;
    } else {
      if (has_bias) {
        acc(j, r) = (*b)(j);
      } else {
        acc(j, r) = 0.0f;
      }
      acc(j, r) = accumulate(acc(j, r), Wx, 1, G, k, 0, j, x_at);
      xp(j, r) = acc(j, r);
    }

    // Rows are contiguous: the runtime views the [N][L][D] input as [N*L][D] rows.
    bound_dense_matrix(x, D, rows);
    bound_weights(Wx, 1, G, D);
    if (scaled_weights()) bound_vector(*Wx_scale, row_floats(G));
    if (has_bias) bound_vector(*b, G);
    // xp's rows may be padded apart: GPU targets align each row for the time loop's slices.
    bound_batch_slice(xp, G, rows);

    // The schedule, when the policy gives the pipeline one of gru-gen's own (else an
    // autoscheduler schedules it).
    ProjectionFuncs funcs{xp, acc, j, r, reduction, G, rows, D, tile(), gpu_block()};
    funcs.team = team > 0;  // the team's step projection: on the calling thread only
    funcs.dot = dot;
    if (own_schedule == OwnSchedule::Cpu) schedule_projection_for_cpu(get_target(), funcs);
    if (own_schedule == OwnSchedule::Gpu) schedule_projection_for_gpu(funcs);
  }
};

}  // namespace
}  // namespace grugen

HALIDE_REGISTER_GENERATOR(grugen::GruProjection, gru_projection)
