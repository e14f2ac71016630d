#!/usr/bin/env python3
"""Writes defective safetensors files into OUTDIR, one per defect, each derived from a valid
MLX-written GRU file (D=7, H=13, bias), and files of other formats (zip, pickle, ONNX, ...). Every file must be refused with a clear reason, by
gru-gen --weights and by <name>_create_from_safetensors alike; weights.test checks each one.
    make_bad_files.py GOOD.safetensors OUTDIR
"""
import io
import json
import os
import pickle
import struct
import sys
import zipfile

# The safetensors writer the tools share.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import safetensors_io  # noqa: E402


read = safetensors_io.read_raw  # a valid file: name -> (dtype, shape, bytes)
layout = safetensors_io.layout
pack = safetensors_io.pack


def file_of(header, body):
    return pack(safetensors_io.header_text(header, canonical=False), body)


def main():
    good, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    t = read(good)
    files = {}
    h, body = layout(t)
    text = safetensors_io.header_text(h, canonical=False)
    whole = pack(text, body)

    files["empty"] = b""
    files["truncated"] = whole[:-10]
    files["header_beyond_file"] = pack(text, body, length=len(text) + len(body) + 1)
    files["oversized_header"] = pack(text, body, length=1 << 40)
    files["not_json"] = pack(b"{\"Wx\": {\"dtype\": \"F32\",", body)
    files["not_object"] = pack(b"[1, 2, 3]", b"")
    files["two_values"] = pack(text + b" {}", body)
    # A raw line break inside a key: JSON allows control characters in strings only escaped.
    files["control_char"] = pack(text.replace(b'"Wx"', b'"W\nx"', 1), body)

    bad = dict(h)
    bad["Wx"] = dict(h["Wx"], dtype="I32")
    files["wrong_dtype"] = file_of(bad, body)

    # Same number of values, shaped [D][3H] instead of [3H][D].
    reshaped = dict(t)
    reshaped["Wx"] = ("F32", [7, 39], t["Wx"][2])
    files["wrong_shape"] = file_of(*layout(reshaped))

    bad = dict(h)
    bad["Wx"] = dict(h["Wx"], shape=[-39, 7])
    files["negative_shape"] = file_of(bad, body)

    bad = dict(h)
    lo, hi = h["bhn"]["data_offsets"]
    bad["bhn"] = dict(h["bhn"], data_offsets=[lo, hi - 4])
    files["short_offsets"] = file_of(bad, body)

    # b and bhn swap ranges with the start of Wh: two tensors claim the same bytes.
    bad = dict(h)
    lo, hi = h["Wh"]["data_offsets"]
    size_b = h["b"]["data_offsets"][1] - h["b"]["data_offsets"][0]
    bad["b"] = dict(h["b"], data_offsets=[lo, lo + size_b])
    files["overlapping_offsets"] = file_of(bad, body)

    files["gap"] = file_of(h, body + b"\0" * 4)

    for name in ("Wh", "bhn"):
        fewer = {k: v for k, v in t.items() if k != name}
        files[f"missing_{name}"] = file_of(*layout(fewer))

    more = dict(t)
    more["Wq"] = ("F32", [2], b"\0" * 8)
    files["extra_key"] = file_of(*layout(more))

    # Raw JSON: a key twice.
    h2, body2 = layout(t)
    text2 = json.dumps(h2)
    dup = text2[:-1] + ', "Wx": ' + json.dumps(h2["Wx"]) + "}"
    files["duplicate_key"] = pack(dup.encode(), body2)

    files["bad_metadata"] = file_of(*layout(t, metadata=5))

    # A valid GRU, but D=8: refused by a D=7 library.
    wider = dict(t)
    wider["Wx"] = ("F32", [39, 8], t["Wx"][2] + b"\0" * (39 * 4))
    files["other_shape_gru"] = file_of(*layout(wider))

    # Valid files, with a NaN in Wx and an infinity in Wh: float32 stores them (MLX computes with
    # them), int8 and w8a8 cannot (their rows are scaled by their largest magnitude).
    nan_wx = dict(t)
    nan_wx["Wx"] = ("F32", t["Wx"][1], struct.pack("<f", float("nan")) + t["Wx"][2][4:])
    files["nan_wx"] = file_of(*layout(nan_wx))
    inf_wh = dict(t)
    inf_wh["Wh"] = ("F32", t["Wh"][1], t["Wh"][2][:8] + struct.pack("<f", float("-inf")) + t["Wh"][2][12:])
    files["inf_wh"] = file_of(*layout(inf_wh))

    for name, data in files.items():
        with open(os.path.join(out, name + ".safetensors"), "wb") as f:
            f.write(data)

    # Files of other formats, named as a user might pass them: each must be named for what it is.
    # (An .npz written by MLX itself is checked in: test/weights/mlx_two_layers.npz.)
    state = {"weight_ih_l0": [0.5] * 4}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:  # torch.save's layout: archive/data.pkl first
        z.writestr("archive/data.pkl", pickle.dumps(state, protocol=2))
        z.writestr("archive/version", "3\n")
    foreign = {
        "torch_save.pt": buffer.getvalue(),
        "legacy_torch_save.pt": pickle.dumps(state, protocol=2),
        "other.zip": zip_of("weights.bin", b"\0" * 16),
        # A ModelProto: ir_version 8, producer_name "pytorch".
        "model.onnx": b"\x08\x08\x12\x07pytorch",
        "array.npy": npy_of_one_float(),
        "keras.h5": b"\x89HDF\r\n\x1a\n" + b"\0" * 64,
        "config.json": b'{"hidden_size": 64, "input_size": 40}\n',
    }
    for name, data in foreign.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


def npy_of_one_float():
    """np.save of a float32 [1] array, without numpy: NPY 1.0, header padded to 64 bytes."""
    text = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }"
    text += b" " * (-(10 + len(text) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + b"\0" * 4


def zip_of(name, data):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(name, data)
    return buffer.getvalue()


if __name__ == "__main__":
    main()
