/* One step of a D=2, H=3 GRU with weights chosen so that h' = (1 - z) n with z = 1/2:
 * Wx, Wh and bhn are 0, b is 0 but for the n gate, whose bias is 1, so n = tanh(1) and
 * h' = tanh(1) / 2 for every unit. Prints the state. */
#include <math.h>
#include <stdio.h>

#include "tiny.h"

#define D TINY_INPUT_SIZE
#define H TINY_HIDDEN_SIZE

int main(void) {
  static float wx[3 * H][D], wh[3 * H][H], b[3 * H], bhn[H];
  for (int i = 2 * H; i < 3 * H; ++i) b[i] = 1.0f;
  tiny_model *model = NULL;
  gru_status s = tiny_create(&wx[0][0], &wh[0][0], b, bhn, &model);
  float x[D] = {0.5f, -0.5f}, h[H] = {0};
  if (s == GRU_OK) s = tiny_step(model, x, h);
  tiny_destroy(model);
  if (s != GRU_OK) {
    fprintf(stderr, "%s: %s\n", tiny_status_string(s), tiny_last_error());
    return 1;
  }
  for (int i = 0; i < H; ++i) printf("%.6f\n", h[i]);
  return fabsf(h[0] - tanhf(1.0f) / 2) <= 1e-6f ? 0 : 1;
}
