/* gru_safetensors.h: the safetensors reader shared by gru-gen (--weights) and every generated
 * runtime (<name>_create_from_safetensors), so both accept and refuse exactly the same files.
 *
 * Header-only C99, every function static: each library compiles its own copy, so two gru-gen
 * libraries in one program never clash. It needs only <stddef.h>/<stdint.h>, memory through the
 * caller's allocator, and jsmn (Debian's libjsmn-dev, a kept JSON tokenizer) for the header.
 *
 * The format: an 8-byte little-endian header length n, n bytes of JSON, then the data. The JSON
 * maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]} (offsets into the data),
 * plus an optional "__metadata__" object of strings (or null, as MLX writes it), in which a key
 * "<prefix>reset_after" says where that layer applies its reset gate ("true", the default:
 * mlx.nn.GRU; "false": before the recurrent product, as gru-import writes for ONNX
 * linear_before_reset=0). Everything is
 * checked: the header length against the file, the JSON, dtypes (F32, F16, BF16), shapes, that
 * each tensor's bytes match its shape, and that the tensors tile the data exactly (no overlap,
 * no gap), as the format's reference implementation requires. A file of a format users pass by
 * mistake (an .npz, a torch.save file, an ONNX model, ...) is named for what it is, and a prefix
 * that misses the layer gets the one the user most likely meant.
 */
#ifndef GRU_SAFETENSORS_H
#define GRU_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include "jsmn.h"

/* The format's own cap on the JSON header, which also keeps jsmn's int offsets safe. */
#define GST_MAX_HEADER 100000000u
#define GST_MAX_RANK 8

typedef enum { GST_OK = 0, GST_FORMAT = 1, GST_NO_MEMORY = 2 } gst_result;
typedef enum { GST_F32, GST_F16, GST_BF16 } gst_dtype;

typedef struct {
  const char *name; /* the key as written in the header (not NUL-terminated) */
  int name_len;
  gst_dtype dtype;
  int rank;
  int64_t shape[GST_MAX_RANK];
  uint64_t begin, end; /* byte range inside the data section */
} gst_tensor;

/* A metadata entry "<prefix>reset_after": "true" | "false" (key not NUL-terminated). */
#define GST_MAX_RESET_KEYS 64
typedef struct {
  const char *key;
  int key_len;
  int reset_after;
} gst_reset_key;

typedef struct {
  const uint8_t *data; /* the data section, inside the caller's file bytes */
  uint64_t data_size;
  gst_tensor *tensors;
  int count;
  gst_reset_key reset_keys[GST_MAX_RESET_KEYS]; /* the metadata's "...reset_after" entries */
  int reset_key_count;
} gst_file;

typedef struct {
  void *(*alloc)(void *ctx, size_t bytes);
  void (*release)(void *ctx, void *p);
  void *ctx;
} gst_allocator;

/* ---- Small helpers (no libc) --------------------------------------------------------------- */

static size_t gst_strlen(const char *s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

static int gst_equal(const char *a, size_t a_len, const char *b, size_t b_len) {
  if (a_len != b_len) return 0;
  for (size_t i = 0; i < a_len; ++i)
    if (a[i] != b[i]) return 0;
  return 1;
}

/* Appends text to a bounded, always NUL-terminated message. */
static void gst_put(char *msg, size_t cap, size_t *at, const char *text, size_t len) {
  for (size_t i = 0; i < len && *at + 1 < cap; ++i) msg[(*at)++] = text[i];
  if (cap) msg[*at < cap ? *at : cap - 1] = '\0';
}

static void gst_put_str(char *msg, size_t cap, size_t *at, const char *text) {
  gst_put(msg, cap, at, text, gst_strlen(text));
}

static void gst_put_u64(char *msg, size_t cap, size_t *at, uint64_t v) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) gst_put(msg, cap, at, &digits[--n], 1);
}

/* A message of up to four parts: text, an optional quoted name, text, an optional number. */
static gst_result gst_fail(char *msg, size_t cap, const char *what, const char *name, int name_len,
                           const char *detail, int has_number, uint64_t number) {
  size_t at = 0;
  if (cap) msg[0] = '\0';
  gst_put_str(msg, cap, &at, what);
  if (name) {
    gst_put_str(msg, cap, &at, " '");
    gst_put(msg, cap, &at, name, (size_t)name_len);
    gst_put_str(msg, cap, &at, "'");
  }
  if (detail) gst_put_str(msg, cap, &at, detail);
  if (has_number) gst_put_u64(msg, cap, &at, number);
  return GST_FORMAT;
}

/* A JSON non-negative integer without sign, fraction or exponent, below 2^63. */
static int gst_parse_u63(const char *text, int len, uint64_t *out) {
  if (len <= 0 || len > 19) return 0;
  uint64_t v = 0;
  for (int i = 0; i < len; ++i) {
    if (text[i] < '0' || text[i] > '9') return 0;
    v = v * 10 + (uint64_t)(text[i] - '0');
  }
  if (v > (uint64_t)INT64_MAX) return 0;
  *out = v;
  return 1;
}

/* Index of the token after token i and everything inside it. jsmn's `size` counts a token's
 * children: an object's keys, an array's elements, and 1 for a key (its value). */
static int gst_skip(const jsmntok_t *t, int i) {
  for (int pending = 1; pending > 0; ++i) pending += t[i].size - 1;
  return i;
}

/* Index after the JSON value at token i, or -1 when the tokens there do not form one: jsmn lets
 * a key without a value through ({"a":}), after which a key's value would be read past the
 * last token. Nesting deeper than a header needs is refused too (a bounded recursion). */
