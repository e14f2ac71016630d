/* The C ABI (version 1) of one gru-gen library: weights, buffers and the time loop around the two
 * Halide kernels <name>_kernel_projection and <name>_kernel_step.
 *
 * gru-gen compiles this file once per library and target with
 *   -DGRU_NAME=<name> -DGRU_NAME_UPPER=<NAME>
 * beside the generated <name>.h and the kernels' Halide headers, so every symbol defined here
 * carries the library's prefix and the compiler checks each definition against the public header.
 * It needs no libc beyond what Halide's runtime header pulls in: memory comes from halide_malloc,
 * so one allocator hook (halide_set_custom_malloc) governs the whole library.
 */
#define GRU_STR_(x) #x
#define GRU_STR(x) GRU_STR_(x)
#define GRU_CAT_(a, b) a##b
#define GRU_CAT(a, b) GRU_CAT_(a, b)
#define GRU_FN(suffix) GRU_CAT(GRU_NAME, suffix)
#define GRU_CONST(suffix) GRU_CAT(GRU_NAME_UPPER, suffix)

#include "HalideRuntime.h"
#include GRU_STR(GRU_NAME.h)
#include GRU_STR(GRU_CAT(GRU_NAME, _kernel_projection.h))
#include GRU_STR(GRU_CAT(GRU_NAME, _kernel_step.h))

#define D ((int32_t)GRU_CONST(_INPUT_SIZE))
#define H ((int32_t)GRU_CONST(_HIDDEN_SIZE))
#define N ((int32_t)GRU_CONST(_BATCH))
#define G (3 * H) /* gate rows r, z, n */
#define HAS_BIAS GRU_CONST(_HAS_BIAS)
#define MAX_SEQ_LEN GRU_CONST(_MAX_SEQ_LEN)

typedef GRU_FN(_model) model;

struct GRU_FN(_model) {
  void *block; /* the one allocation behind every array below */
  float *Wx, *Wh, *b, *bhn;
  float *zeros;   /* [N][H]: the state before t = 0 when the caller gives none */
  float *xp_step; /* [N][3H]: projected input of one step */
  float *h_step;  /* [N][H]: the next state, before step copies it into the caller's h */
};

/* A Halide view of a float array of up to 2 dimensions, innermost first. */
typedef struct {
  halide_buffer_t buf;
  halide_dimension_t dim[2];
} tensor;

static halide_buffer_t *view(tensor *t, const float *data, int32_t cols, int32_t rows,
                             int32_t row_stride) {
  __builtin_memset(t, 0, sizeof *t);
  t->buf.host = (uint8_t *)data;
  t->buf.type.code = halide_type_float;
  t->buf.type.bits = 32;
  t->buf.type.lanes = 1;
  t->buf.dimensions = rows > 0 ? 2 : 1;
  t->buf.dim = t->dim;
  t->dim[0].extent = cols;
  t->dim[0].stride = 1;
  t->dim[1].extent = rows;
  t->dim[1].stride = row_stride;
  return &t->buf;
}

static gru_status from_halide(int err) {
  if (err == 0) return GRU_OK;
  return err == halide_error_code_out_of_memory ? GRU_OUT_OF_MEMORY : GRU_INTERNAL_ERROR;
}

/* xp [rows][3H] = x [rows][D] Wx^T + b */
static gru_status project(const model *m, const float *x, int32_t rows, float *xp) {
  tensor tx, tWx, txp;
  view(&tx, x, D, rows, D);
  view(&tWx, m->Wx, D, G, D);
  view(&txp, xp, G, rows, G);
#if HAS_BIAS
  tensor tb;
  view(&tb, m->b, G, 0, 0);
  return from_halide(GRU_FN(_kernel_projection)(&tx.buf, &tWx.buf, &tb.buf, &txp.buf));
#else
  return from_halide(GRU_FN(_kernel_projection)(&tx.buf, &tWx.buf, &txp.buf));
#endif
}

/* h_next = GRU step from h, given this step's projected input. Each of xp, h and h_next is an
 * [N][cols] slice whose rows are `*_stride` floats apart, so the time loop can point them at
 * timestep t of batch-first [N][L][cols] arrays without copying. */
static gru_status advance(const model *m, const float *xp, int32_t xp_stride, const float *h,
                          int32_t h_stride, float *h_next, int32_t h_next_stride) {
  tensor txp, th, tWh, tnext;
  view(&txp, xp, G, N, xp_stride);
  view(&th, h, H, N, h_stride);
  view(&tWh, m->Wh, H, G, H);
  view(&tnext, h_next, H, N, h_next_stride);
#if HAS_BIAS
  tensor tbhn;
  view(&tbhn, m->bhn, H, 0, 0);
  return from_halide(GRU_FN(_kernel_step)(&txp.buf, &th.buf, &tWh.buf, &tbhn.buf, &tnext.buf));
#else
  return from_halide(GRU_FN(_kernel_step)(&txp.buf, &th.buf, &tWh.buf, &tnext.buf));
#endif
}

