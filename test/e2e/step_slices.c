/* Which step kernels a model's recurrence calls, and in what order (the descriptor's step slices,
 * SchedulePlan.h's plan_step_slices):
 *   step_slices THREADS L [save FILE | compare FILE]
 * Built with -DSLICES=Q, the library's slices (its kernel <name>__kernel_step_slices<Q>), and
 * linked with -Wl,--wrap for <name>__kernel_step and that kernel: the wrappers below count the
 * calls and record the slices. Random weights (a fixed LCG), a model of THREADS threads
 * (create_with_options; 1: no team), one run of L timesteps, then step x L on the same model.
 * Prints each kernel's calls in run and in step; with one thread, the slices called in run's
 * first two timesteps and in the first two steps ("0 1 2 3 | 3 2 1 0": forward, then
 * backward); whether step x L gave run's bits (memcmp); with save, writes run's states to FILE,
 * with compare, says whether they are FILE's bits ("same bits"). Prints "PASS" at the end.
 * Build: cc -DLIB=<name> -DLIB_UPPER=<NAME> -DSLICES=<Q> -I<gru-gen output> step_slices.c
 *        lib<name>.a -Wl,--wrap=<name>__kernel_step,--wrap=<name>__kernel_step_slices<Q> */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gru_test_lib_names.h"
#include "HalideRuntime.h"

#ifndef SLICES
#error "-DSLICES=<Q>: the library's step slices"
#endif
#define KCAT_(lib, q) lib##__kernel_step_slices##q
#define KCAT(lib, q) KCAT_(lib, q)
#define SLICE_KERNEL KCAT(LIB, SLICES)
#define WRAP_(sym) __wrap_##sym
#define WRAP(sym) WRAP_(sym)
#define REAL_(sym) __real_##sym
#define REAL(sym) REAL_(sym)
#define STEP_KERNEL_(lib) lib##__kernel_step
#define STEP_KERNEL(lib) STEP_KERNEL_(lib)

enum { D = MACRO(INPUT_SIZE), H = MACRO(HIDDEN_SIZE), N = MACRO(BATCH), G = 3 * H };
typedef struct halide_buffer_t buf;

static long step_calls, slice_calls;
static int recorded[4096], n_recorded;

/* The library's bias variants (the test generates with bias). */
int REAL(STEP_KERNEL(LIB))(void const *, buf *, buf *, buf *, buf *, buf *);
int WRAP(STEP_KERNEL(LIB))(void const *uc, buf *xp, buf *h, buf *Wh, buf *bhn, buf *out) {
  __atomic_add_fetch(&step_calls, 1, __ATOMIC_RELAXED);
  return REAL(STEP_KERNEL(LIB))(uc, xp, h, Wh, bhn, out);
}
int REAL(SLICE_KERNEL)(void const *, buf *, buf *, buf *, buf *, int32_t, buf *);
int WRAP(SLICE_KERNEL)(void const *uc, buf *xp, buf *h, buf *Wh, buf *bhn, int32_t slice,
                       buf *out) {
  const long at = __atomic_fetch_add(&slice_calls, 1, __ATOMIC_RELAXED);
  if (at < (long)(sizeof recorded / sizeof recorded[0])) recorded[at] = slice;
  __atomic_store_n(&n_recorded, (int)(at + 1), __ATOMIC_RELAXED);
  return REAL(SLICE_KERNEL)(uc, xp, h, Wh, bhn, slice, out);
}

static uint32_t lcg = 12345u;
static float rnd(void) {
  lcg = lcg * 1664525u + 1013904223u;
  return (float)((lcg >> 8) * (2.0 / 16777216.0) - 1.0);
}

