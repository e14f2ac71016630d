// gru-check-limits: the limits and library names gru-gen compiles (spec/GruSpec.h), reported at
// the op that states the value. A layer within them passes unchanged.
// RUN: %gru-opt %s -split-input-file -verify-diagnostics --gru-check-limits | FileCheck %s

// CHECK-LABEL: func.func @kws
// CHECK-NEXT: gru.layer
func.func @kws(%x: tensor<2x?x40xf32>, %Wx: tensor<384x40xf32>, %Wh: tensor<384x128xf32>)
    -> tensor<2x?x128xf32> {
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 40, hidden_size = 128, batch = 2, has_bias = false, dtype = f32}
      : (tensor<2x?x40xf32>, tensor<384x40xf32>, tensor<384x128xf32>) -> tensor<2x?x128xf32>
  return %out : tensor<2x?x128xf32>
}

// -----

func.func @wide(%x: tensor<1x?x16385xf32>, %Wx: tensor<3x16385xf32>, %Wh: tensor<3x1xf32>)
    -> tensor<1x?x1xf32> {
  // expected-error @+1 {{invalid input_size: must be in [1, 16384], got 16385}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 16385, hidden_size = 1, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x?x16385xf32>, tensor<3x16385xf32>, tensor<3x1xf32>) -> tensor<1x?x1xf32>
  return %out : tensor<1x?x1xf32>
}

// -----

func.func @tall(%x: tensor<1x?x1xf32>, %Wx: tensor<24579x1xf32>, %Wh: tensor<24579x8193xf32>)
    -> tensor<1x?x8193xf32> {
  // expected-error @+1 {{invalid hidden_size: must be in [1, 8192], got 8193}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 1, hidden_size = 8193, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x?x1xf32>, tensor<24579x1xf32>, tensor<24579x8193xf32>) -> tensor<1x?x8193xf32>
  return %out : tensor<1x?x8193xf32>
}

// -----

func.func @batched(%x: tensor<4097x?x1xf32>, %Wx: tensor<3x1xf32>, %Wh: tensor<3x1xf32>)
    -> tensor<4097x?x1xf32> {
  // expected-error @+1 {{invalid batch: must be in [1, 4096], got 4097}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 1, hidden_size = 1, batch = 4097, has_bias = false, dtype = f32}
      : (tensor<4097x?x1xf32>, tensor<3x1xf32>, tensor<3x1xf32>) -> tensor<4097x?x1xf32>
  return %out : tensor<4097x?x1xf32>
}

// -----

func.func @heavy(%x: tensor<1x?x16384xf32>, %Wx: tensor<24576x16384xf32>,
                 %Wh: tensor<24576x8192xf32>) -> tensor<1x?x8192xf32> {
  // expected-error @+1 {{invalid input_size/hidden_size: 3H*(D+H) weight elements = 603979776 exceed the limit of 268435456}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 16384, hidden_size = 8192, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x?x16384xf32>, tensor<24576x16384xf32>, tensor<24576x8192xf32>)
      -> tensor<1x?x8192xf32>
  return %out : tensor<1x?x8192xf32>
}

// -----

// The library's name is the function's: it must be able to prefix C symbols.
// expected-error @+1 {{invalid library name: 'int' is a C keyword}}
func.func @int(%x: tensor<1x?x1xf32>, %Wx: tensor<3x1xf32>, %Wh: tensor<3x1xf32>)
    -> tensor<1x?x1xf32> {
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 1, hidden_size = 1, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x?x1xf32>, tensor<3x1xf32>, tensor<3x1xf32>) -> tensor<1x?x1xf32>
  return %out : tensor<1x?x1xf32>
}

// -----

// expected-error @+1 {{invalid library name: 'a-b' is not a C identifier (letters, digits and '_' only)}}
func.func @"a-b"(%x: tensor<1x?x1xf32>, %Wx: tensor<3x1xf32>, %Wh: tensor<3x1xf32>)
    -> tensor<1x?x1xf32> {
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 1, hidden_size = 1, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x?x1xf32>, tensor<3x1xf32>, tensor<3x1xf32>) -> tensor<1x?x1xf32>
  return %out : tensor<1x?x1xf32>
}

// -----

func.func @half(%x: tensor<1x?x1xf16>, %Wx: tensor<3x1xf16>, %Wh: tensor<3x1xf16>)
    -> tensor<1x?x1xf16> {
  // expected-error @+1 {{dtype 'f16' is not supported: gru-gen compiles f32 layers}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 1, hidden_size = 1, batch = 1, has_bias = false, dtype = f16}
      : (tensor<1x?x1xf16>, tensor<3x1xf16>, tensor<3x1xf16>) -> tensor<1x?x1xf16>
  return %out : tensor<1x?x1xf16>
}

// -----

// A layer outside any function has no library name.
func.func @outer(%x: tensor<1x?x1xf32>, %Wx: tensor<3x1xf32>, %Wh: tensor<3x1xf32>) {
  scf.execute_region {
    // expected-error @+1 {{a gru.layer compiled by gru-gen must be in a func.func named after the library}}
    %out = gru.layer %x, %Wx, %Wh
        {input_size = 1, hidden_size = 1, batch = 1, has_bias = false, dtype = f32}
        : (tensor<1x?x1xf32>, tensor<3x1xf32>, tensor<3x1xf32>) -> tensor<1x?x1xf32>
    scf.yield
  }
  return
}

// -----

// A static sequence length is refused: a library takes any length up to NAME_MAX_SEQ_LEN.
func.func @fixed(%x: tensor<3x5x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<3x5x13xf32> {
  // expected-error @+1 {{static sequence length 5: a library takes any length up to NAME_MAX_SEQ_LEN at run time; write the input as tensor<3x?x7xf32>}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 3, has_bias = false, dtype = f32}
      : (tensor<3x5x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<3x5x13xf32>
  return %out : tensor<3x5x13xf32>
}

// -----

// Library names: the same rules as --name (C library symbols, the internal namespace NAME__).
// expected-error @+1 {{invalid library name: 'sem' would define sem_destroy, which the C library defines (glibc, musl, macOS)}}
func.func @sem(%x: tensor<1x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<1x?x13xf32> {
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}
