/* run_common.c - shared by cmd_train.c and cmd_sweep.c. */
#include "run_common.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/cmd/opts.h"
#include "../common/outtmp.h"
#include "../common/store.h"
#include "head_h5.h"
#include "train_opts.h"

int fc_run_load(const char *path, int augment, fc_dataset *tr, fc_dataset *va, fc_status *st) {
    /* one snapshot for both splits: two loads by path could read two stores (a class pruned,
     * the file replaced in between) and validate on labels of another class list */
    if (fc_dataset_load_train_val(path, augment, tr, va, st)) return st->code;
    if (fc_train_check_data(tr, va, path, st)) { /* the caller frees nothing on failure */
        fc_run_free_data(tr, va);
        return st->code;
    }
    return FC_OK;
}

void fc_run_warn_untrained_classes(const char *cmd, const char *path, const fc_dataset *tr, const fc_dataset *va) {
    size_t *cnt = calloc((size_t)tr->n_classes * 2, sizeof *cnt);
    if (!cnt) return;
    for (size_t i = 0; i < tr->n; i++) cnt[tr->y[i]]++;
    for (size_t i = 0; va && i < va->n; i++) cnt[tr->n_classes + va->y[i]]++;
    int none = 0;
    for (int k = 0; k < tr->n_classes; k++) none += cnt[k] == 0;
    if (none) {
        char list[1024] = "", name[160];
        size_t o = 0;
        for (int k = 0, shown = 0; k < tr->n_classes && o < sizeof list; k++) {
            if (cnt[k]) continue;
            if (shown++ == 8) {
                snprintf(list + o, sizeof list - o, ", ...");
                break;
            }
            o += (size_t)snprintf(list + o, sizeof list - o, "%s'%s' (%zu in validation)", shown > 1 ? ", " : "",
                                  fc_printable(tr->class_names[k], name, sizeof name), cnt[tr->n_classes + k]);
        }
        /* Keras's two generators would disagree on the classes and fit would fail; here the
         * head gets outputs that never see a training image (review 12 A F5) */
        fprintf(stderr, "featcache %s: warning: %s: %d of %d classes have no training images: %s; the head has an "
                "output for each that is never trained (a class folder named differently in train/ and validation/ "
                "or test/?); 'featcache info %s' counts the images of each class per split\n", cmd, path, none,
                tr->n_classes, list, path);
    }
    free(cnt);
}

void fc_run_ckpt_drop(const fc_ckpt *ck) {
    if (ck->drop_path && fc_ckpt_is_file(ck->drop_path)) (void)unlink(ck->drop_path);
}

int fc_run_lock_output(const char *opt, const char *out, int *fd, fc_status *st) {
    if (fc_store_lock(out, fd, st) == FC_OK) return FC_OK;
    if (st->code == FC_ERR_BUSY) /* review 12 A F7: two runs with one -o overwrote each other's checkpoint */
        return fc_fail(st, FC_ERR_BUSY, "%s %s: another featcache train or sweep is writing it now (it holds %s.lock): "
                       "wait for it to finish, or choose another name", opt, out, out);
    /* a file system without flock (some NFS mounts): train as before, without the guard
     * (review 12 C F8) */
    char shown[600];
    fprintf(stderr, "featcache: note: %s: no lock (a second run with the same -o would not be stopped)\n",
            fc_printable(st->msg, shown, sizeof shown));
    fc_status_clear(st);
    *fd = -1;
    return FC_OK;
}

int fc_run_check_val(const fc_train_config *c, int n, const char *path, const fc_dataset *va, fc_status *st) {
    for (int i = 0; i < n && va->n == 0; i++)
        if (c[i].patience > 0) /* a property of the data, not of the command line: exit 1 */
            return fc_fail(st, FC_ERR_FORMAT, "%s has no validation split, and --patience (early stopping on "
                           "val_loss) needs one", path);
    return FC_OK;
}

