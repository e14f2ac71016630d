/* Step latency of one gru-gen library, for the weights-precision points (README, Reduced-precision
 * weights): creates a model from random weights (uniform +-1/sqrt(H), as MLX initialises them),
 * then times `step` on one timestep, the minimum over ROUNDS rounds of CALLS calls each, in
 * microseconds per call, on one line:  <name> <precision> H=<H> N=<N> step_us=<t>
 *
 *   cc -O2 -DLIB=<name> -DLIB_UPPER=<NAME> -I<dir> step_time.c <dir>/host/lib<name>.a -lpthread -ldl -lm
 *   HL_NUM_THREADS=1 ./a.out [ROUNDS [CALLS]]
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#include STR(LIB.h)

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(suffix) CAT(LIB, suffix)
#define K(suffix) CAT(LIB_UPPER, suffix)

enum { D = K(_INPUT_SIZE), H = K(_HIDDEN_SIZE), N = K(_BATCH) };

/* Uniform in [-scale, scale) from a 32-bit LCG (deterministic, no libc state). */
static float *random_floats(size_t n, float scale, unsigned *seed) {
  float *p = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; ++i) {
    *seed = *seed * 1664525u + 1013904223u;
    p[i] = scale * ((float)(*seed >> 8) / 8388608.0f - 1.0f);
  }
  return p;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  const int rounds = argc > 1 ? atoi(argv[1]) : 20, calls = argc > 2 ? atoi(argv[2]) : 2000;
  unsigned seed = 16;
  const float w = 1.0f / __builtin_sqrtf((float)H);
  float *Wx = random_floats((size_t)3 * H * D, w, &seed), *Wh = random_floats((size_t)3 * H * H, w, &seed);
  float *b = K(_HAS_BIAS) ? random_floats((size_t)3 * H, w, &seed) : NULL;
  float *bhn = K(_HAS_BIAS) ? random_floats((size_t)H, w, &seed) : NULL;
  float *x = random_floats((size_t)N * D, 1.0f, &seed), *h = random_floats((size_t)N * H, 0.5f, &seed);
  FN(_model) *m = NULL;
  if (FN(_create)(Wx, Wh, b, bhn, &m) != GRU_OK) {
    fprintf(stderr, "create: %s\n", FN(_last_error)());
    return 1;
  }
  double best = 1e30;
  for (int r = 0; r < rounds; ++r) {
    const double t0 = now();
    for (int c = 0; c < calls; ++c)
      if (FN(_step)(m, x, h) != GRU_OK) return 1;
    const double t = (now() - t0) / calls;
    if (t < best) best = t;
  }
  printf("%s %s H=%d N=%d step_us=%.3f\n", STR(LIB), K(_WEIGHTS_PRECISION), H, N, best * 1e6);
  FN(_destroy)(m);
  return 0;
}
