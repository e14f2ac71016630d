/* The machine's limits for one core, as bench/bench.py compares gru-gen with them:
 *   - peak FMA throughput: independent chains of vector FMAs (AVX-512 where the compiler
 *     targets it, else AVX2; at SSE4.1, which has no FMA, a multiply and an add, the two
 *     instructions gru-gen's kernels take per weight there), enough chains to cover the latency;
 *     one thread, then one thread per core (argv[1]) at once;
 *   - read bandwidth from a buffer of each size (the cache level it fits in): vector loads
 *     summed into independent accumulators, one thread; and the same with each read walking the
 *     buffer the other way from the one before (forward, backward, ...), which starts on what
 *     the last read left in the caches: a buffer somewhat larger than L2 then reads partly from
 *     L2 (gru-gen's step walks Wh's slices so, SchedulePlan.h's plan_step_slices);
 *   - the cost of a weight stored in each reduced precision (--weights-precision f16, bf16,
 *     int8): converted to float32 in registers and multiplied in one FMA, from a buffer in L1, so
 *     that the conversion and not the bytes is timed. Each precision takes the cheapest way this
 *     ISA has that gru-gen knows of (bfloat16: two in a 32-bit word, split by a shift, a byte
 *     shuffle or an AND; or one widened and shifted), so that the time is a bound for any kernel
 *     that stores its weights so; each way's sum is checked against the scalar sum of its weights;
 *   - w8a8's integer product per weight (int8 weights times bytes, summed in int32): VNNI's
 *     vpdpbusd where the ISA has it, else sign-extended to 16 bits and summed in pairs by
 *     vpmaddwd (gru-gen's kernels' two ways), timed and checked the same way.
 *     Not at SSE4.1, which has no float16 conversion (F16C): there the JSON has no such costs,
 *     and bench.py measures no precision points.
 * The minimum time of many short trials (short, so that some run undisturbed on a shared machine);
 * prints one JSON object. Compiled with -O3 -march=native.
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
typedef __m512i ivec;
#define ILOAD(p) _mm512_load_si512(p)
#define ISET1(x) _mm512_set1_epi32(x)
#define IAND(a, b) _mm512_and_si512(a, b)
#define ISHL16(a) _mm512_slli_epi32(a, 16)
#define ASFLOAT(a) _mm512_castsi512_ps(a)
/* LANES weights stored at p, as float32 */
#define F16_AT(p) _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(p)))
#define BF16_WIDE_AT(p) \
  _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_load_si256((const __m256i *)(p))), 16))
#define INT8_AT(p) _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)(p))))
#if defined(__AVX512BW__)
#define HAVE_BYTE_SHUFFLE 1
#define ISHUFFLE(a, c) _mm512_shuffle_epi8(a, c)
#endif
#elif defined(__SSE4_1__) && !defined(__AVX__)
typedef __m128 vec;
#define LANES 4
#define VSET1(x) _mm_set1_ps(x)
#define VLOAD(p) _mm_load_ps(p)
#define VADD(a, b) _mm_add_ps(a, b)
static float VSUM(__m128 v) {
  float t[4];
  _mm_storeu_ps(t, v);
  return t[0] + t[1] + t[2] + t[3];
}
#define ISA "sse41"
#define NO_CONVERSIONS 1
/* No FMA: each chain adds the product of a vector loaded from L1 (as a kernel's weight vector is,
 * fma_loop's `operands`) and a constant, so that the multiply is off the chain (a chain through
 * the multiply too, as VFMA's would be, is bound by the two latencies, not by the pipes) and,
 * reloaded after a compiler barrier each iteration, cannot be hoisted out of the loop. */