static int check_pool_prov(const char *cmd, int axis, const fc_train_config *c, int n, const char *path,
                           const fc_provenance *p) {
    if (p->feat_rank != 2) return FC_ARGS_OK;
    for (int i = 0; i < n; i++)
        if (c[i].arch.pool != FC_POOL_FLATTEN) {
            char layer[4 * sizeof p->layer];
            return fc_usage_error(cmd, "%s %s: the features of %s are a vector (layer '%s' outputs (N, %d) in "
                                  "Keras), and pooling a vector is meaningless: %s", axis ? "--grid: axis pool has"
                                  : "--pool", fc_pool_name(c[i].arch.pool), path,
                                  fc_printable(p->layer, layer, sizeof layer), p->feat_c,
                                  axis ? "drop the pool axis (flatten, the default, takes the vector as it is)"
                                       : "use --pool flatten (the default), which takes the vector as it is");
        }
    return FC_ARGS_OK;
}

int fc_run_check_pool(const char *cmd, int axis, const fc_train_config *c, int n, const char *path,
                      const fc_dataset *tr) {
    return check_pool_prov(cmd, axis, c, n, path, &tr->prov);
}

int fc_run_precheck_pool(const char *cmd, int axis, const fc_train_config *c, int n, const char *path) {
    int pooled = 0;
    for (int i = 0; i < n; i++) pooled |= c[i].arch.pool != FC_POOL_FLATTEN;
    if (!pooled || fc_is_hdf5(path)) return FC_ARGS_OK; /* an export: checked once it is loaded */
    fc_store *s = NULL;
    fc_status ign = {0};
    if (fc_store_open(path, FC_STORE_READ, &s, &ign)) return FC_ARGS_OK; /* the load says why */
    const fc_provenance *p = fc_store_provenance(s);
    int rc = p ? check_pool_prov(cmd, axis, c, n, path, p) : FC_ARGS_OK;
    fc_store_close(s);
    return rc;
}

int fc_run_stamp_result(fc_head *hd, const fc_train_config *c, const fc_history *h, fc_status *st) {
    if (h->n < 1) return FC_OK;
    const int restored = fc_history_restored(h, c->patience), held = c->patience > 0 ? h->best : h->n - 1;
    const fc_epoch_stat *e = &h->ep[held];
    json_t *j = json_pack("{s:i, s:i, s:i, s:b, s:b, s:o, s:o, s:o, s:o}", "epoch", held + 1, "epochs_run", h->n,
                          "epochs", c->epochs, "restored", restored, "stopped_early", h->stopped_early, "loss",
                          fc_json_num(e->loss), "acc", fc_json_num(e->acc), "val_loss", fc_json_num(e->val_loss),
                          "val_acc", fc_json_num(e->val_acc));
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(FC_JSON_F32_DIGITS)) : NULL;
    json_decref(j);
    if (!s) return fc_fail(st, FC_ERR_NOMEM, "cannot build the result JSON");
    free(hd->result_json);
    hd->result_json = s;
    return FC_OK;
}

int fc_run_stamp_head(fc_head *hd, const fc_dataset *ds, fc_status *st) {
    const fc_provenance *p = &ds->prov;
    snprintf(hd->fingerprint, sizeof hd->fingerprint, "%s", ds->fingerprint);
    /* the head's Keras input is what the backbone gives at the cut: (N, C) for a vector */
    hd->vec_in = p->feat_rank == 2 && hd->arch.pool == FC_POOL_FLATTEN && hd->in_h == 1 && hd->in_w == 1;
    if (ds->class_names && fc_head_set_classes(hd, ds->class_names, ds->n_classes, st)) return st->code;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:i, s:i, s:i, s:s}", "fingerprint",
                          ds->fingerprint, "arch", p->arch, "model_sha256", p->model_sha256, "model_path",
                          p->model_path, "layer", p->layer, "in_h", p->in_h, "in_w", p->in_w, "resize", p->resize,
                          "preprocess", p->preprocess, "numerics", p->numerics, "feat_h", ds->h, "feat_w", ds->w,
                          "feat_c", ds->c, "codec", fc_codec_name(p->codec.kind));
    /* where predict looks for the backbone when model_path, relative to where extract ran,
     * does not open (a store made before the record has none; a path that is not UTF-8 is
     * left out: it is only a second chance) */
    json_t *abs = j && p->model_abspath[0] ? json_string(p->model_abspath) : NULL;
    if (abs) json_object_set_new(j, "model_abspath", abs);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) return fc_fail(st, FC_ERR_NOMEM, "cannot build provenance JSON");
    free(hd->backbone_json);
    hd->backbone_json = s;
    return FC_OK;
}

