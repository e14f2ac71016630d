#!/usr/bin/env python3
"""Checks the states a w8a8 model library returned (model_check.c with $MODEL_CHECK_STATES) by
the stated rule, each from the library's own previous state: w8a8 quantizes the state it is given,
so its answer is only defined step by step (tools/gru_precision.py, w8a8_product).

    w8a8_model.py GOLD STATES [--tolerance 1e-5]

GOLD is a model golden (tools/gru_model_golden.py) of the library's model; its outputs are not
used. STATES holds run_ex's out [N][L][DIRECTIONS*H] and h_n [LAYERS*DIRECTIONS][N][H], then, for
a forward model without lengths, every layer's state after each step call [L][LAYERS][N][H].
Checked, within the tolerance of the float64 step by the rule:
  - one layer (either direction, per-row lengths): every state of out along each row's walk
    (forward from t = 0, backward from lengths[n] - 1) from the previous one (h0, or zeros, at
    the walk's start); h_n is the walk's last state and out is zero past a row's length;
  - forward stacks without lengths: each layer's state after each step from its own previous
    state and the state the layer below returned at that step (layer 0: x_t), and run_ex's out
    is the top layer's step states, bit for bit (run and step give the same bits).
Prints one line; exit status 0 when it passes.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from gru_model_golden import read_model_golden  # noqa: E402
from gru_precision import w8a8_product  # noqa: E402


def w8a8_step(x, h, cell):
    """float64 h' [rows][H] of x [rows][K] and h [rows][H] (float32) by the rule."""
    H = cell.Wh.shape[1]
    b = np.zeros(3 * H) if cell.b is None else cell.b.astype(np.float64)
    bhn = np.zeros(H) if cell.bhn is None else cell.bhn.astype(np.float64)
    xp = w8a8_product(x, cell.Wx).astype(np.float64) + b
    hp = w8a8_product(h, cell.Wh).astype(np.float64)
    r = 1 / (1 + np.exp(-(xp[:, :H] + hp[:, :H])))
    z = 1 / (1 + np.exp(-(xp[:, H:2 * H] + hp[:, H:2 * H])))
    n = np.tanh(xp[:, 2 * H:] + r * (hp[:, 2 * H:] + bhn))
    return (1 - z) * n + z * h.astype(np.float64)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gold")
    ap.add_argument("states")
    ap.add_argument("--tolerance", type=float, default=1e-5)
    a = ap.parse_args()
    p, _, _ = read_model_golden(a.gold)
    D, H, N, L = p.shape
    K, dirs = p.layers, p.directions
    if not p.reset_after:
        sys.exit("w8a8_model.py: w8a8 computes the reset-after variant only")
    raw = np.fromfile(a.states, dtype=np.float32)
    at = N * L * dirs * H
    out = raw[:at].reshape(N, L, dirs * H)
    h_n = raw[at:at + K * dirs * N * H].reshape(K * dirs, N, H)
    at += K * dirs * N * H
    lengths = np.full(N, L) if p.lengths is None else np.asarray(p.lengths)
    h0 = np.zeros((K * dirs, N, H), np.float32) if p.h0 is None else p.h0
    worst, checked, same = 0.0, [], True
    if K == 1:
        for d in range(dirs):
            backward = d == 1 or p.reverse
            for n in range(N):
                h = h0[d, n][None]
                walk = range(lengths[n] - 1, -1, -1) if backward else range(lengths[n])
                for t in walk:
                    got = out[n, t, d * H:(d + 1) * H][None]
                    want = w8a8_step(p.x[n, t][None], h, p.cells[d])
                    worst = max(worst, float(np.abs(want - got).max()))
                    h = got
                same = same and np.array_equal(h_n[d, n], h[0]) and not out[n, lengths[n]:].any()
        checked.append(f"run_ex's {N * dirs} walks")
    if dirs == 1 and not p.reverse and p.lengths is None:
        if raw.size != at + L * K * N * H:
            sys.exit(f"w8a8_model.py: {a.states}: no step states ({raw.size} floats)")
        steps = raw[at:].reshape(L, K, N, H)
        for t in range(L):
            for l in range(K):
                x = p.x[:, t] if l == 0 else steps[t, l - 1]
                h = h0[l] if t == 0 else steps[t - 1, l]
                worst = max(worst, float(np.abs(w8a8_step(x, h, p.cells[l]) - steps[t, l]).max()))
        same = same and np.array_equal(steps[:, K - 1].transpose(1, 0, 2), out)
        checked.append(f"step x {L} through {K} layers, run_ex's out the same bits")
    if not checked:
        sys.exit("w8a8_model.py: nothing to check (a stack with lengths or two directions)")
    ok = worst <= a.tolerance and same
    print(f"{os.path.basename(a.gold)}: w8a8 layers={K} directions={dirs} N={N} L={L} H={H} "
          f"max err={worst:.3g} ({'; '.join(checked)}; each from the library's previous state) "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
