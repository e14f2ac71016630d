/* Timing harness for one gru-gen library (compiled by bench/bench.py against it).
 *
 *   harness DIR L OUT [BUDGET]
 *
 * DIR holds the model and input as raw float32 files (Wx, Wh, b, bhn, x; written by bench.py).
 * The harness checks nothing itself: it writes run's output [N][L][H] to OUT (bench.py compares
 * it with MLX and with every peer), then times
 *   - run over the whole sequence (no initial state), the ABI call a user makes;
 *   - step (streaming, h in/out), per call;
 *   - each Halide kernel alone, called through its argv entry point with buffers shaped from its
 *     own metadata (the estimates gru-gen gives every buffer), so the projection GEMM and one
 *     recurrent step can be compared with the machine's limits.
 * run is repeated for BUDGET seconds (default 0.6, bench.py's --budget). Times are the minimum over
 * repetitions (and the median, to show the noise), in seconds, as one JSON object on stdout. The
 * thread count is Halide's: HL_NUM_THREADS; with GRU_BENCH_TEAM=T (a library of ABI 3 or later,
 * generated with --threads-max T or more), the model is created with a persistent team of T
 * (create_with_options).
 *
 * A model library (LAYERS * DIRECTIONS > 1 layer instances, ABI 2) reads instance i's weights
 * from Wx_i, Wh_i, b_i, bhn_i (layer-major, forward before backward; Wx of layer l > 0 is
 * [3H][OUTPUT_SIZE]), creates the model with create_layers (create_layers_with_options with
 * GRU_BENCH_TEAM), writes run_ex's output
 * [N][L][OUTPUT_SIZE] (no lengths, zero initial state) and times run_ex alone: step is not a call
 * of a bidirectional model, and the kernels are timed at the single-layer points.
 *
 * Built with -DLIB=<name> -DLIB_UPPER=<NAME> -include <name>.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "HalideRuntime.h"
/* The runtime's own float16 and bfloat16 conversions (round to nearest even). */
#include "../runtime/gru_pack.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(suffix) CAT(LIB, suffix)
#define K(suffix) CAT(LIB_UPPER, suffix)

enum { D = K(_INPUT_SIZE), H = K(_HIDDEN_SIZE), N = K(_BATCH) };
#if K(_LAYERS) * K(_DIRECTIONS) > 1
#define MODEL 1
enum { INSTANCES = K(_LAYERS) * K(_DIRECTIONS), OUT_SIZE = K(_OUTPUT_SIZE) };
#else
#define MODEL 0
#endif

typedef int (*argv_kernel)(void **);
typedef const struct halide_filter_metadata_t *(*kernel_metadata)(void);
extern int FN(__kernel_projection_argv)(void **);
extern const struct halide_filter_metadata_t *FN(__kernel_projection_metadata)(void);
extern int FN(__kernel_step_argv)(void **);
extern const struct halide_filter_metadata_t *FN(__kernel_step_metadata)(void);

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static float *load(const char *dir, const char *name, size_t count) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.f32", dir, name);
  float *data = malloc(count * sizeof(float) + 1);
  FILE *f = fopen(path, "rb");
  if (!data || !f || fread(data, sizeof(float), count, f) != count) {
    fprintf(stderr, "harness: cannot read %zu floats from %s\n", count, path);
    exit(1);
  }
  fclose(f);
  return data;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Repeats `fn` (each call doing `inner` operations) until `budget` seconds and at least
 * `min_reps` repetitions have passed; per-operation minimum and median. */
typedef struct {
  double min, median;
  int reps;
} timing;

#define MAX_REPS 100000
static double samples[MAX_REPS];

static timing measure(void (*fn)(void *), void *arg, int inner, double budget, int min_reps) {
  fn(arg); /* warm-up: caches, Halide's thread pool */
  fn(arg);
  int reps = 0;
  const double start = now();
  while (reps < MAX_REPS && (reps < min_reps || now() - start < budget)) {
    const double t0 = now();
    fn(arg);
    samples[reps++] = (now() - t0) / inner;
  }
  qsort(samples, reps, sizeof samples[0], cmp_double);
  timing t = {samples[0], samples[reps / 2], reps};
  return t;
}

/* ---- run and step through the ABI ---- */

typedef struct {
  FN(_model) * m;
  const float *x;
  int L;
  float *out, *h;
} abi_args;

