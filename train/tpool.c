/* tpool.c - thread team with a generation counter: members spin briefly (the serial part
 * of a training step between two rounds is tens of microseconds, less than a futex
 * wake-up and reschedule) and then block on a condition variable, so an idle team costs
 * nothing and does not fight OpenBLAS's or other processes' threads for the cores. */
#include "tpool.h"

#include "fpmode.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

/* Longest busy wait before blocking, in nanoseconds. */
#define SPIN_NS 50000

struct fc_tpool;
typedef struct {
    struct fc_tpool *pool;
    int tid;
} member;

struct fc_tpool {
    int n;
    pthread_t *th;
    member *m;
    fc_tpool_fn fn;
    void *ctx;
    int quit;
    atomic_uint gen;     /* rounds started */
    atomic_int pending;  /* members (other than the caller) still in this round */
    pthread_mutex_t mu;  /* guards the blocking side of gen and pending */
    pthread_cond_t go_cv, done_cv;
    pthread_mutex_t gate_mu;  /* start gate: 1 = all members started, 2 = abort */
    pthread_cond_t gate_cv;
    int gate;
};

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Spins up to SPIN_NS for gen != seen; returns the new generation or seen if it timed out. */
static unsigned spin_gen(fc_tpool *p, unsigned seen) {
    long long t0 = 0;
    for (unsigned i = 0;; i++) {
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g != seen) return g;
        if ((i & 63) == 63) {
            long long t = now_ns();
            if (!t0) t0 = t;
            else if (t - t0 > SPIN_NS) return seen;
        }
        cpu_relax();
    }
}

static void *worker(void *arg) {
    member *m = arg;
    fc_ftz_enter(); /* members run training and head passes only (fpmode.h) */
    fc_tpool *p = m->pool;
    pthread_mutex_lock(&p->gate_mu);
    while (!p->gate) pthread_cond_wait(&p->gate_cv, &p->gate_mu);
    int abort_start = p->gate == 2;
    pthread_mutex_unlock(&p->gate_mu);
    if (abort_start) return NULL;
    unsigned seen = 0;
    for (;;) {
        unsigned g = spin_gen(p, seen);
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen)
                pthread_cond_wait(&p->go_cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        seen = g;
        if (p->quit) break;
        p->fn(p->ctx, m->tid, p->n);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

/* Starts a round: members see fn, ctx and quit once they see the new generation. */
static void start_round(fc_tpool *p) {
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->go_cv);
    pthread_mutex_unlock(&p->mu);
}

static void wait_round(fc_tpool *p) {
    long long t0 = now_ns();
    for (unsigned i = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; i++) {
        if ((i & 63) == 63 && now_ns() - t0 > SPIN_NS) {
            pthread_mutex_lock(&p->mu);
            while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0)
                pthread_cond_wait(&p->done_cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
            return;
        }
        cpu_relax();
    }
}

int fc_tpool_create(int n, fc_tpool **out, fc_status *st) {
    *out = NULL;
    if (n < 1) n = 1;
    fc_tpool *p = fc_calloc(1, sizeof *p, st);
    if (!p) return st->code;
    p->n = n;
    p->th = fc_calloc((size_t)n, sizeof *p->th, st);
    p->m = fc_calloc((size_t)n, sizeof *p->m, st);
    if (!p->th || !p->m) {
        free(p->th), free(p->m), free(p);
        return st->code;
    }
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    pthread_mutex_init(&p->gate_mu, NULL);
    pthread_cond_init(&p->gate_cv, NULL);
    int started = 1;
    for (; started < n; started++) {
        p->m[started].pool = p, p->m[started].tid = started;
        if (pthread_create(&p->th[started], NULL, worker, &p->m[started])) break;
    }
    pthread_mutex_lock(&p->gate_mu);
    p->gate = started == n ? 1 : 2;
    pthread_cond_broadcast(&p->gate_cv);
    pthread_mutex_unlock(&p->gate_mu);
    if (started < n) {
        for (int i = 1; i < started; i++) pthread_join(p->th[i], NULL);
        p->n = 1; /* members are gone: free must not start a round */
        fc_tpool_free(p);
        return fc_fail(st, FC_ERR_NOMEM, "cannot start thread %d of %d", started, n);
    }
    *out = p;
    return FC_OK;
}

void fc_tpool_free(fc_tpool *p) {
    if (!p) return;
    p->quit = 1;
    if (p->n > 1) start_round(p);
    for (int i = 1; i < p->n; i++) pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->gate_mu);
    pthread_cond_destroy(&p->gate_cv);
    free(p->th);
    free(p->m);
    free(p);
}

int fc_tpool_size(const fc_tpool *p) { return p->n; }

void fc_tpool_run(fc_tpool *p, fc_tpool_fn fn, void *ctx) {
    p->fn = fn;
    p->ctx = ctx;
    if (p->n > 1) start_round(p);
    fn(ctx, 0, p->n);
    if (p->n > 1) wait_round(p);
}
