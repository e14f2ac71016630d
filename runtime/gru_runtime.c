/* The runtime of every gru-gen library: weights, buffers and the time loop around the Halide
 * kernels, driven by a layer descriptor (gru_runtime_internal.h) that says everything that
 * varies between libraries and targets.
 *
 * Ordinary C11, compiled as part of one translation unit: gru-gen's generated <name>_runtime.c
 * includes this file, then defines the library's descriptor and its ABI functions (<name>_run
 * calls gru_rt_run, ...). Everything here is static, so two libraries in one program never share
 * a symbol, and the library's name reaches C only as whole tokens in the generated file (a
 * library may be called `linux` or `unix`, which the C preprocessor predefines). The unit tests
 * (test/runtime) include it the same way around stub kernels.
 *
 * Memory comes from halide_malloc, so one allocator hook (halide_set_custom_malloc) governs the
 * whole library; from libc it uses stdio and stat, to read weight files and format error
 * messages (Linux and macOS both have them).
 */
#define _POSIX_C_SOURCE 200809L /* fileno and fstat under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "HalideRuntime.h"
#include "gru_pack.h"
#include "gru_runtime_internal.h"
#include "gru_safetensors.h"
#include "gru_status.h"
#include "gru_team.h"

/* Every runtime function is static to the library's translation unit; those the ABI wrappers
 * call may go unused in a library (create_default without embedded weights). */
#define GRU_RT_API static __attribute__((unused))

/* A Halide view of a float array of up to 3 dimensions, innermost first. `slice` marks a view
 * whose device memory belongs to another view (released, not freed). */
typedef struct {
  halide_buffer_t buf;
  halide_dimension_t dim[3];
  int slice;
} tensor;

/* An empty view: copying it clears a view in a few vector stores (a memset of one is `rep
 * stosq`, whose start-up was 5 % of a w8a8 step at H = 128, N = 1). */
static const tensor no_tensor;

/* A layer instance ("sub-model") is one host block of its descriptor's layout.bytes, laid out by
 * gru-gen (GruSpec::model_layout): this struct, then each array at its layout offset. A model is
 * its sub-models' blocks one after another in one halide_malloc block (the model descriptor's
 * `bytes`); the first sub-model's struct is the model the ABI hands out. Its tag is
 * GRU_RT_MODEL: the generated file names it <name>_model, the type its public header declares,
 * so the ABI functions pass models on without a cast. */
#ifndef GRU_RT_MODEL
#define GRU_RT_MODEL gru_rt_model_s
#endif
typedef struct GRU_RT_MODEL gru_rt_model;
struct GRU_RT_MODEL {
  const gru_model_descriptor *md; /* the whole model's (set in every sub-model) */
  const gru_layer_descriptor *d;  /* this layer instance's */
  int in_place; /* the weights are the library's embedded, packed ones (layout_in_place) */
  tensor Wx, Wh, b, bhn; /* in the descriptor's panels; b [3H], bhn [H]; on the device for GPUs */
  tensor scales; /* int8 weights: [2][3H] (row stride layout wh_scale - wx_scale), Wx's row
                  * scales then Wh's, each a slice for its kernel; w8a8: [2][6H], each row's
                  * scales followed by its rows' integer sums (gru_row_sums) */
  tensor zeros;   /* [N][H]: the state before t = 0 when the caller gives none */
  tensor xp_step; /* [N][3H]: projected input of one step */
  tensor h_step;  /* [N][H]: the next state, before step copies it into the caller's h */
  float *x_tail;  /* [block_rows][D]: the last, partial block of a sequence, zero-padded */
  /* Sub-model 0 only: the model's persistent team (NULL: none, the caller runs everything) and
   * the team step kernel for its size. */
  gru_team *team;
  gru_rt_team_step_kernel team_step;
  /* Sub-model 0 only: which way step's next call walks the slices (the descriptor's
   * step_slices), flipped by every call. */
  int step_backwards;
  /* A reset-after layer instance whose stored Wh holds an infinity or a NaN (after its
   * conversion to the weights' precision: f16 overflows from 65520): run without h0 then takes
   * the first step over zeros in Wh's place (first_step_zero_wh). */
  int wh_nonfinite;
  /* Where wh_nonfinite: those zeros, shaped as the stored Wh (make_zero_wh): the host array on
   * CPU targets, the device handle on GPU targets (the other one 0). */
  uint8_t *wh_zero_host;
  uint64_t wh_zero_device;
  /* Sub-model 0 only: nonzero while a run, run_ex or step is in progress (claim_model): calls on
   * one model must not overlap, and one that would is refused instead of sharing the scratch
   * and the team. */
  int busy;
};

/* ---- Failures ----------------------------------------------------------------------------
 * Every failing call leaves one line in this thread's last_error (<name>_last_error). */
static _Thread_local char last_error[320];
static _Thread_local char kernel_message[256]; /* what Halide said, if on this thread */

static gru_status fail(gru_status s, const char *message) {
  snprintf(last_error, sizeof last_error, "%s", message);
  return s;
}

GRU_RT_API const char *gru_rt_last_error(void) { return last_error; }

/* ---- Kernel errors ------------------------------------------------------------------------
 * Halide's default error handler prints and aborts; a library inside an app must return a
 * status instead. Every kernel call passes `kernel_context` (this library's own address) as
 * Halide's user_context. The handler installed below swallows errors carrying it (the kernel
 * then returns its error code, which becomes a status) and forwards every other error,
 * unchanged, to the handler that was installed before, so other Halide code in the process
 * (another gru-gen library included) keeps its own behaviour. */
static const char kernel_tag;
#define kernel_context ((void *)&kernel_tag)
static halide_error_handler_t previous_error_handler;

static void on_kernel_error(void *user_context, const char *message) {
  if (user_context == kernel_context) {
    snprintf(kernel_message, sizeof kernel_message, "%s", message);
    return;
  }
  if (previous_error_handler) {
    previous_error_handler(user_context, message);
  } else {
    halide_default_error(user_context, message);
  }
}

static void install_error_handler(void) {
  static int state; /* 0: not yet, 1: being installed, 2: installed */
  int expected = 0;
  if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == 2) return;
  if (__atomic_compare_exchange_n(&state, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    previous_error_handler = halide_set_error_handler(on_kernel_error);
    __atomic_store_n(&state, 2, __ATOMIC_RELEASE);
  } else {
    while (__atomic_load_n(&state, __ATOMIC_ACQUIRE) != 2) {
    }
  }
}

static gru_status from_halide(int err) {
  if (err == 0) return GRU_OK;
  const gru_status s =
      err == halide_error_code_out_of_memory ? GRU_OUT_OF_MEMORY : GRU_INTERNAL_ERROR;
  if (kernel_message[0]) {
    /* Halide's messages end with a newline; the contract is one line. */
    for (char *c = kernel_message; *c; ++c)
      if (*c == '\n') *c = ' ';
    snprintf(last_error, sizeof last_error, "Halide: %s", kernel_message);
    kernel_message[0] = '\0';
  } else {
    snprintf(last_error, sizeof last_error, "Halide error %d", err);
  }
  return s;
}

/* ---- Buffers ------------------------------------------------------------------------------ */

/* GPU targets (metal, opencl) keep the weights, the projected sequence and the states in device
 * memory; on CPU targets the device is NULL and every device call below is skipped. */
static const struct halide_device_interface_t *device_of(const gru_layer_descriptor *d) {
  return d->device_interface ? d->device_interface() : NULL;
}

/* n floats rounded up to the descriptor's row alignment (rows the time loop slices on the
 * device: OpenCL sub-buffers must start on 256-byte boundaries). */
static int32_t padded(const gru_layer_descriptor *d, int32_t n) {
  const int32_t a = d->row_align_floats > 0 ? d->row_align_floats : 1;
  return (n + a - 1) / a * a;
}

/* A row-major view: extents innermost first, a zero extent ends the list (a vector has only
 * `d0`); rows (dimension 1) are `row_stride` floats apart, at least d0. `data` may be NULL for
 * device-only arrays. A caller's array (`on_device`: for a GPU target) is news to the device: a
 * GPU kernel must copy it before use. */
static void view(tensor *t, int on_device, const float *data, int32_t d0, int32_t d1, int32_t d2,
                 int32_t row_stride) {
  *t = no_tensor;
  t->buf.host = (uint8_t *)data;
  if (on_device && data) t->buf.flags = halide_buffer_flag_host_dirty;
  t->buf.type.code = halide_type_float;
  t->buf.type.bits = 32;
  t->buf.type.lanes = 1;
  t->buf.dim = t->dim;
  const int32_t extents[3] = {d0, d1, d2};
  int32_t stride = 1;
  for (int i = 0; i < 3 && extents[i] > 0; ++i) {
    t->dim[i].extent = extents[i];
    t->dim[i].stride = stride;
    stride = (i == 0 ? row_stride : stride * extents[i]);
    t->buf.dimensions = i + 1;
  }
}

/* A dense view: rows are d0 floats apart. */
static void dense(tensor *t, int on_device, const float *data, int32_t d0, int32_t d1,
                  int32_t d2) {
  view(t, on_device, data, d0, d1, d2, d0);
}

/* `out` = `parent` at index `pos` of dimension `d`, one dimension fewer, without copying: the
 * time loop walks timestep t of batch-first [N][L][cols] arrays and the projection walks blocks
 * of rows this way, on the host and (for GPU targets) in device memory alike. */
static gru_status slice(const tensor *parent, int d, int32_t pos, tensor *out) {
  *out = no_tensor;
  out->buf.type = parent->buf.type;
  out->buf.dim = out->dim;
  out->buf.dimensions = parent->buf.dimensions - 1;
  for (int i = 0, o = 0; i < parent->buf.dimensions; ++i)
    if (i != d) out->dim[o++] = parent->dim[i];
  if (parent->buf.host)
    out->buf.host = parent->buf.host + (size_t)pos * parent->dim[d].stride * sizeof(float);
  if (!parent->buf.device) return GRU_OK;
  out->slice = 1;
  return from_halide(halide_device_slice(kernel_context, &parent->buf, d, pos, &out->buf));
}

