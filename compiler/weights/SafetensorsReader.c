/* gru-gen's entry into runtime/gru_safetensors.h: the very reader every generated runtime
 * compiles, so gru-gen accepts exactly the files the libraries accept. C, as the reader is. */
#include "weights/SafetensorsReader.h"

#include <stdlib.h>
#include <string.h>

#include "gru_safetensors.h"

static void *heap_alloc(void *ctx, size_t bytes) {
  (void)ctx;
  return malloc(bytes ? bytes : 1);
}

static void heap_release(void *ctx, void *p) {
  (void)ctx;
  free(p);
}

int grugen_read_gru_layer(const uint8_t *bytes, uint64_t size, const char *prefix,
                          grugen_gru_layer *out, char *message, size_t message_size) {
  const gst_allocator allocator = {heap_alloc, heap_release, NULL};
  gst_file file = {0};
  gst_gru_layer layer = {0};
  memset(out, 0, sizeof *out);
  gst_result r = gst_open(bytes, size, &allocator, &file, message, message_size);
  if (r != GST_OK) return r;
  r = gst_find_gru(&file, prefix, &layer, message, message_size);
  if (r == GST_OK) {
    const int64_t D = layer.input_size, H = layer.hidden_size;
    out->input_size = D;
    out->hidden_size = H;
    out->has_bias = layer.b != NULL;
    out->reset_after = layer.reset_after;
    out->Wx = (float *)malloc(sizeof(float) * (size_t)(3 * H * D));
    out->Wh = (float *)malloc(sizeof(float) * (size_t)(3 * H * H));
    out->b = out->has_bias ? (float *)malloc(sizeof(float) * (size_t)(3 * H)) : NULL;
    out->bhn = out->has_bias ? (float *)malloc(sizeof(float) * (size_t)H) : NULL;
    if (!out->Wx || !out->Wh || (out->has_bias && (!out->b || !out->bhn))) {
      grugen_free_gru_layer(out);
      r = GST_NO_MEMORY;
    } else {
      gst_to_f32(&file, layer.Wx, out->Wx);
      gst_to_f32(&file, layer.Wh, out->Wh);
      if (out->has_bias) {
        gst_to_f32(&file, layer.b, out->b);
        gst_to_f32(&file, layer.bhn, out->bhn);
      }
    }
  }
  gst_close(&file, &allocator);
  return r;
}

void grugen_free_gru_layer(grugen_gru_layer *layer) {
  free(layer->Wx);
  free(layer->Wh);
  free(layer->b);
  free(layer->bhn);
  memset(layer, 0, sizeof *layer);
}
