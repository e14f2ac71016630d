"""gru-gen against its peers, side by side, and against the machine's limits (bench/run.sh).

For every point (fp32, L=128, D=H, H in --hidden, N in --batch) and thread count (--threads):
  1. gru-gen generates the host library for the spec (timed), bench/harness.c is linked against
     it, and its output is checked against mlx.nn.GRU itself (<= 1e-5, gru-gen's contract);
  2. the harness times run (the whole sequence), step (N=1 streaming) and each Halide kernel
     alone, with HL_NUM_THREADS threads;
  3. bench/peers.py checks every peer against gru-gen's output (<= 1e-4) and times those that
     match, with the same thread count;
  4. bench/peak.c measures one core's peak FMA throughput and read bandwidth per buffer size.
Writes RESULTS/results.json, RESULTS/results.csv, RESULTS/step.csv, RESULTS/chart.png and prints
the tables. Never part of the tests: it takes minutes and its numbers depend on the machine.
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
PEER_NAMES = ["mlx", "onnxruntime", "torch"]
OURS_TOLERANCE = 1e-5


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
            if key.strip() in ("L1d cache", "L2 cache", "L3 cache", "Hypervisor vendor"):
                info[key.strip()] = value.strip()
    except (OSError, SystemExit):
        pass
    info["loadavg_start"] = os.getloadavg()
    return info


def flops(d, h, n, L):
    """Projection 2·N·L·D·3H + recurrence 2·N·L·H·3H + gates (10 flops per state element:
    the adds and products of r, z, n and h'; sigmoid and tanh counted as one each)."""
    return 2 * n * L * d * 3 * h + 2 * n * L * h * 3 * h + 10 * n * L * h


def peak(work, threads):
    exe = os.path.join(work, "peak")
    sh(["cc", "-O3", "-march=native", os.path.join(BENCH, "peak.c"), "-o", exe, "-lpthread"])
    return json.loads(sh([exe, str(threads)]))


def bandwidth_for(peak_info, nbytes):
    """Read bandwidth (GB/s) measured for the smallest buffer at least `nbytes` long: the cache
    level an array of that size lives in."""
    sizes = sorted((int(k), v) for k, v in peak_info["read_gbytes_per_s"].items())
    for size, bw in sizes:
        if size >= nbytes:
            return bw
    return sizes[-1][1]


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


def gru_gen(args, out, d, h, n, name, targets="host"):
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    sh([os.path.join(ROOT, "build", "bin", "gru-gen"), "--input-size", str(d), "--hidden-size",
        str(h), "--batch", str(n), "--name", name, "--target", targets, "-o", out])
    return time.perf_counter() - t0


def build_harness(pdir, out, name):
    exe = os.path.join(pdir, "harness")
    sh(["cc", "-std=c11", "-O2", "-D_POSIX_C_SOURCE=200809L", f"-DLIB={name}", f"-DLIB_UPPER={name.upper()}", "-include",
        os.path.join(out, name + ".h"), "-I", halide_include(), os.path.join(BENCH, "harness.c"),
        os.path.join(out, "host", f"lib{name}.a"), "-lpthread", "-ldl", "-lm", "-o", exe])
    return exe


def run_harness(exe, pdir, L, threads, out_file):
    env = dict(os.environ, HL_NUM_THREADS=str(threads))
    return json.loads(sh([exe, pdir, str(L), out_file], env=env))


def ratio(peer, ours):
    return peer / ours if peer and ours else None


def fmt(v, spec):
    return format(v, spec) if v is not None else "-"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", default="64,128,256,512")
    ap.add_argument("--batch", default="1,16")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--step-hidden", default="64,128,256", help="H of the N=1 step latencies")
    ap.add_argument("--budget", type=float, default=0.6, help="seconds per timed measurement")
    ap.add_argument("--results", default=os.path.join(BENCH, "results"))
    ap.add_argument("--no-all-targets", action="store_true",
                    help="skip timing gru-gen for every target at once")
    args = ap.parse_args()
    hidden = [int(v) for v in args.hidden.split(",")]
    batches = [int(v) for v in args.batch.split(",")]
    threads = [int(v) for v in args.threads.split(",")]
    step_hidden = {int(v) for v in args.step_hidden.split(",")}
    L = args.seq_len
    work = os.path.join(ROOT, "build", "bench")
    os.makedirs(work, exist_ok=True)
    os.makedirs(args.results, exist_ok=True)

    info = machine()
    log(f"bench: {info.get('cpu', '?')}, {info['cpus']} CPUs, load average "
        f"{info['loadavg_start'][0]:.2f} (timings are minima over repetitions)")
    pk = peak(work, max(threads))
    log(f"bench: peak {pk['isa']} FMA {pk['fma_gflops_1_thread']:.1f} GFLOP/s on one core, "
        f"{pk['fma_gflops_all_threads']:.1f} with {pk['threads']} threads")

    points = []
    for h in hidden:
        for n in batches:
            d = h
            key, pdir, w = make_point(work, d, h, n, L, seed=1000 * h + n)
            name = f"g{key.lower()}"
            out = os.path.join(pdir, "lib")
            gen_s = gru_gen(args, out, d, h, n, name)
            exe = build_harness(pdir, out, name)
            ref = mlx_reference(w, h)
            p = {"key": key, "D": d, "H": h, "N": n, "L": L, "dir": pdir,
                 "flops": flops(d, h, n, L), "gru_gen_host_s": gen_s, "ours": {},
                 "time_step": n == 1 and h in step_hidden,
                 "ours_output": "ours", "wh_bytes": 4 * 3 * h * h}
            for t in threads:
                res = run_harness(exe, pdir, L, t, os.path.join(pdir, f"ours_t{t}.f32"))
                got = np.fromfile(os.path.join(pdir, f"ours_t{t}.f32"), np.float32)
                err = float(np.max(np.abs(got.reshape(ref.shape) - ref)))
                if err > OURS_TOLERANCE:
                    raise SystemExit(f"bench: gru-gen {key} differs from mlx.nn.GRU by {err}")
                res["max_abs_diff_vs_mlx"] = err
                p["ours"][t] = res
                log(f"bench: {key} T={t}: gru-gen run {res['run']['min_s'] * 1e3:.3f} ms "
                    f"(|gru-gen - mlx| = {err:.1e}), generated in {gen_s:.1f} s")
            shutil.copyfile(os.path.join(pdir, f"ours_t{threads[0]}.f32"),
                            os.path.join(pdir, "ours.f32"))
            points.append(p)

    all_targets = None
    if not args.no_all_targets:
        h = max(hidden)
        n = max(batches)
        secs = gru_gen(args, os.path.join(work, "all_targets"), h, h, n, "gall",
                       "host,arm64-linux,arm64-macos,metal,opencl")
        all_targets = {"H": h, "D": h, "N": n, "seconds": secs}
        log(f"bench: gru-gen D=H={h} N={n}, all five targets: {secs:.1f} s")

    # Peers, one child process per thread count.
    peer_results = {}
    for t in threads:
        pts = os.path.join(work, "points.json")
        json.dump([{k: p[k] for k in ("key", "D", "H", "N", "L", "dir", "ours_output",
                                      "time_step")} for p in points], open(pts, "w"))
        res_file = os.path.join(work, f"peers_t{t}.json")
        sh([sys.executable, os.path.join(BENCH, "peers.py"), "--threads", str(t), "--points", pts,
            "--out", res_file, "--budget", str(args.budget)], capture=False)
        peer_results[t] = json.load(open(res_file))

    info["loadavg_end"] = os.getloadavg()
    report(args, info, pk, points, threads, peer_results, all_targets)


def report(args, info, pk, points, threads, peer_results, all_targets):
    core_peak = pk["fma_gflops_1_thread"]
    rows, step_rows = [], []
    for p in points:
        for t in threads:
            ours = p["ours"][t]
            ours_s = ours["run"]["min_s"]
            peers = next(e for e in peer_results[t]["points"] if e["key"] == p["key"])["peers"]
            row = {"H": p["H"], "D": p["D"], "N": p["N"], "L": p["L"], "threads": t,
                   "gru_gen_ms": ours_s * 1e3, "gru_gen_median_ms": ours["run"]["median_s"] * 1e3}
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
            # The projection kernel alone (rows x D x 3H GEMM), against t cores' peak.
            rows_per_call = ours["projection_rows"]
            proj_flops = 2 * rows_per_call * p["D"] * 3 * p["H"]
            row["projection_pct_peak"] = 100 * proj_flops / ours["projection_kernel"]["min_s"] \
                * 1e-9 / (core_peak * t)
            # One recurrent step alone, against the time to stream Wh once from the cache level
            # it lives in (one core's read bandwidth for its size) or the FMA peak, whichever
            # bounds it.
            step_flops = 2 * p["N"] * p["H"] * 3 * p["H"]
            bound_s = max(p["wh_bytes"] / (bandwidth_for(pk, p["wh_bytes"]) * 1e9),
                          step_flops / (core_peak * 1e9))
            row["step_kernel_us"] = ours["step_kernel"]["min_s"] * 1e6
            row["step_bound_us"] = bound_s * 1e6
            row["step_pct_bound"] = 100 * bound_s / ours["step_kernel"]["min_s"]
            row["gru_gen_host_s"] = p["gru_gen_host_s"]
            rows.append(row)
            if p["time_step"]:
                srow = {"H": p["H"], "N": p["N"], "threads": t,
                        "gru_gen_us": ours["step"]["min_s"] * 1e6}
                for name in PEER_NAMES:
                    r = peers.get(name)
                    us = r["step"]["min_s"] * 1e6 if r and r.get("verified") and "step" in r \
                        else None
                    srow[f"{name}_us"] = us
                    srow[f"{name}_ratio"] = ratio(us, srow["gru_gen_us"])
                step_rows.append(srow)

    res = args.results
    with open(os.path.join(res, "results.csv"), "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    with open(os.path.join(res, "step.csv"), "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=list(step_rows[0]) if step_rows else ["H"])
        wr.writeheader()
        wr.writerows(step_rows)
    peers_meta = {t: peer_results[t]["peers"] for t in threads}
    verification = {t: {e["key"]: {n: r["max_abs_diff_vs_gru_gen"] for n, r in e["peers"].items()}
                        for e in peer_results[t]["points"]} for t in threads}
    json.dump({"machine": info, "peak": pk, "peers": peers_meta, "verification": verification,
               "gru_gen_all_targets": all_targets, "run": rows, "step": step_rows},
              open(os.path.join(res, "results.json"), "w"), indent=1)

    def line(cells):
        return "| " + " | ".join(cells) + " |"

    out = []
    out.append(f"run, L={points[0]['L']}, D=H, fp32 (min over repetitions; ratio = peer / "
               f"gru-gen; % peak of {core_peak:.0f} GFLOP/s per core x threads)")
    head = ["H", "N", "thr", "gru-gen ms"] + [f"{n} ms (x)" for n in PEER_NAMES] + \
        ["GFLOP/s", "% peak", "proj % peak", "step µs / bound µs"]
    out.append(line(head))
    out.append(line(["--:"] * len(head)))
    for r in rows:
        cells = [str(r["H"]), str(r["N"]), str(r["threads"]), f"{r['gru_gen_ms']:.3f}"]
        for n in PEER_NAMES:
            cells.append(f"{fmt(r[n + '_ms'], '.3f')} ({fmt(r[n + '_ratio'], '.1f')}x)")
        cells += [f"{r['gflops']:.1f}", f"{r['pct_peak']:.0f}%",
                  f"{r['projection_pct_peak']:.0f}%",
                  f"{r['step_kernel_us']:.2f} / {r['step_bound_us']:.2f} "
                  f"({r['step_pct_bound']:.0f}%)"]
        out.append(line(cells))
    if step_rows:
        out.append("")
        out.append("step latency, N=1 (one call, h in/out)")
        head = ["H", "thr", "gru-gen µs"] + [f"{n} µs (x)" for n in PEER_NAMES]
        out.append(line(head))
        out.append(line(["--:"] * len(head)))
        for r in step_rows:
            cells = [str(r["H"]), str(r["threads"]), f"{r['gru_gen_us']:.2f}"]
            for n in PEER_NAMES:
                cells.append(f"{fmt(r[n + '_us'], '.1f')} ({fmt(r[n + '_ratio'], '.0f')}x)")
            out.append(line(cells))
    out.append("")
    out.append(f"machine: {info.get('cpu', '?')}, {info['cpus']} CPUs, L1d {info.get('L1d cache')}, "
               f"L2 {info.get('L2 cache')}, L3 {info.get('L3 cache')}; peak {pk['isa']} FMA "
               f"{core_peak:.1f} GFLOP/s/core ({pk['fma_gflops_all_threads']:.1f} with "
               f"{pk['threads']} threads); load average {info['loadavg_start'][0]:.2f} -> "
               f"{info['loadavg_end'][0]:.2f}")
    gen = max(p["gru_gen_host_s"] for p in points)
    out.append(f"gru-gen, host only: at most {gen:.1f} s per spec" +
               (f"; all five targets for D=H={all_targets['H']} N={all_targets['N']}: "
                f"{all_targets['seconds']:.1f} s" if all_targets else ""))
    versions = ", ".join(f"{n} {m['version']}" if m.get("available") else f"{n}: not installed"
                         for n, m in peers_meta[threads[0]].items())
    out.append(f"peers: {versions}; each matched gru-gen within 1e-4 before it was timed")
    text = "\n".join(out)
    print(text)
    open(os.path.join(res, "table.md"), "w").write(text + "\n")
    chart(rows, step_rows, threads, os.path.join(res, "chart.png"), info)


def chart(rows, step_rows, threads, path, info):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(threads), figsize=(6.5 * len(threads), 4.2), squeeze=False)
    names = ["gru-gen"] + PEER_NAMES
    colors = ["#d62728", "#7f7f7f", "#1f77b4", "#ff7f0e"]
    for ax, t in zip(axes[0], threads):
        sel = [r for r in rows if r["threads"] == t]
        labels = [f"H={r['H']}\nN={r['N']}" for r in sel]
        width = 0.2
        for i, name in enumerate(names):
            key = "gru_gen_ms" if name == "gru-gen" else f"{name}_ms"
            vals = [r[key] if r[key] is not None else 0 for r in sel]
            ax.bar([x + (i - 1.5) * width for x in range(len(sel))], vals, width, label=name,
                   color=colors[i])
        ax.set_yscale("log")
        ax.set_xticks(range(len(sel)))
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_ylabel("run, L=128, ms (log; lower is better)")
        ax.set_title(f"{t} thread{'s' if t > 1 else ''}")
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"GRU layer, fp32, D=H, L=128 — {info.get('cpu', '?')}, {info['cpus']} CPUs",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
