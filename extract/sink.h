/* sink.h - extract's side of the store: what is already stored (by sha256, and by
 * path+size+mtime for the fast path), writing one batch per transaction, and finding
 * stored images that are no longer in IMAGE_DIR.
 *
 * Everything the reader thread looks up (fc_sink_path_sha, fc_sink_is_stored) is loaded
 * by fc_sink_open and only read afterwards; only the writer thread touches the store. */
#ifndef FC_SINK_H
#define FC_SINK_H

#include "../common/store.h"
#include "pipeline.h"
#include "strmap.h"

typedef struct {
    char sha256[65];
    int64_t size, mtime_ns;
} fc_sink_path;

#define FC_SINK_RELABEL_LINES 20 /* relabelled images named one by one per run (extract says "20") */

typedef struct {
    char sha256[65];
    int status;          /* FC_IMG_OK / FC_IMG_FAILED */
    int class_id;        /* index into class_names */
    int split;           /* FC_SPLIT_* as stored */
} fc_sink_image;

typedef struct {
    fc_store *store;
    const fc_scan *scan;
    fc_provenance *prov;     /* wanted provenance; codec.layout AUTO until the first batch */
    int have_prov;           /* the store has its provenance */
    int learn_rank;          /* a store from before feat_rank: record it when the run succeeds */
    fc_sink_image *imgs;     /* every stored image */
    size_t n_imgs, cap_imgs;
    char **class_names;      /* classes of stored images */
    int n_class_names;
    fc_strmap by_sha;        /* sha256 -> index in imgs */
    fc_sink_path *paths;     /* stored path records */
    size_t n_paths, cap_paths;
    fc_strmap by_path;       /* path -> index in paths */
    fc_strmap dropped;       /* writer: records of unreadable files that now read, deleted */
    int64_t relabeled;       /* stored images given another class or folder split (noted) */
    fc_progress *progress;   /* for warnings */
    const char *image_dir;   /* folder to record with the first batch of a new store, or NULL */
} fc_sink;

/* Loads the stored images and path records. prov: what this run produces; if the store
 * has a provenance it must match (FC_ERR_MISMATCH naming the fields, nothing written). */
int fc_sink_open(fc_sink *k, fc_store *s, const fc_scan *scan, fc_provenance *prov,
                 fc_status *st);
void fc_sink_free(fc_sink *k);

/* 1 if a scanned file sits at a path the store recorded, with the recorded content: the
 * same size and mtime (as the fast path trusts), or for up to max_hash such files the same
 * sha256 of the file's bytes; 0 if none does. Failed records do not count. *overlap: how
 * many scanned paths the store knows, whatever their content. Reads only. */
int fc_sink_shares_files(const fc_sink *k, int max_hash, size_t *overlap);
/* Records dir as the store's image folder (fc_store_set_image_dir): now for a store with
 * a provenance, else with the first batch (dir must outlive the run). */
int fc_sink_record_folder(fc_sink *k, const char *dir, fc_status *st);

/* fc_pl_ops callbacks (ctx = fc_sink*). */
int fc_sink_write(void *ctx, const fc_pl_batch *b, fc_status *st);
/* After a successful run on a store made before feat_rank was recorded: records it;
 * *vector says whether it recorded vector features (heads then start with Dense). */
int fc_sink_learn_rank(fc_sink *k, int *vector, fc_status *st);
int fc_sink_path_sha(void *ctx, const fc_scan_entry *e, char sha256[65]);
int fc_sink_is_stored(void *ctx, const char *sha256);
int fc_sink_label_differs(void *ctx, const char *sha256, const fc_scan_entry *e, int split);

/* How many stored images with features (of those loaded at open) this run found at a path
 * the store records for them, with their stored content (shas: this run's sha256 per scan
 * entry). */
size_t fc_sink_found_in_place(const fc_sink *k, char (*shas)[65], size_t n);

/* Stored images (ok or failed) in shard I/N whose sha256 is not among this run's
 * (shas, one per scan entry). *out: malloc'd array of indices into k->imgs. */
int fc_sink_removed(const fc_sink *k, char (*shas)[65], size_t n, int shard_i, int shard_n,
                    size_t **out, size_t *n_out, fc_status *st);
/* Deletes those images (one transaction). */
int fc_sink_prune(fc_sink *k, const size_t *idx, size_t n, fc_status *st);

#endif
