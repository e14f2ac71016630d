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

  grugen_gru_model model;
  char message[512] = "";
  const int r = grugen_read_gru_model(bytes.data(), bytes.size(), prefix.c_str(), &model, message,
                                      sizeof message);
  if (r == 2) throw GruGenError("out of memory reading '" + path + "'");
  if (r != 0) throw GruGenError("--weights '" + path + "': " + message);

  GruWeights w;
  w.input_size = model.input_size;
  w.hidden_size = model.hidden_size;
  w.has_bias = model.has_bias != 0;
  w.reset_after = model.reset_after != 0;
  w.layers = model.layers;
  w.direction = model.directions == 2 ? GruDirection::Bidirectional
                : model.reverse       ? GruDirection::Reverse
                                      : GruDirection::Forward;
  w.values.assign(model.values, model.values + model.count);
  grugen_free_gru_model(&model);
  return w;
}

}  // namespace grugen
