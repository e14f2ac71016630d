// Machine models per target class: the figures gru-gen's schedule planner (CpuPlan.h) chooses
// register tiles and weight panels from, and the llvm-mca CPU model its predictions use.
//
// One table (MachineModel.cpp), a row per class of machine, each figure with its source there.
// A target's class follows from its Halide target (architecture, OS, ISA features); `host`
// replaces the cache sizes by those this machine reports. Everything else is a table value, so
// that a library for a named cross target does not depend on where gru-gen ran.
#pragma once

#include <cstdint>
#include <string>

#include "Halide.h"

namespace grugen {

struct MachineModel {
  std::string name;          // the class, e.g. "x86-64 AVX2 (Haswell, Zen 2/3 class)"
  int vector_bytes = 16;     // one SIMD register, as Halide vectorizes for the target
  int vector_registers = 16; // architectural SIMD registers
  int fma_pipes = 2;         // vector FMAs issued per cycle
  int fma_latency = 4;       // cycles from an FMA to the next one on its accumulator
  int load_ports = 2;        // vector loads per cycle from L1
  // An FMA can take its broadcast operand from memory (x86: vbroadcastss into a register, or an
  // embedded broadcast), so a broadcast costs a load but no lasting register.
  bool memory_broadcast = true;
  // What a broadcast costs beside its load, in FMA-pipe cycles: 0 where the load broadcasts
  // (x86 AVX's vbroadcastss, ARM's ld1r); at SSE4.1 a shuffle (movss + shufps) on a port that
  // also multiplies or adds on current cores (SchedulePlan.cpp's estimate).
  double broadcast_alu = 0;
  int64_t l1d_bytes = 32 << 10;  // per core
  int64_t l2_bytes = 512 << 10;  // per core (or the share of a cluster's)
  int cores = 4;                 // what the parallel split plans for
  // llvm-mca's -mcpu for predicting this class ("" where llvm-mca has no model for it).
  std::string mca_cpus;          // comma-separated, the first one ranks candidates
  std::string source;            // where the figures come from (README, docs)
  // SIMD-group width, threadgroup memory and threads per threadgroup of a GPU class (0 on CPUs).
  int simd_width = 0;
  int64_t threadgroup_bytes = 0;
  int max_threads_per_group = 0;

  int lanes() const { return vector_bytes / 4; }  // float32 lanes
};

// The model of `target`'s class of machine; `host`: this machine's cache sizes and cores.
MachineModel machine_model_for(const Halide::Target &target, bool host);

}  // namespace grugen
