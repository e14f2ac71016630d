// Pipeline (b): one recurrent step, h*Wh^T fused with the gate arithmetic and the update.
//
//   hp[n][j] = sum_k h[n][k] * Wh[j][k]                      j over 3H, gate order r, z, n
//   r  = sigmoid(xp_r + hp_r)
//   z  = sigmoid(xp_z + hp_z)
//   c  = tanh(xp_n + r * (hp_n + bhn))                       bhn stays inside the reset product
//   h' = (1 - z) * c + z * h
//
// Exactly mlx.nn.GRU's step. With reset_after = false (ONNX linear_before_reset=0, Keras
// reset_after=False) the reset gate applies before the n gate's product, which then needs r
// first: hp holds only the r and z products, and
//
//   rh = r * h;   hn[n][i] = sum_k rh[n][k] * Wh[2H + i][k];   c = tanh(xp_n + hn + bhn)
//
// The time loop lives in the runtime, which points `xp`, `h` and
// `h_next` at timestep slices of the caller's arrays, so no state is ever copied between steps.
//
// With `team` > 0 (reset after only) the generator makes one team member's step: h_next is the
// Hs = H / team states from slice * Hs on (scalar input `slice`), Wh is the member's own range of
// panels ([Hs / T][H][3][T]), xp, h and bhn are whole; each state's reduction runs over k in the
// same order as in the whole step, so a team's states are the whole step's bits. No parallel
// loop: the team is the parallelism.
#include "pipelines/GruGenerator.h"
#include "schedules/OwnSchedules.h"

