/* Unit tests of the fixed runtime (runtime/gru_runtime.c) without gru-gen or Halide: the runtime
 * is included as a generated library includes it, around stub kernels that do the math naively
 * on halide_buffer_t and count their calls, and stub Halide runtime functions (an allocator that
 * counts and fails on demand, an error handler slot, a CPU that lacks chosen features).
 *
 * Usage: runtime.test <safetensors file of a GRU with D=7, H=13, bias>
 * Prints one line per failed check and, last, "<n> checks, <k> failed".
 */
#include "gru_runtime.c"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int checks, failures;
#define CHECK(cond)                                                          \
  do {                                                                       \
    ++checks;                                                                \
    if (!(cond)) {                                                           \
      ++failures;                                                            \
      printf("FAIL %s:%d: %s (last_error: %s)\n", __FILE__, __LINE__, #cond, \
             gru_rt_last_error());                                           \
    }                                                                        \
  } while (0)

/* ---- Halide's runtime, stubbed ----------------------------------------------------------- */

static int malloc_calls, malloc_fail_at = -1; /* the call (from 0) that fails; -1: none */
static size_t malloc_bytes_total;             /* requested by every successful call */
static long malloc_live;

void *halide_malloc(void *user_context, size_t bytes) {
  (void)user_context;
  if (malloc_calls++ == malloc_fail_at) return NULL;
  malloc_bytes_total += bytes;
  ++malloc_live;
  return aligned_alloc(64, (bytes + 63) / 64 * 64); /* Halide's is 64-byte aligned too */
}

void halide_free(void *user_context, void *p) {
  (void)user_context;
  if (p) --malloc_live;
  free(p);
}

static void reset_malloc(int fail_at) {
  malloc_calls = 0;
  malloc_fail_at = fail_at;
  malloc_bytes_total = 0;
}

static halide_error_handler_t error_handler;
halide_error_handler_t halide_set_error_handler(halide_error_handler_t handler) {
  halide_error_handler_t old = error_handler;
  error_handler = handler;
  return old;
}
void halide_default_error(void *user_context, const char *message) {
  (void)user_context;
  printf("FAIL: Halide's default error handler reached: %s", message);
  exit(1);
}

static uint64_t cpu_lacks; /* feature bits (word 0) this CPU lacks */
int halide_can_use_target_features(int count, const uint64_t *features) {
  return count < 1 || (features[0] & cpu_lacks) == 0;
}

/* CPU descriptors never reach the device. */
static int no_device(void) {
  printf("FAIL: a device function was called on a CPU descriptor\n");
  exit(1);
}
int halide_device_slice(void *u, const struct halide_buffer_t *s, int d, int p,
                        struct halide_buffer_t *o) {
  (void)u, (void)s, (void)d, (void)p, (void)o;
  return no_device();
}
int halide_device_release_crop(void *u, struct halide_buffer_t *b) {
  (void)u, (void)b;
  return no_device();
}
int halide_device_free(void *u, struct halide_buffer_t *b) {
  (void)u, (void)b;
  return no_device();
}
int halide_device_malloc(void *u, struct halide_buffer_t *b,
                         const struct halide_device_interface_t *i) {
  (void)u, (void)b, (void)i;
  return no_device();
}
int halide_copy_to_device(void *u, struct halide_buffer_t *b,
                          const struct halide_device_interface_t *i) {
  (void)u, (void)b, (void)i;
  return no_device();
}
int halide_copy_to_host(void *u, struct halide_buffer_t *b) {
  (void)u, (void)b;
  return no_device();
}
/* Halide's thread pool: one thread (the runtime walks a descriptor's step slices only then). */
int halide_get_num_threads(void) { return 1; }

/* ---- Stub kernels ------------------------------------------------------------------------- */

static int32_t wx_panel, wh_panel, xp_panel; /* the layout the stubs read (the descriptor's) */
static int projection_calls, projection_rows, step_calls;
static int kernel_fails;      /* nonzero: the next kernel reports this Halide error code */

static float at2(const struct halide_buffer_t *b, int i0, int i1) {
  return ((const float *)b->host)[i0 * b->dim[0].stride + i1 * b->dim[1].stride];
}
static float *at2w(struct halide_buffer_t *b, int i0, int i1) {
  return (float *)b->host + i0 * b->dim[0].stride + i1 * b->dim[1].stride;
}
/* Where element (gate g, column c, k) of W [gates x per_gate][K] (MLX's layout) is in the
 * descriptor's layout: panels of `panel` columns per gate, [per_gate / panel][K][gates][panel],
 * or MLX's with panel 0. Written from the layout's definition, not from the runtime's code. */
static size_t packed_at(int gates, int per_gate, int K, int panel, int g, int c, int k) {
  if (panel == 0) return ((size_t)g * per_gate + c) * K + k;
  return (size_t)(c / panel) * K * gates * panel + (size_t)k * gates * panel +
         (size_t)g * panel + c % panel;
}
/* The column of xp (and of packed Wx, and b's entry) of gate g's state i of H, for xp_panel X:
 * X > 0, the gates of each X states side by side, [H / X][3][X]; 0, MLX's [3][H]. From the
 * layout's definition (runtime/gru_runtime_internal.h), not from the runtime's code. */
