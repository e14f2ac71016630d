#!/usr/bin/env python3
"""Writes safetensors files of whole models (runtime/gru_safetensors.h's key scheme: layer l's
forward direction under "<prefix><l>.", its backward one under "<prefix><l>.reverse.") into
OUTDIR: well-formed stacks, and one file per defect that gru-gen --weights must refuse with one
line (stacks.test checks each). Random weights: these files test the reader, not the numbers.
    make_stack_files.py OUTDIR
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import safetensors_io  # noqa: E402

rng = np.random.default_rng(15)


def cell(prefix, D, H, bias=True):
    """One layer's one direction under `prefix`: MLX's names and shapes."""
    u = lambda *s: rng.uniform(-0.5, 0.5, size=s).astype(np.float32)
    t = {prefix + "Wx": u(3 * H, D), prefix + "Wh": u(3 * H, H)}
    if bias:
        t.update({prefix + "b": u(3 * H), prefix + "bhn": u(H)})
    return t


def stack(prefix, D, H, layers, directions=("",), bias=True):
    """layers x directions cells ("" forward, "reverse." backward), shapes chained."""
    t = {}
    for l in range(layers):
        for d in directions:
            t.update(cell(f"{prefix}{l}.{d}", D if l == 0 else len(directions) * H, H, bias))
    return t


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    BI = ("", "reverse.")
    files = {
        # Good: 2 bidirectional layers under "gru." beside a head outside the prefix.
        "bidi2": (dict(stack("gru.", 5, 4, 2, BI), **{"head.weight": np.ones((2, 8), np.float32)}),
                  None),
        # Good: 3 forward layers without bias, no prefix.
        "fwd3_nobias": (stack("", 6, 3, 3, bias=False), None),
        # Good: 1 reverse layer, reset before (the model's key).
        "reverse1_before": (stack("m.", 4, 2, 1, ("reverse.",)), {"m.reset_after": "false"}),
        # Good: 2 bidirectional layers, reset before in every layer's own key, no model key.
        "bidi2_before_per_layer": (stack("", 3, 2, 2, BI),
                                   {f"{l}.{d}reset_after": "false" for l in (0, 1) for d in BI}),
        # Defects.
        "missing_layer": ({k: v for k, v in stack("", 5, 4, 3).items() if not k.startswith("1.")},
                          None),
        "chain": (dict(cell("0.", 5, 4), **cell("1.", 5, 4)), None),
        "chain_bidi": (dict(stack("", 5, 4, 1, BI), **cell("1.", 4, 4), **cell("1.reverse.", 4, 4)),
                       None),
        "mixed_directions": (dict(stack("", 5, 4, 1, BI), **cell("1.", 8, 4)), None),
        "reverse_then_forward": (dict(cell("0.reverse.", 5, 4), **cell("1.", 4, 4)), None),
        "mixed_h": (dict(cell("0.", 5, 4), **cell("1.", 4, 3)), None),
        "mixed_bias": (dict(cell("0.", 5, 4), **cell("1.", 4, 4, bias=False)), None),
        "mixed_reset": (stack("", 5, 4, 2), {"1.reset_after": "false"}),
        "layer_against_model_reset": (stack("", 5, 4, 2), {"reset_after": "false",
                                                           "0.reset_after": "true"}),
        "stray_key": (dict(stack("layers.", 5, 4, 2), **{"layers.2.weight": np.ones(3, np.float32)}),
                      None),
        "leading_zero": (dict(cell("0.", 5, 4), **cell("01.", 4, 4)), None),
        "index_64": (dict(cell("0.", 5, 4), **cell("64.", 4, 4)), None),
        "cell_without_wh": ({k: v for k, v in stack("", 5, 4, 2, BI).items() if k != "1.reverse.Wh"},
                            None),
    }
    for name, (tensors, metadata) in files.items():
        safetensors_io.write(os.path.join(out, name + ".safetensors"),
                             safetensors_io.arrays(tensors), metadata=metadata)


if __name__ == "__main__":
    main()
