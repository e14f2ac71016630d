/* A library of the portable target x86-64-linux (-DPORTABLE; -I<Halide's include>) forced onto a
 * lower feature level: hide_level(getenv("GRU_TEST_LEVEL")) hides features from Halide's
 * can_use_target_features as test/targets/portable.c does: "avx2" hides AVX-512, "sse41"
 * AVX-512, AVX2 and FMA too, so create picks that variant (INTERNAL(LIB, variant) names it: the
 * Halide target of the kernels a model runs). Include after gru_test_lib_names.h. */
#ifndef GRU_TEST_PORTABLE_LEVEL_H
#define GRU_TEST_PORTABLE_LEVEL_H
#include <stdint.h>
#include <string.h>

#include "HalideRuntime.h" /* halide_set_custom_can_use_target_features, the feature bits */

#define INTERNAL_(lib, fn) lib##__##fn
#define INTERNAL(lib, fn) INTERNAL_(lib, fn)
/* The library's internal answer: the Halide target of the kernels a model runs. */
const char *INTERNAL(LIB, variant)(const model_t *m);
static uint64_t hidden[2]; /* the features the hook hides */
static int can_use(int count, const uint64_t *features) {
  for (int i = 0; i < count && i < 2; ++i)
    if (features[i] & hidden[i]) return 0;
  return halide_default_can_use_target_features(count, features);
}
static void hide(int feature) { hidden[feature / 64] |= (uint64_t)1 << (feature % 64); }
static void hide_level(const char *level) {
  if (!level) return;
  hide(halide_target_feature_avx512);
  hide(halide_target_feature_avx512_skylake);
  if (strcmp(level, "sse41") == 0) {
    hide(halide_target_feature_avx2);
    hide(halide_target_feature_fma);
  }
  halide_set_custom_can_use_target_features(can_use);
}
#endif