int fc_run_head_provenance(const char *head_path, const fc_head *hd, fc_provenance *p, fc_status *st) {
    memset(p, 0, sizeof *p);
    json_t *j = hd->backbone_json ? json_loads(hd->backbone_json, 0, NULL) : NULL;
    const char *layer = json_string_value(json_object_get(j, "layer"));
    const char *sha = json_string_value(json_object_get(j, "model_sha256"));
    const char *rs = json_string_value(json_object_get(j, "resize"));
    const char *pre = json_string_value(json_object_get(j, "preprocess"));
    const char *num = json_string_value(json_object_get(j, "numerics"));
    const char *arch = json_string_value(json_object_get(j, "arch"));
    const char *mpath = json_string_value(json_object_get(j, "model_path"));
    const char *mabs = json_string_value(json_object_get(j, "model_abspath"));
    const char *codec = json_string_value(json_object_get(j, "codec"));
    json_int_t h = json_integer_value(json_object_get(j, "in_h")), w = json_integer_value(json_object_get(j, "in_w"));
    int rc = FC_OK;
    if (!hd->fingerprint[0])
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: head has no store fingerprint (featcache_fingerprint attribute); was it "
                     "trained by featcache?", head_path);
    else if (!layer || !sha || !rs || !pre || !num || h < 1 || w < 1 || h > FC_MAX_DIM || w > FC_MAX_DIM)
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: no backbone provenance (featcache_backbone); was it trained by featcache?",
                     head_path);
    else {
        snprintf(p->layer, sizeof p->layer, "%s", layer);
        snprintf(p->model_sha256, sizeof p->model_sha256, "%s", sha);
        snprintf(p->resize, sizeof p->resize, "%s", rs);
        snprintf(p->preprocess, sizeof p->preprocess, "%s", pre);
        snprintf(p->numerics, sizeof p->numerics, "%s", num);
        snprintf(p->fingerprint, sizeof p->fingerprint, "%s", hd->fingerprint);
        snprintf(p->arch, sizeof p->arch, "%s", arch ? arch : "");
        snprintf(p->model_path, sizeof p->model_path, "%s", mpath ? mpath : "");
        snprintf(p->model_abspath, sizeof p->model_abspath, "%s", mabs ? mabs : "");
        if (codec) (void)fc_codec_parse(codec, &p->codec.kind);
        p->in_h = (int)h, p->in_w = (int)w;
        p->feat_h = hd->in_h, p->feat_w = hd->in_w, p->feat_c = hd->in_c; /* what the head takes */
    }
    json_decref(j);
    return rc;
}

int fc_run_load_split(const char *path, int split, fc_dataset *ds, fc_status *st) {
    memset(ds, 0, sizeof *ds);
    return fc_dataset_load(path, split, ds, st);
}

int fc_run_split_parse(const char *s) {
    int split = fc_split_parse(s);
    return split == FC_SPLIT_ANY ? -2 : split;
}

const char *fc_run_split_name(int split) {
    return split == FC_SPLIT_TRAIN ? "train" : split == FC_SPLIT_VAL ? "validation" : "test";
}

void fc_run_free_data(fc_dataset *tr, fc_dataset *va) {
    fc_dataset_free(tr);
    fc_dataset_free(va);
}

char *fc_run_metrics_text(const fc_history *h) {
    if (h->n == 0) return strdup("{}");
    const fc_epoch_stat *b = &h->ep[h->best], *l = &h->ep[h->n - 1];
    /* without a validation split the val_ numbers are NaN: null in JSON */
    /* no epoch with a finite val_loss (no validation split, or every one NaN): no best epoch */
    json_t *best = isfinite(b->val_loss) ? json_integer(h->best + 1) : json_null();
    json_t *j = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:i, s:b}", "best_epoch", best, "best_val_loss",
                          fc_json_num(b->val_loss), "best_val_acc", fc_json_num(b->val_acc), "final_loss",
                          fc_json_num(l->loss), "final_acc", fc_json_num(l->acc), "final_val_loss",
                          fc_json_num(l->val_loss), "final_val_acc", fc_json_num(l->val_acc), "epochs_run", h->n,
                          "stopped_early", h->stopped_early);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(FC_JSON_F32_DIGITS)) : NULL;
    json_decref(j);
    return s;
}

