// libFuzzer target: gru-gen's spec reader (SpecFrontend) on arbitrary text: MLIR parsing and
// verification of the gru dialect, then the pass pipeline, then reading the spec back. Every
// input must end in a spec or a GruGenError (one line), never a crash, an abort or a leak; an
// accepted spec must pass validate() and round-trip through the flags front end unchanged.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "frontend/SpecFrontend.h"
#include "spec/GruSpec.h"
#include "support/Error.h"

using namespace grugen;

static bool same(const GruSpec &a, const GruSpec &b) {
  return a.name == b.name && a.input_size == b.input_size && a.hidden_size == b.hidden_size &&
         a.batch == b.batch && a.has_bias == b.has_bias;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  try {
    SpecFrontend frontend = SpecFrontend::from_source(text, "fuzz.mlir");
    const GruSpec spec = frontend.compile();
    if (validate(spec)) std::abort();  // the pipeline accepted what validate refuses
    const GruSpec again = SpecFrontend::from_flags(spec).compile();
    if (!same(spec, again)) std::abort();
  } catch (const GruGenError &e) {
    const std::string message = e.what();
    if (message.empty() || message.find('\n') != std::string::npos) std::abort();
  }
  return 0;
}
