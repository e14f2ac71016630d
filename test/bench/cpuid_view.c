/* What a program sees of the CPU, for test/bench/cpuid_view.test:
 *   cpuid   the AVX-512F, AVX2, AVX512-VNNI, AVX-VNNI, AVX512-BF16, FMA, AVX, F16C, VAES,
 *           VPCLMULQDQ, SSE4.1 and SSE4.2 bits and XCR0's supported ZMM and YMM components, as
 *           CPUID reports them (leaves 1, 7.0, 7.1, 0xD)
 *   thread  the same from a new thread
 *   chain   installs its own SIGSEGV handler, faults on purpose, recovers in the handler, then
 *           reads CPUID again (a preloaded view must pass real faults on and keep answering)
 *   crash   faults with no handler of its own (must die of SIGSEGV) */
#define _GNU_SOURCE
#include <cpuid.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void show(const char *who) {
  unsigned a, b, c, d, a1, b1, c1, d1, ad, bd, cd, dd;
  __cpuid_count(7, 0, a, b, c, d);
  __cpuid_count(7, 1, a1, b1, c1, d1);
  __cpuid_count(0xD, 0, ad, bd, cd, dd);
  printf("%s: avx512f=%u avx2=%u avx512vnni=%u avxvnni=%u avx512bf16=%u zmm_state=%u\n", who,
         (b >> 16) & 1, (b >> 5) & 1, (c >> 11) & 1, (a1 >> 4) & 1, (a1 >> 5) & 1,
         (ad >> 5) & 7);
  const unsigned vaes = (c >> 9) & 1, vpclmulqdq = (c >> 10) & 1, ymm_state = (ad >> 2) & 1;
  __cpuid(1, a, b, c, d);
  printf("%s: fma=%u avx=%u f16c=%u vaes=%u vpclmulqdq=%u ymm_state=%u sse41=%u sse42=%u\n", who,
         (c >> 12) & 1, (c >> 28) & 1, (c >> 29) & 1, vaes, vpclmulqdq, ymm_state, (c >> 19) & 1,
         (c >> 20) & 1);
}

static void *thread_main(void *arg) {
  (void)arg;
  show("thread");
  return NULL;
}

static sigjmp_buf recover;
static int *volatile nowhere; /* NULL, unknown to the compiler */
static volatile sig_atomic_t faults;
static void own_handler(int sig) {
  if (++faults > 1) { /* only the one fault on purpose may reach it (a CPUID must not) */
    static const char msg[] = "own handler got a second fault\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(2);
  }
  siglongjmp(recover, sig);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "cpuid";
  if (!strcmp(mode, "cpuid")) {
    show("main");
  } else if (!strcmp(mode, "thread")) {
    pthread_t t;
    pthread_create(&t, NULL, thread_main, NULL);
    pthread_join(t, NULL);
  } else if (!strcmp(mode, "chain")) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = own_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    if (sigsetjmp(recover, 1) == 0) {
      *nowhere = 1;
      printf("no fault\n");
    } else {
      printf("own handler recovered from SIGSEGV\n");
    }
    show("after");
  } else if (!strcmp(mode, "crash")) {
    *nowhere = 1;
    printf("no fault\n");
  }
  return 0;
}