/* Prints the slices recorded from `from` on for `timesteps` timesteps of Q calls each. */
static void print_order(const char *what, long from, int timesteps) {
  printf("%s:", what);
  for (int t = 0; t < timesteps; ++t) {
    printf(t ? " |" : "");
    for (int i = 0; i < SLICES; ++i) printf(" %d", recorded[from + t * SLICES + i]);
  }
  printf("\n");
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 5) {
    fprintf(stderr, "usage: step_slices THREADS L [save FILE | compare FILE]\n");
    return 2;
  }
  const int threads = atoi(argv[1]), L = atoi(argv[2]);
  float *Wx = malloc(sizeof(float) * G * D), *Wh = malloc(sizeof(float) * G * H);
  float *b = malloc(sizeof(float) * G), *bhn = malloc(sizeof(float) * H);
  float *x = malloc(sizeof(float) * N * L * D), *h0 = malloc(sizeof(float) * N * H);
  float *out = malloc(sizeof(float) * N * L * H), *streamed = malloc(sizeof(float) * N * L * H);
  float *h = malloc(sizeof(float) * N * H), *x_t = malloc(sizeof(float) * N * D);
  for (int i = 0; i < G * D; ++i) Wx[i] = 0.2f * rnd();
  for (int i = 0; i < G * H; ++i) Wh[i] = 0.2f * rnd();
  for (int i = 0; i < G; ++i) b[i] = rnd();
  for (int i = 0; i < H; ++i) bhn[i] = rnd();
  for (int i = 0; i < N * L * D; ++i) x[i] = 2.0f * rnd();
  for (int i = 0; i < N * H; ++i) h0[i] = rnd();

  gru_options options = {sizeof(gru_options), threads};
  model_t *m = NULL;
  if (FN(create_with_options)(Wx, Wh, b, bhn, &options, &m) != GRU_OK) {
    printf("FAIL create: %s\n", FN(last_error)());
    return 1;
  }
  if (FN(run)(m, x, L, h0, out) != GRU_OK) {
    printf("FAIL run: %s\n", FN(last_error)());
    return 1;
  }
  printf("run: %ld step calls, %ld slice calls\n", step_calls, slice_calls);
  const long run_steps = step_calls, run_slices = slice_calls;
  if (threads == 1 && run_slices >= 2 * SLICES) print_order("run's first two timesteps", 0, 2);
  /* step x L on the same model: its states must be run's, bit for bit. */
  memcpy(h, h0, sizeof(float) * N * H);
  for (int t = 0; t < L; ++t) {
    for (int n = 0; n < N; ++n) memcpy(x_t + n * D, x + ((size_t)n * L + t) * D, sizeof(float) * D);
    if (FN(step)(m, x_t, h) != GRU_OK) {
      printf("FAIL step: %s\n", FN(last_error)());
      return 1;
    }
    for (int n = 0; n < N; ++n)
      memcpy(streamed + ((size_t)n * L + t) * H, h + n * H, sizeof(float) * H);
    if (threads == 1 && t == 1 && slice_calls - run_slices >= 2 * SLICES)
      print_order("step's first two calls", run_slices, 2);
  }
  printf("step: %ld step calls, %ld slice calls\n", step_calls - run_steps,
         slice_calls - run_slices);
  printf("step x %d: %s\n", L, memcmp(out, streamed, sizeof(float) * N * L * H) ? "FAIL: not run's bits" : "run's bits");
  FN(destroy)(m);
  if (argc == 5) {
    const int save = strcmp(argv[3], "save") == 0;
    FILE *f = fopen(argv[4], save ? "wb" : "rb");
    float *other = malloc(sizeof(float) * N * L * H);
    const size_t count = (size_t)N * L * H;
    if (!f || (save ? fwrite(out, sizeof(float), count, f) : fread(other, sizeof(float), count, f)) != count) {
      printf("FAIL: cannot %s %s\n", argv[3], argv[4]);
      return 1;
    }
    fclose(f);
    if (!save)
      printf("against %s: %s\n", argv[4],
             memcmp(out, other, sizeof(float) * count) ? "FAIL: other bits" : "same bits");
    free(other);
  }
  free(Wx), free(Wh), free(b), free(bhn), free(x), free(h0);
  free(out), free(streamed), free(h), free(x_t);
  printf("PASS\n");
  return 0;
}
