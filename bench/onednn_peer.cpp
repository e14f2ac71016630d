// oneDNN's lbr_gru (linear-before-reset GRU, MLX's form) as a peer of gru-gen (bench/bench.py
// compiles it against the virtualenv's oneDNN, bench/requirements.txt).
//
//   onednn_peer DIR D H N L OUT BUDGET [LAYERS DIRECTIONS]
//
// DIR holds the model and input as raw float32 files in MLX's layout (Wx [3H][D], Wh [3H][H],
// b [3H], bhn [H], x [N][L][D]; the files bench/harness.c reads). One forward-inference primitive:
// f32, one layer, unidirectional left2right, with bias, no initial state, batch-first src and dst
// (ntc: the layout MLX and gru-gen use, so no transpose is timed). The conversion from MLX:
//   - gates: MLX's blocks r, z, n are oneDNN's gates 1, 0, 2 (u = z, r, o = n);
//   - weights: oneDNN's ldigo is [layer][dir][input][gate][output], so element (i, g, o) is
//     MLX's W[block(g) * H + o][i]; the primitive chooses its own weight layout (format any) and
//     the ldigo weights are reordered into it once, before timing;
//   - bias: ldgo with four gates (u, r, o, u'), u' the bias inside r * (U_o h + u'):
//     (b_z, b_r, b_n, bhn).
// With LAYERS and DIRECTIONS (a model point of bench.py): instance i = l * DIRECTIONS + k (layer
// major, forward before backward) in Wx_i, Wh_i, b_i, bhn_i, one primitive per layer
// (bidirectional_concat for two directions: the output row is [forward h_t, backward h_t], the
// next layer's input, in a buffer the next primitive reads as it is), the output [N][L][DIRS*H].
// Writes the output [N][L][H] to OUT (bench.py checks it against gru-gen's and MLX's), then times
// the primitive's execution: the minimum (and median) over repetitions for BUDGET seconds, after
// two warm-up runs, like harness.c. Threads: OpenMP's (OMP_NUM_THREADS); ISA: oneDNN's highest
// unless ONEDNN_MAX_CPU_ISA limits it. Prints one JSON object.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

namespace {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::vector<float> load(const std::string &dir, const char *name, size_t count) {
  std::vector<float> data(count);
  const std::string path = dir + "/" + name + ".f32";
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f || std::fread(data.data(), sizeof(float), count, f) != count) {
    std::fprintf(stderr, "onednn_peer: cannot read %zu floats from %s\n", count, path.c_str());
    std::exit(1);
  }
  std::fclose(f);
  return data;
}

// MLX's gate block for oneDNN gate g (u, r, o) = (z, r, n).
constexpr int kMlxBlock[3] = {1, 0, 2};

// MLX's W [3H][in] to oneDNN's ldigo [1][1][in][3][H].
std::vector<float> to_ldigo(const std::vector<float> &w, int in, int h) {
  std::vector<float> out((size_t)in * 3 * h);
  for (int i = 0; i < in; ++i)
    for (int g = 0; g < 3; ++g)
      for (int o = 0; o < h; ++o)
        out[((size_t)i * 3 + g) * h + o] = w[((size_t)kMlxBlock[g] * h + o) * in + i];
  return out;
}

const char *isa_name(dnnl::cpu_isa isa) {
  switch (isa) {
  case dnnl::cpu_isa::sse41: return "sse41";
  case dnnl::cpu_isa::avx: return "avx";
  case dnnl::cpu_isa::avx2: return "avx2";
  case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
  case dnnl::cpu_isa::avx2_vnni_2: return "avx2_vnni_2";
  case dnnl::cpu_isa::avx512_core: return "avx512_core";
  case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
  case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
  case dnnl::cpu_isa::avx512_core_fp16: return "avx512_core_fp16";
  case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
  case dnnl::cpu_isa::avx512_core_amx_fp16: return "avx512_core_amx_fp16";
  default: return "other";
  }
}

struct Timing {
  double min, median;
  int reps;
};

