/* Checks the e2e programs share: a sentinel buffer that proves nothing was written, and the
 * largest difference of two arrays (NaN counts as a mismatch). Header-only, all static inline. */
#ifndef GRU_TEST_UTIL_H
#define GRU_TEST_UTIL_H

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

/* A buffer of n floats filled with a recognisable pattern, to prove nothing was written. */
static inline float *sentinel(size_t n) {
  float *p = (float *)malloc(n * sizeof(float));
  for (size_t i = 0; i < n; ++i) p[i] = -12345.0f - (float)i;
  return p;
}
static inline int untouched(const float *p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != -12345.0f - (float)i) return 0;
  return 1;
}

/* The largest |a - b|: NaN matches NaN and an infinity the same infinity (a golden may hold
 * them: MLX's answer to infinite states); NaN against anything else, or an infinity against a
 * number, is a mismatch (NaN or Inf). */
static inline float max_abs_diff(const float *a, const float *b, size_t n) {
  float m = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    const float d = (isnan(a[i]) && isnan(b[i])) || a[i] == b[i] ? 0.0f : fabsf(a[i] - b[i]);
    if (!isnan(m) && !(d <= m)) m = d; /* a NaN difference is a mismatch, and stays the result */
  }
  return m;
}

#endif /* GRU_TEST_UTIL_H */
