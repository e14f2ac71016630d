"""Drives python/gru_gen against mlx.nn.GRU (python_loader.test)."""
import argparse
import os

import mlx.core as mx
import mlx.nn as nn
import numpy as np

import gru_gen

ap = argparse.ArgumentParser()
ap.add_argument("--gru-gen", required=True)
ap.add_argument("--work", required=True)
args = ap.parse_args()

rng = np.random.default_rng(17)
failed = 0


def compare(what, got, want):
    global failed
    err = float(np.max(np.abs(got - np.asarray(want))))
    ok = got.shape == np.asarray(want).shape and err <= 1e-5
    failed += not ok
    print("%s: max |lib - mlx| = %.3g %s" % (what, err, "PASS" if ok else "FAIL"))


def reference(D, H, bias):
    gru = nn.GRU(D, H, bias=bias)
    mx.eval(gru.parameters())
    p = {k: np.array(v, dtype=np.float32) for k, v in gru.parameters().items()}
    return gru, p


D, H, N, L = 7, 13, 3, 5
lib = gru_gen.compile_library(os.path.join(args.work, "g"), name="g", input_size=D,
                              hidden_size=H, batch=N, gru_gen=args.gru_gen)
assert (lib.input_size, lib.hidden_size, lib.batch, lib.has_bias) == (D, H, N, True)
gru, p = reference(D, H, True)
x = rng.standard_normal((N, L, D)).astype(np.float32)
h0 = rng.standard_normal((N, H)).astype(np.float32)
with lib.create(p["Wx"], p["Wh"], p["b"], p["bhn"]) as model:
    compare("run zeros", model.run(x), gru(mx.array(x)))
    compare("run h0", model.run(x, h0), gru(mx.array(x), mx.array(h0)))
    h = h0
    for t in range(L):
        h = model.step(np.ascontiguousarray(x[:, t]), h)
    compare("step", h, gru(mx.array(x), mx.array(h0))[:, -1])

nb = gru_gen.compile_library(os.path.join(args.work, "nb"), name="nb", input_size=D,
                             hidden_size=H, batch=1, bias=False, gru_gen=args.gru_gen)
gru_nb, q = reference(D, H, False)
x1 = rng.standard_normal((1, 64, D)).astype(np.float32)
with nb.create(q["Wx"], q["Wh"]) as model:
    compare("nobias run", model.run(x1), gru_nb(mx.array(x1)))

model = lib.create(p["Wx"], p["Wh"], p["b"], p["bhn"])
for bad in (np.zeros((N, L, D + 1), np.float32), np.zeros((N, L, D), np.float64)):
    try:
        model.run(bad)
        failed += 1
    except ValueError as e:
        print("ValueError:", e)
try:
    lib.create_from_safetensors(os.path.join(args.work, "missing.safetensors"))
    failed += 1
except gru_gen.GruError as e:
    assert e.last_error and e.status == 3 and e.status_text == "I/O error", e
    print("GruError:", e)
model.close()
try:
    model.run(x)
    failed += 1
except ValueError as e:
    print("closed: ValueError:", e)
print("all passed" if failed == 0 else "%d failed" % failed)
