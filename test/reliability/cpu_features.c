/* Every create checks, before anything else, that this CPU has the instruction-set features of
 * the library's target (halide_can_use_target_features): on a CPU that lacks them it returns
 * GRU_UNSUPPORTED_CPU, naming them in last_error, and leaves *out untouched, instead of creating
 * a model whose kernels die of SIGILL. A CPU without the features is simulated with Halide's
 * hook halide_set_custom_can_use_target_features, or real: a library for a target whose features
 * no CPU here has, refused by Halide's own detection.
 * Usage: cpu_features MATCHING.safetensors PREFIX
 *        cpu_features --lacking FEATURE   (this CPU lacks FEATURE of the library's target) */
#include "reliability.h"

/* From HalideRuntime.h, which the library's users need not have. */
typedef int (*halide_can_use_target_features_t)(int count, const uint64_t *features);
extern halide_can_use_target_features_t halide_set_custom_can_use_target_features(
    halide_can_use_target_features_t);

static int asked;
static int no_features(int count, const uint64_t *features) {
  (void)count, (void)features;
  ++asked;
  return 0;
}

#define EXPECT_UNSUPPORTED(call, what)                                                        \
  do {                                                                                        \
    rel_model *const marker_ = (rel_model *)&asked;                                           \
    rel_model *m_ = marker_;                                                                  \
    const gru_status s_ = (call);                                                             \
    CHECK(s_ == GRU_UNSUPPORTED_CPU, "%s: status %d (%s)", what, (int)s_, F(last_error)());   \
    CHECK(m_ == marker_, "%s: *out was written", what);                                       \
    CHECK(strstr(F(last_error)(), "create: this CPU lacks ") == F(last_error)(),              \
          "%s: last_error '%s'", what, F(last_error)());                                      \
    CHECK(strstr(F(last_error)(), "which the library was compiled for (target ") != NULL,     \
          "%s: last_error '%s'", what, F(last_error)());                                      \
    CHECK(strcmp(F(status_string)(s_), "unsupported CPU") == 0, "%s: status_string", what);   \
  } while (0)

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--lacking") == 0) {
    rel_weights w = rel_make_weights();
    EXPECT_UNSUPPORTED(F(create)(w.Wx, w.Wh, w.b, w.bhn, &m_), "create");
    CHECK(strstr(F(last_error)(), argv[2]) != NULL, "last_error '%s' names %s", F(last_error)(),
          argv[2]);
    printf("last_error: %s\n", F(last_error)());
    rel_free_weights(&w);
    return rel_report();
  }
  if (argc != 3) {
    fprintf(stderr, "usage: %s MATCHING.safetensors PREFIX\n", argv[0]);
    return 2;
  }
  rel_weights w = rel_make_weights();
  halide_can_use_target_features_t previous = halide_set_custom_can_use_target_features(no_features);
  EXPECT_UNSUPPORTED(F(create)(w.Wx, w.Wh, w.b, w.bhn, &m_), "create");
  EXPECT_UNSUPPORTED(F(create_from_safetensors)(argv[1], argv[2], &m_), "create_from_safetensors");
#if C(HAS_EMBEDDED_WEIGHTS)
  EXPECT_UNSUPPORTED(F(create_default)(&m_), "create_default");
#endif
  CHECK(asked > 0, "create never asked about the CPU's features");
  printf("last_error: %s\n", F(last_error)());

  /* This CPU, as Halide detects it, runs the library (the tests run where they were built). */
  halide_set_custom_can_use_target_features(previous);
  rel_model *m = NULL;
  CHECK(F(create)(w.Wx, w.Wh, w.b, w.bhn, &m) == GRU_OK, "create on this CPU: %s", F(last_error)());
  float *x = rel_array(SZ_N * 3 * SZ_D, 1.0f), *out = rel_array(SZ_N * 3 * SZ_H, 1.0f);
  CHECK(m && F(run)(m, x, 3, NULL, out) == GRU_OK, "run on this CPU");
  F(destroy)(m);
  free(x), free(out);
  rel_free_weights(&w);
  return rel_report();
}
