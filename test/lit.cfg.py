# lit configuration for gru-gen's test suite.
#
# Substitutions:
#   %gru-gen   the compiler under test
#   %cc        the C compiler, strict: apps must compile against generated headers warning-free
#   %syslibs   what an app links besides lib<name>.a on this host
#   %e2e       test/e2e (C test programs)      %goldens  test/goldens (MLX outputs)
#   %weights   test/weights (safetensors files, tools/make_weight_files.py)
#   %python    the project virtualenv's Python (mlx, numpy)
#   %cc-arm64  the ARM64 Linux cross compiler, as strict as %cc
#   %run-arm64 runs an ARM64 Linux program here, under qemu-user
#   %fuzz-bin  the libFuzzer targets (feature `fuzz`)
#   %cmake     the CMake gru-gen was built with    %build_root  its build tree   %src  the sources
#   %cc-macos  zig's C compiler and linker for arm64 macOS (libSystem stubs, no frameworks)
#   %zig       that zig (gru-gen gets it as $GRU_GEN_ZIG)
#   %cc-ios    zig's clang for arm64 iOS 17 with the Darwin libc headers zig carries, as
#              gru-gen compiles iOS runtimes (no iOS SDK here: it compiles, it cannot link)
#   %darwin-headers  those headers   %libsystem-tbd  zig's libSystem stubs (macOS, Mac Catalyst)
#   %metal-shim what a program links to run a library built for x86-64-linux-metal here: the test
#              Metal device (test/metal_shim; feature `metal-shim`, on x86-64)
#   %halide_include  the directory of HalideRuntime.h   %jsmn_include  that of jsmn.h
#              (what the runtime, runtime/, includes besides itself: its unit tests, test/runtime)
# Features: `android-ndk` when $ANDROID_NDK_HOME is a directory (the real arm64-android build);
# `mlx` when mlx imports (the conformance tests call it directly); `abi-v2` when the
# header template declares ABI v2 (see the end of this file); `sanitize` in a
# -DGRUGEN_SANITIZE build (then %cc and the runtimes gru-gen compiles carry the sanitizers).
import os
import subprocess

import lit.formats

config.name = "gru-gen"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".test"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["e2e/Inputs"]

src = config.gru_gen_source_dir
config.substitutions.append(("%gru-gen", os.path.join(config.gru_gen_bin_dir, "gru-gen")))
strict_c = " -std=c11 -O2 -Wall -Wextra -Werror"
# Longer names first: lit substitutes in order, and %cc is a prefix of %cc-arm64.
config.substitutions.append(("%cc-arm64", "aarch64-linux-gnu-gcc" + strict_c))
config.substitutions.append(("%run-arm64", "qemu-aarch64 -L /usr/aarch64-linux-gnu"))
config.substitutions.append(("%cc-macos", config.zig + " cc -target aarch64-macos.11.0" + strict_c))
# gru-gen finds zig at run time ($GRU_GEN_ZIG, then PATH): the tests' zig is the virtualenv's.
config.environment["GRU_GEN_ZIG"] = config.zig
config.substitutions.append(("%zig", config.zig))
zig_lib = ""
for line in subprocess.run([config.zig, "env"], capture_output=True, text=True).stdout.splitlines():
    line = line.strip()
    if line.startswith(".lib_dir = ") or line.startswith('"lib_dir": '):
        zig_lib = line.split('"')[-2] if line.startswith(".") else line.split('"')[3]
# zig names it relative to the directory it ran in when it lies below it (a clone's .venv).
zig_lib = os.path.abspath(zig_lib) if zig_lib else ""
darwin_headers = os.path.join(zig_lib, "libc", "include", "any-darwin-any")
config.substitutions.append(("%cc-ios", config.zig + " cc -target aarch64-ios.17.0 -idirafter " +
                             darwin_headers + strict_c))
