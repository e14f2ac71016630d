/* What the recurrent step's product alone costs on this core at the two shapes where gru-gen's
 * `run` stays under 80 % of the benchmark's roofline (README, "Why the misses"): hand-written
 * AVX-512 loops that do nothing but the step's FMAs over Wh, laid out and tiled as gru-gen's step
 * kernel does (schedules/SchedulePlan.cpp's tiles), with no gates, no call and no xp:
 *
 *   - N = 1, H = 48, 64, 80: hp[3H] = h[H] . Wh, Wh packed [k][3H], 3H/16 accumulators, one
 *     broadcast of h(k) per k. At H = 64, Wh is 48 KiB: all of this core's L1d, so every step
 *     reads most of it from L2. "alternating" walks k backward on every other step (which
 *     starts each step on what the last one left in L1).
 *   - N = 16, H = 512: hp[16][3H] in panels of 16 states x 3 gates (Wh packed [panel][k][3][16],
 *     3 MiB), a tile of 8 rows x 3 vectors (24 accumulators), k in blocks of 128, the two halves
 *     of the rows in turn over each block, so the first half reads the block from L3 and the
 *     second from L1. "alternating" walks the panels backward on every other step (the step's
 *     slices, SchedulePlan.h's plan_step_slices).
 *
 * Each figure is the best of 15 rounds of many steps, in ns (N = 1) or us (N = 16) per step,
 * beside the FMA bound at `peak` GFLOP/s (argv[1]: the one-thread peak bench/peak.c measures;
 * default 0, no bound printed). The products are checked once against a double-precision sum:
 * a wrong loop exits 1. Build: cc -O3 -march=native (AVX-512 F). One JSON object on stdout.
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if !defined(__AVX512F__)
#error "step_limits.c times AVX-512 loops: build with -march=native on an AVX-512 CPU"
#endif

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static float *filled(size_t count, unsigned seed) {
  float *p = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
  if (!p) {
    fprintf(stderr, "step_limits: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < count; ++i) p[i] = 0.01f * (float)((i * 2654435761u + seed) % 97) - 0.48f;
  return p;
}

/* ---- N = 1: hp[j] = sum_k h[k] Wh[k][j], j < 3H, all 3H/16 vectors in registers. */
#define MATVEC(NAME, H)                                                                    \
  __attribute__((noinline)) static void NAME(const float *W, const float *h, float *hp,   \
                                             int backward) {                              \
    enum { V = 3 * (H) / 16 };                                                             \
    __m512 acc[V];                                                                         \
    _Pragma("GCC unroll 16") for (int v = 0; v < V; ++v) acc[v] = _mm512_setzero_ps();     \
    for (int i = 0; i < (H); ++i) {                                                        \
      const int k = backward ? (H) - 1 - i : i;                                            \
      const __m512 b = _mm512_set1_ps(h[k]);                                               \
      _Pragma("GCC unroll 16") for (int v = 0; v < V; ++v) acc[v] =                        \
          _mm512_fmadd_ps(_mm512_load_ps(W + (size_t)k * 3 * (H) + 16 * v), b, acc[v]);     \
    }                                                                                      \
    _Pragma("GCC unroll 16") for (int v = 0; v < V; ++v) _mm512_store_ps(hp + 16 * v, acc[v]); \
  }
MATVEC(matvec48, 48)
MATVEC(matvec64, 64)
MATVEC(matvec80, 80)

/* One step: W, h in, hp out, walking backward or not (the N = 1 and N = 16 loops alike). */
typedef void (*step_fn)(const float *, const float *, float *, int);

static int check(const char *what, const float *got, const double *want, int count) {
  for (int i = 0; i < count; ++i)
    if (!(fabs(got[i] - want[i]) <= 1e-4 * (1.0 + fabs(want[i])))) { /* NaN fails too */
      fprintf(stderr, "step_limits: %s: product %d is %g, not %g: the loop is wrong\n", what, i,
              got[i], want[i]);
      return 0;
    }
  return 1;
}

/* The best seconds per step over 15 rounds of `steps` steps, walking forward (best[0]) and
 * alternately (best[1]) in turn each round. */
static void time_steps(step_fn f, const float *W, float *h, float *hp, int steps, double best[2]) {
  best[0] = best[1] = 1e30;
  for (int round = 0; round < 15; ++round)
    for (int alternate = 0; alternate < 2; ++alternate) {
      const double t0 = now();
      for (int s = 0; s < steps; ++s) {
        f(W, h, hp, alternate && (s & 1));
        h[0] = hp[0] * 1e-9f; /* each step reads the last one's result */
      }
      const double t = (now() - t0) / steps;
      if (t < best[alternate]) best[alternate] = t;
    }
}