uint32_t GRU_FN(_abi_version)(void) { return 1; }

/* Offsets inside the model's block, each array 64-byte aligned for the kernels' vector loads. */
static size_t carve(size_t *offset, size_t floats) {
  size_t at = *offset;
  *offset = (at + floats * sizeof(float) + 63) & ~(size_t)63;
  return at;
}

gru_status GRU_FN(_create)(const float *Wx, const float *Wh, const float *b, const float *bhn,
                           model **out) {
  if (!Wx || !Wh || !out) return GRU_INVALID_ARGUMENT;
  if (HAS_BIAS ? (!b || !bhn) : (b || bhn)) return GRU_INVALID_ARGUMENT;

  model *m = (model *)halide_malloc(NULL, sizeof(model));
  if (!m) return GRU_OUT_OF_MEMORY;
  size_t size = 0;
  const size_t oWx = carve(&size, (size_t)G * D), oWh = carve(&size, (size_t)G * H);
  const size_t ob = carve(&size, HAS_BIAS ? (size_t)G : 0);
  const size_t obhn = carve(&size, HAS_BIAS ? (size_t)H : 0);
  const size_t ozeros = carve(&size, (size_t)N * H), oxp = carve(&size, (size_t)N * G);
  const size_t oh = carve(&size, (size_t)N * H);
  uint8_t *block = (uint8_t *)halide_malloc(NULL, size);
  if (!block) {
    halide_free(NULL, m);
    return GRU_OUT_OF_MEMORY;
  }
  m->block = block;
  m->Wx = (float *)(block + oWx);
  m->Wh = (float *)(block + oWh);
  m->b = HAS_BIAS ? (float *)(block + ob) : NULL;
  m->bhn = HAS_BIAS ? (float *)(block + obhn) : NULL;
  m->zeros = (float *)(block + ozeros);
  m->xp_step = (float *)(block + oxp);
  m->h_step = (float *)(block + oh);
  __builtin_memcpy(m->Wx, Wx, sizeof(float) * (size_t)G * D);
  __builtin_memcpy(m->Wh, Wh, sizeof(float) * (size_t)G * H);
  if (HAS_BIAS) {
    __builtin_memcpy(m->b, b, sizeof(float) * (size_t)G);
    __builtin_memcpy(m->bhn, bhn, sizeof(float) * (size_t)H);
  }
  __builtin_memset(m->zeros, 0, sizeof(float) * (size_t)N * H);
  *out = m;
  return GRU_OK;
}

gru_status GRU_FN(_run)(model *m, const float *x, int32_t seq_len, const float *h0, float *out) {
  if (!m || !x || !out || seq_len <= 0 || seq_len > MAX_SEQ_LEN) return GRU_INVALID_ARGUMENT;

  const int32_t rows = N * seq_len; /* bounded by MAX_SEQ_LEN: fits in int32 */
  float *xp = (float *)halide_malloc(NULL, sizeof(float) * (size_t)rows * G);
  if (!xp) return GRU_OUT_OF_MEMORY;
  gru_status s = project(m, x, rows, xp);
  /* State t-1 is out[:, t-1, :]: each step reads the previous output slice in place. */
  for (int32_t t = 0; t < seq_len && s == GRU_OK; ++t) {
    const float *h = t > 0 ? out + (size_t)(t - 1) * H : (h0 ? h0 : m->zeros);
    const int32_t h_stride = t > 0 ? seq_len * H : H;
    s = advance(m, xp + (size_t)t * G, seq_len * G, h, h_stride, out + (size_t)t * H, seq_len * H);
  }
  halide_free(NULL, xp);
  return s;
}

gru_status GRU_FN(_step)(model *m, const float *x_t, float *h) {
  if (!m || !x_t || !h) return GRU_INVALID_ARGUMENT;
  gru_status s = project(m, x_t, N, m->xp_step);
  if (s == GRU_OK) s = advance(m, m->xp_step, G, h, H, m->h_step, H);
  if (s == GRU_OK) __builtin_memcpy(h, m->h_step, sizeof(float) * (size_t)N * H);
  return s;
}

void GRU_FN(_destroy)(model *m) {
  if (!m) return;
  halide_free(NULL, m->block);
  halide_free(NULL, m);
}

const char *GRU_FN(_status_string)(gru_status s) {
  switch (s) {
    case GRU_OK: return "ok";
    case GRU_INVALID_ARGUMENT: return "invalid argument";
    case GRU_OUT_OF_MEMORY: return "out of memory";
    case GRU_IO_ERROR: return "I/O error";
    case GRU_FORMAT_ERROR: return "format error";
    case GRU_INTERNAL_ERROR: return "internal error";
  }
  return "unknown status";
}
