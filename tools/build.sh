#!/usr/bin/env bash
# Set-up (tools/setup.sh) and the build: leaves the compiler at build/bin/gru-gen.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/tools/setup.sh"
"$root/.venv/bin/cmake" -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
"$root/.venv/bin/cmake" --build "$root/build" -j2
