/* Checks a library of a whole model (stacked, bidirectional or reverse layers) through ABI v2
 * against a model golden (GRUGOLD2, tools/gru_model_golden.py) made by a real framework:
 *   model_check GOLD                 NAME_create_layers from the golden's own weights
 *   model_check GOLD FILE PREFIX     NAME_create_from_safetensors(FILE, PREFIX)
 *   model_check --default GOLD       NAME_create_default (build with -DEMBEDDED)
 * run_ex with the golden's lengths and h0 gives its output (zero past each row's length) and
 * h_n within 1e-5; with lengths, each row run alone with its own length (a run of that
 * seq_len) gives what the masked run gave it (within 1e-6); without lengths, run gives the same
 * output, and for a forward model step x L (every layer in one call, h [LAYERS][N][H]) does too. Misuse (a length of 0 or past seq_len,
 * a wrong count of layer weights, step on a bidirectional model) is a status and writes nothing.
 * With $MODEL_CHECK_STATES naming a file, the states the library returned are written there as raw
 * float32 for checks that need the library's own states (w8a8, test/e2e/w8a8_model.py): run_ex's
 * out and h_n, then for a forward model without lengths every layer's state after each step.
 * With -DCHECK_MEMORY (and -DGPU=1 for a GPU target) the header's memory figures are held to
 * what the library obtains from halide_malloc: create holds MODEL_BYTES, run_ex obtains
 * RUN_SCRATCH_BYTES(L) (RUN_SCRATCH_BYTES_GPU) and frees it, on CPU targets in one allocation.
 * Built with -DPORTABLE for a library of x86-64-linux (-I<Halide's include>), $GRU_TEST_LEVEL
 * forces its avx2 or sse41 kernels (portable_level.h), and the variant created is printed.
 * Build: cc -DLIB=<name> -DLIB_UPPER=<NAME> -I<gru-gen output> model_check.c lib<name>.a */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gru_test_lib_names.h"
#include "gru_test_util.h"


/* Against ONNX Runtime's float32: 1e-5; a reduced-precision model passes its precision's bound
 * (-DTOLERANCE=..., e2e/precision.test's bounds). */
#ifndef TOLERANCE
#define TOLERANCE 1e-5f
#endif

#ifdef CHECK_MEMORY
#include "gru_count_malloc.h"
#endif
#ifdef PORTABLE
#include "portable_level.h"
#endif

typedef struct {
  int32_t D, H, N, L, layers, dirs, reverse, has_bias, reset_after, has_lengths, has_h0;
  unsigned char *data;
  gru_layer_weights cells[128];
  int32_t *lengths;
  float *x, *h0, *out, *h_n;
} model_golden;

