#!/usr/bin/env python3
"""Conformance against mlx.nn.GRU on shapes nobody chose in advance.

Draws random specs (D, H, N, L, bias, initial state) from a fresh seed each run, asks MLX for the
answer, generates each library with gru-gen, compiles test/e2e/gru_check.c against it and checks
run and step x L within 1e-5. The seed is printed; GRU_GEN_SEED=<seed> replays a run.
"""
import argparse
import os
import random
import shlex
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from gru_golden import mlx_gru, random_problem, write_golden  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gru-gen", required=True)
    ap.add_argument("--cc", required=True, help="C compiler command with flags")
    ap.add_argument("--syslibs", required=True)
    ap.add_argument("--e2e", required=True, help="directory of gru_check.c")
    ap.add_argument("--work", required=True)
    ap.add_argument("--count", type=int, default=3)
    args = ap.parse_args()

    seed = int(os.environ.get("GRU_GEN_SEED", random.SystemRandom().randrange(2**31)))
    print(f"seed {seed}")
    rng = np.random.default_rng(seed)
    os.makedirs(args.work, exist_ok=True)
    failures = 0
    for i in range(args.count):
        D, H = int(rng.integers(1, 72)), int(rng.integers(1, 72))
        N, L = int(rng.integers(1, 6)), int(rng.integers(1, 90))
        bias, with_h0 = bool(rng.integers(0, 2)), bool(rng.integers(0, 2))
        name = f"rs{i}"
        out = os.path.join(args.work, name)
        problem = random_problem(rng, D, H, N, L, bias, with_h0)
        golden = os.path.join(args.work, f"{name}.gold")
        write_golden(golden, problem, mlx_gru(problem))
        gen = [args.gru_gen, f"--input-size={D}", f"--hidden-size={H}", f"--batch={N}",
               f"--name={name}", "-o", out] + ([] if bias else ["--no-bias"])
        subprocess.run(gen, check=True)
        exe = os.path.join(out, "check")
        subprocess.run(shlex.split(args.cc) + [f"-DLIB={name}", f"-DLIB_UPPER={name.upper()}",
                        f"-I{out}", os.path.join(args.e2e, "gru_check.c"),
                        os.path.join(out, "host", f"lib{name}.a")] + shlex.split(args.syslibs)
                       + ["-o", exe], check=True)
        result = subprocess.run([exe, golden], capture_output=True, text=True)
        print(result.stdout.splitlines()[0] if result.stdout else result.stderr.strip())
        failures += result.returncode != 0
    print(f"{args.count - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
