// Files built into gru-gen (see cmake/EmbedFiles.cmake): the runtime's C source, the public
// header template and Halide's runtime header, so an installed gru-gen needs no data directory.
#pragma once

#include <optional>
#include <string_view>

namespace grugen {

// The contents of the embedded file `name` (e.g. "gru_runtime.c"), or nullopt.
std::optional<std::string_view> embedded_file(std::string_view name);

}  // namespace grugen
