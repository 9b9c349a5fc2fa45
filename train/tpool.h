/* tpool.h - a fixed team of threads that run one function per "round".
 * The calling thread is member 0. Between rounds members spin for at most ~50 us (a
 * training step's serial part is shorter than a futex wake-up) and then block, so an idle
 * team does not fight OpenBLAS's own threads or other processes for the cores. */
#ifndef FC_TRAIN_TPOOL_H
#define FC_TRAIN_TPOOL_H

#include <pthread.h>

#include "../common/fc.h"

typedef struct fc_tpool fc_tpool;
typedef void (*fc_tpool_fn)(void *ctx, int tid, int n);

int fc_tpool_create(int n, fc_tpool **out, fc_status *st);
void fc_tpool_free(fc_tpool *p);
int fc_tpool_size(const fc_tpool *p);
/* Runs fn(ctx, tid, n) on every member (tid 0 on the caller) and waits for all. */
void fc_tpool_run(fc_tpool *p, fc_tpool_fn fn, void *ctx);

#endif
