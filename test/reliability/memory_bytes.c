/* The header's memory figures are exact: counting every halide_malloc (halide_set_custom_malloc),
 * create obtains <NAME>_MODEL_BYTES and holds them until destroy, and each run obtains
 * <NAME>_RUN_SCRATCH_BYTES(seq_len) (GPU targets: <NAME>_RUN_SCRATCH_BYTES_GPU) more, all freed
 * before it returns. Build with -DGPU=1 against a GPU target's library.
 * Usage: memory_bytes */
#include "reliability.h"

#ifndef GPU
#define GPU 0
#endif

#include "../e2e/gru_count_malloc.h"

int main(void) {
  count_halide_malloc();
  rel_weights w = rel_make_weights();
  rel_model *m = NULL;
  obtained = live = peak = 0;
  CHECK(F(create)(w.Wx, w.Wh, w.b, w.bhn, &m) == GRU_OK, "create: %s", F(last_error)());
  printf("create: obtained %llu bytes, header says %llu\n", (unsigned long long)obtained,
         (unsigned long long)C(MODEL_BYTES));
  CHECK(obtained == (uint64_t)C(MODEL_BYTES), "create obtained %llu bytes, MODEL_BYTES %llu",
        (unsigned long long)obtained, (unsigned long long)C(MODEL_BYTES));
  CHECK(live == (uint64_t)C(MODEL_BYTES), "create holds %llu bytes", (unsigned long long)live);

  static const int32_t lengths[] = {1, 5, 31, 32, 33, 100, 1, 100};
  for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; ++i) {
    const int32_t L = lengths[i];
    float *x = rel_array(SZ_N * L * SZ_D, 1.0f), *out = rel_array(SZ_N * L * SZ_H, 1.0f);
    const uint64_t held = live;
    obtained = 0;
    peak = live;
    const gru_status s = F(run)(m, x, L, NULL, out);
    const uint64_t expected = GPU ? C(RUN_SCRATCH_BYTES_GPU)(L) : C(RUN_SCRATCH_BYTES)(L);
    CHECK(s == GRU_OK, "run(L=%d): %s", (int)L, F(last_error)());
    printf("run L=%d: obtained %llu bytes, peak %llu above the model, header says %llu\n", (int)L,
           (unsigned long long)obtained, (unsigned long long)(peak - held),
           (unsigned long long)expected);
    CHECK(obtained == expected, "run(L=%d) obtained %llu bytes, header says %llu", (int)L,
          (unsigned long long)obtained, (unsigned long long)expected);
    CHECK(live == held, "run(L=%d) left %lld bytes", (int)L, (long long)(live - held));
    free(x), free(out);
  }
  F(destroy)(m);
  CHECK(live == 0, "destroy left %llu bytes", (unsigned long long)live);
  rel_free_weights(&w);
  return rel_report();
}
