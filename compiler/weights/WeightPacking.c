/* gru-gen's C entry point to the runtime's weight packing (runtime/gru_pack.h), for weights it
 * embeds in the layout the kernels read. */
#include "weights/WeightPacking.h"

#include "gru_pack.h"

void grugen_pack_weights(float *dst, const float *src, int32_t gates, int32_t per_gate, int32_t K,
                         int32_t panel, int32_t xp_panel) {
  gru_pack(dst, src, gates, per_gate, K, panel, xp_panel);
}
