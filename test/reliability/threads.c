/* Distinct models on distinct threads at once (the header's thread-compatibility promise),
 * checked against an MLX golden: each of T threads creates its own model from the golden's
 * weights, then R times runs the sequence, steps through it, and makes a call fail with a
 * seq_len of its own, whose last_error it must read back (last_error is per thread). Built
 * with -fsanitize=thread, and the runtime too (GRU_GEN_RUNTIME_CFLAGS); Halide's kernels and
 * its runtime (its thread pool) are not instrumented.
 * Usage: threads GOLDEN T R */
#include <pthread.h>

#include "gru_test_one_lib.h"

#define THREADS_CAT_(a, b) a##b
#define THREADS_CAT(a, b) THREADS_CAT_(a, b)
#define LAST_ERROR THREADS_CAT(LIB, _last_error)

static golden g;
static int rounds;

typedef struct {
  int id, failures;
  float worst;
} job;

static void *work(void *arg) {
  job *j = (job *)arg;
  const gru_test_lib *lib = THE_LIB;
  const size_t NH = (size_t)g.N * g.H, NLH = NH * g.L;
  float *out = (float *)malloc(NLH * sizeof(float)), *first = (float *)malloc(NLH * sizeof(float));
  float *h = (float *)malloc(NH * sizeof(float)), *x_t = (float *)malloc((size_t)g.N * g.D * 4);
  void *m = NULL;
  if (lib->create(g.Wx, g.Wh, g.b, g.bhn, &m) != GRU_OK) {
    j->failures++;
    return NULL;
  }
  for (int r = 0; r < rounds; ++r) {
    if (lib->run(m, g.x, g.L, g.h0, out) != GRU_OK) j->failures++;
    if (r == 0) memcpy(first, out, NLH * sizeof(float));
    if (memcmp(first, out, NLH * sizeof(float)) != 0) j->failures++; /* same bytes every time */
    const float e = max_abs_diff(out, g.out, NLH);
    if (e > j->worst) j->worst = e;
    if (g.h0) memcpy(h, g.h0, NH * sizeof(float));
    else memset(h, 0, NH * sizeof(float));
    for (int t = 0; t < g.L; ++t) {
      for (int n = 0; n < g.N; ++n)
        memcpy(x_t + (size_t)n * g.D, g.x + ((size_t)n * g.L + t) * g.D, g.D * sizeof(float));
      if (lib->step(m, x_t, h) != GRU_OK) j->failures++;
      for (int n = 0; n < g.N; ++n) {
        const float d = max_abs_diff(h + (size_t)n * g.H, g.out + ((size_t)n * g.L + t) * g.H, g.H);
        if (d > j->worst) j->worst = d;
      }
    }
    char want[64];
    snprintf(want, sizeof want, "seq_len %d ", -1000 - j->id);
    if (lib->run(m, g.x, -1000 - j->id, NULL, out) != GRU_INVALID_ARGUMENT ||
        !strstr(LAST_ERROR(), want))
      j->failures++;
  }
  lib->destroy(m);
  free(out), free(first), free(h), free(x_t);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 4 || !golden_load(argv[1], &g)) {
    fprintf(stderr, "usage: %s GOLDEN THREADS ROUNDS\n", argv[0]);
    return 2;
  }
  const int T = atoi(argv[2]);
  rounds = atoi(argv[3]);
  pthread_t threads[64];
  job jobs[64];
  if (T < 1 || T > 64 || rounds < 1) return 2;
  for (int i = 0; i < T; ++i) {
    jobs[i] = (job){i, 0, 0.0f};
    if (pthread_create(&threads[i], NULL, work, &jobs[i]) != 0) return 1;
  }
  int failures = 0;
  float worst = 0;
  for (int i = 0; i < T; ++i) {
    pthread_join(threads[i], NULL);
    failures += jobs[i].failures;
    if (jobs[i].worst > worst) worst = jobs[i].worst;
  }
  const int ok = failures == 0 && worst <= GRU_TOLERANCE;
  printf("%s: %d threads x %d rounds: %d failures, max error %.3g: %s\n", THE_LIB->name, T,
         rounds, failures, worst, ok ? "PASS" : "FAIL");
  free(g.data);
  return !ok;
}
