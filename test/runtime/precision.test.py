#!/usr/bin/env python3
"""Checks runtime/gru_pack.h's conversions (compiled as precision.test.c) bit for bit against
NumPy's float16 cast (f16), MLX's bfloat16 cast (bf16) and tools/gru_precision.py's int8 rule,
on chosen edge values and a million random float32 bit patterns (every class: zeros,
subnormals, normals, infinities, NaNs)."""
import os
import struct
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from gru_precision import int8_quantize, to_bf16_bits  # noqa: E402

exe, work = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(16)
edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 65504.0, 65519.996, 65520.0,
                  -65520.0, 1e9, 2.0**-14, 2.0**-14 * (1 - 2.0**-12), 2.0**-24, 2.0**-25,
                  2.0**-25 * 1.0000001, 3 * 2.0**-25, 5 * 2.0**-25, 2.0**-26, 1e-8, 1e-45,
                  1 + 2.0**-11, 1 + 3 * 2.0**-11, 1 + 2.0**-8, 1 + 3 * 2.0**-8, 1 + 2.0**-8 + 2.0**-20,
                  3.4028235e38, -3.4028235e38, 1.1754944e-38, 0.1, -0.3, 1 / 3],
                 dtype=np.float32)
bits = rng.integers(0, 2**32, size=1_000_000, dtype=np.uint64).astype(np.uint32)
v = np.concatenate([edges, bits.view(np.float32)])
v = np.concatenate([v, (-0.5 + rng.random(100_000)).astype(np.float32) * 2.0**rng.integers(-30, 20, 100_000)]).astype(np.float32)

R, K = 9, 40
W = ((rng.random((R, K)) - 0.5) * 2.0**rng.integers(-20, 20, (R, 1))).astype(np.float32)
W[1] = 0                                                       # a row of zeros: scale 1
W[2] = np.arange(K, dtype=np.float32) - 20.5                   # max 20.5: halves after scaling
W[3] = 0; W[3, 7] = -3.0                                       # the max is negative
W[4] = (np.arange(K, dtype=np.float32) % 11 - 5) + 0.5         # ties at scale 1 (max 5.5*... )
W[5] = (rng.random(K).astype(np.float32) - 0.5) * np.float32(1e-40)  # subnormal weights
W[6, :] = 127.0; W[6, ::2] = -126.5                            # scale 1: exact ties
with open(os.path.join(work, "in.bin"), "wb") as f:
    f.write(struct.pack("<i", v.size)); f.write(v.astype("<f4").tobytes())
    f.write(struct.pack("<2i", R, K)); f.write(W.astype("<f4").tobytes())
subprocess.run([exe, os.path.join(work, "in.bin"), os.path.join(work, "out.bin")], check=True)
out = open(os.path.join(work, "out.bin"), "rb").read()
n = v.size
f16 = np.frombuffer(out, "<u2", n, 0)
bf16 = np.frombuffer(out, "<u2", n, 2 * n)
status, = struct.unpack_from("<i", out, 4 * n)
scale = np.frombuffer(out, "<f4", R, 4 * n + 4)
q = np.frombuffer(out, "i1", R * K, 4 * n + 4 + 4 * R).reshape(R, K)
refused, = struct.unpack_from("<i", out, 4 * n + 4 + 4 * R + R * K)
failures = 0


def compare(name, got, want_bits, want_nan):
    """Bits equal, except NaNs: a NaN of the same sign, quiet."""
    global failures
    nan_ok = np.array_equal(want_nan, (got & 0x7FFF) > {"f16": 0x7C00, "bf16": 0x7F80}[name])
    same = (got == want_bits) | want_nan
    # A NaN keeps its sign (MLX writes every NaN as +0x7fc0, so the input is the reference).
    sign_ok = np.array_equal((got >> 15)[want_nan], np.signbit(v)[want_nan].astype(got.dtype))
    bad = np.flatnonzero(~same)
    ok = nan_ok and bad.size == 0 and sign_ok
    failures += not ok
    detail = "" if ok else f" first mismatch {v[bad[0]]!r}: {got[bad[0]]:#06x} want {want_bits[bad[0]]:#06x}" if bad.size else " (NaNs)"
    print(f"{name}: {n} values, {int(want_nan.sum())} NaN, {bad.size} mismatches {'PASS' if ok else 'FAIL'}{detail}")


with np.errstate(over="ignore"):
    compare("f16", f16, v.astype(np.float16).view(np.uint16), np.isnan(v))
import mlx.core as mx  # noqa: E402
mlx_bf16 = np.array(mx.array(v).astype(mx.bfloat16).view(mx.uint16))
compare("bf16", bf16, mlx_bf16, np.isnan(v))
# MLX agrees with the NumPy rule tools/gru_precision.py states (the one the header documents).
assert np.array_equal(to_bf16_bits(v)[~np.isnan(v)], mlx_bf16[~np.isnan(v)])

want_q, want_scale = int8_quantize(W)
ok = np.array_equal(scale.view(np.uint32), want_scale.view(np.uint32)) and np.array_equal(q, want_q)
failures += not ok
print(f"int8: {R} rows of {K}, scales and q {'equal' if ok else 'DIFFER'} to NumPy "
      f"(zero row scale {scale[1]}, clamped {int((np.abs(W[5] / scale[5]) > 127).sum())}) "
      f"{'PASS' if ok else 'FAIL'}")
ok = status == -1 and refused == -1
failures += not ok
print(f"non-finite weights refused: {'PASS' if ok else 'FAIL'}")
sys.exit(1 if failures else 0)
