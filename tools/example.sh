#!/usr/bin/env bash
# The main job end to end, from nothing: set-up, build gru-gen, train-free MLX model -> weights,
# gru-gen -> libkws.a, compile examples/kws/app.c against it, run it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/tools/build.sh"
work="$root/build/example"
rm -rf "$work" && mkdir -p "$work"

echo "== MLX: a keyword-spotting-sized GRU (D=40, H=128), its weights, an input and its output"
"$root/.venv/bin/python" "$root/examples/kws/export_mlx.py" "$work/model"

echo "== gru-gen"
(set -x; "$root/build/bin/gru-gen" --input-size 40 --hidden-size 128 --batch 1 --name kws \
    --target host -o "$work/out")

echo "== cc app.c against the generated library"
(set -x; cc -std=c11 -O2 -Wall -I"$work/out" "$root/examples/kws/app.c" "$work/out/host/libkws.a" \
    -lpthread -ldl -lm -o "$work/app")

echo "== run"
"$work/app" "$work/model"
