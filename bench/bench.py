"""gru-gen against its peers, side by side, and against the machine's limits (bench/run.sh).

For every x86 feature level (--targets; by default the host target and every lower level of
gru-gen's x86-64-linux target the CPU executes: the AVX2 target AVX2_TARGET where the CPU has
AVX-512, the SSE4.1 target SSE41_TARGET where it has AVX, so that one machine measures them
all), every point (fp32,
L=128, D=H, H in --hidden, N in --batch) and thread count (--threads):
  1. gru-gen generates the level's library for the spec (timed), bench/harness.c is linked against
     it, and its output is checked against mlx.nn.GRU itself (<= 1e-5, gru-gen's contract);
  2. the harness times run (the whole sequence), step (N=1 streaming) and each Halide kernel
     alone, with HL_NUM_THREADS threads; with T > 1 threads both ways gru-gen offers are timed,
     Halide's thread pool and a persistent team of T (the library is generated with --threads-max,
     the most of --threads), each checked to repeat the one-thread output byte for byte, and the
     faster is gru-gen's figure (the report says which: "pool" or "team");
  3. bench/onednn_peer.cpp (oneDNN's lbr_gru, limited to the level's ISA with ONEDNN_MAX_CPU_ISA)
     and bench/peers.py (mlx.nn.GRU, ONNX Runtime, PyTorch, IREE) are checked against gru-gen's
     output (<= 1e-4) and timed if they match, with the same thread count. At a level below the
     CPU's own, peers.py runs in a view of the CPU at that level (bench/cpuid_view.c, preloaded:
     CPUID faulting answers without the higher levels' bits, so each framework takes that level's
     kernels; glibc's tunables, ATEN_CPU_CAPABILITY, MKL_ENABLE_INSTRUCTIONS, ONEDNN_MAX_CPU_ISA
     too), and every peer is probed for AVX-512 register use (peers.py) -- one seen there stops
     the run (the kernel keeps no such record for AVX: at the SSE4.1 level, code compiled for AVX
     without asking CPUID is not caught);
  4. bench/peak.c, compiled for the level's ISA, measures one core's peak FMA throughput, read
     bandwidth per buffer size, the cheapest conversion of a stored float16, bfloat16 or int8
     weight (with its FMA) and w8a8's integer product per weight: the roofline of each point;
  5. where gru-gen has `--emit schedule-report`, its predictions for arm64-linux and arm64-macos.
Then the model points (--model-hidden, --model-batch; --model-layers layers, bidirectional, D=H,
L and fp32 as above): gru-gen generates the model's library (--layers K --bidirectional, and
--threads-max as at the grid), the harness times run_ex (create_layers, no lengths, zero initial
state; with 2+ threads the faster of Halide's pool and a persistent team), its output is checked
against ONNX Runtime's (the model as one bidirectional GRU node per layer, <= 1e-5), and the peers
that compute such a model in one call (ONNX Runtime, PyTorch's nn.GRU(num_layers=K,
bidirectional=True), oneDNN's lbr_gru with one bidirectional_concat primitive per layer) are checked
against gru-gen's output (<= 1e-4) and timed. --rounds R repeats the timings (the grid's and the
model points') R times in turn, each implementation keeping its fastest round. --models runs only
these; --no-models skips them.
Then the precision points (--precision-points runs only these, --no-precision-points skips them):
for each level, H in --precision-hidden, N in --precision-batch and weight precision in
--precisions, gru-gen's library generated with --weights-precision P --threads-max (the most of
--threads), timed with a persistent team of T threads for each T of --threads (run, and step at
N=1; a team's output must be byte for byte the one-thread library's of the same precision), its
error against mlx.nn.GRU in float32, the roofline for the bytes its precision streams and the
weights it converts (FLOPs at the float32 FMA peak; w8a8's integer products at peak.c's rate
for them), the most it could gain on float32 here (float32's time over that roofline), and ONNX
Runtime in float32 with T threads: RESULTS/precision.{md,csv,json}.
Writes RESULTS/results.json, RESULTS/results.csv, RESULTS/step.csv, RESULTS/table.md,
RESULTS/chart.png (the single layers), RESULTS/models.csv and prints the tables; a --models run
writes RESULTS/models.json, models.csv and models.md and leaves the full run's files as they were.
Never part of the tests: it takes minutes and its numbers depend on the machine.
"""

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import time

import numpy as np

from peers import IREE_TARGET_CPU, VIEW_HIDES  # bench/peers.py, beside this script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
GRU_GEN = os.path.join(ROOT, "build", "bin", "gru-gen")
PEER_NAMES = ["mlx", "onnxruntime", "torch", "iree", "onednn"]
OURS_TOLERANCE = 1e-5
PEER_TOLERANCE = 1e-4
# Halide's names for x86-64 with AVX2 and FMA but no AVX-512, and with SSE4.1 but no AVX: the
# levels below AVX-512 of gru-gen's x86-64-linux target (README: raw Halide target strings).
AVX2_TARGET = "x86-64-linux-avx-avx2-f16c-fma-sse41"
SSE41_TARGET = "x86-64-linux-sse41"
ARM_TARGETS = ["arm64-linux", "arm64-macos"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, env=None, capture=True):
    r = subprocess.run(cmd, env=env, capture_output=capture, text=True)
    if r.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
    return r.stdout


def halide_include():
    import halide
    return os.path.join(halide.install_dir(), "include")