/* Gives back the device memory a view holds: its own (a host array that a kernel copied to the
 * device, or an array made on the device) or its share of a sliced parent. */
static void release(tensor *t) {
  if (!t->buf.device) return;
  if (t->slice) {
    halide_device_release_crop(kernel_context, &t->buf);
  } else {
    halide_device_free(kernel_context, &t->buf);
  }
}

/* Puts a host array on the device, where it stays until released (weights, scratch). */
static gru_status upload(const struct halide_device_interface_t *device, tensor *t) {
  if (!device || !t->buf.host) return GRU_OK; /* no device, or an array this model lacks */
  return from_halide(halide_copy_to_device(kernel_context, &t->buf, device));
}

/* ---- Kernel calls ------------------------------------------------------------------------- */

/* Whether the kernels take each weight matrix's row data after it (int8: the 3H row scales;
 * w8a8: those, then the 3H rows' integer sums, gru_row_sums). */
static int has_row_scales(const gru_layer_descriptor *d) {
  return d->weights_precision == GRU_PRECISION_INT8 || d->weights_precision == GRU_PRECISION_W8A8;
}

/* xp [rows][3H] = x [rows][D] Wx^T + b, with rows = block_rows (kernel_projection) or N
 * (kernel_step_projection). */
static gru_status project(gru_rt_model *m, gru_rt_projection_kernel kernel, tensor *x,
                          tensor *xp) {
  if (has_row_scales(m->d)) {
    tensor scale;
    gru_status s = slice(&m->scales, 1, 0, &scale);
    if (s == GRU_OK)
      s = from_halide(m->d->has_bias ? kernel.bias_scaled(kernel_context, &x->buf, &m->Wx.buf,
                                                          &scale.buf, &m->b.buf, &xp->buf)
                                     : kernel.no_bias_scaled(kernel_context, &x->buf, &m->Wx.buf,
                                                             &scale.buf, &xp->buf));
    release(&scale);
    return s;
  }
  if (m->d->has_bias)
    return from_halide(kernel.bias(kernel_context, &x->buf, &m->Wx.buf, &m->b.buf, &xp->buf));
  return from_halide(kernel.no_bias(kernel_context, &x->buf, &m->Wx.buf, &xp->buf));
}

/* h_next [N][H] = GRU step from h [N][H], given this step's projected input xp [N][3H]. */
static gru_status advance(gru_rt_model *m, tensor *xp, tensor *h, tensor *h_next) {
  const gru_rt_step_kernel step = m->d->step;
  if (has_row_scales(m->d)) {
    tensor scale;
    gru_status s = slice(&m->scales, 1, 1, &scale);
    if (s == GRU_OK)
      s = from_halide(m->d->has_bias
                          ? step.bias_scaled(kernel_context, &xp->buf, &h->buf, &m->Wh.buf,
                                             &scale.buf, &m->bhn.buf, &h_next->buf)
                          : step.no_bias_scaled(kernel_context, &xp->buf, &h->buf, &m->Wh.buf,
                                                &scale.buf, &h_next->buf));
    release(&scale);
    return s;
  }
  if (m->d->has_bias)
    return from_halide(step.bias(kernel_context, &xp->buf, &h->buf, &m->Wh.buf, &m->bhn.buf,
                                 &h_next->buf));
  return from_halide(step.no_bias(kernel_context, &xp->buf, &h->buf, &m->Wh.buf, &h_next->buf));
}

/* ---- The ABI ------------------------------------------------------------------------------ */

GRU_RT_API uint32_t gru_rt_abi_version(void) { return 3; }

/* ---- CPU features ---------------------------------------------------------------------------
 * The features of the library's Halide target: a kernel that uses one this CPU lacks would die
 * (SIGILL), so create checks them first. */
static gru_status check_cpu(const gru_layer_descriptor *d) {
  enum { kMaxWords = 8 };
  const int words = d->target_feature_words;
  if (halide_can_use_target_features(words, d->target_features)) return GRU_OK;
  /* Which ones: each feature on its own. */
  char missing[200] = "";
  size_t used = 0;
  for (const gru_rt_feature *f = d->target_feature_names; f && f->bit >= 0; ++f) {
    uint64_t one[kMaxWords] = {0};
    if (f->bit / 64 >= kMaxWords || f->bit / 64 >= words) continue;
    one[f->bit / 64] = (uint64_t)1 << (f->bit % 64);
    if (halide_can_use_target_features(words, one) || used >= sizeof missing - 1) continue;
    used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%s", used ? " " : "",
                             f->name);
  }
  snprintf(last_error, sizeof last_error,
           "create: this CPU lacks %s, which the library was compiled for (target %s)",
           missing[0] ? missing : "features", d->halide_target);
  return GRU_UNSUPPORTED_CPU;
}

/* ---- Models of layers ----------------------------------------------------------------------
 * A model's layer instances ("sub-models") i = l * directions + direction, in the order of the
 * weights, h0 and h_n. */
static int32_t sub_models(const gru_model_descriptor *md) { return md->layers * md->directions; }

static const gru_layer_descriptor *layer_descriptor(const gru_model_descriptor *md, int32_t i) {
  return i < md->directions ? md->first : md->deep;
}

/* Whether instance `direction` of a layer walks the sequence backwards. */
static int backwards(const gru_model_descriptor *md, int32_t direction) {
  return md->direction == GRU_RT_REVERSE || direction == 1;
}

/* A layer instance's layout: its weights in its block, or used in place. */
static const gru_rt_layout *layout_of(const gru_layer_descriptor *d, int in_place) {
  return in_place ? &d->layout_in_place : &d->layout;
}

/* Sub-model i inside the model's block, which starts with sub-model 0 (whose in_place says
 * which layout the block has). */
static gru_rt_model *sub_model(const gru_model_descriptor *md, void *block, int32_t i) {
  const int in_place = ((gru_rt_model *)block)->in_place;
  const uint64_t first = (uint64_t)md->directions;
  const uint64_t first_bytes = layout_of(md->first, in_place)->bytes;
  const uint64_t at = (uint64_t)i < first ? (uint64_t)i * first_bytes
                                          : first * first_bytes + ((uint64_t)i - first) *
                                                                      layout_of(md->deep, in_place)->bytes;
  return (gru_rt_model *)((uint8_t *)block + at);
}

/* Sets *t to a view of the zeros shaped as Wh (make_zero_wh), as the kernels take Wh: Wh's type,
 * extents and strides over wh_zero_host (CPU targets) or wh_zero_device (GPU targets). t may be
 * &sub->Wh. (Filled in place: a returned copy's buf.dim would point into the callee's frame.) */
static void zero_wh_view(const gru_rt_model *sub, tensor *t) {
  *t = sub->Wh;
  t->buf.dim = t->dim;
  t->buf.host = sub->wh_zero_host;
  t->buf.flags = 0;
  t->buf.device = sub->wh_zero_device;
}

GRU_RT_API void gru_rt_destroy(gru_rt_model *m) {
  if (!m) return;
  if (m->team) { /* the workers are joined before anything they use goes */
    gru_team_stop(m->team);
    halide_free(NULL, m->team);
    m->team = NULL;
  }
  const gru_model_descriptor *md = m->md;
  for (int32_t i = 0; md && i < sub_models(md); ++i) {
    gru_rt_model *sub = sub_model(md, m, i);
    if (!sub->d) continue; /* not initialized: create failed before it */
    /* The zeros first: their view takes Wh's device interface, which Wh's release clears. */
    if (sub->wh_zero_device) {
      tensor zero_wh;
      zero_wh_view(sub, &zero_wh);
      release(&zero_wh);
    }
    if (sub->wh_zero_host) halide_free(NULL, sub->wh_zero_host);
    tensor *held[] = {&sub->Wx, &sub->Wh, &sub->scales, &sub->b, &sub->bhn, &sub->zeros,
                      &sub->xp_step, &sub->h_step};
    for (size_t k = 0; k < sizeof held / sizeof held[0]; ++k) release(held[k]);
  }
  halide_free(NULL, m); /* the block */
}

/* Lays out one layer instance in its part of the model's block and copies (packs) its weights;
 * on GPU targets, puts them on the device. */
