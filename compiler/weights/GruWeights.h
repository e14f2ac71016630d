// Stage 0 of the data path when a model is given: a trained model's weights (MLX safetensors),
// from which gru-gen takes the spec's D, H, bias, layers, direction and variant and, with
// --embed-weights, the values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spec/GruSpec.h"

namespace grugen {

struct GruWeights {
  int64_t input_size = 0;   // D: layer 0's input
  int64_t hidden_size = 0;  // H, every layer's
  bool has_bias = false;
  // Where the model applies its reset gate: the file's metadata "<prefix>reset_after" ("false":
  // before the recurrent product, as gru-import writes for ONNX linear_before_reset=0).
  bool reset_after = true;
  // One forward layer under "<prefix>Wx", ...; or a stack, layer l's directions under
  // "<prefix><l>." (forward) and "<prefix><l>.reverse." (backward).
  int64_t layers = 1;
  GruDirection direction = GruDirection::Forward;
  // Per layer, forward before backward: Wx [3H][D_l], Wh [3H][H], then b [3H] and bhn [H] with
  // bias (D_0 = D, D_l = directions * H above): GruSpec::weight_elements() floats.
  std::vector<float> values;
};

// Reads the model under `prefix` in the safetensors file `path` (runtime/gru_safetensors.h's
// key scheme: one mlx.nn.GRU layer, or a stack such as MLX's list of nn.GRU layers), with the
// reader the generated runtimes use. Throws GruGenError naming the file and the defect.
GruWeights read_gru_weights(const std::string &path, const std::string &prefix);


}  // namespace grugen
