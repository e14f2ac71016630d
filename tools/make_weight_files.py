#!/usr/bin/env python3
"""Writes test/weights/: safetensors files of trained-layer weights, and their goldens.

Run from the repository root with the project's virtualenv:
    .venv/bin/python tools/make_weight_files.py
- MLX writes the files a user has (nn.Module.save_weights): a bare GRU layer with bias, and a
  GRU without bias inside a larger model (keys under "gru.", beside a Linear head). Their weights
  are those of goldens in test/goldens, so the e2e tests compare against MLX's outputs there.
- Written here byte by byte, for what MLX does not write: F16 and BF16 weights. Their goldens
  are MLX's outputs for the same weights widened to float32 (which is exact), so a loader that
  converts exactly matches them.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gru_golden import GruProblem, mlx_gru, mlx_layer, random_problem, write_golden  # noqa: E402
from make_goldens import CASES, case_name  # noqa: E402
import safetensors_io  # noqa: E402

OUT = os.path.join("test", "weights")


def golden_problem(D, H, N, L, bias, h0):
    """The problem behind test/goldens/<case>.gold, rebuilt from make_goldens' seed."""
    case = (D, H, N, L, bias, h0)
    return random_problem(np.random.default_rng(1000 + CASES.index(case)), *case)


def mlx_save(path, p: GruProblem, prefix=""):
    import mlx.nn as nn

    H = p.shape[1]
    gru = mlx_layer(p)
    if not prefix:
        gru.save_weights(path)
        return

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = gru
            self.head = nn.Linear(H, 2)

    assert prefix == "gru."
    Model().save_weights(path)


def write_safetensors(path, tensors, dtype):
    """A safetensors file with every tensor in `dtype` (F16 or BF16), keys in sorted order."""
    safetensors_io.write(path, safetensors_io.arrays(tensors, dtype))


def rounded(p: GruProblem, dtype):
    """p with weights rounded to F16 or BF16 (then widened back to float32 exactly)."""
    def r(a):
        if a is None:
            return None
        if dtype == "F16":
            return a.astype(np.float16).astype(np.float32)
        bits = a.astype(np.float32).view(np.uint32)
        return ((bits + 0x8000) & 0xFFFF0000).astype(np.uint32).view(np.float32)  # round half up
    return GruProblem(Wx=r(p.Wx), Wh=r(p.Wh), b=r(p.b), bhn=r(p.bhn), x=p.x, h0=p.h0)


def main():
    import mlx.core as mx
    print(f"mlx {mx.__version__}")
    mx.random.seed(0)  # the Linear head beside the GRU: same bytes on every run
    os.makedirs(OUT, exist_ok=True)
    # MLX-written: the weights of d7_h13_n3_bias_l5_h0 and of d7_h13_n3_nobias_l64_h0.
    mlx_save(os.path.join(OUT, "mlx_d7_h13_bias.safetensors"),
             golden_problem(7, 13, 3, 5, True, True))
    mlx_save(os.path.join(OUT, "mlx_d7_h13_nobias_in_model.safetensors"),
             golden_problem(7, 13, 3, 64, False, True), prefix="gru.")
    # Hand-written half-precision files, with goldens of their own.
    base = golden_problem(7, 13, 3, 5, True, True)
    for dtype in ("F16", "BF16"):
        p = rounded(base, dtype)
        stem = f"{dtype.lower()}_d7_h13_bias"
        tensors = {"Wx": p.Wx, "Wh": p.Wh, "b": p.b, "bhn": p.bhn}
        write_safetensors(os.path.join(OUT, stem + ".safetensors"), tensors, dtype)
        write_golden(os.path.join(OUT, stem + "_" + case_name(7, 13, 3, 5, True, True) + ".gold"),
                     p, mlx_gru(p))
    for name in sorted(os.listdir(OUT)):
        print(f"wrote {os.path.join(OUT, name)} ({os.path.getsize(os.path.join(OUT, name))} bytes)")


if __name__ == "__main__":
    main()
