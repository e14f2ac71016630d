"builtin.module"() ({
  "func.func"() <{function_type = (tensor<4x?x2xf32>, tensor<12x2xf32>, tensor<12x4xf32>) -> tensor<3x?x4xf32>, sym_name = "g"}> ({
  ^bb0(%x: tensor<3x?x2xf32>, %Wx: tensor<12x2xf32>, %Wh: tensor<12x4xf32>):
    %0 = "gru.ayer"(%x, %Wx, %Wh) <{operandSegmentSizes = array<i01: 1, 1, 1, 0, 0, 0>}> {input_size = 2 : i64, hidden_size = 4 : i64, batch = 3 : i64, has_bias = false, dtype = f32} : (tensor<3x?x2xf32>, tensor<12x2xf32>, tensor<12x4xf32>) -> tensor<3x?x4xf32>
    "func.return"(%0) : (tensor<3x?x4xf32>) -> ()
  }) : () -> ()
}) : () -> ()
