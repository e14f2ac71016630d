"""Golden files of whole models (stacked, bidirectional or reverse GRU layers, per-row lengths)
and a float64 reference of their semantics, for gru-gen's tests.

A model golden holds one problem and a real framework's answer (PyTorch, ONNX Runtime, Keras,
MLX), little-endian:
    magic   b"GRUGOLD2"
    int32   D, H, N, L, layers, directions, reverse, has_bias, reset_after, has_lengths, has_h0
    float32 per layer l, forward before backward (layer-major): Wx [3H][D_l], Wh [3H][H],
            (b [3H], bhn [H] if has_bias); D_0 = D, D_l = directions * H above
    int32   lengths [N]                                  if has_lengths
    float32 x [N][L][D], (h0 [layers*directions][N][H] if has_h0),
            out [N][L][directions*H] (zero past a row's length), h_n [layers*directions][N][H]
The weights are in MLX's layout (gate order r, z, n; b holds the input biases plus the
recurrent r and z ones, bhn the recurrent n one), the cells in the order of
runtime/gru_safetensors.h's key scheme ("<l>." then "<l>.reverse.") and of NAME_create_layers.
test/e2e/model_check.c reads the same layout in C.
"""
import struct
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

MAGIC = b"GRUGOLD2"


@dataclass
class Cell:
    """One layer's one direction, MLX layout."""
    Wx: np.ndarray
    Wh: np.ndarray
    b: Optional[np.ndarray] = None
    bhn: Optional[np.ndarray] = None


@dataclass
class ModelProblem:
    cells: List[Cell]          # layers * directions, layer-major, forward first
    layers: int
    directions: int            # 1 or 2
    reverse: bool              # the one direction is backward (directions == 1)
    reset_after: bool
    x: np.ndarray              # [N][L][D]
    lengths: Optional[np.ndarray] = None  # [N] int32, 1 <= len <= L
    h0: Optional[np.ndarray] = None       # [layers*directions][N][H]

    @property
    def shape(self):
        n, l, d = self.x.shape
        return d, self.cells[0].Wh.shape[1], n, l

    @property
    def has_bias(self):
        return self.cells[0].b is not None


def add_problem_arguments(ap):
    """A random model problem's sizes and inputs as command-line options (random_problem)."""
    ap.add_argument("--input-size", type=int, required=True)
    ap.add_argument("--hidden-size", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--seq-len", type=int, required=True)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--no-bias", action="store_true")
    ap.add_argument("--lengths", default="", help="one per batch row, e.g. 5,2,1")
    ap.add_argument("--h0", action="store_true")
    ap.add_argument("--seed", type=int, default=1)


def random_problem(a, directions):
    """(x, h0, lengths, cells) of add_problem_arguments' options `a`: x [N][L][D] in [-2, 2],
    h0 [layers*directions][N][H] in [-1, 1] (--h0, else None), the lengths (--lengths, else None)
    and each layer instance's float32 cell (layer-major, forward first; MLX's initialisation
    range), drawn from --seed in that order: the same options give the same model to every
    script that uses this."""
    D, H, N, L, K = a.input_size, a.hidden_size, a.batch, a.seq_len, a.layers
    rng = np.random.default_rng(a.seed)
    lengths = np.array([int(v) for v in a.lengths.split(",")], np.int32) if a.lengths else None
    if lengths is not None and len(lengths) != N:
        raise SystemExit("--lengths needs N values")
    x = rng.uniform(-2, 2, (N, L, D)).astype(np.float32)
    h0 = rng.uniform(-1, 1, (K * directions, N, H)).astype(np.float32) if a.h0 else None
    scale = 1 / np.sqrt(H)
    draw = lambda *shape: rng.uniform(-scale, scale, shape).astype(np.float32)
    cells = []
    for l in range(K):
        Dl = D if l == 0 else directions * H
        for _ in range(directions):
            cell = Cell(draw(3 * H, Dl), draw(3 * H, H))
            if not a.no_bias:
                cell.b, cell.bhn = draw(3 * H), draw(H)
            cells.append(cell)
    return x, h0, lengths, cells


