/* The runtime's weight packing (runtime/gru_pack.h) as a C function gru-gen links: dst is src,
 * MLX's [gates x per_gate][K], in the kernels' panels of `panel` columns per gate
 * ([per_gate / panel][K][gates][panel]; panel 0: a copy), Wx's columns in xp's order (xp_panel,
 * gru_pack's). */
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void grugen_pack_weights(float *dst, const float *src, int32_t gates, int32_t per_gate, int32_t K,
                         int32_t panel, int32_t xp_panel);

#ifdef __cplusplus
}
#endif
