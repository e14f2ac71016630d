"""Load a gru-gen shared library (gru-gen --shared) with ctypes and run it on NumPy arrays.

    import gru_gen
    lib = gru_gen.compile_library(out_dir, name="kws", input_size=40, hidden_size=64)
    # or: compile_library(out_dir, name="kws", weights="kws.safetensors", weights_prefix="gru.",
    #                     embed_weights=True), then lib.create_default()
    # or: lib = gru_gen.Library("out/host/libkws.so")
    with lib.create(Wx, Wh, b, bhn) as gru:        # MLX layout: Wx [3H][D], Wh [3H][H], b [3H], bhn [H]
        out = gru.run(x)                            # x [N][L][D] -> out [N][L][H], like mlx.nn.GRU
        h = gru.step(x_t, h)                        # x_t [N][D], h [N][H] -> the next state
    # A model (gru-gen --layers 2 --bidirectional): weights per layer instance, layer-major,
    # forward before backward; states [LAYERS*DIRECTIONS][N][H]; per-row lengths.
    with lib.create_layers([(Wx0, Wh0, b0, bhn0), (Wx0r, Wh0r, b0r, bhn0r), ...]) as gru:
        out, h_n = gru.run(x, lengths=[5, 3, 1], return_state=True)   # out [N][L][OUTPUT_SIZE]
    # compile_library(..., weights_precision="f16", threads_max=4, tuning_record="r.json"):
    # --weights-precision, --threads-max (then lib.create(..., threads=4): a team of 4, ABI 3)
    # and --tuning-record.

The C ABI has no getters for the shape: D, H, N, bias, layers, directions and the longest
sequence are read from the
#defines of the library's generated header, <dir>/<name>.h beside the <dir>/<target>/ directory
that holds lib<name>.so (gru-gen's output layout), or the header given. Standard library, NumPy
and a C ABI of version 2 or later (<name>_abi_version; later versions only add functions) only.

Every failing call raises GruError, carrying the status name and the library's last_error;
wrong shapes or dtypes raise ValueError before the library is called."""
import ctypes
import os
import platform
import re
import shutil
import subprocess
import tempfile
import threading

import numpy as np

__all__ = ["GruError", "Library", "Model", "compile_library", "ABI_VERSION"]

ABI_VERSION = 2  # the C ABI this module speaks; libraries of later versions (3: thread teams) too


class GruError(RuntimeError):
    """A gru_status other than GRU_OK (0): .status (the int), .status_text (<name>_status_string,
    e.g. "I/O error") and .last_error (<name>_last_error)."""

    def __init__(self, status, status_text, last_error, call):
        super().__init__("%s: %s: %s" % (call, status_text, last_error))
        self.status = status
        self.status_text = status_text
        self.last_error = last_error


def _header_defines(header, upper):
    defines = {}
    for m in re.finditer(r"^#define %s_(\w+) (-?\d+)\s*$" % re.escape(upper),
                         open(header, encoding="utf-8").read(), re.M):
        defines[m.group(1)] = int(m.group(2))
    return defines


_ELF_MACHINES = {3: "x86", 40: "arm", 62: "x86_64", 183: "aarch64"}


