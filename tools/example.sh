#!/usr/bin/env bash
# The main job end to end, from nothing: set-up, build gru-gen, train a tiny keyword spotter in
# MLX, compile its GRU with gru-gen (weights embedded), build a C app against it, run it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/tools/build.sh"
work="$root/build/example"
rm -rf "$work" && mkdir -p "$work"

echo "== MLX: train GRU(40, 64) + Linear(64, 2) on synthetic keyword clips, save_weights"
"$root/.venv/bin/python" "$root/examples/kws/train_mlx.py" "$work/model"

echo "== gru-gen: D, H and bias from the weights file, the weights baked into libkws.a"
(set -x; "$root/build/bin/gru-gen" --weights "$work/model/kws.safetensors" --weights-prefix gru. \
    --embed-weights --batch 8 --name kws --target host -o "$work/out")

echo "== cc app.c against the generated library (link flags from its pkg-config file)"
flags=$(PKG_CONFIG_PATH="$work/out/host" pkg-config --cflags --libs kws)
(set -x; cc -std=c11 -O2 -Wall "$root/examples/kws/app.c" $flags -o "$work/app")

echo "== run"
"$work/app" "$work/model"
