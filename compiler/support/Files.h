// Reading and writing whole files, with write failures on gru-gen's one-line error path.
#pragma once

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "support/Error.h"

namespace grugen {

inline void write_file(const std::filesystem::path &path, std::string_view text) {
  errno = 0;
  std::ofstream out(path, std::ios::binary);
  out.write(text.data(), std::streamsize(text.size()));
  out.flush();
  if (out) out.close();  // a full disk may only tell at close
  if (!out) {
    const int error = errno;
    throw GruGenError("cannot write '" + path.string() + "'" +
                      (error ? std::string(": ") + std::strerror(error) : std::string()));
  }
}

// A file's bytes; "" when it cannot be read (absent, say).
inline std::string read_text(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace grugen
