"""Helper of harness.test: `split GOLDEN DIR` writes the golden's weights and input as the raw
float32 files bench/harness.c reads; `compare GOLDEN OUT` checks the harness's output against
the golden's MLX output (1e-5)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from gru_golden import read_golden  # noqa: E402

p, out = read_golden(sys.argv[2])
if sys.argv[1] == "split":
    for key in ("Wx", "Wh", "b", "bhn", "x"):
        getattr(p, key).astype("<f4").tofile(os.path.join(sys.argv[3], key + ".f32"))
else:
    got = np.fromfile(sys.argv[3], dtype="<f4").reshape(out.shape)
    err = float(np.max(np.abs(got - out)))
    print(f"max |harness - mlx| {'ok' if err <= 1e-5 else 'TOO LARGE'} ({err:.2e})")