static gru_status layer_init(gru_rt_model *m, const gru_model_descriptor *md,
                             const gru_layer_descriptor *d, const gru_layer_weights *w,
                             int in_place, int team_packs_wh) {
  uint8_t *block = (uint8_t *)m;
  const gru_rt_layout *layout = layout_of(d, in_place);
  const int32_t D = d->input_size, H = d->hidden_size, N = d->batch, G = 3 * H;
  const struct halide_device_interface_t *device = device_of(d);
  const int dev = device != NULL; /* the arrays below go to the device (upload) */
  __builtin_memset(m, 0, sizeof *m);
  m->md = md;
  m->d = d;
  m->in_place = in_place;
  /* In place: the kernels read the library's read-only copy (only ever read). */
  float *wx = in_place ? (float *)w->Wx : (float *)(block + layout->Wx);
  float *wh = in_place ? (float *)w->Wh : (float *)(block + layout->Wh);
  /* The reduction's extents as stored: padded to a multiple of k_group (w8a8, bf16 pairs). */
  const int32_t kg = d->k_group, Dp = (D + kg - 1) / kg * kg, Hp = (H + kg - 1) / kg * kg;
  if (d->wx_panel > 0) {
    /* The kernels' elements: one weight each, or two (bf16 pairs in a 32-bit element); a
     * float32 descriptor may leave the type unset (0 bits). */
    const int32_t weight_bits = 8 * gru_precision_bytes(d->weights_precision);
    const int32_t per = d->weight_type_bits > weight_bits ? d->weight_type_bits / weight_bits : 1;
    dense(&m->Wx, dev, wx, Dp * d->wx_panel / per, G / d->wx_panel, 0);
    dense(&m->Wh, dev, wh, Hp * 3 * d->wh_panel / per, H / d->wh_panel, 0);
  } else {
    dense(&m->Wx, dev, wx, Dp, G, 0);
    dense(&m->Wh, dev, wh, Hp, G, 0);
  }
  const int precision = d->weights_precision;
  if (precision != GRU_PRECISION_F32) {
    /* The kernels' element type; strides and extents count elements. */
    tensor *weights[] = {&m->Wx, &m->Wh};
    for (int i = 0; i < 2; ++i) {
      weights[i]->buf.type.code = (halide_type_code_t)d->weight_type_code;
      weights[i]->buf.type.bits = (uint8_t)d->weight_type_bits;
    }
  }
  if (has_row_scales(d)) {
    float *scales = (float *)(block + layout->wx_scale), *wh_scales = (float *)(block + layout->wh_scale);
    const int sums = precision == GRU_PRECISION_W8A8;
    view(&m->scales, dev, scales, sums ? 2 * G : G, 2, 0,
         (int32_t)((layout->wh_scale - layout->wx_scale) / sizeof(float)));
    if (gru_row_scales(scales, w->Wx, G, D) != 0 || gru_row_scales(wh_scales, w->Wh, G, H) != 0)
      return fail(GRU_INVALID_ARGUMENT,
                  "create: this library stores int8 weights, which must be finite: Wx or Wh "
                  "holds a NaN or an infinity");
    if (sums) {
      gru_row_sums(scales + G, w->Wx, scales, G, D);
      gru_row_sums(wh_scales + G, w->Wh, wh_scales, G, H);
    }
  }
  float *zeros = (float *)(block + layout->zeros);
  dense(&m->zeros, dev, zeros, H, N, 0);
  dense(&m->xp_step, dev, (float *)(block + layout->xp_step), G, N, 0);
  dense(&m->h_step, dev, (float *)(block + layout->h_step), H, N, 0);
  m->x_tail = (float *)(block + layout->x_tail);
  if (!in_place && precision == GRU_PRECISION_F32) {
    gru_pack(wx, w->Wx, 1, G, D, d->wx_panel, d->xp_panel);
    if (!team_packs_wh) gru_pack(wh, w->Wh, 3, H, H, d->wh_panel, 0);
  } else if (!in_place) {
    gru_pack_converted(wx, w->Wx, 1, G, D, d->wx_panel, precision,
                       (const float *)(block + layout->wx_scale), kg, d->xp_panel);
    if (!team_packs_wh)
      gru_pack_converted(wh, w->Wh, 3, H, H, d->wh_panel, precision,
                         (const float *)(block + layout->wh_scale), kg, 0);
  }
  __builtin_memset(zeros, 0, sizeof(float) * (size_t)N * H);
  gru_status s = GRU_OK;
  if (d->has_bias) {
    float *wb = (float *)(block + layout->b), *wbhn = (float *)(block + layout->bhn);
    dense(&m->b, dev, wb, G, 0, 0);
    dense(&m->bhn, dev, wbhn, H, 0, 0);
    for (int32_t j = 0; j < G; ++j) /* in xp's order, as Wx's rows */
      wb[gru_xp_column(j / H, j % H, H, d->xp_panel)] = w->b[j];
    __builtin_memcpy(wbhn, w->bhn, sizeof(float) * (size_t)H);
    if (s == GRU_OK) s = upload(device, &m->b);
    if (s == GRU_OK) s = upload(device, &m->bhn);
  }
  tensor *resident[] = {&m->Wx, &m->Wh, &m->scales, &m->zeros, &m->xp_step, &m->h_step};
  for (size_t i = 0; i < sizeof resident / sizeof resident[0] && s == GRU_OK; ++i)
    s = upload(device, resident[i]);
  return s;
}

/* ---- The team ------------------------------------------------------------------------------
 * A model created with threads = T > 1 (CPU targets) owns a persistent team (gru_team.h): its
 * caller and T - 1 workers. Member i owns states i*H/T .. (i+1)*H/T - 1 of every layer instance:
 * a contiguous range of Wh's panels ([H/T / wh_panel] of [H/wh_panel] panels), which it packs
 * itself at create (so its pages are first touched by it: its NUMA node, its caches), and
 * computes with the team step kernel (<name>__kernel_step_team<T>: no parallel loop, the same
 * per-state order of the reduction as the whole step, so the same bits). Per timestep every
 * member computes its states, then the team meets at a barrier; a whole recurrence (one layer
 * instance of run) is one job. The projections stay with the caller (Halide's thread pool splits
 * the large ones). */
enum { kMaxTeam = 64 }; /* gru-gen --threads-max's limit */

typedef struct {
  gru_rt_model *model, *sub;
  /* pack */
  const gru_layer_weights *w;
  /* recur */
  tensor *xp_seq, *h_first, *states;
  int time_dim, walk_backwards;
  int32_t from; /* the first step of the walk it takes (1: the caller took step 0) */
  /* step; walk_backwards: which way members walk their slices this timestep */
  float *h;
  /* The first phase (barrier) a member failed in, INT32_MAX: none; each member's status and
   * last_error. */
  int32_t failed_at;
  gru_status status[kMaxTeam];
  char message[kMaxTeam][160];
} team_job;

/* Ends one phase of member `member`'s job: records its failure, meets the team; nonzero when any
 * member failed in this phase (every member then stops at the same barrier). */
static int member_sync(gru_team *t, team_job *j, int32_t member, int32_t *phase, gru_status s) {
  if (s != GRU_OK) {
    j->status[member] = s;
    snprintf(j->message[member], sizeof j->message[member], "%.159s", last_error);
    __atomic_store_n(&j->failed_at, *phase, __ATOMIC_RELAXED);
  }
  gru_team_barrier(t);
  return __atomic_load_n(&j->failed_at, __ATOMIC_RELAXED) <= (*phase)++;
}

/* Runs `work` on the model's team; the first failing member's status and last_error. */
static gru_status run_job(gru_rt_model *m, gru_team_job work, team_job *j, int linger) {
  j->model = m;
  j->failed_at = INT32_MAX;
  for (int32_t i = 0; i < m->team->threads; ++i) j->status[i] = GRU_OK;
  gru_team_dispatch(m->team, work, j, linger);
  for (int32_t i = 0; i < m->team->threads; ++i)
    if (j->status[i] != GRU_OK) return fail(j->status[i], j->message[i]);
  return GRU_OK;
}

/* Member `member`'s states of one step: h_next's columns member*Hs.. (h_next is all H of them)
 * from its range of Wh's panels, in the weights' precision. int8 and w8a8 weights pass Wh's whole
 * row data (w8a8: scales, then the rows' integer sums): the team step kernel reads row g * H +
 * (its absolute state). */
static gru_status advance_member(gru_rt_model *m, gru_rt_team_step_kernel kernel, int32_t member,
                                 int32_t threads, tensor *xp, tensor *h, const tensor *h_next) {
  const gru_layer_descriptor *d = m->d;
  const int32_t H = d->hidden_size, Hs = H / threads, p = d->wh_panel;
  tensor wh, out = *h_next;
  out.buf.dim = out.dim;
  out.buf.host += (size_t)member * Hs * sizeof(float);
  out.dim[0].extent = Hs;
  /* One panel of m->Wh (its inner extent, rows padded as stored); offsets and strides count
   * elements of the weights' type (m->Wh's). */
  const size_t panel_elements = (size_t)m->Wh.buf.dim[0].extent;
  const size_t bytes = (size_t)(m->Wh.buf.type.bits / 8);
  dense(&wh, 0,
        (const float *)(m->Wh.buf.host + (size_t)member * (Hs / p) * panel_elements * bytes),
        (int32_t)panel_elements, Hs / p, 0);
  wh.buf.type = m->Wh.buf.type;
  if (has_row_scales(d)) {
    tensor scale;
    slice(&m->scales, 1, 1, &scale); /* a host view: never fails */
    return from_halide(d->has_bias ? kernel.bias_scaled(kernel_context, &xp->buf, &h->buf,
                                                        &wh.buf, &scale.buf, &m->bhn.buf,
                                                        member, &out.buf)
                                   : kernel.no_bias_scaled(kernel_context, &xp->buf, &h->buf,
                                                           &wh.buf, &scale.buf, member,
                                                           &out.buf));
  }
  if (d->has_bias)
    return from_halide(kernel.bias(kernel_context, &xp->buf, &h->buf, &wh.buf, &m->bhn.buf,
                                   member, &out.buf));
  return from_halide(kernel.no_bias(kernel_context, &xp->buf, &h->buf, &wh.buf, member, &out.buf));
}

/* Halide's thread pool's threads: its count once it has started, else the count it will start
 * with (Halide's rule: HL_NUM_THREADS, else every core). */
static int pool_threads(void) {
  const int started = halide_get_num_threads();
  if (started > 0) return started;
  const char *env = getenv("HL_NUM_THREADS");
  if (env && atoi(env) > 0) return atoi(env);
#ifdef _SC_NPROCESSORS_ONLN
  return (int)sysconf(_SC_NPROCESSORS_ONLN);
#else
  return 0; /* unknown: not one */
#endif
}

/* The slices of the step (the model descriptor's step_slices) each of `threads` members walks per
 * timestep; 0: none, the member runs its team step (or, alone, the step kernel). On one thread,
 * only while Halide's thread pool has one too: else the step kernel's parallel loop splits the
 * states over the pool, which the slices (no parallel loop) would give up. */
static int32_t slices_per_member(const gru_model_descriptor *md, int32_t threads) {
  if (md->step_slices <= 1 || threads > md->slice_threads_max || md->step_slices % threads != 0)
    return 0;
  if (threads == 1 && pool_threads() != 1) return 0;
  return md->step_slices / threads;
}

/* One timestep of slices first .. first + count - 1 (each the states of one slice, from its
 * panels of Wh), walked backwards when `backwards`. */
static gru_status advance_slices(gru_rt_model *m, int32_t first, int32_t count, int backwards,
                                 tensor *xp, tensor *h, const tensor *h_next) {
  const gru_model_descriptor *md = m->md;
  gru_status s = GRU_OK;
  for (int32_t i = 0; i < count && s == GRU_OK; ++i)
    s = advance_member(m, md->slice_step, first + (backwards ? count - 1 - i : i),
                       md->step_slices, xp, h, h_next);
  return s;
}

