#!/usr/bin/env python3
"""Makes the example's model with MLX: an mlx.nn.GRU(40, 128) as initialised by MLX, one input
sequence [1][50][40] and MLX's output for it, saved as raw little-endian float32 files
(Wx.f32, Wh.f32, b.f32, bhn.f32, x.f32, mlx_out.f32) in the directory given."""
import os
import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np

out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)
mx.random.seed(7)
gru = nn.GRU(40, 128)
x = mx.random.normal((1, 50, 40))
y = gru(x)
for name, array in [("Wx", gru.Wx), ("Wh", gru.Wh), ("b", gru.b), ("bhn", gru.bhn), ("x", x),
                    ("mlx_out", y)]:
    np.asarray(array, dtype="<f4").tofile(os.path.join(out_dir, f"{name}.f32"))
print(f"mlx {mx.__version__}: Wx {gru.Wx.shape}, Wh {gru.Wh.shape}, x {x.shape} -> out {y.shape}")
