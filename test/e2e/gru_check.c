/* Checks one generated library against golden files:  gru_check FILE.gold...
 * Build: cc -DLIB=<name> -DLIB_UPPER=<NAME> -I<gru-gen output> gru_check.c <target>/lib<name>.a */
#define STR_(x) #x
#define STR(x) STR_(x)
#include STR(LIB.h)
#include "gru_test_lib.h"

#define WRAP(lib, LIB) GRU_TEST_LIB(lib, LIB)
WRAP(LIB, LIB_UPPER);
#define TEST_(lib) lib##_test
#define TEST(lib) TEST_(lib)

int main(int argc, char **argv) {
  int failures = 0;
  for (int i = 1; i < argc; ++i) failures += !check_golden(&TEST(LIB), argv[i]);
  printf("%d passed, %d failed\n", argc - 1 - failures, failures);
  return failures != 0 || argc < 2;
}
