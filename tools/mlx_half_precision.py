#!/usr/bin/env python3
"""gru-gen's f16/bf16 weights against MLX run in float16/bfloat16, on MLX golden files.

Both are measured against mlx.nn.GRU in float32 (the golden's problem, recomputed: it must give
the golden's stored output within 1e-5, else the golden is stale and nothing is reported):

  mlx <dtype>   mlx.nn.GRU with its parameters, x and h0 cast to mx.float16 or mx.bfloat16
                (Module.set_dtype, array.astype): the whole computation in that dtype, as an
                MLX user runs a half-precision model; the output cast back to float32;
  gru-gen <p>   a gru-gen library of --weights-precision f16 or bf16 for the golden's shape
                (host target), given the golden's float32 weights at create: weights rounded
                once, arithmetic, x and the states in float32 (run and step x L through the C
                ABI, test/e2e/gru_check.c; the larger of the two errors).

    mlx_half_precision.py --gru-gen build/bin/gru-gen [--cc "cc ..."] GOLD... [--check] [--markdown]
    mlx_half_precision.py --gru-gen build/bin/gru-gen --kws DIR   # DIR: examples/kws/train_mlx.py's

--kws: the trained keyword spotter instead (examples/kws: GRU(40, 64), 8 held-out clips of 50
frames): each one's largest distance of the last states from their float64 answer with the
float32 weights (exact_h.f64) and its accuracy, for MLX in float32, float16 and bfloat16 and
for gru-gen's f16 and bf16 libraries (the weights embedded, examples/kws/app.c).

Prints one line per golden: the max abs error of each against float32 MLX, and the ratio
(MLX's error / gru-gen's). --check: exit 1 with a FAIL line per golden and dtype where gru-gen's
error is not below MLX's own in that dtype. Without --gru-gen, the MLX columns only.
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gru_golden import mlx_gru, mlx_layer, read_golden  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DTYPES = (("f16", "float16"), ("bf16", "bfloat16"))  # gru-gen's precision, MLX's dtype
STALE = 1e-5  # float32 MLX now against the golden's stored output


def mlx_half(problem, dtype_name):
    """mlx.nn.GRU's output [N][L][H] computed in `dtype_name` ("float16", "bfloat16"), as
    float32."""
    import mlx.core as mx

    dtype = getattr(mx, dtype_name)
    gru = mlx_layer(problem)
    gru.set_dtype(dtype)
    hidden = None if problem.h0 is None else mx.array(problem.h0).astype(dtype)
    out = gru(mx.array(problem.x).astype(dtype), hidden=hidden)
    if out.dtype != dtype:
        raise SystemExit(f"mlx_half_precision: MLX computed in {out.dtype}, not {dtype}")
    return np.array(out.astype(mx.float32), dtype=np.float32)


def gru_gen_error(gru_gen, cc, work, path, problem, precision):
    """max(run, step x L) abs error of a gru-gen library of `precision` against the golden's
    output, from test/e2e/gru_check.c's report."""
    D, H, N, _ = problem.shape
    bias = problem.b is not None
    name = f"h{precision}_d{D}_h{H}_n{N}_{'b' if bias else 'nb'}"
    out = os.path.join(work, name)
    if not os.path.isdir(out):
        subprocess.run([gru_gen, "-q", "--input-size", str(D), "--hidden-size", str(H),
                        "--batch", str(N), "--weights-precision", precision, "--name", name,
                        "-o", out] + ([] if bias else ["--no-bias"]), check=True)
        subprocess.run(shlex.split(cc) + ["-std=c11", "-O2", "-DGRU_TOLERANCE=1e30f",
                        f"-DLIB={name}", f"-DLIB_UPPER={name.upper()}", "-I", out,
                        os.path.join(ROOT, "test", "e2e", "gru_check.c"),
                        os.path.join(out, "host", f"lib{name}.a"), "-lpthread", "-ldl", "-lm",
                        "-o", os.path.join(out, "check")], check=True)
    report = subprocess.run([os.path.join(out, "check"), path], capture_output=True, text=True)
    m = re.search(r"run_err=(\S+) step_err=(\S+)", report.stdout)
    if report.returncode != 0 or not m:
        raise SystemExit(f"mlx_half_precision: {name} on {path}: {report.stdout.strip()}")
    return max(float(m.group(1)), float(m.group(2)))