def reference(p: ModelProblem):
    """The model's (out [N][L][directions*H], h_n [layers*directions][N][H]) in float64: each
    row n runs steps 0..len[n]-1 (the backward direction from len[n]-1 down), outputs past
    len[n] are zero, h_n holds each direction's last state."""
    D, H, N, L = p.shape
    lengths = np.full(N, L) if p.lengths is None else np.asarray(p.lengths)
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))
    inp = p.x.astype(np.float64)
    h_n = np.zeros((p.layers * p.directions, N, H))
    for l in range(p.layers):
        out = np.zeros((N, L, p.directions * H))
        for d in range(p.directions):
            k = l * p.directions + d
            c = p.cells[k]
            Wx, Wh = c.Wx.astype(np.float64), c.Wh.astype(np.float64)
            b = np.zeros(3 * H) if c.b is None else c.b.astype(np.float64)
            bhn = np.zeros(H) if c.bhn is None else c.bhn.astype(np.float64)
            backward = d == 1 or p.reverse
            for n in range(N):
                h = np.zeros(H) if p.h0 is None else p.h0[k, n].astype(np.float64)
                steps = range(lengths[n] - 1, -1, -1) if backward else range(lengths[n])
                for t in steps:
                    xp = Wx @ inp[n, t] + b
                    hp = Wh @ h
                    r = sig(xp[:H] + hp[:H])
                    z = sig(xp[H:2 * H] + hp[H:2 * H])
                    if p.reset_after:
                        nn = np.tanh(xp[2 * H:] + r * (hp[2 * H:] + bhn))
                    else:
                        nn = np.tanh(xp[2 * H:] + Wh[2 * H:] @ (r * h) + bhn)
                    h = (1 - z) * nn + z * h
                    out[n, t, d * H:(d + 1) * H] = h
                h_n[k, n] = h
        inp = out
    return inp, h_n


def write_model_golden(path, p: ModelProblem, out: np.ndarray, h_n: np.ndarray):
    D, H, N, L = p.shape
    assert out.shape == (N, L, p.directions * H), out.shape
    assert h_n.shape == (p.layers * p.directions, N, H), h_n.shape
    assert len(p.cells) == p.layers * p.directions
    f32 = lambda a: np.ascontiguousarray(a, dtype="<f4").tobytes()
    with open(path, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<11i", D, H, N, L, p.layers, p.directions, int(p.reverse),
                            int(p.has_bias), int(p.reset_after), int(p.lengths is not None),
                            int(p.h0 is not None)))
        for c in p.cells:
            for a in (c.Wx, c.Wh, c.b, c.bhn):
                if a is not None:
                    f.write(f32(a))
        if p.lengths is not None:
            f.write(np.ascontiguousarray(p.lengths, dtype="<i4").tobytes())
        for a in (p.x, p.h0, out, h_n):
            if a is not None:
                f.write(f32(a))


def read_model_golden(path):
    """(ModelProblem, out, h_n) from a model golden."""
    with open(path, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise ValueError(f"{path}: not a model golden file")
        D, H, N, L, layers, dirs, reverse, bias, reset_after, has_len, has_h0 = \
            struct.unpack("<11i", f.read(44))
        data = f.read()
    at = 0

    def take(shape, dtype="<f4"):
        nonlocal at
        count = int(np.prod(shape))
        a = np.frombuffer(data, dtype, count, at).reshape(shape)
        at += 4 * count
        return a.astype(np.float32 if dtype == "<f4" else np.int32)

    cells = []
    for l in range(layers):
        for _ in range(dirs):
            Dl = D if l == 0 else dirs * H
            Wx, Wh = take((3 * H, Dl)), take((3 * H, H))
            b, bhn = (take((3 * H,)), take((H,))) if bias else (None, None)
            cells.append(Cell(Wx, Wh, b, bhn))
    lengths = take((N,), "<i4") if has_len else None
    x = take((N, L, D))
    h0 = take((layers * dirs, N, H)) if has_h0 else None
    out, h_n = take((N, L, dirs * H)), take((layers * dirs, N, H))
    if at != len(data):
        raise ValueError(f"{path}: {len(data) - at} bytes more than the header says")
    return ModelProblem(cells, layers, dirs, bool(reverse), bool(reset_after), x, lengths,
                        h0), out, h_n


def cells_from_tensors(tensors, prefix=""):
    """A model's cells and (layers, directions, reverse) from name -> array in
    runtime/gru_safetensors.h's key scheme (a single forward layer: "<prefix>Wx", ...).
    Independent of the C reader, which the tests compare it with."""
    mine = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    if "Wx" in mine:
        return [Cell(mine["Wx"], mine["Wh"], mine.get("b"), mine.get("bhn"))], 1, 1, False
    layers = 1 + max(int(k.split(".")[0]) for k in mine)
    fwd, rev = "0.Wx" in mine, "0.reverse.Wx" in mine
    cells = []
    for l in range(layers):
        for tag in ([""] if fwd else []) + (["reverse."] if rev else []):
            g = lambda n: mine.get(f"{l}.{tag}{n}")
            cells.append(Cell(g("Wx"), g("Wh"), g("b"), g("bhn")))
    return cells, layers, 2 if fwd and rev else 1, rev and not fwd
