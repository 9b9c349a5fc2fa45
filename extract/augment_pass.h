/* augment_pass.h - `extract --augment K`: augmented views of this run's training images
 * (see augment_pass.c). */
#ifndef FC_AUGMENT_PASS_H
#define FC_AUGMENT_PASS_H

#include <signal.h>

#include "../common/augment.h"
#include "../common/graph.h"
#include "../common/image.h"
#include "../common/progress.h"
#include "../common/store.h"
#include "../common/store_views.h"
#include "scan.h"

typedef struct {
    fc_store *store;
    fc_plan *plan;
    const fc_scan *scan;
    char (*shas)[65];          /* sha256 per scan entry from the pipeline ("" unknown) */
    int batch, in_h, in_w;
    size_t out_elems, max_pixels;
    fc_resize resize;
    fc_preprocess preprocess;
    fc_aug_spec spec;
    fc_views_config cfg;       /* recorded in the store; cfg.views = K */
    int quiet;
    volatile sig_atomic_t *stop;
} fc_augpass;

typedef struct {
    size_t images;             /* training images of this run */
    int64_t views;             /* views computed and stored now */
    int64_t changed, failed;   /* files changed since stored / unreadable now: skipped */
    double seconds, forward_seconds;
} fc_augpass_stats;

int fc_augment_pass(const fc_augpass *a, fc_augpass_stats *stats, fc_status *st);

#endif
