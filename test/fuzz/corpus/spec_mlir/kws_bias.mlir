func.func @kws(%x: tensor<2x?x40xf32>, %Wx: tensor<384x40xf32>, %Wh: tensor<384x128xf32>,
               %b: tensor<384xf32>, %bhn: tensor<128xf32>, %h0: tensor<2x128xf32>)
    -> tensor<2x?x128xf32> {
  %out = gru.layer %x, %Wx, %Wh bias(%b, %bhn) initial(%h0)
      {input_size = 40, hidden_size = 128, batch = 2, has_bias = true, dtype = f32}
      : (tensor<2x?x40xf32>, tensor<384x40xf32>, tensor<384x128xf32>, tensor<384xf32>,
         tensor<128xf32>, tensor<2x128xf32>) -> tensor<2x?x128xf32>
  return %out : tensor<2x?x128xf32>
}