static int load(const char *path, model_golden *g) {
  memset(g, 0, sizeof *g);
  FILE *f = fopen(path, "rb");
  char magic[8];
  if (!f || fread(magic, 1, 8, f) != 8 || memcmp(magic, "GRUGOLD2", 8) != 0 ||
      fread(&g->D, sizeof(int32_t), 11, f) != 11 || g->layers < 1 || g->layers > 64 ||
      (g->dirs != 1 && g->dirs != 2)) {
    fprintf(stderr, "%s: not a model golden file\n", path);
    if (f) fclose(f);
    return 0;
  }
  const size_t G = 3 * (size_t)g->H, H = (size_t)g->H, N = (size_t)g->N, L = (size_t)g->L;
  const size_t LD = (size_t)g->layers * g->dirs, out_size = (size_t)g->dirs * H;
  size_t floats = 0;
  for (int l = 0; l < g->layers; ++l)
    floats += g->dirs * (G * (l == 0 ? (size_t)g->D : out_size) + G * H + (g->has_bias ? G + H : 0));
  floats += N * L * g->D + (g->has_h0 ? LD * N * H : 0) + N * L * out_size + LD * N * H;
  const size_t bytes = floats * 4 + (g->has_lengths ? N * 4 : 0);
  g->data = (unsigned char *)malloc(bytes);
  if (!g->data || fread(g->data, 1, bytes, f) != bytes || fgetc(f) != EOF) {
    fprintf(stderr, "%s: golden file of the wrong size\n", path);
    fclose(f);
    return 0;
  }
  fclose(f);
  float *c = (float *)g->data;
  for (int l = 0, k = 0; l < g->layers; ++l)
    for (int d = 0; d < g->dirs; ++d, ++k) {
      const size_t Dl = l == 0 ? (size_t)g->D : out_size;
      g->cells[k].Wx = c, c += G * Dl;
      g->cells[k].Wh = c, c += G * H;
      g->cells[k].b = g->has_bias ? c : NULL, c += g->has_bias ? G : 0;
      g->cells[k].bhn = g->has_bias ? c : NULL, c += g->has_bias ? H : 0;
    }
  if (g->has_lengths) g->lengths = (int32_t *)c, c += N;
  g->x = c, c += N * L * g->D;
  if (g->has_h0) g->h0 = c, c += LD * N * H;
  g->out = c, c += N * L * out_size;
  g->h_n = c;
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3 && argc != 4) {
    fprintf(stderr, "usage: model_check (GOLD [FILE PREFIX] | --default GOLD)\n");
    return 2;
  }
  const int embedded = strcmp(argv[1], "--default") == 0;
  if ((argc == 3) != embedded) {
    fprintf(stderr, "usage: model_check (GOLD [FILE PREFIX] | --default GOLD)\n");
    return 2;
  }
  const char *path = argv[embedded ? 2 : 1];
  model_golden g;
  if (!load(path, &g)) return 1;
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  if (g.D != MACRO(INPUT_SIZE) || g.H != MACRO(HIDDEN_SIZE) || g.N != MACRO(BATCH) ||
      g.layers != MACRO(LAYERS) || g.dirs != MACRO(DIRECTIONS) ||
      g.has_bias != MACRO(HAS_BIAS) || g.reset_after != MACRO(RESET_AFTER) ||
      MACRO(OUTPUT_SIZE) != g.dirs * g.H) {
    fprintf(stderr, "%s: golden is D=%d H=%d N=%d layers=%d directions=%d bias=%d reset_after=%d;"
            " library " STR(LIB) " is D=%d H=%d N=%d layers=%d directions=%d bias=%d "
            "reset_after=%d\n", base, g.D, g.H, g.N, g.layers, g.dirs, g.has_bias, g.reset_after,
            MACRO(INPUT_SIZE), MACRO(HIDDEN_SIZE), MACRO(BATCH), MACRO(LAYERS), MACRO(DIRECTIONS),
            MACRO(HAS_BIAS), MACRO(RESET_AFTER));
    return 1;
  }
  const int32_t count = g.layers * g.dirs;
#ifdef PORTABLE
  hide_level(getenv("GRU_TEST_LEVEL"));
#endif
  model_t *m = NULL;
  gru_status s;
#ifdef CHECK_MEMORY
  count_halide_malloc();
#endif
  if (embedded) {
#ifdef EMBEDDED
    s = FN(create_default)(&m);
#else
    fprintf(stderr, "built without -DEMBEDDED\n");
    return 2;
#endif
  } else if (argc == 4) {
    s = FN(create_from_safetensors)(argv[2], argv[3], &m);
  } else {
    /* A count that contradicts the model is refused first. */
    model_t *bad = NULL;
    if (FN(create_layers)(g.cells, count - 1, &bad) == GRU_OK || bad) {
      printf("%s: create_layers accepted %d layer weights for a model of %d FAIL\n", base,
             count - 1, count);
      return 1;
    }
    s = FN(create_layers)(g.cells, count, &m);
  }
  if (s != GRU_OK) {
    printf("create failed: %s: %s\n", FN(status_string)(s), FN(last_error)());
    return 1;
  }
#ifdef PORTABLE
  printf("variant: %s\n", INTERNAL(LIB, variant)(m));
