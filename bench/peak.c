/* The machine's limits for one core, as bench/bench.py compares gru-gen with them:
 *   - peak FMA throughput: independent chains of vector FMAs (AVX-512 where the compiler
 *     targets it, else AVX2), enough chains to cover the FMA latency; one thread, then one
 *     thread per core (argv[1]) at once;
 *   - read bandwidth from a buffer of each size (the cache level it fits in): vector loads
 *     summed into independent accumulators, one thread; and the same with each read walking the
 *     buffer the other way from the one before (forward, backward, ...), which starts on what
 *     the last read left in the caches: a buffer somewhat larger than L2 then reads partly from
 *     L2 (gru-gen's step walks Wh's slices so, SchedulePlan.h's plan_step_slices).
 * The minimum time of many short trials (short, so that some run undisturbed on a shared machine);
 * prints one JSON object. Compiled with -O3 -march=native.
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VSET1(x) _mm512_set1_ps(x)
#define VLOAD(p) _mm512_load_ps(p)
#define VADD(a, b) _mm512_add_ps(a, b)
#define VSUM(v) _mm512_reduce_add_ps(v)
#define ISA "avx512"
#else
typedef __m256 vec;
#define LANES 8
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VSET1(x) _mm256_set1_ps(x)
#define VLOAD(p) _mm256_load_ps(p)
#define VADD(a, b) _mm256_add_ps(a, b)
static float VSUM(__m256 v) {
  float t[8];
  _mm256_storeu_ps(t, v);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#define ISA "avx2"
#endif

enum { CHAINS = 12, FMA_ITERS = 1000 * 1000 };
static volatile float sink;

/* CHAINS * LANES * 2 flops per iteration; the chains are named registers (an array would be
 * kept in memory, and its stores would bound the loop instead of the FMAs). */
#define CHAIN_VARS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
static void *fma_loop(void *arg) {
  (void)arg;
#define DECLARE(c) vec a##c = VSET1(1.0f + c * 1e-3f);
  CHAIN_VARS(DECLARE)
  const vec m = VSET1(0.999999f), a = VSET1(1e-7f);
  for (long i = 0; i < FMA_ITERS; ++i) {
#define STEP(c) a##c = VFMA(a##c, m, a);
    CHAIN_VARS(STEP)
  }
  float s = 0;
#define SUM(c) s += VSUM(a##c);
  CHAIN_VARS(SUM)
  sink = s;
  return NULL;
}

static double fma_gflops(int threads) {
  double best = 1e30;
  for (int trial = 0; trial < 40; ++trial) {
    pthread_t t[64];
    const double t0 = now();
    for (int i = 0; i < threads; ++i) pthread_create(&t[i], NULL, fma_loop, NULL);
    for (int i = 0; i < threads; ++i) pthread_join(t[i], NULL);
    const double dt = now() - t0;
    if (dt < best) best = dt;
  }
  return (double)threads * FMA_ITERS * CHAINS * LANES * 2 / best * 1e-9;
}

/* Sum of `floats` floats (a multiple of 8 * LANES), 8 independent accumulators; walking the
 * buffer from its end when `backward`. */
static float read_once(const float *p, size_t floats, int backward) {
  vec s[8];
  for (int c = 0; c < 8; ++c) s[c] = VSET1(0);
  if (backward) {
    for (size_t i = floats; i > 0; i -= 8 * LANES)
#pragma GCC unroll 8
      for (int c = 0; c < 8; ++c) s[c] = VADD(s[c], VLOAD(p + i - (c + 1) * LANES));
  } else {
    for (size_t i = 0; i < floats; i += 8 * LANES)
#pragma GCC unroll 8
      for (int c = 0; c < 8; ++c) s[c] = VADD(s[c], VLOAD(p + i + c * LANES));
  }
  for (int c = 1; c < 8; ++c) s[0] = VADD(s[0], s[c]);
  return VSUM(s[0]);
}

/* alternate: each read walks the other way from the one before. */
static double read_gbytes_per_s(size_t bytes, int alternate) {
  const size_t floats = bytes / sizeof(float);
  float *p = aligned_alloc(64, bytes);
  for (size_t i = 0; i < floats; ++i) p[i] = 1e-6f * (float)(i % 1000);
  const size_t reps = 1 + (size_t)(8u << 20) / bytes; /* about 8 MiB read per trial */
  double best = 1e30;
  for (int trial = 0; trial < 40; ++trial) {
    read_once(p, floats, 0);
    const double t0 = now();
    float s = 0;
    for (size_t r = 0; r < reps; ++r) {
      s += read_once(p, floats, alternate && r % 2 == 0);
      __asm__ volatile("" ::: "memory");
    }
    const double dt = (now() - t0) / reps;
    sink = s;
    if (dt < best) best = dt;
  }
  free(p);
  return bytes / best * 1e-9;
}

int main(int argc, char **argv) {
  const int cores = argc > 1 ? atoi(argv[1]) : 1;
  printf("{\n  \"isa\": \"%s\",\n", ISA);
  printf("  \"fma_gflops_1_thread\": %.2f,\n", fma_gflops(1));
  printf("  \"fma_gflops_all_threads\": %.2f,\n  \"threads\": %d,\n", fma_gflops(cores), cores);
  /* Finer around L2 sizes (bench.py takes the largest size at most a buffer's). */
  const size_t kib[] = {16,   32,   48,   96,   192,  384,  768,   1024,
                        1536, 2048, 2560, 3072, 6144, 12288, 65536};
  for (int alternate = 0; alternate < 2; ++alternate) {
    printf("  \"%s\": {", alternate ? "read_alternating_gbytes_per_s" : "read_gbytes_per_s");
    for (size_t i = 0; i < sizeof kib / sizeof kib[0]; ++i)
      printf("%s\"%zu\": %.2f", i ? ", " : "", kib[i] * 1024,
             read_gbytes_per_s(kib[i] * 1024, alternate));
    printf("}%s\n", alternate ? "" : ",");
  }
  printf("}\n");
  return 0;
}
