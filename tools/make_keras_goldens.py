#!/usr/bin/env python3
"""Writes test/import/keras/: Keras 3 GRU models and real Keras's outputs for them.

Keras and a backend are not part of the project's set-up (the tests read the files with h5py
only), so this runs by hand where keras and torch import (bench/requirements.txt has torch):
    .venv/bin/pip install keras && KERAS_BACKEND=torch .venv/bin/python tools/make_keras_goldens.py
The live test (test/import/keras_live.test, where keras imports) runs it into a scratch DIR.

- keras_gru_{after,before}.weights.h5 (model.save_weights) of a Sequential with one
  GRU(7, reset_after=True/False) on D=5 and a Dense head, and <stem>_n3_l6.gold: the layer in
  MLX layout (converted here, independently of tools/gru-import), x, and the GRU's output
  (GRUGOLD1, tools/gru_golden.py).
- keras_bidi2_before.keras (model.save) of a Sequential of two Bidirectional(GRU(6,
  reset_after=False)) on D=5 and a Dense head, and keras_bidi2_before_n2_l5.gold (GRUGOLD2,
  tools/gru_model_golden.py): every cell, x, the second layer's output and each direction's
  final state (the forward one at t = L-1, the backward one at t = 0).
Biases are drawn at random (Keras initialises them to zero).
"""
import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gru_golden import GruProblem, write_golden  # noqa: E402
from gru_model_golden import Cell, ModelProblem, write_model_golden  # noqa: E402


def gru(units, reset_after):
    return keras.layers.GRU(units, reset_after=reset_after, return_sequences=True,
                            bias_initializer=keras.initializers.RandomUniform(-0.5, 0.5))


def mlx_cell(cell):
    """A Keras GRU cell's weights in MLX layout (gate order z, r, h -> r, z, n)."""
    kernel, rec, bias = [np.asarray(w, np.float32) for w in cell.get_weights()]
    H = rec.shape[0]
    zr = lambda a: np.concatenate([a[H:2 * H], a[:H], a[2 * H:]])
    if bias.ndim == 2:  # reset_after: input and recurrent biases
        b = zr(bias[0]) + np.concatenate([zr(bias[1])[:2 * H], np.zeros(H, np.float32)])
        bhn = bias[1, 2 * H:]
    else:
        b, bhn = zr(bias), np.zeros(H, np.float32)
    return Cell(zr(kernel.T), zr(rec.T), b, bhn)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "test", "import", "keras"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    keras.utils.set_random_seed(15)
    rng = np.random.default_rng(15)
    D, N, L = 5, 3, 6
    for stem, reset_after in (("keras_gru_after", True), ("keras_gru_before", False)):
        model = keras.Sequential([keras.Input((None, D)), gru(7, reset_after),
                                  keras.layers.Dense(2)])
        model.save_weights(os.path.join(out, stem + ".weights.h5"))
        x = rng.normal(0.0, 2.0, (N, L, D)).astype(np.float32)
        y = keras.ops.convert_to_numpy(model.layers[0](x))
        c = mlx_cell(model.layers[0].cell)
        write_golden(os.path.join(out, f"{stem}_n{N}_l{L}.gold"),
                     GruProblem(Wx=c.Wx, Wh=c.Wh, b=c.b, bhn=c.bhn, x=x, h0=None), y)
        print(f"{stem}: keras {keras.__version__} ({keras.backend.backend()}), reset_after={reset_after}")

    H, N, L = 6, 2, 5
    model = keras.Sequential([keras.Input((None, D)),
                              keras.layers.Bidirectional(gru(H, False)),
                              keras.layers.Bidirectional(gru(H, False)),
                              keras.layers.Dense(2)])
    model.save(os.path.join(out, "keras_bidi2_before.keras"))
    x = rng.normal(0.0, 2.0, (N, L, D)).astype(np.float32)
    y1 = keras.ops.convert_to_numpy(model.layers[0](x))
    y2 = keras.ops.convert_to_numpy(model.layers[1](y1))
    cells = [mlx_cell(getattr(model.layers[l], d).cell)
             for l in (0, 1) for d in ("forward_layer", "backward_layer")]
    h_n = np.stack([y[:, -1, :H] if d == 0 else y[:, 0, H:] for y in (y1, y2) for d in (0, 1)])
    problem = ModelProblem(cells=cells, layers=2, directions=2, reverse=False, reset_after=False,
                           x=x)
    write_model_golden(os.path.join(out, f"keras_bidi2_before_n{N}_l{L}.gold"), problem, y2, h_n)
    print(f"keras_bidi2_before: keras {keras.__version__} ({keras.backend.backend()})")


if __name__ == "__main__":
    main()
