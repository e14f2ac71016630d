// The gru dialect: gru-gen's IR. One op states one GRU layer; its attributes are the spec that
// gru-gen compiles (see GruOps.td).
#ifndef GRU_DIALECT_TD
#define GRU_DIALECT_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/OpBase.td"

def Gru_Dialect : Dialect {
  let name = "gru";
  let summary = "Fixed-shape GRU layers with mlx.nn.GRU semantics";
  let description = [{
    gru-gen's intermediate representation. A spec, whether given as flags or as an MLIR file, is a
    module holding one `func.func` named after the library, whose body is one `gru.layer`. Passes
    check it (`gru-check-limits`), the Halide code generator reads the spec from it, and
    `gru-lower-to-linalg` states the same computation in upstream dialects.
  }];
  let cppNamespace = "::grugen::gru";
  // The enum attributes below print as #gru.<mnemonic><...>.
  let useDefaultAttributePrinterParser = 1;
}

class Gru_Op<string mnemonic, list<Trait> traits = []> : Op<Gru_Dialect, mnemonic, traits>;

// Which way the layer walks the sequence: forward t = 0..L-1 (mlx.nn.GRU), reverse
// t = L-1..0, or bidirectional: both over the same input, the output at t being [forward h_t,
// reverse h_t] (PyTorch's and ONNX's order). Passes and code generation refuse cases they do
// not handle.
def Gru_DirectionForward : I32EnumAttrCase<"forward", 0>;
def Gru_DirectionReverse : I32EnumAttrCase<"reverse", 1>;
def Gru_DirectionBidirectional : I32EnumAttrCase<"bidirectional", 2>;
def Gru_Direction : I32EnumAttr<"Direction", "direction in which a GRU layer walks time",
                                [Gru_DirectionForward, Gru_DirectionReverse,
                                 Gru_DirectionBidirectional]> {
  let cppNamespace = "::grugen::gru";
  let genSpecializedAttr = 0;
}
def Gru_DirectionAttr : EnumAttr<Gru_Dialect, Gru_Direction, "direction"> {
  let assemblyFormat = "`<` $value `>`";
}

// How a layer's Wx and Wh are stored in the compiled model (GruSpec's WeightsPrecision):
// f32, f16 and bf16 (rounded to nearest even from the float32 weights), int8 (symmetric per
// gate row with float32 scales). The layer's function is stated on float32 weights either way.
def Gru_PrecisionF32 : I32EnumAttrCase<"f32", 0>;
def Gru_PrecisionF16 : I32EnumAttrCase<"f16", 1>;
def Gru_PrecisionBF16 : I32EnumAttrCase<"bf16", 2>;
def Gru_PrecisionInt8 : I32EnumAttrCase<"int8", 3>;
def Gru_PrecisionW8A8 : I32EnumAttrCase<"w8a8", 4>;
def Gru_Precision : I32EnumAttr<"Precision", "how a GRU layer's weights are stored",
                                [Gru_PrecisionF32, Gru_PrecisionF16, Gru_PrecisionBF16,
                                 Gru_PrecisionInt8, Gru_PrecisionW8A8]> {
  let cppNamespace = "::grugen::gru";
  let genSpecializedAttr = 0;
}
def Gru_PrecisionAttr : EnumAttr<Gru_Dialect, Gru_Precision, "precision"> {
  let assemblyFormat = "`<` $value `>`";
}

#endif  // GRU_DIALECT_TD
