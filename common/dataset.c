/* dataset.c - load one split of decoded features into memory (train/sweep/evaluate/export).
 * SQLite stores are read here; exported HDF5 files go to fc_h5feat_load (h5feat.c), which
 * is linked only when featcache is built with export support. */
#define _GNU_SOURCE
#include "dataset.h"
#include "codec.h"
#include "store_views.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#pragma weak fc_h5feat_load
#pragma weak fc_h5feat_load_views

typedef struct {
    fc_dataset *ds;
    size_t cap;
    fc_status *st;
    int rc;
    fc_store *s;      /* for the views */
    const char *path;
    float *scratch;   /* one image's views as float32 (half-resident views) */
} loader;

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int take(void *ctx, const fc_image_rec *r, const float *x, const uint8_t *blob, size_t len) {
    loader *L = ctx;
    fc_dataset *ds = L->ds;
    if (!x) return 0; /* failed image: no features */
    if (ds->n >= L->cap) {
        L->rc = fc_fail(L->st, FC_ERR_INTERNAL, "store changed while it was read");
        return 1;
    }
    const char *name = r->class_name;
    char **hit = bsearch(&name, ds->class_names, (size_t)ds->n_classes, sizeof *hit, cmp_name);
    if (!hit) {
        L->rc = fc_fail(L->st, FC_ERR_FORMAT, "image %s has unknown class '%s'", r->path, name);
        return 1;
    }
    memcpy(ds->x + ds->n * ds->dim, x, ds->dim * sizeof(float));
    if (ds->n_views) {
        size_t kd = (size_t)ds->n_views * ds->dim;
        float *dst = ds->views16 ? L->scratch : ds->views + ds->n * kd;
        if (fc_views_load(L->s, r->sha256, ds->n_views, dst, L->st)) {
            L->rc = fc_wrap(L->st, "%s: augmented views of %s", L->path, r->path);
            return 1;
        }
        if (ds->views16) fc_f32_to_f16_array(dst, ds->views16 + ds->n * kd, kd); /* exact: f16 values */
    }
    ds->y[ds->n++] = (int32_t)(hit - ds->class_names);
    return 0;
}

static int count_split(fc_store *s, int split, size_t *n, fc_status *st) {
    fc_store_stats ss;
    int rc = fc_store_stats_get(s, &ss, st);
    if (rc) return rc;
    *n = (size_t)(split == FC_SPLIT_ANY ? ss.images_ok : ss.per_split[split]);
    return FC_OK;
}

/* One split's rows into ds, whose provenance, shape and class list are set (from the same
 * read transaction of s). */
static int load_rows(fc_store *s, const char *path, int split, int views, fc_dataset *ds, fc_status *st) {
    const fc_provenance *p = &ds->prov;
    size_t n = 0, total;
    float *scratch = NULL;
    int rc;
    if ((rc = count_split(s, split, &n, st))) return rc;
    if (fc_size_mul4(n ? n : 1, ds->dim, sizeof(float), 1, &total))
        return fc_fail(st, FC_ERR_NOMEM, "%s: %zu images x %zu values do not fit in memory", path, n, ds->dim);
    char what[1024];
    snprintf(what, sizeof what, "%s: the features of %zu images (%dx%dx%d each)", path, n, ds->h, ds->w, ds->c);
    if ((rc = fc_mem_check((double)total, what, st))) return rc;
    ds->x = fc_aligned_alloc(total, st);
    ds->y = fc_calloc(n ? n : 1, sizeof *ds->y, st);
    if (!ds->x || !ds->y) return FC_ERR_NOMEM;
    if (views) {
        fc_views_config vc;
        if ((rc = fc_views_get_config(s, &vc, st))) return rc;
        if (!vc.views)
            return fc_fail(st, FC_ERR_FORMAT, "%s: the store has no augmented views (extract ... --augment K makes "
                           "them)", path);
        /* FC_TEST_VIEWS_FLOAT: tests compare the two residencies */
        const int half = p->codec.kind == FC_CODEC_F16 && !getenv("FC_TEST_VIEWS_FLOAT");
        if (fc_size_mul4(n ? n : 1, (size_t)vc.views, ds->dim, half ? sizeof(uint16_t) : sizeof(float), &total))
            return fc_fail(st, FC_ERR_NOMEM, "%s: %zu images x %d views do not fit in memory", path, n, vc.views);
        double avail = fc_mem_available(1);
        if (avail >= 0 && (double)total > avail) {
            char need_s[32], avail_s[32];
            fc_fmt_bytes((double)total, need_s, sizeof need_s);
            fc_fmt_bytes(avail, avail_s, sizeof avail_s);
            return fc_fail(st, FC_ERR_NOMEM,
                           "%s: the augmented views (%zu training images x %d) need %s in memory, and the machine "
                           "has %s available (memory + swap): train without --augment, or extract fewer views "
                           "(--augment K) into a new store", path, n, vc.views, need_s, avail_s);
        }
        if (half ? !(ds->views16 = fc_aligned_alloc(total, st)) ||
                       !(scratch = fc_aligned_alloc((size_t)vc.views * ds->dim * sizeof(float), st))
                 : !(ds->views = fc_aligned_alloc(total, st))) {
            free(scratch);
            return FC_ERR_NOMEM;
        }
        ds->n_views = vc.views;
        snprintf(ds->aug_spec, sizeof ds->aug_spec, "%s", vc.spec);
        ds->aug_seed = vc.seed;
    }
    loader L = {ds, n, st, FC_OK, s, path, scratch};
    rc = fc_store_foreach(s, split, 1, take, &L, st);
    if (!rc) rc = L.rc;
    if (!rc && ds->n != n) rc = fc_fail(st, FC_ERR_INTERNAL, "%s: read %zu images, expected %zu", path, ds->n, n);
    free(scratch);
    return rc;
}

