#!/usr/bin/env bash
# The whole test suite from nothing: set-up, build, then every lit test (tests needing mlx run
# whenever it imports, which set-up ensures), then the C ABI tests again under ASan + UBSan: a
# second, sanitized gru-gen in build-asan/ that compiles the runtimes and the test programs with
# the same sanitizers (docs/RELIABILITY.md).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/tools/build.sh"
"$root/.venv/bin/lit" -v "$root/build/test"
"$root/.venv/bin/cmake" -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DGRUGEN_SANITIZE=address,undefined -DGRUGEN_FUZZ=OFF >/dev/null
"$root/.venv/bin/cmake" --build "$root/build-asan" -j2 --target gru-gen gru_metal_shim
"$root/.venv/bin/lit" -v "$root/build-asan/test/e2e" "$root/build-asan/test/weights" \
  "$root/build-asan/test/reliability" "$root/build-asan/test/runtime" "$root/build-asan/test/metal"