static int gst_value_end(const jsmntok_t *t, int count, int i, int depth) {
  if (i >= count || depth > 32) return -1;
  if (t[i].type == JSMN_OBJECT || t[i].type == JSMN_ARRAY) {
    int j = i + 1;
    for (int c = 0; c < t[i].size && j >= 0; ++c) {
      if (t[i].type == JSMN_OBJECT) {
        if (j >= count || t[j].type != JSMN_STRING || t[j].size != 1) return -1;
        ++j;
      }
      j = gst_value_end(t, count, j, depth + 1);
    }
    return j;
  }
  return t[i].size == 0 ? i + 1 : -1; /* a string or a primitive: no children */
}

static int gst_is(const char *json, const jsmntok_t *tok, const char *word) {
  return gst_equal(json + tok->start, (size_t)(tok->end - tok->start), word, gst_strlen(word));
}

static uint64_t gst_dtype_size(gst_dtype d) { return d == GST_F32 ? 4 : 2; }

/* ---- Parsing -------------------------------------------------------------------------------- */

/* Reads one tensor entry, the object at token i, named by key token k. */
static gst_result gst_read_entry(const char *json, const jsmntok_t *t, int k, int i,
                                 gst_tensor *out, char *msg, size_t cap) {
  const char *name = json + t[k].start;
  const int name_len = t[k].end - t[k].start;
  out->name = name;
  out->name_len = name_len;
  if (t[i].type != JSMN_OBJECT)
    return gst_fail(msg, cap, "tensor", name, name_len, ": not an object", 0, 0);
  int have_dtype = 0, have_shape = 0, have_offsets = 0;
  const int fields = t[i].size;
  int j = i + 1;
  for (int f = 0; f < fields; ++f) {
    const jsmntok_t *key = &t[j], *val = &t[j + 1];
    if (gst_is(json, key, "dtype") && val->type == JSMN_STRING) {
      if (gst_is(json, val, "F32")) {
        out->dtype = GST_F32;
      } else if (gst_is(json, val, "F16")) {
        out->dtype = GST_F16;
      } else if (gst_is(json, val, "BF16")) {
        out->dtype = GST_BF16;
      } else {
        return gst_fail(msg, cap, "tensor", name, name_len,
                        ": dtype is not F32, F16 or BF16 (the only ones a GRU's weights may have)",
                        0, 0);
      }
      have_dtype = 1;
    } else if (gst_is(json, key, "shape") && val->type == JSMN_ARRAY) {
      if (val->size > GST_MAX_RANK)
        return gst_fail(msg, cap, "tensor", name, name_len, ": rank above ", 1, GST_MAX_RANK);
      out->rank = val->size;
      for (int d = 0; d < val->size; ++d) {
        const jsmntok_t *dim = &val[1 + d];
        uint64_t extent;
        if (dim->type != JSMN_PRIMITIVE ||
            !gst_parse_u63(json + dim->start, dim->end - dim->start, &extent) ||
            extent > ((uint64_t)1 << 40))
          return gst_fail(msg, cap, "tensor", name, name_len,
                          ": shape holds something other than a size", 0, 0);
        out->shape[d] = (int64_t)extent;
      }
      have_shape = 1;
    } else if (gst_is(json, key, "data_offsets") && val->type == JSMN_ARRAY && val->size == 2 &&
               val[1].type == JSMN_PRIMITIVE && val[2].type == JSMN_PRIMITIVE &&
               gst_parse_u63(json + val[1].start, val[1].end - val[1].start, &out->begin) &&
               gst_parse_u63(json + val[2].start, val[2].end - val[2].start, &out->end)) {
      have_offsets = 1;
    } else {
      return gst_fail(msg, cap, "tensor", name, name_len,
                      ": unexpected or malformed field (expected dtype, shape, data_offsets)", 0,
                      0);
    }
    j = gst_skip(t, j + 1);
  }
  if (!have_dtype || !have_shape || !have_offsets)
    return gst_fail(msg, cap, "tensor", name, name_len,
                    ": needs dtype, shape and data_offsets", 0, 0);
  /* Bytes = elements * size, with every product bounded (extents <= 2^40, rank <= 8). */
  uint64_t bytes = gst_dtype_size(out->dtype);
  for (int d = 0; d < out->rank; ++d) {
    if (out->shape[d] != 0 && bytes > ((uint64_t)1 << 62) / (uint64_t)out->shape[d])
      return gst_fail(msg, cap, "tensor", name, name_len, ": too many elements", 0, 0);
    bytes *= (uint64_t)out->shape[d];
  }
  if (out->end < out->begin || out->end - out->begin != bytes)
    return gst_fail(msg, cap, "tensor", name, name_len,
                    ": data_offsets do not span its shape's bytes, which number ", 1, bytes);
  return GST_OK;
}

/* Orders tensors by where their data begins (insertion sort: a GRU file has a handful). */
static void gst_sort(gst_tensor *v, int n) {
  for (int i = 1; i < n; ++i) {
    gst_tensor x = v[i];
    int j = i - 1;
    while (j >= 0 && v[j].begin > x.begin) {
      v[j + 1] = v[j];
      --j;
    }
    v[j + 1] = x;
  }
}

/* ---- Files of other formats ---------------------------------------------------------------- */

static int gst_starts(const uint8_t *bytes, uint64_t size, const char *magic, size_t len) {
  return size >= len && gst_equal((const char *)bytes, len, magic, len);
}

/* Names the format of a file that is not safetensors, from its first bytes, and says how to get
 * a safetensors file from it; 0 when the format is not one of those a user may pass by mistake.
 * Asked only of files whose first 8 bytes are no valid header length: every format named here
 * gives one above the limit or beyond the file, so no safetensors file can be mistaken for one. */
