/* Test harness shared by the e2e programs: adapts any gru-gen library to one struct of function
 * pointers (GRU_TEST_LIB), reads golden files (tools/gru_golden.py writes them) and checks a
 * library against them. Header-only; each program includes it once. */
#ifndef GRU_TEST_LIB_H
#define GRU_TEST_LIB_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gru_test_util.h"

/* Max abs error against MLX: fp32's; a library of reduced-precision weights is built with its
 * own bound (-DGRU_TOLERANCE=..., test/e2e/precision.test). run and step x L agree within
 * GRU_CONSISTENCY_TOLERANCE whatever the precision: they read the same stored weights. */
#ifndef GRU_TOLERANCE
#define GRU_TOLERANCE 1e-5f
#endif
#define GRU_CONSISTENCY_TOLERANCE 1e-5f

typedef struct gru_test_lib {
  const char *name;
  int D, H, N, has_bias;
  int64_t max_seq_len;
  uint32_t (*abi_version)(void);
  gru_status (*create)(const float *, const float *, const float *, const float *, void **);
  gru_status (*run)(void *, const float *, int32_t, const float *, float *);
  gru_status (*step)(void *, const float *, float *);
  void (*destroy)(void *);
  const char *(*status_string)(gru_status);
} gru_test_lib;

/* Wraps library `lib` (constants prefixed LIB) as `static const gru_test_lib lib##_test`. */
#define GRU_TEST_LIB(lib, LIB)                                                                 \
  static gru_status lib##_t_create(const float *Wx, const float *Wh, const float *b,           \
                                   const float *bhn, void **out) {                             \
    return lib##_create(Wx, Wh, b, bhn, (lib##_model **)out);                                  \
  }                                                                                            \
  static gru_status lib##_t_run(void *m, const float *x, int32_t L, const float *h0, float *o) { \
    return lib##_run((lib##_model *)m, x, L, h0, o);                                           \
  }                                                                                            \
  static gru_status lib##_t_step(void *m, const float *x, float *h) {                          \
    return lib##_step((lib##_model *)m, x, h);                                                 \
  }                                                                                            \
  static void lib##_t_destroy(void *m) { lib##_destroy((lib##_model *)m); }                    \
  static const gru_test_lib lib##_test = {#lib, LIB##_INPUT_SIZE, LIB##_HIDDEN_SIZE,           \
                                          LIB##_BATCH, LIB##_HAS_BIAS, LIB##_MAX_SEQ_LEN,      \
                                          lib##_abi_version, lib##_t_create, lib##_t_run,      \
                                          lib##_t_step, lib##_t_destroy, lib##_status_string}

typedef struct {
  int32_t D, H, N, L, has_bias, has_h0;
  float *data; /* one block; the pointers below point into it */
  float *Wx, *Wh, *b, *bhn, *x, *h0, *out;
} golden;

static float *golden_take(float **cursor, size_t count) {
  float *p = *cursor;
  *cursor += count;
  return p;
}

/* Loads a golden file; prints why and returns 0 on failure. */
static int golden_load(const char *path, golden *g) {
  memset(g, 0, sizeof *g);
  FILE *f = fopen(path, "rb");
  char magic[8];
  int32_t hdr[6];
  if (!f || fread(magic, 1, 8, f) != 8 || memcmp(magic, "GRUGOLD1", 8) != 0 ||
      fread(hdr, sizeof(int32_t), 6, f) != 6) {
    fprintf(stderr, "%s: not a golden file\n", path);
    if (f) fclose(f);
    return 0;
  }
  g->D = hdr[0], g->H = hdr[1], g->N = hdr[2], g->L = hdr[3], g->has_bias = hdr[4],
  g->has_h0 = hdr[5];
  const size_t G = 3 * (size_t)g->H;
  const size_t count = G * g->D + G * g->H + (g->has_bias ? G + g->H : 0) +
                       (size_t)g->N * g->L * g->D + (g->has_h0 ? (size_t)g->N * g->H : 0) +
                       (size_t)g->N * g->L * g->H;
  g->data = (float *)malloc(count * sizeof(float));
  if (!g->data || fread(g->data, sizeof(float), count, f) != count) {
    fprintf(stderr, "%s: truncated golden file\n", path);
    fclose(f);
    return 0;
  }
  fclose(f);
  float *c = g->data;
  g->Wx = golden_take(&c, G * g->D);
  g->Wh = golden_take(&c, G * g->H);
  g->b = g->has_bias ? golden_take(&c, G) : NULL;
  g->bhn = g->has_bias ? golden_take(&c, g->H) : NULL;
  g->x = golden_take(&c, (size_t)g->N * g->L * g->D);
  g->h0 = g->has_h0 ? golden_take(&c, (size_t)g->N * g->H) : NULL;
  g->out = golden_take(&c, (size_t)g->N * g->L * g->H);
  return 1;
}


