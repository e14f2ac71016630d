/* A keyword spotter in plain C: the GRU trained in MLX (train_mlx.py) is compiled into libkws.a
 * by gru-gen with its weights inside (--embed-weights), so the app needs no model file and no
 * framework. It classifies 8 held-out clips in one batched run, streams the same clips frame
 * by frame, and checks both against MLX's own states.
 *
 * A trained recurrence can be sensitive: float32 rounding (in exp, in the order of a dot
 * product's sums) differs by an ulp between any two implementations and grows over 50 steps.
 * So the app also compares with the exact answer (float64): gru-gen's states must match MLX's
 * within 1e-5, or be at least as close to the exact answer as MLX's are.
 * Usage: app DIR   (DIR: what train_mlx.py wrote) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kws.h"

enum { D = KWS_INPUT_SIZE, H = KWS_HIDDEN_SIZE, N = KWS_BATCH, L = 50 };

static void *load(const char *dir, const char *name, size_t bytes) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  void *data = malloc(bytes);
  FILE *f = fopen(path, "rb");
  if (!data || !f || fread(data, 1, bytes, f) != bytes) {
    fprintf(stderr, "app: cannot read %zu bytes from %s\n", bytes, path);
    exit(1);
  }
  fclose(f);
  return data;
}

static float max_abs_diff(const float *a, const float *b, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; ++i) m = fmaxf(m, fabsf(a[i] - b[i]));
  return m;
}

static int check(gru_status s, const char *what) {
  if (s == GRU_OK) return 1;
  fprintf(stderr, "app: %s: %s: %s\n", what, kws_status_string(s), kws_last_error());
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  float *x = load(argv[1], "test_x.f32", sizeof(float) * N * L * D);
  float *mlx_h = load(argv[1], "test_h.f32", sizeof(float) * N * H);
  double *exact_h = load(argv[1], "exact_h.f64", sizeof(double) * N * H);
  float *head_w = load(argv[1], "head_w.f32", sizeof(float) * 2 * H);
  float *head_b = load(argv[1], "head_b.f32", sizeof(float) * 2);
  int32_t *labels = load(argv[1], "test_labels.i32", sizeof(int32_t) * N);

  /* The weights are in the library: nothing to load. */
  kws_model *model = NULL;
  if (!check(kws_create_default(&model), "kws_create_default")) return 1;

  /* All 8 clips in one call: out [N][L][H] holds every state; the last one classifies. */
  static float out[N * L * H], last[N * H], streamed[N * H], frame[N * D];
  if (!check(kws_run(model, x, L, NULL, out), "kws_run")) return 1;
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < H; ++i) last[n * H + i] = out[((size_t)n * L + L - 1) * H + i];

  /* Streaming, as a microphone would feed it: one frame of every clip per call. */
  for (int t = 0; t < L; ++t) {
    for (int n = 0; n < N; ++n)
      for (int d = 0; d < D; ++d) frame[n * D + d] = x[((size_t)n * L + t) * D + d];
    if (!check(kws_step(model, frame, streamed), "kws_step")) return 1;
  }
  kws_destroy(model);

  int correct = 0;
  printf("clip  label  p(keyword)\n");
  for (int n = 0; n < N; ++n) {
    float logit[2];
    for (int c = 0; c < 2; ++c) {
      logit[c] = head_b[c];
      for (int i = 0; i < H; ++i) logit[c] += head_w[c * H + i] * last[n * H + i];
    }
    const float p = 1.0f / (1.0f + expf(logit[0] - logit[1]));
    correct += (p > 0.5f) == (labels[n] == 1);
    printf("%4d  %5d  %10.3f\n", n, labels[n], p);
  }
  double ours_exact = 0, mlx_exact = 0;
  for (int i = 0; i < N * H; ++i) {
    ours_exact = fmax(ours_exact, fabs(last[i] - exact_h[i]));
    mlx_exact = fmax(mlx_exact, fabs(mlx_h[i] - exact_h[i]));
  }
  const float run_err = max_abs_diff(last, mlx_h, N * H);
  const float step_err = max_abs_diff(streamed, last, N * H);
  printf("accuracy %d/%d\n", correct, N);
  printf("max |run - mlx.nn.GRU|    = %.3g\n", run_err);
  printf("max |step x L - run|      = %.3g\n", step_err);
  printf("max |run - exact|         = %.3g   (exact: float64)\n", ours_exact);
  printf("max |mlx.nn.GRU - exact|  = %.3g\n", mlx_exact);
  const int ok = step_err == 0.0f && (run_err <= 1e-5f || ours_exact <= mlx_exact);
  printf("%s\n", !ok                 ? "DOES NOT MATCH MLX"
                  : run_err <= 1e-5f ? "matches MLX within 1e-5"
                                     : "as close to the exact answer as MLX (float32 drift)");
  free(x), free(mlx_h), free(exact_h), free(head_w), free(head_b), free(labels);
  return !ok;
}
