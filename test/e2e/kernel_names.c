/* Libraries `a` and `a_kernel` in one program: a's internal symbols (its kernels a__kernel_*)
 * cannot clash with a_kernel's public ones (a_kernel_step, ...). Each still matches MLX.
 * Usage: kernel_names A.gold A_KERNEL.gold */
#include "a.h"
#include "a_kernel.h"
#include "gru_test_lib.h"

GRU_TEST_LIB(a, A);
GRU_TEST_LIB(a_kernel, A_KERNEL);

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s A.gold A_KERNEL.gold\n", argv[0]);
    return 2;
  }
  const int ok = check_golden(&a_test, argv[1]) + check_golden(&a_kernel_test, argv[2]);
  printf("%d passed, %d failed\n", ok, 2 - ok);
  return ok != 2;
}
