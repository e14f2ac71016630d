/* A model's persistent thread team (ABI 3) against the same model on one thread, in one program:
 *   team_check THREADS [SEQ_LEN [FILE]]
 * Random weights and inputs (a fixed LCG, uniform in [-1, 1], like mlx.nn.GRU's init scaled
 * up); every layer instance's h0. The model created with *_with_options {threads = THREADS}
 * must say it runs on THREADS threads, and give the same bytes (memcmp) as the one created
 * without options for: run_ex with NULL lengths and h_n; run_ex with per-row lengths (rows of
 * lengths L, L/2, 1, ...) and h_n; run; and, for a forward model, step x L (every state compared).
 * threads = 0 creates a model too (its choice, within [1, THREADS]) with the same bytes. Misuse:
 * threads -1, THREADS + 1, 1000, options of size 2, a larger options struct with a nonzero
 * unknown field each return GRU_INVALID_ARGUMENT with one line of last_error and leave *out alone.
 * With FILE, the two models come from create_from_safetensors(FILE, "") and its _with_options;
 * built with -DEMBEDDED, from create_default and its _with_options (the library's embedded
 * weights, read in place on CPU targets).
 * Built with -DPORTABLE (a library of the portable target x86-64-linux; -I<Halide's include>),
 * the environment's GRU_TEST_LEVEL hides features from Halide's can_use_target_features as
 * test/targets/portable.c does: "avx2" hides AVX-512, "sse41" AVX-512, AVX2 and FMA too, so
 * create picks that variant (printed: "variant: <its Halide target>").
 * Prints "PASS" or the first failure.
 * Build: cc -DLIB=<name> -DLIB_UPPER=<NAME> -I<gru-gen output> team_check.c lib<name>.a */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gru_test_lib_names.h"

#ifdef PORTABLE
#include "portable_level.h"
#endif


enum {
  D = MACRO(INPUT_SIZE),
  H = MACRO(HIDDEN_SIZE),
  N = MACRO(BATCH),
  LAYERS = MACRO(LAYERS),
  DIRS = MACRO(DIRECTIONS),
  OUT = MACRO(OUTPUT_SIZE),
  SUBS = LAYERS * DIRS
};

