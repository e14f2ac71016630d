// libFuzzer target: the validation behind gru-gen's flags. The input is split at '\n' into
// --name, --input-size, --hidden-size, --batch and a bias flag. parse_size must agree with
// LLVM's StringRef::getAsInteger (what gru-gen used before), check_library_name must accept
// only C identifiers that are no keyword, and for every spec validate() accepts, the derived
// sizes must be sane (no overflow, max_seq_len >= 1) and the spec must survive the IR
// (SpecFrontend::from_flags, pass pipeline, read back) unchanged.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "frontend/SpecFrontend.h"
#include "llvm/ADT/StringRef.h"
#include "spec/GruSpec.h"
#include "support/Error.h"

using namespace grugen;

static void check_parse(const std::string &text) {
  long long reference = 0;
  const bool llvm_ok = !llvm::StringRef(text).getAsInteger(10, reference);
  const std::optional<int64_t> ours = parse_size(text);
  // getAsInteger also takes a radix prefix ("0x", "0b", "0o") only when asked for radix 0; at
  // radix 10 both accept exactly [-]digits within int64.
  if (llvm_ok != ours.has_value() || (ours && *ours != reference)) std::abort();
}

static bool is_identifier(const std::string &s) {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<std::string> parts(5);
  size_t field = 0;
  for (size_t i = 0; i < size && field < parts.size(); ++i) {
    if (data[i] == '\n') {
      ++field;
    } else {
      parts[field] += char(data[i]);
    }
  }
  for (int i = 1; i <= 3; ++i) check_parse(parts[i]);

  const std::optional<std::string> name_problem = check_library_name(parts[0]);
  if (!name_problem && (!is_identifier(parts[0]) || parts[0].size() > GruSpecLimits::kMaxNameLength))
    std::abort();
  if (name_problem && name_problem->find('\n') != std::string::npos) std::abort();

  GruSpec spec;
  spec.name = parts[0];
  const auto d = parse_size(parts[1]), h = parse_size(parts[2]), n = parse_size(parts[3]);
  if (!d || !h || !n) return 0;
  spec.input_size = *d;
  spec.hidden_size = *h;
  spec.batch = *n;
  spec.has_bias = parts[4].empty() || parts[4][0] != '0';
  if (validate(spec)) return 0;

  if (spec.weight_elements() < 1 || spec.weight_elements() > GruSpecLimits::kMaxWeightElements ||
      spec.model_bytes() <= 0 || spec.max_seq_len() < 1 ||
      spec.max_seq_len() * spec.batch * std::max(3 * spec.hidden_size, spec.input_size) > INT32_MAX)
    std::abort();
  try {
    const GruSpec back = SpecFrontend::from_flags(spec).compile();
    if (back.name != spec.name || back.input_size != spec.input_size ||
        back.hidden_size != spec.hidden_size || back.batch != spec.batch ||
        back.has_bias != spec.has_bias)
      std::abort();
  } catch (const GruGenError &) {
    std::abort();  // validate() accepted it: the IR must too
  }
  return 0;
}
