/* Checks a library whose weights come from a file or from the library itself against goldens:
 *   weights_check FILE PREFIX GOLD...   <name>_create_from_safetensors(FILE, PREFIX)
 *   weights_check --default GOLD...     <name>_create_default (build with -DEMBEDDED)
 * Build: cc -DLIB=<name> -DLIB_UPPER=<NAME> -I<gru-gen output> weights_check.c lib<name>.a */
#include "gru_test_one_lib.h"

#define GRU_CALL_(lib, fn) lib##_##fn
#define GRU_CALL(lib, fn) GRU_CALL_(lib, fn)

int main(int argc, char **argv) {
  void *m = NULL;
  int first = 0;
  gru_status s;
  if (argc >= 2 && strcmp(argv[1], "--default") == 0) {
#ifdef EMBEDDED
    s = GRU_CALL(LIB, create_default)((GRU_CALL(LIB, model) **)&m);
    first = 2;
#else
    fprintf(stderr, "built without -DEMBEDDED\n");
    return 2;
#endif
  } else if (argc >= 3) {
    s = GRU_CALL(LIB, create_from_safetensors)(argv[1], argv[2], (GRU_CALL(LIB, model) **)&m);
    first = 3;
  } else {
    fprintf(stderr, "usage: weights_check (FILE PREFIX | --default) GOLD...\n");
    return 2;
  }
  if (s != GRU_OK) {
    printf("create failed: %s: %s\n", THE_LIB->status_string(s), GRU_CALL(LIB, last_error)());
    return 1;
  }
  int failures = 0;
  for (int i = first; i < argc; ++i) failures += !check_golden_model(THE_LIB, m, argv[i]);
  THE_LIB->destroy(m);
  printf("%d passed, %d failed\n", argc - first - failures, failures);
  return failures != 0 || argc == first;
}
