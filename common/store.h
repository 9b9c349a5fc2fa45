/* store.h - the feature store: one SQLite file (schemas/store.sql, compiled in).
 *
 * WAL mode, application_id/user_version checked on open, one transaction per batch.
 * Provenance is written once and checked on every open/extract/merge/train. Images are
 * keyed by the sha256 (hex) of their file bytes; features are one encoded blob per image
 * (codec.h) plus a checksum of the decoded values. */
#ifndef FC_STORE_H
#define FC_STORE_H

#include "codec.h"
#include "fc.h"

typedef struct fc_store fc_store;

/* Everything that decides the feature values, plus descriptive fields. */
typedef struct {
    char fingerprint[65];   /* hex sha256 over the fields marked [fp] (fc_provenance_fingerprint) */
    char model_sha256[65];  /* [fp] hex sha256 of the weights content (fc_graph.weights_sha256) */
    char arch[32];          /* vgg16, inception_v3, keras, tfjs ... */
    char model_path[1024];  /* informative only */
    char layer[128];        /* [fp] cut layer name */
    int in_h, in_w;         /* [fp] input size */
    char resize[16];        /* [fp] nearest | bilinear */
    char preprocess[16];    /* [fp] caffe | tf | torch | rescale | none */
    char numerics[16];      /* [fp] FC_NUMERICS_VERSION */
    int feat_h, feat_w, feat_c; /* feature map shape per image */
    /* Rank of the cut layer's output in the Keras graph: 2 = a vector (GlobalAveragePooling2D,
     * Dense, Flatten: feat_h = feat_w = 1, Keras gives (N, feat_c)), 3 = a map (N, h, w, c),
     * which may be 1x1 too; 0 = not recorded (stores made before it). Not in the fingerprint:
     * its own provenance row, feat_rank (fc_store_set_feat_rank), outside the fixed fields. */
    int feat_rank;
    /* The shares of the hash splits (extract --val-frac, --test-frac) every image of the store
     * was split with, recorded when extract creates a store from a folder without split
     * folders, so that a re-run splits new images alike; has_fracs 0 = no record (made before
     * it, from split folders, by a merge of inputs that differ, or an import of an export
     * without it). Rows val_frac and test_frac, outside the fingerprint like feat_rank. */
    int has_fracs;
    double val_frac, test_frac;
    /* model_path made absolute (symlinks resolved) when extract created the store, so that
     * predict finds the backbone from another directory; "" = none (a bare model name, or a
     * store made before it). Row model_abspath, outside the fingerprint; informative. */
    char model_abspath[4096];
    fc_codec_params codec;  /* codec, layout, level (chosen per store) */
    /* informative, set on create */
    char version[32], host[128], user[64], command[2048];
    int64_t created, updated; /* unix seconds */
} fc_provenance;

/* A split fraction as the shortest text that reads back as the same double (messages and
 * the val_frac/test_frac rows). */
void fc_format_frac(double x, char *out, size_t cap);
/* Compute p->fingerprint from the [fp] fields. */
void fc_provenance_fingerprint(fc_provenance *p);
/* Compare the [fp] fields and the codec of two provenances; on mismatch return
 * FC_ERR_MISMATCH with a message naming each differing field and both values. */
int fc_provenance_compare(const fc_provenance *have, const fc_provenance *want,
                          const char *what, fc_status *st);
/* The [fp] fields, codec and feature shape (when both are set) in which a and b differ,
 * as "layer: A_NAME has 'x', B_NAME has 'y'; ..." in msg (the architecture too when the
 * weights differ); returns their number (0: msg empty). fc_provenance_compare names the
 * sides "store" and "this run" (an extract into a store); merge, diff, evaluate and
 * predict name the files. */
int fc_provenance_diff(const fc_provenance *a, const char *a_name, const fc_provenance *b,
                       const char *b_name, char *msg, size_t cap);
/* 1 if a and b differ in more than the codec (see fc_provenance_diff). */
int fc_provenance_diff_besides_codec(const fc_provenance *a, const fc_provenance *b);