static int gst_foreign_format(const uint8_t *bytes, uint64_t size, char *msg, size_t cap) {
  const char *what = NULL;
  if (gst_starts(bytes, size, "PK\x03\x04", 4) || gst_starts(bytes, size, "PK\x05\x06", 4)) {
    /* A zip archive. Its first entry's name (at 30, length at 26) tells NumPy's .npz (entries
     * NAME.npy; MLX's save_weights writes one for a .npz name) from torch.save's (DIR/data.pkl). */
    const uint64_t name_len = size >= 30 ? (uint64_t)(bytes[26] | bytes[27] << 8) : 0;
    const char *name = (const char *)bytes + 30;
    const int fits = name_len >= 4 && 30 + name_len <= size;
    if (fits && gst_equal(name + name_len - 4, 4, ".npy", 4))
      what = "not a safetensors file but a NumPy .npz archive (MLX's save_weights writes one for "
             "a .npz name); resave it: mx.save_safetensors('w.safetensors', mx.load('w.npz'))";
    else if (fits && name_len >= 8 && gst_equal(name + name_len - 8, 8, "data.pkl", 8))
      what = "not a safetensors file but a PyTorch torch.save archive; convert it: "
             "tools/gru-import torch IN.pt -o OUT.safetensors";
    else
      what = "not a safetensors file but a zip archive";
  } else if (size >= 2 && bytes[0] == 0x80 && bytes[1] >= 2 && bytes[1] <= 5) {
    what = "not a safetensors file but a Python pickle (torch.save's legacy format?); convert it: "
           "tools/gru-import torch IN.pt -o OUT.safetensors";
  } else if (gst_starts(bytes, size, "\x93NUMPY", 6)) {
    what = "not a safetensors file but a NumPy .npy array; save the layer's tensors with "
           "mx.save_safetensors or safetensors.numpy.save_file";
  } else if (gst_starts(bytes, size, "\x89HDF\r\n\x1a\n", 8)) {
    what = "not a safetensors file but an HDF5 file (Keras .weights.h5?); convert its GRU layers: "
           "tools/gru-import keras IN -o OUT.safetensors";
  } else if (size >= 3 && bytes[0] == 0x08 && bytes[1] >= 1 && bytes[1] < 0x80 &&
             (bytes[2] & 7) == 2) {
    /* A protobuf message opening with field 1 as a small varint, then a length-delimited field:
     * an ONNX ModelProto (ir_version, then producer_name, graph, ...). */
    what = "not a safetensors file; it looks like an ONNX model (protobuf); convert its GRU node: "
           "tools/gru-import onnx IN.onnx -o OUT.safetensors";
  } else if (size >= 1 && (bytes[0] == '{' || bytes[0] == '[')) {
    what = "not a safetensors file but JSON text (a safetensors file begins with an 8-byte header "
           "length, then a JSON header)";
  }
  if (!what) return 0;
  gst_fail(msg, cap, what, NULL, 0, NULL, 0, 0);
  return 1;
}

/* The header length: the first 8 bytes, little-endian, within the format's limit and the file.
 * A file of another format is named as such (gst_foreign_format). */
static gst_result gst_header_length(const uint8_t *bytes, uint64_t size, uint64_t *n, char *msg,
                                    size_t cap) {
  if (size < 8)
    return gst_fail(msg, cap, "file too short for a safetensors header (8 bytes at least): ",
                    NULL, 0, NULL, 1, size);
  *n = 0;
  for (int i = 7; i >= 0; --i) *n = (*n << 8) | bytes[i];
  if ((*n > GST_MAX_HEADER || *n > size - 8) && gst_foreign_format(bytes, size, msg, cap))
    return GST_FORMAT;
  if (*n > GST_MAX_HEADER)
    return gst_fail(msg, cap, "header length is above the format's limit of 100000000: ", NULL,
                    0, NULL, 1, *n);
  if (*n > size - 8)
    return gst_fail(msg, cap, "header length exceeds the file; bytes after the length field: ",
                    NULL, 0, NULL, 1, size - 8);
  return GST_OK;
}

/* Tokenizes the JSON header json[0, n) into *tokens (allocated from `a`; the caller releases
 * it, also on failure) and checks that it is exactly one JSON object. */
static gst_result gst_tokenize_header(const char *json, uint64_t n, const gst_allocator *a,
                                      jsmntok_t **tokens, int *count, char *msg, size_t cap) {
  jsmn_parser p;
  jsmn_init(&p);
  *tokens = NULL;
  *count = jsmn_parse(&p, json, (size_t)n, NULL, 0);
  if (*count < 1)
    return gst_fail(msg, cap, "header is not valid JSON", NULL, 0, NULL, 0, 0);
  jsmntok_t *t = (jsmntok_t *)a->alloc(a->ctx, sizeof(jsmntok_t) * (size_t)*count);
  if (!t) return GST_NO_MEMORY;
  *tokens = t;
  jsmn_init(&p);
  if (jsmn_parse(&p, json, (size_t)n, t, (unsigned)*count) != *count)
    return gst_fail(msg, cap, "header is not valid JSON", NULL, 0, NULL, 0, 0);
  if (t[0].type != JSMN_OBJECT)
    return gst_fail(msg, cap, "header is not a JSON object", NULL, 0, NULL, 0, 0);
  if (gst_value_end(t, *count, 0, 0) < 0)
    return gst_fail(msg, cap, "header is not valid JSON", NULL, 0, NULL, 0, 0);
  if (gst_value_end(t, *count, 0, 0) != *count)
    return gst_fail(msg, cap, "header holds more than one JSON value", NULL, 0, NULL, 0, 0);
  /* jsmn lets a string hold raw control characters, which JSON forbids (RFC 8259: escaped only);
   * a tensor name holding a line break reached the one-line error message whole. */
  for (int i = 0; i < *count; ++i)
    for (int k = t[i].start; t[i].type == JSMN_STRING && k < t[i].end; ++k)
      if ((unsigned char)json[k] < 0x20)
        return gst_fail(msg, cap, "header is not valid JSON: a control character inside a string",
                        NULL, 0, NULL, 0, 0);
  return GST_OK;
}