template <typename F> Timing measure(F fn, double budget, int min_reps) {
  fn();
  fn();
  std::vector<double> samples;
  const double start = now();
  while (samples.size() < 100000 &&
         ((int)samples.size() < min_reps || now() - start < budget)) {
    const double t0 = now();
    fn();
    samples.push_back(now() - t0);
  }
  std::sort(samples.begin(), samples.end());
  return {samples[0], samples[samples.size() / 2], (int)samples.size()};
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 8 && argc != 10) {
    std::fprintf(stderr, "usage: %s DIR D H N L OUT BUDGET [LAYERS DIRECTIONS]\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const int D = std::atoi(argv[2]), H = std::atoi(argv[3]), N = std::atoi(argv[4]),
            L = std::atoi(argv[5]);
  const double budget = std::atof(argv[7]);
  const bool model = argc == 10;
  const int layers = model ? std::atoi(argv[8]) : 1, dirs = model ? std::atoi(argv[9]) : 1;
  if (D <= 0 || H <= 0 || N <= 0 || L <= 0 || layers <= 0 || (dirs != 1 && dirs != 2)) {
    std::fprintf(stderr, "onednn_peer: D, H, N, L, LAYERS must be positive, DIRECTIONS 1 or 2\n");
    return 2;
  }
  const int OUT = dirs * H;
  // Each layer's weights (every direction's, in ldigo order) and bias (ldgo).
  std::vector<std::vector<float>> wl(layers), wi(layers), bias(layers);
  for (int l = 0; l < layers; ++l) {
    const int in = l == 0 ? D : OUT;
    for (int k = 0; k < dirs; ++k) {
      const std::string sfx = model ? "_" + std::to_string(l * dirs + k) : "";
      const std::vector<float> Wx = load(dir, ("Wx" + sfx).c_str(), (size_t)3 * H * in),
                               Wh = load(dir, ("Wh" + sfx).c_str(), (size_t)3 * H * H),
                               b = load(dir, ("b" + sfx).c_str(), (size_t)3 * H),
                               bhn = load(dir, ("bhn" + sfx).c_str(), (size_t)H);
      const std::vector<float> a = to_ldigo(Wx, in, H), r = to_ldigo(Wh, H, H);
      wl[l].insert(wl[l].end(), a.begin(), a.end());
      wi[l].insert(wi[l].end(), r.begin(), r.end());
      for (int g = 0; g < 3; ++g)
        bias[l].insert(bias[l].end(), b.begin() + (size_t)kMlxBlock[g] * H,
                       b.begin() + (size_t)(kMlxBlock[g] + 1) * H);
      bias[l].insert(bias[l].end(), bhn.begin(), bhn.end());
    }
  }
  const std::vector<float> x = load(dir, "x", (size_t)N * L * D);
  // Activations: x, then one [N][L][OUT] buffer per layer (the last is the output).
  std::vector<std::vector<float>> act(layers, std::vector<float>((size_t)N * L * OUT));

  try {
    dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    dnnl::stream s(eng);
    const auto direction = dirs == 2 ? dnnl::rnn_direction::bidirectional_concat
                                     : dnnl::rnn_direction::unidirectional_left2right;
    struct Layer {
      dnnl::lbr_gru_forward prim;
      std::unordered_map<int, dnnl::memory> args;
    };
    std::vector<Layer> net;
    std::string impl;
    for (int l = 0; l < layers; ++l) {
      const int in = l == 0 ? D : OUT;
      const dnnl::memory::desc src_md({L, N, in}, dt::f32, tag::ntc),
          dst_md({L, N, OUT}, dt::f32, tag::ntc), bias_md({1, dirs, 4, H}, dt::f32, tag::ldgo),
          wl_any({1, dirs, in, 3, H}, dt::f32, tag::any),
          wi_any({1, dirs, H, 3, H}, dt::f32, tag::any);
      const dnnl::lbr_gru_forward::primitive_desc pd(
          eng, dnnl::prop_kind::forward_inference, direction, src_md, dnnl::memory::desc(),
          wl_any, wi_any, bias_md, dst_md, dnnl::memory::desc());
      impl = pd.impl_info_str();
      // The user's ldigo weights, reordered once into the primitive's layout.
      dnnl::memory wl_user({{1, dirs, in, 3, H}, dt::f32, tag::ldigo}, eng, wl[l].data()),
          wi_user({{1, dirs, H, 3, H}, dt::f32, tag::ldigo}, eng, wi[l].data());
      dnnl::memory wl_mem(pd.weights_layer_desc(), eng), wi_mem(pd.weights_iter_desc(), eng);
      dnnl::reorder(wl_user, wl_mem).execute(s, wl_user, wl_mem);
      dnnl::reorder(wi_user, wi_mem).execute(s, wi_user, wi_mem);
      float *src = l == 0 ? const_cast<float *>(x.data()) : act[l - 1].data();
      net.push_back({dnnl::lbr_gru_forward(pd),
                     {{DNNL_ARG_SRC_LAYER, dnnl::memory(src_md, eng, src)},
                      {DNNL_ARG_WEIGHTS_LAYER, wl_mem},
                      {DNNL_ARG_WEIGHTS_ITER, wi_mem},
                      {DNNL_ARG_BIAS, dnnl::memory(bias_md, eng, bias[l].data())},
                      {DNNL_ARG_DST_LAYER, dnnl::memory(dst_md, eng, act[l].data())},
                      {DNNL_ARG_SCRATCHPAD, dnnl::memory(pd.scratchpad_desc(), eng)},
                      {DNNL_ARG_WORKSPACE, dnnl::memory(pd.workspace_desc(), eng)}}});
    }
    s.wait();
    auto run = [&] {
      for (Layer &layer : net)
        layer.prim.execute(s, layer.args);
      s.wait();
    };
    run();
    const std::vector<float> &y = act[layers - 1];
    FILE *f = std::fopen(argv[6], "wb");
    if (!f || std::fwrite(y.data(), sizeof(float), y.size(), f) != y.size()) {
      std::fprintf(stderr, "onednn_peer: cannot write %s\n", argv[6]);
      return 1;
    }
    std::fclose(f);
    const Timing t = measure(run, budget, 5);
    const dnnl_version_t *v = dnnl_version();
    std::printf("{\n  \"version\": \"%d.%d.%d\",\n  \"isa\": \"%s\",\n  \"impl\": \"%s\",\n"
                "  \"run\": {\"min_s\": %.9g, \"median_s\": %.9g, \"reps\": %d}\n}\n",
                v->major, v->minor, v->patch, isa_name(dnnl::get_effective_cpu_isa()),
                impl.c_str(), t.min, t.median, t.reps);
  } catch (const dnnl::error &e) {
    std::fprintf(stderr, "onednn_peer: oneDNN error %d: %s\n", (int)e.status, e.what());
    return 1;
  }
  return 0;
}
