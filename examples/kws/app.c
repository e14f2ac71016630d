/* An app using a gru-gen library: loads MLX-exported weights, runs a whole sequence, then streams
 * the same sequence step by step, and compares both with MLX's own output.
 * Usage: app MODEL_DIR   (files written by export_mlx.py) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kws.h"

enum { D = KWS_INPUT_SIZE, H = KWS_HIDDEN_SIZE, L = 50 };

static float *load(const char *dir, const char *name, size_t count) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.f32", dir, name);
  float *data = malloc(count * sizeof(float));
  FILE *f = fopen(path, "rb");
  if (!data || !f || fread(data, sizeof(float), count, f) != count) {
    fprintf(stderr, "app: cannot read %zu floats from %s\n", count, path);
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

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL_DIR\n", argv[0]);
    return 2;
  }
  float *Wx = load(argv[1], "Wx", 3 * H * D), *Wh = load(argv[1], "Wh", 3 * H * H);
  float *b = load(argv[1], "b", 3 * H), *bhn = load(argv[1], "bhn", H);
  float *x = load(argv[1], "x", L * D), *expected = load(argv[1], "mlx_out", L * H);

  kws_model *model = NULL;
  gru_status s = kws_create(Wx, Wh, b, bhn, &model);
  if (s != GRU_OK) {
    fprintf(stderr, "app: kws_create: %s\n", kws_status_string(s));
    return 1;
  }
  static float out[L * H], streamed[L * H];
  s = kws_run(model, x, L, NULL, out); /* no initial state: zeros */
  if (s != GRU_OK) {
    fprintf(stderr, "app: kws_run: %s\n", kws_status_string(s));
    return 1;
  }
  float h[H] = {0};
  for (int t = 0; t < L && s == GRU_OK; ++t) {
    s = kws_step(model, x + t * D, h);
    for (int i = 0; i < H; ++i) streamed[t * H + i] = h[i];
  }
  kws_destroy(model);

  printf("kws: D=%d H=%d N=%d, %d timesteps\n", D, H, KWS_BATCH, L);
  printf("final state h[0..7]:");
  for (int i = 0; i < 8; ++i) printf(" %+.6f", out[(L - 1) * H + i]);
  printf("\nmax |run  - mlx.nn.GRU| = %.3g\n", max_abs_diff(out, expected, L * H));
  printf("max |step - mlx.nn.GRU| = %.3g\n", max_abs_diff(streamed, expected, L * H));
  const int ok = s == GRU_OK && max_abs_diff(out, expected, L * H) <= 1e-5f &&
                 max_abs_diff(streamed, expected, L * H) <= 1e-5f;
  printf("%s\n", ok ? "matches MLX within 1e-5" : "DOES NOT MATCH MLX");
  free(Wx), free(Wh), free(b), free(bhn), free(x), free(expected);
  return !ok;
}