static uint64_t lcg = 0x9e3779b97f4a7c15ull;
static float uniform(void) { /* [-1, 1) */
  lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((lcg >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
}
static float *randoms(size_t n, float scale) {
  float *p = (float *)malloc(n * sizeof(float) + 1);
  for (size_t i = 0; i < n; ++i) p[i] = uniform() * scale;
  return p;
}

static int failures;
#define CHECK(cond, ...)                \
  do {                                  \
    if (!(cond)) {                      \
      printf("FAIL: " __VA_ARGS__);     \
      printf("\n");                     \
      ++failures;                       \
    }                                   \
  } while (0)

static gru_layer_weights w[SUBS];
static const char *file; /* create_from_safetensors(file, "") */

static gru_status create(int32_t threads, int with_options, model_t **m) {
  gru_options o;
  memset(&o, 0, sizeof o);
  o.size = sizeof o;
  o.threads = threads;
#ifdef EMBEDDED
  return with_options ? FN(create_default_with_options)(&o, m) : FN(create_default)(m);
#endif
  if (file)
    return with_options ? FN(create_from_safetensors_with_options)(file, "", &o, m)
                        : FN(create_from_safetensors)(file, "", m);
  return FN(create_layers_with_options)(w, SUBS, with_options ? &o : NULL, m);
}

static size_t first_difference(const float *a, const float *b, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (memcmp(&a[i], &b[i], sizeof(float)) != 0) return i;
  return n;
}

/* Runs `team` and `one` the same way and compares the bytes. */
static void compare_runs(model_t *one, model_t *team, const char *what, int32_t L) {
  const size_t NL = (size_t)N * L, hn = (size_t)SUBS * N * H;
  float *x = randoms(NL * D, 1.0f), *h0 = randoms(hn, 0.5f);
  float *o1 = (float *)calloc(NL * OUT, 4), *o2 = (float *)calloc(NL * OUT, 4);
  float *n1 = (float *)calloc(hn, 4), *n2 = (float *)calloc(hn, 4);
  int32_t lengths[N];
  for (int n = 0; n < N; ++n) lengths[n] = n == 0 ? L : n == 1 ? (L + 1) / 2 : 1 + n % L;
  for (int variant = 0; variant < 3; ++variant) {
    const int32_t *len = variant == 1 ? lengths : NULL;
    gru_status s1, s2;
    if (variant == 2) {
      s1 = FN(run)(one, x, L, LAYERS == 1 && DIRS == 1 ? h0 : NULL, o1);
      s2 = FN(run)(team, x, L, LAYERS == 1 && DIRS == 1 ? h0 : NULL, o2);
    } else {
      s1 = FN(run_ex)(one, x, L, len, h0, o1, n1);
      s2 = FN(run_ex)(team, x, L, len, h0, o2, n2);
    }
    const char *name = variant == 0 ? "run_ex" : variant == 1 ? "run_ex with lengths" : "run";
    CHECK(s1 == GRU_OK && s2 == GRU_OK, "%s %s: statuses %d, %d (%s)", what, name, (int)s1,
          (int)s2, FN(last_error)());
    const size_t at = first_difference(o1, o2, NL * OUT);
    CHECK(at == NL * OUT, "%s %s: out[%zu] is %.9g with the team, %.9g without", what, name, at,
          at < NL * OUT ? o2[at] : 0, at < NL * OUT ? o1[at] : 0);
    if (variant < 2) {
      const size_t hat = first_difference(n1, n2, hn);
      CHECK(hat == hn, "%s %s: h_n[%zu] differs", what, name, hat);
    }
  }
  if (DIRS == 1 && MACRO(RESET_AFTER)) { /* a forward model streams */
    const size_t lh = (size_t)LAYERS * N * H;
    float *h1 = (float *)malloc(lh * 4), *h2 = (float *)malloc(lh * 4), *xt = randoms((size_t)N * D, 1);
    memcpy(h1, h0, lh * 4);
    memcpy(h2, h0, lh * 4);
    for (int32_t t = 0; t < L; ++t) {
      for (int n = 0; n < N; ++n) memcpy(xt + (size_t)n * D, x + ((size_t)n * L + t) * D, D * 4);
      const gru_status s1 = FN(step)(one, xt, h1), s2 = FN(step)(team, xt, h2);
      CHECK(s1 == GRU_OK && s2 == GRU_OK, "%s step %d: statuses %d, %d", what, (int)t, (int)s1,
            (int)s2);
      const size_t at = first_difference(h1, h2, lh);
      if (at != lh) {
        CHECK(0, "%s step %d: h[%zu] is %.9g with the team, %.9g without", what, (int)t, at,
              h2[at], h1[at]);
        break;
      }
    }
    /* step's state equals run's last output (one layer, h0 given, all rows full). */
    free(h1);
    free(h2);
    free(xt);
  }
  free(x);
  free(h0);
  free(o1);
  free(o2);
  free(n1);
  free(n2);
}

static void misuse(int32_t threads_max) {
  const int32_t bad[] = {-1, threads_max + 1, 1000};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    model_t *m = (model_t *)&failures; /* must stay untouched */
    const gru_status s = create(bad[i], 1, &m);
    const char *e = FN(last_error)();
    CHECK(s == GRU_INVALID_ARGUMENT && m == (model_t *)&failures,
          "threads %d: status %d, out %s", (int)bad[i], (int)s,
          m == (model_t *)&failures ? "untouched" : "written");
    CHECK(e[0] && !strchr(e, '\n'), "threads %d: last_error '%s'", (int)bad[i], e);
    printf("threads %d: %s\n", (int)bad[i], e);
  }
  struct {
    gru_options o;
    uint32_t extra;
  } big;
  memset(&big, 0, sizeof big);
  big.o.size = sizeof big;
  big.o.threads = 1;
  big.extra = 7;
  model_t *m = NULL;
  gru_status s = FN(create_layers_with_options)(w, SUBS, &big.o, &m);
  CHECK(s == GRU_INVALID_ARGUMENT && !m, "options with an unknown field: status %d", (int)s);
  printf("unknown field: %s\n", FN(last_error)());
  big.extra = 0; /* zero: the default of a field this library does not know */
  s = FN(create_layers_with_options)(w, SUBS, &big.o, &m);
  CHECK(s == GRU_OK && m && FN(threads)(m) == 1, "options with a zero unknown field: status %d",
        (int)s);
  FN(destroy)(m);
  m = NULL;
  big.o.size = 2;
  s = FN(create_layers_with_options)(w, SUBS, &big.o, &m);
  CHECK(s == GRU_INVALID_ARGUMENT && !m, "options of size 2: status %d", (int)s);
  printf("size 2: %s\n", FN(last_error)());
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: team_check THREADS [SEQ_LEN]\n");
    return 2;
  }
  const int32_t threads = atoi(argv[1]), L = argc > 2 ? atoi(argv[2]) : 9;
  file = argc > 3 ? argv[3] : NULL;
  CHECK(FN(abi_version)() == 3, "abi_version %u", (unsigned)FN(abi_version)());
  for (int i = 0; i < SUBS; ++i) {
    const int Dl = i < DIRS ? D : OUT;
    const float scale = 1.0f; /* large enough that the gates saturate sometimes */
    w[i].Wx = randoms((size_t)3 * H * Dl, scale);
    w[i].Wh = randoms((size_t)3 * H * H, scale);
    w[i].b = MACRO(HAS_BIAS) ? randoms((size_t)3 * H, scale) : NULL;
    w[i].bhn = MACRO(HAS_BIAS) ? randoms((size_t)H, scale) : NULL;
  }
  model_t *one = NULL, *team = NULL, *chosen = NULL;
#ifdef PORTABLE
  hide_level(getenv("GRU_TEST_LEVEL"));
#endif
  gru_status s = create(1, 0, &one);
  CHECK(s == GRU_OK && FN(threads)(one) == 1, "create: %d (%s)", (int)s, FN(last_error)());
  s = create(threads, 1, &team);
  CHECK(s == GRU_OK, "create threads %d: %d (%s)", (int)threads, (int)s, FN(last_error)());
  if (s != GRU_OK) {
    FN(destroy)(one);
    return 1;
  }
  CHECK(FN(threads)(team) == threads, "threads() says %d, not %d", (int)FN(threads)(team),
        (int)threads);
#ifdef PORTABLE
  printf("variant: %s\n", INTERNAL(LIB, variant)(team));
  CHECK(strcmp(INTERNAL(LIB, variant)(team), INTERNAL(LIB, variant)(one)) == 0,
        "the team runs %s, one thread %s", INTERNAL(LIB, variant)(team),
        INTERNAL(LIB, variant)(one));
#endif
  compare_runs(one, team, "team", L);
  s = create(0, 1, &chosen);
  CHECK(s == GRU_OK && FN(threads)(chosen) >= 1 && FN(threads)(chosen) <= threads,
        "threads 0: %d, %d threads", (int)s, s == GRU_OK ? (int)FN(threads)(chosen) : 0);
  if (s == GRU_OK) {
    printf("threads 0 chose %d\n", (int)FN(threads)(chosen));
    compare_runs(one, chosen, "threads 0", L);
  }
  if (!file) misuse(threads);
  FN(destroy)(one);
  FN(destroy)(team);
  FN(destroy)(chosen);
  for (int i = 0; i < SUBS; ++i) {
    free((void *)w[i].Wx);
    free((void *)w[i].Wh);
    free((void *)w[i].b);
    free((void *)w[i].bhn);
  }
  printf("%s\n", failures ? "FAILED" : "PASS");
  return failures != 0;
}
