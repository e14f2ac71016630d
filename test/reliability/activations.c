/* The gates' activations over the whole float range, against a double reference.
 *
 * The library is D = 1 with bias, Wh = 0 and bhn chosen per case, so that every pre-activation
 * is a single float product x * w (no cancellation: the reference sees exactly the float the
 * kernel sees) and each state is one activation of it:
 *   tanh:     Wx = [0, 0, w], b = [0, -1e4, 0], h0 = 0      ->  h = tanh(x w)
 *             (z = sigmoid(-1e4) = 0 exactly in float, so h = n; r * (hp_n + bhn) = 0)
 *   sigmoid:  Wx = [0, w, 0], b = 0, bhn = 0, h0 = 1       ->  h = sigmoid(x w)
 *             (n = tanh(0 + r * 0) = 0, so h = z * h0)
 *   reset:    Wx = [w, 0, 0], b = [0, -1e4, 0], bhn = 1, h0 = 0  ->  h = tanh(sigmoid(x w))
 * w differs per hidden unit (1, 0.5, 2, 1e-3, 3, ...), so vector lanes and the scalar tail see
 * different arguments. x runs over zero, denormals, a logarithmic sweep from 1e-40 to FLT_MAX,
 * the points where the polynomial and exponential branches meet (Halide's exp), the clamps of
 * gru-gen's vector sigmoid and tanh (|v| = 87, 88 and 9), the int32 range-reduction
 * thresholds of a vector exp (2^31 / (2 log2 e) = 7.44e8 and 2^31 / log2 e = 1.49e9), both
 * signs. ±Inf reaches the activations as products that overflow (FLT_MAX times 2, 3 or 7): x
 * itself stays finite, as Inf times a zero weight would make every gate NaN. NaN stays NaN.
 * Each answer is checked within 1e-6 and, where it is a normal float (above 1e-30), within 1e-5
 * of it relatively. Every case goes through run (the projection kernel for blocks of rows, and the
 * time loop: the tanh case's states do not depend on each other, so one sequence carries many x)
 * and through step (the step projection kernel).
 * Usage: activations  ->  "<lib>: N passed, 0 failed" */
#include <float.h>

#include "reliability.h"

enum { TANH, SIGMOID, RESET };
static const char *const kind_name[] = {"tanh", "sigmoid", "tanh(sigmoid)"};

static double reference(int kind, float pre) {
  const double v = (double)pre;
  const double s = 1.0 / (1.0 + exp(-v)); /* exp(+inf) = inf: 0; exp(-inf) = 0: 1 */
  switch (kind) {
    case TANH: return tanh(v);
    case SIGMOID: return s;
    default: return tanh(s);
  }
}

static float unit_scale(size_t i) {
  static const float scales[] = {1.0f, 0.5f, 2.0f, 1e-3f, 3.0f, -1.0f, 0.25f, 7.0f};
  return scales[i % (sizeof scales / sizeof scales[0])];
}

/* Weights, bias and h0 for one kind. */
static void setup(int kind, float *Wx, float *Wh, float *b, float *bhn, float *h0) {
  memset(Wx, 0, SZ_G * sizeof(float));
  memset(Wh, 0, SZ_G * SZ_H * sizeof(float));
  memset(b, 0, SZ_G * sizeof(float));
  for (size_t i = 0; i < SZ_H; ++i) {
    const size_t gate = kind == TANH ? 2 : kind == SIGMOID ? 1 : 0;
    Wx[gate * SZ_H + i] = unit_scale(i);
    if (kind != SIGMOID) b[SZ_H + i] = -1e4f;
    bhn[i] = kind == RESET ? 1.0f : 0.0f;
  }
  for (size_t n = 0; n < SZ_N * SZ_H; ++n) h0[n] = kind == SIGMOID ? 1.0f : 0.0f;
}

static size_t failures_shown;

static void check_state(int kind, const char *path, float x, size_t i, float got) {
  const float pre = x * unit_scale(i);
  const double want = reference(kind, pre);
  /* Within 1e-6, and within 1e-5 relatively where the answer is a normal float: small values
   * must keep their digits (a cancellation in tanh's e^2v - 1 gave tanh(1e-30) = 0). */
  const double err = fabs((double)got - want);
  const int ok = isnan(pre) ? isnan(got)
                            : (!isnan(got) && err <= 1e-6 &&
                               (fabs(want) < 1e-30 || err <= 1e-5 * fabs(want)));
  if (!ok && failures_shown++ < 20)
    printf("  %s %s: x=%.9g unit %zu pre=%.9g: got %.9g, want %.9g\n", path, kind_name[kind],
           (double)x, i, (double)pre, (double)got, want);
  CHECK(ok, "%s %s x=%.9g unit %zu", path, kind_name[kind], (double)x, i);
}

