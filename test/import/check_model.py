#!/usr/bin/env python3
"""Checks a whole model's weights against a model golden (GRUGOLD2, tools/gru_model_golden.py)
made by a real framework, in float64 and without gru-gen:
    check_model.py GOLD                  the golden's own weights
    check_model.py GOLD FILE [PREFIX]    the model in a safetensors FILE under PREFIX, read in
                                         runtime/gru_safetensors.h's key scheme (as gru-import
                                         writes it), with its "<prefix>reset_after" metadata
The model (float64 reference of the semantics) runs on the golden's x, lengths and h0; its
output and h_n must be within 1e-5 of the framework's, and the file's layers, directions and
variant must be the golden's. Prints one line, ending PASS or FAIL (exit status 1).
"""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from gru_model_golden import cells_from_tensors, read_model_golden, reference  # noqa: E402

TOLERANCE = 1e-5


def main():
    gold = sys.argv[1]
    p, out, h_n = read_model_golden(gold)
    what = "golden weights"
    if len(sys.argv) > 2:
        from safetensors.numpy import load_file
        path, prefix = sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else ""
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            meta = json.loads(f.read(n)).get("__metadata__") or {}
        cells, layers, dirs, reverse = cells_from_tensors(load_file(path), prefix)
        reset_after = meta.get(prefix + "reset_after", "true") == "true"
        got = (layers, dirs, reverse, reset_after)
        want = (p.layers, p.directions, p.reverse, p.reset_after)
        if got != want:
            print(f"{os.path.basename(gold)}: file holds (layers, directions, reverse, "
                  f"reset_after) {got}, golden {want} FAIL")
            return 1
        p.cells = cells
        what = os.path.basename(path)
    ref_out, ref_h_n = reference(p)
    e_out = float(np.max(np.abs(ref_out - out)))
    e_h = float(np.max(np.abs(ref_h_n - h_n)))
    ok = e_out <= TOLERANCE and e_h <= TOLERANCE
    D, H, N, L = p.shape
    print(f"{os.path.basename(gold)}: {what} layers={p.layers} directions={p.directions} "
          f"reverse={int(p.reverse)} reset_after={int(p.reset_after)} D={D} H={H} N={N} L={L} "
          f"lengths={'-' if p.lengths is None else ','.join(map(str, p.lengths))} "
          f"max|out|={e_out:.2e} max|h_n|={e_h:.2e} {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
