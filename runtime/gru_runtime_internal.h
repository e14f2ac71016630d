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

#define GRU_LAYER_DESCRIPTOR_VERSION 6
#define GRU_MODEL_DESCRIPTOR_VERSION 3

/* The Halide kernels' signatures (user_context first). Projection, xp = x Wx^T + b:
 * (x, Wx, b, xp) with bias, (x, Wx, xp) without. Step, h_next from h and xp:
 * (xp, h, Wh, bhn, h_next) with bias, (xp, h, Wh, h_next) without. int8 weights add their
 * row scales after the weights: (x, Wx, Wx_scale, [b,] xp), (xp, h, Wh, Wh_scale, [bhn,] h_next);
 * w8a8 the same, each scale vector followed by the rows' integer sums ([2][3H]). */
typedef int (*gru_rt_kernel3)(void const *, struct halide_buffer_t *, struct halide_buffer_t *,
                              struct halide_buffer_t *);
typedef int (*gru_rt_kernel4)(void const *, struct halide_buffer_t *, struct halide_buffer_t *,
                              struct halide_buffer_t *, struct halide_buffer_t *);
typedef int (*gru_rt_kernel5)(void const *, struct halide_buffer_t *, struct halide_buffer_t *,
                              struct halide_buffer_t *, struct halide_buffer_t *,
                              struct halide_buffer_t *);
typedef int (*gru_rt_kernel6)(void const *, struct halide_buffer_t *, struct halide_buffer_t *,
                              struct halide_buffer_t *, struct halide_buffer_t *,
                              struct halide_buffer_t *, struct halide_buffer_t *);
/* The member that is set is the one `has_bias` and int8 weights (`_scaled`) say. */
typedef union {
  gru_rt_kernel4 bias;
  gru_rt_kernel3 no_bias;
  gru_rt_kernel5 bias_scaled;
  gru_rt_kernel4 no_bias_scaled;
} gru_rt_projection_kernel;
typedef union {
  gru_rt_kernel5 bias;
  gru_rt_kernel4 no_bias;
  gru_rt_kernel6 bias_scaled;
  gru_rt_kernel5 no_bias_scaled;
} gru_rt_step_kernel;

/* A team member's step (gru-gen's team step kernels, <name>__kernel_step_team<T>): the states
 * slice * H/T .. (slice + 1) * H/T - 1 into h_next [N][H/T], from the member's range of Wh's
 * panels [H/T / wh_panel][H][3][wh_panel] (in the weights' precision), xp, h and bhn whole:
 * (xp, h, Wh, bhn, slice, h_next) with bias, (xp, h, Wh, slice, h_next) without; int8 weights
 * add Wh's whole row scales [3H] after Wh: (xp, h, Wh, Wh_scale, [bhn,] slice, h_next). */
typedef int (*gru_rt_team_kernel5)(void const *, struct halide_buffer_t *,
                                   struct halide_buffer_t *, struct halide_buffer_t *, int32_t,
                                   struct halide_buffer_t *);
typedef int (*gru_rt_team_kernel6)(void const *, struct halide_buffer_t *,
                                   struct halide_buffer_t *, struct halide_buffer_t *,
                                   struct halide_buffer_t *, int32_t, struct halide_buffer_t *);
typedef int (*gru_rt_team_kernel7)(void const *, struct halide_buffer_t *,
                                   struct halide_buffer_t *, struct halide_buffer_t *,
                                   struct halide_buffer_t *, struct halide_buffer_t *, int32_t,
                                   struct halide_buffer_t *);
typedef union {
  gru_rt_team_kernel6 bias;
  gru_rt_team_kernel5 no_bias;
  gru_rt_team_kernel7 bias_scaled;
  gru_rt_team_kernel6 no_bias_scaled;
} gru_rt_team_step_kernel;

/* Where a layer instance keeps its arrays in its part of the model's block: byte offsets of each,
 * and the part's size (GruSpec::model_layout). The model struct fills the bytes before the first.
 * Wx and Wh hold elements of the descriptor's weights_precision; wx_scale and wh_scale (int8
 * and w8a8, else empty) the float32 scale of each of their 3H rows, in MLX's row order, and for
 * w8a8 then each row's integer sum (gru_row_sums). */
