/* Every misuse of the C ABI returns GRU_INVALID_ARGUMENT and writes nothing.
 * Build: cc -DLIB=<name> -DLIB_UPPER=<NAME> -I<gru-gen output> misuse.c <target>/lib<name>.a */
#include "gru_test_one_lib.h"
#include "expect.h"

int main(void) {
  const gru_test_lib *lib = THE_LIB;
  const size_t G = 3 * (size_t)lib->H, D = lib->D, H = lib->H, N = lib->N;
  float *Wx = (float *)calloc(G * D, sizeof(float)), *Wh = (float *)calloc(G * H, sizeof(float));
  float *b = (float *)calloc(G, sizeof(float)), *bhn = (float *)calloc(H, sizeof(float));
  const float *bias = lib->has_bias ? b : NULL, *bias_n = lib->has_bias ? bhn : NULL;

  expect(lib->abi_version() == 3, "abi_version() == 3");

  /* create */
  void *const marker = (void *)&passed;
  void *m = marker;
  expect(lib->create(NULL, Wh, bias, bias_n, &m) == GRU_INVALID_ARGUMENT && m == marker,
         "create(Wx=NULL)");
  expect(lib->create(Wx, NULL, bias, bias_n, &m) == GRU_INVALID_ARGUMENT && m == marker,
         "create(Wh=NULL)");
  expect(lib->create(Wx, Wh, bias, bias_n, NULL) == GRU_INVALID_ARGUMENT, "create(out=NULL)");
  if (lib->has_bias) {
    expect(lib->create(Wx, Wh, NULL, bhn, &m) == GRU_INVALID_ARGUMENT && m == marker,
           "create(b=NULL) with bias");
    expect(lib->create(Wx, Wh, b, NULL, &m) == GRU_INVALID_ARGUMENT && m == marker,
           "create(bhn=NULL) with bias");
  } else {
    expect(lib->create(Wx, Wh, b, NULL, &m) == GRU_INVALID_ARGUMENT && m == marker,
           "create(b!=NULL) without bias");
    expect(lib->create(Wx, Wh, NULL, bhn, &m) == GRU_INVALID_ARGUMENT && m == marker,
           "create(bhn!=NULL) without bias");
  }
  expect(lib->create(Wx, Wh, bias, bias_n, &m) == GRU_OK && m != marker && m != NULL,
         "create(valid)");

  /* run */
  const int32_t L = 3;
  float *x = (float *)calloc(N * L * D, sizeof(float)), *h0 = (float *)calloc(N * H, sizeof(float));
  float *out = sentinel(N * L * H);
  expect(lib->run(NULL, x, L, h0, out) == GRU_INVALID_ARGUMENT, "run(m=NULL)");
  expect(lib->run(m, NULL, L, h0, out) == GRU_INVALID_ARGUMENT, "run(x=NULL)");
  expect(lib->run(m, x, L, h0, NULL) == GRU_INVALID_ARGUMENT, "run(out=NULL)");
  expect(lib->run(m, x, 0, h0, out) == GRU_INVALID_ARGUMENT, "run(seq_len=0)");
  expect(lib->run(m, x, -1, h0, out) == GRU_INVALID_ARGUMENT, "run(seq_len=-1)");
  expect(lib->run(m, x, INT32_MIN, h0, out) == GRU_INVALID_ARGUMENT, "run(seq_len=INT32_MIN)");
  if (lib->max_seq_len < INT32_MAX)
    expect(lib->run(m, x, (int32_t)(lib->max_seq_len + 1), h0, out) == GRU_INVALID_ARGUMENT,
           "run(seq_len=MAX_SEQ_LEN+1)");
  expect(untouched(out, N * L * H), "run wrote nothing on invalid arguments");
  expect(lib->run(m, x, L, NULL, out) == GRU_OK && !untouched(out, N * L * H), "run(valid)");

  /* step */
  float *h = sentinel(N * H);
  expect(lib->step(NULL, x, h) == GRU_INVALID_ARGUMENT, "step(m=NULL)");
  expect(lib->step(m, NULL, h) == GRU_INVALID_ARGUMENT, "step(x_t=NULL)");
  expect(lib->step(m, x, NULL) == GRU_INVALID_ARGUMENT, "step(h=NULL)");
  expect(untouched(h, N * H), "step wrote nothing on invalid arguments");

  /* destroy and status strings */
  lib->destroy(m);
  lib->destroy(NULL);
  expect(strcmp(lib->status_string(GRU_OK), "ok") == 0, "status_string(GRU_OK)");
  expect(strcmp(lib->status_string(GRU_INVALID_ARGUMENT), "invalid argument") == 0,
         "status_string(GRU_INVALID_ARGUMENT)");
  expect(strcmp(lib->status_string(GRU_OUT_OF_MEMORY), "out of memory") == 0,
         "status_string(GRU_OUT_OF_MEMORY)");
  expect(strcmp(lib->status_string(GRU_INTERNAL_ERROR), "internal error") == 0,
         "status_string(GRU_INTERNAL_ERROR)");
  expect(strcmp(lib->status_string((gru_status)99), "unknown status") == 0,
         "status_string(99)");

  free(Wx), free(Wh), free(b), free(bhn), free(x), free(h0), free(out), free(h);
  return expect_report(lib->name);
}
