/* A persistent team of threads for one model (after DeepCPU, Zhang et al., USENIX ATC 2018):
 * `threads` members, the caller being member 0 and threads - 1 workers started at create, which
 * live until destroy. The caller hands the team a job (a function every member runs with its
 * index); inside a job the members meet at a barrier (once per timestep of the recurrence), and
 * the job ends with one. Waiting, at a barrier or for the next job, spins for a bounded time
 * (GRU_TEAM_SPIN_NS, with the CPU's pause/yield hint) and then parks the thread in the kernel (a
 * futex on Linux and Android; a mutex and condition variable elsewhere, macOS and iOS), so a model
 * between calls costs no CPU. Synchronization is C11-style atomics (GCC's __atomic builtins, which
 * ThreadSanitizer understands); the futex only sleeps and wakes, every decision re-reads the atomic.
 * After a job the workers spin for the next one only when the caller says it will come at once
 * (`linger`: step); after the recurrences of run they park at once, leaving the cores to the
 * projection that follows (Halide's thread pool).
 *
 * Header-only C, static, included by gru_runtime.c. Built with GRU_TEAM_NO_PARK defined, waiters
 * spin forever (the tests' check that the idle test can fail). */
#ifndef GRU_TEAM_H
#define GRU_TEAM_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
long syscall(long number, ...); /* glibc declares it only with _DEFAULT_SOURCE */
#define GRU_TEAM_FUTEX 1
#else
#define GRU_TEAM_FUTEX 0
#endif

/* How long a waiter spins before it parks: a few timesteps of a small model, so that the
 * members of a running recurrence never sleep between steps, while an idle model parks at once
 * on a human scale. */
#ifndef GRU_TEAM_SPIN_NS
#define GRU_TEAM_SPIN_NS 50000
#endif

typedef struct gru_team gru_team;
typedef void (*gru_team_job)(gru_team *team, int32_t member, void *arg);

typedef struct {
  gru_team *team;
  int32_t index;
  pthread_t thread;
  int started;
} gru_team_member;

struct gru_team {
  int32_t threads;
  /* The job: `job` counts jobs handed out; a worker runs one when it changes. */
  uint32_t job;
  int stop;
  gru_team_job work;
  void *arg;
  /* Whether the workers spin for the next job before they park (a caller about to call again at
   * once, as a stream of steps does) or park at once (a caller that computes alone next, as run
   * does between its recurrences: the projections' threads get the cores). */
  int linger;
  /* The barrier: `arrived` members so far in generation `generation`. */
  uint32_t arrived, generation;
  /* Parked threads (the waker skips the wake-up call when there are none). */
  uint32_t sleepers;
#if !GRU_TEAM_FUTEX
  pthread_mutex_t lock;
  pthread_cond_t wake;
#endif
  gru_team_member members[]; /* threads of them; member 0 is the caller and has no thread */
};

static inline void gru_team_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#endif
}

static uint64_t gru_team_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Waits until *word differs from `seen`: spins (unless `park_now`), then parks. */
static void gru_team_wait(gru_team *t, uint32_t *word, uint32_t seen, int park_now) {
  uint64_t start = 0;
#ifdef GRU_TEAM_NO_PARK
  park_now = 0;
#endif
  for (uint32_t spins = 0; !park_now || spins == 0; ++spins) {
    if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != seen) return;
    gru_team_relax();
#ifndef GRU_TEAM_NO_PARK
    if ((spins & 63) == 0) {
      const uint64_t now = gru_team_now_ns();
      if (!start) start = now;
      else if (now - start > GRU_TEAM_SPIN_NS) break;
    }
#endif
  }
  /* Parked: `sleepers` is raised before the last look at the word (sequentially consistent on
   * both sides, so either the waker sees a sleeper or the sleeper sees the new word). */
#if GRU_TEAM_FUTEX
  __atomic_fetch_add(&t->sleepers, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(word, __ATOMIC_SEQ_CST) == seen)
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
  __atomic_fetch_sub(&t->sleepers, 1, __ATOMIC_SEQ_CST);