/* The metadata object at t[v]: its keys ending in "reset_after" (the reset gate's placement
 * of the layer under the rest of the key) into f->reset_keys; other entries are free-form. */
static gst_result gst_read_metadata(const char *json, const jsmntok_t *t, int v, gst_file *f,
                                    char *msg, size_t cap) {
  static const char kSuffix[] = "reset_after";
  const int suffix_len = (int)sizeof kSuffix - 1;
  for (int e = 0, j = v + 1; e < t[v].size; ++e) {
    const jsmntok_t *key = &t[j], *value = &t[j + 1];
    const char *name = json + key->start;
    const int len = key->end - key->start;
    if (len >= suffix_len && gst_equal(name + len - suffix_len, (size_t)suffix_len, kSuffix,
                                       (size_t)suffix_len)) {
      const int is_true = value->type == JSMN_STRING && gst_is(json, value, "true");
      const int is_false = value->type == JSMN_STRING && gst_is(json, value, "false");
      if (!is_true && !is_false)
        return gst_fail(msg, cap, "__metadata__ entry", name, len,
                        " is neither \"true\" nor \"false\"", 0, 0);
      if (f->reset_key_count == GST_MAX_RESET_KEYS)
        return gst_fail(msg, cap, "__metadata__ holds more than 64 \"...reset_after\" entries",
                        NULL, 0, NULL, 0, 0);
      gst_reset_key *k = &f->reset_keys[f->reset_key_count++];
      k->key = name;
      k->key_len = len;
      k->reset_after = is_true;
    }
    j = gst_skip(t, j + 1);
  }
  return GST_OK;
}

/* The header's entries: "__metadata__" checked (and its reset_after entries kept in `f`), every
 * other key read as a tensor into tensors[0, *found) (room for every key of the header object
 * t[0]); names must be unique. */
static gst_result gst_read_entries(const char *json, const jsmntok_t *t, gst_tensor *tensors,
                                   int *found, gst_file *f, char *msg, size_t cap) {
  gst_result r = GST_OK;
  *found = 0;
  for (int e = 0, i = 1; r == GST_OK && e < t[0].size; ++e) {
    const int k = i, v = i + 1;
    if (gst_is(json, &t[k], "__metadata__")) {
      /* Strings, or null: nothing in it changes the weights. */
      if (!(t[v].type == JSMN_OBJECT || (t[v].type == JSMN_PRIMITIVE && gst_is(json, &t[v], "null"))))
        r = gst_fail(msg, cap, "__metadata__ is neither an object nor null", NULL, 0, NULL, 0, 0);
      else if (t[v].type == JSMN_OBJECT)
        r = gst_read_metadata(json, t, v, f, msg, cap);
    } else {
      gst_tensor *tensor = &tensors[*found];
      __builtin_memset(tensor, 0, sizeof *tensor);
      r = gst_read_entry(json, t, k, v, tensor, msg, cap);
      for (int o = 0; r == GST_OK && o < *found; ++o)
        if (gst_equal(tensors[o].name, (size_t)tensors[o].name_len, tensor->name,
                      (size_t)tensor->name_len))
          r = gst_fail(msg, cap, "tensor", tensor->name, tensor->name_len, " appears twice", 0, 0);
      ++*found;
    }
    i = gst_skip(t, v);
  }
  return r;
}

/* The tensors (sorted here by where their data begins) must tile the data section exactly:
 * no overlap, no gap, nothing past its end and nothing after the last one. */
static gst_result gst_check_tiling(gst_tensor *tensors, int count, uint64_t data_size, char *msg,
                                   size_t cap) {
  gst_sort(tensors, count);
  uint64_t covered = 0;
  for (int i = 0; i < count; ++i) {
    if (tensors[i].begin < covered)
      return gst_fail(msg, cap, "tensor", tensors[i].name, tensors[i].name_len,
                      " overlaps the tensor before it in the data, at byte ", 1, tensors[i].begin);
    if (tensors[i].begin > covered)
      return gst_fail(msg, cap, "data bytes not in any tensor, before tensor", tensors[i].name,
                      tensors[i].name_len, ", from byte ", 1, covered);
    if (tensors[i].end > data_size)
      return gst_fail(msg, cap, "tensor", tensors[i].name, tensors[i].name_len,
                      " ends past the end of the file; data bytes present: ", 1, data_size);
    covered = tensors[i].end;
  }
  if (covered != data_size)
    return gst_fail(msg, cap, "data bytes not in any tensor at the end of the file, from byte ",
                    NULL, 0, NULL, 1, covered);
  return GST_OK;
}

/* Parses `bytes` (the whole file, which must outlive `out`). On GST_FORMAT, `msg` says what is
 * wrong and where. */
