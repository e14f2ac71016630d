/* The weight layout the CPU kernels read, made from MLX's: one function, used by the runtime at
 * create (gru_runtime.c) and by gru-gen for weights it embeds already packed
 * (compiler/weights/WeightPacking.c), so the two cannot disagree. Header-only C, static. */
#ifndef GRU_PACK_H
#define GRU_PACK_H

#include <stddef.h>
#include <stdint.h>

/* The column of xp [rows][3H] (the projection's output, the step's input) that holds gate g's
 * pre-activation of state i, for the descriptor's xp_panel X: with X > 0 the three gates of each
 * X states side by side, [H / X][3][X]; with X 0 MLX's order, [3][H]. Wx's row g * H + i and
 * b's entry go there (schedules/SchedulePlan.h's WeightPanels::xp says why). */
static __attribute__((unused)) int32_t gru_xp_column(int32_t g, int32_t i, int32_t H,
                                                     int32_t X) {
  return X > 0 ? (i / X) * 3 * X + g * X + i % X : g * H + i;
}

/* The packed column of a matrix's row c of a gate (MLX's order, c < per_gate): for Wx (gates 1,
 * per_gate 3H) with xp_panel X > 0 its column in xp's order, else c itself. */
static __attribute__((unused)) int32_t gru_pack_column(int32_t c, int32_t gates, int32_t per_gate,
                                                       int32_t xp_panel) {
  if (xp_panel == 0 || gates != 1) return c;
  const int32_t H = per_gate / 3;
  return gru_xp_column(c / H, c % H, H, xp_panel);
}

/* The weights as the kernels read them (the descriptor's panels): src is MLX's
 * [gates x per_gate][K]; with panel > 0, dst is its transpose cut into panels of `panel` columns per gate, the gates
 * interleaved, [per_gate / panel][K][gates][panel]; with panel 0, a copy. Wx's columns in xp's
 * order (xp_panel > 0, gates 1: gru_pack_column); Wh passes xp_panel 0. */
/* Columns [c0, c1) of each gate only, whole panels (a team member's share, runtime/gru_runtime.c);
 * dst is the whole packed matrix. panel > 0. */
static __attribute__((unused)) void gru_pack_columns(float *dst, const float *src, int32_t gates,
                                                     int32_t per_gate, int32_t K, int32_t panel,
                                                     int32_t xp_panel, int32_t c0, int32_t c1) {
  const size_t row = (size_t)gates * panel; /* floats per k in a panel */
  for (int32_t g = 0; g < gates; ++g)
    for (int32_t c = c0; c < c1; ++c) {
      const float *in = src + ((size_t)g * per_gate + c) * K;
      const int32_t to = gru_pack_column(c, gates, per_gate, xp_panel);
      float *out = dst + (size_t)(to / panel) * K * row + (size_t)g * panel + to % panel;
      for (int32_t k = 0; k < K; ++k) out[(size_t)k * row] = in[k];
    }
}

static __attribute__((unused)) void gru_pack(float *dst, const float *src, int32_t gates,
                                             int32_t per_gate, int32_t K, int32_t panel,
                                             int32_t xp_panel) {
  if (panel == 0) { /* MLX's layout (GPU targets: xp_panel 0) */
    __builtin_memcpy(dst, src, sizeof(float) * (size_t)gates * per_gate * K);
    return;
  }
  gru_pack_columns(dst, src, gates, per_gate, K, panel, xp_panel, 0, per_gate);
}

/* ---- Reduced-precision weights (GruSpec's WeightsPrecision, the header's
 * NAME_WEIGHTS_PRECISION) ---------------------------------------------------------------------
 * The caller's float32 weights, converted as the kernels read them. Plain C, exact, with no
 * libm and no dependence on the compiler's floating-point flags beyond IEEE float32. */
