// Stage 3 of the lowering: after stages 1-2, the upstream conversions to the LLVM dialect; the
// result runs on MLIR's CPU runner. A hand-sized layer (D=2, H=1, L=3) against values worked out
// by hand from the formulas (test/mlir/differential compares real shapes with MLX and Halide).
// RUN: %gru-opt %s --gru-lower-to-llvm > %t.ll.mlir
// RUN: FileCheck %s --check-prefix=LLVM < %t.ll.mlir
// RUN: mlir-cpu-runner %t.ll.mlir -e main -entry-point-result=void -shared-libs=%mlir-runner-libs | FileCheck %s --check-prefix=EXEC

// Only the LLVM dialect is left; tanh is libm's tanhf.
// LLVM-NOT: {{ (arith|math|scf|cf|memref|tensor|linalg|func|gru)\.}}
// LLVM: llvm.func @tanhf(f32) -> f32
// LLVM-NOT: {{ (arith|math|scf|cf|memref|tensor|linalg|func|gru)\.}}
// LLVM: llvm.func @small(
// LLVM-NOT: {{ (arith|math|scf|cf|memref|tensor|linalg|func|gru)\.}}

func.func @small(%x: tensor<1x?x2xf32>, %Wx: tensor<3x2xf32>, %Wh: tensor<3x1xf32>)
    -> tensor<1x?x1xf32> {
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 2, hidden_size = 1, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x?x2xf32>, tensor<3x2xf32>, tensor<3x1xf32>) -> tensor<1x?x1xf32>
  return %out : tensor<1x?x1xf32>
}

// With h = 0: xp = x·Wxᵀ; r = σ(xp_r + 0.7h), z = σ(xp_z - 0.8h), n = tanh(xp_n + r·0.9h),
// h' = (1 - z)·n + z·h.
// EXEC: sizes = [1, 3, 1]
// EXEC: {{\[}}[0.58225{{[0-9]*}}],
// EXEC-NEXT: [0.27733{{[0-9]*}}],
// EXEC-NEXT: [0.82891{{[0-9]*}}]]]
func.func @main() {
  %x = arith.constant dense<[[[1.0, 2.0], [0.5, -1.0], [0.0, 3.0]]]> : tensor<1x3x2xf32>
  %Wx = arith.constant dense<[[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]]> : tensor<3x2xf32>
  %Wh = arith.constant dense<[[0.7], [-0.8], [0.9]]> : tensor<3x1xf32>
  %any_length = tensor.cast %x : tensor<1x3x2xf32> to tensor<1x?x2xf32>
  %out = call @small(%any_length, %Wx, %Wh)
      : (tensor<1x?x2xf32>, tensor<3x2xf32>, tensor<3x1xf32>) -> tensor<1x?x1xf32>
  %printable = tensor.cast %out : tensor<1x?x1xf32> to tensor<*xf32>
  call @printMemrefF32(%printable) : (tensor<*xf32>) -> ()
  return
}
func.func private @printMemrefF32(tensor<*xf32>)
