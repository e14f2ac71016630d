// The gru dialect's passes. gru-gen runs gru-check-limits on every spec; gru-lower-to-linalg is
// the first stage of the lowering to upstream MLIR (see Pipelines.cpp for the rest).
#ifndef GRU_PASSES_TD
#define GRU_PASSES_TD

include "mlir/Pass/PassBase.td"

def CheckLimits : Pass<"gru-check-limits", "mlir::ModuleOp"> {
  let summary = "Refuse gru.layer ops that gru-gen cannot compile, with located errors";
  let description = [{
    The verifier holds a layer to its own attributes; this pass holds it to what gru-gen
    compiles: the documented limits (spec/GruSpec.h, the same check the flags get), f32, the
    forward direction, a dynamic sequence length (a library takes any length up to
    NAME_MAX_SEQ_LEN at run time), and a library name (the enclosing function's symbol) that can prefix C
    symbols. Changes nothing.
  }];
}

def LowerToLinalg : Pass<"gru-lower-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lower gru.layer to linalg, tensor, scf, arith and math on tensors";
  let description = [{
    States each layer in upstream dialects, independently of the Halide pipelines:
    one `linalg.generic` contraction projects every timestep (`xp = x·Wxᵀ + b`), then an
    `scf.for` over time computes `hp = h·Whᵀ` (a contraction) and the gates and update (one
    elementwise `linalg.generic`) and inserts each state into the output. The result is ordinary
    tensor IR, ready for one-shot bufferization.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect", "mlir::linalg::LinalgDialect", "mlir::math::MathDialect",
    "mlir::scf::SCFDialect", "mlir::tensor::TensorDialect"
  ];
}

#endif  // GRU_PASSES_TD