static int xp_col(int g, int i, int H, int X) {
  return X > 0 ? (i / X) * 3 * X + g * X + i % X : g * H + i;
}
/* W [G][cols] in MLX order, whatever the layout: Wx (gates 1) or Wh (gates 3). */
static float weight(const struct halide_buffer_t *w, int gates, int per_gate, int K, int panel,
                    int j, int k) {
  return ((const float *)w->host)[packed_at(gates, per_gate, K, panel, j / per_gate,
                                            j % per_gate, k)];
}

static int kernel_error(void const *user_context) {
  const int code = kernel_fails;
  kernel_fails = 0;
  error_handler((void *)user_context, "stub kernel failed\n");
  return code;
}

static int projection(void const *uc, struct halide_buffer_t *x, struct halide_buffer_t *Wx,
                      struct halide_buffer_t *b, struct halide_buffer_t *xp) {
  if (kernel_fails) return kernel_error(uc);
  ++projection_calls;
  const int D = x->dim[0].extent, rows = x->dim[1].extent, G = xp->dim[0].extent;
  projection_rows += rows;
  for (int r = 0; r < rows; ++r)
    for (int j = 0; j < G; ++j) {
      float sum = b ? ((const float *)b->host)[j] : 0.0f;
      for (int k = 0; k < D; ++k) sum += at2(x, k, r) * weight(Wx, 1, G, D, wx_panel, j, k);
      *at2w(xp, j, r) = sum;
    }
  return 0;
}
static int projection_no_bias(void const *uc, struct halide_buffer_t *x,
                              struct halide_buffer_t *Wx, struct halide_buffer_t *xp) {
  return projection(uc, x, Wx, NULL, xp);
}

static float sigmoid(float v) { return 1.0f / (1.0f + expf(-v)); }

static int step(void const *uc, struct halide_buffer_t *xp, struct halide_buffer_t *h,
                struct halide_buffer_t *Wh, struct halide_buffer_t *bhn,
                struct halide_buffer_t *h_next) {
  if (kernel_fails) return kernel_error(uc);
  ++step_calls;
  const int H = h->dim[0].extent, N = h->dim[1].extent;
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < H; ++i) {
      float hp[3];
      for (int g = 0; g < 3; ++g) {
        hp[g] = 0.0f;
        for (int k = 0; k < H; ++k) hp[g] += at2(h, k, n) * weight(Wh, 3, H, H, wh_panel, g * H + i, k);
      }
      /* xp in the descriptor's order; the projection stub wrote packed Wx's column j there. */
      const float r = sigmoid(at2(xp, xp_col(0, i, H, xp_panel), n) + hp[0]),
                  z = sigmoid(at2(xp, xp_col(1, i, H, xp_panel), n) + hp[1]);
      const float c = tanhf(at2(xp, xp_col(2, i, H, xp_panel), n) +
                            r * (hp[2] + (bhn ? ((const float *)bhn->host)[i] : 0.0f)));
      *at2w(h_next, i, n) = (1.0f - z) * c + z * at2(h, i, n);
    }
  return 0;
}
static int step_no_bias(void const *uc, struct halide_buffer_t *xp, struct halide_buffer_t *h,
                        struct halide_buffer_t *Wh, struct halide_buffer_t *h_next) {
  return step(uc, xp, h, Wh, NULL, h_next);
}

/* ---- Descriptors -------------------------------------------------------------------------- */

static const uint64_t features[2] = {(1u << 3) | (1u << 5), 0};
static const gru_rt_feature feature_names[] = {{3, "sse41"}, {5, "fma"}, {-1, ""}};

/* The layout GruSpec::model_layout computes: the struct's 1024 bytes, then each array rounded
 * up to 64 bytes. */
static uint64_t carve(uint64_t *at, uint64_t floats) {
  const uint64_t offset = *at;
  *at = (*at + floats * 4 + 63) / 64 * 64;
  return offset;
}

/* pack_weights: 0, MLX's layout; 1, packed in one panel (wx_panel 3H, wh_panel H); 2, in
 * several panels (wx_panel 3, wh_panel the smallest divisor of H above 1); 3, as 2 with xp's
 * columns (Wx's rows, b) in the order of Wh's panels (xp_panel wh_panel). Sets the stubs'. */