#else
  pthread_mutex_lock(&t->lock);
  __atomic_fetch_add(&t->sleepers, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(word, __ATOMIC_SEQ_CST) == seen) pthread_cond_wait(&t->wake, &t->lock);
  __atomic_fetch_sub(&t->sleepers, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_unlock(&t->lock);
#endif
}

/* Stores `value` into *word and wakes whoever is parked on it. */
static void gru_team_publish(gru_team *t, uint32_t *word, uint32_t value) {
  __atomic_store_n(word, value, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&t->sleepers, __ATOMIC_SEQ_CST) == 0) return;
#if GRU_TEAM_FUTEX
  syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
#else
  pthread_mutex_lock(&t->lock);
  pthread_cond_broadcast(&t->wake);
  pthread_mutex_unlock(&t->lock);
#endif
}

/* Every member calls it; returns when all have. What a member wrote before it is visible to
 * every member after it. */
static void gru_team_barrier(gru_team *t) {
  const uint32_t generation = __atomic_load_n(&t->generation, __ATOMIC_ACQUIRE);
  if (__atomic_add_fetch(&t->arrived, 1, __ATOMIC_ACQ_REL) == (uint32_t)t->threads) {
    __atomic_store_n(&t->arrived, 0, __ATOMIC_RELAXED);
    gru_team_publish(t, &t->generation, generation + 1);
  } else {
    gru_team_wait(t, &t->generation, generation, 0);
  }
}

static void *gru_team_worker(void *arg) {
  gru_team_member *me = (gru_team_member *)arg;
  gru_team *t = me->team;
  uint32_t seen = 0;
  for (;;) {
    gru_team_wait(t, &t->job, seen, !__atomic_load_n(&t->linger, __ATOMIC_RELAXED));
    seen = __atomic_load_n(&t->job, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) return NULL;
    t->work(t, me->index, t->arg);
    gru_team_barrier(t);
  }
}

/* Every member runs work(team, member, arg), the caller as member 0; returns when all have.
 * `linger`: the workers then spin a while for the next job (else they park at once). */
static void gru_team_dispatch(gru_team *t, gru_team_job work, void *arg, int linger) {
  t->work = work;
  t->arg = arg;
  __atomic_store_n(&t->linger, linger, __ATOMIC_RELAXED);
  gru_team_publish(t, &t->job, t->job + 1);
  work(t, 0, arg);
  gru_team_barrier(t);
}

/* Stops and joins the workers (those started), then frees nothing: the caller owns the memory. */
static void gru_team_stop(gru_team *t) {
  __atomic_store_n(&t->stop, 1, __ATOMIC_RELEASE);
  gru_team_publish(t, &t->job, t->job + 1);
  for (int32_t i = 1; i < t->threads; ++i)
    if (t->members[i].started) pthread_join(t->members[i].thread, NULL);
#if !GRU_TEAM_FUTEX
  pthread_cond_destroy(&t->wake);
  pthread_mutex_destroy(&t->lock);
#endif
}

static size_t gru_team_bytes(int32_t threads) {
  return sizeof(gru_team) + sizeof(gru_team_member) * (size_t)threads;
}

/* Starts threads - 1 workers in `t` (gru_team_bytes(threads) bytes). 0 on success; else the
 * workers started are stopped and joined. */
static int gru_team_start(gru_team *t, int32_t threads) {
  __builtin_memset(t, 0, gru_team_bytes(threads));
  t->threads = threads;
#if !GRU_TEAM_FUTEX
  pthread_mutex_init(&t->lock, NULL);
  pthread_cond_init(&t->wake, NULL);
#endif
  for (int32_t i = 0; i < threads; ++i) {
    t->members[i].team = t;
    t->members[i].index = i;
  }
  for (int32_t i = 1; i < threads; ++i) {
    if (pthread_create(&t->members[i].thread, NULL, gru_team_worker, &t->members[i]) != 0) {
      gru_team_stop(t);
      return -1;
    }
    t->members[i].started = 1;
  }
  return 0;
}

#endif /* GRU_TEAM_H */
