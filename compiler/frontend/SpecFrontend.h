// The front of gru-gen's data path:
//
//   spec (flags, or a spec.mlir file) -> gru module -> pass pipeline -> GruSpec for code generation
//
// Both kinds of input become the same module (ir/SpecModule.h); the pipeline
// (transforms/Passes.h: build_spec_pipeline) verifies and checks it; the GruSpec that code
// generation receives is read back from the module afterwards, so every spec reaches the Halide
// pipelines through the IR.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "spec/GruSpec.h"

namespace grugen {

class SpecFrontend {
 public:
  // A spec written as MLIR (a module with one func.func @<name> holding one gru.layer).
  // Throws GruGenError with the first located error: "<file>:<line>:<col>: <message>".
  static SpecFrontend from_file(const std::string &path);
  // The same for a spec held in memory; `name` stands for the file in error locations.
  static SpecFrontend from_source(const std::string &text, const std::string &name);
  // A spec given as flags, already validated by the caller (which names the offending flag).
  static SpecFrontend from_flags(const GruSpec &spec);

  SpecFrontend(SpecFrontend &&);
  ~SpecFrontend();

  // Runs the pass pipeline and returns the spec the module states. Throws GruGenError.
  GruSpec compile();
  // Writes the module as compiled, in MLIR's textual form (what `--emit mlir` writes).
  // Throws GruGenError.
  void write_module(const std::filesystem::path &file) const;

 struct State;  // opaque: the MLIR context and the module

 private:
  explicit SpecFrontend(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace grugen
