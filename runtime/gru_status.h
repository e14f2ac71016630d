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

/* The options of a model's create, for <name>_create_with_options and the other *_with_options
 * creates (ABI 3). Versioned by size, as IREE's option structs are: set `size` to
 * sizeof(gru_options) and zero the rest; a library reads the fields that fit in `size` (fields
 * past it take their defaults) and refuses a larger struct whose unknown fields are not zero.
 *   threads: the model's persistent thread team on CPU targets, the calling thread included.
 *     1 (what every create without options does): no team, the model runs as in ABI 2.
 *     0: the library's choice for its shape and this machine (a team only where the step is
 *        large enough to gain: gru-gen's README, "Threads"). n > 1: a team of n, one of the team
 *        sizes the library was generated with (gru-gen --threads-max); any other n, or n < 0,
 *        is GRU_INVALID_ARGUMENT and nothing is created. GPU targets run on the device: 0 means
 *        1 there, n > 1 is GRU_INVALID_ARGUMENT. */
#ifndef GRU_GEN_OPTIONS_DEFINED
#define GRU_GEN_OPTIONS_DEFINED
typedef struct gru_options {
  uint32_t size; /* sizeof(gru_options) */
  int32_t threads;
} gru_options;
#endif
