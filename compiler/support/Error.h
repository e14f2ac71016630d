// The one error type gru-gen's stages throw. The driver turns it into the single line
// `gru-gen: error: <message>` and exit status 1; nothing else is printed for a user error.
#pragma once

#include <stdexcept>
#include <string>

namespace grugen {

class GruGenError : public std::runtime_error {
 public:
  explicit GruGenError(const std::string &message) : std::runtime_error(message) {}
};

}  // namespace grugen
