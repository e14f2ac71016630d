#!/usr/bin/env python3
"""Differential test of two compilers of the same gru module: gru-gen (Halide) and MLIR.

For each golden (test/goldens, made by MLX), writes the spec as a gru module, spec.mlir: a
function named after the library holding one gru.layer, with bias and initial state as in the
golden. Then:
  - Halide: gru-gen spec.mlir -> library; gru_dump.c runs it on the golden's problem;
  - MLIR:   the same function plus a @main holding the golden's tensors as constants, lowered by
            gru-opt --gru-lower-to-llvm and executed by mlir-cpu-runner, which prints the output's
            bits (as int32, so nothing is lost to decimal printing).
Prints, per golden, the largest absolute differences between MLIR, Halide and MLX; fails when one
exceeds 1e-5.

With --reset-before, the layer is `reset_after = false` (the reset gate before the recurrent
product) and the reference is ONNX Runtime running the golden's weights as a GRU node with
linear_before_reset=0 (MLX computes only the reset-after layer).
"""
import argparse
import os
import re
import shlex
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "tools"))
from gru_golden import read_golden  # noqa: E402

TOLERANCE = 1e-5


def tensor_type(shape, element="f32"):
    return "tensor<" + "x".join("?" if d is None else str(d) for d in shape) + f"x{element}>"


def call_and_print(name, args, arg_types, N, L, width):
    """The end of @main: call @name with `args` (of `arg_types`), whose result is the states
    [N][?][width], and print them bit for bit (as i32, so that nothing is rounded on the way)."""
    out_any, out = tensor_type((N, None, width)), tensor_type((N, L, width))
    out_bits = tensor_type((N, L, width), "i32")
    return [
        f"  %states_any = call @{name}({args}) : ({arg_types}) -> {out_any}",
        f"  %states = tensor.cast %states_any : {out_any} to {out}",
        f"  %empty = tensor.empty() : {out_bits}",
        "  %bits = linalg.generic {indexing_maps = [affine_map<(n, l, h) -> (n, l, h)>,"
        " affine_map<(n, l, h) -> (n, l, h)>], iterator_types = [\"parallel\", \"parallel\","
        " \"parallel\"]}",
        f"      ins(%states : {out}) outs(%empty : {out_bits}) {{",
        "  ^bb0(%value: f32, %unused: i32):",
        "    %as_int = arith.bitcast %value : f32 to i32",
        "    linalg.yield %as_int : i32",
        f"  }} -> {out_bits}",
        f"  %printable = tensor.cast %bits : {out_bits} to tensor<*xi32>",
        "  call @printMemrefI32(%printable) : (tensor<*xi32>) -> ()",
        "  return",
        "}",
        "func.func private @printMemrefI32(tensor<*xi32>)",
    ]


def dense(array):
    """An exact MLIR constant: the little-endian bytes of the float32 array, in hex."""
    data = np.ascontiguousarray(array, dtype="<f4").tobytes().hex().upper()
    return f'arith.constant dense<"0x{data}"> : {tensor_type(array.shape)}'


def spec_module(name, problem, reset_after=True):
    """The spec: the library's function, with L dynamic as it is for the library's `run`."""
    D, H, N, _ = problem.shape
    G = 3 * H
    params = [("x", (N, None, D)), ("Wx", (G, D)), ("Wh", (G, H))]
    if problem.b is not None:
        params += [("b", (G,)), ("bhn", (H,))]
    if problem.h0 is not None:
        params += [("h0", (N, H))]
    types = {p: tensor_type(shape) for p, shape in params}
    out_type = tensor_type((N, None, H))
    optional = ""
    if problem.b is not None:
        optional += " bias(%b, %bhn)"
    if problem.h0 is not None:
        optional += " initial(%h0)"
    bias = "true" if problem.b is not None else "false"
    variant = "" if reset_after else ", reset_after = false"
    signature = ", ".join(f"%{p}: {types[p]}" for p, _ in params)
    operand_types = ", ".join(types[p] for p, _ in params)
    return (
        f"func.func @{name}({signature}) -> {out_type} {{\n"
        f"  %out = gru.layer %x, %Wx, %Wh{optional}\n"
        f"      {{input_size = {D}, hidden_size = {H}, batch = {N}, has_bias = {bias}, dtype = f32"
        f"{variant}}}\n"
        f"      : ({operand_types}) -> {out_type}\n"
        f"  return %out : {out_type}\n"
        f"}}\n"), [p for p, _ in params]


def main_function(name, problem, params):
    """@main: the golden's tensors as constants, the call, and the result's bits printed."""
    D, H, N, L = problem.shape
    values = {"x": problem.x, "Wx": problem.Wx, "Wh": problem.Wh, "b": problem.b,
              "bhn": problem.bhn, "h0": problem.h0}
    lines = ["func.func @main() {"]
    for p in params:
        lines.append(f"  %{p} = {dense(values[p])}")
    x_any = tensor_type((N, None, D))
    lines.append(f"  %x_any = tensor.cast %x : {tensor_type((N, L, D))} to {x_any}")
    args = ", ".join("%x_any" if p == "x" else f"%{p}" for p in params)
    arg_types = ", ".join(x_any if p == "x" else tensor_type(values[p].shape) for p in params)
    lines += call_and_print(name, args, arg_types, N, L, H)
    return "\n".join(lines) + "\n"


