#include "MachineModel.h"

#include <fstream>
#include <string>
#include <thread>

namespace grugen {
namespace {

using Halide::Target;

// The classes, each figure from its vendor's optimization guide or a published measurement:
// - x86-64: Intel 64 and IA-32 Architectures Optimization Reference Manual (Haswell..Sapphire
//   Rapids: FMA on ports 0 and 1 (0 and 5 for 512-bit), latency 4, two loads per cycle) and
//   AMD's Software Optimization Guides for Zen 2/3 (two FMA pipes, latency 5; L2 512 KiB per
//   core). The AVX2 class takes the larger latency and the smaller caches of the two vendors, so
//   a tile it picks has enough accumulators on both.
// - Arm Neoverse N1 / Cortex-A76 Software Optimization Guides: FMLA (vector) latency 4,
//   throughput 2 (V0, V1), two loads per cycle, L1d 64 KiB, L2 512 KiB..1 MiB.
// - Apple M-series P-cores (Firestorm and later): Dougall Johnson's measured instruction tables
//   (dougallj.github.io/applecpu/firestorm.html) and Apple's Apple Silicon CPU Optimization
//   Guide: four FP/SIMD pipes, FMLA latency 4, three loads per cycle, L1d 128 KiB, L2 12 MiB
//   shared by a cluster of four.
// - Apple GPU (Metal Feature Set Tables; Apple's Metal Shading Language Specification):
//   SIMD-groups of 32 threads, 32 KiB of threadgroup memory, up to 1024 threads per group.
MachineModel x86_sse() {
  MachineModel m;
  m.name = "x86-64 SSE4.1/AVX, no FMA";
  m.vector_registers = 16;
  m.fma_pipes = 1;  // a multiply and an add, on two pipes
  m.fma_latency = 8;
  m.mca_cpus = "nehalem";
  m.source = "Intel Optimization Reference Manual";
  return m;
}

MachineModel x86_avx2() {
  MachineModel m;
  m.name = "x86-64 AVX2+FMA (Haswell..Alder Lake, Zen 2/3 class)";
  m.vector_registers = 16;
  m.fma_pipes = 2;
  m.fma_latency = 5;
  m.load_ports = 2;
  m.l1d_bytes = 32 << 10;
  m.l2_bytes = 512 << 10;
  m.mca_cpus = "znver3,skylake";
  m.source = "Intel Optimization Reference Manual; AMD Zen 2/3 Software Optimization Guides";
  return m;
}

MachineModel x86_avx512() {
  MachineModel m;
  m.name = "x86-64 AVX-512 (Skylake-SP..Sapphire Rapids, Zen 4 class)";
  m.vector_registers = 32;
  m.fma_pipes = 2;
  m.fma_latency = 4;
  m.load_ports = 2;
  m.l1d_bytes = 48 << 10;
  m.l2_bytes = 1 << 20;
  m.mca_cpus = "icelake-server,sapphirerapids";
  m.source = "Intel Optimization Reference Manual";
  return m;
}

MachineModel arm64_neoverse() {
  MachineModel m;
  m.name = "ARM64 Neoverse N1 / Cortex-A76 class";
  m.vector_registers = 32;
  m.fma_pipes = 2;
  m.fma_latency = 4;
  m.load_ports = 2;
  m.memory_broadcast = false;
  m.l1d_bytes = 64 << 10;
  m.l2_bytes = 512 << 10;
  m.mca_cpus = "neoverse-n1,cortex-a76";
  m.source = "Arm Neoverse N1 and Cortex-A76 Software Optimization Guides";
  return m;
}

MachineModel apple_p_core() {
  MachineModel m;
  m.name = "Apple M-series P-core (Firestorm and later)";
  m.vector_registers = 32;
  m.fma_pipes = 4;
  m.fma_latency = 4;
  m.load_ports = 3;
  m.memory_broadcast = false;
  m.l1d_bytes = 128 << 10;
  m.l2_bytes = 3 << 20;  // 12 MiB shared by four P-cores
  m.cores = 8;
  m.mca_cpus = "apple-a14,apple-m4";
  m.source = "Dougall Johnson's Firestorm instruction tables; Apple Silicon CPU Optimization Guide";
  return m;
}

MachineModel apple_gpu() {
  MachineModel m = apple_p_core();  // the host side of a Metal library
  m.name = "Apple GPU (Metal), on an M-series host";
  m.simd_width = 32;
  m.threadgroup_bytes = 32 << 10;
  m.max_threads_per_group = 1024;
  m.source += "; Metal Feature Set Tables";
  return m;
}

// A cache size of this machine from sysfs (level 1 data or level 2), or 0.
int64_t host_cache_bytes(int level) {
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    std::ifstream lvl(dir + "/level"), type(dir + "/type"), size(dir + "/size");
    int l = 0;
    std::string t, s;
    if (!(lvl >> l) || !(type >> t) || !(size >> s)) return 0;
    if (l != level || t == "Instruction") continue;
    int64_t bytes = std::stoll(s);
    if (s.back() == 'K') bytes <<= 10;
    if (s.back() == 'M') bytes <<= 20;
    return bytes;
  }
  return 0;
}

}  // namespace

MachineModel machine_model_for(const Target &target, bool host) {
  MachineModel m;
  if (target.arch == Target::ARM) {
    m = target.has_feature(Target::Metal)   ? apple_gpu()
        : target.os == Target::OSX          ? apple_p_core()
                                            : arm64_neoverse();
  } else if (target.has_feature(Target::AVX512)) {
    m = x86_avx512();
  } else if (target.has_feature(Target::AVX2) && target.has_feature(Target::FMA)) {
    m = x86_avx2();
  } else {
    m = x86_sse();
  }
  // The vector width Halide vectorizes with for this target (one owner: Halide's target).
  m.vector_bytes = 4 * target.natural_vector_size<float>();
  if (host) {
    if (int64_t l1 = host_cache_bytes(1)) m.l1d_bytes = l1;
    if (int64_t l2 = host_cache_bytes(2)) m.l2_bytes = l2;
    m.cores = int(std::max(1u, std::thread::hardware_concurrency()));
    m.name += ", this machine's caches";
  }
  return m;
}

}  // namespace grugen
