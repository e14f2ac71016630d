/* Checks a model library (layers, directions, per-row lengths) against a golden of
 * test/e2e/stack_ort.py (ONNX Runtime's answer), with weights from a safetensors file in
 * gru-gen's key scheme for models:
 *   stack_check WEIGHTS PREFIX GOLDEN
 * run_ex (lengths, h0 and h_n as the golden has them) within 1e-5 of out and h_n; for forward
 * models without lengths, run and step x L equal run_ex; for other models step is refused.
 * Built with -DLIB1=<name> -DLIB1_UPPER=<NAME> against a second library of the same model with
 * N = 1, every row run alone with its own length equals its row of the batched run.
 * Build: cc -DLIB=<name> -DLIB_UPPER=<NAME> -I<gru-gen output> stack_check.c lib<name>.a ... */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#include STR(LIB.h)
#define F(fn) CAT(LIB, _##fn)
#define C(k) CAT(LIB_UPPER, _##k)
#ifdef LIB1
#include STR(LIB1.h)
#define F1(fn) CAT(LIB1, _##fn)
#define C1(k) CAT(LIB1_UPPER, _##k)
#endif

/* Every byte the library obtains from halide_malloc, to hold the header's figures to it. */
typedef void *(*halide_malloc_t)(void *, size_t);
typedef void (*halide_free_t)(void *, void *);
extern halide_malloc_t halide_set_custom_malloc(halide_malloc_t user_malloc);
extern halide_free_t halide_set_custom_free(halide_free_t user_free);
static uint64_t obtained, live;
static void *counting_malloc(void *user_context, size_t bytes) {
  (void)user_context;
  uint64_t *p = malloc(bytes + 64);
  if (!p) return NULL;
  p[0] = bytes;
  obtained += bytes;
  live += bytes;
  return (uint8_t *)p + 64;
}
static void counting_free(void *user_context, void *ptr) {
  (void)user_context;
  if (!ptr) return;
  live -= ((uint64_t *)((uint8_t *)ptr - 64))[0];
  free((uint8_t *)ptr - 64);
}

static int failures;
#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      ++failures;                                          \
      printf("FAIL line %d: ", __LINE__);                  \
      printf(__VA_ARGS__);                                 \
      printf("\n");                                        \
    }                                                      \
  } while (0)

static float max_diff(const float *a, const float *b, size_t n) {
  float m = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    const float d = fabsf(a[i] - b[i]);
    if (!(d <= m)) m = d; /* NaN counts */
  }
  return m;
}