def cpu_flags():
    for line in open("/proc/cpuinfo"):
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def machine():
    info = {"platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        out = sh(["lscpu"])
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("CPU family", "Model", "L1d cache", "L2 cache", "L3 cache",
                               "Hypervisor vendor"):
                info[key.strip()] = value.strip()
    except (OSError, SystemExit):
        pass
    info["loadavg_start"] = os.getloadavg()
    return info


def cpu_line(info):
    """The CPU as every report names it: model name, family/model (lscpu), CPU count."""
    return (f"{info.get('cpu', '?')} (family {info.get('CPU family', '?')}, model "
            f"{info.get('Model', '?')}), {info['cpus']} CPUs")


# ---- feature levels ---------------------------------------------------------------------------

def level_for(target, flags):
    """A feature level: the gru-gen target, its name in the reports, the ISA it is measured at
    (peak.c's compiler flags, oneDNN's ONEDNN_MAX_CPU_ISA). The host target is the CPU's own
    level; a raw Halide x86 target string is the level of its features. peer_view: the CPU view
    bench/peers.py's peers run in (None: the CPU as it is; "avx2" or "sse41": bench/cpuid_view.c's
    view of the CPU at that level, for a level below the CPU's own)."""
    if target == "host":
        isa = "avx512" if "avx512f" in flags else "avx2"
        return {"name": "host", "target": "host", "isa": isa, "onednn_max_isa": None,
                "peak_cflags": ["-march=native"], "peer_view": None}
    feats = set(target.split("-")[3:]) if target.startswith("x86-64-linux") else None
    if feats is not None and "sse41" in feats and not feats & {"avx", "avx2", "fma", "f16c"} \
            and not any(f.startswith("avx512") for f in feats):
        # SSE4.1 without AVX: multiplies and adds (no FMA), 4 lanes, 16 registers.
        return {"name": "sse41", "target": target, "isa": "sse41", "onednn_max_isa": "SSE41",
                "peak_cflags": ["-msse4.1", "-mno-avx"],
                "peer_view": "sse41" if "avx" in flags else None}
    if feats is None or not {"avx2", "fma"} <= feats:
        raise SystemExit(f"bench: error: --targets: {target}: not an x86-64-linux Halide target "
                         "with avx2 and fma, or with sse41 and no avx (the levels peak.c can "
                         "measure)")
    if any(f.startswith("avx512") for f in feats):
        if "avx512f" not in flags:
            raise SystemExit(f"bench: error: --targets: {target}: this CPU has no AVX-512")
        return {"name": "avx512", "target": target, "isa": "avx512",
                "onednn_max_isa": "AVX512_CORE", "peak_cflags": ["-march=native"],
                "peer_view": None}
    if "avx2" not in flags or "fma" not in flags:
        raise SystemExit(f"bench: error: --targets: {target}: this CPU has no AVX2 and FMA")
    return {"name": "avx2", "target": target, "isa": "avx2", "onednn_max_isa": "AVX2",
            "peak_cflags": ["-mavx2", "-mfma", "-mf16c", "-mno-avx512f"],
            "peer_view": "avx2" if "avx512f" in flags else None}


# Each view of bench/cpuid_view.c (GRU_CPUID_VIEW): glibc's tunables (glibc picks its string
# functions from CPUID before any preload runs), the frameworks' own ISA switches (for what they
# decide before any CPUID) and how the reports name it. The feature it must hide is peers.py's
# VIEW_HIDES.
_NO_AVX512 = "-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD,-AVX512_VBMI2,-AVX512_FP16"
PEER_VIEWS = {
    "avx2": {"GLIBC_TUNABLES": "glibc.cpu.hwcaps=" + _NO_AVX512,
             "ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
             "ONEDNN_MAX_CPU_ISA": "AVX2", "title": "AVX2-only",
             "without": "AVX-512"},
    "sse41": {"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX,-AVX2,-FMA,-F16C,-AVX_Fast_Unaligned_Load,"
              + _NO_AVX512,
              "ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
              "ONEDNN_MAX_CPU_ISA": "SSE41", "title": "SSE4.1-only",
              "without": "AVX, AVX2, FMA, F16C and AVX-512"},
}


def build_peer_views(work, levels):
    """bench/cpuid_view.c built once if a level needs a view of the CPU, and each view tried.
    Sets each such level's "peer_env" (the environment its peers run in) or, where the view
    cannot be made (no CPUID faulting), leaves the level's peers on the CPU as it is and says
    why."""
    needed = [lv for lv in levels if lv["peer_view"]]
    for lv in levels:
        lv["peer_env"] = None
    if not needed:
        return
    so = os.path.join(work, "cpuid_view.so")
    sh(["cc", "-O2", "-Wall", "-shared", "-fPIC", os.path.join(BENCH, "cpuid_view.c"), "-o", so,
        "-ldl"])
    for lv in needed:
        view, hides = PEER_VIEWS[lv["peer_view"]], VIEW_HIDES[lv["peer_view"]]
        env = dict(os.environ, LD_PRELOAD=so, GRU_CPUID_VIEW=lv["peer_view"],
                   **{k: view[k] for k in ("GLIBC_TUNABLES", "ATEN_CPU_CAPABILITY",
                                           "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA")})
        r = subprocess.run([sys.executable, "-c", "from numpy._core._multiarray_umath import "
                            f"__cpu_features__ as f; print(int(f['{hides}']))"], env=env,
                           capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip() == "0":
            lv["peer_env"] = env
            log(f"bench: {lv['name']}: the peers run in an {view['title']} view of this CPU "
                f"(bench/cpuid_view.c: CPUID faulting, {view['without']} feature bits cleared)")
        else:
            log(f"bench: {lv['name']}: no {view['title']} view of this CPU "
                f"({(r.stderr.strip().splitlines() or [hides + ' still reported'])[-1]}); "
                "its peers run at the CPU's own ISA")
            lv["peer_view"] = None


def levels_from(arg, flags):
    targets = (["host"] + ([AVX2_TARGET] if "avx512f" in flags else [])
               + ([SSE41_TARGET] if "avx" in flags else [])) if arg is None \
        else [t for t in arg.split(",") if t]
    levels = [level_for(t, flags) for t in targets]
    names = [lv["name"] for lv in levels]
    if len(set(names)) != len(names):
        raise SystemExit(f"bench: error: --targets: two targets of one level ({', '.join(names)})")
    return levels


def flops(d, h, n, L):
    """Projection 2·N·L·D·3H + recurrence 2·N·L·H·3H + gates (10 flops per state element:
    the adds and products of r, z, n and h'; sigmoid and tanh counted as one each)."""
    return 2 * n * L * d * 3 * h + 2 * n * L * h * 3 * h + 10 * n * L * h


def peak(work, level, threads):
    """peak.c compiled for the level's ISA (-march=native for the host; the AVX2 level's copy
    without AVX-512, so that its peak is AVX2's)."""
    exe = os.path.join(work, f"peak_{level['name']}")
    sh(["cc", "-O3", *level["peak_cflags"], os.path.join(BENCH, "peak.c"), "-o", exe,
        "-lpthread"])
    return json.loads(sh([exe, str(threads)]))


def peak_kind(pk):
    """What peak.c's peak counts at its ISA: FMAs, or at SSE4.1 (no FMA) multiplies and adds."""
    return f"{pk['isa']} {'multiply+add' if pk['isa'] == 'sse41' else 'FMA'}"


def bandwidth_for(peak_info, nbytes, alternating=False):
    """Read bandwidth (GB/s) measured for the largest buffer at most `nbytes` long (the smallest
    buffer's for less): the cache level an array of that size lives in, or a faster one, so that
    bytes / bandwidth stays a lower bound between the sizes peak.c measures. alternating: each
    read walking the buffer the other way from the one before (peak.c), as run's steps walk Wh
    (slices forward, then backward, on alternate timesteps): the most a core can read that often,
    reusing what stays in L2."""
    key = "read_alternating_gbytes_per_s" if alternating else "read_gbytes_per_s"
    sizes = sorted((int(k), v) for k, v in peak_info[key].items())
    below = [bw for size, bw in sizes if size <= nbytes]
    return below[-1] if below else sizes[0][1]


def roofline_s(pk, p, threads, weight_bytes=4, convert_ns=0.0, mac_ns=0.0):
    """A lower bound on run's time, per kernel and summed (run is the projection over all N*L
    rows, then L steps, each waiting for the one before): for each, max(FLOPs / peak, bytes /
    bandwidth), with
      - peak: one core's FMA peak (the level's) x threads;
      - bytes: what the kernel cannot avoid reading or writing once, at the bandwidth of a
        buffer of that size; for a step, Wh split over the threads' cores (each reads its share
        at the bandwidth of reading a buffer of that size every timestep, alternately forward
        and backward: the cache level it fits in, and past L2 what stays there from the last
        timestep), its xp slice, h and h'.
    weight_bytes: bytes per weight (4 for float32; 2 for float16 and bfloat16, 1 for int8, whose
    per-row float32 scales p["wh_bytes"] counts).
    convert_ns: what converting one stored weight to float32 and multiplying it costs at the
    cheapest (peak.c's convert_fma_ns_per_weight; 0 for float32, and for w8a8, whose integer
    products take the weights as they are). Each kernel converts every weight at least once per
    call, so it takes at least weights x convert_ns over the threads.
    mac_ns: for w8a8, peak.c's cost of one integer product per weight (vpdpbusd, or vpmaddwd
    without VNNI): its products are counted at that rate instead of the float32 FMA peak."""
    d, h, n, L = p["D"], p["H"], p["N"], p["L"]
    proj_bytes = 4 * (n * L * d + 3 * h + n * L * 3 * h) + weight_bytes * 3 * h * d
    proj_s = max(compute_s(pk, threads, n * L, 3 * h * d, 0, convert_ns, mac_ns),
                 proj_bytes / (bandwidth_for(pk, proj_bytes) * 1e9))
    share = p["wh_bytes"] / threads
    other = 4 * (n * 3 * h + 2 * n * h + h)
    step_s = max(compute_s(pk, threads, n, 3 * h * h, n * h, convert_ns, mac_ns),
                 share / (bandwidth_for(pk, share, True) * 1e9) +
                 other / (bandwidth_for(pk, other) * 1e9))
    return proj_s + L * step_s


def compute_s(pk, threads, rows, weights, states, convert_ns=0.0, mac_ns=0.0):
    """The least time of a kernel's arithmetic over the threads: `rows` rows times `weights`
    weights of products (2 FLOPs each at the FMA peak, or w8a8's integer products at mac_ns
    each), 10 FLOPs per state of the gates, and at least one conversion of every weight
    (convert_ns each; roofline_s)."""
    peak = pk["fma_gflops_1_thread"] * threads * 1e9
    products = rows * weights * mac_ns * 1e-9 / threads if mac_ns else 2 * rows * weights / peak
    return max(products + 10 * states / peak, weights * convert_ns * 1e-9 / threads)


def mlx_reference(w, h):
    import mlx.core as mx
    import mlx.nn as nn
    mx.set_default_device(mx.cpu)
    gru = nn.GRU(w["Wx"].shape[1], h)
    gru.Wx, gru.Wh, gru.b, gru.bhn = (mx.array(w[k]) for k in ("Wx", "Wh", "b", "bhn"))
    return np.array(gru(mx.array(w["x"])))


def make_point(work, d, h, n, L, seed):
    key = f"H{h}_N{n}"
    pdir = os.path.join(work, key)
    os.makedirs(pdir, exist_ok=True)
    rng = np.random.default_rng(seed)
    s = 1.0 / np.sqrt(h)  # mlx.nn.GRU's initialisation range
    w = {
        "Wx": rng.uniform(-s, s, (3 * h, d)), "Wh": rng.uniform(-s, s, (3 * h, h)),
        "b": rng.uniform(-s, s, (3 * h,)), "bhn": rng.uniform(-s, s, (h,)),
        "x": rng.uniform(-1, 1, (n, L, d)),
    }
    w = {k: v.astype(np.float32) for k, v in w.items()}
    for k, v in w.items():
        v.tofile(os.path.join(pdir, k + ".f32"))
    return key, pdir, w


def model_flops(d, h, n, L, layers, dirs):
    """flops() of every layer instance: layer 0 reads D features, layer l > 0 dirs*H."""
    return sum(dirs * flops(d if l == 0 else dirs * h, h, n, L) for l in range(layers))


def make_model_point(work, d, h, n, L, layers, dirs, seed):
    """A model point's files for harness.c and peers.py (load_model): instance i = l * dirs + k
    in Wx_i, Wh_i, b_i, bhn_i, MLX's initialisation range, and x [N][L][D]."""
    key = f"H{h}_N{n}_{layers}L{'bi' if dirs == 2 else ''}"
    pdir = os.path.join(work, key)
    os.makedirs(pdir, exist_ok=True)
    rng = np.random.default_rng(seed)
    s = 1.0 / np.sqrt(h)
    for l in range(layers):
        dl = d if l == 0 else dirs * h
        for k in range(dirs):
            i = l * dirs + k
            for name, shape in (("Wx", (3 * h, dl)), ("Wh", (3 * h, h)), ("b", (3 * h,)),
                                ("bhn", (h,))):
                rng.uniform(-s, s, shape).astype(np.float32).tofile(
                    os.path.join(pdir, f"{name}_{i}.f32"))
    rng.uniform(-1, 1, (n, L, d)).astype(np.float32).tofile(os.path.join(pdir, "x.f32"))
    return key, pdir


def gru_gen_env():
    """gru-gen's environment: the virtualenv's bin first on PATH, where it finds python-zig
    (tools/setup.sh installs ziglang), the C compiler of macOS runtimes."""
    bindir = os.path.dirname(sys.executable)
    return dict(os.environ, PATH=os.pathsep.join([bindir, os.environ.get("PATH", "")]))


def gru_gen(out, d, h, n, name, targets="host", extra=()):
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    sh([GRU_GEN, "--input-size", str(d), "--hidden-size", str(h), "--batch", str(n), "--name",
        name, "--target", targets, *extra, "-o", out], env=gru_gen_env())
    return time.perf_counter() - t0


def build_harness(pdir, out, name, level, tag=""):
    exe = os.path.join(pdir, f"harness_{level['name']}{tag}")
    sh(["cc", "-std=c11", "-O2", "-D_POSIX_C_SOURCE=200809L", f"-DLIB={name}", f"-DLIB_UPPER={name.upper()}", "-include",
        os.path.join(out, name + ".h"), "-I", halide_include(), os.path.join(BENCH, "harness.c"),
        os.path.join(out, level["target"], f"lib{name}.a"), "-lpthread", "-ldl", "-lm", "-o", exe])
    return exe


def team_flags(threads):
    """gru-gen's flags for the single-layer points: team step kernels for the most of --threads
    (a library's one-thread kernels are the same with or without them)."""
    return ["--threads-max", str(max(threads))] if max(threads) > 1 else []


def run_harness(exe, pdir, L, threads, out_file, budget, team=None, team_optional=False):
    """The harness's JSON. With team_optional, None where the library has no team of that size
    (gru-gen generates teams only where each member owns whole panels of Wh)."""
    env = dict(os.environ, HL_NUM_THREADS=str(threads))
    env.pop("GRU_BENCH_TEAM", None)
    if team:
        env["GRU_BENCH_TEAM"] = str(team)
    cmd = [exe, pdir, str(L), out_file, str(budget)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0 and team_optional and "no team of that size" in r.stderr:
        return None
    if r.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
    return json.loads(r.stdout)


# ---- oneDNN's lbr_gru (bench/onednn_peer.cpp) -------------------------------------------------

def onednn_prefix():
    """The virtualenv's oneDNN (bench/requirements.txt), or None with why."""
    prefix = sys.prefix
    header = os.path.join(prefix, "include", "oneapi", "dnnl", "dnnl.hpp")
    lib = os.path.join(prefix, "lib", "libdnnl.so")
    if not os.path.isfile(header) or not os.path.isfile(lib):
        return None, f"no {os.path.relpath(header, prefix)} and lib/libdnnl.so in the virtualenv"
    return prefix, None


def build_onednn_peer(work):
    prefix, why = onednn_prefix()
    if prefix is None:
        return None, why
    exe = os.path.join(work, "onednn_peer")
    lib = os.path.join(prefix, "lib")
    sh(["c++", "-std=c++17", "-O2", "-I", os.path.join(prefix, "include"),
        os.path.join(BENCH, "onednn_peer.cpp"), "-L", lib, "-ldnnl", f"-Wl,-rpath,{lib}",
        "-o", exe])
    return exe, None


def run_onednn(exe, p, level, threads, budget, refs):
    """oneDNN at the level's ISA with `threads` OpenMP threads: checked against each of `refs`
    (gru-gen's output for the level, MLX's) within PEER_TOLERANCE, timed only if it matches."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    env.pop("ONEDNN_MAX_CPU_ISA", None)
    if level["onednn_max_isa"]:
        env["ONEDNN_MAX_CPU_ISA"] = level["onednn_max_isa"]
    out_file = os.path.join(p["dir"], f"onednn_{level['name']}_t{threads}.f32")
    model = [str(p["layers"]), str(p["directions"])] if "layers" in p else []
    res = json.loads(sh([exe, p["dir"], str(p["D"]), str(p["H"]), str(p["N"]), str(p["L"]),
                         out_file, str(budget), *model], env=env))
    got = np.fromfile(out_file, np.float32)
    err = max(float(np.max(np.abs(got - r.ravel()))) for r in refs)
    res["max_abs_diff_vs_gru_gen"] = err
    res["verified"] = err <= PEER_TOLERANCE
    if not res["verified"]:
        del res["run"]
    return res


# ---- ARM predictions (gru-gen --emit schedule-report) -----------------------------------------

def has_schedule_report():
    r = subprocess.run([GRU_GEN, "--help"], capture_output=True, text=True)
    return "schedule-report" in r.stdout + r.stderr


def arm_predictions(work, points):
    """What gru-gen's schedule report predicts for each ARM target at each point, as it writes it
    (bench.py prints it, it does not interpret it)."""
    preds = {}
    for p in points:
        for target in ARM_TARGETS:
            out = os.path.join(work, "arm", p["key"], target)
            shutil.rmtree(out, ignore_errors=True)
            r = subprocess.run([GRU_GEN, "--input-size", str(p["D"]), "--hidden-size",
                                str(p["H"]), "--batch", str(p["N"]), "--name", "garm", "--target",
                                target, "--emit", "schedule-report", "-o", out],
                               capture_output=True, text=True, env=gru_gen_env())
            # Beside the library (lib<name>.a, <name>.h): the report's file(s).
            files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(out) for f in fs
                           if "report" in f) if os.path.isdir(out) else []
            text = "".join(open(f, errors="replace").read() for f in files) or r.stdout
            preds.setdefault(p["key"], {})[target] = {
                "ok": r.returncode == 0, "report": text.strip(),
                "error": r.stderr.strip() if r.returncode else None}
    return preds


def ratio(peer, ours):
    return peer / ours if peer and ours else None


def fmt(v, spec):
    return format(v, spec) if v is not None else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", default="64,128,256,512")
    ap.add_argument("--batch", default="1,16")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--targets", default=None,
                    help="comma list of gru-gen targets, one feature level each: host and/or x86 "
                    f"Halide target strings (default: host, and {AVX2_TARGET} where the CPU has "
                    "AVX-512)")
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--step-hidden", default="64,128,256", help="H of the N=1 step latencies")
    ap.add_argument("--budget", type=float, default=0.6, help="seconds per timed measurement")
    ap.add_argument("--results", default=os.path.join(BENCH, "results"))
    ap.add_argument("--no-all-targets", action="store_true",
                    help="skip timing gru-gen for every target at once")
    ap.add_argument("--models", action="store_true",
                    help="only the model points (no single-layer grid, no all-target timing, no "
                    "ARM predictions)")
    ap.add_argument("--no-models", action="store_true", help="skip the model points")
    ap.add_argument("--model-hidden", default="256", help="H (= D) of the model points")
    ap.add_argument("--model-batch", default="1,16", help="N of the model points")
    ap.add_argument("--model-layers", type=int, default=2,
                    help="layers of the model points (each bidirectional)")
    ap.add_argument("--precision-points", action="store_true",
                    help="only the precision x threads points (--weights-precision, teams)")
    ap.add_argument("--no-precision-points", action="store_true",
                    help="skip the precision x threads points")
    ap.add_argument("--precision-hidden", default="128,256,512", help="H (= D) of them")
    ap.add_argument("--precision-batch", default="1,16", help="N of them")
    ap.add_argument("--precisions", default="f32,f16,bf16,int8,w8a8",
                    help="the weight precisions of them (f32 first: the others' reference)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="time every implementation this many times, in turn, and keep each "
                    "one's fastest round (for a loaded machine, or one whose speed drifts)")
    args = ap.parse_args()
    if args.models and args.no_models:
        raise SystemExit("bench: error: --models and --no-models contradict each other")
    if args.precision_points and args.no_precision_points:
        raise SystemExit("bench: error: --precision-points and --no-precision-points contradict "
                         "each other")
    if args.precision_points and args.models:
        raise SystemExit("bench: error: --precision-points and --models each run only their own "
                         "points")
    if args.rounds < 1:
        raise SystemExit("bench: error: --rounds must be at least 1")
    hidden = [int(v) for v in args.hidden.split(",")]
    batches = [int(v) for v in args.batch.split(",")]
    threads = [int(v) for v in args.threads.split(",")]
    step_hidden = {int(v) for v in args.step_hidden.split(",")}
    levels = levels_from(args.targets, cpu_flags())
    L = args.seq_len
    work = os.path.join(ROOT, "build", "bench")
    os.makedirs(work, exist_ok=True)
    os.makedirs(args.results, exist_ok=True)

    info = machine()
    log(f"bench: {cpu_line(info)}, load average {info['loadavg_start'][0]:.2f} (timings are "
        "minima over repetitions)")
    log("bench: levels " + ", ".join(f"{lv['name']} (gru-gen --target {lv['target']})"
                                     for lv in levels))
    for lv in levels:
        lv["peak"] = peak(work, lv, max(threads))
        pk = lv["peak"]
        log(f"bench: {lv['name']}: peak {peak_kind(pk)} {pk['fma_gflops_1_thread']:.1f} GFLOP/s on "
            f"one core, {pk['fma_gflops_all_threads']:.1f} with {pk['threads']} threads")
    build_peer_views(work, levels)
    onednn_exe, onednn_why = build_onednn_peer(work)
    if onednn_exe is None:
        log(f"bench: onednn: not installed ({onednn_why}), skipped")

    if args.precision_points:
        write_precision_report(args, info, measure_precisions(args, work, levels, threads, L))
        return

    points = []
    for h in hidden if not args.models else []:
        for n in batches:
            d = h
            key, pdir, w = make_point(work, d, h, n, L, seed=1000 * h + n)
            name = f"g{key.lower()}"
            ref = mlx_reference(w, h)
            p = {"key": key, "D": d, "H": h, "N": n, "L": L, "dir": pdir,
                 "flops": flops(d, h, n, L), "gen_s": {}, "ours": {}, "onednn": {},
                 "time_step": n == 1 and h in step_hidden,
                 "ours_output": "ours", "wh_bytes": 4 * 3 * h * h, "_ref": ref, "_exe": {}}
            for lv in levels:
                out = os.path.join(pdir, "lib_" + lv["name"])
                gen_s = gru_gen(out, d, h, n, name, lv["target"], team_flags(threads))
                p["gen_s"][lv["name"]] = gen_s
                exe = build_harness(pdir, out, name, lv)
                p["_exe"][lv["name"]] = exe
                time_ours(args, p, lv, threads, onednn_exe, f"generated in {gen_s:.1f} s")
            # The peers of peers.py are checked against the first level's output.
            shutil.copyfile(os.path.join(pdir, f"ours_{levels[0]['name']}_t{threads[0]}.f32"),
                            os.path.join(pdir, "ours.f32"))
            points.append(p)

    model_points, model_peers = [], {}
    if not args.no_models:
        model_points, model_peers = measure_models(args, work, levels, threads, L, onednn_exe)

    all_targets = None
    if not args.no_all_targets and points:
        h = max(hidden)
        n = max(batches)
        secs = gru_gen(os.path.join(work, "all_targets"), h, h, n, "gall",
                       "host,arm64-linux,arm64-macos,metal,opencl")
        all_targets = {"H": h, "D": h, "N": n, "seconds": secs}
        log(f"bench: gru-gen D=H={h} N={n}, all five targets: {secs:.1f} s")

    predictions = None
    if not points:
        pass
    elif has_schedule_report():
        predictions = arm_predictions(work, points)
    else:
        log("bench: ARM predictions: gru-gen has no --emit schedule-report, skipped")

    # Peers, one child process per level and thread count. With --rounds R, gru-gen's and oneDNN's
    # timings of the grid, then the peers', are repeated R times in turn, each implementation
    # keeping its fastest round: a machine whose speed drifts (a VM's) biases no ratio.
    peer_results = {(lv["name"], t): None for lv in levels for t in threads}
    for rnd in range(args.rounds if points else 0):
        if rnd > 0:
            for p in points:
                for lv in levels:  # (the same bytes as round 1's: ours.f32 stands)
                    time_ours(args, p, lv, threads, onednn_exe, f"round {rnd + 1}/{args.rounds}")
        for lv in levels:
            for t in threads:
                key = (lv["name"], t)
                peer_results[key] = merge_peers(peer_results[key],
                                                run_peers(work, points, lv, t, args.budget))
    for p in points:
        del p["_ref"], p["_exe"]
    for lv in levels:
        for t in threads:
            key = (lv["name"], t)
            if points:
                if model_points:
                    peer_results[key]["points"] += model_peers[key]["points"]
            else:
                peer_results[key] = model_peers[key]
            onednn_meta = {"available": onednn_exe is not None}
            if onednn_exe:
                first = (points + model_points)[0]["onednn"][key]
                onednn_meta.update(version=first["version"], isa=first["isa"])
            else:
                onednn_meta["why"] = onednn_why
            peer_results[key]["peers"]["onednn"] = onednn_meta

    info["loadavg_end"] = os.getloadavg()
    report(args, info, levels, points, model_points, threads, peer_results, all_targets,
           predictions)
    if not args.models and not args.no_precision_points:
        write_precision_report(args, info, measure_precisions(args, work, levels, threads, L))


def time_pool_and_team(exe, pdir, L, t, level, key, budget, one):
    """gru-gen's library (harness exe) with t threads: on Halide's pool and, with 2+ threads, on a
    persistent team of t where the library has one; every output must repeat the one-thread bytes
    `one` (None: this is the one-thread run, whose bytes it becomes). Returns the faster result
    ("threads_by": "pool" or "team") and the one-thread bytes; the pool's output is left in
    ours_<level>_t<t>.f32."""
    res = None
    for team in ([None, t] if t > 1 else [None]):
        way = "team" if team else "pool"
        out_file = os.path.join(pdir, f"ours_{level}_t{t}_{way}.f32")
        r = run_harness(exe, pdir, L, t, out_file, budget, team=team, team_optional=True)
        if r is None:
            log(f"bench: {level} {key} T={t}: no team of {t} for this shape")
            continue
        with open(out_file, "rb") as f:
            raw = f.read()
        one = raw if one is None else one
        if raw != one:
            raise SystemExit(f"bench: gru-gen ({level}) {key}: {t} threads ({way}) differ from "
                             "one thread")
        r["threads_by"] = way
        if res is not None:
            log(f"bench: {level} {key} T={t}: gru-gen run {res['run']['min_s'] * 1e3:.3f} ms "
                f"({res['threads_by']}), {r['run']['min_s'] * 1e3:.3f} ms ({way})")
        if res is None or r["run"]["min_s"] < res["run"]["min_s"]:
            res = r
    shutil.copyfile(os.path.join(pdir, f"ours_{level}_t{t}_pool.f32"),
                    os.path.join(pdir, f"ours_{level}_t{t}.f32"))
    return res, one


def time_ours(args, p, lv, threads, onednn_exe, note):
    """Times gru-gen's library of level lv at point p with each thread count (with 2+ threads, by
    Halide's pool and by a persistent team, keeping the faster), checks every output against
    mlx.nn.GRU and the one-thread bytes, and oneDNN beside it; each result replaces the one in p
    only if faster (the rounds of --rounds)."""
    key, pdir, ref, exe, L = p["key"], p["dir"], p["_ref"], p["_exe"][lv["name"]], p["L"]
    one = None  # the one-thread output's bytes, which every other way must repeat
    for t in threads:
        res, one = time_pool_and_team(exe, pdir, L, t, lv["name"], key, args.budget, one)
        got = np.fromfile(os.path.join(pdir, f"ours_{lv['name']}_t{t}.f32"),
                          np.float32).reshape(ref.shape)
        err = float(np.max(np.abs(got - ref)))
        if err > OURS_TOLERANCE:
            raise SystemExit(f"bench: gru-gen ({lv['name']}) {key} differs from "
                             f"mlx.nn.GRU by {err}")
        res["max_abs_diff_vs_mlx"] = err
        p["ours"][(lv["name"], t)] = faster(p["ours"].get((lv["name"], t)), res)
        msg = (f"bench: {lv['name']} {key} T={t}: gru-gen run {res['run']['min_s'] * 1e3:.3f} ms "
               f"({res['threads_by']}; |gru-gen - mlx| = {err:.1e}), {note}")
        if onednn_exe:
            od = run_onednn(onednn_exe, p, lv, t, args.budget, [got, ref])
            p["onednn"][(lv["name"], t)] = faster(p["onednn"].get((lv["name"], t)), od)
            msg += (f"; onednn ({od['isa']}, {od['impl']}) max |peer - gru-gen| = "
                    f"{od['max_abs_diff_vs_gru_gen']:.2e}" +
                    (f", run {od['run']['min_s'] * 1e3:.3f} ms" if od["verified"]
                     else " MISMATCH, not timed"))
        log(msg)


def merge_peers(old, new):
    """peers.py's results of two rounds over the same points: each peer's faster run."""
    if old is None:
        return new
    for o, n in zip(old["points"], new["points"]):
        for name, r in n["peers"].items():
            o["peers"][name] = faster(o["peers"].get(name), r)
    return old


def faster(old, new):
    """Of two results of one implementation at one point (rounds of --rounds), the one with the
    shorter run (a result without a run, a peer that did not match, is kept only if both are)."""
    if old is None or (new.get("run") and (not old.get("run") or
                                           new["run"]["min_s"] < old["run"]["min_s"])):
        return new
    return old


def run_peers(work, points, lv, t, budget, tag="", only=None):
    """peers.py in a child process with `t` threads over `points` (only the peers named in
    `only`, if given), in level lv's view of the CPU; its JSON result."""
    tag = f"{tag}_{lv['name']}"
    pts = os.path.join(work, f"points{tag}.json")
    json.dump([{k: p[k] for k in ("key", "D", "H", "N", "L", "dir", "ours_output", "time_step",
                                  "layers", "directions") if k in p} for p in points],
              open(pts, "w"))
    res_file = os.path.join(work, f"peers{tag}_t{t}.json")
    sh([sys.executable, os.path.join(BENCH, "peers.py"), "--threads", str(t), "--points", pts,
        "--out", res_file, "--budget", str(budget), *(["--only", only] if only else []),
        *(["--isa-view", lv["peer_view"]] if lv["peer_view"] else [])],
       env=lv["peer_env"], capture=False)
    return json.load(open(res_file))


def measure_models(args, work, levels, threads, L, onednn_exe):
    """The model points: gru-gen's library for each level (with team kernels for the most of
    --threads), checked against ONNX Runtime (<= 1e-5), timed by the harness (with 2+ threads on
    Halide's pool and with a persistent team, keeping the faster; both must repeat the one-thread
    bytes); oneDNN and peers.py's peers checked against it and timed.
    With --rounds R, the timings (gru-gen's, oneDNN's, then peers.py's) are repeated R times one
    after the other, each implementation keeping its fastest round: on a loaded machine no
    implementation is measured only at its worst moment. Returns the points and peers.py's
    results per level and thread count."""
    sys.path.insert(0, BENCH)
    import peers as peers_mod
    layers, dirs = args.model_layers, 2
    points = []
    for h in [int(v) for v in args.model_hidden.split(",")]:
        for n in [int(v) for v in args.model_batch.split(",")]:
            d = h
            key, pdir = make_model_point(work, d, h, n, L, layers, dirs,
                                         seed=1000 * h + n + 7 * layers)
            name = f"g{key.lower()}"
            p = {"key": key, "D": d, "H": h, "N": n, "L": L, "dir": pdir, "layers": layers,
                 "directions": dirs, "flops": model_flops(d, h, n, L, layers, dirs),
                 "gen_s": {}, "exe": {}, "ours": {}, "onednn": {}, "time_step": False,
                 "ours_output": "ours",
                 "ref": peers_mod.onnx_stack_reference(peers_mod.load_model(pdir, d, h, n, L,
                                                                            layers, dirs))}
            for lv in levels:
                out = os.path.join(pdir, "lib_" + lv["name"])
                p["gen_s"][lv["name"]] = gru_gen(out, d, h, n, name, lv["target"],
                                                 ["--layers", str(layers), "--bidirectional"] +
                                                 team_flags(threads))
                p["exe"][lv["name"]] = build_harness(pdir, out, name, lv)
            points.append(p)

    peer_results = {(lv["name"], t): None for lv in levels for t in threads}
    for rnd in range(args.rounds):
        for p in points:
            for lv in levels:
                one = None  # the one-thread output's bytes, which every other way must repeat
                for t in threads:
                    res, one = time_pool_and_team(p["exe"][lv["name"]], p["dir"], L, t,
                                                  lv["name"], p["key"], args.budget, one)
                    got = np.fromfile(os.path.join(p["dir"], f"ours_{lv['name']}_t{t}.f32"),
                                      np.float32).reshape(p["ref"].shape)
                    err = float(np.max(np.abs(got - p["ref"])))
                    if err > OURS_TOLERANCE:
                        raise SystemExit(f"bench: gru-gen ({lv['name']}) {p['key']} differs "
                                         f"from ONNX Runtime by {err}")
                    res["max_abs_diff_vs_onnxruntime"] = err
                    p["ours"][(lv["name"], t)] = faster(p["ours"].get((lv["name"], t)), res)
                    msg = (f"bench: round {rnd + 1}/{args.rounds} {lv['name']} {p['key']} T={t}: "
                           f"gru-gen run_ex {res['run']['min_s'] * 1e3:.3f} ms "
                           f"({res['threads_by']}; |gru-gen - "
                           f"onnxruntime| = {err:.1e}), generated in "
                           f"{p['gen_s'][lv['name']]:.1f} s")
                    if onednn_exe:
                        od = run_onednn(onednn_exe, p, lv, t, args.budget, [got])
                        p["onednn"][(lv["name"], t)] = faster(p["onednn"].get((lv["name"], t)),
                                                              od)
                        msg += (f"; onednn ({od['isa']}, {od['impl']}) max |peer - gru-gen| = "
                                f"{od['max_abs_diff_vs_gru_gen']:.2e}" +
                                (f", run {od['run']['min_s'] * 1e3:.3f} ms" if od["verified"]
                                 else " MISMATCH, not timed"))
                    log(msg)
            shutil.copyfile(os.path.join(p["dir"], f"ours_{levels[0]['name']}_t{threads[0]}.f32"),
                            os.path.join(p["dir"], "ours.f32"))
        for lv in levels:
            for t in threads:
                peer_results[(lv["name"], t)] = merge_peers(
                    peer_results[(lv["name"], t)],
                    run_peers(work, points, lv, t, args.budget, "_models"))
    for p in points:
        del p["ref"], p["exe"]
    return points, peer_results


MODEL_PEERS = ["onnxruntime", "torch", "onednn"]

# ---- precision x threads (gru-gen --weights-precision, teams) ---------------------------------

# Bytes per weight of each --weights-precision; int8 adds a float32 scale per output row, w8a8
# a scale and an integer sum.
WEIGHT_BYTES = {"f32": 4, "f16": 2, "bf16": 2, "int8": 1, "w8a8": 1}


def precision_wh_bytes(h, precision, k=None):
    """Bytes of a [3H][k] weight matrix (k = H: Wh) stored in `precision`."""
    rows = {"int8": 4, "w8a8": 8}.get(precision, 0)
    return WEIGHT_BYTES[precision] * 3 * h * (h if k is None else k) + rows * 3 * h


def convert_ns(pk, precision):
    """peak.c's cost of one stored weight of `precision`, converted and multiplied (0 where the
    kernels multiply the weights as stored: float32, w8a8)."""
    return pk.get("convert_fma_ns_per_weight", {}).get(precision, 0.0)


def mac_ns(pk, precision):
    """peak.c's cost of one of w8a8's integer products (0 for the float precisions, whose
    products the roofline counts at the float32 FMA peak)."""
    return pk.get("w8a8_product_ns_per_weight", 0.0) if precision == "w8a8" else 0.0


def measure_precisions(args, work, levels, threads, L):
    """The precision points: for each level, H (= D) in --precision-hidden, N in
    --precision-batch and weight precision in --precisions, gru-gen's library generated with
    --weights-precision P --threads-max (the most of --threads), run by the harness with a team of
    T threads for each T of --threads (T = 1: no team; HL_NUM_THREADS=T for the projection),
    timing run and, at N=1, step. Each output's largest difference from mlx.nn.GRU in float32 is
    recorded (float32 must stay within 1e-5; the others' bounds are the tests'), and each point's
    roofline counts the bytes its precision streams and the conversions it makes (convert_ns);
    "max x f32" is float32's measured time over that bound: the most the precision could gain on
    this core. ONNX Runtime (float32, T threads) is the peer. Writes
    RESULTS/precision.{md,csv,json}."""
    precisions = [v for v in args.precisions.split(",") if v]
    for prec in precisions:
        if prec not in WEIGHT_BYTES:
            raise SystemExit(f"bench: error: --precisions: '{prec}' is none of "
                             f"{', '.join(WEIGHT_BYTES)}")
    team_max = max(threads)
    # The levels peak.c measured weight conversions at (none at SSE4.1: no float16 conversion).
    for lv in levels:
        if "convert_fma_ns_per_weight" not in lv["peak"]:
            log(f"bench: {lv['name']}: no precision points (peak.c measures no weight "
                f"conversions at {lv['peak']['isa']})")
    levels = [lv for lv in levels if "convert_fma_ns_per_weight" in lv["peak"]]
    points, rows = [], []
    for h in [int(v) for v in args.precision_hidden.split(",")]:
        for n in [int(v) for v in args.precision_batch.split(",")]:
            d = h
            key, pdir, w = make_point(work, d, h, n, L, seed=1000 * h + n)
            ref = mlx_reference(w, h)
            p = {"key": key, "D": d, "H": h, "N": n, "L": L, "dir": pdir,
                 "time_step": n == 1, "ours_output": "ours_precision", "ours": {}}
            for lv in levels:
                for prec in precisions:
                    name = f"g{key.lower()}{prec}"
                    out = os.path.join(pdir, f"lib_{lv['name']}_{prec}")
                    extra = ["--weights-precision", prec]
                    teams = threads
                    if team_max > 1:
                        extra += ["--threads-max", str(team_max)]
                    gen_s = gru_gen(out, d, h, n, name, lv["target"], extra)
                    exe = build_harness(pdir, out, name, lv, tag=prec)
                    one = None  # the one-thread output's bytes, which a team must repeat
                    for t in teams:
                        out_file = os.path.join(pdir, f"ours_{lv['name']}_{prec}_t{t}.f32")
                        res = run_harness(exe, pdir, L, t, out_file, args.budget,
                                          team=t if t > 1 else None, team_optional=True)
                        if res is None:
                            log(f"bench: precision {lv['name']} {key} {prec}: no team of {t} "
                                "for this shape")
                            continue
                        with open(out_file, "rb") as f:
                            raw = f.read()
                        if t == 1:
                            one = raw
                        elif one is not None and raw != one:
                            raise SystemExit(f"bench: gru-gen ({lv['name']}, {prec}) {key}: the "
                                             f"team of {t} differs from one thread")
                        got = np.frombuffer(raw, np.float32).reshape(ref.shape)
                        err = float(np.max(np.abs(got - ref)))
                        if prec == "f32" and err > OURS_TOLERANCE:
                            raise SystemExit(f"bench: gru-gen ({lv['name']}, f32) {key} differs "
                                             f"from mlx.nn.GRU by {err}")
                        res["max_abs_diff_vs_mlx"] = err
                        res["gen_s"] = gen_s
                        p["ours"][(lv["name"], prec, t)] = res
                        log(f"bench: precision {lv['name']} {key} {prec} T={t}: run "
                            f"{res['run']['min_s'] * 1e3:.3f} ms" +
                            (f", step {res['step']['min_s'] * 1e6:.2f} us" if n == 1 else "") +
                            f" (|gru-gen - mlx float32| = {err:.1e})")
            # The peer is checked against gru-gen's float32 output on the first level.
            if "f32" in precisions:
                shutil.copyfile(
                    os.path.join(pdir, f"ours_{levels[0]['name']}_f32_t{threads[0]}.f32"),
                    os.path.join(pdir, "ours_precision.f32"))
            points.append(p)
    peers = {(lv["name"], t): run_peers(work, points, lv, t, args.budget, "_precision",
                                        only="onnxruntime")
             for lv in levels for t in threads} if "f32" in precisions else {}
    for lv in levels:
        pk = lv["peak"]
        for p in points:
            h = p["H"]
            for t in threads:
                base = p["ours"].get((lv["name"], "f32", t))
                ort = None
                if (lv["name"], t) in peers:
                    e = next(e for e in peers[(lv["name"], t)]["points"]
                             if e["key"] == p["key"])
                    ort = e["peers"].get("onnxruntime")
                    ort = ort if ort and ort.get("verified") else None
                for prec in precisions:
                    r = p["ours"].get((lv["name"], prec, t))
                    if r is None:  # no team of t for this shape (members own whole panels)
                        continue
                    q = dict(p, wh_bytes=precision_wh_bytes(h, prec))
                    conv, mac = convert_ns(pk, prec), mac_ns(pk, prec)
                    bound = roofline_s(pk, q, t, WEIGHT_BYTES[prec], conv, mac)
                    row = {"level": lv["name"], "target": lv["target"], "H": h, "D": p["D"],
                           "N": p["N"], "L": p["L"], "threads": t, "precision": prec,
                           "run_ms": r["run"]["min_s"] * 1e3,
                           "run_vs_f32": ratio(base["run"]["min_s"], r["run"]["min_s"])
                           if base else None,
                           "roofline_ms": bound * 1e3,
                           "pct_roofline": 100 * bound / r["run"]["min_s"],
                           "convert_ns_per_weight": conv or mac,
                           "run_vs_f32_max": ratio(base["run"]["min_s"], bound)
                           if base and prec != "f32" else None,
                           "max_abs_diff_vs_mlx_f32": r["max_abs_diff_vs_mlx"],
                           "onnxruntime_f32_ms": ort["run"]["min_s"] * 1e3 if ort else None,
                           "onnxruntime_ratio": ratio(ort["run"]["min_s"], r["run"]["min_s"])
                           if ort else None}
                    if "step" in r and p["N"] == 1:
                        # A step call projects its input (Wx) and steps (Wh): it reads both,
                        # converting each weight, and the FLOPs of both.
                        d = p["D"]
                        share = (q["wh_bytes"] + precision_wh_bytes(h, prec, d)) / t
                        step_bound = max(compute_s(pk, t, 1, 3 * h * (d + h), h, conv, mac),
                                         share / (bandwidth_for(pk, share, True) * 1e9))
                        row.update(step_us=r["step"]["min_s"] * 1e6,
                                   step_vs_f32=ratio(base["step"]["min_s"], r["step"]["min_s"])
                                   if base else None,
                                   step_vs_f32_max=ratio(base["step"]["min_s"], step_bound)
                                   if base and prec != "f32" else None,
                                   step_bound_us=step_bound * 1e6,
                                   onnxruntime_step_us=ort["step"]["min_s"] * 1e6
                                   if ort and "step" in ort else None)
                    rows.append(row)
    return rows


def convert_line(rows):
    """Each level's cost per converted weight (w8a8: per integer product), as the precision rows
    recorded it."""
    costs = {}
    for r in rows:
        if r["convert_ns_per_weight"]:
            costs.setdefault(r["level"], {})[r["precision"]] = r["convert_ns_per_weight"]
    return "; ".join(f"{lv} " + ", ".join(f"{p} {16 * ns:.3f} ns per 16 weights"
                                          for p, ns in c.items())
                     for lv, c in costs.items()) or "no conversions"


def write_precision_report(args, info, rows):
    res = args.results
    keys = sorted({k for r in rows for k in r})
    with open(os.path.join(res, "precision.csv"), "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=keys)
        wr.writeheader()
        wr.writerows(rows)
    json.dump({"machine": info, "rows": rows}, open(os.path.join(res, "precision.json"), "w"),
              indent=1, default=str)
    lines = [f"machine: {cpu_line(info)}; load average {info['loadavg_start'][0]:.2f} -> "
             f"{os.getloadavg()[0]:.2f}",
             "",
             "precision x threads: run (L=%d, D=H), and at N=1 one step (its input's "
             "projection and the step); x f32 = float32 gru-gen's time / this one's (same level "
             "and threads); bound = the roofline for the bytes this precision streams and the "
             "conversions it makes, w8a8's integer products at their own rate (peak.c: %s); "
             "max x f32 = float32's time / this bound, the most this precision can gain here; "
             "err = max |gru-gen - mlx.nn.GRU float32|; ONNX Runtime in float32 with the same "
             "threads" % (rows[0]["L"], convert_line(rows))
             if rows else "",
             "",
             "| level | H | N | thr | weights | run ms | x f32 | max x f32 | roofline % | step us "
             "| x f32 | max x f32 | step bound us | err | onnxruntime f32 ms (x) | ort step us |",
             "| -- | --: | --: | --: | -- | --: | --: | --: | --: | --: | --: | --: | --: | --: "
             "| --: | --: |"]
    for r in rows:
        lines.append(
            f"| {r['level']} | {r['H']} | {r['N']} | {r['threads']} | {r['precision']} | "
            f"{r['run_ms']:.3f} | {fmt(r['run_vs_f32'], '.2f')} | "
            f"{fmt(r.get('run_vs_f32_max'), '.2f')} | {r['pct_roofline']:.0f}% | "
            f"{fmt(r.get('step_us'), '.2f')} | {fmt(r.get('step_vs_f32'), '.2f')} | "
            f"{fmt(r.get('step_vs_f32_max'), '.2f')} | "
            f"{fmt(r.get('step_bound_us'), '.2f')} | {r['max_abs_diff_vs_mlx_f32']:.1e} | "
            f"{fmt(r['onnxruntime_f32_ms'], '.3f')} ({fmt(r['onnxruntime_ratio'], '.2f')}) | "
            f"{fmt(r.get('onnxruntime_step_us'), '.2f')} |")
    text = "\n".join(lines)
    open(os.path.join(res, "precision.md"), "w").write(text + "\n")
    print(text)


def point_peers(p, lv, t, peer_results):
    """The peers' results at point p with t threads: bench/peers.py's, and oneDNN's at level lv."""
    peers = dict(next(e for e in peer_results[(lv["name"], t)]["points"]
                      if e["key"] == p["key"])["peers"])
    if (lv["name"], t) in p["onednn"]:
        peers["onednn"] = p["onednn"][(lv["name"], t)]
    return peers


def model_rows(levels, model_points, threads, peer_results):
    rows = []
    for lv in levels:
        core_peak = lv["peak"]["fma_gflops_1_thread"]
        for p in model_points:
            for t in threads:
                ours = p["ours"][(lv["name"], t)]
                ours_s = ours["run"]["min_s"]
                peers = point_peers(p, lv, t, peer_results)
                row = {"level": lv["name"], "target": lv["target"], "layers": p["layers"],
                       "directions": p["directions"], "H": p["H"], "D": p["D"], "N": p["N"],
                       "L": p["L"], "threads": t, "gru_gen_ms": ours_s * 1e3,
                       "gru_gen_median_ms": ours["run"]["median_s"] * 1e3,
                       "gru_gen_vs_onnxruntime": ours["max_abs_diff_vs_onnxruntime"],
                       "gru_gen_threads_by": ours["threads_by"]}
                for name in MODEL_PEERS:
                    r = peers.get(name)
                    ms = r["run"]["min_s"] * 1e3 if r and r.get("verified") else None
                    row[f"{name}_ms"] = ms
                    row[f"{name}_ratio"] = ratio(ms, row["gru_gen_ms"])
                    row[f"{name}_max_abs_diff"] = r["max_abs_diff_vs_gru_gen"] if r else None
                gflops = p["flops"] / ours_s * 1e-9
                row["gflops"] = gflops
                row["pct_peak"] = 100 * gflops / (core_peak * t)
                row["gru_gen_s"] = p["gen_s"][lv["name"]]
                rows.append(row)
    return rows


def report(args, info, levels, points, model_points, threads, peer_results, all_targets,
           predictions):
    mrows = model_rows(levels, model_points, threads, peer_results)
    rows, step_rows = [], []
    for lv in levels:
        pk = lv["peak"]
        core_peak = pk["fma_gflops_1_thread"]
        for p in points:
            for t in threads:
                ours = p["ours"][(lv["name"], t)]
                ours_s = ours["run"]["min_s"]
                peers = point_peers(p, lv, t, peer_results)
                row = {"level": lv["name"], "target": lv["target"], "H": p["H"], "D": p["D"],
                       "N": p["N"], "L": p["L"], "threads": t, "gru_gen_ms": ours_s * 1e3,
                       "gru_gen_median_ms": ours["run"]["median_s"] * 1e3,
                       "gru_gen_threads_by": ours["threads_by"]}
                best = None
                for name in PEER_NAMES:
                    r = peers.get(name)
                    ms = r["run"]["min_s"] * 1e3 if r and r.get("verified") else None
                    row[f"{name}_ms"] = ms
                    row[f"{name}_ratio"] = ratio(ms, row["gru_gen_ms"])
                    if ms is not None and (best is None or ms < best[1]):
                        best = (name, ms)
                row["fastest_peer"] = best[0] if best else None
                row["fastest_peer_ratio"] = ratio(best[1], row["gru_gen_ms"]) if best else None
                gflops = p["flops"] / ours_s * 1e-9
                row["gflops"] = gflops
                row["pct_peak"] = 100 * gflops / (core_peak * t)
                bound = roofline_s(pk, p, t)
                row["roofline_ms"] = bound * 1e3
                row["pct_roofline"] = 100 * bound / ours_s
                # The projection kernel alone (rows x D x 3H GEMM), against t cores' peak.
                rows_per_call = ours["projection_rows"]
                proj_flops = 2 * rows_per_call * p["D"] * 3 * p["H"]
                row["projection_pct_peak"] = 100 * proj_flops / ours["projection_kernel"]["min_s"] \
                    * 1e-9 / (core_peak * t)
                # One recurrent step alone, against the time to stream Wh once from the cache
                # level it lives in (one core's read bandwidth for its size) or the FMA peak,
                # whichever bounds it.
                step_flops = 2 * p["N"] * p["H"] * 3 * p["H"]
                bound_s = max(p["wh_bytes"] / (bandwidth_for(pk, p["wh_bytes"]) * 1e9),
                              step_flops / (core_peak * 1e9))
                row["step_kernel_us"] = ours["step_kernel"]["min_s"] * 1e6
                row["step_bound_us"] = bound_s * 1e6
                row["step_pct_bound"] = 100 * bound_s / ours["step_kernel"]["min_s"]
                row["gru_gen_s"] = p["gen_s"][lv["name"]]
                rows.append(row)
                if p["time_step"]:
                    srow = {"level": lv["name"], "H": p["H"], "N": p["N"], "threads": t,
                            "gru_gen_us": ours["step"]["min_s"] * 1e6}
                    for name in PEER_NAMES:
                        r = peers.get(name)
                        us = r["step"]["min_s"] * 1e6 if r and r.get("verified") and "step" in r \
                            else None
                        srow[f"{name}_us"] = us
                        srow[f"{name}_ratio"] = ratio(us, srow["gru_gen_us"])
                    step_rows.append(srow)

    res = args.results
    for fname, rs in (("results.csv", rows), ("step.csv", step_rows), ("models.csv", mrows)):
        if not rs and (fname != "step.csv" or not rows):
            continue  # a run without these points leaves an earlier run's file as it was
        with open(os.path.join(res, fname), "w", newline="") as f:
            wr = csv.DictWriter(f, fieldnames=list(rs[0]) if rs else ["level"])
            wr.writeheader()
            wr.writerows(rs)
    # JSON keys: "<level> T=<threads>".
    peers_meta = {f"{lv} T={t}": r["peers"] for (lv, t), r in peer_results.items()}
    verification = {f"{lv} T={t}": {e["key"]: {n: r["max_abs_diff_vs_gru_gen"]
                                               for n, r in e["peers"].items()}
                                    for e in r["points"]}
                    for (lv, t), r in peer_results.items()}
    for (lvn, t), r in peer_results.items():
        for p in points + model_points:
            od = p["onednn"].get((lvn, t))
            if od:
                verification[f"{lvn} T={t}"][p["key"]]["onednn"] = od["max_abs_diff_vs_gru_gen"]
    level_meta = {lv["name"]: {k: lv[k] for k in ("target", "isa", "onednn_max_isa", "peak",
                                                  "peer_view")}
                  for lv in levels}
    json.dump({"machine": info, "levels": level_meta, "peers": peers_meta,
               "verification": verification, "gru_gen_all_targets": all_targets,
               "arm_predictions": predictions, "run": rows, "step": step_rows,
               "models": mrows},
              open(os.path.join(res, "results.json" if rows else "models.json"), "w"), indent=1)

    def line(cells):
        return "| " + " | ".join(cells) + " |"

    out = [f"machine: {cpu_line(info)}; load average {info['loadavg_start'][0]:.2f} -> "
           f"{info['loadavg_end'][0]:.2f}", ""]
    for lv in levels if rows else []:
        pk = lv["peak"]
        core_peak = pk["fma_gflops_1_thread"]
        out.append(f"level {lv['name']} (gru-gen --target {lv['target']}; peak {peak_kind(pk)} "
                   f"{core_peak:.1f} GFLOP/s/core" +
                   (f"; oneDNN with ONEDNN_MAX_CPU_ISA={lv['onednn_max_isa']}"
                    if lv["onednn_max_isa"] else "") + ")")
        out.append(f"run, L={points[0]['L']}, D=H, fp32 (min over repetitions; with 2+ threads "
                   "gru-gen's faster of Halide's thread pool and a persistent team (\"team\"); "
                   f"ratio = peer / gru-gen; % peak of {core_peak:.0f} GFLOP/s per core x threads; roofline = "
                   "the sum over its kernels of max(FLOPs / peak, bytes / bandwidth), % = roofline / gru-gen)")
        head = ["H", "N", "thr", "gru-gen ms"] + [f"{n} ms (x)" for n in PEER_NAMES] + \
            ["GFLOP/s", "% peak", "roofline ms (%)", "proj % peak", "step µs / bound µs"]
        out.append(line(head))
        out.append(line(["--:"] * len(head)))
        for r in (r for r in rows if r["level"] == lv["name"]):
            cells = [str(r["H"]), str(r["N"]), str(r["threads"]),
                     f"{r['gru_gen_ms']:.3f}" + (" team" if r["gru_gen_threads_by"] == "team"
                                                 else "")]
            for n in PEER_NAMES:
                cells.append(f"{fmt(r[n + '_ms'], '.3f')} ({fmt(r[n + '_ratio'], '.1f')}x)")
            cells += [f"{r['gflops']:.1f}", f"{r['pct_peak']:.0f}%",
                      f"{r['roofline_ms']:.3f} ({r['pct_roofline']:.0f}%)",
                      f"{r['projection_pct_peak']:.0f}%",
                      f"{r['step_kernel_us']:.2f} / {r['step_bound_us']:.2f} "
                      f"({r['step_pct_bound']:.0f}%)"]
            out.append(line(cells))
        out.append("")
    if step_rows:
        out.append("step latency, N=1 (one call, h in/out)")
        head = ["level", "H", "thr", "gru-gen µs"] + \
            [f"{n} µs (x)" for n in PEER_NAMES if n != "onednn"]
        out.append(line(head))
        out.append(line(["--:"] * len(head)))
        for r in step_rows:
            cells = [r["level"], str(r["H"]), str(r["threads"]), f"{r['gru_gen_us']:.2f}"]
            for n in PEER_NAMES:
                if n != "onednn":
                    cells.append(f"{fmt(r[n + '_us'], '.1f')} ({fmt(r[n + '_ratio'], '.0f')}x)")
            out.append(line(cells))
        out.append("")
    if mrows:
        p0 = model_points[0]
        out.append(f"models: {p0['layers']} layers, bidirectional, L={p0['L']}, D=H, fp32: run_ex "
                   f"(whole model, no lengths, zero initial state; min over repetitions of "
                   f"{args.budget:g} s and {args.rounds} round{'s' if args.rounds > 1 else ''}; with "
                   "2+ threads gru-gen's faster of Halide's thread pool and a persistent team "
                   "(\"team\"); ratio = "
                   "peer / gru-gen; gru-gen checked against ONNX Runtime <= 1e-5, each peer "
                   "against gru-gen <= 1e-4 before it was timed)")
        head = ["level", "H", "N", "thr", "gru-gen ms"] + \
            [f"{n} ms (x)" for n in MODEL_PEERS] + ["GFLOP/s", "% peak"]
        out.append(line(head))
        out.append(line(["--:"] * len(head)))
        for r in mrows:
            cells = [r["level"], str(r["H"]), str(r["N"]), str(r["threads"]),
                     f"{r['gru_gen_ms']:.3f}" + (" team" if r["gru_gen_threads_by"] == "team"
                                                 else "")]
            for n in MODEL_PEERS:
                cells.append(f"{fmt(r[n + '_ms'], '.3f')} ({fmt(r[n + '_ratio'], '.2f')}x)")
            cells += [f"{r['gflops']:.1f}", f"{r['pct_peak']:.0f}%"]
            out.append(line(cells))
        out.append("")
    for lv in levels:
        pk = lv["peak"]
        out.append(f"{lv['name']}: peak {peak_kind(pk)} {pk['fma_gflops_1_thread']:.1f} "
                   f"GFLOP/s/core ({pk['fma_gflops_all_threads']:.1f} with {pk['threads']} "
                   f"threads); gru-gen --target {lv['target']}: at most "
                   f"{max(p['gen_s'][lv['name']] for p in points + model_points):.1f} s per spec")
    out.append(f"caches: L1d {info.get('L1d cache')}, L2 {info.get('L2 cache')}, L3 "
               f"{info.get('L3 cache')}" +
               (f"; all five targets for D=H={all_targets['H']} N={all_targets['N']}: "
                f"{all_targets['seconds']:.1f} s" if all_targets else ""))
    first = peer_results[(levels[0]["name"], threads[0])]["peers"]
    versions = ", ".join(f"{n} {m['version']}" if m.get("available") else f"{n}: not installed"
                         for n, m in first.items())
    out.append(f"peers: {versions}; each matched gru-gen within 1e-4 before it was timed")
    for lv in levels:
        out.append(f"{lv['name']}: " + peer_view_line(lv, [peer_results[(lv['name'], t)]
                                                           for t in threads]))
    if predictions:
        out.append("")
        out.append("ARM predictions (gru-gen --emit schedule-report; nothing here was measured):")
        for key, by_target in predictions.items():
            for target, pr in by_target.items():
                body = pr["report"] if pr["ok"] else f"failed: {pr['error']}"
                out.append(f"- {key} {target}: " + body.replace("\n", "\n    "))
    text = "\n".join(out)
    print(text)
    open(os.path.join(res, "table.md" if rows else "models.md"), "w").write(text + "\n")
    if rows:
        chart(rows, levels, threads, os.path.join(res, "chart.png"), info)


def peer_view_line(lv, results):
    """How a level's peers ran: the CPU view, and which peers the kernel saw using AVX-512
    registers (peers.py's probe; oneDNN is limited by ONEDNN_MAX_CPU_ISA instead)."""
    seen = sorted({name for r in results for name, m in r["peers"].items()
                   if (m.get("avx512_probe") or {}).get("avx512_seen")})
    probed = any(m.get("avx512_probe") for r in results for m in r["peers"].values())
    pv = PEER_VIEWS.get(lv["peer_view"])
    view = (f"peers in an {pv['title']} view of this CPU (bench/cpuid_view.c: CPUID without "
            f"{pv['without']}; IREE compiled for {IREE_TARGET_CPU[lv['peer_view']]})" if pv else
            "peers at this CPU's own ISA")
    if lv["onednn_max_isa"]:
        view += f"; oneDNN with ONEDNN_MAX_CPU_ISA={lv['onednn_max_isa']}"
    if probed:
        view += ("; AVX-512 registers seen in use (kernel's /proc arch_status, probe of 10 calls): "
                 + (", ".join(seen) if seen else "by none"))
    return view


def chart(rows, levels, threads, path, info):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(levels), len(threads),
                             figsize=(6.5 * len(threads), 4.2 * len(levels)), squeeze=False)
    names = ["gru-gen"] + PEER_NAMES
    colors = ["#d62728", "#7f7f7f", "#1f77b4", "#ff7f0e", "#9467bd", "#2ca02c"]
    width = 0.8 / len(names)
    for li, lv in enumerate(levels):
        for ax, t in zip(axes[li], threads):
            sel = [r for r in rows if r["threads"] == t and r["level"] == lv["name"]]
            labels = [f"H={r['H']}\nN={r['N']}" for r in sel]
            for i, name in enumerate(names):
                key = "gru_gen_ms" if name == "gru-gen" else f"{name}_ms"
                vals = [r[key] if r[key] is not None else 0 for r in sel]
                ax.bar([x + (i - (len(names) - 1) / 2) * width for x in range(len(sel))], vals,
                       width, label=name, color=colors[i])
            ax.hlines([r["roofline_ms"] for r in sel], [x - 0.45 for x in range(len(sel))],
                      [x + 0.45 for x in range(len(sel))], colors="k", linestyles="dashed",
                      label="roofline")
            ax.set_yscale("log")
            ax.set_xticks(range(len(sel)))
            ax.set_xticklabels(labels, fontsize=8)
            ax.set_ylabel("run, L=128, ms (log; lower is better)")
            ax.set_title(f"{lv['name']}, {t} thread{'s' if t > 1 else ''}")
            ax.grid(axis="y", which="both", alpha=0.3)
            ax.legend(fontsize=7)
    fig.suptitle(f"GRU layer, fp32, D=H, L=128\n{cpu_line(info)}, load average "
                 f"{info['loadavg_start'][0]:.2f} -> {info['loadavg_end'][0]:.2f}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
