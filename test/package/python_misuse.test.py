"""python/gru_gen misused (python_misuse.test). Each case failed before its fix:
- a library compiled again into the same directory, other sizes, in the same process: dlopen gave
  back the first library under the new header's shapes (H 8 -> 16: off by 0.73, or worse);
- a header given with a library of another spec was believed;
- a library of another target (arm64-linux on x86-64) was "No such file or directory";
- lengths 2.7 ran as 2, 2**32 + 3 as 3, True as 1 (converted to int32 unchecked);
- step(x_t, None) and a prefix None were AttributeErrors;
- compile_library(embed_weights=True) without weights= was ignored, and had no weights_prefix;
- close() in one thread during a run in another destroyed the model under it (a segfault), and
  calls on one model from several threads overlapped, which the C ABI forbids."""
import argparse
import os
import threading
import time

import mlx.core as mx
import mlx.nn as nn
import numpy as np

import gru_gen
from loader_checks import compare, layer, refuses, summary

ap = argparse.ArgumentParser()
ap.add_argument("--gru-gen", required=True)
ap.add_argument("--work", required=True)
args = ap.parse_args()

rng = np.random.default_rng(5)

# The same name and directory, compiled three times in one process.
D, N, L = 4, 1, 6
out = os.path.join(args.work, "same")
for H, what in ((8, "recompiled H=8"), (16, "recompiled H=16"), (8, "recompiled H=8 again")):
    lib = gru_gen.compile_library(out, name="r", input_size=D, hidden_size=H, batch=N,
                                  gru_gen=args.gru_gen)
    gru, p = layer(D, H)
    x = rng.standard_normal((N, L, D)).astype(np.float32)
    with lib.create(*p) as model:
        compare(what, model.run(x), gru(mx.array(x)))

# A header of another spec beside a library: the H=16 library, the H=8 header.
other = os.path.join(args.work, "other")
gru_gen.compile_library(other, name="r", input_size=D, hidden_size=16, batch=N,
                        gru_gen=args.gru_gen)
refuses("header of another spec",
        lambda: gru_gen.Library(os.path.join(other, "host", "libr.so"),
                                header=os.path.join(out, "r.h")))

# A library of another processor: dlopen's own words were "cannot open shared object file: No
# such file or directory", of a file that is there.
refuses("arm64-linux library",
        lambda: gru_gen.compile_library(os.path.join(args.work, "arm"), name="arm", input_size=3,
                                        hidden_size=4, target="arm64-linux", gru_gen=args.gru_gen),
        errors=OSError)

D, H, N, L = 3, 4, 2, 5
lib = gru_gen.compile_library(os.path.join(args.work, "m"), name="m", input_size=D,
                              hidden_size=H, batch=N, gru_gen=args.gru_gen)
gru, p = layer(D, H)
x = rng.standard_normal((N, L, D)).astype(np.float32)
with lib.create(*p) as model:
    for lengths in ([2.7, 5], np.array([2**32 + 3, 5], dtype=np.int64), [True, True]):
        refuses("lengths %s" % list(np.asarray(lengths).tolist()),
                lambda: model.run(x, lengths=lengths))
    # Row 0 of length 2: its outputs past step 2 are zeros, as in a packed sequence.
    want = np.array(gru(mx.array(x)))
    want[0, 2:] = 0
    want[0, :2] = np.array(gru(mx.array(x[:1, :2])))[0]
    compare("lengths [2, 5]", model.run(x, lengths=[2, 5]), want)
    refuses("step(x_t, None)", lambda: model.step(np.ascontiguousarray(x[:, 0]), None))
refuses("create_from_safetensors(path, None)",
        lambda: lib.create_from_safetensors(os.path.join(args.work, "w.safetensors"), None))

# embed_weights without weights was ignored (a library without weights); weights_prefix was
# missing, so the README's model (a GRU saved inside a model, under "gru.") could not be compiled.
refuses("embed_weights without weights",
        lambda: gru_gen.compile_library(os.path.join(args.work, "e"), name="e", input_size=3,
                                        hidden_size=4, embed_weights=True, gru_gen=args.gru_gen))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(5, 6)
        self.head = nn.Linear(6, 2)


net = Net()
mx.eval(net.parameters())
saved = os.path.join(args.work, "net.safetensors")
net.save_weights(saved)
lib = gru_gen.compile_library(os.path.join(args.work, "net"), name="net", weights=saved,
                              weights_prefix="gru.", embed_weights=True, gru_gen=args.gru_gen)
x = rng.standard_normal((1, 7, 5)).astype(np.float32)
with lib.create_default() as model:
    compare("weights_prefix gru., embedded", model.run(x), net.gru(mx.array(x)))

# One model, several threads; then close() while another thread runs a long sequence.
D, H, N, L = 64, 256, 2, 8000
lib = gru_gen.compile_library(os.path.join(args.work, "t"), name="t", input_size=D,
                              hidden_size=H, batch=N, gru_gen=args.gru_gen)
gru, p = layer(D, H)
x = (0.5 * rng.standard_normal((N, L, D))).astype(np.float32)
want = np.array(gru(mx.array(x)))
model = lib.create(*p)
results = []
threads = [threading.Thread(target=lambda: results.append(model.run(x))) for _ in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
compare("threads on one model", np.stack(results), np.stack([want] * 3))
results = []
runner = threading.Thread(target=lambda: results.append(model.run(x)))
runner.start()
time.sleep(0.05)
model.close()
runner.join()
compare("close during a run", results[0] if results else np.zeros(0), want)
refuses("after close", lambda: model.run(x))

summary()
