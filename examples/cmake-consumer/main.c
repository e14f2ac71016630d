/* Streams a signal through a GRU layer compiled into this program by gru-gen at build time, with
 * its trained weights inside the library: no files, no framework at run time.
 * Prints the final hidden state, one value per line, after DENOISER_STEPS steps of a fixed
 * input signal x[t][d] = sin(0.3 t + 0.7 d), and checks that step-by-step streaming equals one
 * run over the whole sequence. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "denoiser.h"

#define D DENOISER_INPUT_SIZE
#define H DENOISER_HIDDEN_SIZE
#define STEPS 50

int main(void) {
  denoiser_model *model = NULL;
  gru_status s = denoiser_create_default(&model);
  if (s != GRU_OK) {
    fprintf(stderr, "create: %s: %s\n", denoiser_status_string(s), denoiser_last_error());
    return 1;
  }
  static float x[STEPS][D], out[STEPS][H];
  float h[H] = {0};
  for (int t = 0; t < STEPS; ++t)
    for (int d = 0; d < D; ++d) x[t][d] = sinf(0.3f * (float)t + 0.7f * (float)d);

  for (int t = 0; t < STEPS && s == GRU_OK; ++t) s = denoiser_step(model, x[t], h);
  if (s == GRU_OK) s = denoiser_run(model, &x[0][0], STEPS, NULL, &out[0][0]);
  denoiser_destroy(model);
  if (s != GRU_OK) {
    fprintf(stderr, "%s: %s\n", denoiser_status_string(s), denoiser_last_error());
    return 1;
  }
  float worst = 0.0f;
  for (int i = 0; i < H; ++i) worst = fmaxf(worst, fabsf(out[STEPS - 1][i] - h[i]));
  printf("# step x %d vs run: max difference %.3g\n", STEPS, worst);
  for (int i = 0; i < H; ++i) printf("%.8f\n", h[i]);
  return worst <= 1e-6f ? 0 : 1;
}
