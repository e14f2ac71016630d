/* Loads a weights file through the runtime and prints the outcome on one line:
 *   load_weights FILE [PREFIX]   ->  "ok" | "<status>: <last_error>"   (exit 0 either way;
 * a crash or an abort is what the tests catch). A second load of the same file must fail or
 * succeed the same way, and leave *out alone on failure. */
#include "gru_test_one_lib.h"

#define GRU_CALL_(lib, fn) lib##_##fn
#define GRU_CALL(lib, fn) GRU_CALL_(lib, fn)

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  GRU_CALL(LIB, model) *m = (GRU_CALL(LIB, model) *)&argc; /* a sentinel: must stay untouched */
  const gru_status s = GRU_CALL(LIB, create_from_safetensors)(argv[1], argc > 2 ? argv[2] : NULL, &m);
  if (s == GRU_OK) {
    printf("ok\n");
    THE_LIB->destroy(m);
    return 0;
  }
  if (m != (GRU_CALL(LIB, model) *)&argc) {
    printf("FAIL: *out changed on failure\n");
    return 1;
  }
  printf("%s: %s\n", THE_LIB->status_string(s), GRU_CALL(LIB, last_error)());
  return 0;
}
