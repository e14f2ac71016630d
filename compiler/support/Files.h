// Writing whole files, with failures on gru-gen's one-line error path.
#pragma once

#include <filesystem>
#include <fstream>
#include <string_view>

#include "support/Error.h"

namespace grugen {

inline void write_file(const std::filesystem::path &path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out.write(text.data(), std::streamsize(text.size()));
  if (!out.flush()) throw GruGenError("cannot write '" + path.string() + "'");
}

}  // namespace grugen