/* Runs model `m` of `lib` on golden `g` through run (into out [N][L][H]) and through step x L
 * from the golden's initial state (into out_step); the first failing status, else GRU_OK. */
static inline gru_status golden_run_and_step(const gru_test_lib *lib, void *m, const golden *g,
                                             float *out, float *out_step) {
  const size_t NH = (size_t)g->N * g->H;
  float *h = (float *)calloc(NH, sizeof(float)), *x_t = (float *)malloc((size_t)g->N * g->D * sizeof(float));
  gru_status s = lib->run(m, g->x, g->L, g->h0, out);
  if (g->h0) memcpy(h, g->h0, NH * sizeof(float));
  for (int t = 0; t < g->L && s == GRU_OK; ++t) {
    for (int n = 0; n < g->N; ++n)
      memcpy(x_t + (size_t)n * g->D, g->x + ((size_t)n * g->L + t) * g->D, g->D * sizeof(float));
    s = lib->step(m, x_t, h);
    for (int n = 0; n < g->N; ++n)
      memcpy(out_step + ((size_t)n * g->L + t) * g->H, h + (size_t)n * g->H, g->H * sizeof(float));
  }
  free(h), free(x_t);
  return s;
}

/* Runs model `m` of `lib` (NULL: one created from the golden's own weights) on the golden in
 * `path` through run and through step x L; returns 1 when both match MLX within GRU_TOLERANCE.
 * Prints one line of figures. */
static inline int check_golden_model(const gru_test_lib *lib, void *given, const char *path) {
  golden g;
  if (!golden_load(path, &g)) return 0;
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  if (g.D != lib->D || g.H != lib->H || g.N != lib->N || g.has_bias != lib->has_bias) {
    fprintf(stderr, "%s: golden is D=%d H=%d N=%d bias=%d, library %s is D=%d H=%d N=%d bias=%d\n",
            base, g.D, g.H, g.N, g.has_bias, lib->name, lib->D, lib->H, lib->N, lib->has_bias);
    free(g.data);
    return 0;
  }
  const size_t NLH = (size_t)g.N * g.H * g.L;
  float *out = (float *)malloc(NLH * sizeof(float)), *out_step = (float *)malloc(NLH * sizeof(float));
  void *m = given;
  gru_status s = given ? GRU_OK : lib->create(g.Wx, g.Wh, g.b, g.bhn, &m);
  if (s == GRU_OK) s = golden_run_and_step(lib, m, &g, out, out_step);
  if (!given) lib->destroy(m);
  int ok = s == GRU_OK;
  if (!ok) {
    printf("%s: FAIL status %d (%s)\n", base, (int)s, lib->status_string(s));
  } else {
    const float run_err = max_abs_diff(out, g.out, NLH);
    const float step_err = max_abs_diff(out_step, g.out, NLH);
    const float step_vs_run = max_abs_diff(out_step, out, NLH);
    ok = run_err <= GRU_TOLERANCE && step_err <= GRU_TOLERANCE && step_vs_run <= GRU_CONSISTENCY_TOLERANCE;
    printf("%s: %s D=%d H=%d N=%d L=%d bias=%d h0=%d run_err=%.3g step_err=%.3g step_vs_run=%.3g %s\n",
           base, lib->name, g.D, g.H, g.N, g.L, g.has_bias, g.has_h0, run_err, step_err,
           step_vs_run, ok ? "PASS" : "FAIL");
  }
  free(out), free(out_step), free(g.data);
  return ok;
}

static inline int check_golden(const gru_test_lib *lib, const char *path) {
  return check_golden_model(lib, NULL, path);
}

#endif /* GRU_TEST_LIB_H */
