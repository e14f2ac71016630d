/* A portable library (gru-gen --target x86-64-linux: AVX-512, AVX2+FMA and SSE4.1 kernels) on
 * every CPU it may meet, here: a can_use_target_features hook (Halide's
 * halide_set_custom_can_use_target_features) hides AVX-512, then AVX2 and FMA too, then SSE4.1;
 * each time create picks the best variant left (<name>__variant says which) and run and step x L
 * match MLX's goldens; with nothing left, create returns GRU_UNSUPPORTED_CPU naming the feature.
 * -DEMBEDDED: create_default (a library with the golden's weights embedded) in place of create.
 *   portable GOLD...
 * Build: cc -DLIB=<name> -DLIB_UPPER=<NAME> -I<gru-gen output> -I<Halide's include> portable.c
 *        x86-64-linux/lib<name>.a */
#include "HalideRuntime.h" /* halide_set_custom_can_use_target_features, the feature bits */
#include "gru_test_one_lib.h"

#define GRU_CALL_(lib, fn) lib##_##fn
#define GRU_CALL(lib, fn) GRU_CALL_(lib, fn)
#define GRU_INTERNAL_(lib, fn) lib##__##fn
#define GRU_INTERNAL(lib, fn) GRU_INTERNAL_(lib, fn)

/* The library's internal answer: the Halide target of the kernels a model runs. */
const char *GRU_INTERNAL(LIB, variant)(const GRU_CALL(LIB, model) *m);

/* Features the hook hides (Halide's halide_target_feature_t bits). */
static uint64_t hidden[2];

static int can_use(int count, const uint64_t *features) {
  for (int i = 0; i < count && i < 2; ++i)
    if (features[i] & hidden[i]) return 0;
  return halide_default_can_use_target_features(count, features);
}

static void hide(int feature) { hidden[feature / 64] |= (uint64_t)1 << (feature % 64); }

int main(int argc, char **argv) {
  halide_set_custom_can_use_target_features(can_use);
  /* The CPU as it is, then each level hidden in turn (the values are HalideRuntime.h's). */
  static const int levels[][4] = {{-1, -1, -1, -1},
                                  {halide_target_feature_avx512, halide_target_feature_avx512_skylake, -1, -1},
                                  {halide_target_feature_avx2, halide_target_feature_fma, -1, -1},
                                  {halide_target_feature_sse41, -1, -1, -1}};
  static const char *const names[] = {"this CPU", "without AVX-512", "without AVX2, FMA",
                                      "without SSE4.1"};
  int failed = 0;
  for (int level = 0; level < 4; ++level) {
    for (int k = 0; k < 4; ++k)
      if (levels[level][k] >= 0) hide(levels[level][k]);
    for (int i = 1; i < argc; ++i) {
      golden g;
      if (!golden_load(argv[i], &g)) return 2;
      GRU_CALL(LIB, model) *m = NULL;
#ifdef EMBEDDED
      /* The library's embedded weights (the golden's), read in place where every variant's
       * panels agree (LibraryPackager.h, embeds_packed_weights). */
      const gru_status s = GRU_CALL(LIB, create_default)(&m);
#else
      const gru_status s = GRU_CALL(LIB, create)(g.Wx, g.Wh, g.b, g.bhn, &m);
#endif
      if (s != GRU_OK) {
        printf("%s: create: %s: %s\n", names[level], GRU_CALL(LIB, status_string)(s),
               GRU_CALL(LIB, last_error)());
        free(g.data);
        failed += level != 3 || s != GRU_UNSUPPORTED_CPU;
        continue;
      }
      printf("%s: %s\n", names[level], GRU_INTERNAL(LIB, variant)(m));
      failed += !check_golden_model(THE_LIB, m, argv[i]);
      GRU_CALL(LIB, destroy)(m);
      free(g.data);
    }
  }
  printf("%s\n", failed ? "FAIL" : "all passed");
  return failed != 0;
}
