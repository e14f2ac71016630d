/* The weight layout the CPU kernels read, made from MLX's: one function, used by the runtime at
 * create (gru_runtime.c) and by gru-gen for weights it embeds already packed
 * (compiler/weights/WeightPacking.c), so the two cannot disagree. Header-only C, static. */
#ifndef GRU_PACK_H
#define GRU_PACK_H

#include <stddef.h>
#include <stdint.h>

/* The weights as the kernels read them (the descriptor's panels): src is MLX's
 * [gates x per_gate][K]; with panel > 0, dst is its transpose cut into panels of `panel` columns per gate, the gates
 * interleaved, [per_gate / panel][K][gates][panel]; with panel 0, a copy. */
/* Columns [c0, c1) of each gate only, whole panels (a team member's share, runtime/gru_runtime.c);
 * dst is the whole packed matrix. panel > 0. */
static __attribute__((unused)) void gru_pack_columns(float *dst, const float *src, int32_t gates,
                                                     int32_t per_gate, int32_t K, int32_t panel,
                                                     int32_t c0, int32_t c1) {
  const size_t row = (size_t)gates * panel; /* floats per k in a panel */
  for (int32_t g = 0; g < gates; ++g)
    for (int32_t c = c0; c < c1; ++c) {
      const float *in = src + ((size_t)g * per_gate + c) * K;
      float *out = dst + (size_t)(c / panel) * K * row + (size_t)g * panel + c % panel;
      for (int32_t k = 0; k < K; ++k) out[(size_t)k * row] = in[k];
    }
}

static __attribute__((unused)) void gru_pack(float *dst, const float *src, int32_t gates,
                                             int32_t per_gate, int32_t K, int32_t panel) {
  if (panel == 0) {
    __builtin_memcpy(dst, src, sizeof(float) * (size_t)gates * per_gate * K);
    return;
  }
  gru_pack_columns(dst, src, gates, per_gate, K, panel, 0, per_gate);
}

#endif /* GRU_PACK_H */
