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
"""
import argparse
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gru_golden import GruProblem, write_golden  # noqa: E402

# stem, D, H, bias, prefix of the layer in the state dict, (N, L, with h0) problems
CASES = [
    ("torch_d7_h13_bias", 7, 13, True, "gru.", [(3, 5, True), (1, 64, False)]),
    ("torch_d7_h13_nobias", 7, 13, False, "", [(2, 9, True)]),
]


class Model(torch.nn.Module):
    """A GRU inside a larger model, as users save them: the layer's keys start with 'gru.'."""

    def __init__(self, D, H, bias):
        super().__init__()
        self.gru = torch.nn.GRU(D, H, bias=bias, batch_first=True)
        self.head = torch.nn.Linear(H, 2)


def mlx_layout(sd, prefix, H):
    """PyTorch's layout (gate order r, z, n, like MLX) to MLX's parameters."""
    g = lambda k: sd[prefix + k].detach().numpy().astype(np.float32)
    Wx, Wh = g("weight_ih_l0"), g("weight_hh_l0")
    if prefix + "bias_ih_l0" not in sd:
        return Wx, Wh, None, None
    bih, bhh = g("bias_ih_l0"), g("bias_hh_l0")
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


if __name__ == "__main__":
    main()
