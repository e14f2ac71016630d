"""Infinite and NaN weights in Wh, run without an initial state (nonfinite_wh.test), against live
mlx.nn.GRU called with hidden=None, which takes its first step without Wh: a library must give
MLX's NaNs and only those, and its other states within 1e-5. On host and opencl (PoCL): one layer
(host: also a team of 2) and two bidirectional layers with lengths (each layer instance an
mlx.nn.GRU over the row's first lengths[n] steps, the backward one over them reversed)."""
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
rng = np.random.default_rng(11)
failed = 0


def weights(D, H):
    return [rng.uniform(-0.5, 0.5, shape).astype(np.float32)
            for shape in ((3 * H, D), (3 * H, H), (3 * H,), (H,))]


def mlx_gru(w, x):
    g = nn.GRU(w[0].shape[1], w[1].shape[1])
    g.update({k: mx.array(a) for k, a in zip(("Wx", "Wh", "b", "bhn"), w)})
    return np.array(g(mx.array(x)))


def compare(what, got, want):
    global failed
    same_nan = bool((np.isnan(got) == np.isnan(want)).all())
    finite = ~np.isnan(want)
    err = float(np.max(np.abs(got[finite] - want[finite]), initial=0.0)) if same_nan else float("inf")
    ok = same_nan and err <= 1e-5
    failed += not ok
    print("%s: NaN where MLX's: %s, %d of %d states NaN, max |lib - mlx| = %.3g %s"
          % (what, same_nan, int(np.isnan(want).sum()), want.size, err, "PASS" if ok else "FAIL"))


for target in ("host", "opencl"):
    # One layer: +inf, -inf in the r, z and n rows of Wh; then a NaN.
    D, H, N, L = 4, 32, 4, 5
    team = target == "host"  # GPU targets have no teams
    lib = gru_gen.compile_library(os.path.join(args.work, target, "one"), name="one",
                                  input_size=D, hidden_size=H, batch=N, target=target,
                                  threads_max=2 if team else None, gru_gen=args.gru_gen)
    x = rng.standard_normal((N, L, D)).astype(np.float32)
    w = weights(D, H)
    w[1][0, 3], w[1][H + 5, 1], w[1][2 * H + 7, 30] = np.inf, -np.inf, np.inf
    for value in (np.inf, np.nan):
        w[1][2 * H + 9, 2] = value
        want = mlx_gru(w, x)
        with lib.create(*w) as one:
            compare("%s: Wh with %s, run" % (target, value), one.run(x), want)
        if team:
            with lib.create(*w, threads=2) as model:
                compare("%s: Wh with %s, run on a team of 2" % (target, value), model.run(x),
                        want)

    # Two bidirectional layers, rows of lengths 5, 2, 1; and all 5 (the backward walk from L-1).
    D, H, N, L = 3, 4, 3, 5
    lib = gru_gen.compile_library(os.path.join(args.work, target, "bi"), name="bi", input_size=D,
                                  hidden_size=H, batch=N, layers=2, bidirectional=True,
                                  target=target, gru_gen=args.gru_gen)
    x = rng.standard_normal((N, L, D)).astype(np.float32)
    ws = [weights(D if i < 2 else 2 * H, H) for i in range(4)]
    ws[0][1][H + 1, 2] = np.inf   # layer 0 forward, z row
    ws[1][1][2, 0] = -np.inf      # layer 0 backward, r row
    ws[3][1][2 * H, 3] = np.inf   # layer 1 backward, n row
    for lengths in ([5, 2, 1], [5, 5, 5]):
        want = np.zeros((N, L, 2 * H), dtype=np.float32)
        for n, length in enumerate(lengths):
            v = x[n:n + 1, :length]
            for layer in range(2):
                forward = mlx_gru(ws[2 * layer], v)
                backward = mlx_gru(ws[2 * layer + 1], v[:, ::-1].copy())[:, ::-1]
                v = np.concatenate([forward, backward], axis=2)
            want[n, :length] = v[0]
        with lib.create_layers(ws) as model:
            compare("%s: 2 bidirectional layers, lengths %s, run_ex" % (target, lengths),
                    model.run(x, lengths=lengths), want)
print("all passed" if not failed else "%d FAILED" % failed)
