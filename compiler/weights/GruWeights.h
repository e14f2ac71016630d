// Stage 0 of the data path when a model is given: a trained layer's weights (MLX safetensors),
// from which gru-gen takes the spec's D, H and bias and, with --embed-weights, the values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace grugen {

struct GruWeights {
  int64_t input_size = 0;   // D
  int64_t hidden_size = 0;  // H
  bool has_bias = false;
  // Where the layer applies its reset gate: the file's metadata "<prefix>reset_after" ("false":
  // before the recurrent product, as gru-import writes for ONNX linear_before_reset=0).
  bool reset_after = true;
  std::vector<float> values;  // Wx [3H][D], Wh [3H][H], then b [3H] and bhn [H] with bias
};

// Reads the mlx.nn.GRU layer under `prefix` in the safetensors file `path`, with the reader the
// generated runtimes use. Throws GruGenError naming the file and the defect.
GruWeights read_gru_weights(const std::string &path, const std::string &prefix);

}  // namespace grugen