/* A member's part of one timestep: its slices (first member * count on), else its team step. */
static gru_status advance_part(gru_rt_model *m, gru_rt_team_step_kernel team_step,
                               int32_t member, int32_t threads, int32_t slices, int backwards,
                               tensor *xp, tensor *h, const tensor *h_next) {
  if (slices) return advance_slices(m, member * slices, slices, backwards, xp, h, h_next);
  return advance_member(m, team_step, member, threads, xp, h, h_next);
}

/* Job: each member packs its states' panels of every layer instance's Wh (first touch),
 * converted to the weights' precision (int8: by the row scales create computed). */
static void pack_member(gru_team *t, int32_t member, void *arg) {
  team_job *j = (team_job *)arg;
  const gru_model_descriptor *md = j->model->md;
  for (int32_t i = 0; i < sub_models(md); ++i) {
    gru_rt_model *sub = sub_model(md, j->model, i);
    const gru_layer_descriptor *d = sub->d;
    const int32_t H = d->hidden_size, Hs = H / t->threads;
    if (d->weights_precision == GRU_PRECISION_F32) {
      gru_pack_columns((float *)sub->Wh.buf.host, j->w[i].Wh, 3, H, H, d->wh_panel, 0,
                       member * Hs, (member + 1) * Hs);
    } else {
      const float *scales =
          (const float *)((const uint8_t *)sub + layout_of(d, sub->in_place)->wh_scale);
      gru_pack_converted_columns(sub->Wh.buf.host, j->w[i].Wh, 3, H, H, d->wh_panel,
                                 d->weights_precision, scales, d->k_group, 0, member * Hs,
                                 (member + 1) * Hs);
    }
  }
}

/* Job: recur (below) on the team, a barrier per timestep. */
static void recur_member(gru_team *t, int32_t member, void *arg) {
  team_job *j = (team_job *)arg;
  const int32_t L = j->states->dim[j->time_dim].extent;
  const int32_t slices = slices_per_member(j->model->md, t->threads);
  int32_t phase = 0;
  for (int32_t i = j->from; i < L; ++i) {
    const int32_t at = j->walk_backwards ? L - 1 - i : i, before = j->walk_backwards ? at + 1 : at - 1;
    tensor xp, h_prev, h_next;
    slice(j->xp_seq, 1, at, &xp); /* host views: never fails */
    slice(j->states, j->time_dim, at, &h_next);
    if (i > 0) slice(j->states, j->time_dim, before, &h_prev);
    const gru_status s = advance_part(j->sub, j->model->team_step, member, t->threads, slices,
                                      i & 1, &xp, i > 0 ? &h_prev : j->h_first, &h_next);
    if (member_sync(t, j, member, &phase, s)) return;
  }
}

/* Job: step (below) on the team; layer 0's projection is done. Per layer: the states, a
 * barrier, each member copies its states into h, a barrier, the next layer's projection (member
 * 0), a barrier. */
static void step_member(gru_team *t, int32_t member, void *arg) {
  team_job *j = (team_job *)arg;
  const gru_model_descriptor *md = j->model->md;
  int32_t phase = 0;
  for (int32_t l = 0; l < md->layers; ++l) {
    gru_rt_model *sub = sub_model(md, j->model, l);
    const int32_t H = sub->d->hidden_size, N = sub->d->batch, Hs = H / t->threads;
    float *state = j->h + (size_t)l * N * H;
    gru_status s = GRU_OK;
    if (l > 0) {
      if (member == 0) {
        tensor tx;
        dense(&tx, 0, state - (size_t)N * H, sub->d->input_size, N, 0);
        s = project(sub, md->team_step_projection[1], &tx, &sub->xp_step);
      }
      if (member_sync(t, j, member, &phase, s)) return;
    }
    tensor th;
    dense(&th, 0, state, H, N, 0);
    s = advance_part(sub, j->model->team_step, member, t->threads,
                     slices_per_member(md, t->threads), j->walk_backwards, &sub->xp_step, &th,
                     &sub->h_step);
    if (member_sync(t, j, member, &phase, s)) return;
    const float *next = (const float *)sub->h_step.buf.host;
    for (int32_t n = 0; n < N; ++n)
      __builtin_memcpy(state + (size_t)n * H + (size_t)member * Hs,
                       next + (size_t)n * H + (size_t)member * Hs, sizeof(float) * (size_t)Hs);
    if (l + 1 < md->layers && member_sync(t, j, member, &phase, GRU_OK)) return;
  }
}

/* The persistent team's size for `threads` (gru_options): `threads` itself when the library has
 * a team step for it; 0: the library's choice, the largest team of its sizes that this machine
 * has the cores for and whose members each get at least kTeamMinFlops of a step's work
 * (measured: README, "Threads"); 1 where none fits. -1 (with last_error): refused. */
enum { kTeamMinFlops = 150000 };
static int32_t team_size(const gru_model_descriptor *md, int32_t threads, const char *who) {
  const gru_layer_descriptor *d = md->first;
  if (threads == 1) return 1;
  if (threads == 0) {
#ifdef _SC_NPROCESSORS_ONLN
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
#else /* Darwin hides it under _POSIX_C_SOURCE: the team sizes (up to the target's cores) */
    const long cores = kMaxTeam;
#endif
    int32_t best = 1;
    for (int32_t i = 0; i < md->team_count; ++i) {
      const int32_t T = md->team_sizes[i];
      const double flops = 6.0 * d->batch * d->hidden_size * ((double)d->hidden_size / T);
      if (T <= cores && flops >= kTeamMinFlops && T > best) best = T;
    }
    return best;
  }
  if (threads > 0)
    for (int32_t i = 0; i < md->team_count; ++i)
      if (md->team_sizes[i] == threads) return threads;
  char sizes[96] = "1";
  size_t used = 1;
  for (int32_t i = 0; i < md->team_count && used < sizeof sizes; ++i)
    used += (size_t)snprintf(sizes + used, sizeof sizes - used, ", %ld", (long)md->team_sizes[i]);
  snprintf(last_error, sizeof last_error,
           "%s: threads %ld: %s; this library's teams are %s thread%s (0: its choice)%s", who,
           (long)threads, threads < 0 ? "negative" : "no team of that size", sizes,
           md->team_count ? "s" : "",
           d->device_interface ? ", a GPU target runs on its device"
           : md->team_count   ? ""
                              : "; gru-gen --threads-max N generates teams");
  return -1;
}

/* The options of a create: the team size (1 without options). -1 (with last_error): refused. */
static int32_t threads_of_options(const gru_model_descriptor *md, const gru_options *options,
                               const char *who) {
  if (!options) return 1;
  const size_t known = sizeof(gru_options);
  if (options->size < sizeof(uint32_t)) {
    snprintf(last_error, sizeof last_error, "%s: options->size %lu is not sizeof(gru_options) (%lu)",
             who, (unsigned long)options->size, (unsigned long)known);
    return -1;
  }
  for (size_t at = known; at < options->size; ++at)
    if (((const uint8_t *)options)[at]) {
      snprintf(last_error, sizeof last_error,
               "%s: options of %lu bytes set fields this library does not know (it knows %lu)",
               who, (unsigned long)options->size, (unsigned long)known);
      return -1;
    }
  const int32_t threads =
      options->size >= offsetof(gru_options, threads) + sizeof(int32_t) ? options->threads : 1;
  return team_size(md, threads, who);
}

/* The weights of a layer instance's stored Wh: 3H rows of H, k padded to k_group (w8a8, bf16
 * pairs), each in the weights' precision, in its panels. */
static size_t stored_wh_count(const gru_layer_descriptor *d) {
  const int32_t H = d->hidden_size, kg = d->k_group, Hp = (H + kg - 1) / kg * kg;
  return (size_t)3 * H * Hp;
}

/* Whether a layer instance's stored Wh holds an infinity or a NaN: float32's, or f16's or
 * bf16's (their bits); int8 and w8a8 weights are finite (create refuses others). */
static int stored_nonfinite(const gru_layer_descriptor *d, const uint8_t *wh) {
  const size_t count = stored_wh_count(d);
  for (size_t k = 0; k < count; ++k) {
    if (d->weights_precision == GRU_PRECISION_F32) {
      uint32_t bits;
      __builtin_memcpy(&bits, wh + 4 * k, sizeof bits);
      if ((bits & 0x7f800000u) == 0x7f800000u) return 1;
    } else if (d->weights_precision == GRU_PRECISION_F16 ||
               d->weights_precision == GRU_PRECISION_BF16) {
      uint16_t bits;
      __builtin_memcpy(&bits, wh + 2 * k, sizeof bits);
      const uint16_t ones = d->weights_precision == GRU_PRECISION_F16 ? 0x7c00u : 0x7f80u;
      if ((bits & ones) == ones) return 1;
    }
  }
  return 0;
}

/* Zeros shaped as the stored Wh (its bytes, type and layout), for run's first step without h0
 * where Wh is not finite (first_step_zero_wh): held on the host on CPU targets; on GPU targets
 * put on the device, and the host array freed. Made at create, freed at destroy. */
static gru_status make_zero_wh(gru_rt_model *sub, const char *who) {
  const gru_layer_descriptor *d = sub->d;
  const size_t bytes = stored_wh_count(d) * (size_t)gru_precision_bytes(d->weights_precision);
  uint8_t *zeros = (uint8_t *)halide_malloc(NULL, bytes);
  if (!zeros) {
    snprintf(last_error, sizeof last_error, "%s: out of memory", who);
    return GRU_OUT_OF_MEMORY;
  }
  __builtin_memset(zeros, 0, bytes);
  sub->wh_zero_host = zeros;
  const struct halide_device_interface_t *device = device_of(d);
  if (!device) return GRU_OK;
  tensor t;
  zero_wh_view(sub, &t);
  t.buf.device_interface = NULL;
  t.buf.flags = halide_buffer_flag_host_dirty;
  const gru_status s = upload(device, &t);
  sub->wh_zero_device = t.buf.device; /* the same device interface as Wh's */
  sub->wh_zero_host = NULL;
  halide_free(NULL, zeros);
  return s;
}

/* create and create_layers: `who` names the function in messages; `indexed`: name w[i]; the
 * options' team (NULL: none). */