namespace grugen {
namespace {

// The gates' activations. CPU targets (vector_gates) use gru-gen's own vector arithmetic below:
// sigmoid(v) = 1 / (1 + e^-v) and tanh(|v|) = (e^2|v| - 1) / (e^2|v| + 1), the exps split as
// e^v = 2^k (1 + q), q = e^f - 1, so that tanh's small values keep their precision (e^2v - 1
// from a plain exp cancels: ~1e-7 absolute error, which doubled a trained model's drift from
// the exact answer in examples/kws). Against Halide's exp, one rounding instead of a floor
// split into two 256-bit halves, no overflow selects (the argument is clamped first) and no
// Taylor branch for tanh's small values: D=H=128 N=16 on an AVX-512 Xeon, the step's gates
// take 856 instructions per 16-state x 8-row tile, against 1,193 with Halide's exp. Since then
// a degree-4 polynomial in place of the Taylor series' degree 5 (more accurate too), e^-v with
// the sign in its constants, and tanh's sign as a bitwise or.
// test/reliability/activations.test checks the whole float range, NaN and +-Inf against a double
// reference on every target that executes here. GPU targets keep Halide's exp and tanh (native
// ones).

// e^(sign v) = s (1 + q) for sign v in [-87, 88] (sign +1 or -1, folded into the constants, so
// that e^-v takes no negation): s = 2^k (a normal float there), q = e^f - 1 with
// sign v = k ln 2 + f, |f| <= ln 2 / 2.
struct ExpParts {
  Halide::Expr s, q, k;  // k: the int32 exponent
};
ExpParts exp_parts(Halide::Expr v, float sign = 1.0f) {
  // k = round(sign v log2 e) by the 1.5 * 2^23 shift: the sum's low bits are k (|k| < 2^22);
  // read as bits, through which the simplifier cannot fold the shift away.
  Halide::Expr bits = Halide::reinterpret(Halide::UInt(32), v * (sign * 1.44269504f) + 12582912.0f);
  Halide::Expr k = Halide::reinterpret(Halide::Int(32), bits) - 0x4B400000;
  Halide::Expr kf = Halide::cast<float>(k);
  // f = sign v - k ln 2 in two parts (Cody and Waite): k times 0.693359375 (9 bits) is exact.
  Halide::Expr f = sign > 0 ? (v - kf * 0.693359375f) + kf * 2.12194440e-4f
                            : kf * 2.12194440e-4f - (v + kf * 0.693359375f);
  // e^f - 1 = f + f^2 p(f), p of degree 4 fitted for the least largest relative error of e^f
  // over |f| <= ln 2 / 2 (tools/fit_exp_poly.py, Lawson's iteration; 3.6e-9 with these float32
  // coefficients, against 7.1e-9 for the Taylor series to f^7, which takes one more FMA).
  Halide::Expr p = 1.381454058e-3f;
  for (float c : {8.368745446e-3f, 4.166838899e-2f, 1.666652113e-1f, 4.999999404e-1f})
    p = p * f + c;
  // 2^k: k + 127 in the exponent field (bits << 23 keeps k's bits; unsigned, so it wraps).
  return {Halide::reinterpret(Halide::Float(32), (bits << 23) + Halide::Expr(uint32_t(127) << 23)),
          f + f * f * p, k};
}

// NaN stays NaN, as in MLX (IEEE propagation through the gates): the clamps would turn it into
// a number.
Halide::Expr vector_sigmoid(Halide::Expr v) {
  // Above the clamp e^-v is below 2^-125: 1. Below it the sigmoid is under 6.1e-39, and 0 as
  // in MLX (whose e^-v is inf from -88.73 on): sigmoid(-inf) is then 0, so that r * (hp_n + bhn)
  // with an infinite hp_n is NaN as in MLX, and a reset of 0 times a bhn of 3e38 is 0. The
  // clamped value (6.05e-39) gave inf and 1.8 there.
  const ExpParts e = exp_parts(Halide::clamp(v, -88.0f, 87.0f), -1.0f);
  return Halide::select(Halide::is_nan(v), v, v < -88.0f, 0.0f,
                        1.0f / (1.0f + (e.s + e.s * e.q)));
}
Halide::Expr vector_tanh(Halide::Expr v) {
  // tanh(9) rounds to 1 in float32; +-Inf lands there too.
  const Halide::Expr a = Halide::min(Halide::abs(v), 9.0f);
  const ExpParts e = exp_parts(2.0f * a);
  // e^2a - 1 = s q + (s - 1), with s - 1 = 2^k - 1 from the integer k (0 <= k <= 26): written
  // as s - 1.0f, LLVM's reassociation (Halide's float ops allow it) made it (s q + s) - 1 and
  // tanh(1e-30) came out 0 (activations.c's relative check).
  // (An unsigned shift amount: a signed one makes Halide shift right where it is negative.)
  const Halide::Expr sm1 = (Halide::Expr(1) << Halide::cast<uint32_t>(e.k)) - 1;
  const Halide::Expr em1 = e.s * e.q + Halide::cast<float>(sm1);
  const Halide::Expr t = em1 / (em1 + 2.0f);
  // t (>= 0) with v's sign bit: one bitwise op (tanh(-0) = -0).
  const Halide::Expr sign = Halide::reinterpret<uint32_t>(v) & Halide::Expr(uint32_t(0x80000000u));
  const Halide::Expr signed_t = Halide::reinterpret<float>(Halide::reinterpret<uint32_t>(t) | sign);
  return Halide::select(Halide::is_nan(v), v, signed_t);
}

// The GPU targets' sigmoid: Halide's exp, capped at 100 (above it e^v is inf in float32 anyway;
// Halide's x86 vector exp overflowed an int32 exponent past 1.49e9, ARM's and the GPUs' were
// right, and the cap stays as a guard). NaN stays NaN.
Halide::Expr halide_sigmoid(Halide::Expr v) {
  const Halide::Expr e = Halide::exp(Halide::min(-v, 100.0f));
  return Halide::select(Halide::is_nan(v), v, 1.0f / (1.0f + e));
}

class GruStep : public GruGenerator<GruStep> {
 public:
  Input<Buffer<float, 2>> xp{"xp"};  // (j, n): [N][3H], a timestep slice of the projection
  Input<Buffer<float, 2>> h{"h"};    // (k, n): [N][H], the previous state
  // (k, j): [3H][H], or packed in panels (GruGenerator.h); of weight_type()
  Input<Buffer<void, 2>> Wh{"Wh"};
  Input<Buffer<float, 1>> *Wh_scale = nullptr;  // (j): [3H], int8 weights' row scales
  Input<Buffer<float, 1>> *bhn = nullptr;       // (i): [H], only with bias
  Output<Buffer<float, 2>> h_next{"h_next"};    // (i, n): [N][H]

