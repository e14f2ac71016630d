/* Two gru-gen libraries, `enc` and `dec`, in one translation unit and one program: both headers
 * include cleanly together (the shared status enum is guarded), both archives link (every
 * exported symbol is prefixed, Halide's runtime is weak), and each still computes MLX's numbers.
 * Usage: two_libraries ENC.gold DEC.gold */
#include "dec.h"
#include "enc.h"
#include "gru_test_lib.h"

GRU_TEST_LIB(enc, ENC);
GRU_TEST_LIB(dec, DEC);

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s ENC.gold DEC.gold\n", argv[0]);
    return 2;
  }
  const int ok = check_golden(&enc_test, argv[1]) + check_golden(&dec_test, argv[2]);
  printf("%d passed, %d failed\n", ok, 2 - ok);
  return ok != 2;
}
