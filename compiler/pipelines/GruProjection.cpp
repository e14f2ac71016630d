// Pipeline (a): the input projection for every timestep at once.
//
//   xp[r][j] = b[j] + sum_k x[r][k] * Wx[j][k]      r over N*L rows, j over 3H gates
//
// One GEMM over all rows of the sequence with the bias fused, as mlx.nn.GRU's addmm does.
// The recurrence then only has to add h*Wh^T per step.
#include "pipelines/GruGenerator.h"

namespace grugen {
namespace {

class GruProjection : public GruGenerator<GruProjection> {
 public:
  Input<Buffer<float, 2>> x{"x"};    // (k, r): [N*L][D]
  Input<Buffer<float, 2>> Wx{"Wx"};  // (k, j): [3H][D]
  Input<Buffer<float, 1>> *b = nullptr;  // (j): [3H], only with bias
  Output<Buffer<float, 2>> xp{"xp"};     // (j, r): [N*L][3H]

  void configure() {
    if (has_bias) b = add_input<Buffer<float, 1>>("b");
  }

  void generate() {
    const int D = input_size, G = gates();
    Halide::Var j("j"), r("r");
    Halide::RDom k(0, D, "k");

    Halide::Func acc("acc");
    if (has_bias) {
      acc(j, r) = (*b)(j);
    } else {
      acc(j, r) = 0.0f;
    }
    acc(j, r) += Wx(k, j) * x(k, r);
    xp(j, r) = acc(j, r);

    // Rows are contiguous: the runtime hands the whole [N][L][D] input as [N*L][D].
    x.dim(0).set_bounds(0, D);
    x.dim(1).set_min(0).set_stride(D);
    x.set_estimates({{0, D}, {0, int(batch) * int(seq_len_estimate)}});
    bound_dense_matrix(Wx, D, G);
    if (has_bias) {
      b->dim(0).set_bounds(0, G);
      b->set_estimates({{0, G}});
    }
    xp.dim(0).set_bounds(0, G);
    xp.dim(1).set_min(0).set_stride(G);
    xp.set_estimates({{0, G}, {0, int(batch) * int(seq_len_estimate)}});
  }
};

}  // namespace
}  // namespace grugen

HALIDE_REGISTER_GENERATOR(grugen::GruProjection, gru_projection)