enum {
  GRU_PRECISION_F32 = 0,
  GRU_PRECISION_F16 = 1,
  GRU_PRECISION_BF16 = 2,
  GRU_PRECISION_INT8 = 3,
  /* int8 weights as INT8, and the kernels quantize their input vectors too (integer dot
   * products); the weights' k come in groups of 4 (gru_pack_converted's k_group). */
  GRU_PRECISION_W8A8 = 4
};

/* Bytes per stored weight. */
static __attribute__((unused)) int32_t gru_precision_bytes(int precision) {
  return precision == GRU_PRECISION_F32                                         ? 4
         : precision == GRU_PRECISION_F16 || precision == GRU_PRECISION_BF16 ? 2
                                                                                 : 1;
}

static __attribute__((unused)) uint32_t gru_f32_bits(float f) {
  uint32_t x;
  __builtin_memcpy(&x, &f, sizeof x);
  return x;
}

/* IEEE binary16, rounded to nearest even: overflow (from 65520 up) gives +-inf, NaN a quiet NaN
 * with the sign and the top of the payload, values below 2^-14 the nearest subnormal or zero. */
static __attribute__((unused)) uint16_t gru_f32_to_f16(float f) {
  const uint32_t x = gru_f32_bits(f), sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
  if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* >= 65520, or inf */
  if (ax >= 0x38800000u) {                                   /* normal: >= 2^-14 */
    uint32_t h = (ax >> 13) - (112u << 10), rem = ax & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h; /* a carry moves up the exponent */
    return (uint16_t)(sign | h);
  }
  if (ax < 0x33000000u) return (uint16_t)sign; /* below 2^-25 (2^-25 itself ties to 0) */
  /* Subnormal: q * 2^-24 with q = m * 2^(e - 126), m the 24-bit significand. */
  const uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u, shift = 126u - e;
  uint32_t q = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (q & 1u))) ++q; /* 0x400: the smallest normal */
  return (uint16_t)(sign | q);
}

/* bfloat16 (the top half of a float32), rounded to nearest even; NaN stays a (quiet) NaN. */
static __attribute__((unused)) uint16_t gru_f32_to_bf16(float f) {
  const uint32_t x = gru_f32_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u);
  return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/* int8: scale[j] = max_k |W[j][k]| / 127 (1 where that is 0: a row of zeros, or one whose
 * magnitudes are all below 127 times the smallest subnormal, where the division underflows and a
 * scale of 0 would quantize w / 0) for each of `rows` rows of K. Returns 0, or -1 when a weight
 * is NaN or infinite (no scale represents it). */
static __attribute__((unused)) int gru_row_scales(float *scale, const float *W, int32_t rows,
                                                  int32_t K) {
  for (int32_t j = 0; j < rows; ++j) {
    float top = 0.0f;
    for (int32_t k = 0; k < K; ++k) {
      const float w = W[(size_t)j * K + k];
      if ((gru_f32_bits(w) & 0x7f800000u) == 0x7f800000u) return -1;
      const float a = __builtin_fabsf(w);
      if (a > top) top = a;
    }
    const float s = top / 127.0f;
    scale[j] = s > 0.0f ? s : 1.0f;
  }
  return 0;
}

/* round_half_even(w / scale) clamped to [-127, 127]: adding and subtracting 1.5 * 2^23 rounds a
 * float32 below 2^22 in magnitude to an integer, ties to even (the default rounding mode). */
static __attribute__((unused)) int8_t gru_quantize(float w, float scale) {
  const float q = w / scale;
  if (q > 127.0f) return 127;
  if (q < -127.0f) return -127;
  float r = q + 12582912.0f; /* no fast-math anywhere: IEEE float32 */
  r -= 12582912.0f;
  return (int8_t)(int32_t)r;
}