/* ds[i] := split[i] of the store at path (with its views when views[i]). One open and one
 * read transaction for all: the provenance, the class list and every split's rows come from
 * one snapshot of one file, whatever another process writes or renames over path meanwhile
 * (an extract adding or pruning a class, merge --force replacing the store). */
static int load_store(const char *path, int n, const int *split, const int *views, fc_dataset *const *ds,
                      fc_status *st) {
    struct stat sb;
    int have_id = stat(path, &sb) == 0; /* before the open: a file put there later is another one */
    fc_store *s = NULL;
    int rc = fc_store_open(path, FC_STORE_READ, &s, st), in_tx = 0;
    if (rc) return rc;
    sqlite3 *db = fc_store_db(s);
    in_tx = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    /* the provenance again, inside the transaction: the open read it in a snapshot of its own */
    fc_provenance p;
    int got = fc_store_get_provenance(s, &p, st);
    if (got < 0) {
        rc = -got;
        goto out;
    }
    if (!got) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: store is empty (no provenance, nothing extracted)", path);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        fc_dataset *d = ds[i];
        /* tests: another process writes or replaces the store between two splits */
        if (i > 0) fc_test_hook("FC_TEST_HOOK_AFTER_TRAIN_SPLIT");
        d->prov = p;
        memcpy(d->fingerprint, p.fingerprint, sizeof d->fingerprint);
        d->h = p.feat_h, d->w = p.feat_w, d->c = p.feat_c;
        d->dim = (size_t)p.feat_h * (size_t)p.feat_w * (size_t)p.feat_c;
        d->file_dev = have_id ? (uint64_t)sb.st_dev : 0, d->file_ino = have_id ? (uint64_t)sb.st_ino : 0;
        if ((rc = fc_store_classes(s, &d->class_names, &d->n_classes, st))) goto out;
        if ((rc = load_rows(s, path, split[i], views[i], d, st))) goto out;
    }
out:
    if (in_tx) sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    fc_store_close(s);
    return rc;
}

static int same_classes(const fc_dataset *a, const fc_dataset *b) {
    if (a->n_classes != b->n_classes) return 0;
    for (int i = 0; i < a->n_classes; i++)
        if (strcmp(a->class_names[i], b->class_names[i]) != 0) return 0;
    return 1;
}

/* The same from an HDF5 export, which is read split by split (each opens the file): an
 * export is only ever replaced whole (written to a temp file and renamed), so the file must
 * be the same one after the last split as before the first. */
static int load_h5(const char *path, int n, const int *split, const int *views, fc_dataset *const *ds,
                   fc_status *st) {
    if (!fc_h5feat_load || !fc_h5feat_load_views)
        return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: HDF5 feature files need featcache built with export support",
                       path);
    struct stat a, b;
    int have_id = stat(path, &a) == 0;
    for (int i = 0; i < n; i++) {
        if (i > 0) fc_test_hook("FC_TEST_HOOK_AFTER_TRAIN_SPLIT"); /* tests: the export replaced meanwhile */
        int rc = views[i] ? fc_h5feat_load_views(path, split[i], ds[i], st)
                          : fc_h5feat_load(path, split[i], ds[i], st); /* both clean up after themselves */
        if (rc) return rc;
        ds[i]->file_dev = have_id ? (uint64_t)a.st_dev : 0, ds[i]->file_ino = have_id ? (uint64_t)a.st_ino : 0;
    }
    if (n > 1 && (!have_id || stat(path, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino ||
                  strcmp(ds[0]->fingerprint, ds[n - 1]->fingerprint) != 0 || !same_classes(ds[0], ds[n - 1])))
        return fc_fail(st, FC_ERR_BUSY, "%s was replaced while it was read (another process wrote it): its splits "
                       "may come from two different files; run again", path);
    return FC_OK;
}

static int load_any(const char *path, int n, const int *split, const int *views, fc_dataset *const *ds,
                    fc_status *st) {
    for (int i = 0; i < n; i++) memset(ds[i], 0, sizeof *ds[i]);
    for (int i = 0; i < n; i++)
        if (split[i] < FC_SPLIT_ANY || split[i] > FC_SPLIT_TEST)
            return fc_fail(st, FC_ERR_ARG, "bad split %d", split[i]);
    int rc = fc_is_hdf5(path) ? load_h5(path, n, split, views, ds, st) : load_store(path, n, split, views, ds, st);
    if (rc)
        for (int i = 0; i < n; i++) fc_dataset_free(ds[i]);
    return rc;
}

int fc_dataset_load(const char *path, int split, fc_dataset *ds, fc_status *st) {
    static const int no_views = 0;
    return load_any(path, 1, &split, &no_views, &ds, st);
}

int fc_dataset_load_views(const char *path, int split, fc_dataset *ds, fc_status *st) {
    static const int with_views = 1;
    return load_any(path, 1, &split, &with_views, &ds, st);
}

int fc_dataset_load_train_val(const char *path, int views, fc_dataset *tr, fc_dataset *va, fc_status *st) {
    const int split[2] = {FC_SPLIT_TRAIN, FC_SPLIT_VAL}, v[2] = {views, 0};
    fc_dataset *const ds[2] = {tr, va};
    return load_any(path, 2, split, v, ds, st);
}

void fc_dataset_free(fc_dataset *ds) {
    if (!ds) return;
    free(ds->x);
    free(ds->views);
    free(ds->views16);
    free(ds->y);
    fc_strlist_free(ds->class_names, ds->n_classes);
    memset(ds, 0, sizeof *ds);
}
