"""The final state examples/cmake-consumer should print, computed by mlx.nn.GRU itself from the
same weights file and input, then compared with what the app printed:
    mlx_reference.py WEIGHTS APP_OUTPUT
Exits 1 (and says by how much) when any value differs by more than 1e-5."""
import sys

import mlx.core as mx
import mlx.nn as nn
import numpy as np

weights = mx.load(sys.argv[1])
H, D = weights["Wh"].shape[1], weights["Wx"].shape[1]
gru = nn.GRU(D, H, bias="b" in weights)
gru.load_weights(sys.argv[1])
t = np.arange(50, dtype=np.float32)[:, None]
d = np.arange(D, dtype=np.float32)[None, :]
x = np.sin(np.float32(0.3) * t + np.float32(0.7) * d).astype(np.float32)
expected = np.array(gru(mx.array(x[None]))[0, -1])
got = np.array([float(line) for line in open(sys.argv[2]) if not line.startswith("#")],
               dtype=np.float32)
err = float(np.max(np.abs(got - expected)))
print(f"max |app - mlx.nn.GRU| = {err:.3g} over {H} values")
sys.exit(0 if got.shape == expected.shape and err <= 1e-5 else 1)
