// Stage 1 of the lowering: gru.layer -> linalg, tensor, scf, arith, math on tensors.
// RUN: %gru-opt %s --gru-lower-to-linalg | FileCheck %s

// CHECK-DAG: #[[BIAS:.+]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-DAG: #[[XP:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[X:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[WX:.+]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-DAG: #[[XPR:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[H:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[WH:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[HPMAP:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[EW:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[BHN:.+]] = affine_map<(d0, d1) -> (d1)>

// CHECK-LABEL: func.func @g3(
// CHECK-SAME: %[[X_:.+]]: tensor<3x?x7xf32>, %[[WX_:.+]]: tensor<39x7xf32>, %[[WH_:.+]]: tensor<39x13xf32>, %[[B_:.+]]: tensor<39xf32>, %[[BHN_:.+]]: tensor<13xf32>, %[[H0_:.+]]: tensor<3x13xf32>)
// CHECK-NOT: gru.layer
// The projection of every timestep: b broadcast, then x·Wxᵀ accumulated onto it.
// CHECK: %[[L:.+]] = tensor.dim %[[X_]], %{{.+}} : tensor<3x?x7xf32>
// CHECK: %[[XP0:.+]] = tensor.empty(%[[L]]) : tensor<3x?x39xf32>
// CHECK: %[[XPB:.+]] = linalg.generic {indexing_maps = [#[[BIAS]], #[[XP]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[B_]] : tensor<39xf32>) outs(%[[XP0]] : tensor<3x?x39xf32>)
// CHECK: %[[XPF:.+]] = linalg.generic {indexing_maps = [#[[X]], #[[WX]], #[[XPR]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[X_]], %[[WX_]] : tensor<3x?x7xf32>, tensor<39x7xf32>) outs(%[[XPB]] : tensor<3x?x39xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// The time loop carries h (from h0) and the states filled so far.
// CHECK: %[[STATES:.+]] = tensor.empty(%[[L]]) : tensor<3x?x13xf32>
// CHECK: %[[LOOP:.+]]:2 = scf.for %[[T:.+]] = %{{.+}} to %[[L]] step %{{.+}} iter_args(%[[HC:.+]] = %[[H0_]], %[[OUT:.+]] = %[[STATES]]) -> (tensor<3x13xf32>, tensor<3x?x13xf32>)
// CHECK:   %[[HP:.+]] = linalg.generic {indexing_maps = [#[[H]], #[[WH]], #[[HPMAP]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[HC]], %[[WH_]] : tensor<3x13xf32>, tensor<39x13xf32>)
// CHECK:   %[[XR:.+]] = tensor.extract_slice %[[XPF]][0, %[[T]], 0] [3, 1, 13] [1, 1, 1] : tensor<3x?x39xf32> to tensor<3x13xf32>
// CHECK:   %[[XZ:.+]] = tensor.extract_slice %[[XPF]][0, %[[T]], 13] [3, 1, 13] [1, 1, 1]
// CHECK:   %[[XN:.+]] = tensor.extract_slice %[[XPF]][0, %[[T]], 26] [3, 1, 13] [1, 1, 1]
// CHECK:   %[[HR:.+]] = tensor.extract_slice %[[HP]][0, 0] [3, 13] [1, 1] : tensor<3x39xf32> to tensor<3x13xf32>
// CHECK:   %[[HZ:.+]] = tensor.extract_slice %[[HP]][0, 13] [3, 13] [1, 1]
// CHECK:   %[[HN:.+]] = tensor.extract_slice %[[HP]][0, 26] [3, 13] [1, 1]
// The gates and the update, written over h.
// CHECK:   %[[HNEXT:.+]] = linalg.generic {indexing_maps = [#[[EW]], #[[EW]], #[[EW]], #[[EW]], #[[EW]], #[[EW]], #[[BHN]], #[[EW]]], iterator_types = ["parallel", "parallel"]} ins(%[[XR]], %[[XZ]], %[[XN]], %[[HR]], %[[HZ]], %[[HN]], %[[BHN_]] : {{.*}}) outs(%[[HC]] : tensor<3x13xf32>)
// CHECK:   ^bb0(%[[xr:.+]]: f32, %[[xz:.+]]: f32, %[[xn:.+]]: f32, %[[hr:.+]]: f32, %[[hz:.+]]: f32, %[[hn:.+]]: f32, %[[bhn:.+]]: f32, %[[h:.+]]: f32):
// CHECK:     %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// r = σ(xr + hr)
// CHECK:     %[[SR:.+]] = arith.addf %[[xr]], %[[hr]]
// CHECK:     %[[NR:.+]] = arith.negf %[[SR]]
// CHECK:     %[[ER:.+]] = math.exp %[[NR]]
// CHECK:     %[[DR:.+]] = arith.addf %[[ONE]], %[[ER]]
// CHECK:     %[[R:.+]] = arith.divf %[[ONE]], %[[DR]]
// z = σ(xz + hz)
// CHECK:     %[[SZ:.+]] = arith.addf %[[xz]], %[[hz]]
// CHECK:     %[[NZ:.+]] = arith.negf %[[SZ]]
// CHECK:     %[[EZ:.+]] = math.exp %[[NZ]]
// CHECK:     %[[DZ:.+]] = arith.addf %[[ONE]], %[[EZ]]
// CHECK:     %[[Z:.+]] = arith.divf %[[ONE]], %[[DZ]]
// n = tanh(xn + r ⊙ (hn + bhn))
// CHECK:     %[[HB:.+]] = arith.addf %[[hn]], %[[bhn]]
// CHECK:     %[[RH:.+]] = arith.mulf %[[R]], %[[HB]]
// CHECK:     %[[PN:.+]] = arith.addf %[[xn]], %[[RH]]
// CHECK:     %[[N:.+]] = math.tanh %[[PN]]
// h' = (1 − z) ⊙ n + z ⊙ h
// CHECK:     %[[OMZ:.+]] = arith.subf %[[ONE]], %[[Z]]
// CHECK:     %[[A:.+]] = arith.mulf %[[OMZ]], %[[N]]
// CHECK:     %[[B:.+]] = arith.mulf %[[Z]], %[[h]]
// CHECK:     %[[HN2:.+]] = arith.addf %[[A]], %[[B]]
// CHECK:     linalg.yield %[[HN2]]
// CHECK:   %[[FILLED:.+]] = tensor.insert_slice %[[HNEXT]] into %[[OUT]][0, %[[T]], 0] [3, 1, 13] [1, 1, 1] : tensor<3x13xf32> into tensor<3x?x13xf32>
// CHECK:   scf.yield %[[HNEXT]], %[[FILLED]]
// CHECK: return %[[LOOP]]#1 : tensor<3x?x13xf32>
func.func @g3(%x: tensor<3x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>,
              %b: tensor<39xf32>, %bhn: tensor<13xf32>, %h0: tensor<3x13xf32>)
    -> tensor<3x?x13xf32> {
  %out = gru.layer %x, %Wx, %Wh bias(%b, %bhn) initial(%h0)
      {input_size = 7, hidden_size = 13, batch = 3, has_bias = true, dtype = f32}
      : (tensor<3x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>, tensor<39xf32>,
         tensor<13xf32>, tensor<3x13xf32>) -> tensor<3x?x13xf32>
  return %out : tensor<3x?x13xf32>
}