static gru_layer_descriptor make(int32_t D, int32_t H, int32_t N, int bias, int32_t block_rows,
                                 int pack_weights) {
  gru_layer_descriptor d;
  memset(&d, 0, sizeof d);
  d.version = GRU_LAYER_DESCRIPTOR_VERSION;
  d.input_size = D, d.hidden_size = H, d.batch = N, d.has_bias = bias;
  d.max_seq_len = 100;
  d.block_rows = block_rows;
  d.wx_panel = pack_weights == 0 ? 0 : pack_weights == 1 ? 3 * H : 3;
  d.wh_panel = pack_weights == 0 ? 0 : H;
  for (int32_t p = 2; pack_weights >= 2 && p < H; ++p)
    if (H % p == 0) {
      d.wh_panel = p;
      break;
    }
  d.xp_panel = pack_weights == 3 ? d.wh_panel : 0;
  wx_panel = d.wx_panel, wh_panel = d.wh_panel, xp_panel = d.xp_panel;
  d.row_align_floats = 1;
  d.k_group = 1;
  uint64_t at = 1024;
  const uint64_t G = 3 * (uint64_t)H;
  d.layout.Wx = carve(&at, G * D);
  d.layout.Wh = carve(&at, G * H);
  d.layout.b = carve(&at, bias ? G : 0);
  d.layout.bhn = carve(&at, bias ? H : 0);
  d.layout.x_tail = carve(&at, (uint64_t)block_rows * D);
  d.layout.zeros = carve(&at, (uint64_t)N * H);
  d.layout.xp_step = carve(&at, (uint64_t)N * G);
  d.layout.h_step = carve(&at, (uint64_t)N * H);
  d.layout.bytes = at;
  if (bias) {
    d.projection.bias = d.step_projection.bias = projection;
    d.step.bias = step;
  } else {
    d.projection.no_bias = d.step_projection.no_bias = projection_no_bias;
    d.step.no_bias = step_no_bias;
  }
  d.target_feature_words = 2;
  d.target_features = features;
  d.target_feature_names = feature_names;
  d.halide_target = "x86-64-linux-fma-sse41";
  return d;
}

/* Model descriptors around layer descriptors (a pool: a model keeps pointing at its own). */
static gru_model_descriptor model_pool[32];
static int model_next;
static const gru_model_descriptor *model_of(const gru_layer_descriptor *first,
                                            const gru_layer_descriptor *deep, int layers,
                                            int direction, const float *embedded) {
  gru_model_descriptor *md = &model_pool[model_next++ % 32];
  memset(md, 0, sizeof *md);
  md->version = GRU_MODEL_DESCRIPTOR_VERSION;
  md->layers = layers;
  md->directions = direction == GRU_RT_BIDIRECTIONAL ? 2 : 1;
  md->direction = direction;
  md->first = first;
  md->deep = deep;
  md->bytes = md->directions * (first->layout.bytes + (layers - 1) * (deep ? deep->layout.bytes : 0));
  md->embedded_weights = embedded;
  return md;
}
static const gru_model_descriptor *one(const gru_layer_descriptor *d) {
  return model_of(d, NULL, 1, GRU_RT_FORWARD, NULL);
}

/* ---- The reference: MLX's GRU, in double ----------------------------------------------------- */

/* One layer instance of PyTorch's packed-sequence semantics, in double: row n walks
 * 0..len-1 (or len-1..0 backwards) from h0 (or zeros); states go to out [N][L][row] at column
 * `col`, zeros past len; the last state to hn [N][H]. Written from the semantics, not from the
 * runtime's code. */
static void reference_instance(int D, int H, int N, const float *Wx, const float *Wh,
                               const float *b, const float *bhn, const float *in, int L,
                               const int32_t *lengths, const float *h0, int backwards, float *out,
                               int row, int col, float *hn) {
  for (int n = 0; n < N; ++n) {
    const int len = lengths ? lengths[n] : L;
    double h[64];
    for (int i = 0; i < H; ++i) h[i] = h0 ? h0[n * H + i] : 0.0;
    for (int t = len; t < L; ++t)
      for (int i = 0; i < H; ++i) out[((size_t)n * L + t) * row + col + i] = 0.0f;
    for (int s = 0; s < len; ++s) {
      const int t = backwards ? len - 1 - s : s;
      const float *xt = in + ((size_t)n * L + t) * D;
      double next[64];
      for (int i = 0; i < H; ++i) {
        double xp[3], hp[3];
        for (int g = 0; g < 3; ++g) {
          const int j = g * H + i;
          xp[g] = b ? b[j] : 0.0;
          for (int k = 0; k < D; ++k) xp[g] += (double)xt[k] * Wx[j * D + k];
          hp[g] = 0.0;
          for (int k = 0; k < H; ++k) hp[g] += h[k] * Wh[j * H + k];
        }
        const double r = 1 / (1 + exp(-(xp[0] + hp[0]))), z = 1 / (1 + exp(-(xp[1] + hp[1])));
        const double c = tanh(xp[2] + r * (hp[2] + (bhn ? bhn[i] : 0.0)));
        next[i] = (1 - z) * c + z * h[i];
      }
      for (int i = 0; i < H; ++i) out[((size_t)n * L + t) * row + col + i] = (float)(h[i] = next[i]);
    }
    for (int i = 0; i < H; ++i) hn[n * H + i] = (float)h[i];
  }
}

/* One forward layer, every row L long: the reference of test_numbers. */
static void reference(const gru_layer_descriptor *d, const float *Wx, const float *Wh,
                      const float *b, const float *bhn, const float *x, int L, const float *h0,
                      float *out) {
  float *hn = malloc(sizeof(float) * (size_t)d->batch * d->hidden_size);
  reference_instance(d->input_size, d->hidden_size, d->batch, Wx, Wh, b, bhn, x, L, NULL, h0, 0,
                     out, d->hidden_size, 0, hn);
  free(hn);
}

