"""Infinite and NaN weights in Wh, run without an initial state (nonfinite_wh.test), against live
mlx.nn.GRU called with hidden=None, which takes its first step without Wh: a library must give
MLX's NaNs and only those, and its other states within 1e-5. On host, AVX2 and opencl (PoCL):
one layer, float32 Wh with infinities and a NaN, and float16 Wh whose 1e5 is stored as infinity;
two bidirectional layers with lengths (each layer instance an mlx.nn.GRU over the row's first
lengths[n] steps, the backward one over them reversed). On the CPU targets also a team of 2, whose
states must be the one-thread model's bits."""
import argparse
import os

import mlx.core as mx
import mlx.nn as nn
import numpy as np

import gru_gen

ap = argparse.ArgumentParser()
ap.add_argument("--gru-gen", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--avx2", required=True, help="the AVX2 target (lit's %avx2)")
ap.add_argument("--targets", default="host,avx2,opencl")
ap.add_argument("--one-hidden", type=int, default=32, help="the one-layer models' H")
args = ap.parse_args()
rng = np.random.default_rng(11)
failed = 0


def weights(D, H):
    return [rng.uniform(-0.5, 0.5, shape).astype(np.float32)
            for shape in ((3 * H, D), (3 * H, H), (3 * H,), (H,))]


def same_bits(what, got, want):
    """A team's states are the one-thread model's, bit for bit (the team step kernel's promise)."""
    global failed
    ok = got.tobytes() == want.tobytes()
    failed += not ok
    print("%s: the one-thread model's bits: %s" % (what, "PASS" if ok else "FAIL"))


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


for name in args.targets.split(","):
    target = args.avx2 if name == "avx2" else name
    # One layer: +inf, -inf in the r, z and n rows of Wh; then a NaN.
    D, H, N, L = 4, args.one_hidden, 4, 5
    team = target != "opencl"  # GPU targets have no teams
    lib = gru_gen.compile_library(os.path.join(args.work, target, "one"), name="one",
                                  input_size=D, hidden_size=H, batch=N, target=target,
                                  threads_max=2 if team else None, gru_gen=args.gru_gen)
    x = rng.standard_normal((N, L, D)).astype(np.float32)
    w = weights(D, H)
    w[1][0, 3], w[1][H + 5, 1], w[1][2 * H + 7, H - 2] = np.inf, -np.inf, np.inf
    for value in (np.inf, np.nan):
        w[1][2 * H + 9, 2] = value
        want = mlx_gru(w, x)
        with lib.create(*w) as one:
            alone = one.run(x)
            compare("%s: Wh with %s, run" % (name, value), alone, want)
        if team:
            with lib.create(*w, threads=2) as model:
                got = model.run(x)
                compare("%s: Wh with %s, run on a team of 2" % (name, value), got, want)
                same_bits("%s: Wh with %s, the team of 2" % (name, value), got, alone)

    # float16 weights: 1e5 is stored as infinity (past 65520), so Wh is not finite only as stored.
    lib = gru_gen.compile_library(os.path.join(args.work, target, "half"), name="half",
                                  input_size=D, hidden_size=H, batch=N, target=target,
                                  weights_precision="f16", gru_gen=args.gru_gen)
    w = weights(D, H)
    w[1][2 * H + 3, 4] = 1e5
    with np.errstate(over="ignore"):
        stored = [a.astype(np.float16).astype(np.float32) for a in w[:2]] + w[2:]
    with lib.create(*w) as half:
        compare("%s: f16 Wh with 1e5 (stored inf), run" % name, half.run(x),
                mlx_gru(stored, x))

    # Two bidirectional layers, rows of lengths 5, 2, 1; and all 5 (the backward walk from L-1).
    D, H, N, L = 3, 32, 3, 5  # H = 32: a team of 2 (H a multiple of 2 panels of Wh)
    lib = gru_gen.compile_library(os.path.join(args.work, target, "bi"), name="bi", input_size=D,
                                  hidden_size=H, batch=N, layers=2, bidirectional=True,
                                  target=target, threads_max=2 if team else None,
                                  gru_gen=args.gru_gen)
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
        what = "%s: 2 bidirectional layers, lengths %s, run_ex" % (name, lengths)
        with lib.create_layers(ws) as model:
            alone = model.run(x, lengths=lengths)
            compare(what, alone, want)
        if team:
            with lib.create_layers(ws, threads=2) as model:
                got = model.run(x, lengths=lengths)
                compare(what + " on a team of 2", got, want)
                same_bits(what + " on a team of 2", got, alone)
print("all passed" if not failed else "%d FAILED" % failed)