// Without bias the projection starts from zeros and hn is used as is; without h0 the loop
// starts from zeros; a static L is a constant trip count.
// CHECK-LABEL: func.func @plain(
// CHECK: %[[C5:.+]] = arith.constant 5 : index
// CHECK: %[[ZX:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x5x39xf32>)
// CHECK: linalg.generic {{.*}} outs(%[[ZX]] : tensor<1x5x39xf32>)
// CHECK: %[[ZH:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x13xf32>)
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[C5]] step %{{.+}} iter_args(%{{.+}} = %[[ZH]], %{{.+}} = %{{.+}})
// CHECK: linalg.generic {indexing_maps = [#[[EW]], #[[EW]], #[[EW]], #[[EW]], #[[EW]], #[[EW]], #[[EW]]]
// CHECK-NOT: gru.layer
func.func @plain(%x: tensor<1x5x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<1x5x13xf32> {
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x5x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x5x13xf32>
  return %out : tensor<1x5x13xf32>
}

// The reset gate before the recurrent product: r ⊙ h is its own elementwise generic, its
// product with Wh a second contraction, whose n block the gates add to xp_n with bhn after it;
// r is not recomputed in the gates.
// CHECK-LABEL: func.func @reset_before(
// CHECK: scf.for
// CHECK:   %[[HP:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.+}}, %{{.+}} : tensor<1x13xf32>, tensor<39x13xf32>)
// CHECK:   %[[RS:.+]] = tensor.extract_slice %[[HP]][0, 0] [1, 13] [1, 1]
// CHECK:   %[[RHV:.+]] = linalg.generic {indexing_maps = [#[[EW]], #[[EW]], #[[EW]], #[[EW]]], {{.*}} ins(%{{.+}}, %[[RS]], %{{.+}} :
// CHECK:     math.exp
// CHECK:     %[[RV:.+]] = arith.divf
// CHECK:     %[[RXH:.+]] = arith.mulf %[[RV]], %{{.+}}
// CHECK:     linalg.yield %[[RXH]]
// CHECK:   %[[HPN:.+]] = linalg.generic {{.*}} ins(%[[RHV]], %{{.+}} : tensor<1x13xf32>, tensor<39x13xf32>)
// CHECK:   tensor.extract_slice %[[HPN]][0, 26] [1, 13] [1, 1]
// CHECK:   linalg.generic {indexing_maps = [#[[EW]], #[[EW]], #[[EW]], #[[EW]], #[[EW]], #[[EW]], #[[BHN]], #[[EW]]]
// CHECK:   ^bb0(%[[xr:.+]]: f32, %[[xz:.+]]: f32, %[[xn:.+]]: f32, %[[hr:.+]]: f32, %[[hz:.+]]: f32, %[[hn:.+]]: f32, %[[bhn:.+]]: f32, %[[h:.+]]: f32):
// CHECK-NOT: %[[hr]]
// CHECK:     %[[HB:.+]] = arith.addf %[[hn]], %[[bhn]]
// CHECK-NEXT: %[[PN:.+]] = arith.addf %[[xn]], %[[HB]]
// CHECK-NEXT: math.tanh %[[PN]]
func.func @reset_before(%x: tensor<1x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>,
                        %b: tensor<39xf32>, %bhn: tensor<13xf32>) -> tensor<1x?x13xf32> {
  %out = gru.layer %x, %Wx, %Wh bias(%b, %bhn)
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = true, dtype = f32,
       reset_after = false}
      : (tensor<1x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>, tensor<39xf32>,
         tensor<13xf32>) -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}
