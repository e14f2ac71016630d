// Pipeline (b): one recurrent step, h*Wh^T fused with the gate arithmetic and the update.
//
//   hp[n][j] = sum_k h[n][k] * Wh[j][k]                      j over 3H, gate order r, z, n
//   r  = sigmoid(xp_r + hp_r)
//   z  = sigmoid(xp_z + hp_z)
//   c  = tanh(xp_n + r * (hp_n + bhn))                       bhn stays inside the reset product
//   h' = (1 - z) * c + z * h
//
// Exactly mlx.nn.GRU's step. The time loop lives in the runtime, which points `xp`, `h` and
// `h_next` at timestep slices of the caller's arrays, so no state is ever copied between steps.
#include "pipelines/GruGenerator.h"
#include "schedules/GpuSchedules.h"

namespace grugen {
namespace {

class GruStep : public GruGenerator<GruStep> {
 public:
  Input<Buffer<float, 2>> xp{"xp"};  // (j, n): [N][3H], a timestep slice of the projection
  Input<Buffer<float, 2>> h{"h"};    // (k, n): [N][H], the previous state
  Input<Buffer<float, 2>> Wh{"Wh"};  // (k, j): [3H][H]
  Input<Buffer<float, 1>> *bhn = nullptr;  // (i): [H], only with bias
  Output<Buffer<float, 2>> h_next{"h_next"};  // (i, n): [N][H]

  void configure() {
    if (has_bias) bhn = add_input<Buffer<float, 1>>("bhn");
  }

  void generate() {
    const int H = hidden_size, G = gates(), N = batch;
    Halide::Var i("i"), j("j"), n("n");
    Halide::RDom k(0, H, "k");

    Halide::Func hp("hp");
    hp(j, n) = 0.0f;
    hp(j, n) += Wh(k, j) * h(k, n);

    // Halide's exp on CPUs clamps its argument, which turns NaN into a number; NaN must stay
    // NaN, as in MLX (IEEE propagation through the gates).
    auto sigmoid = [](Halide::Expr v) {
      return Halide::select(Halide::is_nan(v), v, 1.0f / (1.0f + Halide::exp(-v)));
    };
    Halide::Func r("r"), z("z"), c("c");
    r(i, n) = sigmoid(xp(i, n) + hp(i, n));
    z(i, n) = sigmoid(xp(i + H, n) + hp(i + H, n));
    Halide::Expr hp_n = hp(i + 2 * H, n);
    if (has_bias) hp_n += (*bhn)(i);
    c(i, n) = Halide::tanh(xp(i + 2 * H, n) + r(i, n) * hp_n);
    h_next(i, n) = (1.0f - z(i, n)) * c(i, n) + z(i, n) * h(i, n);

    bound_batch_slice(xp, G, N);
    bound_batch_slice(h, H, N);
    bound_dense_matrix(Wh, H, G);
    if (has_bias) bound_vector(*bhn, H);
    bound_batch_slice(h_next, H, N);

    if (!using_autoscheduler() && get_target().has_gpu_feature())
      schedule_step_for_gpu(h_next, hp, i, j, n);
  }
};

}  // namespace
}  // namespace grugen

HALIDE_REGISTER_GENERATOR(grugen::GruStep, gru_step)