static float *values(size_t n, unsigned seed) {
  float *v = malloc(n * sizeof *v);
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1103515245u + 12345u;
    v[i] = ((float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f);
  }
  return v;
}

static int close_to(const float *a, const float *b, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (fabsf(a[i] - b[i]) > 1e-5f) return 0;
  return 1;
}

/* ---- The tests ---------------------------------------------------------------------------- */

/* create carves one block at the descriptor's offsets, packs (transposes) or copies the weights;
 * run projects in blocks (the last one partial, through x_tail) and steps once per timestep;
 * step L times equals run; all match the reference. */
static void test_numbers(int D, int H, int N, int bias, int block_rows, int pack_weights, int L) {
  gru_layer_descriptor d = make(D, H, N, bias, block_rows, pack_weights);
  const int G = 3 * H;
  float *Wx = values((size_t)G * D, 1), *Wh = values((size_t)G * H, 2), *b = values(G, 3);
  float *bhn = values(H, 4), *x = values((size_t)N * L * D, 5), *h0 = values((size_t)N * H, 6);
  float *out = calloc((size_t)N * L * H, sizeof(float)), *ref = calloc((size_t)N * L * H, 4);
  gru_rt_model *m = NULL;
  reset_malloc(-1);
  CHECK(gru_rt_create(one(&d), Wx, Wh, bias ? b : NULL, bias ? bhn : NULL, &m) == GRU_OK);
  if (!m) return;
  /* One allocation, of exactly layout.bytes (<NAME>_MODEL_BYTES). */
  CHECK(malloc_calls == 1 && malloc_bytes_total == d.layout.bytes);
  const uint8_t *block = (const uint8_t *)m;
  CHECK(m->Wx.buf.host == block + d.layout.Wx && m->Wh.buf.host == block + d.layout.Wh);
  CHECK((const uint8_t *)m->x_tail == block + d.layout.x_tail);
  CHECK(m->zeros.buf.host == block + d.layout.zeros);
  CHECK(m->xp_step.buf.host == block + d.layout.xp_step);
  CHECK(m->h_step.buf.host == block + d.layout.h_step);
  CHECK(!bias || (m->b.buf.host == block + d.layout.b && m->bhn.buf.host == block + d.layout.bhn));
  CHECK(sizeof *m <= d.layout.Wx);
  /* The weights, in the descriptor's panels or in MLX's [3H][D]. */
  const float *wx = (const float *)(block + d.layout.Wx), *wh = (const float *)(block + d.layout.Wh);
  int layout_ok = 1;
  for (int j = 0; j < G; ++j) {
    const int col = xp_col(j / H, j % H, H, d.xp_panel); /* Wx's row j: xp's column */
    for (int k = 0; k < D; ++k)
      layout_ok &= wx[packed_at(1, G, D, d.wx_panel, 0, col, k)] == Wx[j * D + k];
    if (bias) layout_ok &= ((const float *)(block + d.layout.b))[col] == b[j];
  }
  for (int j = 0; j < G; ++j)
    for (int k = 0; k < H; ++k)
      layout_ok &= wh[packed_at(3, H, H, d.wh_panel, j / H, j % H, k)] == Wh[j * H + k];
  CHECK(layout_ok);
  for (int i = 0; i < N * H; ++i) CHECK(((const float *)(block + d.layout.zeros))[i] == 0.0f);

  for (int with_h0 = 0; with_h0 < 2; ++with_h0) {
    projection_calls = projection_rows = step_calls = 0;
    reset_malloc(-1);
    CHECK(gru_rt_run(m, x, L, with_h0 ? h0 : NULL, out) == GRU_OK);
    const int blocks = (N * L + block_rows - 1) / block_rows;
    CHECK(projection_calls == blocks && projection_rows == blocks * block_rows);
    CHECK(step_calls == L);
    /* run's scratch: <NAME>_RUN_SCRATCH_BYTES(L), freed. */
    CHECK(malloc_calls == 1 && malloc_bytes_total == (size_t)blocks * block_rows * G * 4);
    reference(&d, Wx, Wh, bias ? b : NULL, bias ? bhn : NULL, x, L, with_h0 ? h0 : NULL, ref);
    CHECK(close_to(out, ref, (size_t)N * L * H));
  }
  /* step, L times from h0, gives run's states. */
  float *h = malloc(sizeof(float) * N * H), *x_t = malloc(sizeof(float) * N * D);
  memcpy(h, h0, sizeof(float) * N * H);
  int same = 1;
  for (int t = 0; t < L; ++t) {
    for (int n = 0; n < N; ++n) memcpy(x_t + n * D, x + ((size_t)n * L + t) * D, sizeof(float) * D);
    CHECK(gru_rt_step(m, x_t, h) == GRU_OK);
    for (int n = 0; n < N; ++n) same &= close_to(h + n * H, ref + ((size_t)n * L + t) * H, H);
  }
  CHECK(same);
  gru_rt_destroy(m);
  free(h), free(x_t), free(Wx), free(Wh), free(b), free(bhn), free(x), free(h0), free(out);
  free(ref);
}

