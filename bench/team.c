/* The persistent thread team against one thread, in one process (bench/team.sh builds it):
 * a model created without options and one with {threads = T}, the same random weights (uniform
 * in [-1/sqrt(H), 1/sqrt(H)], mlx.nn.GRU's init), timed in turns, ROUNDS rounds: `run` over a
 * whole sequence of L steps, and `step` (best of 100 calls per round). Prints each one's best and
 * median and the speed-ups; checks first that both give the same bytes.
 *   team THREADS [L] [ROUNDS]
 * Build: cc -O2 -DLIB=<name> -DLIB_UPPER=<NAME> -I<gru-gen output> -Itest/e2e team.c lib<name>.a */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gru_test_lib_names.h" /* test/e2e: <name>.h, FN(run), MACRO(HIDDEN_SIZE), model_t */
enum { D = MACRO(INPUT_SIZE), H = MACRO(HIDDEN_SIZE), N = MACRO(BATCH) };


static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}
static float *randoms(size_t n, float scale) {
  float *p = (float *)malloc(n * 4);
  for (size_t i = 0; i < n; ++i) p[i] = ((float)rand() / RAND_MAX * 2 - 1) * scale;
  return p;
}
static int by_value(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, by_value);
  return v[n / 2];
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: team THREADS [L] [ROUNDS]\n");
    return 2;
  }
  const int threads = atoi(argv[1]), L = argc > 2 ? atoi(argv[2]) : 128;
  const int rounds = argc > 3 ? atoi(argv[3]) : 50;
  const float s = 1.0f / sqrtf((float)H);
  float *Wx = randoms((size_t)3 * H * D, s), *Wh = randoms((size_t)3 * H * H, s);
  float *b = MACRO(HAS_BIAS) ? randoms(3 * H, s) : NULL, *bhn = MACRO(HAS_BIAS) ? randoms(H, s) : NULL;
  float *x = randoms((size_t)N * L * D, 1.0f);
  float *out[2] = {malloc((size_t)N * L * H * 4), malloc((size_t)N * L * H * 4)};
  float *h[2] = {calloc((size_t)N * H, 4), calloc((size_t)N * H, 4)};
  model_t *m[2];
  gru_options o = {sizeof o, threads};
  if (FN(create)(Wx, Wh, b, bhn, &m[0]) || FN(create_with_options)(Wx, Wh, b, bhn, &o, &m[1])) {
    fprintf(stderr, "team: %s\n", FN(last_error)());
    return 1;
  }
  for (int k = 0; k < 2; ++k) FN(run)(m[k], x, L, NULL, out[k]);
  if (memcmp(out[0], out[1], (size_t)N * L * H * 4) != 0) {
    fprintf(stderr, "team: the team's run differs from one thread's\n");
    return 1;
  }
  double *run_t[2], *step_t[2];
  for (int k = 0; k < 2; ++k) {
    run_t[k] = calloc((size_t)rounds, sizeof(double));
    step_t[k] = calloc((size_t)rounds, sizeof(double));
  }
  for (int r = 0; r < rounds; ++r)
    for (int k = 0; k < 2; ++k) {
      double t0 = now();
      FN(run)(m[k], x, L, NULL, out[k]);
      run_t[k][r] = now() - t0;
      double best = 1e9;
      for (int i = 0; i < 100; ++i) {
        t0 = now();
        FN(step)(m[k], x, h[k]);
        const double t = now() - t0;
        if (t < best) best = t;
      }
      step_t[k][r] = best;
    }
  double run_best[2], step_best[2], run_med[2], step_med[2];
  for (int k = 0; k < 2; ++k) {
    run_med[k] = median(run_t[k], rounds), step_med[k] = median(step_t[k], rounds);
    run_best[k] = run_t[k][0], step_best[k] = step_t[k][0];
    printf("D=%d H=%d N=%d threads=%d: run L=%d best %.1f us median %.1f us; step best %.2f us "
           "median %.2f us\n",
           D, H, N, (int)FN(threads)(m[k]), L, run_best[k] * 1e6, run_med[k] * 1e6,
           step_best[k] * 1e6, step_med[k] * 1e6);
  }
  printf("D=%d H=%d N=%d speed-up with %d threads: run %.2fx (median %.2fx), step %.2fx "
         "(median %.2fx)\n",
         D, H, N, threads, run_best[0] / run_best[1], run_med[0] / run_med[1],
         step_best[0] / step_best[1], step_med[0] / step_med[1]);
  FN(destroy)(m[0]);
  FN(destroy)(m[1]);
  return 0;
}
