/* A library with kernel variants (gru-gen's portable targets: x86-64-linux, arm64-linux) on the
 * CPU it runs on, as it is: prints which variant create chose (<name>__variant), then checks run
 * and step x L against each golden (MLX's, within 1e-5). Run under qemu-aarch64 -cpu <core> for
 * the ARM cores a library meets.
 *   variant_check GOLD...   ->  "variant: <Halide target>" and one PASS line per golden
 * Build: cc -DLIB=<name> -DLIB_UPPER=<NAME> -I<gru-gen output> variant_check.c <target>/lib<name>.a */
#include "gru_test_one_lib.h"

#define GRU_CALL_(lib, fn) lib##_##fn
#define GRU_CALL(lib, fn) GRU_CALL_(lib, fn)
#define GRU_INTERNAL_(lib, fn) lib##__##fn
#define GRU_INTERNAL(lib, fn) GRU_INTERNAL_(lib, fn)

/* The library's internal answer: the Halide target of the kernels a model runs. */
const char *GRU_INTERNAL(LIB, variant)(const GRU_CALL(LIB, model) *m);

int main(int argc, char **argv) {
  int failed = 0;
  for (int i = 1; i < argc; ++i) {
    golden g;
    if (!golden_load(argv[i], &g)) return 2;
    GRU_CALL(LIB, model) *m = NULL;
    const gru_status s = GRU_CALL(LIB, create)(g.Wx, g.Wh, g.b, g.bhn, &m);
    free(g.data);
    if (s != GRU_OK) {
      printf("create: %s: %s\n", GRU_CALL(LIB, status_string)(s), GRU_CALL(LIB, last_error)());
      ++failed;
      continue;
    }
    printf("variant: %s\n", GRU_INTERNAL(LIB, variant)(m));
    failed += !check_golden_model(THE_LIB, m, argv[i]);
    GRU_CALL(LIB, destroy)(m);
  }
  printf("%s\n", failed ? "FAIL" : "all passed");
  return failed != 0;
}