static int contains(const char *text, const char *part) { return strstr(text, part) != NULL; }

/* Invalid arguments: a status and a one-line last_error, nothing written. */
static void test_refusals(void) {
  gru_layer_descriptor d = make(3, 4, 2, 1, 4, 1), nb = make(3, 4, 2, 0, 4, 1);
  float *Wx = values(36, 1), *Wh = values(48, 2), *b = values(12, 3), *bhn = values(4, 4);
  gru_rt_model *m = NULL, *untouched = (gru_rt_model *)&d;
  CHECK(gru_rt_create(one(&d), NULL, Wh, b, bhn, &m) == GRU_INVALID_ARGUMENT);
  CHECK(contains(gru_rt_last_error(), "Wx, Wh and out must not be NULL"));
  CHECK(gru_rt_create(one(&d), Wx, Wh, b, bhn, NULL) == GRU_INVALID_ARGUMENT);
  CHECK(gru_rt_create(one(&d), Wx, Wh, NULL, bhn, &m) == GRU_INVALID_ARGUMENT);
  CHECK(contains(gru_rt_last_error(), "has a bias"));
  m = untouched;
  CHECK(gru_rt_create(one(&nb), Wx, Wh, b, NULL, &m) == GRU_INVALID_ARGUMENT && m == untouched);
  CHECK(contains(gru_rt_last_error(), "has no bias"));
  gru_layer_descriptor other = d;
  other.version = GRU_LAYER_DESCRIPTOR_VERSION + 1;
  CHECK(gru_rt_create(one(&other), Wx, Wh, b, bhn, &m) == GRU_INTERNAL_ERROR);
  CHECK(contains(gru_rt_last_error(), "version"));

  m = NULL;
  CHECK(gru_rt_create(one(&d), Wx, Wh, b, bhn, &m) == GRU_OK);
  float x[2 * 5 * 3], out[2 * 5 * 4 + 8], h[8];
  for (size_t i = 0; i < sizeof x / sizeof x[0]; ++i) x[i] = 0.25f;
  CHECK(gru_rt_run(NULL, x, 5, NULL, out) == GRU_INVALID_ARGUMENT);
  CHECK(contains(gru_rt_last_error(), "m, x and out must not be NULL"));
  CHECK(gru_rt_run(m, NULL, 5, NULL, out) == GRU_INVALID_ARGUMENT);
  CHECK(gru_rt_run(m, x, 0, NULL, out) == GRU_INVALID_ARGUMENT);
  CHECK(contains(gru_rt_last_error(), "seq_len 0 is outside [1, 100]"));
  CHECK(gru_rt_run(m, x, 101, NULL, out) == GRU_INVALID_ARGUMENT);
  CHECK(contains(gru_rt_last_error(), "seq_len 101 is outside [1, 100]"));
  /* Overlap: out over x, out over h0 (refused before anything is written); x over h0 is fine. */
  for (size_t i = 0; i < sizeof out / sizeof out[0]; ++i) out[i] = 7.0f;
  projection_calls = step_calls = 0;
  CHECK(gru_rt_run(m, out + 4, 2, NULL, out) == GRU_INVALID_ARGUMENT);
  CHECK(contains(gru_rt_last_error(), "run: x [") && contains(gru_rt_last_error(), "overlaps out"));
  CHECK(gru_rt_run(m, x, 2, out + 15, out) == GRU_INVALID_ARGUMENT);
  CHECK(contains(gru_rt_last_error(), "run: h0 ["));
  CHECK(projection_calls == 0 && step_calls == 0 && out[0] == 7.0f);
  CHECK(gru_rt_run(m, x, 2, x, out) == GRU_OK);
  CHECK(gru_rt_step(m, NULL, h) == GRU_INVALID_ARGUMENT);
  CHECK(contains(gru_rt_last_error(), "m, x_t and h must not be NULL"));
  /* step: x_t may be h itself. */
  for (int i = 0; i < 8; ++i) h[i] = 0.5f;
  CHECK(gru_rt_step(m, h, h) == GRU_OK);

  /* A kernel's error becomes a status, with Halide's message on one line. */
  kernel_fails = -1;
  CHECK(gru_rt_run(m, x, 5, NULL, out) == GRU_INTERNAL_ERROR);
  CHECK(strcmp(gru_rt_last_error(), "Halide: stub kernel failed ") == 0);
  kernel_fails = halide_error_code_out_of_memory;
  CHECK(gru_rt_step(m, x, h) == GRU_OUT_OF_MEMORY);
  gru_rt_destroy(m);
  gru_rt_destroy(NULL);

  CHECK(gru_rt_abi_version() == 3);
  CHECK(strcmp(gru_rt_status_string(GRU_OK), "ok") == 0);
  CHECK(strcmp(gru_rt_status_string(GRU_INVALID_ARGUMENT), "invalid argument") == 0);
  CHECK(strcmp(gru_rt_status_string(GRU_OUT_OF_MEMORY), "out of memory") == 0);
  CHECK(strcmp(gru_rt_status_string(GRU_IO_ERROR), "I/O error") == 0);
  CHECK(strcmp(gru_rt_status_string(GRU_FORMAT_ERROR), "format error") == 0);
  CHECK(strcmp(gru_rt_status_string(GRU_INTERNAL_ERROR), "internal error") == 0);
  CHECK(strcmp(gru_rt_status_string(GRU_UNSUPPORTED_CPU), "unsupported CPU") == 0);
  CHECK(strcmp(gru_rt_status_string((gru_status)99), "unknown status") == 0);

  /* A CPU without a feature of the target: refused at create, the feature named. */
  cpu_lacks = 1u << 5;
  m = NULL;
  CHECK(gru_rt_create(one(&d), Wx, Wh, b, bhn, &m) == GRU_UNSUPPORTED_CPU && m == NULL);
  CHECK(strcmp(gru_rt_last_error(), "create: this CPU lacks fma, which the library was "
                                    "compiled for (target x86-64-linux-fma-sse41)") == 0);
  cpu_lacks = 0;

  /* Embedded weights (Wx, Wh, b, bhn in one array), or none. */
  CHECK(gru_rt_create_default(one(&d), &m) == GRU_INVALID_ARGUMENT);
  float *all = malloc(sizeof(float) * (36 + 48 + 12 + 4));
  memcpy(all, Wx, 36 * 4), memcpy(all + 36, Wh, 48 * 4), memcpy(all + 84, b, 12 * 4);
  memcpy(all + 96, bhn, 4 * 4);
  CHECK(gru_rt_create_default(model_of(&d, NULL, 1, GRU_RT_FORWARD, all), &m) == GRU_OK);
  CHECK(m && ((const float *)m->bhn.buf.host)[3] == bhn[3]);
  gru_rt_destroy(m);
  free(all), free(Wx), free(Wh), free(b), free(bhn);
}

