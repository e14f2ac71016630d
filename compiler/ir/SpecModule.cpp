#include "ir/SpecModule.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace grugen {

mlir::OwningOpRef<mlir::ModuleOp> build_spec_module(mlir::MLIRContext &context,
                                                    const GruSpec &spec, mlir::Location loc) {
  context.loadDialect<gru::GruDialect, mlir::func::FuncDialect>();
  mlir::OpBuilder builder(&context);
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::ModuleOp::create(loc);
  builder.setInsertionPointToEnd(module->getBody());

  const int64_t D = spec.input_size, H = spec.hidden_size, N = spec.batch, G = 3 * H;
  const int64_t L = mlir::ShapedType::kDynamic;
  const mlir::FloatType f32 = builder.getF32Type();
  auto tensor = [&](llvm::ArrayRef<int64_t> dims) { return mlir::RankedTensorType::get(dims, f32); };

  llvm::SmallVector<mlir::Type> arguments = {tensor({N, L, D}), tensor({G, D}), tensor({G, H})};
  if (spec.has_bias) arguments.append({tensor({G}), tensor({H})});
  arguments.push_back(tensor({N, H}));
  const mlir::Type output = tensor({N, L, H});

  auto function = builder.create<mlir::func::FuncOp>(
      loc, spec.name, builder.getFunctionType(arguments, {output}));
  mlir::Block *body = function.addEntryBlock();
  builder.setInsertionPointToEnd(body);
  auto args = body->getArguments();
  mlir::Value b = spec.has_bias ? args[3] : mlir::Value();
  mlir::Value bhn = spec.has_bias ? args[4] : mlir::Value();
  auto layer = builder.create<gru::LayerOp>(
      loc, output, args[0], args[1], args[2], b, bhn, args.back(), spec.input_size,
      spec.hidden_size, spec.batch, spec.has_bias, f32, gru::Direction::forward, spec.reset_after);
  builder.create<mlir::func::ReturnOp>(loc, layer.getOutput());
  return module;
}

mlir::FailureOr<GruSpec> spec_of_layer(gru::LayerOp layer) {
  auto function = llvm::dyn_cast_or_null<mlir::func::FuncOp>(layer->getParentOp());
  if (!function)
    return layer.emitError("a gru.layer compiled by gru-gen must be in a func.func named after "
                           "the library");
  GruSpec spec;
  spec.name = function.getSymName().str();
  spec.input_size = layer.getInputSize();
  spec.hidden_size = layer.getHiddenSize();
  spec.batch = layer.getBatch();
  spec.has_bias = layer.getHasBias();
  spec.reset_after = layer.getResetAfter();
  return spec;
}

mlir::FailureOr<GruSpec> spec_of_module(mlir::ModuleOp module) {
  gru::LayerOp first;
  mlir::WalkResult walk = module.walk([&](gru::LayerOp layer) {
    if (!first) {
      first = layer;
      return mlir::WalkResult::advance();
    }
    layer.emitError("a spec holds one gru.layer; this is a second one");
    return mlir::WalkResult::interrupt();
  });
  if (walk.wasInterrupted()) return mlir::failure();
  if (!first) return module.emitError("the spec holds no gru.layer");
  return spec_of_layer(first);
}

}  // namespace grugen