typedef struct {
  uint64_t Wx, Wh, wx_scale, wh_scale, b, bhn, x_tail, zeros, xp_step, h_step, bytes;
} gru_rt_layout;

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
   * [3H][D], [3H][H]. xp_panel: the order of xp's 3H columns, Wx's rows and b's entries
   * (gru_pack.h's gru_xp_column: 0, MLX's gate after gate; X > 0, the three gates of each X
   * states side by side); the step kernels read xp in it. */
  int32_t wx_panel, wh_panel, xp_panel;
  /* How Wx and Wh are stored (GRU_PRECISION_* of gru_pack.h: create converts the caller's
   * float32 into it while packing), and the Halide type of the kernels' weight buffers:
   * float32, float16, bfloat16, int8, uint16 holding f16/bf16 bits on GPU targets, whose
   * kernels convert them by integer arithmetic, or uint32 holding two bf16 (k_group 2, k even in
   * the low half: AVX-512 targets); an element holds weight_type_bits / (8 *
   * gru_precision_bytes) weights, and the buffers' extents count elements. */
  int32_t weights_precision;
  int32_t weight_type_code, weight_type_bits; /* halide_type_code_t, bits */
  /* Wx's and Wh's k in groups of k_group, each row zero-padded to a multiple of it (w8a8: 4 or
   * 2; bf16 pairs: 2; gru_pack_converted; else 1): the panels are
   * [3H/wx_panel][Dp/k_group][wx_panel][k_group] and [H/wh_panel][Hp/k_group][3][wh_panel]
   * [k_group], MLX's [3H][Dp] and [3H][Hp]. */
  int32_t k_group;
  /* Rows of the arrays the time loop slices on the device start at multiples of this many
   * floats (1 on CPU targets). */
  int32_t row_align_floats;
  /* The layer instance's part of the model's block (GruSpec::model_layout); layout_in_place:
   * the same without Wx and Wh, for weights the kernels read where they are (embedded in the
   * library already packed, gru-gen's --embed-weights on CPU targets). */
  gru_rt_layout layout, layout_in_place;
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
   * the library; else NULL. With embedded_packed, Wx and Wh are already in the layer
   * descriptors' panels: create_default uses them in place, in a block of bytes_in_place
   * (<NAME>_MODEL_BYTES_DEFAULT), copying only b and bhn. */
  const float *embedded_weights;
  int embedded_packed;
  uint64_t bytes_in_place;
  /* Portable libraries: the same model compiled for a less demanding feature level (its kernels,
   * weight panels and CPU features; the same shapes), tried at create when the running CPU
   * lacks a feature of this one's. NULL: this is the last. */
  const struct gru_model_descriptor *fallback;
  /* The persistent thread teams the model can run (gru-gen --threads-max; CPU targets with packed
   * weights, reset after): team_sizes[i] threads, each running team_steps[i] on its share of
   * every layer's states. 0: none (every model runs on its caller's thread). */
  int32_t team_count;
  const int32_t *team_sizes;
  const gru_rt_team_step_kernel *team_steps;
  /* A team model's step projections, layer 0's and the deep layers' (the step_projection kernels
   * without Halide's parallel loop: member 0 runs them while the others wait). */
  gru_rt_projection_kernel team_step_projection[2];
  /* The recurrence in slices (gru-gen's SchedulePlan::step_slices; CPU targets with packed
   * weights, reset after): 0 for none, else slice_step (<name>__kernel_step_slices<Q>, the team
   * step of Q = step_slices members) computes slice s of the states from its range of Wh's
   * panels. A run of T threads (1: the caller alone; T <= slice_threads_max, Q % T == 0) calls
   * it for each of a member's Q / T slices, in turn forward and backward on alternate timesteps:
   * each timestep starts on the panels the last one read last, still in L2. The same bits as
   * one step_team<T> or step call. */
  int32_t step_slices, slice_threads_max;
  gru_rt_team_step_kernel slice_step;
} gru_model_descriptor;

#endif /* GRU_RUNTIME_INTERNAL_H */
