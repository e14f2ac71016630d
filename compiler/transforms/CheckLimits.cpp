// gru-check-limits: the spec check that flags get in the driver, for specs written as IR, with
// the error at the op (or function) that states the offending value.
#include "ir/GruOps.h"
#include "ir/SpecModule.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "transforms/Passes.h"

namespace grugen {

#define GEN_PASS_DEF_CHECKLIMITS
#include "transforms/Passes.h.inc"

namespace {

mlir::LogicalResult check_layer(gru::LayerOp layer) {
  if (!layer.getDtype().isF32())
    return layer.emitError() << "dtype " << layer.getDtype()
                             << " is not supported: gru-gen compiles f32 layers";
  // A library takes any sequence length up to NAME_MAX_SEQ_LEN at run time; a static length in
  // the spec would promise a bound the library does not keep, so it is refused, not ignored.
  auto input = llvm::cast<mlir::RankedTensorType>(layer.getInput().getType());
  if (!input.isDynamicDim(1)) {
    std::string dynamic;  // printed here: a type in a diagnostic comes out quoted
    llvm::raw_string_ostream(dynamic) << input.clone(
        {input.getDimSize(0), mlir::ShapedType::kDynamic, input.getDimSize(2)});
    return layer.emitError() << "static sequence length " << input.getDimSize(1)
                             << ": a library takes any length up to NAME_MAX_SEQ_LEN at run "
                                "time; write the input as "
                             << dynamic;
  }
  mlir::FailureOr<GruSpec> spec = spec_of_layer(layer);
  if (failed(spec)) return mlir::failure();
  if (std::optional<GruSpecError> error = validate(*spec)) {
    // A bad name belongs to the function that carries it, a bad size to the layer.
    mlir::Operation *at = error->field == GruSpecField::Name ? layer->getParentOp() : layer;
    return at->emitError() << "invalid " << names_of(error->field).attribute << ": " << error->message;
  }
  return mlir::success();
}

struct CheckLimits : impl::CheckLimitsBase<CheckLimits> {
  void runOnOperation() override {
    bool ok = true;
    getOperation().walk([&](gru::LayerOp layer) { ok &= succeeded(check_layer(layer)); });
    if (!ok) signalPassFailure();
  }
};

}  // namespace

}  // namespace grugen
