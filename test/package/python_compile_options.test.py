"""compile_library's threads_max=, weights_precision= and tuning_record=
(python_compile_options.test): each is passed to gru-gen, and the library it loads is checked for
what the flag does: a team of threads through create(threads=), the weights' precision against
mlx.nn.GRU within that precision's bound, a tuning record's library byte for byte."""
import argparse
import filecmp
import os
import subprocess

import mlx.core as mx
import numpy as np

import gru_gen
from loader_checks import check, compare, layer, refuses, summary

ap = argparse.ArgumentParser()
ap.add_argument("--gru-gen", required=True)
ap.add_argument("--work", required=True)
args = ap.parse_args()

rng = np.random.default_rng(23)


def compile_library(sub, **kwargs):
    return gru_gen.compile_library(os.path.join(args.work, sub), gru_gen=args.gru_gen, **kwargs)


# ---- threads_max: team kernels, which create(threads=T) runs (H=64: whole weight panels for
# each of 2 members).
D, H, N, L = 24, 64, 3, 9
lib = compile_library("t", name="t", input_size=D, hidden_size=H, batch=N, threads_max=2)
gru, p = layer(D, H)
x = rng.standard_normal((N, L, D)).astype(np.float32)
want = gru(mx.array(x))
with lib.create(*p) as one, lib.create(*p, threads=2) as team:
    print("threads=2: model.threads %d" % team.threads)
    out = team.run(x)
    compare("threads=2 run", out, want)
    check("threads=2 run == one thread", out.tobytes() == one.run(x).tobytes())
    h = np.zeros((N, H), dtype=np.float32)
    for t in range(L):
        h = team.step(np.ascontiguousarray(x[:, t]), h)
    compare("threads=2 step", h, np.array(want)[:, -1])
saved = os.path.join(args.work, "t.safetensors")
gru.save_weights(saved)
with lib.create_from_safetensors(saved, threads=2) as team:
    print("threads=2 create_from_safetensors: model.threads %d" % team.threads)
with lib.create(*p, threads=0) as chosen:
    print("threads=0 (the library's choice): model.threads %d" % chosen.threads)
refuses("threads=3", lambda: lib.create(*p, threads=3))
plain = compile_library("u", name="u", input_size=D, hidden_size=H, batch=N)
refuses("threads=2 without threads_max", lambda: plain.create(*p, threads=2))
refuses("threads=True", lambda: lib.create(*p, threads=True))
refuses("threads_max=2.5", lambda: compile_library("e", name="e", input_size=D, hidden_size=H,
                                                   threads_max=2.5))
refuses("threads_max=65", lambda: compile_library("e", name="e", input_size=D, hidden_size=H,
                                                  threads_max=65))

# ---- weights_precision: the bounds of test/e2e/precision.test (README, Reduced-precision
# weights).
D, H, N, L = 16, 64, 4, 9
gru, p = layer(D, H)
x = rng.standard_normal((N, L, D)).astype(np.float32)
want = gru(mx.array(x))
for precision, bound in (("f16", 2e-3), ("bf16", 1.5e-2), ("int8", 2.5e-2)):
    lib = compile_library("p_" + precision, name="p", input_size=D, hidden_size=H, batch=N,
                          weights_precision=precision)
    print("%s: lib.weights_precision %s" % (precision, lib.weights_precision))
    with lib.create(*p) as model:
        compare(precision + " run", model.run(x), want, bound)
spec_dir = os.path.join(args.work, "spec")
subprocess.run([args.gru_gen, "-q", "--input-size", "16", "--hidden-size", "64", "--batch", "4",
                "--name", "tr", "--emit", "mlir", "-o", spec_dir], check=True)
spec = os.path.join(spec_dir, "tr.mlir")
refuses("f16 with a spec file", lambda: compile_library("e", name="tr", spec=spec,
                                                        weights_precision="f16"))
refuses("weights_precision='f8'", lambda: compile_library("e", name="e", input_size=D,
                                                          hidden_size=H, weights_precision="f8"))
refuses("weights_precision=16", lambda: compile_library("e", name="e", input_size=D,
                                                        hidden_size=H, weights_precision=16))

# ---- tuning_record: a record --tune wrote, replayed: the same library, byte for byte.
tuned = os.path.join(args.work, "tuned")
subprocess.run([args.gru_gen, "-q", "--shared", "--input-size", "16", "--hidden-size", "64",
                "--batch", "4", "--name", "tr", "--tune", "--tune-seconds", "0.5", "-o", tuned],
               check=True)
record = os.path.join(tuned, "host", "tr.tuning.json")
lib = compile_library("replayed", name="tr", input_size=16, hidden_size=64, batch=4,
                      tuning_record=record)
for f in ("libtr.so", "libtr.a"):
    check("tuning_record: %s as tuned" % f,
          filecmp.cmp(os.path.join(tuned, "host", f), os.path.join(os.path.dirname(lib.path), f),
                      shallow=False))
with lib.create(*p) as model:
    compare("tuning_record run", model.run(x), want)
lib = compile_library("replayed_spec", name="tr", spec=spec, tuning_record=record)
check("tuning_record with a spec file: libtr.so as tuned",
      filecmp.cmp(os.path.join(tuned, "host", "libtr.so"), lib.path, shallow=False))
refuses("tuning_record of another spec",
        lambda: compile_library("e", name="tr", input_size=16, hidden_size=64, batch=2,
                                tuning_record=record))
refuses("tuning_record=3", lambda: compile_library("e", name="e", input_size=D, hidden_size=H,
                                                   tuning_record=3))
check("nothing written for a refused call", not os.path.exists(os.path.join(args.work, "e")))

summary()