enum {
    FC_STORE_READ = 0,      /* read-only (works on read-only files/mounts) */
    FC_STORE_WRITE = 1,     /* read-write, store must exist */
    FC_STORE_CREATE = 2,    /* read-write, create if missing */
    FC_STORE_EXCLUSIVE = 4, /* take the writer lock; "store is busy" if another process has it */
};
int fc_store_open(const char *path, int flags, fc_store **out, fc_status *st);
void fc_store_close(fc_store *s);
/* fc_store_close, but a store this open created (under FC_STORE_EXCLUSIVE) that holds no
 * image (a run that failed before its first batch was stored) is removed, still under its
 * lock, rather than left behind empty. Any other store is closed as is. */
void fc_store_close_unused(fc_store *s);
int fc_store_readonly(const fc_store *s);
/* The writer lock of the store at path alone (PATH.lock, as FC_STORE_EXCLUSIVE takes it),
 * for commands that replace the whole file (merge/import -o OUT): FC_ERR_BUSY "store is
 * busy" while another process holds it. fc_store_unlock releases it (fd < 0: nothing). */
int fc_store_lock(const char *path, int *fd, fc_status *st);
void fc_store_unlock(const char *path, int fd);
/* 1 if another process holds the writer lock of the store at path (an extract is adding
 * to it now), from /proc/locks: takes no lock itself, so it never makes a writer fail. */
int fc_store_writer_active(const char *path);
const char *fc_store_path(const fc_store *s);

/* 1 = provenance present (filled), 0 = new empty store. */
int fc_store_get_provenance(fc_store *s, fc_provenance *p, fc_status *st);
/* New store: writes p. Existing store: fc_provenance_compare() and refuse on mismatch. */
int fc_store_set_provenance(fc_store *s, const fc_provenance *p, fc_status *st);
int fc_store_touch(fc_store *s, fc_status *st); /* updates provenance.updated */
/* Writes the WAL's pages into the store file and empties the WAL (a writer, between
 * transactions), so the file's size is the store's as the next reader sees it. FC_OK
 * also when readers keep the checkpoint from completing (then the WAL stays). */
int fc_store_checkpoint(fc_store *s, fc_status *st);

typedef enum { FC_IMG_OK = 0, FC_IMG_FAILED = 1 } fc_img_status;
enum { FC_SPLIT_TRAIN = 0, FC_SPLIT_VAL = 1, FC_SPLIT_TEST = 2, FC_SPLIT_ANY = -1 };
const char *fc_split_name(int split);        /* "train", "validation", "test" */
int fc_split_parse(const char *s);           /* validation also as val or valid; any/all: FC_SPLIT_ANY; -2 if unknown */

typedef struct {
    char sha256[65];
    const char *path;        /* relative to the image dir */
    const char *class_name;  /* sub-folder name */
    int split;               /* FC_SPLIT_* */
    fc_img_status status;
    const char *error;       /* for FAILED */
    int64_t bytes;
    int width, height;       /* original size, 0 if failed */
    /* Optional (extract): the file's size and mtime_ns for its paths row, as
     * fc_store_put_path would write them; NULL leaves them unknown. */
    const struct fc_path_rec *file;
    /* Read side (fc_store_foreach): the stored sha256 of the decoded values ("" when the
     * row has none); NULL where the source carries no checksum (HDF5 exports). */
    const char *checksum;
} fc_image_rec;

/* Writes: begin, put*, commit (one transaction per batch). put with features == NULL
 * records a failed image. features: feat_h*feat_w*feat_c floats, encoded with the
 * store's codec. Re-putting an existing sha256 updates path/class/split. */
int fc_store_begin(fc_store *s, fc_status *st);
int fc_store_put(fc_store *s, const fc_image_rec *rec, const float *features, fc_status *st);
/* Put an already-encoded blob (merge/import with same codec). */
int fc_store_put_blob(fc_store *s, const fc_image_rec *rec, const uint8_t *blob, size_t len,
                      const char *checksum, fc_status *st);