#define PEAK_OPERANDS 1
#define PEAK_STEP(c) a##c = _mm_add_ps(a##c, _mm_mul_ps(_mm_load_ps(operands + LANES * (c)), m));
#define PEAK_BARRIER() __asm__ volatile("" : : "r"(operands) : "memory")
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
typedef __m256i ivec;
#define ILOAD(p) _mm256_load_si256((const __m256i *)(p))
#define ISET1(x) _mm256_set1_epi32(x)
#define IAND(a, b) _mm256_and_si256(a, b)
#define ISHL16(a) _mm256_slli_epi32(a, 16)
#define ASFLOAT(a) _mm256_castsi256_ps(a)
#define F16_AT(p) _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(p)))
#define BF16_WIDE_AT(p) \
  _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_load_si128((const __m128i *)(p))), 16))
#define INT8_AT(p) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(p))))
#define HAVE_BYTE_SHUFFLE 1
#define ISHUFFLE(a, c) _mm256_shuffle_epi8(a, c)
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
  (void)a;
#if defined(PEAK_OPERANDS)
  _Alignas(16) float operands[12 * LANES];
  for (int i = 0; i < 12 * LANES; ++i) operands[i] = 1e-7f * (float)(i + 1);
#endif
#if !defined(PEAK_STEP)
#define PEAK_STEP(c) a##c = VFMA(a##c, m, a);
#define PEAK_BARRIER()
#endif
  for (long i = 0; i < FMA_ITERS; ++i) {
    PEAK_BARRIER();
    CHAIN_VARS(PEAK_STEP)
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

#if !defined(NO_CONVERSIONS)
/* ---- converted weights ------------------------------------------------------------------- */
/* 16 KiB of stored weights (L1), small integers in [-8, 7] so that every sum below is exact. */
enum { CONV_BYTES = 16384, CONV_PASSES = 512, CONV_TRIALS = 100 };
static _Alignas(64) unsigned char conv_buf[CONV_BYTES];
/* A byte shuffle's control that moves each 32-bit word's low half to its high half, zeros
 * below (indices count bytes within a 128-bit lane). */
static _Alignas(64) unsigned char shuffle_up16[64];

/* Eight accumulators, named (an array would live in memory); h = 1, so each sums weights. */
#define ACC_VARS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define ACC_DECLARE(c) vec s##c = VSET1(0);
#define ACC_TOTAL(c) total += VSUM(s##c);

/* One way of converting: a pass over the buffer, CONV_PASSES times; returns the sum. */
typedef float (*conv_way)(int passes);

/* A way: passes over the buffer, STRIDE bytes (8 vectors of weights) per iteration, STEPS
 * multiplying them into the accumulators DECLARE makes after SETUP; TOTAL sums those. */
#define WAY(name, STRIDE, DECLARE, TOTAL, SETUP, STEPS)       \
  static float name(int passes) {                             \
    ACC_VARS(DECLARE)                                         \
    SETUP                                                     \
    for (int r = 0; r < passes; ++r) {                        \
      for (size_t i = 0; i < CONV_BYTES; i += (STRIDE)) {     \
        const unsigned char *p = conv_buf + i;                \
        STEPS                                                 \
      }                                                       \
      __asm__ volatile("" ::: "memory");                      \
    }                                                         \
    float total = 0;                                          \
    ACC_VARS(TOTAL)                                           \
    return total;                                             \
  }
/* Converting: WIDTH bytes per weight, float accumulators, each weight times h = 1. */
#define CONV_WAY(name, WIDTH, SETUP, STEPS)                                             \
  WAY(name, 8 * (WIDTH) * LANES, ACC_DECLARE, ACC_TOTAL, const vec h = VSET1(1.0f); SETUP, \
      STEPS)

/* A weight vector at a time: LANES weights of WIDTH bytes made LANES floats by AT. */
#define VECTOR_STEP(c, AT, WIDTH) s##c = VFMA(AT(p + (WIDTH) * LANES * (c)), h, s##c);
#define VECTOR_STEPS(AT, WIDTH)                                                  \
  VECTOR_STEP(0, AT, WIDTH) VECTOR_STEP(1, AT, WIDTH) VECTOR_STEP(2, AT, WIDTH) \
  VECTOR_STEP(3, AT, WIDTH) VECTOR_STEP(4, AT, WIDTH) VECTOR_STEP(5, AT, WIDTH) \
  VECTOR_STEP(6, AT, WIDTH) VECTOR_STEP(7, AT, WIDTH)
CONV_WAY(way_f16, 2, , VECTOR_STEPS(F16_AT, 2))
CONV_WAY(way_bf16_wide, 2, , VECTOR_STEPS(BF16_WIDE_AT, 2))
CONV_WAY(way_int8, 1, , VECTOR_STEPS(INT8_AT, 1))

/* Pairs: a 32-bit word holds two bfloat16, the low half (k even) moved up by `EVEN`, the high
 * half (k odd) kept by an AND. */
#define PAIR_SETUP                               \
  const ivec high = ISET1((int)0xffff0000u);     \
  const ivec up = ILOAD(shuffle_up16);           \
  (void)up;
#define PAIR_STEPS(EVEN) \
  PAIR_STEP(0, 1, 0, EVEN) PAIR_STEP(2, 3, 1, EVEN) PAIR_STEP(4, 5, 2, EVEN) PAIR_STEP(6, 7, 3, EVEN)
#define PAIR_WAY(name, EVEN) CONV_WAY(name, 2, PAIR_SETUP, PAIR_STEPS(EVEN))
#define PAIR_STEP(a, b, w, EVEN)                                   \
  {                                                                \
    const ivec word = ILOAD(p + 4 * LANES * w);                    \
    s##a = VFMA(ASFLOAT(EVEN(word)), h, s##a);                     \
    s##b = VFMA(ASFLOAT(IAND(word, high)), h, s##b);               \
  }
#define EVEN_SHIFT(word) ISHL16(word)
PAIR_WAY(way_bf16_pairs_shift, EVEN_SHIFT)
#if defined(HAVE_BYTE_SHUFFLE)
#define EVEN_SHUFFLE(word) ISHUFFLE(word, up)
PAIR_WAY(way_bf16_pairs_shuffle, EVEN_SHUFFLE)
#endif

/* w8a8's product: eight int32 accumulators; the input bytes are all 1, so each sums weights. */
#define IACC_DECLARE(c) ivec t##c = ISET1(0);
#define IACC_TOTAL(c) total += isum(t##c);
static float isum(ivec v) {
  int lanes[sizeof(ivec) / 4];
  memcpy(lanes, &v, sizeof lanes);
  float s = 0;
  for (size_t i = 0; i < sizeof lanes / sizeof lanes[0]; ++i) s += (float)lanes[i];
  return s;
}
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#define DOT_WAY_NAME "vpdpbusd"
/* 64 weights per vpdpbusd: groups of 4 bytes times 4 input bytes, summed into each int32. */
#define DOT_STEP(c) t##c = _mm512_dpbusd_epi32(t##c, ones, ILOAD(p + 64 * (c)));
#define DOT_BYTES 64
#define DOT_ONES _mm512_set1_epi8(1)
#elif defined(__AVX512BW__)
#define DOT_WAY_NAME "vpmovsxbw+vpmaddwd"
#define DOT_STEP(c) \
  t##c = _mm512_add_epi32(t##c, _mm512_madd_epi16(_mm512_cvtepi8_epi16(_mm256_load_si256((const __m256i *)(p + 32 * (c)))), ones));
#define DOT_BYTES 32
#define DOT_ONES _mm512_set1_epi16(1)
#else
#define DOT_WAY_NAME "vpmovsxbw+vpmaddwd"
#define DOT_STEP(c) \
  t##c = _mm256_add_epi32(t##c, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(p + 16 * (c)))), ones));
#define DOT_BYTES 16
#define DOT_ONES _mm256_set1_epi16(1)
#endif
WAY(way_w8a8, 8 * DOT_BYTES, IACC_DECLARE, IACC_TOTAL, const ivec ones = DOT_ONES;,
    ACC_VARS(DOT_STEP))

/* Fills the buffer with weights of values in [-8, 7] in `format` ('h' float16, 'b' bfloat16,
 * 'i' int8) and returns their sum. */
static double fill_conv(char format) {
  for (int b = 0; b < 64; ++b)
    shuffle_up16[b] = b % 4 < 2 ? 0x80 : (unsigned char)((b % 16) / 4 * 4 + b % 4 - 2);
  const int width = format == 'i' ? 1 : 2;
  unsigned state = 1;
  double sum = 0;
  for (size_t i = 0; i < (size_t)(CONV_BYTES / width); ++i) {
    state = state * 1103515245u + 12345u; /* pseudo-random by position: a misread differs */
    const int v = (int)((state >> 16) % 16) - 8;
    sum += v;
    if (format == 'i') {
      conv_buf[i] = (unsigned char)(signed char)v;
      continue;
    }
    /* |v| <= 8: exact in both formats. bfloat16 is float32's top half. */
    unsigned bits = 0;
    if (format == 'b') {
      const float f = (float)v;
      unsigned u;
      memcpy(&u, &f, sizeof u);
      bits = u >> 16;
    } else if (v != 0) { /* float16: sign, 5-bit exponent (bias 15), 10-bit mantissa */
      const unsigned a = (unsigned)(v < 0 ? -v : v);
      int e = 0;
      while ((a >> (e + 1)) != 0) ++e;
      bits = (v < 0 ? 0x8000u : 0) | (unsigned)(e + 15) << 10 | ((a << (10 - e)) & 0x3ffu);
    }
    conv_buf[2 * i] = (unsigned char)(bits & 0xff);
    conv_buf[2 * i + 1] = (unsigned char)(bits >> 8);
  }
  return sum;
}

/* ns per weight of `way` (minimum over trials); exits if its sum is not the weights' sum. */
static double conv_ns(conv_way way, const char *name, char format) {
  const double expect = fill_conv(format) * CONV_PASSES;
  const size_t weights = CONV_BYTES / (format == 'i' ? 1 : 2);
  double best = 1e30;
  for (int trial = 0; trial < CONV_TRIALS; ++trial) {
    const double t0 = now();
    const float got = way(CONV_PASSES);
    const double dt = now() - t0;
    if ((double)got != expect) {
      fprintf(stderr, "peak: %s: summed %.1f, not %.1f: the conversion is wrong\n", name,
              (double)got, expect);
      exit(1);
    }
    if (dt < best) best = dt;
  }
  return best / ((double)weights * CONV_PASSES) * 1e9;
}
#endif

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
    printf("}%s", alternate ? "" : ",\n");
  }
