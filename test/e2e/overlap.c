/* Overlapping arrays. run refuses out overlapping x or h0 (GRU_INVALID_ARGUMENT, last_error
 * naming the pair, nothing written); x and h0 may overlap each other. step accepts x_t
 * overlapping h and computes what it computes on separate copies.
 * Build: cc -DLIB=<name> -DLIB_UPPER=<NAME> -I<gru-gen output> overlap.c <target>/lib<name>.a */
#include "gru_test_one_lib.h"
#include "expect.h"

static float *pattern(size_t n, float scale) {
  float *p = (float *)malloc(n * sizeof(float));
  for (size_t i = 0; i < n; ++i) p[i] = scale * (float)((i * 7919) % 101) / 101.0f - scale / 2;
  return p;
}

/* run on `buf` with x at x_at, h0 at h0_at (-1: NULL), out at out_at (offsets in floats) must be
 * refused with last_error naming `pair` and `buf` left as it was. */
static void expect_refused(const gru_test_lib *lib, void *m, float *buf, size_t floats,
                           int32_t L, size_t x_at, long h0_at, size_t out_at, const char *pair,
                           const char *what) {
  float *copy = (float *)malloc(floats * sizeof(float));
  memcpy(copy, buf, floats * sizeof(float));
  const gru_status s =
      lib->run(m, buf + x_at, L, h0_at < 0 ? NULL : buf + h0_at, buf + out_at);
  char label[160];
  snprintf(label, sizeof label, "%s: GRU_INVALID_ARGUMENT", what);
  expect(s == GRU_INVALID_ARGUMENT, label);
  snprintf(label, sizeof label, "%s: last_error names %s", what, pair);
  expect(strstr(GRU_TEST_LAST_ERROR(LIB)(), pair) != NULL, label);
  snprintf(label, sizeof label, "%s: nothing written", what);
  expect(memcmp(copy, buf, floats * sizeof(float)) == 0, label);
  free(copy);
}

int main(void) {
  const gru_test_lib *lib = THE_LIB;
  const size_t G = 3 * (size_t)lib->H, D = lib->D, H = lib->H, N = lib->N;
  float *Wx = pattern(G * D, 0.8f), *Wh = pattern(G * H, 0.8f), *b = pattern(G, 0.4f),
        *bhn = pattern(H, 0.4f);
  void *m = NULL;
  expect(lib->create(Wx, Wh, lib->has_bias ? b : NULL, lib->has_bias ? bhn : NULL, &m) == GRU_OK,
         "create");

  const int32_t L = 4;
  const size_t nx = N * L * D, nout = N * L * H, nh = N * H;
  const size_t floats = 2 * (nx + nout + nh) + 64;
  float *buf = pattern(floats, 2.0f);

  /* x and out */
  expect_refused(lib, m, buf, floats, L, 0, -1, 0, "x [", "run(x == out)");
  expect_refused(lib, m, buf, floats, L, 0, -1, nx - 1, "x [", "run(out starts on x's last float)");
  expect_refused(lib, m, buf, floats, L, nout - 1, -1, 0, "x [", "run(x starts on out's last float)");
  /* h0 and out */
  expect_refused(lib, m, buf, floats, L, floats - nx, 0, 0, "h0 [", "run(h0 == out)");
  expect_refused(lib, m, buf, floats, L, floats - nx, (long)(nout / 2), 0, "h0 [",
                 "run(h0 inside out)");
  expect_refused(lib, m, buf, floats, L, floats - nx, (long)(nout - 1), 0, "h0 [",
                 "run(h0 starts on out's last float)");
  expect(strstr(GRU_TEST_LAST_ERROR(LIB)(), "out [") != NULL, "last_error names out too");

  /* Adjacent but disjoint arrays, and x overlapping h0, are fine: the same result as on
   * separate copies. */
  float *x = pattern(nx, 2.0f), *h0 = (float *)malloc(nh * sizeof(float));
  memcpy(h0, x, nh * sizeof(float)); /* h0 is x's first floats */
  float *expected = (float *)malloc(nout * sizeof(float));
  expect(lib->run(m, x, L, h0, expected) == GRU_OK, "run on copies");
  float *joint = (float *)malloc((nx + nout) * sizeof(float));
  memcpy(joint, x, nx * sizeof(float));
  expect(lib->run(m, joint, L, joint, joint + nx) == GRU_OK, "run(h0 inside x, out right after x)");
  expect(memcmp(joint + nx, expected, nout * sizeof(float)) == 0,
         "run(h0 inside x) equals run on copies");

  /* step: x_t overlapping h, from the same array to a partial overlap. */
  const size_t span = (D > H ? D : H) * N;
  for (size_t shift = 0; shift < 3; ++shift) {
    /* x_t at alias, h at alias + shift: one array of values, read as both. */
    float *alias = pattern(span + 8, 1.5f);
    float *x_copy = (float *)malloc(N * D * sizeof(float)), *h_copy = (float *)malloc(nh * sizeof(float));
    memcpy(x_copy, alias, N * D * sizeof(float));
    memcpy(h_copy, alias + shift, nh * sizeof(float));
    expect(lib->step(m, x_copy, h_copy) == GRU_OK, "step on copies");
    expect(lib->step(m, alias, alias + shift) == GRU_OK, "step(x_t overlapping h)");
    char label[96];
    snprintf(label, sizeof label, "step(x_t overlapping h, h = x_t + %zu) equals step on copies",
             shift);
    expect(memcmp(alias + shift, h_copy, nh * sizeof(float)) == 0, label);
    free(alias), free(x_copy), free(h_copy);
  }

  lib->destroy(m);
  free(Wx), free(Wh), free(b), free(bhn), free(buf), free(x), free(h0), free(expected), free(joint);
  return expect_report(lib->name);
}