int fc_run_recordable(const char *path, const char *kind) {
    const char *runs = strcmp(kind, "sweep") ? "run" : "runs"; /* a sweep records one per config */
    if (fc_is_hdf5(path)) {
        fprintf(stderr, "featcache %s: input is an HDF5 export: %s not recorded\n", kind, runs);
        return 0;
    }
    /* no write bit at all (chmod a-w) is read-only for root too, whom access() lets write */
    struct stat sb;
    if (access(path, W_OK) != 0 || (stat(path, &sb) == 0 && !(sb.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)))) {
        fprintf(stderr, "featcache %s: store is read-only: %s not recorded\n", kind, runs);
        return 0;
    }
    /* a writable store in a folder that is not: SQLite cannot make its -wal/-shm there */
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (slash == path ? 1 : (int)(slash - path)) : 1, slash ? path : ".");
    if (access(dir, W_OK) != 0) {
        fprintf(stderr, "featcache %s: store is read-only (its folder %s is not writable): %s not recorded\n", kind,
                dir, runs);
        return 0;
    }
    return 1;
}

/* Why the store s, opened at path for recording (inside its write transaction), is not the
 * one ds was read from: other features, another class list, or another file at path (merge
 * or import --force replaced it while training). why[0] == 0 when it is the same. */
static int other_store(fc_store *s, const char *path, const fc_dataset *ds, char *why, size_t cap, fc_status *st) {
    why[0] = 0;
    const fc_provenance *p = fc_store_provenance(s);
    if (!p || strcmp(p->fingerprint, ds->fingerprint) != 0) {
        snprintf(why, cap, "%s now holds other features (fingerprint changed while training)", path);
        return FC_OK;
    }
    char **names = NULL;
    int n = 0;
    if (fc_store_classes(s, &names, &n, st)) return st->code;
    int i = 0, k = 0, c = 0; /* both lists sorted by name (bytewise): the first name only one has */
    while (i < ds->n_classes && k < n && !(c = strcmp(ds->class_names[i], names[k]))) i++, k++;
    if (i < ds->n_classes || k < n) {
        char name[200];
        int gone = k == n || (i < ds->n_classes && c < 0);
        fc_printable(gone ? ds->class_names[i] : names[k], name, sizeof name);
        snprintf(why, cap, "%s now holds other classes (class list changed while training: '%s' is %s)", path, name,
                 gone ? "gone" : "new");
    }
    fc_strlist_free(names, n);
    struct stat sb;
    if (!why[0] && ds->file_ino && (stat(path, &sb) != 0 || (uint64_t)sb.st_dev != ds->file_dev ||
                                    (uint64_t)sb.st_ino != ds->file_ino))
        snprintf(why, cap, "%s was replaced by another store file while training", path);
    return FC_OK;
}

/* History JSON without its "seconds" (timings differ between two runs of one result), at 7
 * digits: a run recorded by a build that kept 7 compares equal to its resumed re-run. */
static char *history_sans_seconds(const char *text) {
    json_t *j = json_loads(text, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    json_object_del(j, "seconds");
    char *out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(7));
    json_decref(j);
    return out;
}

/* The id of the newest recorded run of this kind and config whose history is `history`
 * (seconds aside): a resumed run whose killed predecessor was recorded just before being
 * stopped (its checkpoint not yet removed) has exactly that result. 0 if none. */
static int64_t recorded_already(fc_store *s, const char *kind, const char *config, const char *history) {
    sqlite3_stmt *q = NULL;
    int64_t id = 0;
    char *want = history_sans_seconds(history);
    if (want && sqlite3_prepare_v2(fc_store_db(s), "SELECT id, history FROM runs WHERE kind = ?1 AND config = ?2 "
                                   "ORDER BY id DESC LIMIT 1", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, config, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 1)) {
            char *have = history_sans_seconds((const char *)sqlite3_column_text(q, 1));
            if (have && !strcmp(have, want)) id = sqlite3_column_int64(q, 0);
            free(have);
        }
    }
    sqlite3_finalize(q);
    free(want);
    return id;
}

