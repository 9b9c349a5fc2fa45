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

static int load_store(const char *path, int split, int views, fc_dataset *ds, fc_status *st) {
    fc_store *s = NULL;
    int rc = fc_store_open(path, FC_STORE_READ, &s, st), in_tx = 0;
    float *scratch = NULL;
    if (rc) return rc;
    sqlite3 *db = fc_store_db(s);
    const fc_provenance *p = fc_store_provenance(s);
    size_t n = 0, total;
    if (!p) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: store is empty (no provenance, nothing extracted)", path);
        goto out;
    }
    /* one read transaction: counts and rows come from the same snapshot */
    in_tx = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    ds->prov = *p;
    memcpy(ds->fingerprint, p->fingerprint, sizeof ds->fingerprint);
    ds->h = p->feat_h, ds->w = p->feat_w, ds->c = p->feat_c;
    ds->dim = (size_t)p->feat_h * (size_t)p->feat_w * (size_t)p->feat_c;
    if ((rc = fc_store_classes(s, &ds->class_names, &ds->n_classes, st))) goto out;
    if ((rc = count_split(s, split, &n, st))) goto out;
    if (fc_size_mul4(n ? n : 1, ds->dim, sizeof(float), 1, &total)) {
        rc = fc_fail(st, FC_ERR_NOMEM, "%s: %zu images x %zu values do not fit in memory", path, n, ds->dim);
        goto out;
    }
    char what[1024];
    snprintf(what, sizeof what, "%s: the features of %zu images (%dx%dx%d each)", path, n, ds->h, ds->w, ds->c);
    if ((rc = fc_mem_check((double)total, what, st))) goto out;
    ds->x = fc_aligned_alloc(total, st);
    ds->y = fc_calloc(n ? n : 1, sizeof *ds->y, st);
    if (!ds->x || !ds->y) {
        rc = FC_ERR_NOMEM;
        goto out;
    }
    if (views) {
        fc_views_config vc;
        if ((rc = fc_views_get_config(s, &vc, st))) goto out;
        if (!vc.views) {
            rc = fc_fail(st, FC_ERR_FORMAT, "%s: the store has no augmented views (extract ... --augment K makes them)",
                         path);
            goto out;
        }
        /* FC_TEST_VIEWS_FLOAT: tests compare the two residencies */
        const int half = p->codec.kind == FC_CODEC_F16 && !getenv("FC_TEST_VIEWS_FLOAT");
        if (fc_size_mul4(n ? n : 1, (size_t)vc.views, ds->dim, half ? sizeof(uint16_t) : sizeof(float), &total)) {
            rc = fc_fail(st, FC_ERR_NOMEM, "%s: %zu images x %d views do not fit in memory", path, n, vc.views);
            goto out;
        }
        double avail = fc_mem_available(1);
        if (avail >= 0 && (double)total > avail) {
            char need_s[32], avail_s[32];
            fc_fmt_bytes((double)total, need_s, sizeof need_s);
            fc_fmt_bytes(avail, avail_s, sizeof avail_s);
            rc = fc_fail(st, FC_ERR_NOMEM,
                         "%s: the augmented views (%zu training images x %d) need %s in memory, and the machine has "
                         "%s available (memory + swap): train without --augment, or extract fewer views "
                         "(--augment K) into a new store", path, n, vc.views, need_s, avail_s);
            goto out;
        }
        if (half ? !(ds->views16 = fc_aligned_alloc(total, st)) ||
                       !(scratch = fc_aligned_alloc((size_t)vc.views * ds->dim * sizeof(float), st))
                 : !(ds->views = fc_aligned_alloc(total, st))) {
            rc = FC_ERR_NOMEM;
            goto out;
        }
        ds->n_views = vc.views;
        snprintf(ds->aug_spec, sizeof ds->aug_spec, "%s", vc.spec);
        ds->aug_seed = vc.seed;
    }
    loader L = {ds, n, st, FC_OK, s, path, scratch};
    rc = fc_store_foreach(s, split, 1, take, &L, st);
    if (!rc) rc = L.rc;
    if (!rc && ds->n != n)
        rc = fc_fail(st, FC_ERR_INTERNAL, "%s: read %zu images, expected %zu", path, ds->n, n);
out:
    if (in_tx) sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    free(scratch);
    fc_store_close(s);
    return rc;
}

static int load_any(const char *path, int split, int views, fc_dataset *ds, fc_status *st) {
    memset(ds, 0, sizeof *ds);
    if (split < FC_SPLIT_ANY || split > FC_SPLIT_TEST)
        return fc_fail(st, FC_ERR_ARG, "bad split %d", split);
    int rc;
    if (fc_is_hdf5(path)) {
        if (!fc_h5feat_load || !fc_h5feat_load_views)
            return fc_fail(st, FC_ERR_UNSUPPORTED,
                           "%s: HDF5 feature files need featcache built with export support", path);
        /* both clean up after themselves */
        return views ? fc_h5feat_load_views(path, split, ds, st) : fc_h5feat_load(path, split, ds, st);
    }
    rc = load_store(path, split, views, ds, st);
    if (rc) fc_dataset_free(ds);
    return rc;
}

int fc_dataset_load(const char *path, int split, fc_dataset *ds, fc_status *st) {
    return load_any(path, split, 0, ds, st);
}

int fc_dataset_load_views(const char *path, int split, fc_dataset *ds, fc_status *st) {
    return load_any(path, split, 1, ds, st);
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
