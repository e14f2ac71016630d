// The spec as IR, both ways. A spec module holds one `func.func` named after the library; its
// body is a chain of `gru.layer`s (one for a single layer) whose attributes are the spec,
// applied to the function's arguments:
//
//   func.func @kws(%x, %Wx, %Wh, %b, %bhn, %h0) -> every state   // the library's `run`
//   func.func @m(%x, %Wx0, %Wh0, ..., %Wx1, %Wh1, ..., %h0_0, %h0_1) -> the last layer's states
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

// The spec a module states: a chain of gru.layers in one func.func (layer 0 reads the
// function's input, each next one the previous output, the function returns the last), equal
// but for layer 0's input size. Emits a located error and fails otherwise.
mlir::FailureOr<GruSpec> spec_of_module(mlir::ModuleOp module);

}  // namespace grugen