def _machine_mismatch(path):
    """Why dlopen refused an ELF file of another processor (its words, 'cannot open shared
    object file: No such file or directory', say the file is not there), or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return None
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
    here = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(),
                                                         platform.machine().lower())
    there = _ELF_MACHINES.get(machine, "ELF machine %d" % machine)
    if there == here:
        return None
    return ("%s is a library for %s, and this Python runs on %s: a library of another target "
            "loads only where that target runs" % (path, there, here))


def _cdll(path, shown):
    try:
        return ctypes.CDLL(path)
    except OSError:
        why = _machine_mismatch(path)
        if why:
            raise OSError(why.replace(path, shown, 1)) from None
        raise


# dlopen returns the library it already loaded under a path, whatever file the path names now: a
# library regenerated in place (compile_library into the same directory again) would run the old
# code under the new header's shapes. Each path's file as first loaded, (device, inode, size,
# mtime); another file under a loaded path is loaded from a private copy instead.
_loaded = {}
_loaded_lock = threading.Lock()


def _load(path):
    st = os.stat(path)
    identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    with _loaded_lock:
        if _loaded.setdefault(path, identity) == identity:
            return _cdll(path, path)
    copy_dir = tempfile.mkdtemp(prefix="gru_gen-")
    copy = os.path.join(copy_dir, os.path.basename(path))
    try:
        shutil.copyfile(path, copy)
        return _cdll(copy, path)
    finally:
        shutil.rmtree(copy_dir, ignore_errors=True)


class _Options(ctypes.Structure):
    """gru_options (ABI 3): versioned by its size."""
    _fields_ = [("size", ctypes.c_uint32), ("threads", ctypes.c_int32)]


class _LayerWeights(ctypes.Structure):
    """gru_layer_weights: one layer instance's weights for <name>_create_layers."""
    _fields_ = [(n, ctypes.POINTER(ctypes.c_float)) for n in ("Wx", "Wh", "b", "bhn")]


