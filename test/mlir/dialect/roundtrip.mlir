// gru.layer prints and parses back unchanged, in its custom and its generic form.
// RUN: %gru-opt %s | %gru-opt | FileCheck %s
// RUN: %gru-opt %s --mlir-print-op-generic | %gru-opt | FileCheck %s

// CHECK-LABEL: func.func @kws
// CHECK: gru.layer %{{.*}}, %{{.*}}, %{{.*}} bias(%{{.*}}, %{{.*}}) initial(%{{.*}}) {batch = 2 : i64, dtype = f32, has_bias = true, hidden_size = 128 : i64, input_size = 40 : i64} : (tensor<2x?x40xf32>, tensor<384x40xf32>, tensor<384x128xf32>, tensor<384xf32>, tensor<128xf32>, tensor<2x128xf32>) -> tensor<2x?x128xf32>
func.func @kws(%x: tensor<2x?x40xf32>, %Wx: tensor<384x40xf32>, %Wh: tensor<384x128xf32>,
               %b: tensor<384xf32>, %bhn: tensor<128xf32>, %h0: tensor<2x128xf32>)
    -> tensor<2x?x128xf32> {
  %out = gru.layer %x, %Wx, %Wh bias(%b, %bhn) initial(%h0)
      {input_size = 40, hidden_size = 128, batch = 2, has_bias = true, dtype = f32}
      : (tensor<2x?x40xf32>, tensor<384x40xf32>, tensor<384x128xf32>, tensor<384xf32>,
         tensor<128xf32>, tensor<2x128xf32>) -> tensor<2x?x128xf32>
  return %out : tensor<2x?x128xf32>
}

