// The spec as IR, both ways. A spec module holds one `func.func` named after the library; its
// body is one `gru.layer` whose attributes are the spec, applied to the function's arguments:
//
//   func.func @kws(%x, %Wx, %Wh, %b, %bhn, %h0) -> every state   // the library's `run`
//
// Flags become such a module (build_spec_module); after the pass pipeline, code generation reads
// its GruSpec back from the module (spec_of_module) and from nowhere else.
#pragma once

#include "ir/GruOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "spec/GruSpec.h"

namespace grugen {

// The module stating `spec`, every op at `loc`. The function takes h0, since a library's `run`
// accepts one (absent = zeros); the sequence length is dynamic, as it is for `run`.
mlir::OwningOpRef<mlir::ModuleOp> build_spec_module(mlir::MLIRContext &context,
                                                    const GruSpec &spec, mlir::Location loc);

// The spec of one layer: its attributes, named after the enclosing function. Emits a located
// error and fails when the layer is not directly inside a func.func.
mlir::FailureOr<GruSpec> spec_of_layer(gru::LayerOp layer);

// The spec a module states. Emits a located error and fails unless the module holds exactly one
// gru.layer, inside a func.func.
mlir::FailureOr<GruSpec> spec_of_module(mlir::ModuleOp module);

}  // namespace grugen