static gst_result gst_open(const uint8_t *bytes, uint64_t size, const gst_allocator *a,
                           gst_file *out, char *msg, size_t cap) {
  out->tensors = NULL;
  out->count = 0;
  out->reset_key_count = 0;
  uint64_t n = 0;
  gst_result r = gst_header_length(bytes, size, &n, msg, cap);
  if (r != GST_OK) return r;
  const char *json = (const char *)bytes + 8;
  jsmntok_t *t = NULL;
  int count = 0;
  r = gst_tokenize_header(json, n, a, &t, &count, msg, cap);
  gst_tensor *tensors = NULL;
  if (r == GST_OK && t[0].size > 0) {
    tensors = (gst_tensor *)a->alloc(a->ctx, sizeof(gst_tensor) * (size_t)t[0].size);
    if (!tensors) r = GST_NO_MEMORY;
  }
  int found = 0;
  if (r == GST_OK) r = gst_read_entries(json, t, tensors, &found, out, msg, cap);
  if (t) a->release(a->ctx, t);
  const uint64_t data_size = size - 8 - n;
  if (r == GST_OK) r = gst_check_tiling(tensors, found, data_size, msg, cap);
  if (r != GST_OK) {
    if (tensors) a->release(a->ctx, tensors);
    return r;
  }
  out->data = bytes + 8 + n;
  out->data_size = data_size;
  out->tensors = tensors;
  out->count = found;
  return GST_OK;
}

static void gst_close(gst_file *f, const gst_allocator *a) {
  if (f->tensors) a->release(a->ctx, f->tensors);
  f->tensors = NULL;
  f->count = 0;
}

/* ---- Values --------------------------------------------------------------------------------- */

static float gst_f32_from_bits(uint32_t bits) {
  float f;
  __builtin_memcpy(&f, &bits, sizeof f);
  return f;
}

