/* The runtime's weight conversions (runtime/gru_pack.h) on values a Python script chose:
 *   precision.test.c IN OUT
 * IN:  int32 n, float32 v[n]; int32 R, K, float32 W[R][K] (finite)
 * OUT: uint16 f16[n], uint16 bf16[n], int32 scales_status(v as one row), float32 scale[R],
 *      int8 q[R][K] (gru_pack_converted with panel 0: MLX's layout), int32 -1 if W with one
 *      weight made NaN is refused, else 0. */
#include <stdio.h>
#include <stdlib.h>

#include "gru_pack.h"

static void *read_all(FILE *f, size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  if (!p || fread(p, 1, bytes, f) != bytes) exit(2);
  return p;
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
  if (!in || !out) return 2;
  int32_t n, R, K;
  if (fread(&n, 4, 1, in) != 1) return 2;
  float *v = (float *)read_all(in, sizeof(float) * (size_t)n);
  if (fread(&R, 4, 1, in) != 1 || fread(&K, 4, 1, in) != 1) return 2;
  float *W = (float *)read_all(in, sizeof(float) * (size_t)R * K);
  for (int32_t i = 0; i < n; ++i) {
    const uint16_t h = gru_f32_to_f16(v[i]);
    fwrite(&h, 2, 1, out);
  }
  for (int32_t i = 0; i < n; ++i) {
    const uint16_t h = gru_f32_to_bf16(v[i]);
    fwrite(&h, 2, 1, out);
  }
  float one_scale;
  const int32_t status = gru_row_scales(&one_scale, v, 1, n);
  fwrite(&status, 4, 1, out);
  float *scale = (float *)malloc(sizeof(float) * (size_t)R);
  int8_t *q = (int8_t *)malloc((size_t)R * K);
  if (gru_row_scales(scale, W, R, K) != 0) return 3;
  gru_pack_converted(q, W, 1, R, K, 0, GRU_PRECISION_INT8, scale, 1, 0);
  fwrite(scale, sizeof(float), (size_t)R, out);
  fwrite(q, 1, (size_t)R * K, out);
  W[(size_t)R * K / 2] = __builtin_nanf("");
  const int32_t refused = gru_row_scales(scale, W, R, K);
  fwrite(&refused, 4, 1, out);
  fclose(out);
  fclose(in);
  free(v), free(W), free(scale), free(q);
  printf("converted %d values, quantized %d x %d\n", (int)n, (int)R, (int)K);
  return 0;
}