#if !defined(NO_CONVERSIONS)
  /* bfloat16: the cheapest of its ways. */
  struct {
    const char *name;
    double ns;
  } bf16[] = {{"pairs_shift", conv_ns(way_bf16_pairs_shift, "bf16 pairs (shift)", 'b')},
#if defined(HAVE_BYTE_SHUFFLE)
              {"pairs_shuffle", conv_ns(way_bf16_pairs_shuffle, "bf16 pairs (shuffle)", 'b')},
#endif
              {"widened", conv_ns(way_bf16_wide, "bf16 widened", 'b')}};
  int best = 0;
  for (int i = 1; i < (int)(sizeof bf16 / sizeof bf16[0]); ++i)
    if (bf16[i].ns < bf16[best].ns) best = i;
  printf(",\n  \"convert_fma_ns_per_weight\": {\"f16\": %.5f, \"bf16\": %.5f, \"int8\": %.5f},\n",
         conv_ns(way_f16, "f16", 'h'), bf16[best].ns, conv_ns(way_int8, "int8", 'i'));
  printf("  \"bf16_way\": \"%s\",\n", bf16[best].name);
  printf("  \"w8a8_product_ns_per_weight\": %.5f,\n  \"w8a8_way\": \"%s\"",
         conv_ns(way_w8a8, "w8a8", 'i'), DOT_WAY_NAME);
#endif
  printf("\n}\n");
  return 0;
}