static gru_status create_model(const gru_model_descriptor *md, const gru_layer_weights *w,
                               int32_t count, gru_rt_model **out, const char *who, int indexed,
                               int in_place, const gru_options *options) {
  /* A portable library's variants, best first: the first whose features this CPU has (check_cpu
   * below names what the last one lacks when none fits). */
  while (md->fallback && !halide_can_use_target_features(md->first->target_feature_words,
                                                          md->first->target_features))
    md = md->fallback;
  if (md->version != GRU_MODEL_DESCRIPTOR_VERSION ||
      md->first->version != GRU_LAYER_DESCRIPTOR_VERSION ||
      (md->deep && md->deep->version != GRU_LAYER_DESCRIPTOR_VERSION)) {
    snprintf(last_error, sizeof last_error,
             "%s: the library's descriptor has another version than its runtime", who);
    return GRU_INTERNAL_ERROR;
  }
  if (!out) {
    snprintf(last_error, sizeof last_error, "%s: out must not be NULL", who);
    return GRU_INVALID_ARGUMENT;
  }
  const int32_t subs = sub_models(md);
  if (count != subs) {
    snprintf(last_error, sizeof last_error,
             "%s: this library's model has %ld layer%s x %ld direction%s: %ld layer weights, "
             "not %ld%s",
             who, (long)md->layers, md->layers == 1 ? "" : "s", (long)md->directions,
             md->directions == 1 ? "" : "s", (long)subs, (long)count,
             indexed ? "" : " (use create_layers)");
    return GRU_INVALID_ARGUMENT;
  }
  const int has_bias = md->first->has_bias;
  for (int32_t i = 0; i < count; ++i) {
    char which[32] = "";
    if (indexed) snprintf(which, sizeof which, "w[%ld]: ", (long)i);
    if (!w[i].Wx || !w[i].Wh) {
      snprintf(last_error, sizeof last_error, "%s: %sWx, Wh and out must not be NULL", who, which);
      return GRU_INVALID_ARGUMENT;
    }
    if (has_bias ? (!w[i].b || !w[i].bhn) : (w[i].b || w[i].bhn)) {
      snprintf(last_error, sizeof last_error, "%s: %s%s", who, which,
               has_bias ? "this library has a bias: b and bhn are required"
                        : "this library has no bias: b and bhn must be NULL");
      return GRU_INVALID_ARGUMENT;
    }
  }
  const int32_t threads = threads_of_options(md, options, who);
  if (threads < 0) return GRU_INVALID_ARGUMENT;
  gru_status s = check_cpu(md->first);
  if (s != GRU_OK) return s;
  install_error_handler();
  void *block = halide_malloc(NULL, (size_t)(in_place ? md->bytes_in_place : md->bytes));
  if (!block) {
    snprintf(last_error, sizeof last_error, "%s: out of memory", who);
    return GRU_OUT_OF_MEMORY;
  }
  /* Every sub-model's struct starts zeroed (destroy skips those never initialized); sub-model 0
   * says which layout the block has first. */
  __builtin_memset(block, 0, sizeof(gru_rt_model));
  ((gru_rt_model *)block)->in_place = in_place;
  for (int32_t i = 0; i < count; ++i) {
    gru_rt_model *sub = sub_model(md, block, i);
    if (i > 0) __builtin_memset(sub, 0, sizeof *sub);
    sub->md = md;
    sub->in_place = in_place;
  }
  for (int32_t i = 0; i < count && s == GRU_OK; ++i)
    s = layer_init(sub_model(md, block, i), md, layer_descriptor(md, i), &w[i], in_place,
                   threads > 1);
  gru_rt_model *m = (gru_rt_model *)block;
  if (s == GRU_OK && threads > 1) {
    for (int32_t i = 0; i < md->team_count; ++i)
      if (md->team_sizes[i] == threads) m->team_step = md->team_steps[i];
    m->team = (gru_team *)halide_malloc(NULL, gru_team_bytes(threads));
    if (!m->team) {
      snprintf(last_error, sizeof last_error, "%s: out of memory", who);
      s = GRU_OUT_OF_MEMORY;
    } else if (gru_team_start(m->team, threads) != 0) {
      halide_free(NULL, m->team);
      m->team = NULL;
      snprintf(last_error, sizeof last_error, "%s: cannot start the team's %ld threads", who,
               (long)threads - 1);
      s = GRU_OUT_OF_MEMORY;
    } else if (!in_place) {
      team_job job;
      job.w = w;
      s = run_job(m, pack_member, &job, 0);
    }
  }
  for (int32_t i = 0; i < count && s == GRU_OK; ++i) {
    gru_rt_model *sub = sub_model(md, block, i);
    /* A reset-before layer (no MLX counterpart) keeps multiplying the zero state. */
    sub->wh_nonfinite = !sub->d->reset_before && stored_nonfinite(sub->d, sub->Wh.buf.host);
    if (sub->wh_nonfinite) s = make_zero_wh(sub, who);
  }
  if (s != GRU_OK) {
    gru_rt_destroy((gru_rt_model *)block);
    return s;
  }
  *out = (gru_rt_model *)block;
  return GRU_OK;
}

/* The Halide target of the kernels a model runs (a portable library's chosen variant). */
GRU_RT_API const char *gru_rt_variant(const gru_rt_model *m) {
  return m ? m->md->first->halide_target : "";
}

GRU_RT_API gru_status gru_rt_create(const gru_model_descriptor *md, const float *Wx,
                                    const float *Wh, const float *b, const float *bhn,
                                    gru_rt_model **out) {
  if (!Wx || !Wh || !out) return fail(GRU_INVALID_ARGUMENT, "create: Wx, Wh and out must not be NULL");
  const gru_layer_weights w = {Wx, Wh, b, bhn};
  return create_model(md, &w, 1, out, "create", 0, 0, NULL);
}

GRU_RT_API gru_status gru_rt_create_with_options(const gru_model_descriptor *md, const float *Wx,
                                                 const float *Wh, const float *b,
                                                 const float *bhn, const gru_options *options,
                                                 gru_rt_model **out) {
  if (!Wx || !Wh || !out)
    return fail(GRU_INVALID_ARGUMENT, "create_with_options: Wx, Wh and out must not be NULL");
  const gru_layer_weights w = {Wx, Wh, b, bhn};
  return create_model(md, &w, 1, out, "create_with_options", 0, 0, options);
}

GRU_RT_API gru_status gru_rt_create_layers_with_options(const gru_model_descriptor *md,
                                                        const gru_layer_weights *w, int32_t count,
                                                        const gru_options *options,
                                                        gru_rt_model **out) {
  if (!w || !out)
    return fail(GRU_INVALID_ARGUMENT, "create_layers_with_options: w and out must not be NULL");
  return create_model(md, w, count, out, "create_layers_with_options", 1, 0, options);
}

/* The threads a model runs on: its team's, else 1. */
GRU_RT_API int32_t gru_rt_threads(const gru_rt_model *m) {
  return m && m->team ? m->team->threads : 1;
}

GRU_RT_API gru_status gru_rt_create_layers(const gru_model_descriptor *md,
                                           const gru_layer_weights *w, int32_t count,
                                           gru_rt_model **out) {
  if (!w || !out) return fail(GRU_INVALID_ARGUMENT, "create_layers: w and out must not be NULL");
  return create_model(md, w, count, out, "create_layers", 1, 0, NULL);
}

/* Projects all `rows` rows of x (dense rows of the layer's input size) into xp_blocks
 * [blocks][block_rows][3H]: whole blocks straight from x, the partial last block through the
 * zero-padded x_tail. */
static gru_status project_sequence(gru_rt_model *m, const float *x, int32_t rows,
                                   tensor *xp_blocks) {
  const gru_layer_descriptor *d = m->d;
  const int32_t D = d->input_size, B = d->block_rows;
  const int on_device = device_of(d) != NULL;
  const int32_t whole = rows / B, tail = rows % B;
  gru_status s = GRU_OK;
  for (int32_t i = 0; i < whole + (tail > 0) && s == GRU_OK; ++i) {
    const float *rows_x = x + (size_t)i * B * D;
    if (i == whole) {
      __builtin_memcpy(m->x_tail, rows_x, sizeof(float) * (size_t)tail * D);
      __builtin_memset(m->x_tail + (size_t)tail * D, 0, sizeof(float) * (size_t)(B - tail) * D);
      rows_x = m->x_tail;
    }
    tensor tx, txp;
    dense(&tx, on_device, rows_x, D, B, 0);
    s = slice(xp_blocks, 2, i, &txp);
    if (s == GRU_OK) s = project(m, d->projection, &tx, &txp);
    release(&tx); /* a GPU kernel copied the block to the device */
    release(&txp);
  }
  return s;
}

/* The recurrence over xp_seq [N][L][3H] into `states`, whose dimension `time_dim` is the
 * timestep: the state before timestep t is the one written at the step before (t-1, or t+1 when
 * walking `backwards` from L-1), read in place; h_first before the first step. Steps `from` ..
 * `to` - 1 of the walk (from 1: step 0's states are written, first_step_zero_wh). */
static gru_status recur(gru_rt_model *m, tensor *xp_seq, tensor *h_first, tensor *states,
                        int time_dim, int walk_backwards, int32_t from, int32_t to) {
  gru_status s = GRU_OK;
  const int32_t L = states->dim[time_dim].extent;
  const int32_t slices = slices_per_member(m->md, 1);
  for (int32_t i = from; i < to && s == GRU_OK; ++i) {
    const int32_t t = walk_backwards ? L - 1 - i : i, before = walk_backwards ? t + 1 : t - 1;
    tensor xp, h_prev, h_next;
    __builtin_memset(&h_prev, 0, sizeof h_prev);
    s = slice(xp_seq, 1, t, &xp);
    if (s == GRU_OK) s = slice(states, time_dim, t, &h_next);
    if (s == GRU_OK && i > 0) s = slice(states, time_dim, before, &h_prev);
    if (s == GRU_OK)
      s = slices ? advance_slices(m, 0, slices, i & 1, &xp, i > 0 ? &h_prev : h_first, &h_next)
                 : advance(m, &xp, i > 0 ? &h_prev : h_first, &h_next);
    release(&xp);
    release(&h_prev);
    release(&h_next);
  }
  return s;
}