  Input<int> *slice = nullptr;  // with team > 0: which Hs states this member computes

  void configure() {
    Wh.set_type(weight_type());
    if (scaled_weights()) Wh_scale = add_input<Buffer<float, 1>>("Wh_scale");
    if (has_bias) bhn = add_input<Buffer<float, 1>>("bhn");
    if (team > 0) slice = add_input<int>("slice");
  }

  void generate() {
    const int H = hidden_size, G = gates(), N = batch;
    // The states this kernel computes: all H, or a team member's Hs from `at` on.
    const int Hs = team > 0 ? H / int(team) : H;
    Halide::Var i("i"), j("j"), g("g"), n("n");
    // The float products' reduction: over k, or over pairs of k (bf16 pairs).
    const Halide::RDom k = reduction(H, "k");
    auto h_at = [&](Halide::Expr kk) { return h(kk, n); };

    auto sigmoid = [&](Halide::Expr v) {
      return vector_gates ? vector_sigmoid(v) : halide_sigmoid(v);
    };
    Halide::Func hp("hp"), r("r"), z("z"), c("c");
    Halide::Expr hp_r, hp_z, hp_n;
    // State i of this kernel is state `at` of the layer (at = i for the whole step).
    // The slice is clamped to the team, so that every read is inside the buffers by
    // construction (Halide then needs no run-time check of the regions).
    const Halide::Expr at =
        team > 0 ? i + Halide::clamp((*slice), 0, int(team) - 1) * Hs : Halide::Expr(i);
    // int8 and w8a8: each gate row's sum times its scale (Wh's rows in MLX's order: gate g,
    // state i is row g * H + i).
    auto scale = [&](Halide::Expr row) { return (*Wh_scale)(row); };
    DotInputs dot;
    if (quantized_activations()) {
      // w8a8: h quantized per batch row, then exact int32 dot products over groups of k.
      const QuantizedInput hq = quantized_input(h, H, "h");
      const Halide::RDom &d = hq.d;
      auto product = [&](Halide::Expr dot_sum, Halide::Expr row) {
        return dequantized(exact_dot(dot_sum, hq.rows, scale(G + row)), scale(row),
                           hq.rows.scale(n));
      };
      if (packed_weights() && int(panel) < Hs) {
        // Several panels: hp(c, pn, g, n) is column c of panel pn, so that Wh's index is linear
        // in c (GruGenerator::panel_weight); the schedule's tiles are whole panels.
        const int p = panel;
        Halide::Var pn("pn");
        hp(i, pn, g, n) = 0;
        hp(i, pn, g, n) += byte_product(hq.byte(n), panel_weight(Wh, 3, d.y, d.x, g, i, pn));
        hp_r = product(hp(i % p, i / p, 0, n), at), hp_z = product(hp(i % p, i / p, 1, n), at + H);
        hp_n = product(hp(i % p, i / p, 2, n), at + 2 * H);
      } else if (packed_weights()) {
        hp(i, g, n) = 0;
        hp(i, g, n) += byte_product(hq.byte(n), stored_weight(Wh, 3, Hs, d.y, d.x, g, i));
        hp_r = product(hp(i, 0, n), at), hp_z = product(hp(i, 1, n), at + H);
        hp_n = product(hp(i, 2, n), at + 2 * H);
      } else {
        hp(j, n) = 0;
        hp(j, n) += byte_product(hq.byte(n), stored_weight(Wh, 3, H, d.y, d.x, 0, j));
        hp_r = product(hp(i, n), i), hp_z = product(hp(i + H, n), i + H);
        hp_n = product(hp(i + 2 * H, n), i + 2 * H);
      }
      dot = hq.dot(H);
    } else if (packed_weights()) {
      // hp(i, g, n): gate g's row i, so that a tile of states i gets all three of its gate
      // products in one pass over its panel of Wh (one h(k) broadcast feeds all three). The
      // sums start from 0, as MLX's product does, and xp and bhn are added to them after: sums
      // started from xp and bhn (no additions after; 1-5 % faster at H <= 128 N=16) rounded
      // every partial sum at xp's magnitude, and examples/kws's trained model drifted 6x as far
      // from the exact answer (max |run - exact| 5.4e-5 -> 3.2e-4; test/package/kws_example.test).
      hp(i, g, n) = 0.0f;
      hp(i, g, n) = accumulate(hp(i, g, n), Wh, 3, Hs, k, g, i, h_at);
      hp_r = hp(i, 0, n), hp_z = hp(i, 1, n), hp_n = hp(i, 2, n);
    } else {
      hp(j, n) = 0.0f;
      hp(j, n) = accumulate(hp(j, n), Wh, 3, H, k, 0, j, h_at);
      hp_r = hp(i, n), hp_z = hp(i + H, n), hp_n = hp(i + 2 * H, n);
    }
    if (scaled_weights() && !quantized_activations()) {
      hp_r = hp_r * scale(at), hp_z = hp_z * scale(at + H), hp_n = hp_n * scale(at + 2 * H);
    }
    r(i, n) = sigmoid(xp(xp_column(at, 0), n) + hp_r);
    z(i, n) = sigmoid(xp(xp_column(at, 1), n) + hp_z);
    Halide::Expr pre;
    Halide::Func rh("rh"), hn("hn");
    if (reset_after) {
      if (has_bias) hp_n += (*bhn)(at);
      pre = xp(xp_column(at, 2), n) + r(i, n) * hp_n;
    } else {
      // hp is read for the r and z gates only, so bounds inference computes those rows alone.
      rh(i, n) = r(i, n) * h(i, n);
      if (quantized_activations()) throw std::logic_error("w8a8 takes the reset-after variant only");
      hn(i, n) = 0.0f;
      auto rh_at = [&](Halide::Expr kk) { return rh(kk, n); };
      hn(i, n) = accumulate(hn(i, n), Wh, 3, H, k, 2, i, rh_at);
      pre = xp(xp_column(i, 2), n) + (scaled_weights() ? hn(i, n) * scale(i + 2 * H) : hn(i, n));
      if (has_bias) pre += (*bhn)(i);
    }
    c(i, n) = vector_gates ? vector_tanh(pre) : Halide::tanh(pre);
    h_next(i, n) = (1.0f - z(i, n)) * c(i, n) + z(i, n) * h(at, n);

    bound_batch_slice(xp, G, N);
    bound_batch_slice(h, H, N);
    bound_weights(Wh, 3, Hs, H);
    if (scaled_weights()) bound_vector(*Wh_scale, row_floats(G));
    if (has_bias) bound_vector(*bhn, H);
    bound_batch_slice(h_next, Hs, N);
    if (team > 0) {
      if (!reset_after || !packed_weights() || H % int(team) != 0 || Hs % int(panel) != 0)
        throw std::logic_error("a team step needs reset after and whole panels per member");
      slice->set_estimate(0);  // (the autoschedulers' fallbacks need one)
    }

    // The schedule, when the policy gives the pipeline one of gru-gen's own (else an
    // autoscheduler schedules it).
    StepFuncs funcs{h_next, hp, i, g, j, n, dot.defined() ? dot.ko : Halide::RVar(k), Hs, N,
                    tile(), gpu_block()};
    funcs.K = H;
    funcs.k_per_step = k_per_element();
    funcs.dot = dot;
    funcs.team = team > 0;
    if (!reset_after) {
      const ResetBeforeStepFuncs before{funcs, rh, hn};
      if (own_schedule == OwnSchedule::Cpu) schedule_reset_before_step_for_cpu(get_target(), before);
      if (own_schedule == OwnSchedule::Gpu) schedule_reset_before_step_for_gpu(before);
      return;
    }
    funcs.gates = {r, z, c};
    if (own_schedule == OwnSchedule::Cpu) schedule_step_for_cpu(get_target(), funcs);
    if (own_schedule == OwnSchedule::Gpu) schedule_step_for_gpu(funcs);
  }
};

}  // namespace
}  // namespace grugen

HALIDE_REGISTER_GENERATOR(grugen::GruStep, gru_step)