static void *take(FILE *f, size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  if (fread(p, 1, bytes, f) != bytes) {
    fprintf(stderr, "truncated golden\n");
    exit(2);
  }
  return p;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: stack_check WEIGHTS PREFIX GOLDEN\n");
    return 2;
  }
  FILE *f = fopen(argv[3], "rb");
  char magic[8];
  int32_t hdr[10];
  if (!f || fread(magic, 1, 8, f) != 8 || memcmp(magic, "GRUSTAK1", 8) != 0 ||
      fread(hdr, 4, 10, f) != 10) {
    fprintf(stderr, "%s: not a stack golden\n", argv[3]);
    return 2;
  }
  const int D = hdr[0], H = hdr[1], N = hdr[2], L = hdr[3], layers = hdr[4], dirs = hdr[5];
  const int has_lengths = hdr[7], has_h0 = hdr[8], reverse = hdr[9];
  const int OUT = dirs * H, subs = layers * dirs;
  if (D != C(INPUT_SIZE) || H != C(HIDDEN_SIZE) || N != C(BATCH) || layers != C(LAYERS) ||
      dirs != C(DIRECTIONS) || OUT != C(OUTPUT_SIZE) || hdr[6] != C(HAS_BIAS)) {
    fprintf(stderr, "%s: the golden's model is not the library's\n", argv[3]);
    return 2;
  }
  int32_t *lengths = has_lengths ? take(f, sizeof(int32_t) * N) : NULL;
  float *h0 = has_h0 ? take(f, sizeof(float) * subs * N * H) : NULL;
  float *x = take(f, sizeof(float) * N * L * D);
  float *want = take(f, sizeof(float) * N * L * OUT);
  float *want_hn = take(f, sizeof(float) * subs * N * H);
  fclose(f);

  F(model) *m = NULL;
  halide_set_custom_malloc(counting_malloc);
  halide_set_custom_free(counting_free);
  obtained = 0;
  gru_status s = F(create_from_safetensors)(argv[1], argv[2], &m);
  const uint64_t model_bytes = live; /* what create holds: the model's one block */
  CHECK(s == GRU_OK, "create_from_safetensors: %s", F(last_error)());
  if (s != GRU_OK) return 1;
  CHECK(F(abi_version)() == 2, "abi_version %u", (unsigned)F(abi_version)());

  float *out = malloc(sizeof(float) * N * L * OUT), *hn = malloc(sizeof(float) * subs * N * H);
  memset(out, 0xff, sizeof(float) * N * L * OUT); /* NaN: every element must be written */
  memset(hn, 0xff, sizeof(float) * subs * N * H);
  obtained = 0;
  s = F(run_ex)(m, x, L, lengths, h0, out, hn);
  CHECK(s == GRU_OK, "run_ex: %s", F(last_error)());
  /* The header's memory figures hold for models: run obtains RUN_SCRATCH_BYTES(L) (GPU targets:
   * RUN_SCRATCH_BYTES_GPU); create's block, MODEL_BYTES, is part of what create obtained. */
#ifdef GPU
  const uint64_t scratch = C(RUN_SCRATCH_BYTES_GPU)(L);
#else
  const uint64_t scratch = C(RUN_SCRATCH_BYTES)(L);
#endif
  CHECK(obtained == scratch, "run_ex obtained %llu bytes, the header says %llu",
        (unsigned long long)obtained, (unsigned long long)scratch);
  CHECK(model_bytes == (uint64_t)C(MODEL_BYTES), "create holds %llu bytes, MODEL_BYTES %llu",
        (unsigned long long)model_bytes, (unsigned long long)C(MODEL_BYTES));
  printf("memory: create holds %llu bytes (header %llu), run obtained %llu (header %llu)\n",
         (unsigned long long)model_bytes, (unsigned long long)C(MODEL_BYTES),
         (unsigned long long)obtained, (unsigned long long)scratch);
  const float e_out = max_diff(out, want, (size_t)N * L * OUT);
  const float e_hn = max_diff(hn, want_hn, (size_t)subs * N * H);
  CHECK(e_out <= 1e-5f, "run_ex: out differs from ONNX Runtime by %g", e_out);
  CHECK(e_hn <= 1e-5f, "run_ex: h_n differs from ONNX Runtime by %g", e_hn);
  printf("%s: %s layers=%d directions=%d N=%d L=%d lengths=%d h0=%d: out %.2g, h_n %.2g\n",
         strrchr(argv[3], '/') ? strrchr(argv[3], '/') + 1 : argv[3], STR(LIB), layers, dirs, N,
         L, has_lengths, has_h0, e_out, e_hn);

  float *h = malloc(sizeof(float) * subs * N * H), *x_t = malloc(sizeof(float) * N * D);
  if (dirs == 1 && !reverse && !has_lengths) {
    /* run equals run_ex; step x L from h0 equals run at every timestep (the last layer). */
    float *out2 = malloc(sizeof(float) * N * L * OUT);
    CHECK(F(run)(m, x, L, h0, out2) == GRU_OK, "run: %s", F(last_error)());
    CHECK(max_diff(out2, out, (size_t)N * L * OUT) == 0.0f, "run differs from run_ex");
    if (h0) memcpy(h, h0, sizeof(float) * subs * N * H);
    else memset(h, 0, sizeof(float) * subs * N * H);
    float worst = 0.0f;
    for (int t = 0; t < L; ++t) {
      for (int n = 0; n < N; ++n) memcpy(x_t + n * D, x + ((size_t)n * L + t) * D, sizeof(float) * D);
      s = F(step)(m, x_t, h);
      CHECK(s == GRU_OK, "step: %s", F(last_error)());
      for (int n = 0; n < N; ++n) {
        const float e = max_diff(h + ((size_t)(layers - 1) * N + n) * H, out + ((size_t)n * L + t) * OUT, H);
        if (!(e <= worst)) worst = e;
      }
    }
    CHECK(worst <= 1e-5f, "step x L differs from run by %g", worst);
    CHECK(max_diff(h, hn, (size_t)subs * N * H) <= 1e-5f, "step's last states differ from h_n");
    printf("step x %d: %.2g from run\n", L, worst);
    free(out2);
  } else if (dirs == 2 || reverse) {
    CHECK(F(step)(m, x, h) == GRU_INVALID_ARGUMENT, "step on a model with a backward walk");
    printf("step refused: %s\n", F(last_error)());
  }