/* ---- Stacks: layers, directions, per-row lengths -------------------------------------------- */

/* A stack of `layers` layers in `direction` (GRU_RT_*): run_ex with and without lengths and h0
 * against the reference; h_n; for forward stacks step x L equals run; the misuses of stacks. */
static void test_stack(int D, int H, int N, int bias, int layers, int direction, int L,
                       const int32_t *lengths) {
  const int dirs = direction == GRU_RT_BIDIRECTIONAL ? 2 : 1, OUT = dirs * H, G = 3 * H;
  const int subs = layers * dirs;
  gru_layer_descriptor first = make(D, H, N, bias, 4, 2), deep = make(OUT, H, N, bias, 4, 2);
  const gru_model_descriptor *md = model_of(&first, layers > 1 ? &deep : NULL, layers, direction, NULL);
  gru_layer_weights w[8];
  float *owned[32];
  int owned_count = 0;
  for (int i = 0; i < subs; ++i) {
    const int Dl = i < dirs ? D : OUT;
    w[i].Wx = owned[owned_count++] = values((size_t)G * Dl, 10 + i);
    w[i].Wh = owned[owned_count++] = values((size_t)G * H, 20 + i);
    w[i].b = bias ? (owned[owned_count++] = values(G, 30 + i)) : NULL;
    w[i].bhn = bias ? (owned[owned_count++] = values(H, 40 + i)) : NULL;
  }
  float *x = values((size_t)N * L * D, 5), *h0 = values((size_t)subs * N * H, 6);
  float *out = calloc((size_t)N * L * OUT, 4), *ref = calloc((size_t)N * L * OUT, 4);
  float *hn = calloc((size_t)subs * N * H, 4), *ref_hn = calloc((size_t)subs * N * H, 4);
  float *act = calloc((size_t)N * L * OUT, 4), *next = calloc((size_t)N * L * OUT, 4);
  gru_rt_model *m = NULL;
  reset_malloc(-1);
  CHECK(gru_rt_create_layers(md, w, subs, &m) == GRU_OK);
  if (!m) return;
  CHECK(malloc_calls == 1 && malloc_bytes_total == md->bytes);
  for (int variant = 0; variant < 2; ++variant) {
    const int32_t *len = variant ? lengths : NULL;
    const float *initial = variant ? h0 : NULL;
    /* The reference, layer by layer. */
    const float *in = x;
    for (int l = 0; l < layers; ++l) {
      const int Dl = l == 0 ? D : OUT;
      for (int dir = 0; dir < dirs; ++dir) {
        const int i = l * dirs + dir;
        reference_instance(Dl, H, N, w[i].Wx, w[i].Wh, w[i].b, w[i].bhn, in, L, len,
                           initial ? initial + (size_t)i * N * H : NULL,
                           direction == GRU_RT_REVERSE || dir == 1, next, OUT, dir * H,
                           ref_hn + (size_t)i * N * H);
      }
      memcpy(act, next, sizeof(float) * (size_t)N * L * OUT);
      in = act;
    }
    memcpy(ref, act, sizeof(float) * (size_t)N * L * OUT);
    memset(out, 0xff, sizeof(float) * (size_t)N * L * OUT); /* NaNs: every element is written */
    CHECK(gru_rt_run_ex(m, x, L, len, initial, out, hn) == GRU_OK);
    CHECK(close_to(out, ref, (size_t)N * L * OUT));
    CHECK(close_to(hn, ref_hn, (size_t)subs * N * H));
  }
  if (direction == GRU_RT_FORWARD) {
    /* step x L from h0 equals run (the last layer's state each step). */
    float *h = malloc(sizeof(float) * (size_t)subs * N * H);
    memcpy(h, h0, sizeof(float) * (size_t)subs * N * H);
    CHECK(gru_rt_run(m, x, L, h0, out) == GRU_OK);
    int same = 1;
    for (int t = 0; t < L; ++t) {
      float x_t[64];
      for (int n = 0; n < N; ++n) memcpy(x_t + n * D, x + ((size_t)n * L + t) * D, sizeof(float) * D);
      CHECK(gru_rt_step(m, x_t, h) == GRU_OK);
      for (int n = 0; n < N; ++n)
        same &= close_to(h + ((size_t)(layers - 1) * N + n) * H, out + ((size_t)n * L + t) * OUT, H);
    }
    CHECK(same);
    free(h);
  } else {
    float x_t[64], h[256];
    CHECK(gru_rt_step(m, x_t, h) == GRU_INVALID_ARGUMENT);
    CHECK(contains(gru_rt_last_error(), "cannot stream"));
  }
  /* Misuse: counts, the v1 create, lengths, overlaps; nothing written. */
  gru_rt_model *untouched = (gru_rt_model *)&first, *m2 = untouched;
  CHECK(gru_rt_create_layers(md, w, subs - 1, &m2) == GRU_INVALID_ARGUMENT && m2 == untouched);
  CHECK(contains(gru_rt_last_error(), "create_layers: this library's model has"));
  if (subs > 1) {
    CHECK(gru_rt_create(md, w[0].Wx, w[0].Wh, w[0].b, w[0].bhn, &m2) == GRU_INVALID_ARGUMENT);
    CHECK(contains(gru_rt_last_error(), "use create_layers") && m2 == untouched);
  }
  gru_layer_weights broken[8];
  memcpy(broken, w, sizeof broken);
  broken[subs - 1].Wh = NULL;
  CHECK(gru_rt_create_layers(md, broken, subs, &m2) == GRU_INVALID_ARGUMENT && m2 == untouched);
  int32_t bad[8];
  for (int n = 0; n < N; ++n) bad[n] = L;
  bad[N - 1] = L + 1;
  memset(out, 0, sizeof(float) * (size_t)N * L * OUT);
  CHECK(gru_rt_run_ex(m, x, L, bad, NULL, out, NULL) == GRU_INVALID_ARGUMENT);
  CHECK(contains(gru_rt_last_error(), "is outside [1, seq_len"));
  bad[N - 1] = 0;
  CHECK(gru_rt_run_ex(m, x, L, bad, NULL, out, NULL) == GRU_INVALID_ARGUMENT);
  CHECK(gru_rt_run_ex(m, x, L, NULL, NULL, out, out + 1) == GRU_INVALID_ARGUMENT);
  CHECK(contains(gru_rt_last_error(), "overlaps h_n"));
  CHECK(gru_rt_run_ex(m, x, L, NULL, h0, out, h0) == GRU_INVALID_ARGUMENT);
  int zero = 1;
  for (size_t k = 0; k < (size_t)N * L * OUT; ++k) zero &= out[k] == 0.0f;
  CHECK(zero);
  /* lengths inside out or h_n: run_ex reads them again after the states are written (the zeros
   * past each row's length, h_n), where they were garbage and a memset ran wild. */
  int32_t *lengths_in_out = (int32_t *)(out + (size_t)N * L * OUT - N);
  for (int n = 0; n < N; ++n) lengths_in_out[n] = n == 0 ? 1 : L;
  CHECK(gru_rt_run_ex(m, x, L, lengths_in_out, NULL, out, NULL) == GRU_INVALID_ARGUMENT);
  CHECK(contains(gru_rt_last_error(), "run: lengths [") &&
        contains(gru_rt_last_error(), "overlaps out"));
  for (int n = 0; n < N; ++n) CHECK(lengths_in_out[n] == (n == 0 ? 1 : L));
  int32_t *lengths_in_hn = (int32_t *)hn;
  for (int n = 0; n < N; ++n) lengths_in_hn[n] = L;
  CHECK(gru_rt_run_ex(m, x, L, lengths_in_hn, NULL, out, hn) == GRU_INVALID_ARGUMENT);
  CHECK(contains(gru_rt_last_error(), "run: lengths [") &&
        contains(gru_rt_last_error(), "overlaps h_n"));
  gru_rt_destroy(m);
  for (int k = 0; k < owned_count; ++k) free(owned[k]);
  free(x), free(h0), free(out), free(ref), free(hn), free(ref_hn), free(act), free(next);
}