int fc_store_commit(fc_store *s, fc_status *st);
int fc_store_rollback(fc_store *s);
/* 1 if sha256 has stored features (status ok), 0 if not, <0 on error. */
int fc_store_has(fc_store *s, const char *sha256, fc_status *st);
/* Removes the image, its features and its paths (absent: nothing to do). 0 or an error. */
int fc_store_delete(fc_store *s, const char *sha256, fc_status *st);

/* Iterate images (ordered by split, class, path). Callback gets the record and the
 * decoded features (NULL for failed images, or when decode==0). Return nonzero from the
 * callback to stop. */
typedef int (*fc_store_visit)(void *ctx, const fc_image_rec *rec, const float *features,
                              const uint8_t *blob, size_t blob_len);
int fc_store_foreach(fc_store *s, int split, int decode, fc_store_visit fn, void *ctx,
                     fc_status *st);

/* One image's decoded features (feat_h*feat_w*feat_c floats into x), checked against
 * their checksum as fc_store_foreach checks them (errors name the store and the image's
 * path): 1 = read, 0 = the image has no stored features (absent or failed), <0 on error. */
int fc_store_load_features(fc_store *s, const char *sha256, float *x, fc_status *st);

/* Classes in label order (sorted by name, as flow_from_directory); only classes with at
 * least one image with features count. Caller frees with fc_strlist_free. */
int fc_store_classes(fc_store *s, char ***names, int *n, fc_status *st);
void fc_strlist_free(char **list, int n);

typedef struct {
    int64_t images_ok, images_failed;
    int64_t per_split[3];
    int64_t feature_bytes;   /* sum of blob sizes */
    int64_t file_bytes;      /* database + WAL on disk */
} fc_store_stats;
int fc_store_stats_get(fc_store *s, fc_store_stats *out, fc_status *st);

/* Runs table (train/sweep records): JSON strings. */
int fc_store_add_run(fc_store *s, const char *kind, const char *config_json,
                     const char *history_json, const char *metrics_json, double seconds,
                     fc_status *st);

/* Full check: SQLite integrity_check, provenance present, every blob decodes and matches
 * its checksum. Calls report(ctx, msg) for each problem (up to max_report); returns
 * FC_OK or FC_ERR_FORMAT with the count in st. */
int fc_store_verify(fc_store *s, void (*report)(void *ctx, const char *msg), void *ctx,
                    int max_report, fc_status *st);

/* Raw SQLite handle for commands that need queries not covered above (runs listing,
 * info counts, diff). Returns sqlite3*. */
void *fc_store_db(fc_store *s);

/* ---- additions (store helper) ---- */

/* schemas/store.sql as compiled into the binary (store_schema.c). */
extern const char fc_store_schema_sql[];
#define FC_STORE_APPLICATION_ID 0x46435331 /* 'FCS1' */
#define FC_STORE_FORMAT_VERSION 1
#define FC_STORE_PAGE_SIZE 1024 /* chosen by bench/codec.sh: least overflow waste per blob */

/* With FC_STORE_READ: open as SQLite "immutable" (no locks, no -shm; for read-only media).
 * A plain FC_STORE_READ falls back to this by itself when the -shm cannot be created. */
#define FC_STORE_IMMUTABLE 8

/* Every open recomputes the provenance fingerprint from its fields and refuses a store
 * whose stored fingerprint differs (FC_ERR_FORMAT). With this flag the store opens anyway,
 * for `verify`, which reports it among the other problems. */
#define FC_STORE_ANY_FINGERPRINT 16

/* Create/open like fc_store_open; page_size (512..65536, power of 2) applies only when the
 * store is created (0 = FC_STORE_PAGE_SIZE). For benchmarks. */
int fc_store_open_page_size(const char *path, int flags, int page_size, fc_store **out,
                            fc_status *st);

/* Paths: every path an image was seen under (relative to the image folder).
 * lookup: 1 and sha256 filled if the path is stored, 0 if not, <0 on error. */
