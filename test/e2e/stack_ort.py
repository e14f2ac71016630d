#!/usr/bin/env python3
"""Stacked, bidirectional and reverse GRU models with per-row lengths, answered by ONNX Runtime.

    stack_ort.py OUT_DIR NAME --input-size D --hidden-size H --batch N --seq-len L
                 --layers K [--direction forward|reverse|bidirectional] [--no-bias]
                 [--lengths 5,2,1] [--h0] [--seed S] [--prefix P]

Writes OUT_DIR/NAME.safetensors, the weights in gru-gen's key scheme for models (layer l's
forward instance under "<prefix><l>.", its backward one under "<prefix><l>.reverse.", MLX names
Wx, Wh, b, bhn), and OUT_DIR/NAME.gold, a model golden (GRUGOLD2, tools/gru_model_golden.py, read
by test/e2e/model_check.c) of the outputs ONNX Runtime computes for the same model built as ONNX
GRU nodes (linear_before_reset=1, one node per layer; between layers Y [L][dirs][N][H] ->
[L][N][dirs*H]) with sequence_lens and initial_h.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import safetensors_io  # noqa: E402
from gru_model_golden import (ModelProblem, add_problem_arguments,  # noqa: E402
                              random_problem, write_model_golden)  # noqa: E402


def onnx_gates(a, H):
    """MLX's gate order r, z, n along the first axis -> ONNX's z, r, h."""
    r, z, n = a[:H], a[H:2 * H], a[2 * H:]
    return np.concatenate([z, r, n])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("name")
    add_problem_arguments(ap)
    ap.add_argument("--direction", default="forward",
                    choices=["forward", "reverse", "bidirectional"])
    ap.add_argument("--prefix", default="", help="the keys' prefix, e.g. 'layers.'")
    a = ap.parse_args()

    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    D, H, N, L, K = a.input_size, a.hidden_size, a.batch, a.seq_len, a.layers
    dirs = 2 if a.direction == "bidirectional" else 1
    bias = not a.no_bias
    x, h0, lengths, cells = random_problem(a, dirs)

    tensors, nodes, inits = {}, [], []
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, [L, N, D])]
    if lengths is not None:
        inits.append(numpy_helper.from_array(lengths, "seq_lens"))
    if h0 is not None:
        inputs.append(helper.make_tensor_value_info("h0", TensorProto.FLOAT, [K * dirs, N, H]))
    layer_in = "X"
    for l in range(K):
        W, R, B = [], [], []
        for d in range(dirs):
            c = cells[l * dirs + d]
            backward = a.direction == "reverse" or d == 1
            key = f"{a.prefix}{l}." + ("reverse." if backward else "")
            tensors[key + "Wx"], tensors[key + "Wh"] = c.Wx, c.Wh
            W.append(onnx_gates(c.Wx, H))
            R.append(onnx_gates(c.Wh, H))
            if bias:
                tensors[key + "b"], tensors[key + "bhn"] = c.b, c.bhn
                # b = Wb + Rb for r and z, Wbh for n; Rbh = bhn (linear_before_reset=1).
                Rb = np.concatenate([np.zeros(2 * H, np.float32), c.bhn])
                B.append(np.concatenate([onnx_gates(c.b, H), Rb]))
        names = [f"W{l}", f"R{l}"] + ([f"B{l}"] if bias else [""])
        inits += [numpy_helper.from_array(np.stack(W), names[0]),
                  numpy_helper.from_array(np.stack(R), names[1])]
        if bias:
            inits.append(numpy_helper.from_array(np.stack(B), names[2]))
        gin = [layer_in] + names + ["seq_lens" if lengths is not None else ""]
        if h0 is not None:
            nodes.append(helper.make_node("Slice", ["h0", f"s{l}", f"e{l}"], [f"h0_{l}"]))
            inits += [numpy_helper.from_array(np.array([l * dirs], np.int64), f"s{l}"),
                      numpy_helper.from_array(np.array([(l + 1) * dirs], np.int64), f"e{l}")]
            gin.append(f"h0_{l}")
        while gin[-1] == "":
            gin.pop()
        nodes.append(helper.make_node("GRU", gin, [f"Y{l}", f"Yh{l}"], hidden_size=H,
                                      direction=a.direction, linear_before_reset=1))
        # [L][dirs][N][H] -> [L][N][dirs][H] -> [L][N][dirs*H]: the next layer's X.
        nodes.append(helper.make_node("Transpose", [f"Y{l}"], [f"T{l}"], perm=[0, 2, 1, 3]))
        inits.append(numpy_helper.from_array(np.array([L, N, dirs * H], np.int64), f"shape{l}"))
        nodes.append(helper.make_node("Reshape", [f"T{l}", f"shape{l}"], [f"X{l + 1}"]))
        layer_in = f"X{l + 1}"
    nodes.append(helper.make_node("Concat", [f"Yh{l}" for l in range(K)], ["h_n"], axis=0))
    outputs = [helper.make_tensor_value_info(layer_in, TensorProto.FLOAT, [L, N, dirs * H]),
               helper.make_tensor_value_info("h_n", TensorProto.FLOAT, [K * dirs, N, H])]
    graph = helper.make_graph(nodes, "stack", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {"X": np.ascontiguousarray(x.transpose(1, 0, 2))}
    if h0 is not None:
        feeds["h0"] = h0
    y, h_n = sess.run(None, feeds)
    out = np.ascontiguousarray(y.transpose(1, 0, 2))

    os.makedirs(a.out_dir, exist_ok=True)
    safetensors_io.write(os.path.join(a.out_dir, a.name + ".safetensors"),
                         safetensors_io.arrays(tensors))
    problem = ModelProblem(cells=cells, layers=K, directions=dirs,
                           reverse=a.direction == "reverse", reset_after=True, x=x,
                           lengths=lengths, h0=h0)
    write_model_golden(os.path.join(a.out_dir, a.name + ".gold"), problem, out, h_n)
    print(f"{a.name}: D={D} H={H} N={N} L={L} layers={K} {a.direction} bias={int(bias)} "
          f"lengths={a.lengths or 'none'} h0={int(h0 is not None)} |out|max={np.abs(out).max():.3f}")


if __name__ == "__main__":
    main()
