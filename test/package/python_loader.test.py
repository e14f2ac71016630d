"""Drives python/gru_gen against mlx.nn.GRU and, for a reset-before library, ONNX Runtime
(python_loader.test)."""
import argparse
import os
import subprocess

import mlx.core as mx
import mlx.nn as nn
import numpy as np

import gru_gen

ap = argparse.ArgumentParser()
ap.add_argument("--gru-gen", required=True)
ap.add_argument("--work", required=True)
args = ap.parse_args()

rng = np.random.default_rng(17)
failed = 0


def compare(what, got, want, ref="mlx"):
    global failed
    err = float(np.max(np.abs(got - np.asarray(want))))
    ok = got.shape == np.asarray(want).shape and err <= 1e-5
    failed += not ok
    print("%s: max |lib - %s| = %.3g %s" % (what, ref, err, "PASS" if ok else "FAIL"))


def reference(D, H, bias):
    gru = nn.GRU(D, H, bias=bias)
    mx.eval(gru.parameters())
    p = {k: np.array(v, dtype=np.float32) for k, v in gru.parameters().items()}
    return gru, p


D, H, N, L = 7, 13, 3, 5
lib = gru_gen.compile_library(os.path.join(args.work, "g"), name="g", input_size=D,
                              hidden_size=H, batch=N, gru_gen=args.gru_gen)
assert (lib.input_size, lib.hidden_size, lib.batch, lib.has_bias) == (D, H, N, True)
gru, p = reference(D, H, True)
x = rng.standard_normal((N, L, D)).astype(np.float32)
h0 = rng.standard_normal((N, H)).astype(np.float32)
with lib.create(p["Wx"], p["Wh"], p["b"], p["bhn"]) as model:
    compare("run zeros", model.run(x), gru(mx.array(x)))
    compare("run h0", model.run(x, h0), gru(mx.array(x), mx.array(h0)))
    h = h0
    for t in range(L):
        h = model.step(np.ascontiguousarray(x[:, t]), h)
    compare("step", h, gru(mx.array(x), mx.array(h0))[:, -1])

nb = gru_gen.compile_library(os.path.join(args.work, "nb"), name="nb", input_size=D,
                             hidden_size=H, batch=1, bias=False, gru_gen=args.gru_gen)
gru_nb, q = reference(D, H, False)
x1 = rng.standard_normal((1, 64, D)).astype(np.float32)
with nb.create(q["Wx"], q["Wh"]) as model:
    compare("nobias run", model.run(x1), gru_nb(mx.array(x1)))



