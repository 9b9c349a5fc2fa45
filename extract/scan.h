/* scan.h - list an image folder the way Keras flow_from_directory does.
 *
 * IMAGE_DIR/CLASS/.../FILE: one sub-folder per class (sorted by name = label order),
 * files found recursively inside each class folder (os.walk order: folders sorted,
 * files sorted). If IMAGE_DIR has `train/` and at least one of `validation/` (or
 * `valid/`, `val/`) and `test/`, those folders are the splits and each holds class
 * folders; the class list is the sorted union over the splits. Split folder names match
 * case-insensitively (`Train/`, `Validation/`). Otherwise the split of each image is
 * derived later from its content hash (fc_split_from_hash).
 *
 * Differences from Keras, all counted so the summary can report them:
 * - hidden files and folders (name starts with '.') are skipped (Keras would turn
 *   `.ipynb_checkpoints/` into a class);
 * - like Keras (follow_links=False), symlinked files are read but symlinked folders
 *   inside a class folder are not entered; a symlinked class or split folder is used. */
#ifndef FC_SCAN_H
#define FC_SCAN_H

#include "../common/fc.h"

typedef struct {
    char *path;       /* relative to IMAGE_DIR, '/'-separated, e.g. "train/cats/1.png" */
    int cls;          /* index into fc_scan.classes */
    int split;        /* FC_SPLIT_TRAIN/VAL/TEST from folders, FC_SPLIT_ANY = by hash */
    int64_t size;     /* bytes (from stat, following symlinks); -1 if stat failed */
    int64_t mtime_ns; /* modification time in ns since the epoch; 0 if stat failed */
} fc_scan_entry;


typedef struct {
    char *name;            /* a top-level folder next to the split folders */
    size_t images;         /* image files in it (recursively): left out */
} fc_scan_ignored;

typedef struct {
    char *root;            /* IMAGE_DIR as given */
    char **classes;        /* sorted class names */
    int n_classes;
    fc_scan_entry *files;  /* grouped by split folder, then class, then walk order */
    size_t n_files, cap;
    int split_dirs;        /* 1 when train/ validation|valid|val/ test/ define the splits */
    char *split_dir[3];    /* the split folders' own names by FC_SPLIT_* ("Train", "valid"),
                            * NULL if absent; set also when they do not define the splits */
    /* skipped entries */
    size_t n_hidden;       /* hidden files and folders */
    size_t n_other;        /* files with other extensions */
    size_t n_loose;        /* files directly in IMAGE_DIR (or in a split folder) */
    size_t n_linked_dirs;  /* symlinked folders inside class folders (not followed) */
    size_t n_ignored_dirs; /* folders without images next to the split folders */
    fc_scan_ignored *ignored; /* folders with images next to the split folders, by name */
    size_t n_ignored;
} fc_scan;

/* Lists root. Fails (FC_ERR_IO) when root or a folder in it cannot be read. An empty
 * result is not an error here (the caller decides). */
int fc_scan_dir(const char *root, fc_scan *out, fc_status *st);
void fc_scan_free(fc_scan *s);

/* The split a top-level folder of this name holds (FC_SPLIT_TRAIN/VAL/TEST), matched
 * case-insensitively: train, validation|valid|val, test; -2 for any other name. */
int fc_scan_split_of_name(const char *name);
/* Split names and near misses (training, testing), case-insensitively: folders a user
 * probably meant as splits. */
int fc_scan_looks_like_split(const char *name);

/* True for the names Keras lists as images: extension png, jpg, jpeg, bmp, ppm, tif or
 * tiff, in any case. The format itself comes from the content when decoded. */
int fc_scan_is_image_name(const char *name);

/* Stable split from a hex sha256: u = first 8 bytes as a big-endian integer / 2^64;
 * u < test_frac -> test, u < test_frac + val_frac -> validation, else train. Depends
 * only on the image bytes, so re-runs, other machines and merged stores agree. */
int fc_split_from_hash(const char *sha_hex, double val_frac, double test_frac);

/* Shard of an image for --shard I/N: bytes 8..15 of the sha256 (big endian) mod n,
 * independent of the split bits. */
int fc_shard_of(const char *sha_hex, int n);
/* Parses "I/N" with 0 <= I < N <= 65536. Returns 0 or -1. */
int fc_shard_parse(const char *s, int *i, int *n);

#endif