/* IEEE half to float, exactly (every half is a float): normals, subnormals, zeros, inf, NaN. */
static float gst_f32_from_f16(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return gst_f32_from_bits(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    if (mantissa == 0) return gst_f32_from_bits(sign);
    exponent = 113; /* 127 - 15 + 1, lowered while normalizing the subnormal */
    while (!(mantissa & 0x400u)) {
      mantissa <<= 1;
      --exponent;
    }
    mantissa &= 0x3ffu;
    return gst_f32_from_bits(sign | (exponent << 23) | (mantissa << 13));
  }
  return gst_f32_from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

/* Copies a tensor's values into dst as float32 (little-endian data, as the format defines). */
static void gst_to_f32(const gst_file *f, const gst_tensor *t, float *dst) {
  const uint8_t *src = f->data + t->begin;
  const uint64_t count = (t->end - t->begin) / gst_dtype_size(t->dtype);
  for (uint64_t i = 0; i < count; ++i) {
    if (t->dtype == GST_F32) {
      const uint8_t *b = src + 4 * i;
      dst[i] = gst_f32_from_bits((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                                 (uint32_t)b[3] << 24);
    } else {
      const uint16_t v = (uint16_t)(src[2 * i] | src[2 * i + 1] << 8);
      dst[i] = t->dtype == GST_F16 ? gst_f32_from_f16(v) : gst_f32_from_bits((uint32_t)v << 16);
    }
  }
}

/* ---- A GRU layer ---------------------------------------------------------------------------- */

/* The tensors of one mlx.nn.GRU layer, as MLX's save_weights names them under `prefix` (e.g.
 * "layers.0."): Wx [3H][D], Wh [3H][H], and b [3H] with bhn [H] when it has a bias; and where
 * it applies the reset gate (the metadata's "<prefix>reset_after", true without one). */
typedef struct {
  const gst_tensor *Wx, *Wh, *b, *bhn; /* b and bhn are NULL without bias */
  int64_t input_size, hidden_size;
  int reset_after;
} gst_gru_layer;

/* Edit distance between a and b (insertions, deletions, substitutions), for names of up to
 * GST_HINT_MAX bytes; longer ones count as GST_HINT_MAX + 1 apart. */
#define GST_HINT_MAX 128
static size_t gst_distance(const char *a, size_t a_len, const char *b, size_t b_len) {
  if (a_len > GST_HINT_MAX || b_len > GST_HINT_MAX) return GST_HINT_MAX + 1;
  size_t row[GST_HINT_MAX + 1];
  for (size_t j = 0; j <= b_len; ++j) row[j] = j;
  for (size_t i = 1; i <= a_len; ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b_len; ++j) {
      const size_t above = row[j];
      size_t best = diagonal + (a[i - 1] != b[j - 1]);
      if (above + 1 < best) best = above + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diagonal = above;
    }
  }
  return row[b_len];
}

/* Appends "; is the layer the one under prefix 'P'?" for the prefix P of a layer in the file
 * (a key ending in "Wx") that the user most likely meant by `prefix`: one that extends it
 * ("layers.0" -> "layers.0."), the shortest such; else the nearest by edit distance; ties go to
 * the first in the file. Nothing when no other layer is there. */
static void gst_hint_prefix(const gst_file *f, const char *prefix, size_t plen, char *msg,
                            size_t cap) {
  const gst_tensor *best = NULL;
  int best_extends = 0;
  size_t best_score = 0;
  for (int o = 0; o < f->count; ++o) {
    const gst_tensor *c = &f->tensors[o];
    if (c->name_len < 2 || !gst_equal(c->name + c->name_len - 2, 2, "Wx", 2)) continue;
    const size_t clen = (size_t)c->name_len - 2;
    if (gst_equal(c->name, clen, prefix, plen)) continue; /* the prefix given: no news */
    const int extends = clen > plen && gst_equal(c->name, plen, prefix, plen);
    const size_t score = extends ? clen : gst_distance(c->name, clen, prefix, plen);
    if (!best || extends > best_extends || (extends == best_extends && score < best_score)) {
      best = c;
      best_extends = extends;
      best_score = score;
    }
  }
  if (!best) return;
  size_t at = gst_strlen(msg);
  gst_put_str(msg, cap, &at, "; is the layer the one under prefix '");
  gst_put(msg, cap, &at, best->name, (size_t)best->name_len - 2);
  gst_put_str(msg, cap, &at, "'?");
}

/* The metadata's "<prefix>reset_after" (prefix[0, plen)), or `absent` without one. */
static int gst_reset_key_of(const gst_file *f, const char *prefix, size_t plen, int absent) {
  for (int i = 0; i < f->reset_key_count; ++i) {
    const gst_reset_key *k = &f->reset_keys[i];
    if ((size_t)k->key_len == plen + 11 && gst_equal(k->key, plen, prefix, plen))
      return k->reset_after;
  }
  return absent;
}

/* gst_find_gru for the layer under prefix[0, plen); with skip_reverse, keys under
 * "<prefix>reverse." (the backward direction of a stack's layer) are not the layer's. */
static gst_result gst_find_cell(const gst_file *f, const char *prefix, size_t plen,
                                int skip_reverse, gst_gru_layer *out, char *msg, size_t cap) {
  static const char *const names[4] = {"Wx", "Wh", "b", "bhn"};
  const gst_tensor *found[4] = {NULL, NULL, NULL, NULL};
  for (int i = 0; i < f->count; ++i) {
    const gst_tensor *t = &f->tensors[i];
    if ((size_t)t->name_len < plen || !gst_equal(t->name, plen, prefix, plen)) continue;
    if (skip_reverse && (size_t)t->name_len > plen + 8 &&
        gst_equal(t->name + plen, 8, "reverse.", 8))
      continue; /* the backward direction of a stack's layer: a cell of its own */
    int which = -1;
    for (int w = 0; w < 4; ++w)
      if (gst_equal(t->name + plen, (size_t)t->name_len - plen, names[w], gst_strlen(names[w])))
        which = w;
    if (which < 0) {
      gst_fail(msg, cap, "unexpected tensor", t->name, t->name_len,
               " (a GRU layer has only Wx, Wh, b and bhn)", 0, 0);
      gst_hint_prefix(f, prefix, plen, msg, cap);
      return GST_FORMAT;
    }
    found[which] = t;
  }
  for (int w = 0; w < 2; ++w)
    if (!found[w]) {
      size_t at = 0;
      gst_put_str(msg, cap, &at, "missing tensor '");
      gst_put(msg, cap, &at, prefix, plen);
      gst_put_str(msg, cap, &at, names[w]);
      gst_put_str(msg, cap, &at, "'");
      /* No Wx under the prefix: the layer may be under another one. */
      if (!found[0]) gst_hint_prefix(f, prefix, plen, msg, cap);
      if (!plen && gst_strlen(msg) == at)
        gst_put_str(msg, cap, &at, " (pass the prefix of the layer's keys?)");
      return GST_FORMAT;
    }
  if (!found[2] != !found[3]) {
    const gst_tensor *present = found[2] ? found[2] : found[3];
    return gst_fail(msg, cap, "tensor", present->name, present->name_len,
                    " has no partner: a GRU with bias has both b and bhn", 0, 0);
  }
  const gst_tensor *Wx = found[0], *Wh = found[1], *b = found[2], *bhn = found[3];
  if (Wh->rank != 2 || Wh->shape[1] < 1 || Wh->shape[0] != 3 * Wh->shape[1])
    return gst_fail(msg, cap, "tensor", Wh->name, Wh->name_len,
                    ": shape is not [3H][H] for any H", 0, 0);
  const int64_t H = Wh->shape[1];
  if (Wx->rank != 2 || Wx->shape[1] < 1 || Wx->shape[0] != 3 * H)
    return gst_fail(msg, cap, "tensor", Wx->name, Wx->name_len,
                    ": shape is not [3H][D] with H from Wh, which is ", 1, (uint64_t)H);
  if (b && (b->rank != 1 || b->shape[0] != 3 * H))
    return gst_fail(msg, cap, "tensor", b->name, b->name_len, ": shape is not [3H], with H = ", 1,
                    (uint64_t)H);
  if (bhn && (bhn->rank != 1 || bhn->shape[0] != H))
    return gst_fail(msg, cap, "tensor", bhn->name, bhn->name_len,
                    ": shape is not [H], with H = ", 1, (uint64_t)H);
  out->Wx = Wx;
  out->Wh = Wh;
  out->b = b;
  out->bhn = bhn;
  out->input_size = Wx->shape[1];
  out->hidden_size = H;
  out->reset_after = gst_reset_key_of(f, prefix, plen, 1);
  return GST_OK;
}

/* Finds the layer under `prefix` and checks its shapes. Keys outside the prefix are someone
 * else's (a classifier head, another layer) and ignored; keys under it must be the layer's. */
static gst_result gst_find_gru(const gst_file *f, const char *prefix, gst_gru_layer *out,
                               char *msg, size_t cap) {
  return gst_find_cell(f, prefix, gst_strlen(prefix), 0, out, msg, cap);
}

/* ---- A model: a stack of layers, each forward, reverse or both ------------------------------ */

/* A model that is not one forward layer keeps each layer's directions under its own prefix:
 * "<prefix><l>." for the forward one and "<prefix><l>.reverse." for the backward one of layer
 * l = 0..L-1 (as MLX's save_weights names a list of nn.GRU, "layers.0.Wx", "layers.1.Wx", ...),
 * each with Wx [3H][D_l], Wh [3H][H] and, with bias, b [3H] and bhn [H]; D_0 = D and
 * D_l = DIRECTIONS * H above. The directions present give the model's direction: both,
 * bidirectional; "<l>." only, forward; "<l>.reverse." only, reverse; every layer the same. The
 * metadata's "<prefix>reset_after" is the model's variant; a layer's own key
 * "<prefix><l>.[reverse.]reset_after", where present, must agree with it (or, without it,
 * with the other layers'). A single forward layer keeps the keys "<prefix>Wx", ... */
#define GST_MAX_LAYERS 64 /* GruSpecLimits::kMaxLayers */

typedef struct {
  int layers;                       /* L >= 1 */
  int directions;                   /* 1 or 2 */
  int reverse;                      /* 1: the one direction is backward, t = L-1..0 */
  int64_t input_size, hidden_size;  /* D (layer 0's input) and H (every layer's) */
  int has_bias, reset_after;        /* the same for every layer */
  gst_gru_layer cells[2 * GST_MAX_LAYERS]; /* layers * directions: layer-major, forward first */
} gst_gru_model;

/* Appends "'<prefix><l>.'" or "'<prefix><l>.reverse.'" to msg. */
static void gst_put_cell(char *msg, size_t cap, size_t *at, const char *prefix, size_t plen,
                         int layer, int reverse) {
  gst_put_str(msg, cap, at, "'");
  gst_put(msg, cap, at, prefix, plen);
  gst_put_u64(msg, cap, at, (uint64_t)layer);
  gst_put_str(msg, cap, at, reverse ? ".reverse.'" : ".'");
}

static const char *gst_direction_name(int present) {
  return present == 3 ? "bidirectional" : present == 2 ? "reverse" : "forward";
}

/* A key under `prefix` that is none of a stack's: the one-line refusal. */
static gst_result gst_not_a_stack_key(const gst_tensor *t, const char *prefix, size_t plen,
                                      char *msg, size_t cap) {
  size_t at = 0;
  gst_put_str(msg, cap, &at, "unexpected tensor '");
  gst_put(msg, cap, &at, t->name, (size_t)t->name_len);
  gst_put_str(msg, cap, &at, "' (the layers of a model under prefix '");
  gst_put(msg, cap, &at, prefix, plen);
  gst_put_str(msg, cap, &at, "' have keys '<l>.NAME' and '<l>.reverse.NAME' after it, l = 0, "
                             "1, ... and NAME one of Wx, Wh, b, bhn)");
  return GST_FORMAT;
}

/* Finds the model under `prefix`: one forward layer ("<prefix>Wx", ..., as gst_find_gru), or a
 * stack as above, whose layers, directions, shapes, bias and variant it checks. (inline: a
 * translation unit that reads single layers only compiles it without an unused warning.) */
static inline gst_result gst_find_model(const gst_file *f, const char *prefix,
                                        gst_gru_model *out, char *msg, size_t cap) {
  const size_t plen = gst_strlen(prefix);
  int plain = 0, stacked = 0;
  for (int i = 0; i < f->count; ++i) {
    const gst_tensor *t = &f->tensors[i];
    if ((size_t)t->name_len <= plen || !gst_equal(t->name, plen, prefix, plen)) continue;
    if (gst_equal(t->name + plen, (size_t)t->name_len - plen, "Wx", 2)) plain = 1;
    if (t->name[plen] >= '0' && t->name[plen] <= '9') stacked = 1;
  }
  __builtin_memset(out, 0, sizeof *out);
  if (plain || !stacked) {
    const gst_result r = gst_find_gru(f, prefix, &out->cells[0], msg, cap);
    if (r != GST_OK) return r;
    out->layers = 1;
    out->directions = 1;
    out->input_size = out->cells[0].input_size;
    out->hidden_size = out->cells[0].hidden_size;
    out->has_bias = out->cells[0].b != NULL;
    out->reset_after = out->cells[0].reset_after;
    return GST_OK;
  }

  /* Each key: "<l>." then "reverse." or nothing, then Wx, Wh, b or bhn. A cell (one layer's
   * one direction) is known by one of its keys, which starts with the cell's prefix. */
  const char *cell_key[2 * GST_MAX_LAYERS];
  size_t cell_plen[2 * GST_MAX_LAYERS];
  for (int c = 0; c < 2 * GST_MAX_LAYERS; ++c) cell_key[c] = NULL;
  int layers = 0;
  for (int i = 0; i < f->count; ++i) {
    const gst_tensor *t = &f->tensors[i];
    if ((size_t)t->name_len < plen || !gst_equal(t->name, plen, prefix, plen)) continue;
    const char *s = t->name + plen;
    const size_t len = (size_t)t->name_len - plen;
    size_t digits = 0;
    uint64_t layer = 0;
    while (digits < len && digits < 10 && s[digits] >= '0' && s[digits] <= '9')
      layer = layer * 10 + (uint64_t)(s[digits++] - '0');
    if (digits == 0 || digits >= len || s[digits] != '.' || (digits > 1 && s[0] == '0'))
      return gst_not_a_stack_key(t, prefix, plen, msg, cap);
    size_t at = digits + 1;
    const int reverse = len - at > 8 && gst_equal(s + at, 8, "reverse.", 8);
    if (reverse) at += 8;
    const char *name = s + at;
    const size_t name_len = len - at;
    if (!gst_equal(name, name_len, "Wx", 2) && !gst_equal(name, name_len, "Wh", 2) &&
        !gst_equal(name, name_len, "b", 1) && !gst_equal(name, name_len, "bhn", 3))
      return gst_not_a_stack_key(t, prefix, plen, msg, cap);
    if (layer >= GST_MAX_LAYERS)
      return gst_fail(msg, cap, "tensor", t->name, t->name_len,
                      ": a layer index past the last a model may have, ", 1, GST_MAX_LAYERS - 1);
    const int c = 2 * (int)layer + reverse;
    cell_key[c] = t->name;
    cell_plen[c] = plen + at;
    if ((int)layer + 1 > layers) layers = (int)layer + 1;
  }

  /* The layers 0..L-1, all there, all with the same directions. */
  const int present0 = (cell_key[0] != NULL) | (cell_key[1] != NULL) << 1;
  for (int l = 0; l < layers; ++l) {
    const int present = (cell_key[2 * l] != NULL) | (cell_key[2 * l + 1] != NULL) << 1;
    size_t at = 0;
    if (!present) {
      gst_put_str(msg, cap, &at, "missing layer ");
      gst_put_u64(msg, cap, &at, (uint64_t)l);
      gst_put_str(msg, cap, &at, " of the ");
      gst_put_u64(msg, cap, &at, (uint64_t)layers);
      gst_put_str(msg, cap, &at, " under prefix '");
      gst_put(msg, cap, &at, prefix, plen);
      gst_put_str(msg, cap, &at, "': no keys under ");
      gst_put_cell(msg, cap, &at, prefix, plen, l, 0);
      gst_put_str(msg, cap, &at, " nor ");
      gst_put_cell(msg, cap, &at, prefix, plen, l, 1);
      gst_put_str(msg, cap, &at, " (the layers are numbered 0, 1, ... without gaps)");
      return GST_FORMAT;
    }
    if (present != present0) {
      gst_put_str(msg, cap, &at, "layer ");
      gst_put_u64(msg, cap, &at, (uint64_t)l);
      gst_put_str(msg, cap, &at, " under prefix '");
      gst_put(msg, cap, &at, prefix, plen);
      gst_put_str(msg, cap, &at, "' is ");
      gst_put_str(msg, cap, &at, gst_direction_name(present));
      gst_put_str(msg, cap, &at, " but layer 0 is ");
      gst_put_str(msg, cap, &at, gst_direction_name(present0));
      gst_put_str(msg, cap, &at, ": every layer of a model runs the same directions");
      return GST_FORMAT;
    }
  }
  out->layers = layers;
  out->directions = present0 == 3 ? 2 : 1;
  out->reverse = present0 == 2;

  /* Each cell's tensors, then the shapes, bias and variant they must share. */
  const int model_reset = gst_reset_key_of(f, prefix, plen, -1);
  int k = 0;
  for (int c = 0; c < 2 * layers; ++c) {
    if (!cell_key[c]) continue;
    const int l = c / 2, reverse = c % 2;
    gst_gru_layer *cell = &out->cells[k];
    const gst_result r = gst_find_cell(f, cell_key[c], cell_plen[c], !reverse, cell, msg, cap);
    if (r != GST_OK) return r;
    cell->reset_after =
        gst_reset_key_of(f, cell_key[c], cell_plen[c], model_reset < 0 ? 1 : model_reset);
    size_t at = 0;
    if (k == 0) {
      out->input_size = cell->input_size;
      out->hidden_size = cell->hidden_size;
      out->has_bias = cell->b != NULL;
      out->reset_after = cell->reset_after;
    } else if (cell->hidden_size != out->hidden_size) {
      gst_fail(msg, cap, "tensor", cell->Wh->name, cell->Wh->name_len, ": H is ", 1,
               (uint64_t)cell->hidden_size);
      at = gst_strlen(msg);
      gst_put_str(msg, cap, &at, ", but layer 0's is ");
      gst_put_u64(msg, cap, &at, (uint64_t)out->hidden_size);
      gst_put_str(msg, cap, &at, ": every layer of a model has the same H");
      return GST_FORMAT;
    } else if ((cell->b != NULL) != out->has_bias) {
      gst_put_cell(msg, cap, &at, prefix, plen, l, reverse);
      gst_put_str(msg, cap, &at, cell->b ? " has b and bhn, " : " has no b and bhn, ");
      gst_put_cell(msg, cap, &at, prefix, plen, 0, out->reverse);
      gst_put_str(msg, cap, &at, out->has_bias ? " has them" : " has none");
      gst_put_str(msg, cap, &at, ": every layer of a model has a bias, or none has");
      return GST_FORMAT;
    } else if (cell->reset_after != out->reset_after) {
      gst_put_str(msg, cap, &at, "__metadata__ has ");
      gst_put_cell(msg, cap, &at, prefix, plen, l, reverse);
      gst_put_str(msg, cap, &at, cell->reset_after ? " reset after" : " reset before");
      gst_put_str(msg, cap, &at, " the recurrent product, ");
      gst_put_cell(msg, cap, &at, prefix, plen, 0, out->reverse);
      gst_put_str(msg, cap, &at, out->reset_after ? " after it" : " before it");
      gst_put_str(msg, cap, &at, ": every layer of a model applies the reset gate alike");
      return GST_FORMAT;
    }
    const int64_t expected = l == 0 ? cell->input_size : (int64_t)out->directions * out->hidden_size;
    if (cell->input_size != expected) {
      gst_fail(msg, cap, "tensor", cell->Wx->name, cell->Wx->name_len, ": layer ", 1, (uint64_t)l);
      at = gst_strlen(msg);
      gst_put_str(msg, cap, &at, " reads ");
      gst_put_u64(msg, cap, &at, (uint64_t)cell->input_size);
      gst_put_str(msg, cap, &at, " features, but the layer below it outputs ");
      gst_put_u64(msg, cap, &at, (uint64_t)expected);
      gst_put_str(msg, cap, &at, out->directions == 2 ? " (2 directions x H)" : " (H)");
      gst_put_str(msg, cap, &at, ": the layers' shapes do not chain");
      return GST_FORMAT;
    }
    ++k;
  }
  return GST_OK;
}

#endif /* GRU_SAFETENSORS_H */
