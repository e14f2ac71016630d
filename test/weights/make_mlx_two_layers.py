#!/usr/bin/env python3
"""Writes test/weights/mlx_two_layers.{safetensors,npz}: a model of two mlx.nn.GRU layers
(keys layers.0.* with D=2 H=3 and layers.1.* with D=3 H=3), saved by MLX's own save_weights,
once as safetensors and once as .npz (MLX writes .npz when the name ends so). MLX lays out
layers.1 before layers.0 in both files, which is what misled the prefix hint of
--weights-prefix layers.0 (no final dot). Checked in; run from the repository root:
    .venv/bin/python test/weights/make_mlx_two_layers.py
"""
import os

import mlx.core as mx
import mlx.nn as nn

OUT = os.path.join("test", "weights")


class TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = [nn.GRU(2, 3), nn.GRU(3, 3)]


def main():
    mx.random.seed(11)
    model = TwoLayers()
    for ext in ("safetensors", "npz"):
        model.save_weights(os.path.join(OUT, "mlx_two_layers." + ext))


if __name__ == "__main__":
    main()
