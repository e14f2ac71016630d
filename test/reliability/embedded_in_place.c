/* Embedded weights used in place: a library with >= 50 MB of weights baked in
 * (--embed-weights) creates its model from them without copying Wx and Wh. Counting every
 * halide_malloc: create_default obtains exactly <NAME>_MODEL_BYTES_DEFAULT, under 1 MB, while
 * create_from_safetensors of the same weights holds <NAME>_MODEL_BYTES; both models' outputs
 * are the same bits, and destroy gives everything back. -DMIN_WEIGHT_BYTES=B lowers the 50 MB
 * (a model small enough for qemu); -DEXPECT_COPY: a target whose kernel variants read different
 * panels, where create_default must hold MODEL_BYTES instead.
 *   embedded_in_place WEIGHTS.safetensors
 * Build: cc -DLIB=<name> -DLIB_UPPER=<NAME> -I<gru-gen output> embedded_in_place.c lib<name>.a */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#include STR(LIB.h)
#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define F(fn) CAT(LIB, fn)
#define C(m) CAT(LIB_UPPER, m)

#include "../e2e/gru_count_malloc.h"

#ifndef MIN_WEIGHT_BYTES
#define MIN_WEIGHT_BYTES 50000000ull
#endif
#ifdef EXPECT_COPY
#define DEFAULT_BYTES C(MODEL_BYTES)
#else
#define DEFAULT_BYTES C(MODEL_BYTES_DEFAULT)
#endif

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: embedded_in_place WEIGHTS.safetensors\n");
    return 2;
  }
  count_halide_malloc();
  const uint64_t weight_bytes = 4ull * 3 * C(HIDDEN_SIZE) * (C(INPUT_SIZE) + C(HIDDEN_SIZE));
  int failed = 0;

  F(model) *in_place = NULL, *copied = NULL;
  obtained = live = 0;
  gru_status s = F(create_default)(&in_place);
  const uint64_t default_bytes = obtained;
#ifdef EXPECT_COPY
  const char *figure = "MODEL_BYTES";
#else
  const char *figure = "MODEL_BYTES_DEFAULT";
#endif
  printf("weights: %llu bytes; create_default obtained %llu bytes (%s %llu)\n",
         (unsigned long long)weight_bytes, (unsigned long long)default_bytes, figure,
         (unsigned long long)DEFAULT_BYTES);
  failed += s != GRU_OK || default_bytes != (uint64_t)DEFAULT_BYTES ||
            default_bytes >= (1u << 20) || weight_bytes < MIN_WEIGHT_BYTES;

  const uint64_t before = live;
  s = F(create_from_safetensors)(argv[1], "", &copied);
  printf("create_from_safetensors holds %llu bytes (MODEL_BYTES %llu)\n",
         (unsigned long long)(live - before), (unsigned long long)C(MODEL_BYTES));
  failed += s != GRU_OK || live - before != (uint64_t)C(MODEL_BYTES);

  enum { L = 3 };
  const size_t nx = (size_t)C(BATCH) * L * C(INPUT_SIZE), nout = (size_t)C(BATCH) * L * C(HIDDEN_SIZE);
  float *x = malloc(nx * sizeof(float)), *a = malloc(nout * sizeof(float)), *b = malloc(nout * sizeof(float));
  for (size_t i = 0; i < nx; ++i) x[i] = (float)((i * 7919u) % 2001u) / 1000.0f - 1.0f;
  failed += F(run)(in_place, x, L, NULL, a) != GRU_OK || F(run)(copied, x, L, NULL, b) != GRU_OK;
  const int same = memcmp(a, b, nout * sizeof(float)) == 0;
  printf("run: the two models' outputs are %s\n", same ? "the same bits" : "DIFFERENT");
  failed += !same;
  F(destroy)(in_place);
  F(destroy)(copied);
  printf("after destroy: %llu bytes held\n", (unsigned long long)live);
  failed += live != 0;
  free(x), free(a), free(b);
  printf("%s\n", failed ? "FAIL" : "PASS");
  return failed != 0;
}