/* Every allocation may fail: the failing call returns GRU_OUT_OF_MEMORY, frees what it took and
 * leaves *out alone. */
static void test_out_of_memory(const char *weights_file) {
  gru_layer_descriptor d = make(7, 13, 1, 1, 32, 1);
  float *Wx = values(39 * 7, 1), *Wh = values(39 * 13, 2), *b = values(39, 3), *bhn = values(13, 4);
  gru_rt_model *m = NULL;
  reset_malloc(0);
  CHECK(gru_rt_create(one(&d), Wx, Wh, b, bhn, &m) == GRU_OUT_OF_MEMORY && m == NULL);
  CHECK(strcmp(gru_rt_last_error(), "create: out of memory") == 0);
  reset_malloc(-1);
  CHECK(gru_rt_create(one(&d), Wx, Wh, b, bhn, &m) == GRU_OK);
  float x[7 * 3], out[13 * 3];
  memset(x, 0, sizeof x);
  reset_malloc(0);
  CHECK(gru_rt_run(m, x, 3, NULL, out) == GRU_OUT_OF_MEMORY);
  CHECK(strcmp(gru_rt_last_error(), "run: out of memory") == 0);
  gru_rt_destroy(m);

  /* create_from_safetensors: each of its allocations in turn. */
  const long live = malloc_live;
  int succeeded = 0, fail_at;
  for (fail_at = 0; fail_at < 64 && !succeeded; ++fail_at) {
    m = NULL;
    reset_malloc(fail_at);
    const gru_status s = gru_rt_create_from_safetensors(one(&d), weights_file, NULL, &m);
    if (s == GRU_OK) {
      succeeded = 1;
      gru_rt_destroy(m);
    } else {
      CHECK(s == GRU_OUT_OF_MEMORY && m == NULL);
    }
    CHECK(malloc_live == live);
  }
  CHECK(succeeded && fail_at > 2);
  reset_malloc(-1);

  /* ... and its other failures. */
  CHECK(gru_rt_create_from_safetensors(one(&d), "no such file.safetensors", "", &m) == GRU_IO_ERROR);
  CHECK(strcmp(gru_rt_last_error(), "cannot open 'no such file.safetensors'") == 0);
  CHECK(gru_rt_create_from_safetensors(one(&d), NULL, "", &m) == GRU_INVALID_ARGUMENT);
  gru_layer_descriptor other = make(8, 13, 1, 1, 32, 1);
  CHECK(gru_rt_create_from_safetensors(one(&other), weights_file, "", &m) == GRU_FORMAT_ERROR);
  CHECK(contains(gru_rt_last_error(), "this library is D=8 H=13 bias on"));
  CHECK(malloc_live == live);
  free(Wx), free(Wh), free(b), free(bhn);
}

