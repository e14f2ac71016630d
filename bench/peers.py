"""The peers gru-gen is compared with: mlx.nn.GRU, ONNX Runtime's GRU op, PyTorch's nn.GRU,
IREE (the same ONNX GRU compiled ahead of time). oneDNN is bench/onednn_peer.cpp, run by bench.py.
Model points (several layers, bidirectional: "layers" and "directions" in the point) have the
peers that compute such a model as one call: ONNX Runtime (one bidirectional GRU node per layer,
chained with Transpose/Reshape) and PyTorch (nn.GRU(num_layers=, bidirectional=True)).

Run by bench.py in a child process per thread count (thread pools are fixed at import time by
some frameworks):

    peers.py --threads T --points POINTS.json --out RESULT.json

Each point names a directory with the model (MLX layout, raw float32), the input and gru-gen's
output for it. Every peer is built from the MLX weights with the conversion documented below,
computes the sequence, and is compared with gru-gen's output (max abs difference, which must be
<= 1e-4) before it is timed; a peer that does not match is reported, not timed.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

TOLERANCE = 1e-4


def set_thread_env(threads):
    # Before any framework is imported: BLAS/OpenMP pools read these once.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)


def load_point(point):
    d, h, n, L = point["D"], point["H"], point["N"], point["L"]
    rd = lambda name, shape: np.fromfile(os.path.join(point["dir"], name + ".f32"),
                                         dtype=np.float32).reshape(shape)
    if point.get("layers", 1) * point.get("directions", 1) > 1:
        return load_model(point["dir"], d, h, n, L, point["layers"], point["directions"],
                          point["ours_output"])
    return {
        "Wx": rd("Wx", (3 * h, d)), "Wh": rd("Wh", (3 * h, h)),
        "b": rd("b", (3 * h,)), "bhn": rd("bhn", (h,)),
        "x": rd("x", (n, L, d)), "ours": rd(point["ours_output"], (n, L, h)),
        "dir": point["dir"],  # where a peer that compiles the model puts its files
    }


def load_model(pdir, d, h, n, L, layers, dirs, ours_output=None):
    """A model point's files (bench.py writes them): instance i = l * dirs + direction (layer-major,
    forward before backward) in Wx_i, Wh_i, b_i, bhn_i (MLX layout; Wx of layer l > 0 is
    [3H][dirs*H]), x [N][L][D] and gru-gen's output [N][L][dirs*H]."""
    rd = lambda name, shape: np.fromfile(os.path.join(pdir, name + ".f32"),
                                         dtype=np.float32).reshape(shape)
    inst = []
    for l in range(layers):
        dl = d if l == 0 else dirs * h
        for k in range(dirs):
            i = l * dirs + k
            inst.append({"Wx": rd(f"Wx_{i}", (3 * h, dl)), "Wh": rd(f"Wh_{i}", (3 * h, h)),
                         "b": rd(f"b_{i}", (3 * h,)), "bhn": rd(f"bhn_{i}", (h,))})
    w = {"layers": layers, "directions": dirs, "H": h, "instances": inst,
         "x": rd("x", (n, L, d)), "dir": pdir}
    if ours_output:
        w["ours"] = rd(ours_output, (n, L, dirs * h))
    return w


# The Linux kernel's record of a process's AVX-512 register use (x86-64): "AVX512_elapsed_ms:"
# is the time since AVX-512 state was last seen in use at one of its context switches.
ARCH_STATUS = "/proc/self/arch_status"


def avx512_elapsed_ms():
    try:
        for line in open(ARCH_STATUS):
            if line.startswith("AVX512_elapsed_ms:"):
                return int(line.split(":")[1])
    except OSError:
        pass
    return None


def avx512_probe(fn, calls=10):
    """Whether `fn` leaves AVX-512 state in use: `calls` calls, each followed by a 1 ms sleep (a
    context switch, where the kernel looks at the registers); seen if the kernel's last sighting
    is younger than the probe. Without /proc/self/arch_status, None."""
    if avx512_elapsed_ms() is None:
        return None
    start = time.perf_counter()
    for _ in range(calls):
        fn()
        time.sleep(0.001)
    probe_ms = (time.perf_counter() - start) * 1e3
    elapsed = avx512_elapsed_ms()
    return {"calls": calls, "probe_ms": probe_ms, "avx512_elapsed_ms": elapsed,
            "avx512_seen": elapsed != -1 and elapsed < probe_ms}


