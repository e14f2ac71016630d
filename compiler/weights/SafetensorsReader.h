/* The C interface between gru-gen (C++) and the shared safetensors reader. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One GRU layer's weights, converted to float32 (malloc'ed; b and bhn NULL without bias). */
typedef struct {
  int64_t input_size, hidden_size;
  int has_bias;
  int reset_after; /* the file's metadata "<prefix>reset_after"; 1 without one */
  float *Wx, *Wh, *b, *bhn;
} grugen_gru_layer;

/* Reads the layer under `prefix` from a safetensors file's bytes. Returns 0, 1 (malformed or
 * not a GRU: `message` says why) or 2 (out of memory). */
int grugen_read_gru_layer(const uint8_t *bytes, uint64_t size, const char *prefix,
                          grugen_gru_layer *out, char *message, size_t message_size);

void grugen_free_gru_layer(grugen_gru_layer *layer);

#ifdef __cplusplus
}
#endif
