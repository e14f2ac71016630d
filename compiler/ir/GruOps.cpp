#include "ir/GruOps.h"

#include <string>

#include "llvm/ADT/STLExtras.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#define GET_OP_CLASSES
#include "ir/GruOps.cpp.inc"

namespace grugen::gru {

namespace {

std::string render(mlir::Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type;
  return text;
}

// Checks that `value` has exactly the static shape `dims` (kDynamic: any extent) and element
// type `dtype`. `meaning` names the dims in spec terms for the message.
mlir::LogicalResult expect_type(LayerOp op, llvm::StringRef what, mlir::Value value,
                                llvm::ArrayRef<int64_t> dims, mlir::Type dtype,
                                llvm::StringRef meaning) {
  auto type = llvm::cast<mlir::RankedTensorType>(value.getType());
  bool ok = type.getElementType() == dtype && type.getRank() == int64_t(dims.size());
  for (size_t i = 0; ok && i < dims.size(); ++i)
    ok = dims[i] == mlir::ShapedType::kDynamic || type.getDimSize(i) == dims[i];
  if (ok) return mlir::success();
  auto expected = mlir::RankedTensorType::get(dims, dtype);
  return op.emitOpError() << what << " must be " << render(expected) << " (" << meaning
                          << "), got " << render(type);
}

}  // namespace

// The attributes are the spec; every operand and the result must have the type the spec implies.
mlir::LogicalResult LayerOp::verify() {
  const int64_t D = getInputSize(), H = getHiddenSize(), N = getBatch(), G = getGateRows();
  const int64_t O = getOutputSize();
  const mlir::Type dtype = getDtype();
  const int64_t any = mlir::ShapedType::kDynamic;

  if (getHasBias() != bool(getB()) || getHasBias() != bool(getBhn()))
    return emitOpError() << (getHasBias() ? "has_bias = true needs both b and bhn"
                                          : "has_bias = false allows neither b nor bhn");

  // A bidirectional layer's weights and initial state lead with the direction (2: forward,
  // then reverse); a one-direction layer's have no such dimension.
  const bool both = getDirections() == 2;
  auto dims = [&](llvm::ArrayRef<int64_t> shape) {
    llvm::SmallVector<int64_t> d;
    if (both) d.push_back(2);
    d.append(shape.begin(), shape.end());
    return d;
  };
  auto meaning = [&](const char *text) { return (both ? "2 x " : "") + std::string(text); };
  if (failed(expect_type(*this, "input", getInput(), {N, any, D}, dtype,
                         "batch x L x input_size")) ||
      failed(expect_type(*this, "Wx", getWx(), dims({G, D}), dtype,
                         meaning("3*hidden_size x input_size"))) ||
      failed(expect_type(*this, "Wh", getWh(), dims({G, H}), dtype,
                         meaning("3*hidden_size x hidden_size"))) ||
      (getB() && failed(expect_type(*this, "b", getB(), dims({G}), dtype,
                                    meaning("3*hidden_size")))) ||
      (getBhn() && failed(expect_type(*this, "bhn", getBhn(), dims({H}), dtype,
                                      meaning("hidden_size")))) ||
      (getH0() && failed(expect_type(*this, "h0", getH0(), dims({N, H}), dtype,
                                     meaning("batch x hidden_size")))) ||
      (getLengths() && failed(expect_type(*this, "lengths", getLengths(), {N},
                                          mlir::IntegerType::get(getContext(), 32), "batch"))))
    return mlir::failure();

  // Every state: the same L as the input, static or not.
  const int64_t L = llvm::cast<mlir::RankedTensorType>(getInput().getType()).getDimSize(1);
  if (L == 0) return emitOpError() << "input must hold at least one timestep";
  if (failed(expect_type(*this, "output", getOutput(), {N, any, O}, dtype,
                         both ? "batch x L x 2*hidden_size" : "batch x L x hidden_size")))
    return mlir::failure();
  auto output_type = llvm::cast<mlir::RankedTensorType>(getOutput().getType());
  if (output_type.getDimSize(1) != L)
    return emitOpError() << "output must have the input's sequence length: "
                         << render(getInput().getType()) << " gives "
                         << render(mlir::RankedTensorType::get({N, L, O}, dtype)) << ", got "
                         << render(output_type);
  return mlir::success();
}

}  // namespace grugen::gru