/* mlx.nn.GRU without an initial state (hidden=None) takes its first step without a recurrent
 * product: r, z = sigmoid(xp_r, xp_z), n = tanh(xp_n + r * bhn), h = (1 - z) * n. The kernels
 * compute it from a zero state, which is the same but where Wh holds an infinity or a NaN
 * (0 * inf is NaN: NaN states where MLX's are finite). A layer instance whose stored Wh does
 * (wh_nonfinite) takes that step here: recur's step 0 (timestep 0, or L - 1 walking backwards)
 * with the step kernel over the zeros shaped as Wh in Wh's place (0 * 0: no recurrent product),
 * on every target. The caller runs it over all the states, on a model with a team too (whose
 * team step kernel has the same gates and order of sums: the same bits); recur or the team then
 * go on from step 1. */
static gru_status first_step_zero_wh(gru_rt_model *sub, tensor *xp_seq, tensor *h_first,
                                     tensor *states, int time_dim, int walk_backwards) {
  const tensor wh = sub->Wh;
  zero_wh_view(sub, &sub->Wh);
  const gru_status s = recur(sub, xp_seq, h_first, states, time_dim, walk_backwards, 0, 1);
  sub->Wh = wh;
  sub->Wh.buf.dim = sub->Wh.dim;
  return s;
}

/* On GPU targets the states were written on the device as [L][N][padded H], a slice a time:
 * fetch them all at once (part of <NAME>_RUN_SCRATCH_BYTES_GPU) and lay them out as
 * dst [N][L][row] (rows of `row` floats; the state is the first H of each). */
static gru_status fetch_states(const gru_layer_descriptor *d, tensor *states, float *dst,
                               int32_t row) {
  const int32_t L = states->dim[2].extent, pitch = states->dim[1].stride;
  const int32_t N = d->batch, H = d->hidden_size;
  float *staged = (float *)halide_malloc(NULL, sizeof(float) * (size_t)L * N * pitch);
  if (!staged) return fail(GRU_OUT_OF_MEMORY, "run: out of memory");
  states->buf.host = (uint8_t *)staged;
  states->buf.flags |= halide_buffer_flag_device_dirty;
  gru_status s = from_halide(halide_copy_to_host(kernel_context, &states->buf));
  for (int32_t t = 0; t < L && s == GRU_OK; ++t)
    for (int32_t n = 0; n < N; ++n)
      __builtin_memcpy(dst + ((size_t)n * L + t) * row, staged + ((size_t)t * N + n) * pitch,
                       sizeof(float) * (size_t)H);
  states->buf.host = NULL;
  halide_free(NULL, staged);
  return s;
}

/* Row n's steps reversed: dst[n][s] = src[n][len_n - 1 - s] for s < len_n, zeros after; rows of
 * `cols` floats, `dst_row` and `src_row` floats apart ([N][L][row] arrays). Its own inverse. */
static void reverse_rows(float *dst, int32_t dst_row, const float *src, int32_t src_row,
                         int32_t cols, int32_t N, int32_t L, const int32_t *lengths) {
  for (int32_t n = 0; n < N; ++n)
    for (int32_t t = 0; t < L; ++t) {
      float *to = dst + ((size_t)n * L + t) * dst_row;
      if (t < lengths[n]) {
        __builtin_memcpy(to, src + ((size_t)n * L + (lengths[n] - 1 - t)) * src_row,
                         sizeof(float) * (size_t)cols);
      } else {
        __builtin_memset(to, 0, sizeof(float) * (size_t)cols);
      }
    }
}

/* True, with last_error naming the pair, when the `a_bytes` bytes at `a` share a byte with the
 * `b_bytes` bytes at `b`. */
static int overlap(const char *a_name, const void *a, size_t a_bytes, const char *b_name,
                   const void *b, size_t b_bytes) {
  const uintptr_t a_lo = (uintptr_t)a, a_hi = a_lo + a_bytes;
  const uintptr_t b_lo = (uintptr_t)b, b_hi = b_lo + b_bytes;
  if (!a || !b || a_lo >= b_hi || b_lo >= a_hi) return 0;
  snprintf(last_error, sizeof last_error,
           "run: %s [%p, +%zu bytes) overlaps %s [%p, +%zu bytes); out and h_n must not share "
           "memory with x, h0, lengths or each other",
           a_name, a, a_bytes, b_name, b, b_bytes);
  return 1;
}

/* The host scratch of one run beyond the projected input (<NAME>_RUN_SCRATCH_BYTES): the
 * activations between layers, [N][L][directions * H], with more than one layer; with a backward
 * direction, a reversed copy of a layer's input and its states for rows shorter than the
 * sequence, [N][L][widest input] and [N][L][H]. GruSpec::run_scratch_row_bytes says the same. */
static size_t activation_floats(const gru_model_descriptor *md, size_t rows) {
  return md->layers > 1 ? rows * (size_t)md->directions * md->first->hidden_size : 0;
}
static size_t reversal_floats(const gru_model_descriptor *md, size_t rows) {
  if (md->direction == GRU_RT_FORWARD) return 0;
  int32_t widest = md->first->input_size;
  if (md->deep && md->deep->input_size > widest) widest = md->deep->input_size;
  return rows * ((size_t)widest + md->first->hidden_size);
}

/* Calls on one model must not overlap (the header's promise): run and step share the model's
 * scratch (x_tail, xp_step, h_step) and its team, whose barrier counts one caller; two at once
 * computed wrong states or crashed. The second call is refused, with nothing written: 1 when `m`
 * was free and is now this call's (release_model gives it back). */
static int claim_model(gru_rt_model *m, const char *who) {
  if (!__atomic_exchange_n(&m->busy, 1, __ATOMIC_ACQUIRE)) return 1;
  snprintf(last_error, sizeof last_error,
           "%s: the model is in use by another call (calls on one model must not overlap)", who);
  return 0;
}
static void release_model(gru_rt_model *m) { __atomic_store_n(&m->busy, 0, __ATOMIC_RELEASE); }

static gru_status run_claimed(gru_rt_model *m, const float *x, int32_t seq_len,
                              const int32_t *lengths, const float *h0, float *out, float *h_n);

GRU_RT_API gru_status gru_rt_run_ex(gru_rt_model *m, const float *x, int32_t seq_len,
                                    const int32_t *lengths, const float *h0, float *out,
                                    float *h_n) {
  if (!m || !x || !out) return fail(GRU_INVALID_ARGUMENT, "run: m, x and out must not be NULL");
  if (!claim_model(m, "run")) return GRU_INVALID_ARGUMENT;
  const gru_status s = run_claimed(m, x, seq_len, lengths, h0, out, h_n);
  release_model(m);
  return s;
}

