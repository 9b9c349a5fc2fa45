/* pipeline.h - the extract pipeline: read+hash+decode overlapping the backbone.
 *
 * Three threads pass batch slots around a ring of FC_PL_SLOTS:
 *   reader  (own thread): for each scanned file, take the sha256 from the path fast path
 *           or read and hash the bytes; skip what is stored, out of shard or a duplicate;
 *           decode, resize and preprocess into the slot's input tensor;
 *   forward (caller's thread): runs ops.forward on the slot (the BLAS threads);
 *   writer  (own thread): hands the finished batch to ops.write (one store transaction).
 * So image decoding for batch k+1 and the commit of batch k-1 overlap the forward pass
 * of batch k. Buffers are allocated once in fc_pl_run.
 *
 * On *stop (SIGINT/SIGTERM), the reader stops taking files, the forward pass in flight
 * finishes and is written, queued batches are dropped (they are redone on the next run);
 * fc_pl_run returns FC_ERR_INTERRUPTED. */
#ifndef FC_PIPELINE_H
#define FC_PIPELINE_H

#include <signal.h>

#include "../common/image.h"
#include "../common/progress.h"
#include "scan.h"

#define FC_PL_SLOTS 3

typedef enum {
    FC_ITEM_OK,         /* decoded; features at row `row` of the batch output */
    FC_ITEM_FAILED,     /* bytes read and hashed, but not a decodable image: error set */
    FC_ITEM_UNREADABLE, /* could not be read: error set, sha256 = fc_pl_unreadable_sha */
    FC_ITEM_SEEN,       /* already stored: path, class, split, size, mtime are refreshed */
    FC_ITEM_DUP         /* same bytes as an earlier file of this run: path recorded only */
} fc_item_kind;

typedef struct {
    fc_item_kind kind;
    const fc_scan_entry *entry;
    char sha256[65];
    int split;          /* FC_SPLIT_* (from folders, or from the hash) */
    int row;            /* FC_ITEM_OK: row in in/out */
    int width, height;  /* original size (FC_ITEM_OK) */
    int64_t bytes;      /* bytes read (or the stat size on the fast path) */
    int fast;           /* FC_ITEM_SEEN from the fast path (not read): kept only to relabel */
    char error[512];    /* "PATH: reason" for FAILED/UNREADABLE */
} fc_item;

typedef struct {
    const fc_item *items;
    int n_items;
    int n_rows;         /* FC_ITEM_OK items, rows 0..n_rows-1 */
    const float *out;   /* n_rows * out_elems features */
    size_t out_elems;
} fc_pl_batch;

typedef struct {
    void *ctx;
    /* Caller's thread. in: (n, in_h, in_w, 3) NHWC; out: (n, out_elems). */
    int (*forward)(void *ctx, const float *in, int n, float *out, fc_status *st);
    /* Writer thread, batches in scan order. An error stops the run. */
    int (*write)(void *ctx, const fc_pl_batch *b, fc_status *st);
    /* Reader thread; must only read state prepared before fc_pl_run (no locking).
     * path_sha: 1 and sha256 filled if the store knows this path with the same size and
     * mtime (no need to read the file). is_stored: 1 if sha256 has stored features. */
    int (*path_sha)(void *ctx, const fc_scan_entry *e, char sha256[65]);
    int (*is_stored)(void *ctx, const char *sha256);
    /* Reader thread, optional: 1 if the stored image sha256 has another class than e's or,
     * when e has a folder split, another split: a fast-path hit is then passed to write
     * (FC_ITEM_SEEN, fast set) so that its labels follow the folder. */
    int (*label_differs)(void *ctx, const char *sha256, const fc_scan_entry *e, int split);
} fc_pl_ops;

typedef struct {
    const fc_scan *scan;
    int batch;                 /* images per forward pass */
    int in_h, in_w;            /* backbone input size */
    size_t out_elems;          /* features per image */
    fc_resize resize;
    fc_preprocess preprocess;
    size_t max_pixels;         /* 0 = FC_MAX_IMAGE_PIXELS_DEFAULT */
    double val_frac, test_frac;/* hash splits when the folder has no split folders */
    int shard_i, shard_n;      /* --shard I/N (shard_n = 1: everything) */
    fc_progress *progress;     /* may be NULL */
    volatile sig_atomic_t *stop; /* may be NULL */
    char (*shas)[65];          /* optional out: sha256 per scan entry ("" if unknown) */
} fc_pl_config;

typedef struct {
    int64_t stored;       /* features written this run */
    int64_t skipped;      /* already in the store */
    int64_t failed;       /* corrupt or not an image (recorded as failed) */
    int64_t unreadable;   /* could not be read at all */
    int64_t duplicates;   /* identical bytes seen earlier in this run */
    int64_t cross_dups;   /* of those: under another class or split than the first copy */
    int64_t other_shard;  /* belongs to another --shard */
    int64_t fast_path;    /* sha256 taken from path+size+mtime, file not read */
    int64_t bytes_read;
    double seconds;          /* wall time of fc_pl_run */
    double forward_seconds;  /* in ops.forward */
    double reader_seconds;   /* reading, hashing, decoding (not waiting for a slot) */
    double writer_seconds;   /* in ops.write */
    double reader_cpu_seconds, writer_cpu_seconds; /* CPU time of those threads */
} fc_pl_stats;

int fc_pl_run(const fc_pl_config *cfg, const fc_pl_ops *ops, fc_pl_stats *stats, fc_status *st);

/* A file that cannot be read has no content hash; the store keys its failed record by
 * sha256("featcache unreadable file\0" PATH) instead (PATH relative to IMAGE_DIR), so it
 * is counted and listed like a corrupt image, and a later run that reads the file
 * replaces it. */
int fc_pl_unreadable_sha(const char *path, char sha256[65], fc_status *st);

#endif
