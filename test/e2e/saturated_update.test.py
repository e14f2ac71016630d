"""A saturated update gate (z = 1 in float32) keeps the state (saturated_update.test): MLX's
h' = (1 - z) * n + z * h is then h, bit for bit, whatever n is. Against live mlx.nn.GRU on host and
opencl (run and step x L), and the reset-before variant (no MLX counterpart) against h0 itself."""
import argparse
import os

import mlx.core as mx
import mlx.nn as nn
import numpy as np

import gru_gen

ap = argparse.ArgumentParser()
ap.add_argument("--gru-gen", required=True)
ap.add_argument("--work", required=True)
args = ap.parse_args()
rng = np.random.default_rng(5)
D, H, N, L = 3, 5, 2, 4
failed = 0


def weights():
    # r and n from small random weights; z's bias 100: sigmoid(100 + |small|) is 1 in float32.
    Wx = rng.uniform(-0.5, 0.5, (3 * H, D)).astype(np.float32)
    Wh = rng.uniform(-0.5, 0.5, (3 * H, H)).astype(np.float32)
    b = rng.uniform(-0.5, 0.5, 3 * H).astype(np.float32)
    b[H:2 * H] = 100.0
    bhn = rng.uniform(1.0, 3.0, H).astype(np.float32)  # n far from h: |n| up to 0.99
    return Wx, Wh, b, bhn


x = rng.uniform(-1, 1, (N, L, D)).astype(np.float32)
# Small states beside n's larger ones, a subnormal, and ordinary ones.
h0 = np.array([[1e-3, -0.25, 1e-40, 0.7, -3e-6], [2e-5, 0.5, -1e-39, -0.9, 1e-7]], np.float32)


def report(what, got, want):
    global failed
    same = got.tobytes() == want.tobytes()
    failed += not same
    print("%s: states equal bit for bit: %s, max |diff| = %.3g %s"
          % (what, same, float(np.max(np.abs(got - want))), "PASS" if same else "FAIL"))


for target in ("host", "opencl"):
    w = weights()
    lib = gru_gen.compile_library(os.path.join(args.work, target, "sat"), name="sat",
                                  input_size=D, hidden_size=H, batch=N, target=target,
                                  gru_gen=args.gru_gen)
    g = nn.GRU(D, H)
    g.update({k: mx.array(a) for k, a in zip(("Wx", "Wh", "b", "bhn"), w)})
    want = np.array(g(mx.array(x), hidden=mx.array(h0)))
    with lib.create(*w) as m:
        report("%s: run, against mlx.nn.GRU" % target, m.run(x, h0=h0), want)
        h, steps = h0, []
        for t in range(L):
            h = m.step(np.ascontiguousarray(x[:, t]), h)
            steps.append(h)
        report("%s: step x L, against mlx.nn.GRU" % target, np.stack(steps, 1), want)
    # Reset before: n = tanh(xp_n + (r h) Wh_n^T + bhn), the same update.
    rb = gru_gen.compile_library(os.path.join(args.work, target, "satrb"), name="satrb",
                                 input_size=D, hidden_size=H, batch=N, target=target,
                                 reset_before=True, gru_gen=args.gru_gen)
    with rb.create(*w) as m:
        report("%s: reset before, run, against h0" % target, m.run(x, h0=h0),
               np.repeat(h0[:, None, :], L, axis=1))
print("all passed" if not failed else "%d failed" % failed)