def kws_report(gru_gen, cc, work, d):
    """Prints the keyword spotter's rows (see --kws)."""
    import mlx.core as mx
    import mlx.nn as nn

    D, H, L, N = 40, 64, 50, 8
    x = np.fromfile(os.path.join(d, "test_x.f32"), "<f4").reshape(N, L, D)
    labels = np.fromfile(os.path.join(d, "test_labels.i32"), "<i4")
    exact = np.fromfile(os.path.join(d, "exact_h.f64"), "<f8").reshape(N, H)
    head_w = np.fromfile(os.path.join(d, "head_w.f32"), "<f4").reshape(2, H)
    head_b = np.fromfile(os.path.join(d, "head_b.f32"), "<f4")
    weights = mx.load(os.path.join(d, "kws.safetensors"))
    for dtype_name in ("float32",) + tuple(name for _, name in DTYPES):
        dtype = getattr(mx, dtype_name)
        gru = nn.GRU(D, H)
        gru.update({k: weights["gru." + k] for k in ("Wx", "Wh", "b", "bhn")})
        gru.set_dtype(dtype)
        h = np.array(gru(mx.array(x).astype(dtype))[:, -1, :].astype(mx.float32))
        correct = int(np.sum(np.argmax(h @ head_w.T + head_b, axis=1) == labels))
        print(f"kws: mlx {dtype_name}: max |h - exact| {np.max(np.abs(h - exact)):.3g}, "
              f"accuracy {correct}/{N}")
    if not gru_gen:
        return
    for precision, _ in DTYPES:
        out = os.path.join(work, f"kws_{precision}")
        subprocess.run([gru_gen, "-q", "--weights", os.path.join(d, "kws.safetensors"),
                        "--weights-prefix", "gru.", "--embed-weights", "--batch", str(N),
                        "--weights-precision", precision, "--name", "kws", "-o", out],
                       check=True)
        app = os.path.join(out, "app")
        subprocess.run(shlex.split(cc) + ["-std=c11", "-O2", "-I", out,
                                          os.path.join(ROOT, "examples", "kws", "app.c"),
                                          os.path.join(out, "host", "libkws.a"), "-lpthread",
                                          "-ldl", "-lm", "-o", app], check=True)
        # app.c's verdict is about float32 (it exits 1 past MLX's float32 error): its figures only.
        report = subprocess.run([app, d], capture_output=True, text=True).stdout
        acc = re.search(r"accuracy (\d+)/(\d+)", report)
        err = re.search(r"max \|run - exact\| += (\S+)", report)
        if not acc or not err:
            raise SystemExit(f"mlx_half_precision: kws {precision}: {report.strip()}")
        print(f"kws: gru-gen {precision}: max |h - exact| {float(err.group(1)):.3g}, "
              f"accuracy {acc.group(1)}/{acc.group(2)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("goldens", nargs="*")
    ap.add_argument("--kws", metavar="DIR", help="the trained keyword spotter in DIR instead")
    ap.add_argument("--gru-gen", help="the gru-gen executable (else only MLX's errors)")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"),
                    help="the C compiler and its flags for the check program (default $CC, cc)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless gru-gen's error is below MLX's in each dtype")
    ap.add_argument("--markdown", action="store_true", help="a Markdown table")
    args = ap.parse_args()
    if args.check and not args.gru_gen:
        raise SystemExit("mlx_half_precision: --check needs --gru-gen")
    work = tempfile.mkdtemp(prefix="mlx_half_precision.")
    if args.kws:
        try:
            kws_report(args.gru_gen, args.cc, work, args.kws)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    if not args.goldens:
        raise SystemExit("mlx_half_precision: no golden files (or --kws DIR)")
    rows, failures = [], []
    try:
        for path in args.goldens:
            problem, golden_out = read_golden(path)
            ref = mlx_gru(problem)
            stale = float(np.max(np.abs(ref - golden_out)))
            if not stale <= STALE:
                raise SystemExit(f"mlx_half_precision: {path}: float32 MLX is {stale:.3g} from "
                                 f"the golden's output (more than {STALE})")
            row = {"golden": os.path.basename(path)}
            for precision, dtype_name in DTYPES:
                mlx_err = float(np.max(np.abs(mlx_half(problem, dtype_name) - ref)))
                row[f"mlx_{precision}"] = mlx_err
                if args.gru_gen:
                    ours = gru_gen_error(args.gru_gen, args.cc, work, path, problem, precision)
                    row[f"gru_{precision}"] = ours
                    if not ours < mlx_err:
                        failures.append(f"FAIL: {row['golden']}: gru-gen {precision} {ours:.3g} "
                                        f"is not below MLX {dtype_name} {mlx_err:.3g}")
            rows.append(row)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def cells(row):
        out = []
        for precision, _ in DTYPES:
            mlx_err = row[f"mlx_{precision}"]
            if args.gru_gen:
                ours = row[f"gru_{precision}"]
                ratio = f"{mlx_err / ours:.1f}" if ours > 0 else "inf"
                out += [f"{mlx_err:.2e}", f"{ours:.2e}", ratio]
            else:
                out.append(f"{mlx_err:.2e}")
        return out

    heads = []
    for precision, dtype_name in DTYPES:
        heads.append(f"mlx {dtype_name}")
        if args.gru_gen:
            heads += [f"gru-gen {precision}", "x"]
    if args.markdown:
        print("| golden | " + " | ".join(heads) + " |")
        print("| -- | " + " | ".join("--:" for _ in heads) + " |")
        for row in rows:
            print(f"| {row['golden']} | " + " | ".join(cells(row)) + " |")
    else:
        for row in rows:
            print(row["golden"] + ": " + ", ".join(f"{h} {c}" for h, c in zip(heads, cells(row))))
    if rows:
        maxima = {k: max(r[k] for r in rows) for k in rows[0] if k != "golden"}
        print("max: " + ", ".join(f"{k} {v:.2e}" for k, v in maxima.items()))
    for line in failures:
        print(line)
    if args.check:
        print("FAILED" if failures else "PASS")
    return 1 if args.check and failures else 0


if __name__ == "__main__":
    sys.exit(main())
