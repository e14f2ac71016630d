"""The one safetensors writer of gru-gen's Python tools: tools/gru-import and the writers of test
files (tools/make_weight_files.py, test/weights/make_bad_files.py, test/import/make_cases.py).

A file is an 8-byte little-endian header length, a JSON header (name -> dtype, shape and the
[begin, end) of its bytes in the data section, plus an optional "__metadata__"), then the data.
Here tensors are laid end to end in name order. Two header styles:
- canonical: compact JSON padded with blanks to a multiple of 8 bytes, as the safetensors
  library (and MLX) write it;
- plain: json.dumps' default spacing, unpadded, as a hand-written file might be.
numpy is imported only where arrays are converted, so the byte-level writers run without it.
"""
import json
import os
import struct
import tempfile


def tensor_bytes(values, dtype="F32"):
    """The little-endian bytes of float32 `values` stored as F32, F16 or BF16. F16 and BF16
    must hold the values exactly (numpy has no bfloat16: BF16 is the high half of a float32)."""
    import numpy as np

    a = np.asarray(values, dtype=np.float32)
    if dtype == "F32":
        return np.ascontiguousarray(a, dtype="<f4").tobytes()
    if dtype == "F16":
        assert np.array_equal(a.astype(np.float16).astype(np.float32), a, equal_nan=True), \
            "F16 values must be exact"
        return a.astype("<f2").tobytes()
    assert dtype == "BF16", dtype
    bits = a.astype("<f4").view("<u4")
    assert not np.any(bits & 0xFFFF), "BF16 values must be exact"
    return (bits >> 16).astype("<u2").tobytes()


def arrays(tensors, dtype="F32"):
    """name -> float32 array  =>  name -> (dtype, shape, bytes), for layout and encode."""
    import numpy as np

    return {name: (dtype, list(np.shape(a)), tensor_bytes(a, dtype)) for name, a in tensors.items()}


def layout(tensors, metadata=None):
    """The header dict and data section of `tensors` (name -> (dtype, shape, bytes)), laid end
    to end in name order; "__metadata__" first when `metadata` is given."""
    header, blobs, at = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [at, at + len(raw)]}
        blobs.append(raw)
        at += len(raw)
    return header, b"".join(blobs)


def header_text(header, canonical=True):
    """The header as the file holds it (see the module's note on the two styles)."""
    if not canonical:
        return json.dumps(header).encode()
    text = json.dumps(header, separators=(",", ":")).encode()
    return text + b" " * (-len(text) % 8)


def pack(text, body, length=None):
    """A file from header text and data, with `length` in place of the true header length if
    given (for defective files)."""
    return struct.pack("<Q", len(text) if length is None else length) + text + body


def encode(tensors, metadata=None, canonical=True):
    """The bytes of a file holding `tensors` (name -> (dtype, shape, bytes))."""
    header, body = layout(tensors, metadata)
    return pack(header_text(header, canonical), body)


def write(path, tensors, metadata=None, canonical=True, atomic=False):
    """Writes encode(...) to `path`. atomic: through a temporary file beside it, so the file
    appears complete or not at all (mode 0644); OSError propagates."""
    data = encode(tensors, metadata, canonical)
    if not atomic:
        with open(path, "wb") as f:
            f.write(data)
        return
    fd, tmp = tempfile.mkstemp(prefix=".gru-import-", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_raw(path):
    """name -> (dtype, shape, bytes) of a well-formed file, "__metadata__" left out."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    return {k: (v["dtype"], v["shape"], body[v["data_offsets"][0]:v["data_offsets"][1]])
            for k, v in header.items() if k != "__metadata__"}
