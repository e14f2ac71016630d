/* Calls on one model must not overlap (the header); one that would is refused. run and step share
 * the model's scratch and its team, whose barrier counts one caller: two calls at once on a team
 * model crashed (SIGSEGV) or computed wrong states, with GRU_OK.
 *  1. Deterministic: thread A's run is held inside its scratch allocation (a halide_malloc hook
 *     that waits while A is inside); meanwhile run, run_ex and step on the same model from the
 *     main thread must return GRU_INVALID_ARGUMENT, say "in use" in last_error and leave out, h_n
 *     and h untouched; A's run then completes with the bytes of a run alone. Another model is
 *     free all along. Afterwards the model takes calls again, also after a refused seq_len.
 *  2. Two threads run and step the same model ROUNDS times each: every GRU_OK call gives the
 *     bytes of a call alone, every other call is the refusal.
 * For a model of THREADS threads (1: none; > 1: a team, --threads-max).
 * Usage: model_in_use THREADS ROUNDS */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "reliability.h"

/* From HalideRuntime.h, which the library's users need not have. */
typedef void *(*halide_malloc_t)(void *, size_t);
typedef void (*halide_free_t)(void *, void *);
extern halide_malloc_t halide_set_custom_malloc(halide_malloc_t user_malloc);
extern halide_free_t halide_set_custom_free(halide_free_t user_free);

enum { L = 9 };
#define X_FLOATS (SZ_N * L * SZ_D)
#define OUT_FLOATS (SZ_N * L * SZ_H)
#define SENTINEL 12345.0f

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int a_inside, a_may_go;
static _Thread_local int hold_here; /* this thread's next allocation waits (thread A) */

static void *holding_malloc(void *user_context, size_t bytes) {
  (void)user_context;
  if (hold_here) {
    hold_here = 0;
    pthread_mutex_lock(&lock);
    a_inside = 1;
    pthread_cond_broadcast(&changed);
    while (!a_may_go) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
  }
  /* Halide expects its allocations aligned (halide_malloc's default gives 128 bytes). */
  return aligned_alloc(128, (bytes + 127) / 128 * 128);
}

static void plain_free(void *user_context, void *p) {
  (void)user_context;
  free(p);
}

static rel_model *m, *other;
static float *x, *ref_out, *ref_h, *ref_step; /* ref_step: step(x's first N x D floats, ref_h) */
static gru_status a_status;
static float *a_out;

static void *thread_a(void *arg) {
  (void)arg;
  hold_here = 1;
  a_status = F(run)(m, x, L, NULL, a_out);
  return NULL;
}

static int untouched(const float *p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != SENTINEL) return 0;
  return 1;
}
static void fill(float *p, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = SENTINEL;
}
static int in_use_text(void) { return strstr(F(last_error)(), "in use") != NULL; }

/* The state after L steps from zeros (ref_h), each x_t a copy of x's timestep t. */
static gru_status steps(rel_model *model, float *h) {
  float *x_t = (float *)malloc(SZ_N * SZ_D * sizeof(float));
  memset(h, 0, SZ_N * SZ_H * sizeof(float));
  gru_status s = GRU_OK;
  for (int t = 0; t < L && s == GRU_OK; ++t) {
    for (size_t n = 0; n < SZ_N; ++n)
      memcpy(x_t + n * SZ_D, x + (n * L + (size_t)t) * SZ_D, SZ_D * sizeof(float));
    s = F(step)(model, x_t, h);
  }
  free(x_t);
  return s;
}

static long wrong, refused_runs, refused_steps, other_failures;
static int rounds;
static pthread_barrier_t start;

