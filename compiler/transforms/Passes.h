// The gru dialect's passes (Passes.td) and the pipelines built from them.
#pragma once

#include <memory>

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace grugen {

#define GEN_PASS_DECL
#include "transforms/Passes.h.inc"

// What gru-gen runs on every spec module before reading the spec from it: the limits check
// (the pass manager verifies the module before and after).
void build_spec_pipeline(mlir::OpPassManager &pm);

// gru -> LLVM dialect in three stages, runnable by mlir-cpu-runner:
//   1. gru-lower-to-linalg (tensors);
//   2. one-shot bufferization (function boundaries included), buffer deallocation, and
//      linalg -> scf loops;
//   3. scf, memref, math (tanh through libm), arith, func -> LLVM.
// Registered in gru-opt as --gru-lower-to-loops (stages 1-2) and --gru-lower-to-llvm (1-3).
void build_lower_to_loops_pipeline(mlir::OpPassManager &pm);
void build_lower_to_llvm_pipeline(mlir::OpPassManager &pm);

#define GEN_PASS_REGISTRATION
#include "transforms/Passes.h.inc"

// Registers the gru passes and the lowering pipelines with MLIR's registry.
void register_gru_passes();

}  // namespace grugen