/* Another Halide error (not from this runtime's kernels) goes to the handler installed before. */
static int forwarded;
static void earlier_handler(void *user_context, const char *message) {
  (void)user_context, (void)message;
  ++forwarded;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: runtime_test <D=7 H=13 bias safetensors>\n");
    return 2;
  }
  halide_set_error_handler(earlier_handler);
  /* Shapes: N*L a multiple of the block and not (partial last block), N = 1 and N > 1, bias on
   * and off, packed and MLX layout, one block larger than the whole sequence. */
  test_numbers(3, 4, 1, 1, 4, 1, 8);
  test_numbers(3, 4, 2, 1, 4, 1, 5);
  test_numbers(5, 3, 3, 0, 4, 1, 3);
  test_numbers(3, 3, 2, 1, 4, 0, 7);
  test_numbers(2, 6, 1, 0, 32, 0, 5);
  /* Several panels of Wx and Wh. */
  test_numbers(3, 4, 2, 1, 4, 2, 8);
  test_numbers(5, 6, 3, 0, 4, 2, 3);
  /* ... with xp's columns in the order of Wh's panels (Wx's rows and b as the step reads xp). */
  test_numbers(3, 4, 2, 1, 4, 3, 8);
  test_numbers(4, 6, 2, 1, 4, 3, 5);
  test_numbers(5, 6, 3, 0, 4, 3, 3);
  /* Stacks: 3 forward layers (D != H: deep layers read H); 2 bidirectional layers with rows
   * of different lengths; a reverse layer; D == OUTPUT_SIZE. */
  static const int32_t lengths3[] = {5, 2, 1}, lengths2[] = {3, 1}, full[] = {4, 4};
  test_stack(3, 4, 3, 1, 3, GRU_RT_FORWARD, 5, lengths3);
  test_stack(5, 4, 3, 1, 2, GRU_RT_BIDIRECTIONAL, 5, lengths3);
  test_stack(3, 4, 2, 0, 1, GRU_RT_REVERSE, 3, lengths2);
  test_stack(8, 4, 2, 1, 2, GRU_RT_BIDIRECTIONAL, 4, full);
  test_refusals();
  test_out_of_memory(argv[1]);
  error_handler(NULL, "someone else's error\n");
  CHECK(forwarded == 1);
  printf("%d checks, %d failed\n", checks, failures);
  return failures != 0;
}
