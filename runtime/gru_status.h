/* gru_status, shared by every gru-gen library: gru-gen copies this block, as it is, into each
 * public header <name>.h (compiler/package/templates/gru_library.h.in), and the runtime
 * (gru_runtime.c) includes it. */
/* Shared by every gru-gen library, so several headers can meet in one translation unit. */
#ifndef GRU_GEN_STATUS_DEFINED
#define GRU_GEN_STATUS_DEFINED
typedef enum gru_status {
  GRU_OK = 0,
  GRU_INVALID_ARGUMENT = 1, /* a NULL pointer, a bad length, bias pointers against the spec */
  GRU_OUT_OF_MEMORY = 2,
  GRU_IO_ERROR = 3,     /* a weights file could not be opened or read */
  GRU_FORMAT_ERROR = 4, /* a weights file is malformed or holds another GRU than the library's */
  GRU_INTERNAL_ERROR = 5, /* a kernel failed; a bug in gru-gen, please report it */
  GRU_UNSUPPORTED_CPU = 6 /* create: this CPU lacks instruction-set features the library needs */
} gru_status;
#endif

/* One layer instance's weights in MLX layout, for <name>_create_layers: Wx [3H][D_l], Wh [3H][H],
 * b [3H] and bhn [H] (both NULL without bias). */
#ifndef GRU_GEN_LAYER_WEIGHTS_DEFINED
#define GRU_GEN_LAYER_WEIGHTS_DEFINED
typedef struct gru_layer_weights {
  const float *Wx, *Wh, *b, *bhn;
} gru_layer_weights;
#endif