int fc_run_record(const char *path, const char *kind, const fc_dataset *ds, int n, char *const *configs,
                  const fc_history *hist, double seconds, int resumed, fc_status *st) {
    fc_store *s = NULL;
    const char *runs = n > 1 ? "runs" : "run";
    fc_test_hook("FC_TEST_HOOK_BEFORE_RECORD"); /* tests: the store is replaced while training */
    if (fc_store_open(path, FC_STORE_WRITE, &s, st)) return st->code;
    if (fc_store_readonly(s)) {
        fc_store_close(s);
        fprintf(stderr, "featcache %s: store is read-only: %s not recorded\n", kind, runs);
        return FC_OK;
    }
    struct stat before, after;
    int have_id = stat(path, &before) == 0;
    char why[600] = "";
    /* the check and the rows in one write transaction: no class comes or goes in between */
    int rc = fc_store_begin(s, st);
    if (!rc) rc = other_store(s, path, ds, why, sizeof why, st);
    int dup = 0;
    for (int i = 0; !rc && !why[0] && i < n; i++) {
        json_t *hj = fc_history_json(&hist[i]);
        char *h = hj ? json_dumps(hj, JSON_COMPACT | JSON_REAL_PRECISION(FC_JSON_F32_DIGITS)) : NULL;
        json_decref(hj);
        char *metrics = fc_run_metrics_text(&hist[i]);
        int64_t same = resumed && h ? recorded_already(s, kind, configs[i], h) : 0;
        if (same) dup++;
        else
            rc = h && metrics ? fc_store_add_run(s, kind, configs[i], h, metrics, seconds, st)
                              : fc_fail(st, FC_ERR_NOMEM, "cannot build run JSON");
        free(h), free(metrics);
    }
    if (dup && !rc && !why[0]) /* review 12 A F1 */
        fprintf(stderr, "featcache %s: note: %d %s of this resumed run %s already recorded (the run was stopped "
                "after recording, before its checkpoint was removed): not recorded twice\n", kind, dup,
                dup > 1 ? "configs" : "result", dup > 1 ? "were" : "was");
    if (!rc && !why[0]) rc = fc_store_commit(s, st);
    else fc_store_rollback(s);
    fc_store_close(s);
    /* a file renamed over path while the rows were written: they went into the old one */
    if (!rc && !why[0] && have_id &&
        (stat(path, &after) != 0 || after.st_dev != before.st_dev || after.st_ino != before.st_ino))
        snprintf(why, sizeof why, "%s was replaced by another store file while the %s %s being recorded", path,
                 runs, n > 1 ? "were" : "was");
    if (!rc && why[0]) {
        char show[700];
        fprintf(stderr, "featcache %s: warning: %s: %s not recorded\n", kind, fc_printable(why, show, sizeof show),
                runs);
    }
    return rc;
}

int fc_run_threads(const void *args, int *threads) {
    long t;
    int rc = fc_arg_long(args, "threads", fc_online_cpus(), 1, 256, &t);
    *threads = (int)t;
    if (rc == FC_ARGS_OK) fc_blas_set_threads(*threads);
    return rc;
}

/* "-o" for output, else "--NAME". */
static void opt_label(const char *name, char *out, size_t cap) {
    if (!strcmp(name, "output")) snprintf(out, cap, "-o");
    else snprintf(out, cap, "--%s", name);
}

/* 1 if path names the same file as base + suffix ("./h.h5.lock" and "h.h5" ".lock"). */
static int same_place(const char *path, const char *base, const char *suffix) {
    char other[PATH_MAX + 32], a[PATH_MAX + 64], b[PATH_MAX + 64];
    if (snprintf(other, sizeof other, "%s%s", base, suffix) >= (int)sizeof other) return 0;
    if (!strcmp(path, other)) return 1;
    fc_path_resolve(path, 0, a, sizeof a), fc_path_resolve(other, 0, b, sizeof b);
    return !strcmp(a, b);
}

/* The format matplotlib's savefig would write for path's extension when it is not PNG
 * ("PDF" for curves.pdf), else NULL: --plot draws PNG only, so such a name would hold PNG
 * bytes a PDF or SVG viewer cannot open. */
