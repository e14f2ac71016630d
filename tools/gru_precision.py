#!/usr/bin/env python3
"""Reduced-precision weights as a gru-gen library stores them (--weights-precision), in NumPy.

The rules, as the generated header states them (NAME_WEIGHTS_PRECISION):
  f16   IEEE binary16, round to nearest even (NumPy's float32 -> float16 cast);
  bf16  bfloat16, the top half of a float32, round to nearest even;
  int8  per gate row j of Wx [3H][D] and of Wh [3H][H]:
        scale[j] = max_k |W[j][k]| / 127 in float32 (1 where that is 0),
        q[j][k] = round_half_even(W[j][k] / scale[j]) clamped to [-127, 127],
        and the row's dot product is scale[j] * sum_k q[j][k] * v[k].
  w8a8  the weights as int8, and each product's input vector v (a row of x, or of the state h
        the step is given) quantized per call: a = max_k |v[k]| (NaN with a NaN); for
        0 < a < inf, inv = 127 / a in float32, qv[k] = round_half_even(v[k] * inv) clamped to
        [-127, 127]; for a = inf, qv[k] = +-127 where v[k] = +-inf, else 0; otherwise 0;
        sv = a / 127; row j's product is the exact int32
        s = sum_k q[j][k] qv[k], then float32(s) * scale[j] * sv in float32 (`w8a8_product`).
        The answer depends on the states the library itself computed (it quantizes them), so
        --check-states checks each step of a library's run from the library's previous state.

`stored(W, precision)` is what the library's kernels multiply by (as float64). Run as a script,
it rewrites MLX golden files (tools/gru_golden.py) with the float64 answer of the GRU whose
weights are the stored ones: a library of that precision must give it within float32 rounding
(1e-5), which shows that its kernels do exactly the stated arithmetic.

    gru_precision.py --precision int8 [--reset-before] IN.gold... -o DIR   # DIR/<name of IN>
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gru_golden import read_golden, write_golden  # noqa: E402
from gru_model_golden import Cell, ModelProblem, reference  # noqa: E402

PRECISIONS = ("f32", "f16", "bf16", "int8", "w8a8")


def to_bf16_bits(W):
    """float32 -> bfloat16 bits (uint16), round to nearest even; NaN stays a quiet NaN."""
    u = np.ascontiguousarray(W, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    return np.where(nan, ((u >> 16) | 0x40).astype(np.uint16), rounded)


def bf16_bits_to_f32(bits):
    return (np.asarray(bits, dtype=np.uint32) << 16).view(np.float32)


def int8_quantize(W):
    """(q [rows][K] int8, scale [rows] float32) by the header's rule."""
    W = np.asarray(W, dtype=np.float32)
    scale = np.abs(W).max(axis=1) / np.float32(127)
    scale[scale == 0] = 1
    q = np.clip(np.rint(W / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)


def stored(W, precision):
    """The weights a library of `precision` computes with, as float64."""
    W = np.asarray(W, dtype=np.float32)
    if precision == "f32":
        return W.astype(np.float64)
    if precision == "f16":
        return W.astype(np.float16).astype(np.float64)
    if precision == "bf16":
        return bf16_bits_to_f32(to_bf16_bits(W)).astype(np.float64)
    q, scale = int8_quantize(W)
    return q.astype(np.float64) * scale.astype(np.float64)[:, None]


def quantize_rows(V):
    """w8a8's input rows V [rows][K] float32 -> (qv [rows][K] int64, sv [rows] float32)."""
    V = np.asarray(V, dtype=np.float32)
    a = np.abs(V).max(axis=1).astype(np.float32)  # NaN when the row has one
    finite = (a > 0) & (a < np.inf)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv = (np.float32(127) / a).astype(np.float32)
        level = np.clip(np.nan_to_num(np.rint((V * inv[:, None]).astype(np.float32))), -127, 127)
        infinite = np.where(np.isinf(V), np.sign(V) * 127, 0)
        qv = np.where(finite[:, None], level, np.where((a == np.inf)[:, None], infinite, 0))
        sv = (a / np.float32(127)).astype(np.float32)
    return qv.astype(np.int64), sv


def w8a8_product(V, W):
    """float32 [rows][3H]: w8a8's V [rows][K] times W [3H][K]^T, by the rule above."""
    q, scale = int8_quantize(W)
    qv, sv = quantize_rows(V)
    s = qv @ q.astype(np.int64).T  # exact
    with np.errstate(invalid="ignore", over="ignore"):
        return ((s.astype(np.float32) * scale[None, :]).astype(np.float32) *
                sv[:, None]).astype(np.float32)


def w8a8_step_errors(problem, states):
    """Max abs error of each of a w8a8 library's states [N][L][H] against the float64 step
    computed from its previous state (the golden's initial state, or zeros, at t = 0) and the
    quantized products of that state and of x_t; NaN positions must agree."""
    N, L, _ = problem.x.shape
    H = problem.Wh.shape[1]
    b = np.zeros(3 * H, np.float64) if problem.b is None else problem.b.astype(np.float64)
    bhn = np.zeros(H, np.float64) if problem.bhn is None else problem.bhn.astype(np.float64)
    worst = 0.0
    for t in range(L):
        h = (np.zeros((N, H), np.float32) if problem.h0 is None else problem.h0) if t == 0 \
            else states[:, t - 1]
        xp = w8a8_product(problem.x[:, t], problem.Wx).astype(np.float64) + b
        hp = w8a8_product(h, problem.Wh).astype(np.float64)
        with np.errstate(all="ignore"):
            r = 1 / (1 + np.exp(-(xp[:, :H] + hp[:, :H])))
            z = 1 / (1 + np.exp(-(xp[:, H:2 * H] + hp[:, H:2 * H])))
            n = np.tanh(xp[:, 2 * H:] + r * (hp[:, 2 * H:] + bhn))
            want = (1 - z) * n + z * h.astype(np.float64)
        got = states[:, t].astype(np.float64)
        if not np.array_equal(np.isnan(want), np.isnan(got)):
            return float("inf")
        both = ~np.isnan(want)
        if both.any():
            worst = max(worst, float(np.abs(want[both] - got[both]).max()))
    return worst


def dequantized_answer(problem, precision, reset_after=True):
    """float64 out [N][L][H] of the GRU with the stored weights (biases, x, h0 as given)."""
    cell = Cell(Wx=stored(problem.Wx, precision), Wh=stored(problem.Wh, precision),
                b=problem.b, bhn=problem.bhn)
    model = ModelProblem(cells=[cell], layers=1, directions=1, reverse=False, reset_after=reset_after,
                         x=problem.x, h0=None if problem.h0 is None else problem.h0[None])
    out, _ = reference(model)
    return out


def check_states(golden_path, states_path, tolerance):
    """--check-states: a w8a8 library's run and step x L states (test/e2e/states_dump.c) each
    within `tolerance` of the step from its own previous state. Prints one line; 0 when both
    pass."""
    problem, _ = read_golden(golden_path)
    N, L, _ = problem.x.shape
    H = problem.Wh.shape[1]
    both = np.fromfile(states_path, dtype=np.float32)
    if both.size != 2 * N * L * H:
        print(f"{states_path}: {both.size} floats, expected 2 x {N}x{L}x{H}")
        return 1
    run, step = both[:N * L * H].reshape(N, L, H), both[N * L * H:].reshape(N, L, H)
    run_err, step_err = w8a8_step_errors(problem, run), w8a8_step_errors(problem, step)
    ok = run_err <= tolerance and step_err <= tolerance
    print(f"{os.path.basename(golden_path)}: w8a8 N={N} L={L} H={H} run_err={run_err:.3g} "
          f"step_err={step_err:.3g} (each step from the library's previous state) "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--check-states":
        ap = argparse.ArgumentParser(description="check a w8a8 library's states")
        ap.add_argument("--check-states", nargs=2, metavar=("GOLDEN", "STATES"), required=True)
        ap.add_argument("--tolerance", type=float, default=1e-5)
        args = ap.parse_args()
        return check_states(*args.check_states, args.tolerance)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--precision", required=True, choices=PRECISIONS)
    ap.add_argument("-o", required=True, help="output directory")
    ap.add_argument("--reset-before", action="store_true",
                    help="the answer of the reset-before variant (gru-gen --reset-before)")
    ap.add_argument("goldens", nargs="+")
    args = ap.parse_args()
    os.makedirs(args.o, exist_ok=True)
    for path in args.goldens:
        problem, _ = read_golden(path)
        write_golden(os.path.join(args.o, os.path.basename(path)), problem,
                     dequantized_answer(problem, args.precision,
                                        not args.reset_before).astype(np.float32))
    return 0


if __name__ == "__main__":
    sys.exit(main())
