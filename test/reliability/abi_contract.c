/* The C ABI contract, function by function: every invalid argument returns its documented
 * status, writes nothing (out pointers and caller arrays untouched) and leaves one line in
 * last_error naming the function; last_error is per thread and survives successful calls; a
 * model that saw every misuse still computes what it did before.
 * Usage: abi_contract MATCHING.safetensors PREFIX OTHER.safetensors
 *   (a file holding this library's layer under PREFIX, and a valid file holding another one) */
#define _POSIX_C_SOURCE 200809L /* mkstemp under -std=c11 */
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reliability.h"
#include "../e2e/gru_test_lib.h" /* sentinel, untouched */

static void *const kMarker = (void *)&rel_passed;

static int mentions(const char *text, const char *word) {
  return text && strstr(text, word) != NULL && strchr(text, '\n') == NULL;
}

static void *other_thread_error(void *arg) {
  (void)arg;
  return (void *)F(last_error)();
}

#define EXPECT_CREATE(call, status, word)                                                    \
  do {                                                                                       \
    rel_model *m_ = (rel_model *)kMarker;                                                    \
    gru_status s_ = (call);                                                                  \
    CHECK(s_ == (status), "%s returned %d, expected %d", #call, (int)s_, (int)(status));     \
    CHECK(m_ == (rel_model *)kMarker, "%s touched *out", #call);                             \
    CHECK(mentions(F(last_error)(), word), "%s: last_error '%s' lacks '%s'", #call,          \
          F(last_error)(), word);                                                            \
  } while (0)

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s MATCHING.safetensors PREFIX OTHER.safetensors\n", argv[0]);
    return 2;
  }
  const char *matching = argv[1], *prefix = argv[2], *other = argv[3];
  rel_weights w = rel_make_weights();

  /* abi_version, status_string, last_error before any failure */
  CHECK(F(abi_version)() == 3, "abi_version");
  CHECK(strcmp(F(last_error)(), "") == 0, "last_error before any failure is \"\"");
  static const char *const names[] = {"ok", "invalid argument", "out of memory", "I/O error",
                                      "format error", "internal error", "unsupported CPU"};
  for (int s = 0; s <= GRU_UNSUPPORTED_CPU; ++s)
    CHECK(strcmp(F(status_string)((gru_status)s), names[s]) == 0, "status_string(%d)", s);
  CHECK(strcmp(F(status_string)((gru_status)99), "unknown status") == 0, "status_string(99)");
  CHECK(strcmp(F(status_string)((gru_status)-1), "unknown status") == 0, "status_string(-1)");

  /* create: NULL pointers, bias pointers against the spec */
  EXPECT_CREATE(F(create)(NULL, w.Wh, w.b, w.bhn, &m_), GRU_INVALID_ARGUMENT, "create");
  EXPECT_CREATE(F(create)(w.Wx, NULL, w.b, w.bhn, &m_), GRU_INVALID_ARGUMENT, "create");
  EXPECT_CREATE(F(create)(NULL, NULL, NULL, NULL, &m_), GRU_INVALID_ARGUMENT, "create");
  CHECK(F(create)(w.Wx, w.Wh, w.b, w.bhn, NULL) == GRU_INVALID_ARGUMENT, "create(out=NULL)");
  float *fake = rel_array(SZ_G, 1.0f);
#if C(HAS_BIAS)
  EXPECT_CREATE(F(create)(w.Wx, w.Wh, NULL, w.bhn, &m_), GRU_INVALID_ARGUMENT, "bias");
  EXPECT_CREATE(F(create)(w.Wx, w.Wh, w.b, NULL, &m_), GRU_INVALID_ARGUMENT, "bias");
  EXPECT_CREATE(F(create)(w.Wx, w.Wh, NULL, NULL, &m_), GRU_INVALID_ARGUMENT, "bias");
#else
  EXPECT_CREATE(F(create)(w.Wx, w.Wh, fake, NULL, &m_), GRU_INVALID_ARGUMENT, "bias");
  EXPECT_CREATE(F(create)(w.Wx, w.Wh, NULL, fake, &m_), GRU_INVALID_ARGUMENT, "bias");
  EXPECT_CREATE(F(create)(w.Wx, w.Wh, fake, fake, &m_), GRU_INVALID_ARGUMENT, "bias");
#endif

  /* last_error is this thread's: another thread still sees "" */
  pthread_t thread;
  void *seen = NULL;
  CHECK(pthread_create(&thread, NULL, other_thread_error, NULL) == 0 &&
            pthread_join(thread, &seen) == 0 && seen && strcmp((const char *)seen, "") == 0,
        "last_error is per thread");

  /* create_from_safetensors: arguments, I/O errors, format errors */
  EXPECT_CREATE(F(create_from_safetensors)(NULL, prefix, &m_), GRU_INVALID_ARGUMENT,
                "create_from_safetensors");
  CHECK(F(create_from_safetensors)(matching, prefix, NULL) == GRU_INVALID_ARGUMENT,
        "create_from_safetensors(out=NULL)");
  EXPECT_CREATE(F(create_from_safetensors)("/nonexistent/x.safetensors", prefix, &m_),
                GRU_IO_ERROR, "/nonexistent/x.safetensors");
  EXPECT_CREATE(F(create_from_safetensors)(".", prefix, &m_), GRU_IO_ERROR, "regular file");
  EXPECT_CREATE(F(create_from_safetensors)("/dev/null", prefix, &m_), GRU_IO_ERROR, "/dev/null");
  if (mkfifo("abi_contract_fifo", 0600) == 0) { /* would block forever if opened */
    EXPECT_CREATE(F(create_from_safetensors)("abi_contract_fifo", prefix, &m_), GRU_IO_ERROR,
                  "regular file");
    unlink("abi_contract_fifo");
  }
  char empty[] = "abi_contract_empty_XXXXXX";
  const int fd = mkstemp(empty);
  if (fd >= 0) close(fd);
  EXPECT_CREATE(F(create_from_safetensors)(empty, prefix, &m_), GRU_FORMAT_ERROR, "too short");
  unlink(empty);
  EXPECT_CREATE(F(create_from_safetensors)(other, "", &m_), GRU_FORMAT_ERROR, other);
  EXPECT_CREATE(F(create_from_safetensors)(matching, "no.such.prefix.", &m_), GRU_FORMAT_ERROR,
                "missing tensor");

#if C(HAS_EMBEDDED_WEIGHTS)
  CHECK(F(create_default)(NULL) == GRU_INVALID_ARGUMENT, "create_default(out=NULL)");
  rel_model *d = NULL;
  CHECK(F(create_default)(&d) == GRU_OK && d, "create_default");
  F(destroy)(d);
#endif

  /* A model from the file, and one from arrays: both must work after all of the above. */
  rel_model *from_file = (rel_model *)kMarker;
  CHECK(F(create_from_safetensors)(matching, prefix, &from_file) == GRU_OK &&
            from_file != (rel_model *)kMarker && from_file,
        "create_from_safetensors(valid): %s", F(last_error)());
  const char *before = F(last_error)();
  char saved[400];
  snprintf(saved, sizeof saved, "%s", before);
  rel_model *m = NULL;
  CHECK(F(create)(w.Wx, w.Wh, w.b, w.bhn, &m) == GRU_OK && m, "create(valid)");
  CHECK(strcmp(F(last_error)(), saved) == 0, "a successful call leaves last_error alone");

  const int32_t L = 5;
  float *x = rel_array(SZ_N * L * SZ_D, 1.0f), *h0 = rel_array(SZ_N * SZ_H, 0.5f);
  float *reference = (float *)malloc(SZ_N * L * SZ_H * sizeof(float));
  CHECK(F(run)(m, x, L, h0, reference) == GRU_OK, "run(valid) before misuse");

  /* run */
  float *out = sentinel(SZ_N * L * SZ_H);
#define EXPECT_RUN(call, word)                                                               \
  do {                                                                                       \
    gru_status s_ = (call);                                                                  \
    CHECK(s_ == GRU_INVALID_ARGUMENT, "%s returned %d", #call, (int)s_);                    \
    CHECK(mentions(F(last_error)(), word), "%s: last_error '%s'", #call, F(last_error)());   \
  } while (0)
  EXPECT_RUN(F(run)(NULL, x, L, h0, out), "run");
  EXPECT_RUN(F(run)(m, NULL, L, h0, out), "run");
  EXPECT_RUN(F(run)(m, x, L, h0, NULL), "run");
  EXPECT_RUN(F(run)(NULL, NULL, 0, NULL, NULL), "run");
  EXPECT_RUN(F(run)(m, x, 0, h0, out), "seq_len 0");
  EXPECT_RUN(F(run)(m, x, -1, h0, out), "seq_len -1");
  EXPECT_RUN(F(run)(m, x, INT32_MIN, h0, out), "seq_len -2147483648");
  if (C(MAX_SEQ_LEN) < INT32_MAX) {
    char word[64];
    snprintf(word, sizeof word, "seq_len %ld", (long)C(MAX_SEQ_LEN) + 1);
    EXPECT_RUN(F(run)(m, x, (int32_t)(C(MAX_SEQ_LEN) + 1), h0, out), word);
    EXPECT_RUN(F(run)(m, x, INT32_MAX, h0, out), "seq_len 2147483647");
  }
  CHECK(untouched(out, SZ_N * L * SZ_H), "run wrote nothing on invalid arguments");

  /* step */
  float *h = sentinel(SZ_N * SZ_H);
  EXPECT_RUN(F(step)(NULL, x, h), "step");
  EXPECT_RUN(F(step)(m, NULL, h), "step");
  EXPECT_RUN(F(step)(m, x, NULL), "step");
  CHECK(untouched(h, SZ_N * SZ_H), "step wrote nothing on invalid arguments");

  /* The model is unharmed: run gives the same bytes, step x L the same states. */
  CHECK(F(run)(m, x, L, h0, out) == GRU_OK && memcmp(out, reference, SZ_N * L * SZ_H * 4) == 0,
        "run after misuse equals run before");
  memcpy(h, h0, SZ_N * SZ_H * sizeof(float));
  float *xt = (float *)malloc(SZ_N * SZ_D * sizeof(float));
  float worst = 0;
  for (int32_t t = 0; t < L; ++t) {
    for (size_t n = 0; n < SZ_N; ++n) memcpy(xt + n * SZ_D, x + (n * L + t) * SZ_D, SZ_D * sizeof(float));
    CHECK(F(step)(m, xt, h) == GRU_OK, "step(valid) t=%d", (int)t);
    for (size_t n = 0; n < SZ_N; ++n)
      for (size_t j = 0; j < SZ_H; ++j)
        worst = fmaxf(worst, fabsf(h[n * SZ_H + j] - reference[(n * L + t) * SZ_H + j]));
  }
  CHECK(worst <= 1e-6f, "step x L equals run (max diff %g)", (double)worst);

  /* destroy: NULL is a no-op; both models go. */
  F(destroy)(NULL);
  F(destroy)(m);
  F(destroy)(from_file);

  free(fake), free(x), free(h0), free(reference), free(out), free(h), free(xt);
  rel_free_weights(&w);
  return rel_report();
}
