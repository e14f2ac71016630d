#!/usr/bin/env python3
"""Reduced-precision weights as a gru-gen library stores them (--weights-precision), in NumPy.

The rules, as the generated header states them (NAME_WEIGHTS_PRECISION):
  f16   IEEE binary16, round to nearest even (NumPy's float32 -> float16 cast);
  bf16  bfloat16, the top half of a float32, round to nearest even;
  int8  per gate row j of Wx [3H][D] and of Wh [3H][H]:
        scale[j] = max_k |W[j][k]| / 127 in float32 (1 for a row of zeros),
        q[j][k] = round_half_even(W[j][k] / scale[j]) clamped to [-127, 127],
        and the row's dot product is scale[j] * sum_k q[j][k] * v[k].

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

PRECISIONS = ("f32", "f16", "bf16", "int8")


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


def dequantized_answer(problem, precision, reset_after=True):
    """float64 out [N][L][H] of the GRU with the stored weights (biases, x, h0 as given)."""
    cell = Cell(Wx=stored(problem.Wx, precision), Wh=stored(problem.Wh, precision),
                b=problem.b, bhn=problem.bhn)
    model = ModelProblem(cells=[cell], layers=1, directions=1, reverse=False, reset_after=reset_after,
                         x=problem.x, h0=None if problem.h0 is None else problem.h0[None])
    out, _ = reference(model)
    return out


def main():
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
