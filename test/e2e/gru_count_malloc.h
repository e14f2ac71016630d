/* Counting every byte a library obtains from halide_malloc (Halide's allocator hook), to hold a
 * header's memory figures to it: `obtained` since it was last zeroed, `live` now, `peak` the
 * most live, `allocations` the calls since it was last zeroed. Each allocation carries its size in a 128-byte prefix (Halide wants 128-byte
 * alignment). count_halide_malloc() installs the hooks. Header-only, for one test program. */
#ifndef GRU_COUNT_MALLOC_H
#define GRU_COUNT_MALLOC_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef void *(*gru_test_malloc_t)(void *, size_t);
typedef void (*gru_test_free_t)(void *, void *);
extern gru_test_malloc_t halide_set_custom_malloc(gru_test_malloc_t user_malloc);
extern gru_test_free_t halide_set_custom_free(gru_test_free_t user_free);

static uint64_t obtained, live, peak, allocations;

static void *counting_malloc(void *user_context, size_t bytes) {
  (void)user_context;
  unsigned char *p = (unsigned char *)aligned_alloc(128, (bytes + 128 + 127) / 128 * 128);
  if (!p) return NULL;
  memcpy(p, &bytes, sizeof bytes);
  obtained += bytes;
  live += bytes;
  ++allocations;
  if (live > peak) peak = live;
  return p + 128;
}

static void counting_free(void *user_context, void *q) {
  (void)user_context;
  if (!q) return;
  unsigned char *p = (unsigned char *)q - 128;
  size_t bytes;
  memcpy(&bytes, p, sizeof bytes);
  live -= bytes;
  free(p);
}

static inline void count_halide_malloc(void) {
  halide_set_custom_malloc(counting_malloc);
  halide_set_custom_free(counting_free);
}

#endif /* GRU_COUNT_MALLOC_H */
