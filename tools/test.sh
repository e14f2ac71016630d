#!/usr/bin/env bash
# The whole test suite from nothing: set-up, build, then every lit test (tests needing mlx run
# whenever it imports, which set-up ensures).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/tools/build.sh"
"$root/.venv/bin/lit" -v "$root/build/test"
