/* Writes what one generated library's `run` computes for a golden's problem, as raw float32
 * [N][L][H], so that another implementation can be compared with it bit for bit:
 *   gru_dump FILE.gold OUT.bin
 * Build: cc -DLIB=<name> -DLIB_UPPER=<NAME> -I<gru-gen output> -I test/e2e gru_dump.c
 *        <target>/lib<name>.a
 * Prints the largest difference from MLX's output in the golden. */
#include "gru_test_one_lib.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s FILE.gold OUT.bin\n", argv[0]);
    return 2;
  }
  const gru_test_lib *lib = THE_LIB;
  golden g;
  if (!golden_load(argv[1], &g)) return 1;
  if (g.D != lib->D || g.H != lib->H || g.N != lib->N || g.has_bias != lib->has_bias) {
    fprintf(stderr, "%s: not a problem for library %s\n", argv[1], lib->name);
    return 1;
  }
  const size_t count = (size_t)g.N * g.L * g.H;
  float *out = (float *)malloc(count * sizeof(float));
  void *m = NULL;
  gru_status s = lib->create(g.Wx, g.Wh, g.b, g.bhn, &m);
  if (s == GRU_OK) s = lib->run(m, g.x, g.L, g.h0, out);
  lib->destroy(m);
  if (s != GRU_OK) {
    fprintf(stderr, "%s: %s\n", lib->name, lib->status_string(s));
    return 1;
  }
  FILE *f = fopen(argv[2], "wb");
  if (!f || fwrite(out, sizeof(float), count, f) != count || fclose(f) != 0) {
    fprintf(stderr, "cannot write %s\n", argv[2]);
    return 1;
  }
  printf("halide_vs_mlx=%.3g\n", max_abs_diff(out, g.out, count));
  free(out), free(g.data);
  return 0;
}