def best_time(fn, budget, min_reps=5, max_reps=2000):
    """Minimum and median seconds per call, after two warm-up calls."""
    fn()
    fn()
    samples = []
    start = time.perf_counter()
    while len(samples) < max_reps and (len(samples) < min_reps or
                                       time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return {"min_s": samples[0], "median_s": samples[len(samples) // 2], "reps": len(samples)}


# ---- mlx.nn.GRU: the reference semantics -------------------------------------------------------

class MlxPeer:
    name = "mlx"

    def __init__(self, threads, isa_view=None):
        import mlx.core as mx
        import mlx.nn as nn
        self.mx, self.nn = mx, nn
        mx.set_default_device(mx.cpu)
        self.version = mx.__version__

    def build(self, w):
        mx = self.mx
        d, h = w["Wx"].shape[1], w["Wh"].shape[1]
        gru = self.nn.GRU(d, h, bias=True)
        gru.Wx, gru.Wh = mx.array(w["Wx"]), mx.array(w["Wh"])
        gru.b, gru.bhn = mx.array(w["b"]), mx.array(w["bhn"])
        x = mx.array(w["x"])
        mx.eval(gru.parameters(), x)

        def run():
            y = gru(x)
            mx.eval(y)
            return y

        state = {"h": mx.zeros((w["x"].shape[0], h))}
        x_t = x[:, :1, :]
        mx.eval(x_t, state["h"])

        def step():
            state["h"] = gru(x_t, hidden=state["h"])[:, -1, :]
            mx.eval(state["h"])

        return lambda: np.array(run()), run, step


# ---- ONNX Runtime: the GRU op, linear_before_reset=1 -------------------------------------------

def swap_zr(a, h):
    """P: swaps the first two H-blocks along axis 0 (MLX r, z <-> ONNX z, r); P is its own
    inverse."""
    return np.concatenate([a[h:2 * h], a[:h], a[2 * h:]], axis=0)


def onnx_weights(w):
    """Inverts Wx = P(W), Wh = P(R), b = P(Wb) + [P(Rb)[:2H], 0], bhn = Rb[2H:]: take
    Rb = [0, 0, bhn], so Wb = P(b)."""
    h = w["Wh"].shape[1]
    W = swap_zr(w["Wx"], h)[None]
    R = swap_zr(w["Wh"], h)[None]
    Rb = np.concatenate([np.zeros(2 * h, np.float32), w["bhn"]])
    B = np.concatenate([swap_zr(w["b"], h), Rb])[None]
    return W, R, B


def onnx_gru_model(w, seq):
    """The ONNX GRU op (linear_before_reset=1, time-major X [seq][N][D]) holding the MLX weights;
    `seq` is a static length or a symbolic name. Inputs X, initial_h; outputs Y, Y_h."""
    from onnx import TensorProto, helper, numpy_helper
    n, L, d = w["x"].shape
    h = w["Wh"].shape[1]
    W, R, B = onnx_weights(w)
    node = helper.make_node("GRU", ["X", "W", "R", "B", "", "initial_h"], ["Y", "Y_h"],
                            hidden_size=h, linear_before_reset=1, direction="forward")
    graph = helper.make_graph(
        [node], "gru",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [seq, n, d]),
         helper.make_tensor_value_info("initial_h", TensorProto.FLOAT, [1, n, h])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [seq, 1, n, h]),
         helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, n, h])],
        initializer=[numpy_helper.from_array(W, "W"), numpy_helper.from_array(R, "R"),
                     numpy_helper.from_array(B, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    return model


def onnx_stack_model(w):
    """A model point as ONNX: one GRU node per layer (direction bidirectional or forward,
    linear_before_reset=1, W/R/B stacked over the directions), time-major X [L][N][D]; between
    layers Y [L][dirs][N][H] -> Transpose -> [L][N][dirs][H] -> Reshape -> [L][N][dirs*H], the next
    node's X (test/e2e/stack_ort.py's construction). Input X, output Y [L][N][dirs*H]."""
    from onnx import TensorProto, helper, numpy_helper
    n, L, d = w["x"].shape
    h, layers, dirs = w["H"], w["layers"], w["directions"]
    nodes, inits, x_name = [], [], "X"
    for l in range(layers):
        Ws, Rs, Bs = zip(*(onnx_weights(w["instances"][l * dirs + k]) for k in range(dirs)))
        inits += [numpy_helper.from_array(np.concatenate(Ws), f"W{l}"),
                  numpy_helper.from_array(np.concatenate(Rs), f"R{l}"),
                  numpy_helper.from_array(np.concatenate(Bs), f"B{l}"),
                  numpy_helper.from_array(np.array([L, n, dirs * h], np.int64), f"shape{l}")]
        nodes += [helper.make_node("GRU", [x_name, f"W{l}", f"R{l}", f"B{l}"], [f"Y{l}"],
                                   hidden_size=h, linear_before_reset=1,
                                   direction="bidirectional" if dirs == 2 else "forward"),
                  helper.make_node("Transpose", [f"Y{l}"], [f"T{l}"], perm=[0, 2, 1, 3]),
                  helper.make_node("Reshape", [f"T{l}", f"shape{l}"], [f"X{l + 1}"])]
        x_name = f"X{l + 1}"
    graph = helper.make_graph(
        nodes, "gru_stack", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [L, n, d])],
        [helper.make_tensor_value_info(x_name, TensorProto.FLOAT, [L, n, dirs * h])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    return model


def onnx_stack_reference(w):
    """ONNX Runtime's answer for a model point, [N][L][dirs*H] (bench.py checks gru-gen with it)."""
    import onnxruntime as ort
    sess = ort.InferenceSession(onnx_stack_model(w).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    y = sess.run(None, {"X": np.ascontiguousarray(w["x"].transpose(1, 0, 2))})[0]
    return np.ascontiguousarray(y.transpose(1, 0, 2))


class OrtPeer:
    name = "onnxruntime"

    def __init__(self, threads, isa_view=None):
        import onnx
        import onnxruntime as ort
        self.onnx, self.ort, self.threads = onnx, ort, threads
        self.version = ort.__version__

    def build(self, w):
        ort = self.ort
        n, L, d = w["x"].shape
        h = w["Wh"].shape[1]
        model = onnx_gru_model(w, "seq")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(model.SerializeToString(), opts,
                                    providers=["CPUExecutionProvider"])
        # ONNX is time-major ([seq][batch][D]); the transpose is part of what a user pays.
        x_nld = w["x"]
        h0 = np.zeros((1, n, h), np.float32)

        def run():
            y = sess.run(["Y"], {"X": np.ascontiguousarray(x_nld.transpose(1, 0, 2)),
                                 "initial_h": h0})[0]
            return np.ascontiguousarray(y[:, 0].transpose(1, 0, 2))

        x_t = np.ascontiguousarray(x_nld[:, :1, :].transpose(1, 0, 2))
        state = {"h": h0.copy()}

        def step():
            state["h"] = sess.run(["Y_h"], {"X": x_t, "initial_h": state["h"]})[0]

        return run, run, step

    def build_model(self, w):
        ort = self.ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(onnx_stack_model(w).SerializeToString(), opts,
                                    providers=["CPUExecutionProvider"])
        x_nld = w["x"]

        def run():  # the transposes in and out are part of what a user pays, as above
            y = sess.run(None, {"X": np.ascontiguousarray(x_nld.transpose(1, 0, 2))})[0]
            return np.ascontiguousarray(y.transpose(1, 0, 2))

        return run, run


# ---- PyTorch nn.GRU ----------------------------------------------------------------------------

class TorchPeer:
    name = "torch"

    def __init__(self, threads, isa_view=None):
        import torch
        self.torch = torch
        torch.set_num_threads(threads)
        self.version = torch.__version__

    def build(self, w):
        torch = self.torch
        n, L, d = w["x"].shape
        h = w["Wh"].shape[1]
        gru = torch.nn.GRU(d, h, batch_first=True)
        # Wx = weight_ih, Wh = weight_hh, b = bias_ih + [bias_hh[:2H], 0], bhn = bias_hh[2H:].
        with torch.no_grad():
            gru.weight_ih_l0.copy_(torch.from_numpy(w["Wx"]))
            gru.weight_hh_l0.copy_(torch.from_numpy(w["Wh"]))
            gru.bias_ih_l0.copy_(torch.from_numpy(w["b"]))
            gru.bias_hh_l0.copy_(torch.from_numpy(
                np.concatenate([np.zeros(2 * h, np.float32), w["bhn"]])))
        gru.eval()
        x = torch.from_numpy(w["x"])

        def run():
            with torch.inference_mode():
                return gru(x)[0]

        state = {"h": torch.zeros(1, n, h)}
        x_t = x[:, :1, :].contiguous()

        def step():
            with torch.inference_mode():
                state["h"] = gru(x_t, state["h"])[1]

        return lambda: run().numpy(), run, step

    def build_model(self, w):
        torch = self.torch
        n, L, d = w["x"].shape
        h, layers, dirs = w["H"], w["layers"], w["directions"]
        gru = torch.nn.GRU(d, h, num_layers=layers, bidirectional=dirs == 2, batch_first=True)
        # Instance l * dirs + k is PyTorch's layer l, suffix "" (forward) or "_reverse".
        with torch.no_grad():
            for l in range(layers):
                for k in range(dirs):
                    iw = w["instances"][l * dirs + k]
                    sfx = f"l{l}" + ("_reverse" if k else "")
                    getattr(gru, "weight_ih_" + sfx).copy_(torch.from_numpy(iw["Wx"]))
                    getattr(gru, "weight_hh_" + sfx).copy_(torch.from_numpy(iw["Wh"]))
                    getattr(gru, "bias_ih_" + sfx).copy_(torch.from_numpy(iw["b"]))
                    getattr(gru, "bias_hh_" + sfx).copy_(torch.from_numpy(
                        np.concatenate([np.zeros(2 * h, np.float32), iw["bhn"]])))
        gru.eval()
        x = torch.from_numpy(w["x"])

        def run():
            with torch.inference_mode():
                return gru(x)[0]

        return lambda: run().numpy(), run


# ---- IREE: the same ONNX GRU, compiled ahead of time for this CPU ------------------------------

# The CPU IREE compiles for in each view of bench/cpuid_view.c (None: this CPU as it is).
IREE_TARGET_CPU = {None: "host", "avx2": "x86-64-v3", "sse41": "x86-64-v2"}


class IreePeer:
    """The ONNX model above with static shapes (one for run, seq=L, one for step, seq=1),
    imported with iree-import-onnx and compiled with iree-compile for llvm-cpu (target CPU host,
    x86-64-v3 in the AVX2 view, x86-64-v2 in the SSE4.1 one);
    run through iree.runtime on local-sync (one thread) or, with T > 1 threads, on local-task with
    T workers (--task_topology_group_count)."""
    name = "iree"

    def __init__(self, threads, isa_view=None):
        import importlib.metadata
        import onnx
        import iree.runtime as rt
        self.onnx, self.rt = onnx, rt
        self.version = importlib.metadata.version("iree-base-runtime")
        bindir = os.path.dirname(sys.executable)
        self.importer = os.path.join(bindir, "iree-import-onnx")
        self.compiler = os.path.join(bindir, "iree-compile")
        for tool in (self.importer, self.compiler):
            if not os.path.exists(tool):
                raise ImportError(f"no {os.path.basename(tool)} beside {sys.executable}")
        if threads > 1:
            rt.flags.parse_flags(f"--task_topology_group_count={threads}")
        self.config = rt.Config("local-sync" if threads == 1 else "local-task")
        self.target_cpu = IREE_TARGET_CPU[isa_view]

    def compile(self, w, seq, workdir):
        """The module for sequence length `seq`, compiled once per model and target CPU (the
        benchmark runs each point once per level and thread count)."""
        import hashlib
        import subprocess
        os.makedirs(workdir, exist_ok=True)
        model = onnx_gru_model(w, seq).SerializeToString()
        tag = hashlib.sha256(model + self.target_cpu.encode()).hexdigest()[:16]
        onnx_file = os.path.join(workdir, f"gru_seq{seq}_{tag}.onnx")
        mlir_file, vmfb_file = onnx_file[:-5] + ".mlir", onnx_file[:-5] + ".vmfb"
        if not os.path.exists(vmfb_file):
            with open(onnx_file, "wb") as f:
                f.write(model)
            for cmd in ([self.importer, onnx_file, "-o", mlir_file],
                        [self.compiler, "--iree-input-type=onnx", "--iree-hal-target-device=local",
                         "--iree-hal-local-target-device-backends=llvm-cpu",
                         f"--iree-llvmcpu-target-cpu={self.target_cpu}", mlir_file, "-o",
                         vmfb_file + ".part"]):
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    raise RuntimeError(f"{os.path.basename(cmd[0])} failed: {r.stderr.strip()}")
            os.replace(vmfb_file + ".part", vmfb_file)
        rt = self.rt
        vm = rt.VmModule.copy_buffer(self.config.vm_instance, open(vmfb_file, "rb").read())
        ctx = rt.SystemContext(config=self.config, vm_modules=[vm])
        return ctx.modules.module["gru"]

    def build(self, w):
        n, L, d = w["x"].shape
        h = w["Wh"].shape[1]
        workdir = w["dir"] + "/iree"
        run_fn = self.compile(w, L, workdir)
        step_fn = self.compile(w, 1, workdir)
        x_nld = w["x"]
        h0 = np.zeros((1, n, h), np.float32)

        def run():
            y, _ = run_fn(np.ascontiguousarray(x_nld.transpose(1, 0, 2)), h0)
            return np.ascontiguousarray(np.asarray(y.to_host())[:, 0].transpose(1, 0, 2))

        x_t = np.ascontiguousarray(x_nld[:, :1, :].transpose(1, 0, 2))
        state = {"h": h0.copy()}

        def step():
            state["h"] = np.asarray(step_fn(x_t, state["h"])[1].to_host())

        return run, run, step


PEERS = [MlxPeer, OrtPeer, TorchPeer, IreePeer]

# The views of bench/cpuid_view.c, each by the lowest feature it hides (numpy's name), which
# must be gone from this process's CPUID.
VIEW_HIDES = {"avx2": "AVX512F", "sse41": "AVX"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--points", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget", type=float, default=0.6)
    ap.add_argument("--only", default=None, help="comma list of the peers to run (default: all)")
    ap.add_argument("--isa-view", choices=sorted(VIEW_HIDES), default=None,
                    help="the process runs in bench/cpuid_view.c's view of the CPU at that ISA "
                    "level (bench.py preloads it): checked here, IREE compiled for the level's "
                    "x86-64-v* CPU, and each peer probed for AVX-512 use")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    set_thread_env(args.threads)
    points = json.load(open(args.points))
    if args.isa_view:
        from numpy._core._multiarray_umath import __cpu_features__
        hidden = VIEW_HIDES[args.isa_view]
        if __cpu_features__.get(hidden):
            raise SystemExit(f"peers: error: --isa-view {args.isa_view}: CPUID still reports "
                             f"{hidden} in this process (bench/cpuid_view.so is not preloaded "
                             f"with GRU_CPUID_VIEW={args.isa_view})")

    peers, results = [], {"threads": args.threads, "isa_view": args.isa_view, "peers": {},
                          "points": []}
    for cls in PEERS:
        if only is not None and cls.name not in only:
            continue
        try:
            peer = cls(args.threads, args.isa_view)
        except ImportError as e:  # torch may not install on every machine
            results["peers"][cls.name] = {"available": False, "why": str(e)}
            print(f"  peers: {cls.name}: not installed ({e}), skipped", file=sys.stderr,
                  flush=True)
            continue
        results["peers"][cls.name] = {"available": True, "version": peer.version}
        peers.append(peer)

    last_run = {}  # each peer's run of the last point it computed, for the AVX-512 probe
    for point in points:
        w = load_point(point)
        model = "instances" in w
        entry = {"key": point["key"], "peers": {}}
        for peer in peers:
            if model and not hasattr(peer, "build_model"):
                continue  # computes one layer per call: not a peer of a whole model
            try:
                if model:
                    (compute, run), step = peer.build_model(w), None
                else:
                    compute, run, step = peer.build(w)
                err = float(np.max(np.abs(compute() - w["ours"])))
            except RuntimeError as e:  # a compiler peer (IREE) that fails on this point
                entry["peers"][peer.name] = {"max_abs_diff_vs_gru_gen": None, "verified": False,
                                             "error": str(e)}
                print(f"  peers ({args.threads} threads): {point['key']} {peer.name}: failed, "
                      f"not timed: {e}", file=sys.stderr, flush=True)
                continue
            r = {"max_abs_diff_vs_gru_gen": err, "verified": err <= TOLERANCE}
            last_run[peer.name] = run
            if r["verified"]:
                r["run"] = best_time(run, args.budget)
                if point.get("time_step") and step:
                    r["step"] = best_time(step, args.budget / 2, min_reps=20)
            entry["peers"][peer.name] = r
            print(f"  peers ({args.threads} thread{'s' if args.threads > 1 else ''}): "
                  f"{point['key']} {peer.name}: max |peer - gru-gen| = {err:.2e}"
                  + (f", run {r['run']['min_s'] * 1e3:.3f} ms" if r["verified"] else
                     " MISMATCH, not timed"), file=sys.stderr, flush=True)
        results["points"].append(entry)
    # Which ISA each peer really ran at, as far as the kernel saw: without the view an AVX-512
    # peer shows up (the probe's positive control); in either view none may.
    for name, run in last_run.items():
        probe = avx512_probe(run)
        results["peers"][name]["avx512_probe"] = probe
        if probe is None:
            continue
        print(f"  peers ({args.threads} threads): {name}: AVX-512 state "
              f"{'seen' if probe['avx512_seen'] else 'not seen'} in {probe['calls']} calls "
              f"(last seen {probe['avx512_elapsed_ms']} ms ago, probe {probe['probe_ms']:.0f} ms)",
              file=sys.stderr, flush=True)
        if args.isa_view and probe["avx512_seen"]:
            raise SystemExit(f"peers: error: --isa-view {args.isa_view}: {name} used AVX-512 "
                             f"registers in the {args.isa_view} view")
    json.dump(results, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
