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

int grugen_read_gru_model(const uint8_t *bytes, uint64_t size, const char *prefix,
                          grugen_gru_model *out, char *message, size_t message_size) {
  const gst_allocator allocator = {heap_alloc, heap_release, NULL};
  gst_file file = {0};
  memset(out, 0, sizeof *out);
  gst_gru_model *model = (gst_gru_model *)malloc(sizeof *model);
  if (!model) return GST_NO_MEMORY;
  gst_result r = gst_open(bytes, size, &allocator, &file, message, message_size);
  if (r == GST_OK) r = gst_find_model(&file, prefix, model, message, message_size);
  if (r == GST_OK) {
    const size_t H = (size_t)model->hidden_size, G = 3 * H;
    const int cells = model->layers * model->directions;
    size_t count = 0;
    for (int c = 0; c < cells; ++c)
      count += G * (size_t)model->cells[c].input_size + G * H + (model->has_bias ? G + H : 0);
    out->values = (float *)malloc(sizeof(float) * (count ? count : 1));
    if (!out->values) {
      r = GST_NO_MEMORY;
    } else {
      float *at = out->values;
      for (int c = 0; c < cells; ++c) {
        const gst_gru_layer *cell = &model->cells[c];
        gst_to_f32(&file, cell->Wx, at);
        at += G * (size_t)cell->input_size;
        gst_to_f32(&file, cell->Wh, at);
        at += G * H;
        if (model->has_bias) {
          gst_to_f32(&file, cell->b, at);
          at += G;
          gst_to_f32(&file, cell->bhn, at);
          at += H;
        }
      }
      out->count = count;
      out->layers = model->layers;
      out->directions = model->directions;
      out->reverse = model->reverse;
      out->input_size = model->input_size;
      out->hidden_size = model->hidden_size;
      out->has_bias = model->has_bias;
      out->reset_after = model->reset_after;
    }
  }
  gst_close(&file, &allocator);
  free(model);
  return r;
}

void grugen_free_gru_model(grugen_gru_model *model) {
  free(model->values);
  memset(model, 0, sizeof *model);
}
