/* NaN and ±Inf go through run and step as IEEE arithmetic says, and never crash:
 *  - NaN in x[n][t] (any one feature) makes every state of batch row n from timestep t on NaN
 *    (every gate reads every feature through Wx, whose entries are all nonzero here), while
 *    the states before t and every other batch row keep the bytes of a clean run;
 *  - ±Inf in x saturates the gates: the affected states are NaN or within [-1, 1], the others
 *    keep their bytes;
 *  - NaN in h0 (run) or h (step) spreads to that row only; NaN in Wh spreads to every row.
 * Usage: ieee */
#include "reliability.h"

static int all_nan(const float *p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!isnan(p[i])) return 0;
  return 1;
}
static int nan_or_bounded(const float *p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!isnan(p[i]) && !(p[i] >= -1.0f && p[i] <= 1.0f)) return 0;
  return 1;
}

int main(void) {
  rel_weights w = rel_make_weights();
  rel_model *m = NULL;
  CHECK(F(create)(w.Wx, w.Wh, w.b, w.bhn, &m) == GRU_OK, "create");
  const int32_t L = 6, t0 = 2;
  const size_t n0 = SZ_N - 1; /* the poisoned batch row */
  float *x = rel_array(SZ_N * L * SZ_D, 1.0f), *h0 = rel_array(SZ_N * SZ_H, 0.5f);
  float *clean = (float *)malloc(SZ_N * L * SZ_H * 4), *out = (float *)malloc(SZ_N * L * SZ_H * 4);
  CHECK(F(run)(m, x, L, h0, clean) == GRU_OK, "clean run");

  const float specials[3] = {NAN, INFINITY, -INFINITY};
  for (int k = 0; k < 3; ++k) {
    const float v = specials[k];
    float *xs = (float *)malloc(SZ_N * L * SZ_D * 4);
    memcpy(xs, x, SZ_N * L * SZ_D * 4);
    xs[(n0 * L + t0) * SZ_D + SZ_D / 2] = v;
    CHECK(F(run)(m, xs, L, h0, out) == GRU_OK, "run with %g in x", (double)v);
    for (size_t n = 0; n < SZ_N; ++n) {
      const size_t row = n * L * SZ_H;
      if (n != n0) {
        CHECK(memcmp(out + row, clean + row, L * SZ_H * 4) == 0,
              "%g in row %zu changed row %zu", (double)v, n0, n);
        continue;
      }
      CHECK(memcmp(out + row, clean + row, t0 * SZ_H * 4) == 0, "%g at t=%d changed earlier states",
            (double)v, (int)t0);
      if (isnan(v))
        CHECK(all_nan(out + row + t0 * SZ_H, (L - t0) * SZ_H), "NaN in x gives NaN from t=%d on",
              (int)t0);
      else
        CHECK(nan_or_bounded(out + row + t0 * SZ_H, (L - t0) * SZ_H),
              "%g in x: states are NaN or in [-1, 1]", (double)v);
    }
    /* step: the same timestep, the same row */
    float *h = (float *)malloc(SZ_N * SZ_H * 4), *xt = (float *)malloc(SZ_N * SZ_D * 4);
    memcpy(h, h0, SZ_N * SZ_H * 4);
    for (size_t n = 0; n < SZ_N; ++n) memcpy(xt + n * SZ_D, x + n * L * SZ_D, SZ_D * 4);
    xt[n0 * SZ_D] = v;
    CHECK(F(step)(m, xt, h) == GRU_OK, "step with %g", (double)v);
    if (isnan(v)) CHECK(all_nan(h + n0 * SZ_H, SZ_H), "NaN in x_t gives NaN in h");
    else CHECK(nan_or_bounded(h + n0 * SZ_H, SZ_H), "%g in x_t: h NaN or in [-1, 1]", (double)v);
    /* h itself poisoned */
    memcpy(h, h0, SZ_N * SZ_H * 4);
    h[n0 * SZ_H] = v;
    CHECK(F(step)(m, xt, h) == GRU_OK, "step with %g in h", (double)v);
    if (isnan(v)) CHECK(all_nan(h + n0 * SZ_H, SZ_H), "NaN in h gives NaN in the next h");
    free(h), free(xt), free(xs);
  }

  /* NaN in h0 poisons that row of run only */
  float *h0n = (float *)malloc(SZ_N * SZ_H * 4);
  memcpy(h0n, h0, SZ_N * SZ_H * 4);
  h0n[n0 * SZ_H + SZ_H - 1] = NAN;
  CHECK(F(run)(m, x, L, h0n, out) == GRU_OK, "run with NaN in h0");
  CHECK(all_nan(out + n0 * L * SZ_H, L * SZ_H), "NaN in h0 gives NaN states in its row");
  if (SZ_N > 1) CHECK(memcmp(out, clean, L * SZ_H * 4) == 0, "NaN in h0 leaves other rows alone");

  /* NaN in the weights poisons everything; create copies them without complaint. */
  w.Wh[0] = NAN;
  rel_model *bad = NULL;
  CHECK(F(create)(w.Wx, w.Wh, w.b, w.bhn, &bad) == GRU_OK, "create with NaN in Wh");
  CHECK(F(run)(bad, x, L, h0, out) == GRU_OK, "run with NaN weights");
  /* Wh[0][0] feeds unit 0's reset gate: unit 0 at t = 0, every unit after. */
  for (size_t n = 0; n < SZ_N; ++n)
    CHECK(isnan(out[n * L * SZ_H]) && all_nan(out + n * L * SZ_H + SZ_H, (L - 1) * SZ_H),
          "NaN in Wh[0][0] gives NaN in unit 0 at t=0 and everywhere after (row %zu)", n);

  F(destroy)(bad);
  F(destroy)(m);
  free(x), free(h0), free(clean), free(out), free(h0n);
  rel_free_weights(&w);
  return rel_report();
}