static void do_run(void *p) {
  abi_args *a = p;
#if MODEL
  if (FN(_run_ex)(a->m, a->x, a->L, NULL, NULL, a->out, NULL) != GRU_OK) {
#else
  if (FN(_run)(a->m, a->x, a->L, NULL, a->out) != GRU_OK) {
#endif
    fprintf(stderr, "harness: run failed\n");
    exit(1);
  }
}

#if !MODEL /* step and the kernels alone: the single-layer points' */
enum { STEPS_PER_SAMPLE = 64 };
static void do_steps(void *p) {
  abi_args *a = p;
  for (int i = 0; i < STEPS_PER_SAMPLE; ++i)
    if (FN(_step)(a->m, a->x + (size_t)(i % a->L) * D * N, a->h) != GRU_OK) {
      fprintf(stderr, "harness: step failed\n");
      exit(1);
    }
}

/* ---- one kernel through its argv entry point ---- */

typedef struct {
  argv_kernel fn;
  void **args;
} kernel_call;

static void do_kernel(void *p) {
  kernel_call *k = p;
  if (k->fn(k->args) != 0) {
    fprintf(stderr, "harness: kernel failed\n");
    exit(1);
  }
}

static timing time_kernel(argv_kernel fn, kernel_metadata meta, double budget) {
  const struct halide_filter_metadata_t *md = meta();
  void **args = calloc(md->num_arguments, sizeof(void *));
  static void *null_context = NULL;
  for (int i = 0; i < md->num_arguments; ++i) {
    const struct halide_filter_argument_t *a = &md->arguments[i];
    if (a->kind == halide_argument_kind_input_scalar) { /* __user_context */
      args[i] = &null_context;
      continue;
    }
    halide_buffer_t *b = calloc(1, sizeof *b);
    halide_dimension_t *dims = calloc(a->dimensions, sizeof *dims);
    size_t count = 1;
    for (int d = 0; d < a->dimensions; ++d) {
      dims[d].min = (int32_t)*a->buffer_estimates[2 * d];
      dims[d].extent = (int32_t)*a->buffer_estimates[2 * d + 1];
      dims[d].stride = (int32_t)count;
      count *= dims[d].extent;
    }
    /* Small values of the buffer's own type (float32, or a reduced-precision weight's: float16,
     * bfloat16, int8), so no lane computes with NaN or subnormals. */
    uint8_t *data = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
    for (size_t e = 0; e < count; ++e) {
      float v = 0.01f * (float)((e * 2654435761u) % 97) - 0.48f;
      if (v > -6.2e-5f && v < 6.2e-5f) v = 0.0f; /* below float16's normal range */
      if (a->type.code == halide_type_bfloat && a->type.bits == 16) {
        const uint16_t bf = gru_f32_to_bf16(v);
        memcpy(data + 2 * e, &bf, 2);
      } else if (a->type.code == halide_type_float && a->type.bits == 16) {
        const uint16_t half = gru_f32_to_f16(v);
        memcpy(data + 2 * e, &half, 2);
      } else if (a->type.bits == 8) {
        data[e] = (uint8_t)(int8_t)(e % 255 - 127);
      } else {
        memcpy(data + 4 * e, &v, 4);
      }
    }
    b->host = data;
    b->type = a->type;
    b->dimensions = a->dimensions;
    b->dim = dims;
    args[i] = b;
  }
  kernel_call k = {fn, args};
  return measure(do_kernel, &k, 1, budget, 20);
}

#endif

static void print_timing(const char *name, timing t, int last) {
  printf("  \"%s\": {\"min_s\": %.9g, \"median_s\": %.9g, \"reps\": %d}%s\n", name, t.min,
         t.median, t.reps, last ? "" : ",");
}

#if !MODEL
/* The single-layer create: with GRU_BENCH_TEAM=T, a model with a team of T threads. */
static gru_status create_model(const float *Wx, const float *Wh, const float *b, const float *bhn,
                               FN(_model) * *m) {
  const char *team = getenv("GRU_BENCH_TEAM");
#ifdef GRU_GEN_OPTIONS_DEFINED
  if (team) {
    gru_options options = {sizeof(gru_options), atoi(team)};
    return FN(_create_with_options)(Wx, Wh, b, bhn, &options, m);
  }
#else
  if (team) {
    fprintf(stderr, "harness: GRU_BENCH_TEAM: this library has no teams (ABI 2)\n");
    return GRU_INVALID_ARGUMENT;
  }
#endif
  return FN(_create)(Wx, Wh, b, bhn, m);
}
#endif

/* Both mains take DIR L OUT [BUDGET]. */
static int valid_arguments(int argc, char **argv) {
  if (argc == 4 || argc == 5) return 1;
  fprintf(stderr, "usage: %s DIR L OUT [BUDGET]\n", argv[0]);
  return 0;
}

#if MODEL
/* The model's create: with GRU_BENCH_TEAM=T, a model with a team of T threads. */
static gru_status create_layers(const gru_layer_weights *w, int32_t count, FN(_model) * *m) {
  const char *team = getenv("GRU_BENCH_TEAM");
#ifdef GRU_GEN_OPTIONS_DEFINED
  if (team) {
    gru_options options = {sizeof(gru_options), atoi(team)};
    return FN(_create_layers_with_options)(w, count, &options, m);
  }
#else
  if (team) {
    fprintf(stderr, "harness: GRU_BENCH_TEAM: this library has no teams (ABI 2)\n");
    return GRU_INVALID_ARGUMENT;
  }
#endif
  return FN(_create_layers)(w, count, m);
}

int main(int argc, char **argv) {
  if (!valid_arguments(argc, argv)) return 2;
  const double budget = argc == 5 ? atof(argv[4]) : 0.6;
  const char *dir = argv[1];
  const int L = atoi(argv[2]);
  gru_layer_weights w[INSTANCES];
  for (int i = 0; i < INSTANCES; ++i) {
    const size_t in = i < K(_DIRECTIONS) ? D : OUT_SIZE;
    char name[32];
    snprintf(name, sizeof name, "Wx_%d", i);
    w[i].Wx = load(dir, name, 3 * H * in);
    snprintf(name, sizeof name, "Wh_%d", i);
    w[i].Wh = load(dir, name, (size_t)3 * H * H);
    snprintf(name, sizeof name, "b_%d", i);
    w[i].b = K(_HAS_BIAS) ? load(dir, name, (size_t)3 * H) : NULL;
    snprintf(name, sizeof name, "bhn_%d", i);
    w[i].bhn = K(_HAS_BIAS) ? load(dir, name, (size_t)H) : NULL;
  }
  float *x = load(dir, "x", (size_t)N * L * D);
  const size_t out_count = (size_t)N * L * OUT_SIZE;
  float *out = malloc(sizeof(float) * out_count);
  FN(_model) *m = NULL;
  if (create_layers(w, INSTANCES, &m) != GRU_OK) {
    fprintf(stderr, "harness: create_layers failed: %s\n", FN(_last_error)());
    return 1;
  }
  abi_args a = {m, x, L, out, NULL};
  do_run(&a);
  FILE *f = fopen(argv[3], "wb");
  if (!f || fwrite(out, sizeof(float), out_count, f) != out_count) {
    fprintf(stderr, "harness: cannot write %s\n", argv[3]);
    return 1;
  }
  fclose(f);
  const timing run = measure(do_run, &a, 1, budget, 5);
  const char *threads = getenv("HL_NUM_THREADS");
  printf("{\n  \"threads\": %s,\n", threads ? threads : "null");
  print_timing("run", run, 1);
  printf("}\n");
  FN(_destroy)(m);
  for (int i = 0; i < INSTANCES; ++i)
    free((void *)w[i].Wx), free((void *)w[i].Wh), free((void *)w[i].b), free((void *)w[i].bhn);
  free(x), free(out);
  return 0;
}
#else
int main(int argc, char **argv) {
  if (!valid_arguments(argc, argv)) return 2;
  const double budget = argc == 5 ? atof(argv[4]) : 0.6;
  const char *dir = argv[1];
  const int L = atoi(argv[2]);
  float *Wx = load(dir, "Wx", (size_t)3 * H * D), *Wh = load(dir, "Wh", (size_t)3 * H * H);
  float *b = K(_HAS_BIAS) ? load(dir, "b", (size_t)3 * H) : NULL;
  float *bhn = K(_HAS_BIAS) ? load(dir, "bhn", (size_t)H) : NULL;
  float *x = load(dir, "x", (size_t)N * L * D);
  float *out = malloc(sizeof(float) * (size_t)N * L * H);
  float *h = calloc((size_t)N * H, sizeof(float));

  FN(_model) *m = NULL;
  if (create_model(Wx, Wh, b, bhn, &m) != GRU_OK) {
    fprintf(stderr, "harness: create failed: %s\n", FN(_last_error)());
    return 1;
  }
  abi_args a = {m, x, L, out, h};
  do_run(&a);
  FILE *f = fopen(argv[3], "wb");
  if (!f || fwrite(out, sizeof(float), (size_t)N * L * H, f) != (size_t)N * L * H) {
    fprintf(stderr, "harness: cannot write %s\n", argv[3]);
    return 1;
  }
  fclose(f);

  /* x is [N][L][D]; step reads [N][D] rows: for timing, any rows of x will do. */
  const timing run = measure(do_run, &a, 1, budget, 5);
  const timing step = measure(do_steps, &a, STEPS_PER_SAMPLE, 0.3, 20);
  const timing proj = time_kernel(FN(__kernel_projection_argv), FN(__kernel_projection_metadata),
                                  0.3);
  const timing kstep = time_kernel(FN(__kernel_step_argv), FN(__kernel_step_metadata), 0.3);
  /* Rows per projection kernel call: the extent of its input x's outer dimension. */
  const struct halide_filter_metadata_t *pm = FN(__kernel_projection_metadata)();
  long long rows = 0;
  for (int i = 0; i < pm->num_arguments; ++i)
    if (!strcmp(pm->arguments[i].name, "x")) rows = *pm->arguments[i].buffer_estimates[3];
  const char *threads = getenv("HL_NUM_THREADS");
  printf("{\n  \"threads\": %s,\n  \"projection_rows\": %lld,\n", threads ? threads : "null",
         rows);
  print_timing("run", run, 0);
  print_timing("step", step, 0);
  print_timing("projection_kernel", proj, 0);
  print_timing("step_kernel", kstep, 1);
  printf("}\n");
  FN(_destroy)(m);
  free(Wx), free(Wh), free(b), free(bhn), free(x), free(out), free(h);
  return 0;
}
#endif
