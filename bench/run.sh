#!/usr/bin/env bash
# The benchmark, one command: gru-gen against mlx.nn.GRU, ONNX Runtime, PyTorch, IREE and oneDNN,
# at every x86 feature level the CPU executes, and against the machine's limits (bench/bench.py
# says what is measured). Builds gru-gen if needed, installs the benchmark-only Python packages
# (bench/requirements.txt) into .venv once, then runs.
# Options go to bench/bench.py (e.g. --hidden 64,128 --batch 1 --threads 1 --targets host; --models
# for only the 2-layer bidirectional model points, --no-models to skip them).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"
if [ ! -x "$root/build/bin/gru-gen" ] || [ ! -x "$venv/bin/python" ]; then
  bash "$root/tools/build.sh"
fi
stamp="$venv/.gru-gen-bench-requirements"
if [ ! -f "$stamp" ] || ! cmp -s "$stamp" "$root/bench/requirements.txt"; then
  echo "bench: installing $(grep -v '^#' "$root/bench/requirements.txt" | tr '\n' ' ')"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$root/bench/requirements.txt"
  cp "$root/bench/requirements.txt" "$stamp"
fi
exec "$venv/bin/python" "$root/bench/bench.py" "$@"
