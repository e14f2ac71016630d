#!/usr/bin/env python3
"""Trains a tiny keyword spotter in MLX from scratch, as a user would, and saves it.

The task (synthetic, so nothing is downloaded): 40-band "spectrogram" frames of noise, 50 per
clip; a positive clip hides a fixed 8-frame "keyword" pattern somewhere in it. The model is
mlx.nn.GRU(40, 64) followed by a Linear(64, 2) on the last state. A few hundred Adam steps
suffice. Writes into OUT_DIR:
  kws.safetensors  model.save_weights: gru.Wx, gru.Wh, gru.b, gru.bhn, head.weight, head.bias
  test_x.f32       8 held-out clips [8][50][40], little-endian float32
  test_labels.i32  their labels [8]
  test_h.f32       mlx.nn.GRU's last state for each [8][64] (what the C app must reproduce)
  exact_h.f64      the same states computed in float64 (numpy), the exact answer both float32
                   implementations round towards
  head_w.f32, head_b.f32   the classifier [2][64] and [2], which the app applies itself
"""
import os
import sys

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np

D, H, L, KEYWORD = 40, 64, 50, 8


class Spotter(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(D, H)
        self.head = nn.Linear(H, 2)

    def __call__(self, x):
        return self.head(self.gru(x)[:, -1, :])


def clips(rng, keyword, count):
    x = rng.normal(0.0, 1.0, size=(count, L, D)).astype(np.float32)
    labels = rng.integers(0, 2, size=count).astype(np.int32)
    for i in np.nonzero(labels)[0]:
        at = rng.integers(0, L - KEYWORD)
        x[i, at:at + KEYWORD] += keyword
    return x, labels


def float64_states(model, x):
    """The GRU's last states in float64: mlx.nn.GRU's formula, transcribed."""
    Wx, Wh, b, bhn = (np.array(getattr(model.gru, k), dtype=np.float64)
                      for k in ("Wx", "Wh", "b", "bhn"))
    sigmoid = lambda v: 1.0 / (1.0 + np.exp(-v))
    xp = x.astype(np.float64) @ Wx.T + b
    h = np.zeros((x.shape[0], H))
    for t in range(x.shape[1]):
        hp = h @ Wh.T
        r = sigmoid(xp[:, t, :H] + hp[:, :H])
        z = sigmoid(xp[:, t, H:2 * H] + hp[:, H:2 * H])
        n = np.tanh(xp[:, t, 2 * H:] + r * (hp[:, 2 * H:] + bhn))
        h = (1 - z) * n + z * h
    return h


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    mx.random.seed(7)
    keyword = (1.0 * rng.normal(0.0, 1.0, size=(KEYWORD, D))).astype(np.float32)
    model = Spotter()
    optimizer = optim.Adam(learning_rate=1e-2)

    def loss_fn(m, x, y):
        return nn.losses.cross_entropy(m(x), y, reduction="mean")

    step = nn.value_and_grad(model, loss_fn)
    val_x, val_y = clips(rng, keyword, 256)

    def accuracy():
        return float(mx.mean(mx.argmax(model(mx.array(val_x)), axis=1) == mx.array(val_y)))

    print(f"mlx {mx.__version__}: GRU({D}, {H}) + Linear({H}, 2), untrained accuracy "
          f"{accuracy():.2f}")
    for i in range(1, 151):
        x, y = clips(rng, keyword, 32)
        loss, grads = step(model, mx.array(x), mx.array(y))
        optimizer.update(model, grads)
        mx.eval(model.parameters(), optimizer.state)
        if i % 50 == 0:
            print(f"  step {i}: loss {float(loss):.3f}, held-out accuracy {accuracy():.2f}")
    model.save_weights(os.path.join(out, "kws.safetensors"))

    test_x, test_y = clips(rng, keyword, 8)
    test_h = np.array(model.gru(mx.array(test_x))[:, -1, :], dtype=np.float32)
    test_x.astype("<f4").tofile(os.path.join(out, "test_x.f32"))
    test_y.astype("<i4").tofile(os.path.join(out, "test_labels.i32"))
    test_h.astype("<f4").tofile(os.path.join(out, "test_h.f32"))
    float64_states(model, test_x).tofile(os.path.join(out, "exact_h.f64"))
    np.array(model.head.weight, dtype="<f4").tofile(os.path.join(out, "head_w.f32"))
    np.array(model.head.bias, dtype="<f4").tofile(os.path.join(out, "head_b.f32"))
    print(f"saved {os.path.join(out, 'kws.safetensors')} and 8 test clips")


if __name__ == "__main__":
    main()
