/* The special values of float16 weights through every kernel that converts them: each state is
 * one activation of a single weight, so a conversion that flushes a subnormal, saturates the
 * largest value or loses an infinity shows in that state, however small. For a library with
 * --weights-precision f16, D = 1, H >= 12, N >= 1, bias; built as gru_check.c.
 *
 * Weight i of the n gate is v[i], a float16 value (so create stores it exactly): the smallest
 * subnormal 2^-24, others up to the largest subnormal 1023 * 2^-24, the smallest normal 2^-14,
 * a normal with a full mantissa, the largest 65504, 1e5 (above it: float16 infinity), their
 * negatives, and zero. b_z = -1e4 makes z = 0 exactly, so h' = n; everything else is zero.
 *   Wx case (x = 1, no h0): the projection's conversion of Wx: h = tanh(v)   (run, and step:
 *                           the step projection kernel)
 *   Wh case (x = 0, h0 = 1, Wh[2H + i][i] = v[i]): the step kernel's conversion of Wh:
 *                           h = tanh(0.5 * v)   (r = sigmoid(0) = 0.5)
 * Each state against the double answer within 1e-6 relative (absolute for zero), so a flushed
 * subnormal (got 0 for 6e-8) fails. Prints "<lib>: N passed, 0 failed". */
#include <math.h>

#include "gru_test_one_lib.h"

static const float values[] = {
    5.9604645e-08f,  /* 2^-24, the smallest subnormal */
    1.7881393e-07f,  /* 3 * 2^-24 */
    3.0517578e-05f,  /* 512 * 2^-24 */
    6.0975552e-05f,  /* 1023 * 2^-24, the largest subnormal */
    6.1035156e-05f,  /* 2^-14, the smallest normal */
    0.33325195f,     /* 0x3555: a full mantissa */
    65504.0f,        /* the largest float16 */
    1e5f,            /* float16 infinity */
    -5.9604645e-08f, /* negatives */
    -6.0975552e-05f,
    -1e5f,
    0.0f,
};
enum { kValues = sizeof values / sizeof values[0] };

/* The float16 value create stores for v (round to nearest even; past 65520 infinity). */
static double stored(float v) {
  if (fabsf(v) >= 65520.0f) return v > 0 ? INFINITY : -INFINITY;
  return (double)v; /* every other value above is a float16 value already */
}

static int failures, checked;

static void check(const char *what, const char *path, int unit, float got, double want) {
  ++checked;
  const double tol = want == 0.0 ? 1e-30 : 1e-6 * fabs(want);
  if (isnan(got) || fabs((double)got - want) > tol) {
    ++failures;
    printf("  %s %s: unit %d v=%.9g: got %.9g, want %.9g\n", what, path, unit,
           (double)values[unit % kValues], (double)got, want);
  }
}

int main(void) {
  const gru_test_lib *lib = THE_LIB;
  const int H = lib->H, N = lib->N, G = 3 * H;
  if (lib->D != 1 || !lib->has_bias || H < kValues) {
    printf("half_weights needs D = 1, bias and H >= %d\n", (int)kValues);
    return 2;
  }
  float *Wx = calloc((size_t)G, sizeof(float)), *Wh = calloc((size_t)G * H, sizeof(float));
  float *b = calloc((size_t)G, sizeof(float)), *bhn = calloc((size_t)H, sizeof(float));
  float *x = calloc((size_t)N, sizeof(float)), *h0 = calloc((size_t)N * H, sizeof(float));
  float *out = calloc((size_t)N * H, sizeof(float)), *h = calloc((size_t)N * H, sizeof(float));
  for (int i = 0; i < H; ++i) b[H + i] = -1e4f;
  for (int c = 0; c < 2; ++c) { /* 0: Wx, 1: Wh */
    const char *what = c == 0 ? "Wx" : "Wh";
    for (int i = 0; i < H; ++i) {
      const float v = values[i % kValues];
      Wx[2 * H + i] = c == 0 ? v : 0.0f;
      Wh[(size_t)(2 * H + i) * H + i] = c == 1 ? v : 0.0f;
    }
    for (int n = 0; n < N; ++n) {
      x[n] = c == 0 ? 1.0f : 0.0f;
      for (int i = 0; i < H; ++i) h0[(size_t)n * H + i] = c == 1 ? 1.0f : 0.0f;
    }
    void *m = NULL;
    gru_status s = lib->create(Wx, Wh, b, bhn, &m);
    if (s != GRU_OK) {
      printf("%s: create: status %d\n", what, (int)s);
      return 1;
    }
    s = lib->run(m, x, 1, c == 1 ? h0 : NULL, out);
    memcpy(h, h0, sizeof(float) * (size_t)N * H);
    if (s == GRU_OK) s = lib->step(m, x, h);
    lib->destroy(m);
    if (s != GRU_OK) {
      printf("%s: run/step: status %d\n", what, (int)s);
      return 1;
    }
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < H; ++i) {
        const double v = stored(values[i % kValues]), want = tanh(c == 0 ? v : 0.5 * v);
        check(what, "run", i, out[(size_t)n * H + i], want);
        check(what, "step", i, h[(size_t)n * H + i], want);
      }
  }
  printf("%s: %d passed, %d failed\n", lib->name, checked - failures, failures);
  free(Wx), free(Wh), free(b), free(bhn), free(x), free(h0), free(out), free(h);
  return failures != 0;
}
