/* The layer descriptor: everything about one gru-gen library that the fixed runtime
 * (gru_runtime.c) needs and that varies between libraries or targets. gru-gen generates one per
 * library and target (<name>_runtime.c: the descriptor, then the library's ABI functions, each a
 * one-line call into the runtime); the runtime's unit tests (test/runtime) make their own around
 * stub kernels. Versioned like IREE's executable library table: a runtime refuses a descriptor
 * whose `version` it does not know.
 *
 * Not a public header: apps see only <name>.h. Included after HalideRuntime.h.
 */
#ifndef GRU_RUNTIME_INTERNAL_H
#define GRU_RUNTIME_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "HalideRuntime.h"

#define GRU_LAYER_DESCRIPTOR_VERSION 3
#define GRU_MODEL_DESCRIPTOR_VERSION 1

/* The Halide kernels' signatures (user_context first). Projection, xp = x Wx^T + b:
 * (x, Wx, b, xp) with bias, (x, Wx, xp) without. Step, h_next from h and xp:
 * (xp, h, Wh, bhn, h_next) with bias, (xp, h, Wh, h_next) without. */
typedef int (*gru_rt_kernel3)(void const *, struct halide_buffer_t *, struct halide_buffer_t *,
                              struct halide_buffer_t *);
typedef int (*gru_rt_kernel4)(void const *, struct halide_buffer_t *, struct halide_buffer_t *,
                              struct halide_buffer_t *, struct halide_buffer_t *);
typedef int (*gru_rt_kernel5)(void const *, struct halide_buffer_t *, struct halide_buffer_t *,
                              struct halide_buffer_t *, struct halide_buffer_t *,
                              struct halide_buffer_t *);
/* The member that is set is the one `has_bias` says. */
typedef union {
  gru_rt_kernel4 bias;
  gru_rt_kernel3 no_bias;
} gru_rt_projection_kernel;
typedef union {
  gru_rt_kernel5 bias;
  gru_rt_kernel4 no_bias;
} gru_rt_step_kernel;

/* One instruction-set feature of the library's Halide target: its bit in target_features
 * (Halide::Target::Feature) and its name, for the message when the CPU lacks it. */
typedef struct {
  int bit;
  const char *name;
} gru_rt_feature;

typedef struct gru_layer_descriptor {
  uint32_t version; /* GRU_LAYER_DESCRIPTOR_VERSION */
  /* The spec. */
  int32_t input_size, hidden_size, batch; /* D, H, N */
  int has_bias;
  /* 1: the step applies the reset gate before the recurrent product (ONNX
   * linear_before_reset=0); 0: after it (mlx.nn.GRU). Only create_from_safetensors reads it,
   * to refuse a file of the other variant: the kernels compute it. */
  int reset_before;
  int32_t max_seq_len; /* the longest seq_len one run accepts */
  /* Rows of x the projection kernel takes per call (a block of the N*L rows of a sequence). */
  int32_t block_rows;
  /* The weight layout the kernels read (gru-gen's schedule plan, schedules/SchedulePlan.h):
   * packed panels of wx_panel columns of Wx^T ([3H/wx_panel][D][wx_panel]) and of wh_panel
   * states of Wh^T, the three gates interleaved ([H/wh_panel][H][3][wh_panel]); 0 and 0: MLX's
   * [3H][D], [3H][H]. */
  int32_t wx_panel, wh_panel;
  /* Rows of the arrays the time loop slices on the device start at multiples of this many
   * floats (1 on CPU targets). */
  int32_t row_align_floats;
  /* The model's one host block (GruSpec::model_layout): byte offsets of each array, and its
   * size, <NAME>_MODEL_BYTES. The model struct fills the bytes before `Wx`. */
  struct {
    uint64_t Wx, Wh, b, bhn, x_tail, zeros, xp_step, h_step, bytes;
  } layout;
  /* Halide's device interface of GPU targets (halide_opencl_device_interface, ...); NULL on CPU
   * targets, where the runtime never calls a device function. */
  const struct halide_device_interface_t *(*device_interface)(void);
  /* The kernels: <name>__kernel_projection (block_rows rows), <name>__kernel_step_projection
   * (N rows) and <name>__kernel_step. */
  gru_rt_projection_kernel projection, step_projection;
  gru_rt_step_kernel step;
  /* The features of the library's Halide target as halide_can_use_target_features takes them,
   * and the set ones by name (ended by bit -1); checked at create. */
  int target_feature_words;
  const uint64_t *target_features;
  const gru_rt_feature *target_feature_names;
  const char *halide_target; /* e.g. "x86-64-linux-avx2-..." */
} gru_layer_descriptor;

/* Which way a model's layers walk the sequence (the spec's GruDirection). */
enum { GRU_RT_FORWARD = 0, GRU_RT_REVERSE = 1, GRU_RT_BIDIRECTIONAL = 2 };

/* The model descriptor: a stack of `layers` layers, each with `directions` (1 or 2) layer
 * instances ("sub-models", index l * directions + direction, forward before backward: the order
 * of the weights, h0 and h_n). Layer 0's instances use `first` (input size D), the others `deep`
 * (input size directions * H; NULL for one layer). A model is one host block of `bytes`
 * (<NAME>_MODEL_BYTES): the sub-models' blocks one after another, each of its descriptor's
 * layout.bytes, so sub-model 0 starts the block and a single layer is laid out as before. */
typedef struct gru_model_descriptor {
  uint32_t version; /* GRU_MODEL_DESCRIPTOR_VERSION */
  int32_t layers, directions;
  int direction; /* GRU_RT_FORWARD, GRU_RT_REVERSE or GRU_RT_BIDIRECTIONAL */
  const gru_layer_descriptor *first, *deep;
  uint64_t bytes;
  /* Per sub-model in order: Wx, Wh, then b and bhn with bias, as float32, when the weights are in
   * the library; else NULL. */
  const float *embedded_weights;
  /* Portable libraries: the same model compiled for a less demanding feature level (its kernels,
   * weight panels and CPU features; the same shapes), tried at create when the running CPU
   * lacks a feature of this one's. NULL: this is the last. */
  const struct gru_model_descriptor *fallback;
} gru_model_descriptor;

#endif /* GRU_RUNTIME_INTERNAL_H */