static gru_status run_claimed(gru_rt_model *m, const float *x, int32_t seq_len,
                              const int32_t *lengths, const float *h0, float *out, float *h_n) {
  const gru_model_descriptor *md = m->md;
  const gru_layer_descriptor *d0 = md->first;
  const int32_t D = d0->input_size, H = d0->hidden_size, N = d0->batch, G = 3 * H;
  const int32_t B = d0->block_rows, dirs = md->directions, subs = sub_models(md);
  const int32_t row = dirs * H; /* floats per output row */
  if (seq_len <= 0 || seq_len > d0->max_seq_len) {
    snprintf(last_error, sizeof last_error, "run: seq_len %ld is outside [1, %ld]", (long)seq_len,
             (long)d0->max_seq_len);
    return GRU_INVALID_ARGUMENT;
  }
  int ragged = 0; /* some row shorter than seq_len */
  for (int32_t n = 0; lengths && n < N; ++n) {
    if (lengths[n] < 1 || lengths[n] > seq_len) {
      snprintf(last_error, sizeof last_error, "run: lengths[%ld] = %ld is outside [1, seq_len %ld]",
               (long)n, (long)lengths[n], (long)seq_len);
      return GRU_INVALID_ARGUMENT;
    }
    ragged |= lengths[n] != seq_len;
  }
  /* run writes out and h_n while it still reads x and h0: refused, before anything is written. */
  const size_t rows_total = (size_t)N * (size_t)seq_len, states = (size_t)subs * N * H;
  /* lengths too: they are read again after the states are written (the zeros past each row's
   * length, h_n). */
  const size_t x_bytes = rows_total * D * sizeof(float), out_bytes = rows_total * row * sizeof(float);
  const size_t states_bytes = states * sizeof(float), lengths_bytes = (size_t)N * sizeof(int32_t);
  if (overlap("x", x, x_bytes, "out", out, out_bytes) ||
      overlap("h0", h0, states_bytes, "out", out, out_bytes) ||
      overlap("lengths", lengths, lengths_bytes, "out", out, out_bytes) ||
      overlap("x", x, x_bytes, "h_n", h_n, states_bytes) ||
      overlap("h0", h0, states_bytes, "h_n", h_n, states_bytes) ||
      overlap("lengths", lengths, lengths_bytes, "h_n", h_n, states_bytes) ||
      overlap("out", out, out_bytes, "h_n", h_n, states_bytes))
    return GRU_INVALID_ARGUMENT;

  const struct halide_device_interface_t *device = device_of(d0);
  const int32_t rows = N * seq_len; /* bounded by max_seq_len: fits in int32 */
  const int32_t blocks = (int32_t)(((int64_t)rows + B - 1) / B);
  /* xp for the whole sequence, one per direction. The projection sees it as blocks of rows, the
   * recurrence as [N][L][3H] (the first rows of it). Both directions of a layer are projected
   * before either writes its states, which may overwrite the layer's input (the activations).
   * The call's host scratch is one block from halide_malloc: xp (on CPU targets; GPU targets
   * make it on the device), then the activations, then the reversal. One block rather than one
   * per array: glibc's malloc then keeps it in its heap from one call to the next, where three
   * or four arrays went back to the system after each call and the next call's first touches
   * faulted and cleared their pages again (3-4 % of a 2-layer bidirectional model's run_ex at
   * D=H=256 N=16). The bytes are the same (<NAME>_RUN_SCRATCH_BYTES). */
  const size_t xp_floats = (size_t)blocks * B * (size_t)padded(d0, G);
  const size_t host_xp_floats = device ? 0 : xp_floats;
  const size_t act_floats = activation_floats(md, rows_total);
  const size_t rev_floats = reversal_floats(md, rows_total);
  const size_t scratch_floats = (size_t)dirs * host_xp_floats + act_floats + rev_floats;
  float *scratch = NULL;
  gru_status s = GRU_OK;
  if (scratch_floats && !(scratch = (float *)halide_malloc(NULL, sizeof(float) * scratch_floats)))
    s = fail(GRU_OUT_OF_MEMORY, "run: out of memory");
  tensor xp_blocks[2] = {no_tensor, no_tensor}, xp_seq[2] = {no_tensor, no_tensor};
  for (int32_t dir = 0; dir < dirs && s == GRU_OK; ++dir) {
    float *xp_host = device ? NULL : scratch + (size_t)dir * xp_floats;
    view(&xp_blocks[dir], 0, xp_host, G, B, blocks, padded(d0, G));
    if (device) s = from_halide(halide_device_malloc(kernel_context, &xp_blocks[dir].buf, device));
    view(&xp_seq[dir], 0, xp_host, G, seq_len, N, padded(d0, G));
    xp_seq[dir].buf.device = xp_blocks[dir].buf.device; /* shared, never released through it */
    xp_seq[dir].buf.device_interface = xp_blocks[dir].buf.device_interface;
  }
  float *act = act_floats && scratch ? scratch + (size_t)dirs * host_xp_floats : NULL;
  float *rev = rev_floats && scratch ? scratch + (size_t)dirs * host_xp_floats + act_floats : NULL;
  float *rev_states = rev ? rev + (rev_floats - rows_total * H) : NULL;

  for (int32_t l = 0; l < md->layers && s == GRU_OK; ++l) {
    const float *in = l == 0 ? x : act;
    float *dst = l == md->layers - 1 ? out : act;
    for (int32_t dir = 0; dir < dirs && s == GRU_OK; ++dir) {
      gru_rt_model *sub = sub_model(md, m, l * dirs + dir);
      const float *src = in;
      if (ragged && backwards(md, dir)) { /* row n's backward walk starts at lengths[n] - 1 */
        const int32_t Dl = sub->d->input_size;
        reverse_rows(rev, Dl, in, Dl, Dl, N, seq_len, lengths);
        src = rev;
      }
      s = project_sequence(sub, src, rows, &xp_blocks[dir]);
    }
    for (int32_t dir = 0; dir < dirs && s == GRU_OK; ++dir) {
      const int32_t i = l * dirs + dir;
      gru_rt_model *sub = sub_model(md, m, i);
      /* Rows of different lengths walk backwards over the reversed copy, forwards in time. */
      const int reversed_copy = ragged && backwards(md, dir);
      const int walk_backwards = backwards(md, dir) && !reversed_copy;
      tensor h_first, st;
      if (h0) {
        dense(&h_first, device != NULL, h0 + (size_t)i * N * H, H, N, 0);
      } else {
        h_first = sub->zeros; /* the model's own, resident on the device: never released here */
        h_first.buf.dim = h_first.dim;
      }
      float *target = reversed_copy ? rev_states : dst + (size_t)dir * H;
      const int32_t target_row = reversed_copy ? H : row;
      /* Without h0, MLX's first step where a zero state would make NaN of Wh's infinities. */
      const int32_t from = !h0 && sub->wh_nonfinite;
      /* The states: on GPU targets [L][N][padded H] in device memory, fetched at the end of the
       * direction; on CPU targets straight into the destination, [N][L][row]. */
      const int time_dim = device ? 2 : 1;
      if (device) {
        view(&st, 0, NULL, H, N, seq_len, padded(d0, H));
        s = from_halide(halide_device_malloc(kernel_context, &st.buf, device));
      } else {
        view(&st, 0, target, H, seq_len, N, target_row);
      }
      if (s == GRU_OK && from)
        s = first_step_zero_wh(sub, &xp_seq[dir], &h_first, &st, time_dim, walk_backwards);
      if (s == GRU_OK && m->team) {
        team_job job;
        job.sub = sub;
        job.xp_seq = &xp_seq[dir];
        job.h_first = &h_first;
        job.states = &st;
        job.time_dim = time_dim;
        job.walk_backwards = walk_backwards;
        job.from = from;
        s = run_job(m, recur_member, &job, 0);
      } else if (s == GRU_OK) {
        s = recur(sub, &xp_seq[dir], &h_first, &st, time_dim, walk_backwards, from, seq_len);
      }
      if (device) {
        if (s == GRU_OK) s = fetch_states(sub->d, &st, target, target_row);
        release(&st);
      }
      if (h0) release(&h_first);
      if (s == GRU_OK && reversed_copy)
        reverse_rows(dst + (size_t)dir * H, row, rev_states, H, H, N, seq_len, lengths);
    }
    if (s != GRU_OK) break;
    /* Past a row's length its outputs are zeros (PyTorch's padded packed sequences). */
    for (int32_t n = 0; ragged && n < N; ++n)
      __builtin_memset(dst + ((size_t)n * seq_len + lengths[n]) * row, 0,
                       sizeof(float) * (size_t)(seq_len - lengths[n]) * row);
    /* Each row's last state: the forward walk's at lengths[n] - 1, the backward walk's at 0. */
    for (int32_t dir = 0; h_n && dir < dirs; ++dir)
      for (int32_t n = 0; n < N; ++n) {
        const int32_t t = backwards(md, dir) ? 0 : (lengths ? lengths[n] : seq_len) - 1;
        __builtin_memcpy(h_n + ((size_t)(l * dirs + dir) * N + n) * H,
                         dst + ((size_t)n * seq_len + t) * row + (size_t)dir * H,
                         sizeof(float) * (size_t)H);
      }
  }
  for (int32_t dir = 0; dir < dirs; ++dir) release(&xp_blocks[dir]);
  if (scratch) halide_free(NULL, scratch); /* halide_free(NULL) is not a no-op */
  return s;
}

GRU_RT_API gru_status gru_rt_run(gru_rt_model *m, const float *x, int32_t seq_len,
                                 const float *h0, float *out) {
  return gru_rt_run_ex(m, x, seq_len, NULL, h0, out, NULL);
}

/* Every layer of a forward model, one timestep. x_t may overlap h: layer 0's projection reads
 * all of x_t into its xp_step, and each step kernel reads its state into h_step, before that
 * state is written (the copy); layer l > 0 reads layer l-1's new state. */
static gru_status step_claimed(gru_rt_model *m, const float *x_t, float *h);

GRU_RT_API gru_status gru_rt_step(gru_rt_model *m, const float *x_t, float *h) {
  if (!m || !x_t || !h) return fail(GRU_INVALID_ARGUMENT, "step: m, x_t and h must not be NULL");
  if (!claim_model(m, "step")) return GRU_INVALID_ARGUMENT;
  const gru_status s = step_claimed(m, x_t, h);
  release_model(m);
  return s;
}

static gru_status step_claimed(gru_rt_model *m, const float *x_t, float *h) {
  const gru_model_descriptor *md = m->md;
  if (md->direction != GRU_RT_FORWARD)
    return fail(GRU_INVALID_ARGUMENT,
                md->direction == GRU_RT_BIDIRECTIONAL
                    ? "step: a bidirectional model cannot stream: its backward direction starts "
                      "at the sequence's end (use run)"
                    : "step: a reverse model cannot stream: it starts at the sequence's end "
                      "(use run)");
  gru_status s = GRU_OK;
  if (m->team) { /* layer 0's projection here, the rest on the team */
    tensor tx;
    dense(&tx, 0, x_t, m->d->input_size, m->d->batch, 0);
    s = project(m, md->team_step_projection[0], &tx, &m->xp_step);
    team_job job;
    job.h = h;
    job.walk_backwards = m->step_backwards; /* the slices' way (step_member) */
    m->step_backwards = !m->step_backwards;
    return s == GRU_OK ? run_job(m, step_member, &job, 1) : s;
  }
  const int32_t slices = slices_per_member(md, 1);
  const int backwards = m->step_backwards;
  m->step_backwards = !m->step_backwards;
  for (int32_t l = 0; l < md->layers && s == GRU_OK; ++l) {
    gru_rt_model *sub = sub_model(md, m, l);
    const gru_layer_descriptor *d = sub->d;
    const int32_t D = d->input_size, H = d->hidden_size, N = d->batch;
    const struct halide_device_interface_t *device = device_of(d);
    float *state = h + (size_t)l * N * H;
    tensor tx, th;
    dense(&tx, device != NULL, l == 0 ? x_t : state - (size_t)N * H, D, N, 0);
    dense(&th, device != NULL, state, H, N, 0);
    s = project(sub, d->step_projection, &tx, &sub->xp_step);
    if (s == GRU_OK)
      s = slices ? advance_slices(sub, 0, slices, backwards, &sub->xp_step, &th, &sub->h_step)
                 : advance(sub, &sub->xp_step, &th, &sub->h_step);
    if (s == GRU_OK && device)
      s = from_halide(halide_copy_to_host(kernel_context, &sub->h_step.buf));
    if (s == GRU_OK) __builtin_memcpy(state, sub->h_step.buf.host, sizeof(float) * (size_t)N * H);
    release(&tx);
    release(&th);
  }
  return s;
}

/* ---- Weights from a file, weights in the library ----------------------------------------- */

static void *file_alloc(void *ctx, size_t bytes) { return halide_malloc(ctx, bytes); }
static void file_release(void *ctx, void *p) { halide_free(ctx, p); }

