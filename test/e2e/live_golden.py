"""Writes a golden file (tools/gru_golden.py's format) made by mlx.nn.GRU itself, now, for a shape
too large to check in (a test's own %t):

    live_golden.py D H N L SEED OUT.gold

Weights as MLX initialises them, bias and an initial state included, inputs from
tools/gru_golden.py's random_problem (fixed by SEED)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from gru_golden import mlx_gru, random_problem, write_golden  # noqa: E402


def main():
    if len(sys.argv) != 7:
        raise SystemExit("usage: live_golden.py D H N L SEED OUT.gold")
    D, H, N, L, seed = (int(v) for v in sys.argv[1:6])
    p = random_problem(np.random.default_rng(seed), D, H, N, L, True, True)
    write_golden(sys.argv[6], p, mlx_gru(p))


if __name__ == "__main__":
    main()