int fc_store_path_lookup(fc_store *s, const char *path, char sha256[65], fc_status *st);
/* Visit every stored path (ordered by path). Return nonzero from fn to stop. */
typedef int (*fc_store_path_visit)(void *ctx, const char *path, const char *sha256);
int fc_store_foreach_path(fc_store *s, fc_store_path_visit fn, void *ctx, fc_status *st);
/* Forget a path; when it was the image's last path the image and its features go too
 * (--prune). Returns 1 if the path was stored, 0 if not, <0 on error. */
int fc_store_remove_path(fc_store *s, const char *path, fc_status *st);

/* While the store's layout is still "auto": pick the layout that makes these count maps
 * (the first batch, feat_h*feat_w*feat_c floats each) smallest and fix it in the
 * provenance. No-op once fixed. (Without it the first fc_store_put decides alone.) */
int fc_store_choose_layout(fc_store *s, const float *x, size_t count, fc_status *st);

/* Record a train/sweep run in the store at path (opens it for writing, not exclusively,
 * so it works while another reader has it open). A read-only store (file, directory or
 * mount) is not an error: *recorded = 0 and FC_OK. */
int fc_store_record_run(const char *path, const char *kind, const char *config_json,
                        const char *history_json, const char *metrics_json, double seconds,
                        int *recorded, fc_status *st);

/* Path records with the file size and mtime seen when extract last read the file, so a
 * re-run can take the sha256 of unchanged files without reading them (extract's fast
 * path). size/mtime_ns are -1 when unknown. put inserts or replaces the path's row (inside
 * the caller's transaction); the sha256 must be a stored image. */
typedef struct fc_path_rec {
    const char *path, *sha256;
    int64_t size, mtime_ns;  /* < 0: unknown */
} fc_path_rec;
int fc_store_put_path(fc_store *s, const fc_path_rec *r, fc_status *st);
typedef int (*fc_store_path_rec_visit)(void *ctx, const fc_path_rec *r);
int fc_store_foreach_path_rec(fc_store *s, fc_store_path_rec_visit fn, void *ctx, fc_status *st);

/* The image folder the store's images were extracted from: the absolute, symlink-free
 * path of extract's IMAGE_DIR, kept so a later extract can tell another folder from this
 * one. Informative: not in the fingerprint; merge writes it when every input records the
 * same folder (the shards of one extract), import has none to write (exports do not
 * carry it); stores made before it have none. get: 1 with dir filled, 0 when none is
 * recorded (dir = ""), <0 on error. set: inside or outside the caller's transaction. */
int fc_store_get_image_dir(fc_store *s, char *dir, size_t cap, fc_status *st);
int fc_store_set_image_dir(fc_store *s, const char *dir, fc_status *st);
/* Which command made the store when it was not extract: "merge" or "import" (informative,
 * for messages; stores made before it, and extract's, have none). get/set as above. */
int fc_store_get_origin(fc_store *s, char *out, size_t cap, fc_status *st);
int fc_store_set_origin(fc_store *s, const char *origin, fc_status *st);

/* Records the rank of the features (fc_provenance.feat_rank: 2 or 3) in the store's
 * provenance, for a store that has a provenance but no such record (extract on a store made
 * before it); the record is informative like image_dir, and a store without it behaves as
 * before. fc_store_set_provenance writes p->feat_rank itself. */
int fc_store_set_feat_rank(fc_store *s, int rank, fc_status *st);
/* 1 if rank is a value feat_rank may hold for features of h x w (2 only for 1x1). */
static inline int fc_feat_rank_valid(int rank, int h, int w) {
    return rank == 3 || (rank == 2 && h == 1 && w == 1);
}

/* The provenance as loaded at open (or set since); NULL for a store without one. */
const fc_provenance *fc_store_provenance(const fc_store *s);
/* Canonical text the fingerprint hashes (for tests/docs); returns bytes written. */
size_t fc_provenance_canonical(const fc_provenance *p, char *buf, size_t cap);

#endif