config.substitutions.append(("%darwin-headers", darwin_headers))
config.substitutions.append(("%libsystem-tbd", os.path.join(zig_lib, "libc", "darwin", "libSystem.tbd")))
# A sanitized build (-DGRUGEN_SANITIZE=...): the host's test programs and the runtimes gru-gen
# compiles for them get the same sanitizers; feature `sanitize`.
host_c = strict_c
if config.sanitize:
    sanitize = " -g -fno-omit-frame-pointer -fno-sanitize-recover=all -fsanitize=" + config.sanitize
    host_c += sanitize
    config.environment["GRU_GEN_RUNTIME_CFLAGS"] = sanitize.strip()
    # The Metal device compiles the kernels it runs with clang, sanitized the same way but for
    # clang's -fsanitize=function, whose handler the program's (gcc's) UBSan runtime lacks.
    config.environment["GRU_METAL_SHIM_CXXFLAGS"] = sanitize.strip() + " -fno-sanitize=function"
    # Leaks inside PoCL's own kernel compiler are not ours (test/lsan.supp says which).
    config.environment["LSAN_OPTIONS"] = "suppressions=" + os.path.join(src, "test", "lsan.supp")
    config.available_features.add("sanitize")
config.substitutions.append(("%cc", config.c_compiler + host_c))
config.substitutions.append(("%syslibs", "-lpthread -ldl -lm"))
# The x86-64 AVX2 class as a raw Halide target: what an AVX-512 machine also runs, and a plan
# from the machine model's table rather than from this machine.
config.substitutions.append(("%avx2", "x86-64-linux-avx-avx2-f16c-fma-sse41"))
config.substitutions.append(("%e2e", os.path.join(src, "test", "e2e")))
config.substitutions.append(("%goldens", os.path.join(src, "test", "goldens")))
config.substitutions.append(("%weights", os.path.join(src, "test", "weights")))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%cmake", config.cmake_command))
config.substitutions.append(("%build_root", os.path.dirname(config.gru_gen_bin_dir)))
config.substitutions.append(("%src", src))
config.substitutions.append(("%halide_include", os.path.dirname(config.halide_runtime_header)))
config.substitutions.append(("%jsmn_include", config.jsmn_include_dir))

# FileCheck, not, count come from LLVM 19's tools.
config.environment["PATH"] = os.pathsep.join(
    [config.llvm_tools_dir, config.environment.get("PATH", os.environ.get("PATH", ""))])
for var in ("HOME", "TMPDIR", "CC", "ANDROID_NDK_HOME"):
    if var in os.environ:
        config.environment[var] = os.environ[var]

# The test Metal device (test/metal_shim): feature `metal-shim`, %metal-shim what a program links.
if config.metal_shim:
    config.available_features.add("metal-shim")
    config.substitutions.append(("%metal-shim", "-Wl,-rpath," + os.path.dirname(config.metal_shim)
                                 + " " + config.metal_shim))
for var in ("GRU_METAL_SHIM_NO_SET_BYTES", "GRU_METAL_SHIM_DUMP", "GRU_METAL_SHIM_STATS"):
    config.environment.pop(var, None)

# libFuzzer targets (test/fuzz): feature `fuzz`, %fuzz-bin their directory.
if os.path.isdir(os.environ.get("ANDROID_NDK_HOME", "")):
    config.available_features.add("android-ndk")

if config.fuzz_bin_dir:
    config.available_features.add("fuzz")
    config.substitutions.append(("%fuzz-bin", config.fuzz_bin_dir))

if subprocess.call([config.python_executable, "-c", "import mlx.core"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
    config.available_features.add("mlx")

# `abi-v2`: the generated header declares ABI v2 (NAME_create_layers, NAME_run_ex: stacked,
# bidirectional and reverse models, per-row lengths). The tests of whole models from weights
# files (goldens of real PyTorch, live MLX) need it; until code generation compiles stacks they
# are skipped, and they run as soon as the header template declares it.
with open(os.path.join(src, "compiler", "package", "templates", "gru_library.h.in")) as header:
    if "_create_layers(" in header.read():
        config.available_features.add("abi-v2")