/* Reads the whole file into halide_malloc'ed memory. */
static gru_status read_file(const char *path, uint8_t **bytes, uint64_t *size) {
  struct stat before;
  /* Opening a FIFO would block until someone writes to it: only regular files are opened. */
  if (stat(path, &before) == 0 && !S_ISREG(before.st_mode)) {
    snprintf(last_error, sizeof last_error, "cannot read '%s' (not a regular file?)", path);
    return GRU_IO_ERROR;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(last_error, sizeof last_error, "cannot open '%s'", path);
    return GRU_IO_ERROR;
  }
  gru_status s = GRU_OK;
  long length = -1;
  struct stat info;
  /* A directory opens on Linux, and its "length" is absurd: only regular files are read. */
  if (fstat(fileno(f), &info) == 0 && S_ISREG(info.st_mode) && fseek(f, 0, SEEK_END) == 0)
    length = ftell(f);
  if (length < 0 || fseek(f, 0, SEEK_SET) != 0) {
    snprintf(last_error, sizeof last_error, "cannot read '%s' (not a regular file?)", path);
    s = GRU_IO_ERROR;
  }
  uint8_t *data = NULL;
  if (s == GRU_OK) {
    data = (uint8_t *)halide_malloc(NULL, length > 0 ? (size_t)length : 1);
    if (!data) s = fail(GRU_OUT_OF_MEMORY, "create_from_safetensors: out of memory");
  }
  if (s == GRU_OK && fread(data, 1, (size_t)length, f) != (size_t)length) {
    snprintf(last_error, sizeof last_error, "cannot read '%s'", path);
    s = GRU_IO_ERROR;
  }
  fclose(f);
  if (s != GRU_OK) {
    if (data) halide_free(NULL, data);
    return s;
  }
  *bytes = data;
  *size = (uint64_t)length;
  return GRU_OK;
}

/* The floats of one layer instance's weights: Wx [3H][D_l], Wh [3H][H], then b and bhn with bias
 * (the order of embedded weights and of the scratch below). */
static size_t layer_floats(const gru_layer_descriptor *d) {
  const size_t G = 3 * (size_t)d->hidden_size;
  return G * d->input_size + G * d->hidden_size + (d->has_bias ? G + d->hidden_size : 0);
}

/* Points w at one layer instance's weights stored in that order at `at`. */
static const float *layer_weights(const gru_layer_descriptor *d, const float *at,
                                  gru_layer_weights *w) {
  const size_t G = 3 * (size_t)d->hidden_size;
  w->Wx = at;
  w->Wh = at + G * d->input_size;
  w->b = d->has_bias ? w->Wh + G * d->hidden_size : NULL;
  w->bhn = d->has_bias ? w->b + G : NULL;
  return at + layer_floats(d);
}

enum { kMaxSubModels = 128 }; /* GruSpecLimits::kMaxLayers x 2 directions */

static const char *direction_word(int directions, int reverse) {
  return directions == 2 ? "bidirectional" : reverse ? "reverse" : "forward";
}

/* The model in the file under `prefix` (gst_find_model, the reader gru-gen's --weights uses:
 * one forward layer under "<prefix>Wx", ..., or layer l's instances under "<prefix><l>." and
 * "<prefix><l>.reverse."), which must be the library's. */
static gru_status create_from_file(const gru_model_descriptor *md, const char *path,
                                   const char *prefix, const gru_options *options,
                                   gru_rt_model **out, const char *who) {
  if (!path || !out) {
    snprintf(last_error, sizeof last_error, "%s: path and out must not be NULL", who);
    return GRU_INVALID_ARGUMENT;
  }
  if (!prefix) prefix = "";
  const int32_t subs = sub_models(md);
  if (subs > kMaxSubModels) return fail(GRU_INTERNAL_ERROR, "create_from_safetensors: too many layers");
  const gru_layer_descriptor *d0 = md->first;
  uint8_t *bytes = NULL;
  uint64_t size = 0;
  gru_status s = read_file(path, &bytes, &size);
  if (s != GRU_OK) return s;
  gst_gru_model *model = (gst_gru_model *)halide_malloc(NULL, sizeof(gst_gru_model));
  if (!model) {
    halide_free(NULL, bytes);
    return fail(GRU_OUT_OF_MEMORY, "create_from_safetensors: out of memory");
  }

  const gst_allocator allocator = {file_alloc, file_release, NULL};
  gst_file file = {0};
  char reason[256];
  gst_result r = gst_open(bytes, size, &allocator, &file, reason, sizeof reason);
  if (r == GST_OK) r = gst_find_model(&file, prefix, model, reason, sizeof reason);
  const int reverse = md->direction == GRU_RT_REVERSE;
  if (r == GST_OK &&
      (model->input_size != d0->input_size || model->hidden_size != d0->hidden_size ||
       model->has_bias != (d0->has_bias != 0) || model->layers != md->layers ||
       model->directions != md->directions || (model->reverse != 0) != reverse)) {
    /* The layers are named when either side is more than one forward layer. */
    const int plain = model->layers == 1 && model->directions == 1 && !model->reverse &&
                      sub_models(md) == 1 && !reverse;
    char theirs[48] = "", ours[48] = "";
    if (!plain) {
      snprintf(theirs, sizeof theirs, " (%d %s layer%s)", model->layers,
               direction_word(model->directions, model->reverse), model->layers == 1 ? "" : "s");
      snprintf(ours, sizeof ours, " (%d %s layer%s)", (int)md->layers,
               direction_word(md->directions, reverse), md->layers == 1 ? "" : "s");
    }
    snprintf(reason, sizeof reason,
             "holds a GRU with D=%lld H=%lld bias %s%s; this library is D=%d H=%d bias %s%s",
             (long long)model->input_size, (long long)model->hidden_size,
             model->has_bias ? "on" : "off", theirs, (int)d0->input_size, (int)d0->hidden_size,
             d0->has_bias ? "on" : "off", ours);
    r = GST_FORMAT;
  } else if (r == GST_OK && !model->reset_after != (d0->reset_before != 0)) {
    snprintf(reason, sizeof reason,
             "holds a GRU that applies the reset gate %s the recurrent product (metadata "
             "\"%.100sreset_after\"%s); this library applies it %s",
             model->reset_after ? "after" : "before", prefix,
             model->reset_after ? " absent or \"true\"" : ": \"false\"",
             d0->reset_before ? "before" : "after");
    r = GST_FORMAT;
  }
  if (r == GST_OK) {
    /* Converted to float32 in one scratch block, which create copies. */
    size_t floats = 0;
    for (int32_t i = 0; i < subs; ++i) floats += layer_floats(layer_descriptor(md, i));
    float *w = (float *)halide_malloc(NULL, sizeof(float) * floats);
    if (!w) {
      s = fail(GRU_OUT_OF_MEMORY, "create_from_safetensors: out of memory");
    } else {
      gru_layer_weights lw[kMaxSubModels];
      const float *at = w;
      for (int32_t i = 0; i < subs; ++i) {
        const gru_layer_descriptor *d = layer_descriptor(md, i);
        const gst_gru_layer *cell = &model->cells[i];
        at = layer_weights(d, at, &lw[i]);
        gst_to_f32(&file, cell->Wx, (float *)lw[i].Wx);
        gst_to_f32(&file, cell->Wh, (float *)lw[i].Wh);
        if (d->has_bias) {
          gst_to_f32(&file, cell->b, (float *)lw[i].b);
          gst_to_f32(&file, cell->bhn, (float *)lw[i].bhn);
        }
      }
      s = create_model(md, lw, subs, out, who, 0, 0, options);
      halide_free(NULL, w);
    }
  }
  gst_close(&file, &allocator);
  halide_free(NULL, model);
  halide_free(NULL, bytes);
  if (r == GST_NO_MEMORY) return fail(GRU_OUT_OF_MEMORY, "create_from_safetensors: out of memory");
  if (r == GST_FORMAT) {
    snprintf(last_error, sizeof last_error, "%s: %s", path, reason);
    return GRU_FORMAT_ERROR;
  }
  return s;
}

/* The weights gru-gen embedded in the library: per layer instance, Wx, Wh, then b and bhn with
 * bias. */
GRU_RT_API gru_status gru_rt_create_from_safetensors(const gru_model_descriptor *md,
                                                     const char *path, const char *prefix,
                                                     gru_rt_model **out) {
  return create_from_file(md, path, prefix, NULL, out, "create_from_safetensors");
}

GRU_RT_API gru_status gru_rt_create_from_safetensors_with_options(const gru_model_descriptor *md,
                                                                  const char *path,
                                                                  const char *prefix,
                                                                  const gru_options *options,
                                                                  gru_rt_model **out) {
  return create_from_file(md, path, prefix, options, out,
                          "create_from_safetensors_with_options");
}

static gru_status create_embedded(const gru_model_descriptor *md, const gru_options *options,
                                  gru_rt_model **out, const char *who) {
  const float *w = md->embedded_weights;
  if (!w) {
    snprintf(last_error, sizeof last_error, "%s: this library has no embedded weights", who);
    return GRU_INVALID_ARGUMENT;
  }
  const int32_t subs = sub_models(md);
  if (subs > kMaxSubModels) return fail(GRU_INTERNAL_ERROR, "create_default: too many layers");
  gru_layer_weights lw[kMaxSubModels];
  for (int32_t i = 0; i < subs; ++i) w = layer_weights(layer_descriptor(md, i), w, &lw[i]);
  return create_model(md, lw, subs, out, who, 0, md->embedded_packed, options);
}

GRU_RT_API gru_status gru_rt_create_default(const gru_model_descriptor *md, gru_rt_model **out) {
  return create_embedded(md, NULL, out, "create_default");
}

GRU_RT_API gru_status gru_rt_create_default_with_options(const gru_model_descriptor *md,
                                                         const gru_options *options,
                                                         gru_rt_model **out) {
  return create_embedded(md, options, out, "create_default_with_options");
}

GRU_RT_API const char *gru_rt_status_string(gru_status s) {
  switch (s) {
    case GRU_OK: return "ok";
    case GRU_INVALID_ARGUMENT: return "invalid argument";
    case GRU_OUT_OF_MEMORY: return "out of memory";
    case GRU_IO_ERROR: return "I/O error";
    case GRU_FORMAT_ERROR: return "format error";
    case GRU_INTERNAL_ERROR: return "internal error";
    case GRU_UNSUPPORTED_CPU: return "unsupported CPU";
  }
  return "unknown status";
}
