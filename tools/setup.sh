#!/usr/bin/env bash
# Installs everything gru-gen needs on a fresh Debian 12 machine, idempotently:
#   - Debian packages: compilers, CMake, LLVM/MLIR 19 (FileCheck comes with llvm-19-tools),
#     the ARM64 cross compiler and qemu-user (arm64-linux libraries run under emulation in the
#     tests), PoCL and the OpenCL loader (the GPU schedules run on the CPU in the tests),
#     pkg-config, jsmn (the safetensors reader's JSON tokenizer), clang-19 with libFuzzer and
#     the sanitizer runtimes (test/fuzz);
#   - a project-local virtualenv (.venv) with Halide 21 (the wheel is also the C++ SDK),
#     CMake >= 3.28 (HalideConfig.cmake requires it; Debian 12 has 3.25), lit, numpy and
#     mlx[cpu] (goldens and conformance only), and zig (ziglang: the C compiler, with macOS
#     headers, for the runtime of macOS targets; Debian has no macOS SDK), and onnx, onnxruntime,
#     safetensors and h5py (tools/gru-import and its tests).
# A second run does nothing but check. Prints one line per step.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"

apt_packages=(
  build-essential cmake ninja-build python3 python3-venv python3-pip
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
  g++-aarch64-linux-gnu qemu-user pocl-opencl-icd ocl-icd-opencl-dev pkg-config libjsmn-dev
  clang-19 libclang-rt-19-dev
)
pip_packages=(
  "halide==21.0.0" "cmake>=3.28,<4.5" "lit>=18" "numpy>=1.24" "mlx[cpu]>=0.31.2"
  "ziglang==0.17.1"
  # tools/gru-import: ONNX models in, safetensors out; ONNX Runtime is the tests' reference.
  "onnx>=1.16" "onnxruntime>=1.18" "safetensors>=0.4"
  # tools/gru-import keras: Keras 3 .weights.h5 / .keras files are HDF5.
  "h5py>=3.8"
)

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages present"
fi

# Debian's python3 (or whichever python3 is first on PATH) creates the venv.
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv"
  python3 -m venv "$venv"
fi
stamp="$venv/.gru-gen-requirements"
want=$(printf '%s\n' "${pip_packages[@]}")
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python packages: ${pip_packages[*]}"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${pip_packages[@]}"
  printf '%s\n' "$want" > "$stamp"
else
  echo "setup: Python packages present"
fi
echo "setup: Halide $("$venv/bin/python" -c 'import halide, importlib.metadata as m; print(m.version("halide"), halide.install_dir())')"
