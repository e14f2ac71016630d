#include "ir/SpecModule.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace grugen {

namespace {

gru::Direction ir_direction(GruDirection direction) {
  switch (direction) {
    case GruDirection::Forward: return gru::Direction::forward;
    case GruDirection::Reverse: return gru::Direction::reverse;
    case GruDirection::Bidirectional: return gru::Direction::bidirectional;
  }
  return gru::Direction::forward;
}

gru::Precision ir_precision(WeightsPrecision precision) {
  switch (precision) {
    case WeightsPrecision::F32: return gru::Precision::f32;
    case WeightsPrecision::F16: return gru::Precision::f16;
    case WeightsPrecision::BF16: return gru::Precision::bf16;
    case WeightsPrecision::Int8: return gru::Precision::int8;
    case WeightsPrecision::W8A8: return gru::Precision::w8a8;
  }
  return gru::Precision::f32;
}

WeightsPrecision spec_precision(gru::Precision precision) {
  switch (precision) {
    case gru::Precision::f32: return WeightsPrecision::F32;
    case gru::Precision::f16: return WeightsPrecision::F16;
    case gru::Precision::bf16: return WeightsPrecision::BF16;
    case gru::Precision::int8: return WeightsPrecision::Int8;
    case gru::Precision::w8a8: return WeightsPrecision::W8A8;
  }
  return WeightsPrecision::F32;
}

GruDirection spec_direction(gru::Direction direction) {
  switch (direction) {
    case gru::Direction::forward: return GruDirection::Forward;
    case gru::Direction::reverse: return GruDirection::Reverse;
    case gru::Direction::bidirectional: return GruDirection::Bidirectional;
  }
  return GruDirection::Forward;
}

}  // namespace

mlir::OwningOpRef<mlir::ModuleOp> build_spec_module(mlir::MLIRContext &context,
                                                    const GruSpec &spec, mlir::Location loc) {
  context.loadDialect<gru::GruDialect, mlir::func::FuncDialect>();
  mlir::OpBuilder builder(&context);
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::ModuleOp::create(loc);
  builder.setInsertionPointToEnd(module->getBody());

  const int64_t H = spec.hidden_size, N = spec.batch, G = 3 * H;
  const int64_t L = mlir::ShapedType::kDynamic;
  const mlir::FloatType f32 = builder.getF32Type();
  // A bidirectional layer's weights and h0 lead with the direction.
  auto tensor = [&](llvm::ArrayRef<int64_t> dims) { return mlir::RankedTensorType::get(dims, f32); };
  auto per_direction = [&](llvm::ArrayRef<int64_t> dims) {
    llvm::SmallVector<int64_t> d;
    if (spec.directions() == 2) d.push_back(2);
    d.append(dims.begin(), dims.end());
    return tensor(d);
  };

  // x, then each layer's Wx, Wh (, b, bhn), then each layer's h0: the single forward layer's
  // function is (x, Wx, Wh, [b, bhn,] h0), as it always was.
  llvm::SmallVector<mlir::Type> arguments = {tensor({N, L, spec.input_size})};
  for (int64_t layer = 0; layer < spec.layers; ++layer) {
    arguments.append({per_direction({G, spec.layer_input_size(layer)}), per_direction({G, H})});
    if (spec.has_bias) arguments.append({per_direction({G}), per_direction({H})});
  }
  for (int64_t layer = 0; layer < spec.layers; ++layer) arguments.push_back(per_direction({N, H}));
  const mlir::Type output = tensor({N, L, spec.output_size()});

  auto function = builder.create<mlir::func::FuncOp>(
      loc, spec.name, builder.getFunctionType(arguments, {output}));
  mlir::Block *body = function.addEntryBlock();
  builder.setInsertionPointToEnd(body);
  auto args = body->getArguments();
  const size_t weights_per_layer = spec.has_bias ? 4 : 2;
  mlir::Value input = args[0];
  for (int64_t layer = 0; layer < spec.layers; ++layer) {
    const size_t at = 1 + size_t(layer) * weights_per_layer;
    mlir::Value b = spec.has_bias ? args[at + 2] : mlir::Value();
    mlir::Value bhn = spec.has_bias ? args[at + 3] : mlir::Value();
    mlir::Value h0 = args[1 + size_t(spec.layers) * weights_per_layer + size_t(layer)];
    auto op = builder.create<gru::LayerOp>(
        loc, output, input, args[at], args[at + 1], b, bhn, h0, mlir::Value(),
        spec.layer_input_size(layer),
        spec.hidden_size, spec.batch, spec.has_bias, f32, ir_direction(spec.direction),
        spec.reset_after, ir_precision(spec.weights_precision));
    input = op.getOutput();
  }
  builder.create<mlir::func::ReturnOp>(loc, input);
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
  spec.weights_precision = spec_precision(layer.getWeightsPrecision());
  spec.direction = spec_direction(layer.getDirection());
  return spec;
}

mlir::FailureOr<GruSpec> spec_of_module(mlir::ModuleOp module) {
  llvm::SmallVector<gru::LayerOp> layers;
  module.walk([&](gru::LayerOp layer) { layers.push_back(layer); });
  if (layers.empty()) return module.emitError("the spec holds no gru.layer");
  mlir::FailureOr<GruSpec> spec = spec_of_layer(layers.front());
  if (failed(spec)) return mlir::failure();
  auto function = llvm::cast<mlir::func::FuncOp>(layers.front()->getParentOp());
  // A chain: layer 0 reads the function's first argument, each next layer the output of the one
  // before, in one function, and the function returns the last layer's output.
  if (layers.front().getInput() != function.getArgument(0))
    return layers.front().emitError("the first gru.layer must read the function's first "
                                    "argument, the model's input");
  for (size_t l = 1; l < layers.size(); ++l) {
    gru::LayerOp layer = layers[l], below = layers[l - 1];
    if (layer->getParentOp() != function.getOperation())
      return layer.emitError("a spec holds one function; this gru.layer is in another");
    if (layer.getInput() != below.getOutput())
      return layer.emitError() << "gru.layer #" << l << " must read the output of gru.layer #"
                               << l - 1 << " (a spec is a chain of layers)";
    // gru-gen's models are uniform stacks: one H, bias, variant and direction for all layers.
    if (layer.getHiddenSize() != below.getHiddenSize() ||
        layer.getHasBias() != below.getHasBias() ||
        layer.getResetAfter() != below.getResetAfter() ||
        layer.getDirection() != below.getDirection() ||
        layer.getWeightsPrecision() != below.getWeightsPrecision())
      return layer.emitError() << "gru.layer #" << l << " differs from gru.layer #" << l - 1
                               << " in hidden_size, has_bias, reset_after, direction or "
                                  "weights_precision; "
                                  "gru-gen compiles stacks of equal layers";
  }
  auto returned = llvm::dyn_cast<mlir::func::ReturnOp>(function.getBody().front().getTerminator());
  if (!returned || returned.getNumOperands() != 1 ||
      returned.getOperand(0) != layers.back().getOutput())
    return function.emitError("the spec's function must return the last gru.layer's output");
  // A `lengths` operand needs nothing of code generation: every library takes per-row lengths
  // at run time (<name>_run_ex, ABI 2).
  spec->layers = int64_t(layers.size());
  return spec;
}

}  // namespace grugen