class Library:
    """A loaded lib<name>.so. `header`: its <name>.h (default: ../<name>.h next to the .so's
    directory, where gru-gen writes it)."""

    def __init__(self, path, header=None, name=None):
        path = os.path.abspath(path)
        base = os.path.basename(path)
        if name is None:
            m = re.match(r"^lib(\w+)\.so(\.\d+)*$", base)
            if not m:
                raise ValueError("cannot tell the library's name from '%s' (want lib<name>.so)" % base)
            name = m.group(1)
        if header is None:
            header = os.path.join(os.path.dirname(os.path.dirname(path)), name + ".h")
        self.name = name
        self.path = path
        self.header = header
        d = _header_defines(header, name.upper())
        try:
            self.input_size = d["INPUT_SIZE"]
            self.hidden_size = d["HIDDEN_SIZE"]
            self.batch = d["BATCH"]
            self.has_bias = bool(d["HAS_BIAS"])
            # False: the reset gate before the recurrent product (headers before it: after).
            self.reset_after = bool(d.get("RESET_AFTER", 1))
            self.max_seq_len = d["MAX_SEQ_LEN"]
            self.layers = d["LAYERS"]
            self.directions = d["DIRECTIONS"]
            self.output_size = d["OUTPUT_SIZE"]
            self.has_embedded_weights = bool(d.get("HAS_EMBEDDED_WEIGHTS", 0))
        except KeyError as e:
            raise ValueError("'%s' is not the header of gru-gen library %s: no %s_%s"
                             % (header, name, name.upper(), e.args[0])) from None
        text = open(header, encoding="utf-8").read()
        # How Wx and Wh are stored ("f32", "f16", "bf16", "int8", "w8a8"; headers before the
        # macro: f32).
        precision = re.search(r'^#define %s_WEIGHTS_PRECISION "(\w+)"' % re.escape(name.upper()),
                              text, re.M)
        self.weights_precision = precision.group(1) if precision else "f32"
        # The header names its spec's symbol, which only a library of that spec defines (what
        # fails a C app's link against a library of another spec).
        spec = re.search(r"^extern const char (%s__spec_\w+);" % re.escape(name), text, re.M)
        self._dll = _load(path)
        if spec and not hasattr(self._dll, spec.group(1)):
            raise ValueError("%s is not the library of '%s': it was generated for another spec "
                             "(it does not define %s)" % (path, header, spec.group(1)))
        f = lambda suffix: getattr(self._dll, "%s_%s" % (name, suffix))
        fp = ctypes.POINTER(ctypes.c_float)
        model_pp = ctypes.POINTER(ctypes.c_void_p)
        self._abi_version = f("abi_version")
        self._abi_version.restype, self._abi_version.argtypes = ctypes.c_uint32, []
        self._last_error = f("last_error")
        self._last_error.restype, self._last_error.argtypes = ctypes.c_char_p, []
        self._status_string = f("status_string")
        self._status_string.restype, self._status_string.argtypes = ctypes.c_char_p, [ctypes.c_int]
        self._create = f("create")
        self._create.restype, self._create.argtypes = ctypes.c_int, [fp, fp, fp, fp, model_pp]
        self._create_from_safetensors = f("create_from_safetensors")
        self._create_from_safetensors.restype = ctypes.c_int
        self._create_from_safetensors.argtypes = [ctypes.c_char_p, ctypes.c_char_p, model_pp]
        self._create_layers = f("create_layers")
        self._create_layers.restype = ctypes.c_int
        self._create_layers.argtypes = [ctypes.POINTER(_LayerWeights), ctypes.c_int32, model_pp]
        self._run_ex = f("run_ex")
        self._run_ex.restype = ctypes.c_int
        self._run_ex.argtypes = [ctypes.c_void_p, fp, ctypes.c_int32,
                                 ctypes.POINTER(ctypes.c_int32), fp, fp, fp]
        self._step = f("step")
        self._step.restype, self._step.argtypes = ctypes.c_int, [ctypes.c_void_p, fp, fp]
        self._destroy = f("destroy")
        self._destroy.restype, self._destroy.argtypes = None, [ctypes.c_void_p]
        if self.has_embedded_weights:
            self._create_default = f("create_default")
            self._create_default.restype, self._create_default.argtypes = ctypes.c_int, [model_pp]
        version = self._abi_version()
        if version < ABI_VERSION:
            raise ValueError("%s has ABI version %d; this module speaks %d and later" % (path, version, ABI_VERSION))
        self.abi_version = version
        if version >= 3:
            opts = ctypes.POINTER(_Options)
            with_options = {"create": [fp, fp, fp, fp, opts, model_pp],
                            "create_layers": [ctypes.POINTER(_LayerWeights), ctypes.c_int32, opts,
                                              model_pp],
                            "create_from_safetensors": [ctypes.c_char_p, ctypes.c_char_p, opts,
                                                        model_pp]}
            if self.has_embedded_weights:
                with_options["create_default"] = [opts, model_pp]
            self._with_options = {}
            for call, argtypes in with_options.items():
                fn = f(call + "_with_options")
                fn.restype, fn.argtypes = ctypes.c_int, argtypes
                self._with_options[call] = fn
            self._threads = f("threads")
            self._threads.restype, self._threads.argtypes = ctypes.c_int32, [ctypes.c_void_p]

    def _check(self, status, call):
        if status != 0:
            raise GruError(status, self._status_string(status).decode(),
                           (self._last_error() or b"").decode(), "%s_%s" % (self.name, call))

    def _array(self, a, shape, what):
        if a is None:
            return None
        if not isinstance(a, np.ndarray) or a.dtype != np.float32 or not a.flags.c_contiguous:
            raise ValueError("%s must be a C-contiguous float32 NumPy array" % what)
        if a.shape != tuple(shape):
            raise ValueError("%s has shape %s; %s expects %s" % (what, a.shape, self.name, tuple(shape)))
        return a

    @staticmethod
    def _ptr(a):
        return None if a is None else a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))

    def _new_model(self, call, args, threads):
        """<name>_<call>(*args, &handle), or <name>_<call>_with_options(*args, &options, &handle)
        when threads is given (ABI 3: a team of that many threads, 0 the library's choice)."""
        handle = ctypes.c_void_p()
        if threads is None:
            self._check(getattr(self, "_" + call)(*args, ctypes.byref(handle)), call)
            return Model(self, handle)
        if isinstance(threads, bool) or not isinstance(threads, int):
            raise TypeError("threads must be an int, not %s" % type(threads).__name__)
        if self.abi_version < 3:
            raise ValueError("%s has ABI version %d; threads= needs 3 (gru-gen --threads-max)"
                             % (self.name, self.abi_version))
        if not -2**31 <= threads < 2**31:
            raise ValueError("threads must be a number of threads; got %d" % threads)
        options = _Options(ctypes.sizeof(_Options), threads)
        self._check(self._with_options[call](*args, ctypes.byref(options), ctypes.byref(handle)),
                    call + "_with_options")
        return Model(self, handle)

    def create(self, Wx, Wh, b=None, bhn=None, threads=None):
        """A Model from weights in MLX layout (copied by the library). threads (every create):
        None, one thread; T, a persistent team of T threads, one of the sizes the library was
        compiled for (threads_max=), or 0, the library's choice for this machine (ABI 3;
        another value is a GruError naming the sizes there are)."""
        D, H = self.input_size, self.hidden_size
        Wx = self._array(Wx, (3 * H, D), "Wx")
        Wh = self._array(Wh, (3 * H, H), "Wh")
        if self.has_bias != (b is not None) or self.has_bias != (bhn is not None):
            raise ValueError("b and bhn must be given exactly when the library has bias (%s: %s)"
                             % (self.name, "bias" if self.has_bias else "no bias"))
        b = self._array(b, (3 * H,), "b")
        bhn = self._array(bhn, (H,), "bhn")
        return self._new_model("create", (self._ptr(Wx), self._ptr(Wh), self._ptr(b),
                                          self._ptr(bhn)), threads)

    @property
    def instances(self):
        """Layer instances: LAYERS * DIRECTIONS (the leading extent of h0 and h_n)."""
        return self.layers * self.directions

    def create_layers(self, layers, threads=None):
        """A Model from each layer instance's (Wx, Wh, b, bhn), layer-major, forward before
        backward; Wx of layer l > 0 is [3H][OUTPUT_SIZE]."""
        H = self.hidden_size
        if len(layers) != self.instances:
            raise ValueError("%s has %d layer instances (%d layers x %d directions); %d given"
                             % (self.name, self.instances, self.layers, self.directions,
                                len(layers)))
        kept, table = [], (_LayerWeights * len(layers))()
        for i, weights in enumerate(layers):
            Wx, Wh, b, bhn = (tuple(weights) + (None, None))[:4]
            D = self.input_size if i < self.directions else self.output_size
            if self.has_bias != (b is not None) or self.has_bias != (bhn is not None):
                raise ValueError("layer instance %d: b and bhn must be given exactly when the "
                                 "library has bias" % i)
            arrays = (self._array(Wx, (3 * H, D), "Wx[%d]" % i),
                      self._array(Wh, (3 * H, H), "Wh[%d]" % i),
                      self._array(b, (3 * H,), "b[%d]" % i), self._array(bhn, (H,), "bhn[%d]" % i))
            kept.append(arrays)
            table[i] = _LayerWeights(*(self._ptr(a) for a in arrays))
        return self._new_model("create_layers", (table, len(layers)), threads)

    def create_from_safetensors(self, path, prefix="", threads=None):
        """A Model from an MLX safetensors file (mlx.nn.GRU's save_weights; for models, layer l
        under "<prefix><l>." and its backward instance under "<prefix><l>.reverse.")."""
        if not isinstance(prefix, str):
            raise TypeError("prefix must be a str, not %s" % type(prefix).__name__)
        return self._new_model("create_from_safetensors", (os.fsencode(path), prefix.encode()),
                               threads)

    def create_default(self, threads=None):
        """A Model from the weights embedded in the library (gru-gen --embed-weights)."""
        if not self.has_embedded_weights:
            raise ValueError("%s has no embedded weights" % self.name)
        return self._new_model("create_default", (), threads)


