/* A view of an x86-64 CPU at a lower ISA level, for the benchmark's peers (bench/bench.py: the
 * AVX2 level of an AVX-512 CPU, the SSE4.1 level of an AVX one).
 *
 * Preloaded (LD_PRELOAD) into a peer's process, it turns on the kernel's CPUID faulting
 * (arch_prctl ARCH_SET_CPUID, Linux >= 4.12 on CPUs and hypervisors with "cpuid_fault"), so that
 * every CPUID instruction of the process traps; the SIGSEGV handler executes the real CPUID and
 * answers with the feature bits above the view's level cleared. GRU_CPUID_VIEW names the view:
 *   avx2   the AVX-512 family, AMX, AVX-VNNI/IFMA and AVX10 cleared: what an AVX2-only x86-64
 *          core (the EPYC class of issue 13) reports;
 *   sse41  also AVX, AVX2, FMA, F16C, VAES and VPCLMULQDQ, and the YMM state among XSAVE's
 *          components: what an SSE4.1/SSE4.2 core (Nehalem..Westmere class) reports, the lowest
 *          level of gru-gen's x86-64-linux target.
 * Libraries that pick their kernels by CPUID (ONNX Runtime's MLAS, oneDNN, MKL, numpy) then take
 * that level's paths. glibc's own string functions read CPUID before any preload runs; bench.py
 * masks those with GLIBC_TUNABLES. Code compiled for a higher level without asking CPUID still
 * runs at it: the view hides features, it cannot take them away.
 *
 * The setting is per thread and inherited by threads and forks (reset by execve, where
 * LD_PRELOAD loads this again). A SIGSEGV handler installed later by the process is chained: this
 * one stays first and passes every fault that is not a CPUID on. Nothing else is changed: XGETBV
 * still reports the OS's register state, which libraries consult only after CPUID.
 *
 * Proof for AVX-512 is the kernel's own: /proc/self/arch_status "AVX512_elapsed_ms: -1" means
 * no AVX-512 register state was seen in use at any context switch of the process. bench.py reads
 * it at the end of every peer run in either view and refuses the figures otherwise; the kernel
 * keeps no such record for AVX. Without CPUID faulting, or without a known GRU_CPUID_VIEW, the
 * constructor prints one line and exits 1 (a peer silently at a higher level would be a wrong
 * answer). Build: cc -O2 -shared -fPIC cpuid_view.c -o cpuid_view.so -ldl */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef ARCH_GET_CPUID
#define ARCH_GET_CPUID 0x1011
#endif
#ifndef ARCH_SET_CPUID
#define ARCH_SET_CPUID 0x1012
#endif

#define BIT(n) (1u << (n))

/* Leaf 7 subleaf 0. */
static const uint32_t kLeaf7Ebx = BIT(16) /* AVX512F */ | BIT(17) /* DQ */ | BIT(21) /* IFMA */ |
                                  BIT(26) /* PF */ | BIT(27) /* ER */ | BIT(28) /* CD */ |
                                  BIT(30) /* BW */ | BIT(31) /* VL */;
static const uint32_t kLeaf7Ecx = BIT(1) /* VBMI */ | BIT(6) /* VBMI2 */ | BIT(11) /* VNNI */ |
                                  BIT(12) /* BITALG */ | BIT(14) /* VPOPCNTDQ */;
static const uint32_t kLeaf7Edx = BIT(2) /* 4VNNIW */ | BIT(3) /* 4FMAPS */ |
                                  BIT(8) /* VP2INTERSECT */ | BIT(22) /* AMX-BF16 */ |
                                  BIT(23) /* AVX512_FP16 */ | BIT(24) /* AMX-TILE */ |
                                  BIT(25) /* AMX-INT8 */;
/* Leaf 7 subleaf 1. */
static const uint32_t kLeaf71Eax = BIT(4) /* AVX-VNNI */ | BIT(5) /* AVX512_BF16 */ |
                                   BIT(21) /* AMX-FP16 */ | BIT(23) /* AVX-IFMA */;
static const uint32_t kLeaf71Edx = BIT(4) /* AVX-VNNI-INT8 */ | BIT(5) /* AVX-NE-CONVERT */ |
                                   BIT(10) /* AVX-VNNI-INT16 */ | BIT(19) /* AVX10 */;
/* Leaf 0xD subleaf 0: the XSAVE components the CPU supports (opmask, ZMM, AMX tiles). */
static const uint32_t kLeafDEax = BIT(5) | BIT(6) | BIT(7) | BIT(17) | BIT(18);
/* The sse41 view's further bits. Leaf 1: FMA, AVX, F16C; leaf 7.0: AVX2, and VAES and
 * VPCLMULQDQ (VEX/EVEX encodings only); leaf 0xD: the YMM state. */
