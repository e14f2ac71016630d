#!/usr/bin/env python3
"""Writes test/import/torch/: PyTorch nn.GRU state dicts and real PyTorch's outputs for them.

PyTorch is not part of the project's set-up (its wheels are gigabytes), so this runs once, by
hand, in a throwaway virtualenv outside the repository:
    python3 -m venv ~/torchenv && ~/torchenv/bin/pip install torch numpy safetensors
    ~/torchenv/bin/python tools/make_torch_goldens.py [--out DIR]
The live test (test/import/torch_live.test, where torch imports) runs it into a scratch DIR.

For each case, <stem>.pt (torch.save(model.state_dict())) and <stem>.safetensors
(safetensors.torch.save_file of the same dict), then <stem>_<problem>.gold: the layer in MLX
layout (converted here, independently of tools/gru-import), inputs, and the output of
nn.GRU(batch_first=True) (tools/gru_golden.py's GRUGOLD1 format).

Whole models (MODEL_CASES: num_layers > 1, bidirectional): <stem>.safetensors (the state dict;
no .pt, to keep the files small) and <stem>_<problem>.gold in tools/gru_model_golden.py's
GRUGOLD2 format: every cell in MLX layout, x, per-row lengths (run as a packed sequence,
pack_padded_sequence), h0, and nn.GRU's padded output and h_n.
"""
import argparse
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gru_golden import GruProblem, write_golden  # noqa: E402
from gru_model_golden import Cell, ModelProblem, write_model_golden  # noqa: E402

# stem, D, H, bias, prefix of the layer in the state dict, (N, L, with h0) problems
CASES = [
    ("torch_d7_h13_bias", 7, 13, True, "gru.", [(3, 5, True), (1, 64, False)]),
    ("torch_d7_h13_nobias", 7, 13, False, "", [(2, 9, True)]),
]


# stem, D, H, num_layers, bidirectional, (N, L, lengths or None, with h0) problems
MODEL_CASES = [
    ("torch_gru2_bidi_d8_h16", 8, 16, 2, True, [(3, 7, [7, 4, 1], True)]),
    ("torch_gru3_d5_h12", 5, 12, 3, False, [(2, 6, None, False)]),
]


class Model(torch.nn.Module):
    """A GRU inside a larger model, as users save them: the layer's keys start with 'gru.'."""

    def __init__(self, D, H, bias):
        super().__init__()
        self.gru = torch.nn.GRU(D, H, bias=bias, batch_first=True)
        self.head = torch.nn.Linear(H, 2)


def mlx_layout(sd, prefix, H, suffix="_l0"):
    """PyTorch's layout (gate order r, z, n, like MLX) to MLX's parameters, for the cell whose
    keys end in `suffix` (_l<k>, then _reverse for the backward direction)."""
    g = lambda k: sd[prefix + k + suffix].detach().numpy().astype(np.float32)
    Wx, Wh = g("weight_ih"), g("weight_hh")
    if prefix + "bias_ih" + suffix not in sd:
        return Wx, Wh, None, None
    bih, bhh = g("bias_ih"), g("bias_hh")
    b = bih.copy()
    b[:2 * H] += bhh[:2 * H]
    return Wx, Wh, b, bhh[2 * H:].copy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "test", "import", "torch"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(2024)
    rng = np.random.default_rng(2024)
    for stem, D, H, bias, prefix, problems in CASES:
        model = Model(D, H, bias) if prefix else torch.nn.GRU(D, H, bias=bias, batch_first=True)
        gru = model.gru if prefix else model
        sd = model.state_dict()
        torch.save(sd, os.path.join(out, stem + ".pt"))
        save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(out, stem + ".safetensors"))
        Wx, Wh, b, bhn = mlx_layout(sd, prefix, H)
        for N, L, with_h0 in problems:
            x = rng.normal(0.0, 2.0, size=(N, L, D)).astype(np.float32)
            h0 = rng.uniform(-1.0, 1.0, size=(N, H)).astype(np.float32) if with_h0 else None
            with torch.no_grad():
                y, _ = gru(torch.from_numpy(x), None if h0 is None else torch.from_numpy(h0)[None])
            name = f"{stem}_n{N}_l{L}_{'h0' if with_h0 else 'zero'}.gold"
            write_golden(os.path.join(out, name),
                         GruProblem(Wx=Wx, Wh=Wh, b=b, bhn=bhn, x=x, h0=h0), y.numpy())
            print(f"{name}: torch {torch.__version__}, D={D} H={H} N={N} L={L} bias={int(bias)}")
    for stem, D, H, layers, bidirectional, problems in MODEL_CASES:
        gru = torch.nn.GRU(D, H, num_layers=layers, bidirectional=bidirectional, batch_first=True)
        sd = gru.state_dict()
        save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(out, stem + ".safetensors"))
        dirs = 2 if bidirectional else 1
        cells = [Cell(*mlx_layout(sd, "", H, f"_l{l}{'_reverse' if d else ''}"))
                 for l in range(layers) for d in range(dirs)]
        for N, L, lengths, with_h0 in problems:
            x = rng.normal(0.0, 2.0, size=(N, L, D)).astype(np.float32)
            h0 = rng.uniform(-1.0, 1.0, size=(layers * dirs, N, H)).astype(np.float32) \
                if with_h0 else None
            h0_t = None if h0 is None else torch.from_numpy(h0)
            with torch.no_grad():
                if lengths is None:
                    y, h_n = gru(torch.from_numpy(x), h0_t)
                else:
                    packed = torch.nn.utils.rnn.pack_padded_sequence(
                        torch.from_numpy(x), torch.tensor(lengths), batch_first=True,
                        enforce_sorted=False)
                    y, h_n = gru(packed, h0_t)
                    y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=True,
                                                                  total_length=L)
            problem = ModelProblem(cells=cells, layers=layers, directions=dirs, reverse=False,
                                   reset_after=True, x=x,
                                   lengths=None if lengths is None else np.asarray(lengths, np.int32),
                                   h0=h0)
            tag = "len" if lengths is not None else "full"
            name = f"{stem}_n{N}_l{L}_{tag}_{'h0' if with_h0 else 'zero'}.gold"
            write_model_golden(os.path.join(out, name), problem, y.numpy(), h_n.numpy())
            print(f"{name}: torch {torch.__version__}, D={D} H={H} layers={layers} "
                  f"directions={dirs} N={N} L={L} lengths={lengths}")


if __name__ == "__main__":
    main()
