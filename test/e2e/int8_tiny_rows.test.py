"""int8 and w8a8 libraries whose weight rows are all below 127 times the smallest subnormal
(int8_tiny_rows.test): max_k |W[j][k]| / 127 underflows to 0 in float32, and the header's rule
(tools/gru_precision.py's int8_quantize) makes such a row's scale 1, as a row of zeros'. Each
library runs x (int8: with 1e38 in it) and must match mlx.nn.GRU within its precision's bound without a
NaN MLX does not give, and int8 the float64 GRU of the stored weights (the rule) within 1e-5."""
import argparse
import os
import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np

import gru_gen

ap = argparse.ArgumentParser()
ap.add_argument("--gru-gen", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--tools", required=True)
args = ap.parse_args()
sys.path.insert(0, args.tools)
from gru_precision import stored  # noqa: E402

D, H, N, L = 3, 4, 2, 6
rng = np.random.default_rng(7)
Wx = rng.uniform(-0.5, 0.5, (3 * H, D)).astype(np.float32)
Wh = rng.uniform(-0.5, 0.5, (3 * H, H)).astype(np.float32)
b = rng.uniform(-0.5, 0.5, 3 * H).astype(np.float32)
bhn = rng.uniform(-0.5, 0.5, H).astype(np.float32)
# Column 2 of Wx is zero but in the tiny row, so x's 1e38 there reaches no other row (whose
# int8 sum, scaled after it, would overflow float32 where MLX's products do not).
Wx[:, 2] = 0.0
Wx[0] = [1e-44, 0.0, 3e-44]           # r of state 0: its scale underflows
Wx[2 * H + 1] = [0.0, -5e-44, 0.0]    # n of state 1
Wh[H + 2] = [0.0, -8e-44, 0.0, 1e-45]  # z of state 2
x_moderate = rng.standard_normal((N, L, D)).astype(np.float32)
x_huge = x_moderate.copy()
x_huge[0, 0, 2] = 1e38
x_huge[1, 2:, 2] = 2e38

def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def gru64(Wx, Wh, x):
    """float64 mlx.nn.GRU with these weights (the biases as above)."""
    h = np.zeros((N, H))
    out = np.zeros((N, L, H))
    with np.errstate(over="ignore"):
        for t in range(L):
            xp = x[:, t].astype(np.float64) @ Wx.T + b
            hp = h @ Wh.T
            r = sigmoid(xp[:, :H] + hp[:, :H])
            z = sigmoid(xp[:, H:2 * H] + hp[:, H:2 * H])
            n = np.tanh(xp[:, 2 * H:] + r * (hp[:, 2 * H:] + bhn))
            h = (1 - z) * n + z * h
            out[:, t] = h
    return out


gru = nn.GRU(D, H)
gru.update({"Wx": mx.array(Wx), "Wh": mx.array(Wh), "b": mx.array(b), "bhn": mx.array(bhn)})
failed = 0
# w8a8 quantizes each row of x by its largest magnitude: 1e38 would leave the rest of the row 0.
for precision, bound, x in (("int8", 2.5e-2, x_huge), ("w8a8", 4e-2, x_moderate)):
    want = np.array(gru(mx.array(x)))
    lib = gru_gen.compile_library(os.path.join(args.work, precision), name="tiny", input_size=D,
                                  hidden_size=H, batch=N, weights_precision=precision,
                                  gru_gen=args.gru_gen)
    with lib.create(Wx, Wh, b, bhn) as model:
        out = model.run(x)
        h = np.zeros((N, H), dtype=np.float32)
        for t in range(L):
            h = model.step(np.ascontiguousarray(x[:, t]), h)
    for what, got in (("run", out), ("step x L", h[:, None])):
        ref = want if what == "run" else want[:, -1:]
        nan = bool(np.isnan(got).any() and not np.isnan(ref).any())
        err = float(np.nanmax(np.abs(got - ref)))
        ok = not nan and err <= bound
        failed += not ok
        print("%s %s: NaN %s, max |lib - mlx| = %.3g <= %g %s"
              % (precision, what, nan, err, bound, "PASS" if ok else "FAIL"))
    if precision == "int8":
        exact = gru64(stored(Wx, "int8"), stored(Wh, "int8"), x)
        err = float(np.max(np.abs(out - exact))) if not np.isnan(out).any() else float("inf")
        failed += err > 1e-5
        print("int8 run: max |lib - stored weights' float64 GRU| = %.3g %s"
              % (err, "PASS" if err <= 1e-5 else "FAIL"))
print("all passed" if not failed else "%d FAILED" % failed)
