/* An idle model with a thread team uses no CPU: the process creates a model with a team of
 * THREADS, runs a sequence (so the workers have just worked and are waiting for the next job),
 * then sleeps SECONDS; the CPU time of the whole process (getrusage, every thread, user + sys)
 * over the sleep must stay below MAX_MS. Built against a runtime compiled with -DGRU_TEAM_NO_PARK
 * (workers that spin forever) it must fail: the check can fail.
 *   team_idle THREADS SECONDS MAX_MS
 * Build: cc -DLIB=<name> -DLIB_UPPER=<NAME> -I<gru-gen output> -Itest/e2e team_idle.c lib<name>.a */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "gru_test_lib_names.h"


enum { D = MACRO(INPUT_SIZE), H = MACRO(HIDDEN_SIZE), N = MACRO(BATCH), L = 16 };

static double cpu_ms(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-3;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: team_idle THREADS SECONDS MAX_MS\n");
    return 2;
  }
  const int threads = atoi(argv[1]);
  const double seconds = atof(argv[2]), max_ms = atof(argv[3]);
  float *Wx = (float *)calloc((size_t)3 * H * D, 4), *Wh = (float *)calloc((size_t)3 * H * H, 4);
  float *b = (float *)calloc(3 * H, 4), *bhn = (float *)calloc(H, 4);
  float *x = (float *)calloc((size_t)N * L * D, 4), *out = (float *)calloc((size_t)N * L * H, 4);
  gru_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.threads = threads;
  model_t *m = NULL;
  if (FN(create_with_options)(Wx, Wh, MACRO(HAS_BIAS) ? b : NULL, MACRO(HAS_BIAS) ? bhn : NULL, &o,
                              &m) != GRU_OK ||
      FN(threads)(m) != threads || FN(run)(m, x, L, NULL, out) != GRU_OK) {
    printf("FAIL: %s\n", FN(last_error)());
    return 1;
  }
  const double before = cpu_ms();
  const struct timespec sleep = {(time_t)seconds,
                                 (long)((seconds - (double)(time_t)seconds) * 1e9)};
  nanosleep(&sleep, NULL);
  const double used = cpu_ms() - before;
  printf("a model with %d threads, idle %.1f s: %.1f ms of CPU (at most %.1f): %s\n", threads,
         seconds, used, max_ms, used <= max_ms ? "PASS" : "FAIL");
  FN(destroy)(m);
  free(Wx), free(Wh), free(b), free(bhn), free(x), free(out);
  return used <= max_ms ? 0 : 1;
}
