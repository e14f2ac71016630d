#!/usr/bin/env python3
"""Writes OUTDIR/mlx_stack.safetensors and OUTDIR/mlx_stack.gold, live from MLX: a model whose
`layers` is a list of three mlx.nn.GRU (D=6 -> H=10 -> 10 -> 10, bias), saved by MLX's own
save_weights (keys layers.0.Wx, layers.1.Wx, ...), and a model golden (GRUGOLD2,
tools/gru_model_golden.py) of MLX running the three layers in turn on x with an initial state
per layer: the output is the last layer's, and h_n each layer's state at the last step (MLX
returns every step's state; the last one is the final state).
    make_mlx_stack.py OUTDIR
"""
import os
import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from gru_model_golden import Cell, ModelProblem, write_model_golden  # noqa: E402

D, H, N, L = 6, 10, 3, 9


class Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [nn.GRU(D, H), nn.GRU(H, H), nn.GRU(H, H)]

    def __call__(self, x, h0):
        states = []
        for layer, h in zip(self.layers, h0):
            x = layer(x, hidden=h)
            states.append(x[:, -1])
        return x, mx.stack(states)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    mx.random.seed(15)
    model = Stack()
    model.save_weights(os.path.join(out, "mlx_stack.safetensors"))
    rng = np.random.default_rng(15)
    x = rng.normal(0.0, 2.0, (N, L, D)).astype(np.float32)
    h0 = rng.uniform(-1.0, 1.0, (3, N, H)).astype(np.float32)
    y, h_n = model(mx.array(x), mx.array(h0))
    a = lambda v: np.array(v, dtype=np.float32)
    cells = [Cell(a(g.Wx), a(g.Wh), a(g.b), a(g.bhn)) for g in model.layers]
    problem = ModelProblem(cells=cells, layers=3, directions=1, reverse=False, reset_after=True,
                           x=x, h0=h0)
    write_model_golden(os.path.join(out, "mlx_stack.gold"), problem, a(y), a(h_n))


if __name__ == "__main__":
    main()