#endif

  const size_t N = (size_t)g.N, L = (size_t)g.L, H = (size_t)g.H;
  const size_t out_n = N * L * (size_t)g.dirs * H, state_n = (size_t)count * N * H;
  float *out = sentinel(out_n), *h_n = sentinel(state_n);
#ifdef CHECK_MEMORY
  const uint64_t held = live;
  obtained = allocations = 0;
#endif
  s = FN(run_ex)(m, g.x, g.L, g.lengths, g.h0, out, h_n);
  if (s != GRU_OK) {
    printf("run_ex failed: %s: %s\n", FN(status_string)(s), FN(last_error)());
    return 1;
  }
  FILE *states = getenv("MODEL_CHECK_STATES") ? fopen(getenv("MODEL_CHECK_STATES"), "wb") : NULL;
  if (states && (fwrite(out, sizeof(float), out_n, states) != out_n ||
                 fwrite(h_n, sizeof(float), state_n, states) != state_n)) {
    printf("%s: cannot write the states FAIL\n", base);
    return 1;
  }
  const float e_out = max_abs_diff(out, g.out, out_n), e_h = max_abs_diff(h_n, g.h_n, state_n);
  int ok = e_out <= TOLERANCE && e_h <= TOLERANCE;
#ifdef CHECK_MEMORY
#if GPU
  const uint64_t scratch = MACRO(RUN_SCRATCH_BYTES_GPU)(g.L);
#else
  const uint64_t scratch = MACRO(RUN_SCRATCH_BYTES)(g.L);
#endif
  printf("memory: create holds %llu bytes (header %llu), run_ex obtained %llu (header %llu)\n",
         (unsigned long long)held, (unsigned long long)MACRO(MODEL_BYTES),
         (unsigned long long)obtained, (unsigned long long)scratch);
  ok = ok && held == (uint64_t)MACRO(MODEL_BYTES) && obtained == scratch && live == held;
#if !GPU
  /* On CPU targets the scratch is one block (runtime/gru_runtime.c, gru_rt_run_ex: several
   * arrays went back to the system after each call, and the next call faulted their pages in). */
  printf("memory: run_ex's scratch in %llu allocation(s)\n", (unsigned long long)allocations);
  ok = ok && allocations == 1;
