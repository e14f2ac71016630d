/* The C interface between gru-gen (C++) and the shared safetensors reader. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A whole model (runtime/gru_safetensors.h's gst_find_model: one forward layer, or a stack
 * under "<prefix><l>." and "<prefix><l>.reverse."), converted to float32. */
typedef struct {
  int64_t layers, directions; /* directions: 1 or 2 */
  int reverse;                /* 1: the one direction is backward */
  int64_t input_size, hidden_size;
  int has_bias, reset_after;
  /* Per layer, forward before backward: Wx [3H][D_l], Wh [3H][H], then b [3H] and bhn [H]
   * with bias (D_0 = D, D_l = directions * H above). malloc'ed. */
  float *values;
  size_t count;
} grugen_gru_model;

/* Reads the model under `prefix` from a safetensors file's bytes. Returns 0, 1 (malformed or
 * not a GRU model: `message` says why) or 2 (out of memory). */
int grugen_read_gru_model(const uint8_t *bytes, uint64_t size, const char *prefix,
                          grugen_gru_model *out, char *message, size_t message_size);

void grugen_free_gru_model(grugen_gru_model *model);

#ifdef __cplusplus
}
#endif