class Model:
    """One created model: run, step; close() (or a with block) destroys it. Calls on one model
    from several threads take turns (the C ABI's calls on one model must not overlap), and close()
    waits for a call in progress."""

    def __init__(self, library, handle):
        self.library = library
        self._handle = handle
        self._lock = threading.Lock()

    def _live(self):
        if not self._handle:
            raise ValueError("the model is closed")
        return self._handle

    @property
    def threads(self):
        """The threads the model runs on: its team's size, else 1."""
        with self._lock:
            lib = self.library
            return lib._threads(self._live()) if lib.abi_version >= 3 else 1

    def _state_shape(self):
        lib = self.library
        if lib.instances == 1:
            return (lib.batch, lib.hidden_size)
        return (lib.instances, lib.batch, lib.hidden_size)

    def run(self, x, h0=None, lengths=None, return_state=False):
        """x [N][L][D] -> the last layer's every state [N][L][OUTPUT_SIZE]; h0 (None: zeros) and
        the last states h_n are [N][H] for one layer instance, else [LAYERS*DIRECTIONS][N][H];
        lengths: N ints in [1, L] (rows shorter than L, as PyTorch's packed sequences) or None.
        return_state=True: (out, h_n)."""
        lib = self.library
        if not isinstance(x, np.ndarray) or x.ndim != 3:
            raise ValueError("x must be a [N][L][D] float32 NumPy array")
        L = x.shape[1]
        if not 1 <= L <= lib.max_seq_len:
            raise ValueError("x has %d timesteps; %s takes 1 to %d" % (L, lib.name, lib.max_seq_len))
        x = lib._array(x, (lib.batch, L, lib.input_size), "x")
        h0 = lib._array(h0, self._state_shape(), "h0")
        lens = None
        if lengths is not None:
            # Checked before the conversion to int32, which would truncate 2.7 to 2 and wrap
            # 2**32 + 3 to 3.
            lens = np.asarray(lengths)
            if lens.shape != (lib.batch,):
                raise ValueError("lengths has shape %s; %s expects (%d,)" % (lens.shape, lib.name, lib.batch))
            if lens.dtype.kind not in "iu":
                raise ValueError("lengths must be integers; got %s" % lens.dtype)
            if lens.min() < 1 or lens.max() > L:
                raise ValueError("lengths must be in [1, %d] (x's timesteps); got %s" % (L, lens.tolist()))
            lens = np.ascontiguousarray(lens, dtype=np.int32)
        out = np.empty((lib.batch, L, lib.output_size), dtype=np.float32)
        h_n = np.empty(self._state_shape(), dtype=np.float32) if return_state else None
        lens_ptr = None if lens is None else lens.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
        with self._lock:
            lib._check(lib._run_ex(self._live(), lib._ptr(x), L, lens_ptr, lib._ptr(h0),
                                   lib._ptr(out), lib._ptr(h_n)), "run_ex")
        return (out, h_n) if return_state else out

    def step(self, x_t, h):
        """One timestep: x_t [N][D], h [N][H] ([LAYERS][N][H] for a stack) -> the next state (a
        new array; h is not changed)."""
        lib = self.library
        if h is None:
            raise ValueError("h must be the state, a %s float32 NumPy array (zeros to start)"
                             % (self._state_shape(),))
        x_t = lib._array(x_t, (lib.batch, lib.input_size), "x_t")
        h = lib._array(h, self._state_shape(), "h").copy()
        with self._lock:
            lib._check(lib._step(self._live(), lib._ptr(x_t), lib._ptr(h)), "step")
        return h

    def close(self):
        with self._lock:
            if self._handle:
                self.library._destroy(self._handle)
                self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


