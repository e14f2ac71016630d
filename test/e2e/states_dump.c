/* Runs one generated library on a golden file's weights, input and initial state and writes
 * every state it returns, run's [N][L][H] then step x L's, as raw float32 (native order):
 *   states_dump FILE.gold OUT.bin
 * For checks that need the library's own states (tools/gru_precision.py --check-states: w8a8,
 * whose step quantizes the state it is given). Build as gru_check.c. */
#include "gru_test_one_lib.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: states_dump FILE.gold OUT.bin\n");
    return 1;
  }
  const gru_test_lib *lib = THE_LIB;
  golden g;
  if (!golden_load(argv[1], &g)) return 1;
  if (g.D != lib->D || g.H != lib->H || g.N != lib->N || g.has_bias != lib->has_bias) {
    fprintf(stderr, "%s: golden's shape is not library %s's\n", argv[1], lib->name);
    return 1;
  }
  const size_t NH = (size_t)g.N * g.H, NLH = NH * g.L;
  float *out = (float *)malloc(2 * NLH * sizeof(float)), *out_step = out + NLH;
  float *h = (float *)calloc(NH, sizeof(float));
  float *x_t = (float *)malloc((size_t)g.N * g.D * sizeof(float));
  void *m = NULL;
  gru_status s = lib->create(g.Wx, g.Wh, g.b, g.bhn, &m);
  if (s == GRU_OK) s = lib->run(m, g.x, g.L, g.h0, out);
  if (g.h0) memcpy(h, g.h0, NH * sizeof(float));
  for (int t = 0; t < g.L && s == GRU_OK; ++t) {
    for (int n = 0; n < g.N; ++n)
      memcpy(x_t + (size_t)n * g.D, g.x + ((size_t)n * g.L + t) * g.D, g.D * sizeof(float));
    s = lib->step(m, x_t, h);
    for (int n = 0; n < g.N; ++n)
      memcpy(out_step + ((size_t)n * g.L + t) * g.H, h + (size_t)n * g.H, g.H * sizeof(float));
  }
  if (m) lib->destroy(m);
  if (s != GRU_OK) {
    fprintf(stderr, "%s: status %d (%s)\n", argv[1], (int)s, lib->status_string(s));
    return 1;
  }
  FILE *f = fopen(argv[2], "wb");
  if (!f || fwrite(out, sizeof(float), 2 * NLH, f) != 2 * NLH || fclose(f) != 0) {
    fprintf(stderr, "%s: cannot write\n", argv[2]);
    return 1;
  }
  free(out), free(h), free(x_t), free(g.data);
  return 0;
}