static const char *other_image_format(const char *path) {
    static const char *const ext[][2] = {{"pdf", "PDF"}, {"svg", "SVG"}, {"svgz", "SVG"}, {"eps", "EPS"},
                                         {"ps", "PostScript"}, {"pgf", "PGF"}, {"jpg", "JPEG"}, {"jpeg", "JPEG"},
                                         {"tif", "TIFF"}, {"tiff", "TIFF"}, {"webp", "WebP"}, {"gif", "GIF"},
                                         {"bmp", "BMP"}, {"raw", "raw RGBA"}, {"rgba", "raw RGBA"}};
    const char *base = strrchr(path, '/'), *dot = strrchr(base ? base + 1 : path, '.');
    for (size_t k = 0; dot && k < sizeof ext / sizeof *ext; k++)
        if (!strcasecmp(dot + 1, ext[k][0])) return ext[k][1];
    return NULL;
}

int fc_run_check_outputs(const void *args, const char *store, const char *const *opts, const int *kinds, int n,
                         fc_status *st) {
    const char *const in[1] = {store};
    for (int i = 0; i < n; i++) {
        const char *path = fc_arg_str(args, opts[i], NULL);
        if (!path) continue;
        char opt[40], prev[40];
        opt_label(opts[i], opt, sizeof opt);
        const char *fmt = kinds[i] == FC_OUT_PNG ? other_image_format(path) : NULL;
        if (fmt)
            return fc_fail(st, FC_ERR_ARG, "%s %s: featcache draws PNG only (matplotlib's savefig would write %s for "
                           "that name): name it .png", opt, path, fmt);
        if (fc_output_check(path, opt, (fc_out_kind)kinds[i], in, 1, -1, st)) return st->code;
        /* an HDF5 export or a Keras model (a backbone) is HDF5 too: a head replaces only an
         * earlier featcache head */
        if (kinds[i] == FC_OUT_HDF5 && fc_is_hdf5(path) && !fc_is_featcache_head(path))
            return fc_fail(st, FC_ERR_IO, "%s %s exists and is not a head written by featcache (a Keras model, a "
                           "feature export?): not replaced (remove it or choose another name)", opt, path);
        for (int k = 0; k < i; k++) {
            const char *other = fc_arg_str(args, opts[k], NULL);
            if (other && !strcmp(other, path)) {
                opt_label(opts[k], prev, sizeof prev);
                return fc_fail(st, FC_ERR_ARG, "%s and %s name the same file %s", prev, opt, path);
            }
        }
    }
    /* nor a file of the run's own: the store's SQLite and lock side files, the checkpoint
     * beside -o (review 12 A F4: --history HEAD.h5.ckpt disabled checkpoints for good,
     * --history STORE.lock broke the one-writer lock) */
    const char *main_out = n > 0 ? fc_arg_str(args, opts[0], NULL) : NULL;
    for (int i = 0; i < n; i++) {
        const char *path = fc_arg_str(args, opts[i], NULL);
        if (!path) continue;
        static const char *const side[] = {"-wal", "-shm", "-journal", ".lock"};
        char opt[40];
        opt_label(opts[i], opt, sizeof opt);
        for (size_t k = 0; k < sizeof side / sizeof *side; k++)
            if (same_place(path, store, side[k]))
                return fc_fail(st, FC_ERR_ARG, "%s %s is a side file of the store %s (SQLite's or featcache's): "
                               "choose another name", opt, path, store);
        if (main_out && same_place(path, main_out, ".ckpt"))
            return fc_fail(st, FC_ERR_ARG, "%s %s is where this run keeps its checkpoint (-o %s + .ckpt): choose "
                           "another name", opt, path, main_out);
        if (main_out && same_place(path, main_out, ".lock"))
            return fc_fail(st, FC_ERR_ARG, "%s %s is the lock file of -o %s while this run writes it: choose another "
                           "name", opt, path, main_out);
    }
    /* every output's folder must take a new file now, not after the training: a probe
     * temp file (outtmp.h), removed at once */
    for (int i = 0; i < n; i++) {
        const char *path = fc_arg_str(args, opts[i], NULL);
        char opt[40], *tmp = NULL;
        if (!path) continue;
        int fd = fc_outtmp_create(path, &tmp, st);
        if (fd < 0) {
            int e = errno;
            opt_label(opts[i], opt, sizeof opt);
            return fc_fail(st, FC_ERR_IO, "%s %s: cannot write into its folder: %s", opt, path, strerror(e));
        }
        close(fd);
        unlink(tmp);
        free(tmp);
    }
    return FC_OK;
}

