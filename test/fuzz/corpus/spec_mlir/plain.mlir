func.func @plain(%x: tensor<1x5x7xf32>, %Wx: tensor<39x7xf32>, %Wh: tensor<39x13xf32>)
    -> tensor<1x5x13xf32> {
  %out = gru.layer %x, %Wx, %Wh
      {input_size = 7, hidden_size = 13, batch = 1, has_bias = false, dtype = f32,
       direction = #gru.direction<forward>}
      : (tensor<1x5x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>) -> tensor<1x5x13xf32>
  return %out : tensor<1x5x13xf32>
}
