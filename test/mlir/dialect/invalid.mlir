// The verifier holds every operand and the result to the spec in the attributes.
// RUN: %gru-opt %s -split-input-file -verify-diagnostics

func.func @wx_shape(%x: tensor<1x?x7xf32>, %Wx: tensor<39x8xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<1x?x13xf32> {
  // expected-error @+1 {{'gru.layer' op Wx must be tensor<39x7xf32> (3*hidden_size x input_size), got tensor<39x8xf32>}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x?x7xf32>, tensor<39x8xf32>, tensor<39x13xf32>) -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}

// -----

func.func @wh_shape(%x: tensor<1x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<13x13xf32>)
    -> tensor<1x?x13xf32> {
  // expected-error @+1 {{Wh must be tensor<39x13xf32> (3*hidden_size x hidden_size), got tensor<13x13xf32>}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x?x7xf32>, tensor<39x7xf32>, tensor<13x13xf32>) -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}

// -----

func.func @input_batch(%x: tensor<2x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<1x?x13xf32> {
  // expected-error @+1 {{input must be tensor<1x?x7xf32> (batch x L x input_size), got tensor<2x?x7xf32>}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32}
      : (tensor<2x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}

// -----

func.func @input_rank(%x: tensor<?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<1x?x13xf32> {
  // expected-error @+1 {{input must be tensor<1x?x7xf32> (batch x L x input_size), got tensor<?x7xf32>}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32}
      : (tensor<?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}

// -----

func.func @empty_sequence(%x: tensor<1x0x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<1x0x13xf32> {
  // expected-error @+1 {{input must hold at least one timestep}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x0x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x0x13xf32>
  return %out : tensor<1x0x13xf32>
}

// -----

func.func @output_length(%x: tensor<1x5x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<1x?x13xf32> {
  // expected-error @+1 {{output must have the input's sequence length: tensor<1x5x7xf32> gives tensor<1x5x13xf32>, got tensor<1x?x13xf32>}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x5x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}

// -----

func.func @output_hidden(%x: tensor<1x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<1x?x12xf32> {
  // expected-error @+1 {{output must be tensor<1x?x13xf32> (batch x L x hidden_size), got tensor<1x?x12xf32>}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x?x12xf32>
  return %out : tensor<1x?x12xf32>
}

// -----

func.func @bias_missing(%x: tensor<1x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<1x?x13xf32> {
  // expected-error @+1 {{has_bias = true needs both b and bhn}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = true, dtype = f32}
      : (tensor<1x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}

// -----

func.func @bias_unexpected(%x: tensor<1x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>,
                           %b: tensor<39xf32>, %bhn: tensor<13xf32>) -> tensor<1x?x13xf32> {
  // expected-error @+1 {{has_bias = false allows neither b nor bhn}}
  %out = gru.layer %x, %Wx, %Wh bias(%b, %bhn)
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>, tensor<39xf32>, tensor<13xf32>)
      -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}

// -----

func.func @bhn_shape(%x: tensor<1x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>,
                     %b: tensor<39xf32>, %bhn: tensor<39xf32>) -> tensor<1x?x13xf32> {
  // expected-error @+1 {{bhn must be tensor<13xf32> (hidden_size), got tensor<39xf32>}}
  %out = gru.layer %x, %Wx, %Wh bias(%b, %bhn)
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = true, dtype = f32}
      : (tensor<1x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>, tensor<39xf32>, tensor<39xf32>)
      -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}

// -----

func.func @h0_shape(%x: tensor<3x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>,
                    %h0: tensor<1x13xf32>) -> tensor<3x?x13xf32> {
  // expected-error @+1 {{h0 must be tensor<3x13xf32> (batch x hidden_size), got tensor<1x13xf32>}}
  %out = gru.layer %x, %Wx, %Wh initial(%h0)
      {input_size = 7, hidden_size = 13, batch = 3, has_bias = false, dtype = f32}
      : (tensor<3x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>, tensor<1x13xf32>)
      -> tensor<3x?x13xf32>
  return %out : tensor<3x?x13xf32>
}

// -----

func.func @element_type(%x: tensor<1x?x7xf16>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<1x?x13xf32> {
  // expected-error @+1 {{input must be tensor<1x?x7xf32> (batch x L x input_size), got tensor<1x?x7xf16>}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x?x7xf16>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}

// -----

func.func @size_not_positive(%x: tensor<1x?x7xf32>, %Wx: tensor<0x7xf32>, %Wh: tensor<0x0xf32>)
    -> tensor<1x?x0xf32> {
  // The attribute's own constraint, reported where the attributes are.
  // expected-error @+2 {{attribute 'hidden_size' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 0, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x?x7xf32>, tensor<0x7xf32>, tensor<0x0xf32>) -> tensor<1x?x0xf32>
  return %out : tensor<1x?x0xf32>
}

// -----

func.func @missing_attribute(%x: tensor<1x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<1x?x13xf32> {
  // expected-error @+1 {{requires attribute 'batch'}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, has_bias = false, dtype = f32}
      : (tensor<1x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}

// -----

func.func @unranked(%x: tensor<*xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<1x?x13xf32> {
  // expected-error @+1 {{operand #0 must be ranked tensor of floating-point values, but got 'tensor<*xf32>'}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32}
      : (tensor<*xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}

// -----

func.func @reset_after_not_bool(%x: tensor<1x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<1x?x13xf32> {
  // expected-error @+2 {{attribute 'reset_after' failed to satisfy constraint: bool attribute}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32, reset_after = 0}
      : (tensor<1x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}

// -----

func.func @bidirectional_weights(%x: tensor<1x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<2x39x13xf32>)
    -> tensor<1x?x26xf32> {
  // expected-error @+1 {{'gru.layer' op Wx must be tensor<2x39x7xf32> (2 x 3*hidden_size x input_size), got tensor<39x7xf32>}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32,
       direction = #gru.direction<bidirectional>}
      : (tensor<1x?x7xf32>, tensor<39x7xf32>, tensor<2x39x13xf32>) -> tensor<1x?x26xf32>
  return %out : tensor<1x?x26xf32>
}

// -----

func.func @bidirectional_output(%x: tensor<1x?x7xf32>, %Wx: tensor<2x39x7xf32>, %Wh: tensor<2x39x13xf32>)
    -> tensor<1x?x13xf32> {
  // expected-error @+1 {{'gru.layer' op output must be tensor<1x?x26xf32> (batch x L x 2*hidden_size), got tensor<1x?x13xf32>}}
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32,
       direction = #gru.direction<bidirectional>}
      : (tensor<1x?x7xf32>, tensor<2x39x7xf32>, tensor<2x39x13xf32>) -> tensor<1x?x13xf32>
  return %out : tensor<1x?x13xf32>
}

// -----

func.func @stacked_input(%x: tensor<1x?x7xf32>, %Wx0: tensor<39x7xf32>, %Wh0: tensor<39x13xf32>,
                         %Wx1: tensor<39x7xf32>, %Wh1: tensor<39x13xf32>) -> tensor<1x?x13xf32> {
  %y0 = gru.layer %x, %Wx0, %Wh0
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x?x13xf32>
  // A layer above reads H features: its input_size must say so.
  // expected-error @+1 {{'gru.layer' op input must be tensor<1x?x7xf32> (batch x L x input_size), got tensor<1x?x13xf32>}}
  %y1 = gru.layer %y0, %Wx1, %Wh1
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32}
      : (tensor<1x?x13xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x?x13xf32>
  return %y1 : tensor<1x?x13xf32>
}

// -----

func.func @lengths_shape(%x: tensor<3x?x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>,
                         %len: tensor<2xi32>) -> tensor<3x?x13xf32> {
  // expected-error @+1 {{'gru.layer' op lengths must be tensor<3xi32> (batch), got tensor<2xi32>}}
  %out = gru.layer %x, %Wx, %Wh lengths(%len)
      {input_size = 7, hidden_size = 13, batch = 3, has_bias = false, dtype = f32}
      : (tensor<3x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>, tensor<2xi32>) -> tensor<3x?x13xf32>
  return %out : tensor<3x?x13xf32>
}