#ifdef LIB1
  /* Each row alone, with its own length, through the N = 1 library of the same weights. */
  F1(model) *one = NULL;
  s = F1(create_from_safetensors)(argv[1], argv[2], &one);
  CHECK(s == GRU_OK && C1(BATCH) == 1, "create (N=1): %s", F1(last_error)());
  float worst = 0.0f;
  for (int n = 0; one && n < N; ++n) {
    const int len = lengths ? lengths[n] : L;
    float *row_h0 = malloc(sizeof(float) * subs * H), *row_out = malloc(sizeof(float) * len * OUT);
    float *row_hn = malloc(sizeof(float) * subs * H);
    for (int i = 0; h0 && i < subs; ++i)
      memcpy(row_h0 + i * H, h0 + ((size_t)i * N + n) * H, sizeof(float) * H);
    s = F1(run_ex)(one, x + (size_t)n * L * D, len, NULL, h0 ? row_h0 : NULL, row_out, row_hn);
    CHECK(s == GRU_OK, "run_ex (row %d alone): %s", n, F1(last_error)());
    for (int t = 0; t < len; ++t) {
      const float e = max_diff(row_out + (size_t)t * OUT, out + ((size_t)n * L + t) * OUT, OUT);
      if (!(e <= worst)) worst = e;
    }
    for (int i = 0; i < subs; ++i) {
      const float e = max_diff(row_hn + i * H, hn + ((size_t)i * N + n) * H, H);
      if (!(e <= worst)) worst = e;
    }
    free(row_h0), free(row_out), free(row_hn);
  }
  CHECK(worst <= 1e-5f, "rows alone differ from the batched run by %g", worst);
  printf("rows alone with their own lengths: %.2g from the batched run\n", worst);
  F1(destroy)(one);
#endif

  /* Misuse: a length past seq_len, an h_n inside out. Nothing written. */
  int32_t bad[64];
  for (int n = 0; n < N; ++n) bad[n] = L;
  bad[N - 1] = L + 1;
  memset(out, 0, sizeof(float) * N * L * OUT);
  CHECK(F(run_ex)(m, x, L, bad, NULL, out, NULL) == GRU_INVALID_ARGUMENT, "bad length accepted");
  printf("bad length: %s\n", F(last_error)());
  CHECK(F(run_ex)(m, x, L, NULL, NULL, out, out) == GRU_INVALID_ARGUMENT, "h_n in out accepted");
  int zero = 1;
  for (size_t i = 0; i < (size_t)N * L * OUT; ++i) zero &= out[i] == 0.0f;
  CHECK(zero, "a refused run wrote out");
  F(destroy)(m);
  printf("%s: %s\n", STR(LIB), failures ? "FAIL" : "PASS");
  return failures != 0;
}
