"""Golden files for gru-gen's end-to-end tests, and the reference that fills them: real MLX.

A golden file holds one GRU problem and mlx.nn.GRU's answer, little-endian:
    magic   b"GRUGOLD1"
    int32   D, H, N, L, has_bias, has_h0
    float32 Wx [3H][D], Wh [3H][H], (b [3H], bhn [H] if has_bias),
            x [N][L][D], (h0 [N][H] if has_h0), out [N][L][H]
test/e2e/gru_test_lib.h reads the same layout in C, read_golden in Python.
"""
import struct
from dataclasses import dataclass
from typing import Optional

import numpy as np

MAGIC = b"GRUGOLD1"


@dataclass
class GruProblem:
    Wx: np.ndarray
    Wh: np.ndarray
    b: Optional[np.ndarray]
    bhn: Optional[np.ndarray]
    x: np.ndarray            # [N][L][D]
    h0: Optional[np.ndarray]  # [N][H] or None (MLX: hidden=None)

    @property
    def shape(self):
        n, l, d = self.x.shape
        return d, self.Wh.shape[1], n, l


def random_problem(rng, D, H, N, L, bias, with_h0):
    """Weights as MLX initialises them (uniform +-1/sqrt(H)); inputs wide enough to saturate."""
    scale = 1.0 / np.sqrt(H)
    u = lambda *s: rng.uniform(-scale, scale, size=s).astype(np.float32)
    return GruProblem(
        Wx=u(3 * H, D), Wh=u(3 * H, H),
        b=u(3 * H) if bias else None, bhn=u(H) if bias else None,
        x=rng.normal(0.0, 2.0, size=(N, L, D)).astype(np.float32),
        h0=rng.uniform(-1.0, 1.0, size=(N, H)).astype(np.float32) if with_h0 else None)


def mlx_layer(p: GruProblem):
    """An mlx.nn.GRU holding problem p's weights."""
    import mlx.core as mx
    import mlx.nn as nn

    D, H, _, _ = p.shape
    gru = nn.GRU(D, H, bias=p.b is not None)
    params = {"Wx": mx.array(p.Wx), "Wh": mx.array(p.Wh)}
    if p.b is not None:
        params.update(b=mx.array(p.b), bhn=mx.array(p.bhn))
    gru.update(params)
    return gru


def mlx_gru(p: GruProblem) -> np.ndarray:
    """mlx.nn.GRU's output [N][L][H] for problem p, computed by MLX itself."""
    import mlx.core as mx

    gru = mlx_layer(p)
    hidden = None if p.h0 is None else mx.array(p.h0)
    out = gru(mx.array(p.x), hidden=hidden)
    return np.array(out, dtype=np.float32)


def write_golden(path, p: GruProblem, out: np.ndarray):
    D, H, N, L = p.shape
    assert out.shape == (N, L, H)
    with open(path, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<6i", D, H, N, L, int(p.b is not None), int(p.h0 is not None)))
        for a in (p.Wx, p.Wh, p.b, p.bhn, p.x, p.h0, out):
            if a is not None:
                f.write(np.ascontiguousarray(a, dtype="<f4").tobytes())


def read_golden(path):
    """The problem in a golden file and MLX's output for it: (GruProblem, out [N][L][H])."""
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise ValueError(f"{path}: not a golden file")
        D, H, N, L, has_bias, has_h0 = struct.unpack("<6i", f.read(24))
        data = np.frombuffer(f.read(), dtype="<f4").astype(np.float32)
    shapes = [("Wx", (3 * H, D)), ("Wh", (3 * H, H))]
    if has_bias:
        shapes += [("b", (3 * H,)), ("bhn", (H,))]
    shapes += [("x", (N, L, D))] + ([("h0", (N, H))] if has_h0 else []) + [("out", (N, L, H))]
    arrays, offset = {}, 0
    for key, shape in shapes:
        count = int(np.prod(shape))
        arrays[key] = data[offset:offset + count].reshape(shape)
        offset += count
    if offset != data.size:
        raise ValueError(f"{path}: {data.size - offset} floats more than the header says")
    out = arrays.pop("out")
    return GruProblem(b=arrays.pop("b", None), bhn=arrays.pop("bhn", None),
                      h0=arrays.pop("h0", None), **arrays), out
