/* tpool.c - barrier-synchronized thread team. */
#include "tpool.h"

#include <stdlib.h>

struct fc_tpool;
typedef struct {
    struct fc_tpool *pool;
    int tid;
} member;

struct fc_tpool {
    int n;
    pthread_t *th;
    member *m;
    pthread_barrier_t go, done;
    fc_tpool_fn fn;
    void *ctx;
    int quit;
    pthread_mutex_t gate_mu;  /* start gate: 1 = all members started, 2 = abort */
    pthread_cond_t gate_cv;
    int gate;
};

static void *worker(void *arg) {
    member *m = arg;
    fc_tpool *p = m->pool;
    pthread_mutex_lock(&p->gate_mu);
    while (!p->gate) pthread_cond_wait(&p->gate_cv, &p->gate_mu);
    int abort_start = p->gate == 2;
    pthread_mutex_unlock(&p->gate_mu);
    if (abort_start) return NULL;
    for (;;) {
        pthread_barrier_wait(&p->go);
        if (p->quit) break;
        p->fn(p->ctx, m->tid, p->n);
        pthread_barrier_wait(&p->done);
    }
    return NULL;
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
    pthread_barrier_init(&p->go, NULL, (unsigned)n);
    pthread_barrier_init(&p->done, NULL, (unsigned)n);
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
        p->n = 1; /* members are gone: free must not wait on the barrier */
        fc_tpool_free(p);
        return fc_fail(st, FC_ERR_NOMEM, "cannot start thread %d of %d", started, n);
    }
    *out = p;
    return FC_OK;
}

void fc_tpool_free(fc_tpool *p) {
    if (!p) return;
    p->quit = 1;
    if (p->n > 1) pthread_barrier_wait(&p->go);
    for (int i = 1; i < p->n; i++) pthread_join(p->th[i], NULL);
    pthread_barrier_destroy(&p->go);
    pthread_barrier_destroy(&p->done);
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
    if (p->n > 1) pthread_barrier_wait(&p->go);
    fn(ctx, 0, p->n);
    if (p->n > 1) pthread_barrier_wait(&p->done);
}
