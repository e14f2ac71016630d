#!/usr/bin/env python3
"""Stacks and directions in the IR, executed: chains of gru.layer ops (forward, reverse,
bidirectional; reset after and before; with and without bias and h0; per-row lengths) lowered by
gru-opt --gru-lower-to-llvm and run by mlir-cpu-runner, against ONNX Runtime within 1e-5.

ONNX Runtime runs each layer as one GRU node (direction forward, reverse or bidirectional,
linear_before_reset 1 or 0); between layers its Y [L][dirs][N][H] becomes the next input
[L][N][dirs*H] (ONNX's and PyTorch's order: forward state, then backward). The weights are drawn
here in ONNX's layout and converted to the IR's (MLX's) as gru-import does: gate blocks z, r, h
-> r, z, n; b = Wb (swapped) + [Rb_r, Rb_z, 0] (swapped); bhn = Rb_h.
"""
import argparse
import importlib.util
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("differential",
                                               os.path.join(HERE, "differential.test.py"))
differential = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(differential)
tensor_type, dense, run = differential.tensor_type, differential.dense, differential.run

TOLERANCE = 1e-5
DIRECTIONS = {"forward": 1, "reverse": 1, "bidirectional": 2}

# name: D, H, N, L, layers, direction, reset_after, bias, h0
CASES = {
    "reverse": (7, 13, 3, 5, 1, "reverse", True, True, True),
    "bidirectional": (7, 13, 2, 6, 1, "bidirectional", True, True, True),
    "bidirectional_before": (5, 8, 3, 4, 1, "bidirectional", False, True, False),
    "stack3_forward": (7, 13, 2, 5, 3, "forward", True, True, True),
    "stack2_bidirectional": (7, 13, 3, 5, 2, "bidirectional", True, True, True),
    "stack2_bidirectional_before_nobias": (9, 6, 2, 7, 2, "bidirectional", False, False, True),
    "stack2_reverse_before": (4, 5, 1, 9, 2, "reverse", False, True, False),
    "lengths_forward": (7, 13, 3, 6, 1, "forward", True, True, True),
    "lengths_reverse_before": (5, 8, 3, 5, 1, "reverse", False, True, False),
    "lengths_stack2_bidirectional": (7, 13, 3, 6, 2, "bidirectional", True, True, True),
}
# Per-row lengths (ONNX's sequence_lens; the IR's lengths operand) of the cases that have them.
LENGTHS = {
    "lengths_forward": [6, 2, 4],
    "lengths_reverse_before": [1, 5, 3],
    "lengths_stack2_bidirectional": [3, 6, 1],
}


def swap(a, H):
    return a[np.r_[H:2 * H, 0:H, 2 * H:3 * H]]


class Layer:
    def __init__(self, rng, D, H, N, dirs, bias, h0):
        s = 0.5
        self.W = rng.uniform(-s, s, (dirs, 3 * H, D)).astype(np.float32)
        self.R = rng.uniform(-s, s, (dirs, 3 * H, H)).astype(np.float32)
        self.B = rng.uniform(-s, s, (dirs, 6 * H)).astype(np.float32) if bias else None
        self.h0 = rng.uniform(-1, 1, (dirs, N, H)).astype(np.float32) if h0 else None
        self.H = H

    def ir_weights(self):
        """Wx, Wh (, b, bhn) in the IR's layout, each [dirs][...]."""
        H = self.H
        Wx = np.stack([swap(w, H) for w in self.W])
        Wh = np.stack([swap(r, H) for r in self.R])
        if self.B is None:
            return [Wx, Wh]
        b = np.stack([swap(B[:3 * H], H) + np.r_[swap(B[3 * H:], H)[:2 * H], np.zeros(H)]
                      for B in self.B]).astype(np.float32)
        bhn = np.stack([B[5 * H:] for B in self.B]).astype(np.float32)
        return [Wx, Wh, b, bhn]


