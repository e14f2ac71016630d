// Stage 2 of the lowering: after stage 1, one-shot bufferization (function boundaries included,
// identity layouts), buffer deallocation, and linalg -> scf loops over memrefs.
// RUN: %gru-opt %s --gru-lower-to-loops | FileCheck %s --implicit-check-not=tensor --implicit-check-not=linalg

// CHECK-LABEL: func.func @g3(
// CHECK-SAME: %[[X:.+]]: memref<3x?x7xf32>, %[[WX:.+]]: memref<39x7xf32>, %[[WH:.+]]: memref<39x13xf32>, %[[B:.+]]: memref<39xf32>, %[[BHN:.+]]: memref<13xf32>, %[[H0:.+]]: memref<3x13xf32>) -> memref<3x?x13xf32>
// CHECK: %[[L:.+]] = memref.dim %[[X]], %{{.+}} : memref<3x?x7xf32>
// xp = b, then xp += x·Wxᵀ, in a buffer of N·L·3H.
// CHECK: %[[XP:.+]] = memref.alloc(%[[L]]) {{.*}} : memref<3x?x39xf32>
// CHECK: memref.load %[[B]]
// CHECK: memref.store %{{.+}}, %[[XP]]
// CHECK: memref.load %[[X]]
// CHECK: memref.load %[[WX]]
// CHECK: %[[OUT:.+]] = memref.alloc(%[[L]]) {{.*}} : memref<3x?x13xf32>
// The time loop: hp in a buffer per step, the gates, the state copied out.
// CHECK: scf.for %[[T:.+]] = %{{.+}} to %[[L]]
// CHECK:   %[[HP:.+]] = memref.alloc() {{.*}} : memref<3x39xf32>
// CHECK:   memref.load %[[WH]]
// CHECK:   memref.subview %[[XP]][0, %[[T]], 0] [3, 1, 13]
// CHECK:   math.exp
// CHECK:   math.tanh
// CHECK:   %[[SLOT:.+]] = memref.subview %[[OUT]][0, %[[T]], 0] [3, 1, 13] [1, 1, 1]
// CHECK:   memref.copy %{{.+}}, %[[SLOT]]
// CHECK:   memref.dealloc %[[HP]]
// CHECK: memref.dealloc %[[XP]]
// CHECK: return %[[OUT]] : memref<3x?x13xf32>
func.func @g3(%x: tensor<3x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>,
              %b: tensor<39xf32>, %bhn: tensor<13xf32>, %h0: tensor<3x13xf32>)
    -> tensor<3x?x13xf32> {
  %out = gru.layer %x, %Wx, %Wh bias(%b, %bhn) initial(%h0)
      {input_size = 7, hidden_size = 13, batch = 3, has_bias = true, dtype = f32}
      : (tensor<3x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>, tensor<39xf32>,
         tensor<13xf32>, tensor<3x13xf32>) -> tensor<3x?x13xf32>
  return %out : tensor<3x?x13xf32>
}