// No bias, no initial state, a static sequence length; the default direction is not printed.
// CHECK-LABEL: func.func @plain
// CHECK: gru.layer %{{.*}}, %{{.*}}, %{{.*}} {batch = 1 : i64, dtype = f32, has_bias = false, hidden_size = 13 : i64, input_size = 7 : i64} : (tensor<1x5x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x5x13xf32>
func.func @plain(%x: tensor<1x5x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<1x5x13xf32> {
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32,
       direction = #gru.direction<forward>}
      : (tensor<1x5x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x5x13xf32>
  return %out : tensor<1x5x13xf32>
}

// An initial state without bias.
// CHECK-LABEL: func.func @state_only
// CHECK: gru.layer %{{.*}}, %{{.*}}, %{{.*}} initial(%{{.*}}) {batch = 3 : i64, dtype = f32, has_bias = false, hidden_size = 4 : i64, input_size = 2 : i64}
func.func @state_only(%x: tensor<3x?x2xf32>, %Wx: tensor<12x2xf32>, %Wh: tensor<12x4xf32>,
                      %h0: tensor<3x4xf32>) -> tensor<3x?x4xf32> {
  %out = gru.layer %x, %Wx, %Wh initial(%h0)
      {input_size = 2, hidden_size = 4, batch = 3, has_bias = false, dtype = f32}
      : (tensor<3x?x2xf32>, tensor<12x2xf32>, tensor<12x4xf32>, tensor<3x4xf32>)
      -> tensor<3x?x4xf32>
  return %out : tensor<3x?x4xf32>
}

// The reset gate before the recurrent product: reset_after = false is printed (true, the
// default, is not: @kws above).
// CHECK-LABEL: func.func @reset_before
// CHECK: gru.layer %{{.*}}, %{{.*}}, %{{.*}} bias(%{{.*}}, %{{.*}}) {batch = 1 : i64, dtype = f32, has_bias = true, hidden_size = 13 : i64, input_size = 7 : i64, reset_after = false} : (tensor<1x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>, tensor<39xf32>, tensor<13xf32>) -> tensor<1x?x13xf32>
// CHECK-LABEL: func.func @reset_after_written
// CHECK: gru.layer %{{.*}}, %{{.*}}, %{{.*}} {batch = 1 : i64, dtype = f32, has_bias = false, hidden_size = 13 : i64, input_size = 7 : i64} :
func.func @reset_before(%x: tensor<1x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>,
                        %b: tensor<39xf32>, %bhn: tensor<13xf32>) -> tensor<1x?x13xf32> {
  %out = gru.layer %x, %Wx, %Wh bias(%b, %bhn)
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = true, dtype = f32,
       reset_after = false}
      : (tensor<1x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>, tensor<39xf32>,
         tensor<13xf32>) -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}
func.func @reset_after_written(%x: tensor<1x?x7xf32>, %Wx: tensor<39x7xf32>,
                               %Wh: tensor<39x13xf32>) -> tensor<1x?x13xf32> {
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32,
       reset_after = true}
      : (tensor<1x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}

// Directions: reverse, and bidirectional with its weights and h0 leading with the direction
// (2: forward, then reverse) and an output of 2H; a chain of two layers.
// CHECK-LABEL: func.func @reverse
// CHECK: gru.layer {{.*}} {batch = 1 : i64, direction = #gru.direction<reverse>, dtype = f32, has_bias = false, hidden_size = 13 : i64, input_size = 7 : i64}
func.func @reverse(%x: tensor<1x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<1x?x13xf32> {
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32,
       direction = #gru.direction<reverse>}
      : (tensor<1x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}

// CHECK-LABEL: func.func @stack
// CHECK: %[[Y0:.+]] = gru.layer %{{.*}}, %{{.*}}, %{{.*}} bias(%{{.*}}, %{{.*}}) initial(%{{.*}}) {batch = 2 : i64, direction = #gru.direction<bidirectional>, dtype = f32, has_bias = true, hidden_size = 13 : i64, input_size = 7 : i64} : (tensor<2x?x7xf32>, tensor<2x39x7xf32>, tensor<2x39x13xf32>, tensor<2x39xf32>, tensor<2x13xf32>, tensor<2x2x13xf32>) -> tensor<2x?x26xf32>
// CHECK: gru.layer %[[Y0]], {{.*}} input_size = 26 : i64{{.*}} : (tensor<2x?x26xf32>, tensor<2x39x26xf32>, tensor<2x39x13xf32>, tensor<2x39xf32>, tensor<2x13xf32>) -> tensor<2x?x26xf32>
func.func @stack(%x: tensor<2x?x7xf32>,
                 %Wx0: tensor<2x39x7xf32>, %Wh0: tensor<2x39x13xf32>, %b0: tensor<2x39xf32>,
                 %bhn0: tensor<2x13xf32>, %h0: tensor<2x2x13xf32>,
                 %Wx1: tensor<2x39x26xf32>, %Wh1: tensor<2x39x13xf32>, %b1: tensor<2x39xf32>,
                 %bhn1: tensor<2x13xf32>) -> tensor<2x?x26xf32> {
  %y0 = gru.layer %x, %Wx0, %Wh0 bias(%b0, %bhn0) initial(%h0)
      {input_size = 7, hidden_size = 13, batch = 2, has_bias = true, dtype = f32,
       direction = #gru.direction<bidirectional>}
      : (tensor<2x?x7xf32>, tensor<2x39x7xf32>, tensor<2x39x13xf32>, tensor<2x39xf32>,
         tensor<2x13xf32>, tensor<2x2x13xf32>) -> tensor<2x?x26xf32>
  %y1 = gru.layer %y0, %Wx1, %Wh1 bias(%b1, %bhn1)
      {input_size = 26, hidden_size = 13, batch = 2, has_bias = true, dtype = f32,
       direction = #gru.direction<bidirectional>}
      : (tensor<2x?x26xf32>, tensor<2x39x26xf32>, tensor<2x39x13xf32>, tensor<2x39xf32>,
         tensor<2x13xf32>) -> tensor<2x?x26xf32>
  return %y1 : tensor<2x?x26xf32>
}

// Per-row lengths: an optional [N] i32 operand after h0.
// CHECK-LABEL: func.func @lengths
// CHECK: gru.layer %{{.*}}, %{{.*}}, %{{.*}} initial(%{{.*}}) lengths(%{{.*}}) {batch = 3 : i64, {{.*}}} : (tensor<3x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>, tensor<3x13xf32>, tensor<3xi32>) -> tensor<3x?x13xf32>
func.func @lengths(%x: tensor<3x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>,
                   %h0: tensor<3x13xf32>, %len: tensor<3xi32>) -> tensor<3x?x13xf32> {
  %out = gru.layer %x, %Wx, %Wh initial(%h0) lengths(%len)
      {input_size = 7, hidden_size = 13, batch = 3, has_bias = false, dtype = f32}
      : (tensor<3x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>, tensor<3x13xf32>,
         tensor<3xi32>) -> tensor<3x?x13xf32>
  return %out : tensor<3x?x13xf32>
}