def onnx_layer(layer, x_lnd, direction, reset_after, lengths=None):
    """ONNX Runtime's Y of one GRU node on X [L][N][D], as [L][N][dirs*H]."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    L, N, D = x_lnd.shape
    H, dirs = layer.H, DIRECTIONS[direction]
    inits = [numpy_helper.from_array(layer.W, "W"), numpy_helper.from_array(layer.R, "R")]
    inputs = ["X", "W", "R", ""]
    if layer.B is not None:
        inits.append(numpy_helper.from_array(layer.B, "B"))
        inputs[3] = "B"
    graph_inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, [L, N, D])]
    feeds = {"X": x_lnd}
    if lengths is not None:
        inputs.append("seq_lens")
        graph_inputs.append(helper.make_tensor_value_info("seq_lens", TensorProto.INT32, [N]))
        feeds["seq_lens"] = np.array(lengths, np.int32)
    if layer.h0 is not None:
        inputs += [""] * (5 - len(inputs)) + ["h0"]
        graph_inputs.append(helper.make_tensor_value_info("h0", TensorProto.FLOAT, [dirs, N, H]))
        feeds["h0"] = layer.h0
    while inputs[-1] == "":
        inputs.pop()
    node = helper.make_node("GRU", inputs, ["Y"], hidden_size=H, direction=direction,
                            linear_before_reset=int(reset_after))
    graph = helper.make_graph([node], "g", graph_inputs,
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT,
                                                             [L, dirs, N, H])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y = session.run(None, feeds)[0]  # [L][dirs][N][H]
    return np.ascontiguousarray(y.transpose(0, 2, 1, 3).reshape(L, N, dirs * H))


def program(name, case, layers, x, lengths=None):
    """The spec function (a chain of gru.layer ops) and @main calling it on constants."""
    D, H, N, L, count, direction, reset_after, bias, h0 = case
    dirs = DIRECTIONS[direction]
    lead = (2,) if dirs == 2 else ()
    params, values = [("x", (N, None, D))], {"x": x}
    for l, layer in enumerate(layers):
        for label, w in zip(["Wx", "Wh", "b", "bhn"], layer.ir_weights()):
            params.append((f"{label}{l}", lead + w.shape[1:]))
            values[f"{label}{l}"] = w if dirs == 2 else w[0]
    for l, layer in enumerate(layers):
        if layer.h0 is not None:
            params.append((f"h0_{l}", lead + (N, H)))
            values[f"h0_{l}"] = layer.h0 if dirs == 2 else layer.h0[0]
    if lengths is not None:
        params.append(("len", (N,)))
    types = {p: tensor_type(shape) for p, shape in params}
    if lengths is not None:
        types["len"] = f"tensor<{N}xi32>"
    lines = [f"func.func @{name}(" + ", ".join(f"%{p}: {types[p]}" for p, _ in params) +
             f") -> {tensor_type((N, None, dirs * H))} {{"]
    current, current_type, d_in = "%x", types["x"], D
    attrs = f"hidden_size = {H}, batch = {N}, has_bias = {str(bias).lower()}, dtype = f32"
    if direction != "forward":
        attrs += f", direction = #gru.direction<{direction}>"
    if not reset_after:
        attrs += ", reset_after = false"
    for l in range(count):
        operands = [current, f"%Wx{l}", f"%Wh{l}"]
        text = f"{current}, %Wx{l}, %Wh{l}"
        if bias:
            text += f" bias(%b{l}, %bhn{l})"
            operands += [f"%b{l}", f"%bhn{l}"]
        if h0:
            text += f" initial(%h0_{l})"
            operands.append(f"%h0_{l}")
        if lengths is not None:
            text += " lengths(%len)"
            operands.append("%len")
        operand_types = [current_type] + [types[o[1:]] for o in operands[1:]]
        out_type = tensor_type((N, None, dirs * H))
        lines.append(f"  %y{l} = gru.layer {text} {{input_size = {d_in}, {attrs}}} : "
                     f"({', '.join(operand_types)}) -> {out_type}")
        current, current_type, d_in = f"%y{l}", out_type, dirs * H
    lines += [f"  return {current} : {current_type}", "}"]

    main = ["func.func @main() {"]
    for p, _ in params:
        if p == "len":
            main.append(f"  %len_c = arith.constant dense<{list(lengths)}> : {types['len']}")
        else:
            main.append(f"  %{p}_c = {dense(values[p])}")
    x_any = types["x"]
    main.append(f"  %x_any = tensor.cast %x_c : {tensor_type(x.shape)} to {x_any}")
    args = ", ".join("%x_any" if p == "x" else f"%{p}_c" for p, _ in params)
    arg_types = ", ".join(types[p] for p, _ in params)
    main += differential.call_and_print(name, args, arg_types, N, L, dirs * H)
    return "\n".join(lines + main) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gru-opt", required=True)
    ap.add_argument("--runner", default="mlir-cpu-runner")
    ap.add_argument("--runner-libs", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("cases", nargs="*", default=list(CASES))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    failures = 0
    for index, name in enumerate(args.cases):
        case = CASES[name]
        D, H, N, L, count, direction, reset_after, bias, h0 = case
        dirs = DIRECTIONS[direction]
        rng = np.random.default_rng(150 + list(CASES).index(name))
        layers = [Layer(rng, D if l == 0 else dirs * H, H, N, dirs, bias, h0)
                  for l in range(count)]
        x = rng.normal(0.0, 1.5, (N, L, D)).astype(np.float32)

        lengths = LENGTHS.get(name)
        y = np.ascontiguousarray(x.transpose(1, 0, 2))
        for layer in layers:
            y = onnx_layer(layer, y, direction, reset_after, lengths)
        reference = y.transpose(1, 0, 2)  # [N][L][dirs*H]

        path = os.path.join(args.work, name + ".mlir")
        with open(path, "w") as f:
            f.write(program(name, case, layers, x, lengths))
        lowered = os.path.join(args.work, name + ".llvm.mlir")
        run([args.gru_opt, path, "--gru-lower-to-llvm", "-o", lowered])
        printed = run([args.runner, lowered, "-e", "main", "-entry-point-result=void",
                       f"-shared-libs={args.runner_libs}"], capture_output=True, text=True).stdout
        bits = [int(v) for v in re.findall(r"-?\d+", printed.split("data =", 1)[1])]
        mlir_out = np.array(bits, dtype=np.int32).view(np.float32).reshape(N, L, dirs * H)
        error = np.abs(mlir_out - reference).max()
        ok = error <= TOLERANCE
        failures += not ok
        print(f"{name}: D={D} H={H} N={N} L={L} layers={count} {direction} "
              f"reset_after={int(reset_after)} bias={int(bias)} h0={int(h0)} "
              f"lengths={','.join(map(str, lengths)) if lengths else '-'} "
              f"mlir_vs_ort={error:.3g} {'PASS' if ok else 'FAIL'}")
    print(f"{len(args.cases) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
