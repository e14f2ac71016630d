/* libFuzzer target: the safetensors reader every gru-gen library and gru-gen itself use
 * (runtime/gru_safetensors.h). Input: one byte choosing a prefix, then the file's bytes.
 * Whatever the bytes, gst_open, gst_find_gru and gst_find_model must return a result (never crash, read out of
 * bounds or leak); on success, every tensor lies inside the data section, and converting the
 * layer (gst_to_f32) stays inside it and inside the destination. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gru_safetensors.h"

static void *fuzz_alloc(void *ctx, size_t bytes) {
  (void)ctx;
  return malloc(bytes ? bytes : 1);
}
static void fuzz_release(void *ctx, void *p) {
  (void)ctx;
  free(p);
}

static void convert(const gst_file *f, const gst_tensor *t) {
  if (!t) return;
  if (t->begin > t->end || t->end > f->data_size) abort();
  const uint64_t count = (t->end - t->begin) / (t->dtype == GST_F32 ? 4 : 2);
  if (count > (1u << 24)) return; /* a real file could be this big; the fuzzer's cannot */
  float *dst = (float *)malloc(count ? count * sizeof(float) : 1);
  gst_to_f32(f, t, dst);
  free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* The last is longer than the prefix hint's edit distance considers (GST_HINT_MAX). */
  static const char *const prefixes[] = {
      "", "gru.", "layers.0.", "W", "layers.0", "layer.1.", "l",
      "a_prefix_of_more_than_128_bytes.a_prefix_of_more_than_128_bytes."
      "a_prefix_of_more_than_128_bytes.a_prefix_of_more_than_128_bytes.tail.",
      /* Stacks: "<prefix><l>." and "<prefix><l>.reverse." (gst_find_model). */
      "layers.", "0.", "gru.0.", "0.reverse.", "layers.1", "1", "m.", "layers.0.reverse."};
  if (size < 1) return 0;
  const char *prefix = prefixes[data[0] & 15];
  /* The file in a buffer of its own size, so ASan sees every byte past its end. */
  const size_t n = size - 1;
  uint8_t *bytes = (uint8_t *)malloc(n ? n : 1);
  memcpy(bytes, data + 1, n);
  const gst_allocator a = {fuzz_alloc, fuzz_release, NULL};
  gst_file file;
  char msg[256];
  gst_result r = gst_open(bytes, n, &a, &file, msg, sizeof msg);
  if (r != GST_OK && (msg[0] == '\0' || strlen(msg) >= sizeof msg)) abort();
  if (r == GST_OK) {
    for (int i = 0; i < file.count; ++i)
      if (file.tensors[i].end > file.data_size) abort();
    gst_gru_layer layer;
    memset(&layer, 0, sizeof layer);
    r = gst_find_gru(&file, prefix, &layer, msg, sizeof msg);
    if (r == GST_OK) {
      if (layer.input_size < 1 || layer.hidden_size < 1 || !layer.Wx || !layer.Wh ||
          (layer.b == NULL) != (layer.bhn == NULL) ||
          (layer.reset_after != 0 && layer.reset_after != 1))
        abort();
      convert(&file, layer.Wx);
      convert(&file, layer.Wh);
      convert(&file, layer.b);
      convert(&file, layer.bhn);
    }
    /* The whole model under the prefix: each cell's shapes chain, and convert inside. */
    static gst_gru_model model;
    r = gst_find_model(&file, prefix, &model, msg, sizeof msg);
    if (r != GST_OK && (msg[0] == '\0' || strlen(msg) >= sizeof msg)) abort();
    if (r == GST_OK) {
      if (model.layers < 1 || model.layers > GST_MAX_LAYERS ||
          (model.directions != 1 && model.directions != 2))
        abort();
      for (int c = 0; c < model.layers * model.directions; ++c) {
        const gst_gru_layer *cell = &model.cells[c];
        if (cell->hidden_size != model.hidden_size || (cell->b != NULL) != model.has_bias ||
            cell->input_size != (c < model.directions ? model.input_size
                                                      : model.directions * model.hidden_size))
          abort();
        convert(&file, cell->Wx);
        convert(&file, cell->Wh);
        convert(&file, cell->b);
        convert(&file, cell->bhn);
      }
    }
    gst_close(&file, &a);
  }
  free(bytes);
  return 0;
}