def onnx_reset_before(problem):
    """ONNX Runtime's output [N][L][H] for the problem's layer as a GRU node with
    linear_before_reset=0. MLX layout -> ONNX: gate blocks r, z, n -> z, r, h (a swap of the
    first two), b is W's bias, bhn is R's h bias (R's z and r biases zero)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    D, H, N, L = problem.shape
    swap = np.r_[H:2 * H, 0:H, 2 * H:3 * H]
    inits = [numpy_helper.from_array(problem.Wx[swap][None], "W"),
             numpy_helper.from_array(problem.Wh[swap][None], "R")]
    inputs = ["X", "W", "R"]
    if problem.b is not None:
        rb = np.zeros(3 * H, np.float32)
        rb[2 * H:] = problem.bhn
        inits.append(numpy_helper.from_array(np.r_[problem.b[swap], rb][None].astype(np.float32),
                                             "B"))
        inputs.append("B")
    feeds = {"X": np.ascontiguousarray(problem.x.transpose(1, 0, 2))}
    if problem.h0 is not None:  # inputs X, W, R, B, sequence_lens, initial_h
        inputs += [""] * (5 - len(inputs)) + ["h0"]
        feeds["h0"] = problem.h0[None]
    graph_inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, [L, N, D])]
    if problem.h0 is not None:
        graph_inputs.append(helper.make_tensor_value_info("h0", TensorProto.FLOAT, [1, N, H]))
    node = helper.make_node("GRU", inputs, ["Y"], hidden_size=H, linear_before_reset=0)
    graph = helper.make_graph([node], "g", graph_inputs,
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT,
                                                             [L, 1, N, H])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0][:, 0].transpose(1, 0, 2)


def run(command, **kwargs):
    return subprocess.run(command, check=True, **kwargs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gru-gen", required=True)
    ap.add_argument("--gru-opt", required=True)
    ap.add_argument("--runner", default="mlir-cpu-runner")
    ap.add_argument("--runner-libs", required=True, help="mlir-cpu-runner's -shared-libs")
    ap.add_argument("--cc", required=True, help="C compiler command with flags")
    ap.add_argument("--syslibs", required=True)
    ap.add_argument("--e2e", required=True, help="directory of the C test harness")
    ap.add_argument("--work", required=True)
    ap.add_argument("--reset-before", action="store_true",
                    help="reset_after = false, against ONNX Runtime (linear_before_reset=0)")
    ap.add_argument("goldens", nargs="+")
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    failures = 0
    for golden in args.goldens:
        problem, reference = read_golden(golden)
        ref = "mlx"
        if args.reset_before:
            reference, ref = onnx_reset_before(problem), "ort"
        D, H, N, L = problem.shape
        name = os.path.splitext(os.path.basename(golden))[0]
        work = os.path.join(args.work, name)
        os.makedirs(work, exist_ok=True)
        spec, params = spec_module(name, problem, reset_after=not args.reset_before)
        spec_path = os.path.join(work, "spec.mlir")
        with open(spec_path, "w") as f:
            f.write(spec)

        # Halide: gru-gen compiles the spec; the library runs the golden's problem.
        run([args.gru_gen, spec_path, "-o", os.path.join(work, "lib")])
        dump = os.path.join(work, "dump")
        run(shlex.split(args.cc) + [f"-DLIB={name}", f"-DLIB_UPPER={name.upper()}",
            "-I" + os.path.join(work, "lib"), "-I" + args.e2e,
            os.path.join(here, "gru_dump.c"), os.path.join(work, "lib", "host", f"lib{name}.a")]
            + shlex.split(args.syslibs) + ["-o", dump])
        halide_bin = os.path.join(work, "halide.bin")
        run([dump, golden, halide_bin], stdout=subprocess.DEVNULL)
        halide_out = np.fromfile(halide_bin, dtype="<f4").reshape(N, L, H)

        # MLIR: the same function, lowered by gru-opt, executed by mlir-cpu-runner.
        program = os.path.join(work, "program.mlir")
        with open(program, "w") as f:
            f.write(spec + main_function(name, problem, params))
        lowered = os.path.join(work, "program.llvm.mlir")
        run([args.gru_opt, program, "--gru-lower-to-llvm", "-o", lowered])
        printed = run([args.runner, lowered, "-e", "main", "-entry-point-result=void",
                       f"-shared-libs={args.runner_libs}"], capture_output=True, text=True).stdout
        bits = [int(v) for v in re.findall(r"-?\d+", printed.split("data =", 1)[1])]
        mlir_out = np.array(bits, dtype=np.int32).view(np.float32).reshape(N, L, H)

        errors = {"mlir_vs_halide": np.abs(mlir_out - halide_out).max(),
                  f"mlir_vs_{ref}": np.abs(mlir_out - reference).max(),
                  f"halide_vs_{ref}": np.abs(halide_out - reference).max()}
        ok = all(e <= TOLERANCE for e in errors.values())  # NaN fails too
        failures += not ok
        figures = " ".join(f"{k}={v:.3g}" for k, v in errors.items())
        print(f"{name}: D={D} H={H} N={N} L={L} bias={int(problem.b is not None)} "
              f"h0={int(problem.h0 is not None)} {figures} {'PASS' if ok else 'FAIL'}")
    print(f"{len(args.goldens) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
