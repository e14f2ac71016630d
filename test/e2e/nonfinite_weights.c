/* A library that stores int8 or w8a8 weights refuses non-finite ones at create (no row scale
 * represents them): for a NaN and for +-inf in Wx and in Wh, create returns GRU_INVALID_ARGUMENT,
 * leaves the model pointer NULL and says why in last_error; finite weights still create.
 * Prints one line per case.  Build as gru_check.c. */
#include <math.h>

#include "gru_test_one_lib.h"

#define NF_CAT_(a, b) a##b
#define NF_CAT(a, b) NF_CAT_(a, b)

int main(void) {
  const gru_test_lib *lib = THE_LIB;
  const size_t G = 3 * (size_t)lib->H;
  float *Wx = (float *)calloc(G * lib->D, sizeof(float)), *Wh = (float *)calloc(G * lib->H, sizeof(float));
  float *b = (float *)calloc(G, sizeof(float)), *bhn = (float *)calloc(lib->H, sizeof(float));
  const float bad[] = {NAN, INFINITY, -INFINITY};
  int failures = 0;
  for (int matrix = 0; matrix < 2; ++matrix)
    for (int i = 0; i < 3; ++i) {
      float *W = matrix == 0 ? Wx : Wh;
      const size_t at = matrix == 0 ? G * lib->D - 1 : 5;
      W[at] = bad[i];
      void *m = NULL;
      const gru_status s = lib->create(Wx, Wh, lib->has_bias ? b : NULL, lib->has_bias ? bhn : NULL, &m);
      const int ok = s == GRU_INVALID_ARGUMENT && m == NULL;
      printf("%s %g: status %d, %s: %s\n", matrix == 0 ? "Wx" : "Wh", (double)bad[i], (int)s,
             ok ? "refused" : "NOT REFUSED", NF_CAT(LIB, _last_error)());
      failures += !ok;
      if (m) lib->destroy(m);
      W[at] = 0.25f;
    }
  void *m = NULL;
  const gru_status s = lib->create(Wx, Wh, lib->has_bias ? b : NULL, lib->has_bias ? bhn : NULL, &m);
  printf("finite: status %d\n", (int)s);
  failures += s != GRU_OK;
  if (m) lib->destroy(m);
  free(Wx), free(Wh), free(b), free(bhn);
  return failures != 0;
}
