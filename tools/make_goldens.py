#!/usr/bin/env python3
"""Writes test/goldens/*.gold: mlx.nn.GRU outputs for the shapes the e2e tests check.

Run from the repository root with the project's virtualenv:
    .venv/bin/python tools/make_goldens.py
The cases cover odd sizes (D=7, H=13), D wider than 3H, N in {1, 2, 3, 4}, L in {1, 5, 9, 64},
bias on and off, initial state given and absent; and one saturating case (`extreme_d1_h4`):
nn.GRU(1, 4) fed inputs across the whole float range (1e10, 7.44e8 and 1.49e9 where an int32
range reduction of exp overflows, the largest floats, +-Inf), where every gate saturates; and one
non-finite case (`nonfinite_d2_h4`): infinite and huge initial states and a reset gate driven to
exactly 0 against a bhn of 3e38, where MLX's answer holds NaN (0 * inf) and exact limits (its
outputs are NaN, +-Inf and numbers; the checks match NaN with NaN). Fixed seeds: rerunning
rewrites the same bytes unless MLX's numbers change, which is exactly what a diff should then
show.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gru_golden import mlx_gru, random_problem, write_golden  # noqa: E402

# (D, H, N, L, bias, h0)
CASES = [
    (7, 13, 1, 1, True, False),
    (7, 13, 1, 64, True, True),
    (7, 13, 3, 5, True, True),
    (7, 13, 3, 64, True, False),
    (7, 13, 3, 64, False, True),
    (7, 13, 3, 1, False, False),
    (7, 13, 1, 5, False, False),
    (16, 32, 2, 64, True, False),
    (50, 5, 3, 5, True, True),
    # H=64, N=4: several weight panels of Wx and Wh on every CPU target (schedules/SchedulePlan.h)
    (16, 64, 4, 9, True, True),
    # N=1 with D and H even: bf16 read in pairs on AVX2 too (SchedulePolicy.h's
    # bf16_pairs_max_batch), with an initial state, several panels.
    (16, 64, 1, 9, True, True),
]


def case_name(D, H, N, L, bias, h0):
    return f"d{D}_h{H}_n{N}_{'bias' if bias else 'nobias'}_l{L}_{'h0' if h0 else 'zero'}"


# Inputs of the saturating case: every magnitude from tiny to infinite, both signs. With D = 1 every
# pre-activation is x * w + b, so x = +-Inf drives each gate to its limit (no Inf * 0: MLX's
# initial weights are never exactly zero, which the script checks).
EXTREME_X = [0.0, 1e-40, 1e-3, 0.5, 3.0, 9.0, 20.0, 50.0, 89.0, 120.0, 1e4, 1e8, 7.44e8, 1.49e9,
             2.2e9, 1e10, 1e20, 3.4028235e38, float("inf")]


def extreme_problem():
    rng = np.random.default_rng(2000)
    p = random_problem(rng, 1, 4, 2, 2 * len(EXTREME_X), True, True)
    assert np.all(p.Wx != 0) and np.all(p.b != 0)
    xs = np.array(EXTREME_X + [-v for v in EXTREME_X], dtype=np.float32)
    p.x[0, :, 0] = xs
    p.x[1, :, 0] = xs[::-1]
    return p


def nonfinite_problem():
    """nn.GRU(2, 4), N=3, L=6. Row 0 starts from h0[0] = +Inf, row 1 from -Inf and 3e38: every
    gate of the first step sees an infinite hp, so a reset of exactly 0 gives 0 * inf = NaN in n
    (a sigmoid that stops at a tiny positive number gives a number). Row 2 sees x = -1e30 at t=2
    through a weight that drives only state 1's reset gate, to exactly 0 against bhn[1] = 3e38:
    n = tanh(xp_n) there, where a tiny positive reset adds about 1.8."""
    rng = np.random.default_rng(3000)
    H = 4
    p = random_problem(rng, 2, H, 3, 6, True, True)
    assert np.all(p.Wh != 0) and np.all(p.Wx != 0)
    p.h0[0, 0] = np.inf
    p.h0[1, 1] = -np.inf
    p.h0[1, 2] = 3e38
    p.bhn[1] = 3e38
    p.Wx[1, 0] = 0.9            # r of state 1
    p.Wx[H + 1, 0] = 0.0        # z of state 1: x = -1e30 does not reach it
    p.Wx[2 * H + 1, 0] = 0.0    # n of state 1
    p.x[2, 2, 0] = -1e30
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join("test", "goldens"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    import mlx.core as mx
    print(f"mlx {mx.__version__}")
    for i, case in enumerate(CASES):
        p = random_problem(np.random.default_rng(1000 + i), *case)
        path = os.path.join(args.out, case_name(*case) + ".gold")
        write_golden(path, p, mlx_gru(p))
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")
    p = extreme_problem()
    path = os.path.join(args.out, "extreme_d1_h4_n2_bias_l38_h0.gold")
    out = mlx_gru(p)
    assert np.all(np.isfinite(out))
    write_golden(path, p, out)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")
    p = nonfinite_problem()
    path = os.path.join(args.out, "nonfinite_d2_h4_n3_bias_l6_h0.gold")
    out = mlx_gru(p)
    assert np.isnan(out).any() and np.isfinite(out).any()
    write_golden(path, p, out)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