static const uint32_t kLeaf1EcxAvx = BIT(12) /* FMA */ | BIT(28) /* AVX */ | BIT(29) /* F16C */;
static const uint32_t kLeaf7EbxAvx = BIT(5) /* AVX2 */;
static const uint32_t kLeaf7EcxAvx = BIT(9) /* VAES */ | BIT(10) /* VPCLMULQDQ */;
static const uint32_t kLeafDEaxAvx = BIT(2) /* YMM */;

static int sse41_view; /* GRU_CPUID_VIEW=sse41, else avx2 */

static struct sigaction chained; /* the process's own SIGSEGV disposition, if it sets one */
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);

static long set_cpuid(int enabled) { return syscall(SYS_arch_prctl, ARCH_SET_CPUID, enabled); }

static void masked_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  set_cpuid(1); /* this thread may execute CPUID again, for the real answer */
  __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
  set_cpuid(0);
  if (leaf == 1 && sse41_view) {
    r[2] &= ~kLeaf1EcxAvx;
  } else if (leaf == 7 && sub == 0) {
    r[1] &= ~(kLeaf7Ebx | (sse41_view ? kLeaf7EbxAvx : 0));
    r[2] &= ~(kLeaf7Ecx | (sse41_view ? kLeaf7EcxAvx : 0));
    r[3] &= ~kLeaf7Edx;
  } else if (leaf == 7 && sub == 1) {
    r[0] &= ~kLeaf71Eax;
    r[3] &= ~kLeaf71Edx;
  } else if (leaf == 0xD && sub == 0) {
    r[0] &= ~(kLeafDEax | (sse41_view ? kLeafDEaxAvx : 0));
  } else if (leaf == 0x1D || leaf == 0x1E || leaf == 0x24) { /* AMX tile and AVX10 leaves */
    r[0] = r[1] = r[2] = r[3] = 0;
  }
}

static void on_segv(int sig, siginfo_t *info, void *context) {
  ucontext_t *uc = (ucontext_t *)context;
  greg_t *g = uc->uc_mcontext.gregs;
  const unsigned char *ip = (const unsigned char *)g[REG_RIP];
  if (info->si_code == SI_KERNEL && ip[0] == 0x0F && ip[1] == 0xA2) {
    uint32_t r[4];
    masked_cpuid((uint32_t)g[REG_RAX], (uint32_t)g[REG_RCX], r);
    g[REG_RAX] = r[0];
    g[REG_RBX] = r[1];
    g[REG_RCX] = r[2];
    g[REG_RDX] = r[3];
    g[REG_RIP] += 2;
    return;
  }
  if (chained.sa_flags & SA_SIGINFO) {
    if (chained.sa_sigaction) {
      chained.sa_sigaction(sig, info, context);
      return;
    }
  } else if (chained.sa_handler != SIG_DFL && chained.sa_handler != SIG_IGN) {
    chained.sa_handler(sig);
    return;
  }
  /* A real fault: the default action (the fault repeats on return). */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  real_sigaction(SIGSEGV, &dfl, NULL);
}

/* Keep this handler first: a later SIGSEGV disposition becomes the chained one. */
int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  if (!real_sigaction)
    real_sigaction = (int (*)(int, const struct sigaction *, struct sigaction *))dlsym(
        RTLD_NEXT, "sigaction");
  if (sig != SIGSEGV) return real_sigaction(sig, act, old);
  if (old) *old = chained;
  if (act) chained = *act;
  return 0;
}

__attribute__((constructor)) static void cpuid_view_init(void) {
  const char *view = getenv("GRU_CPUID_VIEW");
  if (!view || (strcmp(view, "avx2") != 0 && strcmp(view, "sse41") != 0)) {
    fprintf(stderr, "cpuid_view: error: GRU_CPUID_VIEW is %s%s%s; set it to avx2 or sse41\n",
            view ? "'" : "", view ? view : "unset", view ? "'" : "");
    exit(1);
  }
  sse41_view = strcmp(view, "sse41") == 0;
  real_sigaction = (int (*)(int, const struct sigaction *, struct sigaction *))dlsym(
      RTLD_NEXT, "sigaction");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  chained.sa_handler = SIG_DFL;
  if (!real_sigaction || real_sigaction(SIGSEGV, &sa, NULL) != 0 || set_cpuid(0) != 0) {
    fprintf(stderr, "cpuid_view: error: this kernel or CPU has no CPUID faulting "
                    "(arch_prctl ARCH_SET_CPUID); the %s view cannot be made here\n",
            view);
    exit(1);
  }
}
