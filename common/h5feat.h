/* h5feat.h - exported feature files: the HDF5 interchange format of schemas/hdf5_layout.md.
 *
 *   /features (N,h,w,c) float32 or float16, chunked along N, shuffle+gzip or zstd (32015)
 *   /labels   (N,) int32 class index into /classes
 *   /paths /sha256 /split (N,) and /classes (K,): variable-length UTF-8 strings
 *   root attributes: every fc_provenance field (fingerprint, model_sha256, layer ...;
 *   feat_rank only when the store records it)
 *
 * The writer streams: it holds one block of rows at a time and writes it with a
 * hyperslab, so exporting a store larger than RAM needs a few MiB. It writes a temp
 * file next to the target and renames it on success (atomic).
 * The reader treats the file as untrusted: on open it checks every dataset's rank,
 * shape and type against the others and against the provenance attributes, every label
 * against the class count, every sha256 and split string; features are read on demand. */
#ifndef FC_H5FEAT_H
#define FC_H5FEAT_H

#include "store.h"

#define FC_H5FEAT_FORMAT "featcache.features"
#define FC_H5FEAT_FORMAT_VERSION 1
#define FC_H5_FILTER_ZSTD 32015

typedef struct {
    int float16; /* /features as IEEE half (round to nearest even) instead of float32 */
    int zstd;    /* filter 32015 instead of shuffle+gzip */
    int level;   /* gzip 1..9 or zstd 1..22; 0 = default (gzip 4, zstd 3) */
} fc_h5feat_opts;

/* ---- writer ---- */
typedef struct fc_h5feat_writer fc_h5feat_writer;

/* Creates "<path>.tmp.<host>.<pid>.XXXXXX" next to path (after removing those a killed
 * run left, outtmp.h). classes: label order (n_classes >= 1). */
int fc_h5feat_writer_open(const char *path, const fc_provenance *prov, char *const *classes,
                          int n_classes, const fc_h5feat_opts *opts, fc_h5feat_writer **out,
                          fc_status *st);
/* Appends one image: x holds feat_h*feat_w*feat_c floats (NHWC). */
int fc_h5feat_append(fc_h5feat_writer *w, const char *sha256, const char *path, int label,
                     int split, const float *x, fc_status *st);
/* Flushes, closes, fsyncs and renames onto the target; frees w (also on failure). */
int fc_h5feat_writer_finish(fc_h5feat_writer *w, fc_status *st);
/* Discards the temp file and frees w; NULL is fine. */
void fc_h5feat_writer_abort(fc_h5feat_writer *w);
size_t fc_h5feat_writer_count(const fc_h5feat_writer *w);
/* Augmented views (extract --augment), after the last fc_h5feat_append: /views (M,h,w,c)
 * with /features' type and filters, /view_of (M,) int64 (the image's row of /features),
 * /view_index (M,) int32, root attributes augment_spec, augment_seed, augment_views.
 * next(ctx, i, ...) fills view i (0 <= i < m). */
typedef int (*fc_h5feat_view_fn)(void *ctx, size_t i, int64_t *row, int32_t *view, float *x, fc_status *st);
int fc_h5feat_write_views(fc_h5feat_writer *w, const char *spec, uint64_t seed, int k, size_t m,
                          fc_h5feat_view_fn next, void *ctx, fc_status *st);

/* ---- reader ---- */
typedef struct fc_h5feat fc_h5feat;

int fc_h5feat_open(const char *path, fc_h5feat **out, fc_status *st);
/* 1 if path is a featcache feature export (root attribute featcache_format ==
 * FC_H5FEAT_FORMAT; read after the pre-flight), 0 if not or unreadable. For `export`,
 * which replaces only its own earlier files without --force. */
int fc_h5feat_is_export(const char *path);
void fc_h5feat_close(fc_h5feat *f);
size_t fc_h5feat_count(const fc_h5feat *f);
/* 1 if /features holds 16-bit floats (an export --dtype float16): values rounded to f16. */
int fc_h5feat_float16(const fc_h5feat *f);
const fc_provenance *fc_h5feat_provenance(const fc_h5feat *f);
/* Class names in label order (owned by f). */
char *const *fc_h5feat_classes(const fc_h5feat *f, int *n);
/* Row i's record (strings owned by f; status always FC_IMG_OK; bytes/size 0). */
void fc_h5feat_row(const fc_h5feat *f, size_t i, fc_image_rec *rec, int *label);
/* Reads rows [i0, i0+count) into out (count*h*w*c floats). */
int fc_h5feat_read(fc_h5feat *f, size_t i0, size_t count, float *out, fc_status *st);
/* The file's augmented views: 0 if it has none; else their count, and spec (cap bytes),
 * seed and K (checked on open: rows of /features, views below K, shapes, types). */
size_t fc_h5feat_views(const fc_h5feat *f, char *spec, size_t cap, uint64_t *seed, int *k);
/* View i: the image's row, the view index and its h*w*c floats. */
int fc_h5feat_read_view(fc_h5feat *f, size_t i, int64_t *row, int32_t *view, float *x, fc_status *st);
/* Same contract as fc_store_foreach (blob is always NULL; features NULL if !decode). */
int fc_h5feat_foreach(fc_h5feat *f, int split, int decode, fc_store_visit fn, void *ctx,
                      fc_status *st);

/* Registers featcache's own implementation of the zstd filter (32015, libzstd; a chunk
 * is one zstd frame, cd_values[0] = level) unless a plugin already provides it. */
int fc_h5_zstd_register(fc_status *st);

#endif
