/* Out of memory, everywhere: every allocation the library makes goes through halide_malloc, so
 * a hook (halide_set_custom_malloc) fails the k-th allocation of a call, for k = 1, 2, ... until
 * the call succeeds. Each failing call must return GRU_OUT_OF_MEMORY with "out of memory" in
 * last_error, leave *out / h untouched, free everything it allocated (live allocations are
 * counted here; ASan/LSan checks the rest in the sanitized run), never call halide_free(NULL),
 * and leave the model as it was: the next call computes what it computed before.
 * Usage: oom MATCHING.safetensors PREFIX   (a file holding this library's layer) */
#include "reliability.h"

/* From HalideRuntime.h, which the library's users need not have. */
typedef void *(*halide_malloc_t)(void *, size_t);
typedef void (*halide_free_t)(void *, void *);
extern halide_malloc_t halide_set_custom_malloc(halide_malloc_t user_malloc);
extern halide_free_t halide_set_custom_free(halide_free_t user_free);

static long calls, fail_at, live, null_frees;

static void *counting_malloc(void *user_context, size_t bytes) {
  (void)user_context;
  const long k = __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
  if (k == __atomic_load_n(&fail_at, __ATOMIC_SEQ_CST)) return NULL;
  /* Halide expects its allocations aligned (halide_malloc's default gives 128 bytes). */
  void *p = aligned_alloc(128, (bytes + 127) / 128 * 128);
  if (p) __atomic_add_fetch(&live, 1, __ATOMIC_SEQ_CST);
  return p;
}

static void counting_free(void *user_context, void *p) {
  (void)user_context;
  if (!p) {
    __atomic_add_fetch(&null_frees, 1, __ATOMIC_SEQ_CST);
    return;
  }
  __atomic_sub_fetch(&live, 1, __ATOMIC_SEQ_CST);
  free(p);
}

static void arm(long k) {
  __atomic_store_n(&calls, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&fail_at, k, __ATOMIC_SEQ_CST);
}

static int oom_text(void) {
  return strstr(F(last_error)(), "out of memory") || strstr(F(last_error)(), "Out of memory");
}

