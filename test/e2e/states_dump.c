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
  const size_t NLH = (size_t)g.N * g.H * g.L;
  float *out = (float *)malloc(2 * NLH * sizeof(float));
  void *m = NULL;
  gru_status s = lib->create(g.Wx, g.Wh, g.b, g.bhn, &m);
  if (s == GRU_OK) s = golden_run_and_step(lib, m, &g, out, out + NLH);
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
  free(out), free(g.data);
  return 0;
}