static int small_h(int H, step_fn f, double peak, int last) {
  float *W = filled((size_t)3 * H * H, 1), *h = filled((size_t)H, 2), *hp = filled((size_t)3 * H, 3);
  double *want = calloc((size_t)3 * H, sizeof(double));
  for (int j = 0; j < 3 * H; ++j)
    for (int k = 0; k < H; ++k) want[j] += (double)h[k] * W[(size_t)k * 3 * H + j];
  int ok = 1;
  for (int backward = 0; backward < 2; ++backward) {
    for (int j = 0; j < 3 * H; ++j) hp[j] = NAN;
    f(W, h, hp, backward);
    ok &= check(backward ? "N=1 backward" : "N=1 forward", hp, want, 3 * H);
  }
  if (ok) {
    double best[2];
    time_steps(f, W, h, hp, 20000, best);
    printf("  \"n1_h%d\": {\"wh_kib\": %.0f, \"forward_ns\": %.1f, \"alternating_ns\": %.1f", H,
           3.0 * H * H * 4 / 1024, best[0] * 1e9, best[1] * 1e9);
    if (peak > 0) printf(", \"fma_bound_ns\": %.1f", 2.0 * 3 * H * H / peak);
    printf("}%s\n", last ? "" : ",");
  }
  free(W), free(h), free(hp), free(want);
  return ok;
}

/* ---- N = 16, H = 512: the k-blocked step's product. */
enum { BH = 512, BN = 16, PANEL = 16, PANELS = BH / PANEL, KB = 128, PANEL_FLOATS = 3 * PANEL };

__attribute__((noinline)) static void batch_step(const float *W, const float *h, float *hp,
                                                 int backward) {
  for (int q = 0; q < PANELS; ++q) {
    const int p = backward ? PANELS - 1 - q : q;
    float *out = hp + (size_t)p * BN * PANEL_FLOATS; /* [N][3][16] of this panel */
    const float *Wp = W + (size_t)p * BH * PANEL_FLOATS;
    memset(out, 0, sizeof(float) * BN * PANEL_FLOATS);
    for (int kb = 0; kb < BH; kb += KB)
      for (int half = 0; half < 2; ++half) {
        __m512 acc[8][3];
        for (int r = 0; r < 8; ++r)
          for (int g = 0; g < 3; ++g)
            acc[r][g] = _mm512_load_ps(out + (half * 8 + r) * PANEL_FLOATS + 16 * g);
        const float *w = Wp + (size_t)kb * PANEL_FLOATS, *hh = h + (size_t)half * 8 * BH + kb;
        for (int k = 0; k < KB; ++k) {
          const __m512 w0 = _mm512_load_ps(w + k * PANEL_FLOATS),
                       w1 = _mm512_load_ps(w + k * PANEL_FLOATS + 16),
                       w2 = _mm512_load_ps(w + k * PANEL_FLOATS + 32);
#pragma GCC unroll 8
          for (int r = 0; r < 8; ++r) {
            const __m512 b = _mm512_set1_ps(hh[(size_t)r * BH + k]);
            acc[r][0] = _mm512_fmadd_ps(w0, b, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(w1, b, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(w2, b, acc[r][2]);
          }
        }
        for (int r = 0; r < 8; ++r)
          for (int g = 0; g < 3; ++g)
            _mm512_store_ps(out + (half * 8 + r) * PANEL_FLOATS + 16 * g, acc[r][g]);
      }
  }
}

static int batch(double peak) {
  float *W = filled((size_t)3 * BH * BH, 4), *h = filled((size_t)BN * BH, 5),
        *hp = filled((size_t)BN * 3 * BH, 6);
  /* Spot checks: every panel's first and last state of each gate, rows 0, 7, 8 and 15. */
  int ok = 1;
  for (int backward = 0; backward < 2 && ok; ++backward) {
    for (size_t i = 0; i < (size_t)BN * 3 * BH; ++i) hp[i] = NAN; /* a panel left out stays NaN */
    batch_step(W, h, hp, backward);
    for (int p = 0; p < PANELS && ok; ++p)
      for (int i = 0; i < 4 && ok; ++i) {
        static const int rows[4] = {0, 7, 8, 15}; /* each half's first and last row */
        const int r = rows[i];
        for (int g = 0; g < 3 && ok; ++g)
          for (int lane = 0; lane < PANEL && ok; lane += PANEL - 1) {
            double want = 0;
            for (int k = 0; k < BH; ++k)
              want += (double)h[(size_t)r * BH + k] *
                      W[((size_t)p * BH + k) * PANEL_FLOATS + 16 * g + lane];
            const float got = hp[((size_t)p * BN + r) * PANEL_FLOATS + 16 * g + lane];
            ok = check(backward ? "N=16 backward" : "N=16 forward", &got, &want, 1);
          }
      }
  }
  if (ok) {
    double best[2];
    time_steps(batch_step, W, h, hp, 40, best);
    printf("  \"n16_h512\": {\"wh_kib\": %d, \"forward_us\": %.1f, \"alternating_us\": %.1f",
           3 * BH * BH * 4 / 1024, best[0] * 1e6, best[1] * 1e6);
    if (peak > 0) printf(", \"fma_bound_us\": %.1f", 2.0 * BN * 3 * BH * BH / peak * 1e-3);
    printf("}\n");
  }
  free(W), free(h), free(hp);
  return ok;
}

int main(int argc, char **argv) {
  const double peak = argc > 1 ? atof(argv[1]) : 0.0; /* GFLOP/s: ns = FLOPs / peak */
  printf("{\n");
  int ok = small_h(48, matvec48, peak, 0) && small_h(64, matvec64, peak, 0) &&
           small_h(80, matvec80, peak, 0) && batch(peak);
  printf("}\n");
  return ok ? 0 : 1;
}
