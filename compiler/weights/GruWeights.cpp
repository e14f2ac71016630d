#include "weights/GruWeights.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "support/Error.h"
#include "weights/SafetensorsReader.h"

namespace grugen {

GruWeights read_gru_weights(const std::string &path, const std::string &prefix) {
  // Opening a FIFO would block until someone writes to it: only regular files are read.
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
    throw GruGenError("cannot read --weights file '" + path + "': not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw GruGenError("cannot open --weights file '" + path + "'");
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  if (in.bad()) throw GruGenError("cannot read --weights file '" + path + "'");

  grugen_gru_layer layer;
  char message[256] = "";
  const int r = grugen_read_gru_layer(bytes.data(), bytes.size(), prefix.c_str(), &layer, message,
                                      sizeof message);
  if (r == 2) throw GruGenError("out of memory reading '" + path + "'");
  if (r != 0) throw GruGenError("--weights '" + path + "': " + message);

  GruWeights w;
  w.input_size = layer.input_size;
  w.hidden_size = layer.hidden_size;
  w.has_bias = layer.has_bias != 0;
  w.reset_after = layer.reset_after != 0;
  const size_t G = size_t(3 * layer.hidden_size), D = size_t(layer.input_size),
               H = size_t(layer.hidden_size);
  w.values.insert(w.values.end(), layer.Wx, layer.Wx + G * D);
  w.values.insert(w.values.end(), layer.Wh, layer.Wh + G * H);
  if (w.has_bias) {
    w.values.insert(w.values.end(), layer.b, layer.b + G);
    w.values.insert(w.values.end(), layer.bhn, layer.bhn + H);
  }
  grugen_free_gru_layer(&layer);
  return w;
}

}  // namespace grugen