/* gru_pack_columns into the precision's elements (2 bytes for f16 and bf16, 1 for int8 and w8a8,
 * whose rows of src, MLX's j = g * per_gate + c, divide by row_scale[j]): columns [c0, c1) of
 * each gate (a team member's share, runtime/gru_runtime.c; whole panels when panel > 0); dst is
 * the whole matrix. k_group > 1 (w8a8: IntegerDot's group of the kernels): each row's k padded to
 * Kp, a multiple of k_group, and in the panels each group of k_group consecutive k of one column
 * stored together (one 32-bit lane of an integer dot product): column c's k at
 * [c / panel][k / k_group][g][c % panel][k % k_group]; MLX's layout [gates x per_gate][Kp].
 * The padding is not written here (gru_pack_converted zeroes it). k_group 1 is gru_pack's
 * layout; xp_panel as there (int8 and w8a8 pass 0: their row scales are in MLX's order). */
static __attribute__((unused)) void gru_pack_converted_columns(void *dst, const float *src,
                                                               int32_t gates, int32_t per_gate,
                                                               int32_t K, int32_t panel,
                                                               int precision,
                                                               const float *row_scale,
                                                               int32_t k_group, int32_t xp_panel,
                                                               int32_t c0, int32_t c1) {
  const size_t Kp = ((size_t)K + (size_t)k_group - 1) / (size_t)k_group * (size_t)k_group;
  const size_t row = (size_t)gates * panel;
  for (int32_t g = 0; g < gates; ++g)
    for (int32_t c = c0; c < c1; ++c) {
      const size_t j = (size_t)g * per_gate + c;
      const float *in = src + j * K;
      const int32_t col = panel == 0 ? c : gru_pack_column(c, gates, per_gate, xp_panel);
      /* Element k's place: MLX's j * Kp + k, or the panels' (gru_pack, in groups of k). */
      const size_t at = panel == 0 ? j * Kp
                                   : (size_t)(col / panel) * Kp * row +
                                         ((size_t)g * panel + col % panel) * (size_t)k_group;
      for (int32_t k = 0; k < K; ++k) {
        const size_t to =
            at + (panel == 0 ? (size_t)k
                             : (size_t)(k / k_group) * row * k_group + (size_t)(k % k_group));
        if (precision == GRU_PRECISION_F16) ((uint16_t *)dst)[to] = gru_f32_to_f16(in[k]);
        else if (precision == GRU_PRECISION_BF16) ((uint16_t *)dst)[to] = gru_f32_to_bf16(in[k]);
        else ((int8_t *)dst)[to] = gru_quantize(in[k], row_scale[j]);
      }
    }
}

/* The whole matrix in the precision's elements, the padding of k (k_group > 1) zero. */
static __attribute__((unused)) void gru_pack_converted(void *dst, const float *src,
                                                       int32_t gates, int32_t per_gate,
                                                       int32_t K, int32_t panel, int precision,
                                                       const float *row_scale, int32_t k_group,
                                                       int32_t xp_panel) {
  const size_t Kp = ((size_t)K + (size_t)k_group - 1) / (size_t)k_group * (size_t)k_group;
  if (Kp != (size_t)K) /* the padding: zero weights */
    __builtin_memset(dst, 0, (size_t)gru_precision_bytes(precision) * gates * per_gate * Kp);
  gru_pack_converted_columns(dst, src, gates, per_gate, K, panel, precision, row_scale, k_group,
                             xp_panel, 0, per_gate);
}

/* w8a8's row data after the `rows` scales: each row's integer sum sum_k q[j][k] (the quantized
 * weights), as a float32, exact (|sum| <= 127 K < 2^24). A kernel that feeds its integer dot
 * products unsigned inputs q + 128 (x86's vpdpbusd multiplies unsigned by signed bytes)
 * subtracts 128 times it. */
static __attribute__((unused)) void gru_row_sums(float *sums, const float *W, const float *scale,
                                                 int32_t rows, int32_t K) {
  for (int32_t j = 0; j < rows; ++j) {
    int32_t sum = 0;
    for (int32_t k = 0; k < K; ++k) sum += gru_quantize(W[(size_t)j * K + k], scale[j]);
    sums[j] = (float)sum;
  }
}

#endif /* GRU_PACK_H */
