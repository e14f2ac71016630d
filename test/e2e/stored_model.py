#!/usr/bin/env python3
"""A model (stacked, bidirectional layers, per-row lengths, either variant) with reduced-precision
weights, answered in float64 from the weights as a library of that precision stores them.

    stored_model.py OUT_DIR NAME --input-size D --hidden-size H --batch N --seq-len L
                    [--layers K] [--bidirectional] [--no-bias] [--reset-before]
                    --precision f32|f16|bf16|int8 [--lengths 5,2,1] [--h0] [--seed S]

Writes OUT_DIR/NAME.safetensors (gru-gen's key scheme for models, "reset_after": "false" in the
metadata for --reset-before) and two model goldens (GRUGOLD2, tools/gru_model_golden.py, read by
test/e2e/model_check.c) holding the float32 weights a library is created from: NAME.gold, whose
outputs are the float64 answer of the GRU with the stored weights (tools/gru_precision.py,
`stored`: what the kernels multiply by), which a library of that precision gives within float32
rounding; and NAME_f32.gold, the float64 answer of the float32 weights, which it does not (the
weights' rounding, printed), so that a check against NAME.gold can tell the precisions apart.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import safetensors_io  # noqa: E402
from gru_model_golden import (Cell, ModelProblem, add_problem_arguments,  # noqa: E402
                              random_problem, reference, write_model_golden)  # noqa: E402
from gru_precision import stored  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("name")
    add_problem_arguments(ap)
    ap.add_argument("--bidirectional", action="store_true")
    ap.add_argument("--reset-before", action="store_true")
    ap.add_argument("--precision", required=True, choices=["f32", "f16", "bf16", "int8"])
    a = ap.parse_args()

    D, H, N, L, K = a.input_size, a.hidden_size, a.batch, a.seq_len, a.layers
    dirs = 2 if a.bidirectional else 1
    x, h0, lengths, cells = random_problem(a, dirs)
    tensors, stored_cells = {}, []
    for i, c in enumerate(cells):
        key = f"{i // dirs}." + ("reverse." if i % dirs == 1 else "")
        tensors[key + "Wx"], tensors[key + "Wh"] = c.Wx, c.Wh
        if c.b is not None:
            tensors[key + "b"], tensors[key + "bhn"] = c.b, c.bhn
        stored_cells.append(Cell(stored(c.Wx, a.precision), stored(c.Wh, a.precision), c.b, c.bhn))

    def problem(cs):
        return ModelProblem(cells=cs, layers=K, directions=dirs, reverse=False,
                            reset_after=not a.reset_before, x=x, lengths=lengths, h0=h0)

    out, h_n = reference(problem(stored_cells))
    out32, h_n32 = reference(problem(cells))
    os.makedirs(a.out_dir, exist_ok=True)
    safetensors_io.write(os.path.join(a.out_dir, a.name + ".safetensors"),
                         safetensors_io.arrays(tensors),
                         metadata={"reset_after": "false"} if a.reset_before else None)
    write_model_golden(os.path.join(a.out_dir, a.name + ".gold"), problem(cells), out, h_n)
    write_model_golden(os.path.join(a.out_dir, a.name + "_f32.gold"), problem(cells), out32, h_n32)
    rounding = max(np.abs(out - out32).max(), np.abs(h_n - h_n32).max())
    print(f"{a.name}: D={D} H={H} N={N} L={L} layers={K} directions={dirs} "
          f"reset_{'before' if a.reset_before else 'after'} {a.precision} "
          f"max|stored - float32 weights| = {rounding:.2e}")


if __name__ == "__main__":
    main()
