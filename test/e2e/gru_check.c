/* Checks one generated library against golden files:  gru_check FILE.gold...
 * Build: cc -DLIB=<name> -DLIB_UPPER=<NAME> -I<gru-gen output> gru_check.c <target>/lib<name>.a */
#include "gru_test_one_lib.h"

int main(int argc, char **argv) {
  int failures = 0;
  for (int i = 1; i < argc; ++i) failures += !check_golden(THE_LIB, argv[i]);
  printf("%d passed, %d failed\n", argc - 1 - failures, failures);
  return failures != 0 || argc < 2;
}