int main(void) {
  /* The arguments. */
  float xs[4096];
  size_t count = 0;
  const float fixed[] = {0.0f, 1e-45f, 1e-38f, 1e-30f, 1e-8f, 1e-4f, 0.1f, 0.5f, 0.549f, 0.55f,
                         0.551f, 1.0f, 2.0f, 5.0f, 8.0f, 8.99f, 9.0f, 9.01f, 10.0f, 15.0f, 20.0f,
                         30.0f, 44.0f, 44.5f, 86.9f, 87.0f, 87.1f, 88.0f, 88.1f, 88.7f, 89.0f,
                         100.0f, 104.0f, 1e3f, 1e4f, 1e6f, 1e8f, 7.4e8f, 7.44e8f, 7.5e8f, 1.48e9f,
                         1.4887e9f, 1.49e9f, 1.5e9f, 2147483648.0f, 4.3e9f, 1e10f, 1e20f, 1e30f,
                         3e38f, FLT_MAX};
  for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; ++k) {
    xs[count++] = fixed[k];
    xs[count++] = -fixed[k];
  }
  /* 1e-40 .. FLT_MAX, logarithmically, both signs */
  for (int k = 0; k < 1000; ++k) {
    const float v = (float)pow(10.0, -40.0 + 78.53 * k / 999.0);
    xs[count++] = v;
    xs[count++] = -v;
  }
  const size_t cases = count;
  xs[count++] = NAN;

  float *Wx = malloc(SZ_G * sizeof(float)), *Wh = malloc(SZ_G * SZ_H * sizeof(float));
  float *b = malloc(SZ_G * sizeof(float)), *bhn = malloc(SZ_H * sizeof(float));
  float *h0 = malloc(SZ_N * SZ_H * sizeof(float)), *h = malloc(SZ_N * SZ_H * sizeof(float));
  float *x = malloc(SZ_N * count * sizeof(float)), *xt = malloc(SZ_N * sizeof(float));
  float *out = malloc(SZ_N * count * SZ_H * sizeof(float));

  for (int kind = TANH; kind <= RESET; ++kind) {
    setup(kind, Wx, Wh, b, bhn, h0);
    rel_model *m = NULL;
    CHECK(F(create)(Wx, Wh, b, bhn, &m) == GRU_OK, "create (%s): %s", kind_name[kind],
          F(last_error)());
    if (!m) break;

    /* run, one timestep per argument: a whole sequence where the states are independent (tanh,
     * reset), else one call of L = 1 per argument (sigmoid: h = z * h_prev). Row n of the batch
     * takes the arguments rotated by n. */
    if (kind != SIGMOID) {
      /* NaN last: z * h_prev = 0 * NaN would carry it into the next state */
      const int32_t L = (int32_t)count;
      for (size_t n = 0; n < SZ_N; ++n)
        for (int32_t t = 0; t < L; ++t)
          x[n * L + t] = (size_t)t < cases ? xs[(t + n) % cases] : xs[t];
      CHECK(F(run)(m, x, L, h0, out) == GRU_OK, "run (%s)", kind_name[kind]);
      for (size_t n = 0; n < SZ_N; ++n)
        for (int32_t t = 0; t < L; ++t)
          for (size_t i = 0; i < SZ_H; ++i)
            check_state(kind, "run", x[n * L + t], i, out[(n * L + t) * SZ_H + i]);
    } else {
      for (size_t k = 0; k < count; ++k) {
        for (size_t n = 0; n < SZ_N; ++n) x[n] = xs[(k + n) % count];
        CHECK(F(run)(m, x, 1, h0, out) == GRU_OK, "run (%s)", kind_name[kind]);
        for (size_t n = 0; n < SZ_N; ++n)
          for (size_t i = 0; i < SZ_H; ++i)
            check_state(kind, "run", xs[(k + n) % count], i, out[n * SZ_H + i]);
      }
    }

    /* step, one argument at a time from h0 */
    for (size_t k = 0; k < count; ++k) {
      for (size_t n = 0; n < SZ_N; ++n) xt[n] = xs[(k + n) % count];
      memcpy(h, h0, SZ_N * SZ_H * sizeof(float));
      CHECK(F(step)(m, xt, h) == GRU_OK, "step (%s)", kind_name[kind]);
      for (size_t n = 0; n < SZ_N; ++n)
        for (size_t i = 0; i < SZ_H; ++i)
          check_state(kind, "step", xs[(k + n) % count], i, h[n * SZ_H + i]);
    }
    F(destroy)(m);
  }
  printf("%zu arguments (and NaN), %zu units, %zu rows\n", cases, SZ_H, SZ_N);
  free(Wx), free(Wh), free(b), free(bhn), free(h0), free(h), free(x), free(xt), free(out);
  return rel_report();
}
