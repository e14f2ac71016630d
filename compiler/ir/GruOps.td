// gru.layer: one GRU layer over a whole batch of sequences.
#ifndef GRU_OPS_TD
#define GRU_OPS_TD

include "GruDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Gru_LayerOp : Gru_Op<"layer", [Pure, AttrSizedOperandSegments]> {
  let summary = "One GRU layer (mlx.nn.GRU) over N sequences of length L";
  let description = [{
    Every state of a GRU layer, with the semantics of `mlx.nn.GRU`: gate order r, z, n along 3H;
    with `xp = x·Wxᵀ + b` and `hp = h·Whᵀ`,

        r = σ(xp_r + hp_r)   z = σ(xp_z + hp_z)   n = tanh(xp_n + r ⊙ (hp_n + bhn))
        h' = (1 − z) ⊙ n + z ⊙ h

    The attributes are the spec; the operand types repeat it and the verifier holds them to it,
    so that a pass can read sizes from either. The sequence length L is the only size that may be
    dynamic (a library accepts any L per call).

    | operand | type |
    |---|---|
    | `input` | `[N][L][D]` |
    | `Wx`, `Wh` | `[3H][D]`, `[3H][H]` |
    | `b`, `bhn` (exactly when `has_bias`) | `[3H]`, `[H]` |
    | `h0` (optional; absent means zeros) | `[N][H]` |
    | result `output`, every state | `[N][L][H]` |

    ```mlir
    %out = gru.layer %x, %Wx, %Wh bias(%b, %bhn) initial(%h0)
        {input_size = 7 : i64, hidden_size = 13 : i64, batch = 3 : i64, has_bias = true,
         dtype = f32}
        : (tensor<3x?x7xf32>, tensor<39x7xf32>, tensor<39x13xf32>, tensor<39xf32>,
           tensor<13xf32>, tensor<3x13xf32>) -> tensor<3x?x13xf32>
    ```

    `reset_after = false` applies the reset gate before the recurrent product (ONNX
    `linear_before_reset=0`, Keras `reset_after=False`); only the n gate changes:

        n = tanh(xp_n + (r ⊙ h)·Wh_nᵀ + bhn)

    where Wh_n is Wh's n block (rows 2H..3H) and bhn is added after the product (ONNX's Rbh;
    ONNX's Wbh is part of b, hence of xp_n). The default, `reset_after = true`, is the formula
    above (mlx.nn.GRU, PyTorch, ONNX `linear_before_reset=1`).

    `direction = #gru.direction<reverse>` walks t = L−1…0; `bidirectional` runs a forward and a
    reverse direction over the same input, each with its own weights and initial state, which
    then carry a leading dimension of 2 (forward first): `Wx [2][3H][D]`, `Wh [2][3H][H]`,
    `b [2][3H]`, `bhn [2][H]`, `h0 [2][N][H]`; the output is `[N][L][2H]`, at each t the forward
    state, then the reverse one (PyTorch's and ONNX's order).

    `lengths(%len)` (optional, `[N]` of i32, each in [0, L]) gives each row its own length, as
    ONNX's `sequence_lens` and PyTorch's packed sequences do: row n takes steps 0…len[n]−1 (a
    reverse direction starts at len[n]−1), its state is unchanged at the other steps, and its
    output there is zero.

    A spec module may chain layers: layer 0 reads the function's input, layer l > 0 the output
    of layer l − 1 (so its input_size is the previous layer's output size), and the function
    returns the last layer's output.

    `weights_precision = #gru.precision<f16>` (or `bf16`, `int8`; default `f32`) says how the
    compiled model stores Wx and Wh: the operands stay float32 and the function is theirs; the
    library converts them (f16/bf16: round to nearest even; int8: per gate row j,
    scale[j] = max_k |W[j][k]| / 127, 1 for a zero row, q = round_half_even(W / scale) clamped
    to [-127, 127]) and its kernels accumulate in float32. `w8a8` stores int8 weights the same
    way and quantizes each product's input vector per call as well (a row of x or h: 127 over
    its largest magnitude), the products being exact int32 dot products (GruSpec.h states the
    rule). A stack has one precision.

    `direction` defaults to forward, `reset_after` to true and `weights_precision` to f32;
    defaults are not printed. Later
    variants belong beside them as attributes with a default, so existing IR keeps its meaning.
  }];

  let arguments = (ins
    RankedTensorOf<[AnyFloat]>:$input,
    RankedTensorOf<[AnyFloat]>:$Wx,
    RankedTensorOf<[AnyFloat]>:$Wh,
    Optional<RankedTensorOf<[AnyFloat]>>:$b,
    Optional<RankedTensorOf<[AnyFloat]>>:$bhn,
    Optional<RankedTensorOf<[AnyFloat]>>:$h0,
    Optional<RankedTensorOf<[I32]>>:$lengths,
    ConfinedAttr<I64Attr, [IntPositive]>:$input_size,
    ConfinedAttr<I64Attr, [IntPositive]>:$hidden_size,
    ConfinedAttr<I64Attr, [IntPositive]>:$batch,
    BoolAttr:$has_bias,
    TypeAttrOf<AnyFloat>:$dtype,
    DefaultValuedAttr<Gru_DirectionAttr, "::grugen::gru::Direction::forward">:$direction,
    DefaultValuedAttr<BoolAttr, "true">:$reset_after,
    DefaultValuedAttr<Gru_PrecisionAttr, "::grugen::gru::Precision::f32">:$weights_precision
  );
  let results = (outs RankedTensorOf<[AnyFloat]>:$output);

  // Operands are printed in declaration order, so functional-type lists their types in the same
  // order as they appear.
  let assemblyFormat = [{
    $input `,` $Wx `,` $Wh (`bias` `(` $b^ `,` $bhn `)`)? (`initial` `(` $h0^ `)`)?
    (`lengths` `(` $lengths^ `)`)? attr-dict `:` functional-type(operands, results)
  }];

  let hasVerifier = 1;

  let extraClassDeclaration = [{
    // 3H: rows of Wx and Wh, gates r, z, n stacked.
    int64_t getGateRows() { return 3 * getHiddenSize(); }
    // 2 for a bidirectional layer, else 1: the leading dimension of its weights and h0 (absent
    // when 1) and the factor of its output size.
    int64_t getDirections() {
      return getDirection() == ::grugen::gru::Direction::bidirectional ? 2 : 1;
    }
    // The features of each output row: directions x H.
    int64_t getOutputSize() { return getDirections() * getHiddenSize(); }
  }];
}

#endif  // GRU_OPS_TD