/* Injects failures into `op` until it succeeds; returns the number of failures injected. */
#define INJECT(label, op_status, on_failure)                                                 \
  ({                                                                                         \
    long k_ = 1;                                                                             \
    for (;; ++k_) {                                                                          \
      const long live_before = live;                                                         \
      arm(k_);                                                                               \
      const gru_status s_ = (op_status);                                                     \
      arm(0);                                                                                \
      if (s_ == GRU_OK) break;                                                               \
      CHECK(s_ == GRU_OUT_OF_MEMORY, "%s: allocation %ld failed: status %d (%s)", label, k_, \
            (int)s_, F(last_error)());                                                       \
      CHECK(oom_text(), "%s: allocation %ld failed: last_error '%s'", label, k_,             \
            F(last_error)());                                                                \
      CHECK(live == live_before, "%s: allocation %ld failed: %ld allocations leaked", label, \
            k_, live - live_before);                                                         \
      on_failure;                                                                            \
      if (k_ > 10000) break;                                                                 \
    }                                                                                        \
    printf("%s: %ld allocation failures injected, then success\n", label, k_ - 1);          \
    k_ - 1;                                                                                  \
  })

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MATCHING.safetensors PREFIX\n", argv[0]);
    return 2;
  }
  halide_set_custom_malloc(counting_malloc);
  halide_set_custom_free(counting_free);
  rel_weights w = rel_make_weights();
  rel_model *const marker = (rel_model *)&rel_passed;
  long injected = 0;

  rel_model *m = marker;
  injected += INJECT("create", F(create)(w.Wx, w.Wh, w.b, w.bhn, &m),
                     CHECK(m == marker, "create touched *out on failure"));
  CHECK(m != marker && m, "create succeeded");

  rel_model *mf = marker;
  injected += INJECT("create_from_safetensors", F(create_from_safetensors)(argv[1], argv[2], &mf),
                     CHECK(mf == marker, "create_from_safetensors touched *out on failure"));
  CHECK(mf != marker && mf, "create_from_safetensors succeeded");

  /* run, cold (the first kernel calls) and warm, with and without h0; step. */
  const int32_t L = 37; /* more than one projection block, and a partial one */
  float *x = rel_array(SZ_N * L * SZ_D, 1.0f), *h0 = rel_array(SZ_N * SZ_H, 0.5f);
  float *out = (float *)malloc(SZ_N * L * SZ_H * sizeof(float));
  float *reference = (float *)malloc(SZ_N * L * SZ_H * sizeof(float));
  injected += INJECT("run (first call)", F(run)(mf, x, L, h0, out), (void)0);
  CHECK(F(run)(m, x, L, h0, reference) == GRU_OK, "run without failures");
  injected += INJECT("run", F(run)(m, x, L, h0, out), (void)0);
  CHECK(memcmp(out, reference, SZ_N * L * SZ_H * sizeof(float)) == 0,
        "run after failures equals run without");
  injected += INJECT("run (h0 NULL)", F(run)(m, x, L, NULL, out), (void)0);
  injected += INJECT("run (L=1)", F(run)(m, x, 1, h0, out), (void)0);

  float *h = (float *)malloc(SZ_N * SZ_H * sizeof(float)), *h_copy = (float *)malloc(SZ_N * SZ_H * 4);
  memcpy(h, h0, SZ_N * SZ_H * sizeof(float));
  injected += INJECT("step", (memcpy(h_copy, h, SZ_N * SZ_H * 4), F(step)(m, x, h)),
                     CHECK(memcmp(h, h_copy, SZ_N * SZ_H * 4) == 0, "step changed h on failure"));
  /* step's result after the failures is run's over one timestep from the same state. */
  F(run)(m, x, 1, h_copy, out);
  int same = 1;
  for (size_t n = 0; n < SZ_N; ++n)
    same &= memcmp(h + n * SZ_H, out + n * SZ_H, SZ_H * sizeof(float)) == 0;
  CHECK(same, "step after failures equals run over one timestep");

  /* A Wh that is not finite: create also holds zeros shaped as it, and run without h0 takes its
   * first step with the step kernel over them (finite states, as mlx.nn.GRU's). int8 and w8a8
   * libraries refuse such weights instead, holding nothing. */
  w.Wh[0] = INFINITY;
  rel_model *mi = marker;
  if (!strcmp(C(WEIGHTS_PRECISION), "int8") || !strcmp(C(WEIGHTS_PRECISION), "w8a8")) {
    const long live_before = live;
    const gru_status s = F(create)(w.Wx, w.Wh, w.b, w.bhn, &mi);
    CHECK(s == GRU_INVALID_ARGUMENT && mi == marker && live == live_before,
          "create refuses a Wh that is not finite (%s weights): status %d, %ld allocations leaked",
          C(WEIGHTS_PRECISION), (int)s, live - live_before);
    printf("create (Wh not finite): refused, %s weights\n", C(WEIGHTS_PRECISION));
  } else {
    injected += INJECT("create (Wh not finite)", F(create)(w.Wx, w.Wh, w.b, w.bhn, &mi),
                       CHECK(mi == marker, "create touched *out on failure"));
    CHECK(mi != marker && mi, "create with Wh not finite succeeded");
    injected += INJECT("run (Wh not finite, h0 NULL)", F(run)(mi, x, L, NULL, out), (void)0);
    int finite = 1;
    for (size_t k = 0; k < SZ_N * L * SZ_H; ++k) finite &= isfinite(out[k]) != 0;
    CHECK(finite, "run without h0, Wh not finite: every state finite");
    F(destroy)(mi);
  }

  F(destroy)(m);
  F(destroy)(mf);
  CHECK(null_frees == 0, "halide_free(NULL) called %ld times", null_frees);
  printf("total: %ld allocation failures injected; %ld allocations live at the end\n", injected,
         live);
  free(x), free(h0), free(out), free(reference), free(h), free(h_copy);
  rel_free_weights(&w);
  return rel_report();
}