def compile_library(out_dir, name, input_size=None, hidden_size=None, batch=1, bias=True,
                    spec=None, weights=None, embed_weights=False, gru_gen="gru-gen", target="host",
                    reset_before=False, layers=1, bidirectional=False, weights_prefix=None,
                    weights_precision=None, threads_max=None, tuning_record=None):
    """Runs `gru-gen --shared` (the CLI, `gru_gen` an executable or path) into out_dir and loads
    out_dir/<target>/lib<name>.so. Either a spec file (spec=, which states the whole spec, its
    library's name too: name= must be that name, and no size, bias or variant may be given with
    it: ValueError) or the sizes; weights= a safetensors file (gives D, H, bias and the reset
    variant; sizes or bias=False given too must agree with it, as the CLI checks), its tensors
    under weights_prefix (--weights-prefix, e.g. "gru." for a layer saved inside a model);
    embed_weights=True bakes them into the library (create_default; needs weights=);
    reset_before=True: the reset gate before the recurrent product (ONNX
    linear_before_reset=0); weights_precision= how the library stores Wx and Wh ("f32", "f16",
    "bf16", "int8" or "w8a8": --weights-precision; part of the spec, so not with spec=);
    threads_max=T team step kernels for thread teams of 2..T (--threads-max; 0: the target's
    cores), which create(..., threads=) uses; tuning_record= a record `gru-gen --tune` wrote
    (--tuning-record: the library it tuned, byte for byte). Raises RuntimeError with gru-gen's
    error line when it fails."""
    if weights is None and (embed_weights or weights_prefix is not None):
        raise ValueError("compile_library: embed_weights and weights_prefix need weights=")
    # Checked here where gru-gen would see only their text: 2.5 threads would be "not a number of
    # threads", a precision True "invalid --weights-precision 'True'".
    if threads_max is not None and (isinstance(threads_max, bool)
                                    or not isinstance(threads_max, int)):
        raise TypeError("compile_library: threads_max must be an int, not %s"
                        % type(threads_max).__name__)
    if weights_precision is not None and not isinstance(weights_precision, str):
        raise TypeError("compile_library: weights_precision must be a str, not %s"
                        % type(weights_precision).__name__)
    if tuning_record is not None and not isinstance(tuning_record, (str, bytes, os.PathLike)):
        raise TypeError("compile_library: tuning_record must be a path, not %s"
                        % type(tuning_record).__name__)
    argv = [gru_gen, "--shared", "-q", "--target", target, "-o", os.fspath(out_dir)]
    if spec is not None:
        # The spec file states the whole spec, its library's name too: anything else given here
        # would be ignored, so it is refused, as the CLI refuses the flags.
        given = [k for k, v, default in (("input_size", input_size, None),
                                         ("hidden_size", hidden_size, None), ("batch", batch, 1),
                                         ("bias", bias, True), ("reset_before", reset_before, False),
                                         ("layers", layers, 1),
                                         ("bidirectional", bidirectional, False),
                                         ("weights_precision", weights_precision, None))
                 if v != default]
        if given:
            raise ValueError("compile_library: a spec file states the whole spec; %s cannot be "
                             "given with it" % ", ".join(given))
        argv.append(os.fspath(spec))
    else:
        argv += ["--name", name, "--batch", str(batch)]
        # With weights= the sizes, bias and variant come from the file: what is given here too is
        # passed on, and the CLI refuses it where it contradicts the file.
        if input_size is not None:
            argv += ["--input-size", str(input_size)]
        if hidden_size is not None:
            argv += ["--hidden-size", str(hidden_size)]
        if not bias:
            argv.append("--no-bias")
        if reset_before:
            argv.append("--reset-before")
        if layers != 1:
            argv += ["--layers", str(layers)]
        if bidirectional:
            argv.append("--bidirectional")
        if weights_precision is not None:
            argv += ["--weights-precision", weights_precision]
    if weights is not None:
        argv += ["--weights", os.fspath(weights)] + (["--embed-weights"] if embed_weights else [])
        if weights_prefix is not None:
            argv += ["--weights-prefix", weights_prefix]
    # Not the spec: gru-gen takes them with a spec file too.
    if threads_max is not None:
        argv += ["--threads-max", str(threads_max)]
    if tuning_record is not None:
        argv += ["--tuning-record", os.fsdecode(tuning_record)]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip() or "gru-gen exited with status %d" % r.returncode)
    path = os.path.join(os.fspath(out_dir), target, "lib%s.so" % name)
    if spec is not None and not os.path.exists(path):
        raise ValueError("compile_library: %s names its library otherwise than name=%r (%s holds "
                         "%s)" % (os.fspath(spec), name, os.fspath(out_dir),
                                  ", ".join(sorted(f for f in os.listdir(out_dir)
                                                   if f.endswith(".h"))) or "no header"))
    return Library(path)
