// The pass pipelines: what gru-gen runs on a spec, and gru -> LLVM for MLIR's CPU runner.
#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "transforms/Passes.h"

namespace grugen {

void build_spec_pipeline(mlir::OpPassManager &pm) { pm.addPass(createCheckLimits()); }

void build_lower_to_loops_pipeline(mlir::OpPassManager &pm) {
  // Stage 1: gru -> linalg, tensor, scf, arith, math.
  pm.addPass(createLowerToLinalg());

  // Stage 2: tensors -> buffers, across function boundaries with identity layouts so that a
  // caller's memrefs pass unchanged; then linalg -> scf loops.
  mlir::bufferization::OneShotBufferizationOptions bufferization;
  bufferization.bufferizeFunctionBoundaries = true;
  bufferization.setFunctionBoundaryTypeConversion(
      mlir::bufferization::LayoutMapOption::IdentityLayoutMap);
  pm.addPass(mlir::bufferization::createOneShotBufferizePass(bufferization));
  mlir::bufferization::BufferDeallocationPipelineOptions deallocation;
  mlir::bufferization::buildBufferDeallocationPipeline(pm, deallocation);
  pm.addNestedPass<mlir::func::FuncOp>(mlir::createConvertLinalgToLoopsPass());
}

void build_lower_to_llvm_pipeline(mlir::OpPassManager &pm) {
  build_lower_to_loops_pipeline(pm);
  // Stage 3: everything -> LLVM. tanh has no LLVM intrinsic; it becomes a call to libm's tanhf.
  pm.addPass(mlir::createConvertSCFToCFPass());
  pm.addPass(mlir::memref::createExpandStridedMetadataPass());
  pm.addPass(mlir::createLowerAffinePass());
  pm.addPass(mlir::createConvertMathToLibmPass());
  pm.addPass(mlir::createConvertMathToLLVMPass());
  pm.addPass(mlir::createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(mlir::createArithToLLVMConversionPass());
  pm.addPass(mlir::createConvertFuncToLLVMPass());
  pm.addPass(mlir::createConvertControlFlowToLLVMPass());
  pm.addPass(mlir::createReconcileUnrealizedCastsPass());
}

void register_gru_passes() {
  registerGruPasses();
  mlir::PassPipelineRegistration<>(
      "gru-lower-to-loops",
      "Lower gru.layer to scf loops over memrefs: gru-lower-to-linalg, one-shot "
      "bufferization, buffer deallocation, linalg to loops",
      build_lower_to_loops_pipeline);
  mlir::PassPipelineRegistration<>(
      "gru-lower-to-llvm",
      "Lower gru.layer to the LLVM dialect: gru-lower-to-loops, then the upstream "
      "conversions to LLVM",
      build_lower_to_llvm_pipeline);
}

}  // namespace grugen