static void *hammer(void *arg) {
  (void)arg;
  pthread_barrier_wait(&start);
  float *out = (float *)malloc(OUT_FLOATS * sizeof(float));
  float *h = (float *)malloc(SZ_N * SZ_H * sizeof(float));
  for (int i = 0; i < rounds; ++i) {
    gru_status s = F(run)(m, x, L, NULL, out);
    if (s == GRU_OK) {
      if (memcmp(out, ref_out, OUT_FLOATS * sizeof(float))) __atomic_add_fetch(&wrong, 1, __ATOMIC_SEQ_CST);
    } else if (s == GRU_INVALID_ARGUMENT && in_use_text()) {
      __atomic_add_fetch(&refused_runs, 1, __ATOMIC_SEQ_CST);
    } else {
      __atomic_add_fetch(&other_failures, 1, __ATOMIC_SEQ_CST);
    }
    /* One step from the reference's last state; a refusal leaves h as it was. */
    memcpy(h, ref_h, SZ_N * SZ_H * sizeof(float));
    s = F(step)(m, x, h);
    if (s == GRU_OK) {
      if (memcmp(h, ref_step, SZ_N * SZ_H * sizeof(float))) __atomic_add_fetch(&wrong, 1, __ATOMIC_SEQ_CST);
    } else if (s == GRU_INVALID_ARGUMENT && in_use_text()) {
      __atomic_add_fetch(&refused_steps, 1, __ATOMIC_SEQ_CST);
      if (memcmp(h, ref_h, SZ_N * SZ_H * sizeof(float))) __atomic_add_fetch(&wrong, 1, __ATOMIC_SEQ_CST);
    } else {
      __atomic_add_fetch(&other_failures, 1, __ATOMIC_SEQ_CST);
    }
  }
  free(out), free(h);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: model_in_use THREADS ROUNDS\n");
    return 2;
  }
  const int threads = atoi(argv[1]);
  rounds = atoi(argv[2]);
  halide_set_custom_malloc(holding_malloc);
  halide_set_custom_free(plain_free);
  rel_weights w = rel_make_weights();
  gru_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.threads = threads;
  if (F(create_with_options)(w.Wx, w.Wh, w.b, w.bhn, &o, &m) != GRU_OK ||
      F(create)(w.Wx, w.Wh, w.b, w.bhn, &other) != GRU_OK) {
    printf("FAIL: create: %s\n", F(last_error)());
    return 1;
  }
  x = rel_array(X_FLOATS, 1.0f);
  ref_out = (float *)malloc(OUT_FLOATS * sizeof(float));
  ref_h = (float *)malloc(SZ_N * SZ_H * sizeof(float));
  a_out = (float *)malloc(OUT_FLOATS * sizeof(float));
  float *out = (float *)malloc(OUT_FLOATS * sizeof(float));
  float *h = (float *)malloc(SZ_N * SZ_H * sizeof(float));
  float *h_n = (float *)malloc(SZ_N * SZ_H * sizeof(float));
  CHECK(F(run)(m, x, L, NULL, ref_out) == GRU_OK, "reference run: %s", F(last_error)());
  CHECK(steps(m, ref_h) == GRU_OK, "reference steps: %s", F(last_error)());

  ref_step = (float *)malloc(SZ_N * SZ_H * sizeof(float));
  memcpy(ref_step, ref_h, SZ_N * SZ_H * sizeof(float));
  CHECK(F(step)(m, x, ref_step) == GRU_OK, "reference step: %s", F(last_error)());

  /* 1. A call held inside run; the others meanwhile. */
  pthread_t a;
  pthread_create(&a, NULL, thread_a, NULL);
  pthread_mutex_lock(&lock);
  while (!a_inside) pthread_cond_wait(&changed, &lock);
  pthread_mutex_unlock(&lock);
  fill(out, OUT_FLOATS);
  gru_status s = F(run)(m, x, L, NULL, out);
  CHECK(s == GRU_INVALID_ARGUMENT && in_use_text(), "run during a run: status %d, '%s'", (int)s,
        F(last_error)());
  CHECK(untouched(out, OUT_FLOATS), "run during a run wrote out");
  fill(out, OUT_FLOATS), fill(h_n, SZ_N * SZ_H);
  s = F(run_ex)(m, x, L, NULL, NULL, out, h_n);
  CHECK(s == GRU_INVALID_ARGUMENT && in_use_text(), "run_ex during a run: status %d, '%s'",
        (int)s, F(last_error)());
  CHECK(untouched(out, OUT_FLOATS) && untouched(h_n, SZ_N * SZ_H), "run_ex during a run wrote");
  fill(h, SZ_N * SZ_H);
  s = F(step)(m, x, h);
  CHECK(s == GRU_INVALID_ARGUMENT && in_use_text(), "step during a run: status %d, '%s'", (int)s,
        F(last_error)());
  CHECK(untouched(h, SZ_N * SZ_H), "step during a run wrote h");
  s = F(run)(other, x, L, NULL, out);
  CHECK(s == GRU_OK && !memcmp(out, ref_out, OUT_FLOATS * sizeof(float)),
        "another model during the run: status %d", (int)s);
  pthread_mutex_lock(&lock);
  a_may_go = 1;
  pthread_cond_broadcast(&changed);
  pthread_mutex_unlock(&lock);
  pthread_join(a, NULL);
  CHECK(a_status == GRU_OK && !memcmp(a_out, ref_out, OUT_FLOATS * sizeof(float)),
        "the held run: status %d, or other bytes than alone", (int)a_status);
  /* Free again, also after a refusal of its own and one that names no model. */
  CHECK(F(run)(m, x, 0, NULL, out) == GRU_INVALID_ARGUMENT, "seq_len 0 accepted");
  CHECK(F(run)(NULL, x, L, NULL, out) == GRU_INVALID_ARGUMENT, "NULL model accepted");
  CHECK(F(run)(m, x, L, NULL, out) == GRU_OK && !memcmp(out, ref_out, OUT_FLOATS * sizeof(float)),
        "run afterwards: %s", F(last_error)());
  CHECK(steps(m, h) == GRU_OK && !memcmp(h, ref_h, SZ_N * SZ_H * sizeof(float)),
        "steps afterwards: %s", F(last_error)());

  /* 2. Two threads on the model at once. */
  pthread_t t[2];
  pthread_barrier_init(&start, NULL, 2);
  for (int i = 0; i < 2; ++i) pthread_create(&t[i], NULL, hammer, NULL);
  for (int i = 0; i < 2; ++i) pthread_join(t[i], NULL);
  pthread_barrier_destroy(&start);
  CHECK(wrong == 0 && other_failures == 0,
        "two threads: %ld wrong results, %ld other failures", wrong, other_failures);
  printf("two threads x %d rounds, %d thread%s per model: %ld runs and %ld steps refused\n",
         rounds, F(threads)(m), F(threads)(m) == 1 ? "" : "s", refused_runs, refused_steps);
  F(destroy)(m);
  F(destroy)(other);
  rel_free_weights(&w);
  free(x), free(ref_out), free(ref_h), free(ref_step), free(a_out), free(out), free(h), free(h_n);
  return rel_report();
}
