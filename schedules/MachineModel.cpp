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
enum Class { kX86Sse, kX86Avx2, kX86Avx512, kArm64Neoverse, kApplePCore, kAppleGpu };

struct ClassRow {
  const char *name;
  int registers, fma_pipes, fma_latency, load_ports;
  bool memory_broadcast;
  double broadcast_alu;
  int64_t l1d_bytes, l2_bytes;
  int cores;
  const char *mca_cpus, *source;
  int simd_width;  // GPU classes: SIMD-group width, threadgroup memory, threads per group
  int64_t threadgroup_bytes;
  int max_threads_per_group;
};

// One row per class, in Class order. SSE4.1/AVX without FMA: a multiply and an add on two
// pipes, counted as one FMA pipe of twice the latency; its broadcast is a load and a shuffle, the
// shuffle half of that pipe's cycle (one of the two ports a multiply and an add take: Skylake's
// shuffles have a port of their own, Golden Cove's port 5 also adds, Zen 2/3's shuffling pipes
// FP1/FP2 also multiply and add). Measured at this level on a Golden Cove Xeon (D=H=512 N=16,
// --tune, one thread): the projection's 1 x 8 tile (8 shuffles per 8 multiply-adds) took 7.4-7.6
// ms, 8 x 1, 6 x 1, 4 x 2 and 3 x 4 5.2-5.7 ms; the step's 1 x 4 tile 0.95-1.03 ms, 4 x 1
// 0.70-0.71 ms.
const ClassRow kClasses[] = {
    {"x86-64 SSE4.1/AVX, no FMA", 16, 1, 8, 2, true, 0.5, 32 << 10, 256 << 10, 4, "nehalem",
     "Intel Optimization Reference Manual", 0, 0, 0},
    {"x86-64 AVX2+FMA (Haswell..Alder Lake, Zen 2/3 class)", 16, 2, 5, 2, true, 0, 32 << 10,
     512 << 10, 4, "znver3,skylake",
     "Intel Optimization Reference Manual; AMD Zen 2/3 Software Optimization Guides", 0, 0, 0},
    {"x86-64 AVX-512 (Skylake-SP..Sapphire Rapids, Zen 4 class)", 32, 2, 4, 2, true, 0, 48 << 10,
     1 << 20, 4, "icelake-server,sapphirerapids", "Intel Optimization Reference Manual", 0, 0, 0},
    {"ARM64 Neoverse N1 / Cortex-A76 class", 32, 2, 4, 2, false, 0, 64 << 10, 512 << 10, 4,
     "neoverse-n1,cortex-a76", "Arm Neoverse N1 and Cortex-A76 Software Optimization Guides", 0,
     0, 0},
    // L2: 12 MiB shared by a cluster of four P-cores.
    {"Apple M-series P-core (Firestorm and later)", 32, 4, 4, 3, false, 0, 128 << 10, 3 << 20, 8,
     "apple-a14,apple-m4",
     "Dougall Johnson's Firestorm instruction tables; Apple Silicon CPU Optimization Guide", 0, 0,
     0},
    // The host side of a Metal library is an M-series P-core.
    {"Apple GPU (Metal), on an M-series host", 32, 4, 4, 3, false, 0, 128 << 10, 3 << 20, 8,
     "apple-a14,apple-m4",
     "Dougall Johnson's Firestorm instruction tables; Apple Silicon CPU Optimization Guide; "
     "Metal Feature Set Tables",
     32, 32 << 10, 1024},
};

MachineModel model_of(Class c) {
  const ClassRow &r = kClasses[c];
  MachineModel m;
  m.name = r.name;
  m.vector_registers = r.registers;
  m.fma_pipes = r.fma_pipes;
  m.fma_latency = r.fma_latency;
  m.load_ports = r.load_ports;
  m.memory_broadcast = r.memory_broadcast;
  m.broadcast_alu = r.broadcast_alu;
  m.l1d_bytes = r.l1d_bytes;
  m.l2_bytes = r.l2_bytes;
  m.cores = r.cores;
  m.mca_cpus = r.mca_cpus;
  m.source = r.source;
  m.simd_width = r.simd_width;
  m.threadgroup_bytes = r.threadgroup_bytes;
  m.max_threads_per_group = r.max_threads_per_group;
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
    m = model_of(target.has_feature(Target::Metal) ? kAppleGpu
                 : target.os == Target::OSX || target.os == Target::IOS ? kApplePCore
                                                     : kArm64Neoverse);
  } else if (target.has_feature(Target::AVX512)) {
    m = model_of(kX86Avx512);
  } else if (target.has_feature(Target::AVX2) && target.has_feature(Target::FMA)) {
    m = model_of(kX86Avx2);
  } else {
    m = model_of(kX86Sse);
  }
  // The vector width Halide vectorizes with for this target (one owner: Halide's target).
  m.vector_bytes = 4 * target.natural_vector_size<float>();
  if (target.has_feature(Target::Metal) && m.simd_width == 0) {
    // Metal kernels with host code for another CPU (the test suite's x86-64-linux-metal): the
    // kernels are the Apple GPU's all the same.
    const MachineModel gpu = model_of(kAppleGpu);
    m.simd_width = gpu.simd_width;
    m.threadgroup_bytes = gpu.threadgroup_bytes;
    m.max_threads_per_group = gpu.max_threads_per_group;
  }
  if (target.has_feature(Target::OpenCL)) {
    // Kernels on whatever GPU OpenCL finds: the figures every common one meets (OpenCL 1.2,
    // section 4.2: at least 32 KiB of local memory). SIMD-groups of 32 (NVIDIA's warps, AMD
    // RDNA's wave32, Intel's widest SIMD); 256 work-items per group, the least that AMD's,
    // Intel's and NVIDIA's GPUs all allow (NVIDIA 1024, Intel 512, AMD 256).
    m.name += ", kernels on an OpenCL GPU";
    m.source += "; OpenCL 1.2 specification; AMD, Intel and NVIDIA OpenCL programming guides";
    m.simd_width = 32;
    m.threadgroup_bytes = 32 << 10;
    m.max_threads_per_group = 256;
  }
  if (host) {
    if (int64_t l1 = host_cache_bytes(1)) m.l1d_bytes = l1;
    if (int64_t l2 = host_cache_bytes(2)) m.l2_bytes = l2;
    m.cores = int(std::max(1u, std::thread::hardware_concurrency()));
    m.name += ", this machine's caches";
  }
  return m;
}

}  // namespace grugen
