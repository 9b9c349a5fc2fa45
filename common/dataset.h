/* dataset.h - a split of decoded features in memory, for train/sweep/evaluate/export.
 * Loaded from a SQLite store or from an exported HDF5 file (same contents). */
#ifndef FC_DATASET_H
#define FC_DATASET_H

#include "store.h"

typedef struct {
    size_t n;              /* images */
    int h, w, c;           /* feature map shape */
    size_t dim;            /* h*w*c */
    float *x;              /* n*dim, 64-byte aligned */
    int32_t *y;            /* n class indices */
    int n_classes;
    char **class_names;    /* label order */
    char fingerprint[65];
    fc_provenance prov;
    /* fc_dataset_load_views only: K augmented views per image (store_views.h), view v of
     * image i at (i * n_views + v) * dim: in views16 as IEEE half when the store's codec is
     * f16 (its values are halves: kept exactly, in half the memory), else in views */
    float *views;
    uint16_t *views16;
    int n_views;
    char aug_spec[512];
    uint64_t aug_seed;
    /* The file read: st_dev and st_ino of path when the load began (0, 0 if unknown), so a
     * later writer can tell whether path still names it (train records its run only there). */
    uint64_t file_dev, file_ino;
} fc_dataset;

/* path: a .sqlite/.db store or an .h5 export (detected by content). split: FC_SPLIT_*. */
int fc_dataset_load(const char *path, int split, fc_dataset *ds, fc_status *st);
/* The same, plus every image's augmented views (extract --augment K; an export's /views);
 * a store or export without them, or an image with missing views, is an error naming it. */
int fc_dataset_load_views(const char *path, int split, fc_dataset *ds, fc_status *st);
/* The train split (with its views when views) and the validation split, read together: a
 * store is opened once and read in one read transaction, so both splits come from one
 * snapshot, with one provenance and one class list, whatever another process writes or
 * renames over path meanwhile (an extract adding or pruning a class, merge --force); an
 * export replaced between the two reads is refused (FC_ERR_BUSY, "run again"). On failure
 * both are freed. */
int fc_dataset_load_train_val(const char *path, int views, fc_dataset *tr, fc_dataset *va, fc_status *st);
void fc_dataset_free(fc_dataset *ds);

/* HDF5 branch (h5feat.c): read one split of an exported file (with its augmented views). */
int fc_h5feat_load(const char *path, int split, fc_dataset *ds, fc_status *st);
int fc_h5feat_load_views(const char *path, int split, fc_dataset *ds, fc_status *st);
/* 1 if the file starts with the HDF5 signature. */
int fc_is_hdf5(const char *path);

#endif
