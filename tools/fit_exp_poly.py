#!/usr/bin/env python3
"""The coefficients of gru-gen's vector exp (compiler/pipelines/GruStep.cpp, exp_parts).

e^f - 1 = f + f^2 p(f) for |f| <= ln 2 / 2, with p of degree 4 chosen for the least largest
relative error of e^f (what the kernels' 2^k (1 + q) then carries): Lawson's iteration
(iteratively reweighted least squares, which converges to the minimax fit) on 20,001
Chebyshev-spaced points, in float64. Prints the coefficients rounded to float32, lowest degree
first, and the largest relative error of e^f with them, beside the Taylor series to f^7 that
the kernels used before.

Usage: .venv/bin/python tools/fit_exp_poly.py
"""
import numpy as np

HALF_LN2 = np.log(2) / 2 * 1.0005  # a little past the range reduction's bound
F = np.cos(np.linspace(0, np.pi, 20001)) * HALF_LN2
EXPM1 = np.expm1(F)


def error(coefficients):
    """The largest |f + f^2 p(f) - (e^f - 1)| / e^f over F."""
    c = np.asarray(coefficients, dtype=np.float64)
    p = np.polynomial.polynomial.polyval(F, c)
    return float(np.max(np.abs(F + F * F * p - EXPM1) / np.exp(F)))


def fit(degree, iterations=300):
    basis = np.stack([F ** (2 + i) for i in range(degree + 1)], 1) / np.exp(F)[:, None]
    target = (EXPM1 - F) / np.exp(F)
    weights = np.full(F.shape, 1.0 / F.size)
    for _ in range(iterations):
        root = np.sqrt(weights)
        c, *_ = np.linalg.lstsq(basis * root[:, None], target * root, rcond=None)
        weights *= np.abs(basis @ c - target)
        weights /= weights.sum()
    return c


def main():
    c32 = [float(np.float32(x)) for x in fit(4)]
    print("p(f) coefficients, f^0 .. f^4 (float32):", ", ".join(f"{x:.9e}" for x in c32))
    print(f"largest relative error of e^f: {error(c32):.2e}")
    taylor = [1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040]
    print(f"the Taylor series to f^7 (one FMA more): {error(taylor):.2e}")


if __name__ == "__main__":
    main()
