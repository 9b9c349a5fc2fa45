/* h5feat.h - exported feature files: the HDF5 interchange format of schemas/hdf5_layout.md.
 *
 *   /features (N,h,w,c) float32 or float16, chunked along N, shuffle+gzip or zstd (32015)
 *   /labels   (N,) int32 class index into /classes
 *   /paths /sha256 /split (N,) and /classes (K,): variable-length UTF-8 strings
 *   root attributes: every fc_provenance field (fingerprint, model_sha256, layer ...)
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

/* ---- reader ---- */
typedef struct fc_h5feat fc_h5feat;

int fc_h5feat_open(const char *path, fc_h5feat **out, fc_status *st);
void fc_h5feat_close(fc_h5feat *f);
size_t fc_h5feat_count(const fc_h5feat *f);
const fc_provenance *fc_h5feat_provenance(const fc_h5feat *f);
/* Class names in label order (owned by f). */
char *const *fc_h5feat_classes(const fc_h5feat *f, int *n);
/* Row i's record (strings owned by f; status always FC_IMG_OK; bytes/size 0). */
void fc_h5feat_row(const fc_h5feat *f, size_t i, fc_image_rec *rec, int *label);
/* Reads rows [i0, i0+count) into out (count*h*w*c floats). */
int fc_h5feat_read(fc_h5feat *f, size_t i0, size_t count, float *out, fc_status *st);
/* Same contract as fc_store_foreach (blob is always NULL; features NULL if !decode). */
int fc_h5feat_foreach(fc_h5feat *f, int split, int decode, fc_store_visit fn, void *ctx,
                      fc_status *st);

/* Registers featcache's own implementation of the zstd filter (32015, libzstd; a chunk
 * is one zstd frame, cd_values[0] = level) unless a plugin already provides it. */
int fc_h5_zstd_register(fc_status *st);

#endif
