/* Shared by the reliability programs, each built against one gru-gen library named on the
 * command line: cc -DLIB=<name> -DLIB_UPPER=<NAME> -I<gru-gen output> prog.c lib<name>.a
 * F(run) names <name>_run, C(BATCH) names <NAME>_BATCH; CHECK counts and reports. */
#ifndef GRU_RELIABILITY_H
#define GRU_RELIABILITY_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REL_STR_(x) #x
#define REL_STR(x) REL_STR_(x)
#include REL_STR(LIB.h)

#define REL_CAT_(a, b) a##b
#define REL_CAT(a, b) REL_CAT_(a, b)
#define F(fn) REL_CAT(LIB, _##fn)
#define C(c) REL_CAT(LIB_UPPER, _##c)
typedef F(model) rel_model;

#define SZ_D ((size_t)C(INPUT_SIZE))
#define SZ_H ((size_t)C(HIDDEN_SIZE))
#define SZ_N ((size_t)C(BATCH))
#define SZ_G (3 * SZ_H)

static int rel_passed, rel_failed;

#define CHECK(cond, ...)                  \
  do {                                    \
    if (cond) {                           \
      ++rel_passed;                       \
    } else {                              \
      ++rel_failed;                       \
      printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      printf(__VA_ARGS__);                \
      printf("\n");                       \
    }                                     \
  } while (0)

static int rel_report(void) {
  printf("%s: %d passed, %d failed\n", REL_STR(LIB), rel_passed, rel_failed);
  return rel_failed != 0;
}

/* Deterministic weights and inputs in [-scale, scale), never exactly zero. */
static uint32_t rel_seed = 12345u;
static inline float rel_uniform(float scale) {
  rel_seed = rel_seed * 1664525u + 1013904223u;
  float v = ((float)(rel_seed >> 8) / 16777216.0f * 2.0f - 1.0f) * scale;
  return v == 0.0f ? scale / 4 : v;
}
static inline float *rel_array(size_t n, float scale) {
  float *p = (float *)malloc((n ? n : 1) * sizeof(float));
  for (size_t i = 0; i < n; ++i) p[i] = rel_uniform(scale);
  return p;
}

typedef struct {
  float *Wx, *Wh, *b, *bhn; /* b and bhn NULL without bias */
} rel_weights;

static inline rel_weights rel_make_weights(void) {
  rel_weights w;
  w.Wx = rel_array(SZ_G * SZ_D, 0.4f);
  w.Wh = rel_array(SZ_G * SZ_H, 0.4f);
  w.b = C(HAS_BIAS) ? rel_array(SZ_G, 0.2f) : NULL;
  w.bhn = C(HAS_BIAS) ? rel_array(SZ_H, 0.2f) : NULL;
  return w;
}
static inline void rel_free_weights(rel_weights *w) {
  free(w->Wx), free(w->Wh), free(w->b), free(w->bhn);
}

#endif /* GRU_RELIABILITY_H */