void fc_run_note_writer(const char *cmd, const char *store, size_t n) {
    if (fc_store_writer_active(store))
        fprintf(stderr, "featcache %s: note: another process is extracting into %s right now; using the %zu "
                "images stored so far\n", cmd, store, n);
}

int fc_run_check_memory(const fc_train_config *c, int n, const fc_dataset *tr, size_t n_val,
                        int threads, fc_status *st) {
    double avail = fc_mem_available(1);
    if (avail < 0) return FC_OK;
    for (int i = 0; i < n; i++) {
        double need = fc_train_config_bytes(&c[i], tr, n_val, threads);
        if (need <= avail) continue;
        char which[32] = "the head";
        if (n > 1) snprintf(which, sizeof which, "config %d", i + 1);
        return fc_fail(st, FC_ERR_NOMEM,
                       "%s needs %.2f GiB for its weights, optimizer state and buffers (its input: %zu values per "
                       "image), and this machine has %.2f GiB of memory and swap available: use smaller or fewer "
                       "hidden layers%s",
                       which, need / 1073741824.0, fc_head_in_dim(c[i].arch.pool, tr->h, tr->w, tr->c),
                       avail / 1073741824.0,
                       c[i].arch.pool == FC_POOL_FLATTEN && tr->h * tr->w > 1 ? ", or --pool gap or gmp to shrink "
                       "the input" : "");
    }
    return FC_OK;
}

int fc_run_ckpt_args(const void *args, const char *cmd, const char *out, fc_ckpt *ck) {
    ck->cmd = cmd;
    ck->every = FC_CKPT_EVERY_DEFAULT;
    const char *ev = fc_arg_str(args, "checkpoint-every", NULL);
    if (ev && !strcmp(ev, "off")) ev = NULL, ck->every = -1;
    else if (ev) {
        char *end;
        double v = strtod(ev, &end);
        if (end == ev || *end || !(v >= 0) || v > 1e9)
            return fc_usage_error(cmd, "--checkpoint-every: '%s' is not a number of seconds >= 0 or 'off'", ev);
        ck->every = v;
    }
    size_t n = strlen(out) + sizeof ".ckpt";
    char *path = malloc(n);
    if (!path) {
        fprintf(stderr, "featcache %s: out of memory\n", cmd);
        return 1;
    }
    snprintf(path, n, "%s.ckpt", out);
    /* --no-resume removes an old checkpoint only once this run holds -o's lock
     * (fc_run_ckpt_drop): a refused second run must not delete a live run's checkpoint
     * (review 12 C F3) */
    if (fc_arg_flag(args, "no-resume")) ck->drop_path = strdup(path);
    if (ck->every < 0) free(path), path = NULL;
    ck->path = path;
    return FC_ARGS_OK;
}

void fc_run_ckpt_free(fc_ckpt *ck) {
    fc_ckpt_close(ck);
    free((char *)ck->path);
    free(ck->drop_path);
    ck->path = NULL, ck->drop_path = NULL;
}

void fc_run_ckpt_space_note(const char *kind, const fc_ckpt *ck, const fc_status *st) {
    struct stat sb;
    if (!ck->path || st->code != FC_ERR_IO || (!strstr(st->msg, "No space left") && !strstr(st->msg, "File too large")) ||
        stat(ck->path, &sb) != 0 || !S_ISREG(sb.st_mode) || !fc_ckpt_is_file(ck->path))
        return; /* only a featcache checkpoint: never advice about a file of the user's (review 12 A F6) */
    char size[32];
    fc_fmt_bytes((double)sb.st_size, size, sizeof size);
    fprintf(stderr, "featcache %s: note: %s (%s) holds this run's state as of its last checkpoint: the same command "
            "resumes from there (training the epochs after it again) and then needs the space for the outputs; if "
            "the disk stays too full, free space, or delete it (the next run trains from the start)\n", kind,
            ck->path, size);
}