def onnx_reset_before(p, x, h0):
    """ONNX Runtime's GRU with linear_before_reset=0 on MLX-layout weights p (gates r, z, n ->
    ONNX's z, r, h; b is W's bias, bhn R's h bias), x [N][L][D] -> [N][L][H]."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    N, L, D = x.shape
    H = p["Wh"].shape[1]
    swap = np.r_[H:2 * H, 0:H, 2 * H:3 * H]
    B = np.r_[p["b"][swap], np.zeros(2 * H, np.float32), p["bhn"]][None].astype(np.float32)
    inits = [numpy_helper.from_array(p["Wx"][swap][None], "W"),
             numpy_helper.from_array(p["Wh"][swap][None], "R"), numpy_helper.from_array(B, "B")]
    node = helper.make_node("GRU", ["X", "W", "R", "B", "", "h0"], ["Y"], hidden_size=H,
                            linear_before_reset=0)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [L, N, D]),
                      helper.make_tensor_value_info("h0", TensorProto.FLOAT, [1, N, H])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [L, 1, N, H])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y = session.run(None, {"X": np.ascontiguousarray(x.transpose(1, 0, 2)), "h0": h0[None]})[0]
    return y[:, 0].transpose(1, 0, 2)


# reset_before=True: the header says so, and run matches ONNX Runtime's linear_before_reset=0.
rb = gru_gen.compile_library(os.path.join(args.work, "rb"), name="rb", input_size=D,
                             hidden_size=H, batch=N, reset_before=True, gru_gen=args.gru_gen)
assert lib.reset_after and not rb.reset_after
with rb.create(p["Wx"], p["Wh"], p["b"], p["bhn"]) as model:
    compare("reset-before run", model.run(x, h0), onnx_reset_before(p, x, h0), "ort")

# A model: 2 bidirectional layers, rows of lengths 5, 3 and 1, h0 per layer instance, against
# mlx.nn.GRU layers composed as PyTorch's packed sequences are (each row alone, cut to its length;
# the backward walk is a GRU over the reversed row; [forward, backward] into the next layer).
bi = gru_gen.compile_library(os.path.join(args.work, "bi"), name="bi", input_size=D,
                             hidden_size=H, batch=N, layers=2, bidirectional=True,
                             gru_gen=args.gru_gen)
assert (bi.layers, bi.directions, bi.output_size, bi.instances) == (2, 2, 2 * H, 4)
grus = [reference(D if i < 2 else 2 * H, H, True) for i in range(4)]
lengths = [5, 3, 1]
h0s = rng.standard_normal((4, N, H)).astype(np.float32)
want = np.zeros((N, L, 2 * H), np.float32)
want_hn = np.zeros((4, N, H), np.float32)
for n in range(N):
    seq = mx.array(x[n:n + 1, :lengths[n]])
    for l in range(2):
        (gf, _), (gb, _) = grus[2 * l], grus[2 * l + 1]
        fwd = gf(seq, mx.array(h0s[2 * l, n:n + 1]))
        bwd = gb(seq[:, ::-1], mx.array(h0s[2 * l + 1, n:n + 1]))[:, ::-1]
        want_hn[2 * l, n], want_hn[2 * l + 1, n] = np.array(fwd[0, -1]), np.array(bwd[0, 0])
        seq = mx.concatenate([fwd, bwd], axis=-1)
    want[n, :lengths[n]] = np.array(seq[0])
with bi.create_layers([(q["Wx"], q["Wh"], q["b"], q["bhn"]) for _, q in grus]) as model:
    out, h_n = model.run(x, h0=h0s, lengths=lengths, return_state=True)
    compare("bidirectional lengths run", out, want)
    compare("bidirectional lengths h_n", h_n, want_hn)
    try:
        model.step(np.ascontiguousarray(x[:, 0]), h0s)
        failed += 1
    except gru_gen.GruError as e:
        print("GruError:", e)

model = lib.create(p["Wx"], p["Wh"], p["b"], p["bhn"])
for bad in (np.zeros((N, L, D + 1), np.float32), np.zeros((N, L, D), np.float64)):
    try:
        model.run(bad)
        failed += 1
    except ValueError as e:
        print("ValueError:", e)
try:
    lib.create_from_safetensors(os.path.join(args.work, "missing.safetensors"))
    failed += 1
except gru_gen.GruError as e:
    assert e.last_error and e.status == 3 and e.status_text == "I/O error", e
    print("GruError:", e)
model.close()
try:
    model.run(x)
    failed += 1
except ValueError as e:
    print("closed: ValueError:", e)

# compile_library's arguments: what the CLI would refuse is refused, not dropped (bias=False with
# a weights file with bias was ignored; a spec file's library under another name= was built and
# then not found).
weights_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "weights",
                            "mlx_d7_h13_bias.safetensors")
try:
    gru_gen.compile_library(os.path.join(args.work, "wb"), name="wb", weights=weights_file,
                            bias=False, gru_gen=args.gru_gen)
    failed += 1
except RuntimeError as e:
    print("RuntimeError:", e)
spec_dir = os.path.join(args.work, "sm")
subprocess.run([args.gru_gen, "-q", "--input-size", "2", "--hidden-size", "3", "--name", "sm",
                "--emit", "mlir", "-o", spec_dir], check=True)
try:
    gru_gen.compile_library(os.path.join(args.work, "sp"), name="sp",
                            spec=os.path.join(spec_dir, "sm.mlir"), batch=4, gru_gen=args.gru_gen)
    failed += 1
except ValueError as e:
    print("ValueError:", e)
try:
    gru_gen.compile_library(os.path.join(args.work, "sp"), name="zz",
                            spec=os.path.join(spec_dir, "sm.mlir"), gru_gen=args.gru_gen)
    failed += 1
except ValueError as e:
    print("ValueError:", e)
sm = gru_gen.compile_library(os.path.join(args.work, "sp"), name="sm",
                             spec=os.path.join(spec_dir, "sm.mlir"), gru_gen=args.gru_gen)
assert (sm.input_size, sm.hidden_size) == (2, 3)
print("all passed" if failed == 0 else "%d failed" % failed)