#endif
#endif
  char extra[160] = "";

  /* Misuse: a length of 0, one past seq_len: a status, nothing written. */
  int32_t *bad_len = (int32_t *)malloc(N * sizeof(int32_t));
  for (int which = 0; which < 2; ++which) {
    for (size_t n = 0; n < N; ++n) bad_len[n] = g.L;
    bad_len[N - 1] = which == 0 ? 0 : g.L + 1;
    float *o = sentinel(out_n), *hn = sentinel(state_n);
    if (FN(run_ex)(m, g.x, g.L, bad_len, g.h0, o, hn) == GRU_OK || !untouched(o, out_n) ||
        !untouched(hn, state_n)) {
      printf("%s: run_ex with a length of %d (seq_len %d) was not refused cleanly FAIL\n", base,
             bad_len[N - 1], g.L);
      ok = 0;
    }
    free(o);
    free(hn);
  }
  free(bad_len);

  if (g.has_lengths) {
    /* A length-masked run equals each row run alone with its own length: for each row n, a
     * run of seq_len = len[n] without lengths (rows are independent) gives row n's output and
     * h_n as the masked run did. */
    float e_rows = 0.0f;
    const size_t D = (size_t)g.D, O = (size_t)g.dirs * H;
    float *x_n = (float *)malloc(N * L * D * sizeof(float)), *o_n = sentinel(out_n);
    float *h_nn = sentinel(state_n);
    for (size_t n = 0; n < N; ++n) {
      const size_t len = (size_t)g.lengths[n];
      for (size_t r = 0; r < N; ++r)
        memcpy(x_n + r * len * D, g.x + r * L * D, len * D * sizeof(float));
      s = FN(run_ex)(m, x_n, (int32_t)len, NULL, g.h0, o_n, h_nn);
      float e = s == GRU_OK ? 0.0f : INFINITY;
      for (size_t t = 0; t < len && s == GRU_OK; ++t) {
        const float d = max_abs_diff(o_n + (n * len + t) * O, out + (n * L + t) * O, O);
        if (!(d <= e)) e = d;
      }
      for (int k = 0; k < count && s == GRU_OK; ++k) {
        const float d = max_abs_diff(h_nn + ((size_t)k * N + n) * H, h_n + ((size_t)k * N + n) * H, H);
        if (!(d <= e)) e = d;
      }
      if (!(e <= e_rows)) e_rows = e;
    }
    ok = ok && e_rows <= 1e-6f;
    snprintf(extra, sizeof extra, " rows_alone=%.2e", (double)e_rows);
    free(x_n);
    free(o_n);
    free(h_nn);
  }
  if (!g.has_lengths) {
    /* run: the same output. */
    float *out_run = sentinel(out_n);
    s = FN(run)(m, g.x, g.L, g.h0, out_run);
    const float e_run = s == GRU_OK ? max_abs_diff(out_run, g.out, out_n) : INFINITY;
    ok = ok && e_run <= TOLERANCE;
    snprintf(extra, sizeof extra, " run=%.2e", (double)e_run);
    free(out_run);
  }
  if (g.dirs == 1 && !g.reverse && !g.has_lengths) {
    /* step x L through every layer: the top layer's state is the output. */
    float *h = (float *)calloc(state_n, sizeof(float));
    float *x_t = (float *)malloc(N * (size_t)g.D * sizeof(float));
    if (g.h0) memcpy(h, g.h0, state_n * sizeof(float));
    float e_step = 0.0f;
    s = GRU_OK;
    for (size_t t = 0; t < L && s == GRU_OK; ++t) {
      for (size_t n = 0; n < N; ++n)
        memcpy(x_t + n * g.D, g.x + (n * L + t) * g.D, (size_t)g.D * sizeof(float));
      s = FN(step)(m, x_t, h);
      if (states && fwrite(h, sizeof(float), state_n, states) != state_n) s = GRU_INTERNAL_ERROR;
      for (size_t n = 0; n < N; ++n) {
        const float e = max_abs_diff(h + ((size_t)(count - 1) * N + n) * H,
                                     g.out + (n * L + t) * H, H);
        if (!(e <= e_step)) e_step = e;
      }
    }
    const float e_last = max_abs_diff(h, g.h_n, state_n);
    if (s != GRU_OK || !(e_last <= e_step)) e_step = s != GRU_OK ? INFINITY : e_last;
    ok = ok && e_step <= TOLERANCE;
    snprintf(extra + strlen(extra), sizeof extra - strlen(extra), " step=%.2e", (double)e_step);
    free(h);
    free(x_t);
  } else if (g.dirs == 2) {
    /* step on a bidirectional model: refused, nothing written. */
    float *h = sentinel(state_n), *x_t = (float *)calloc(N * (size_t)g.D, sizeof(float));
    if (FN(step)(m, x_t, h) != GRU_INVALID_ARGUMENT || !untouched(h, state_n)) {
      printf("%s: step on a bidirectional model was not refused cleanly FAIL\n", base);
      ok = 0;
    }
    free(h);
    free(x_t);
  }
  if (states && fclose(states) != 0) ok = 0;
  printf("%s: " STR(LIB) " layers=%d directions=%d D=%d H=%d N=%d L=%d lengths=%d h0=%d "
         "max|out|=%.2e max|h_n|=%.2e%s %s\n", base, g.layers, g.dirs, g.D, g.H, g.N, g.L,
         g.has_lengths, g.has_h0, (double)e_out, (double)e_h, extra, ok ? "PASS" : "FAIL");
  FN(destroy)(m);
  free(out);
  free(h_n);
  free(g.data);
  return !ok;
}
