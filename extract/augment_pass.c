/* augment_pass.c - `extract --augment K`: after the images themselves, K augmented views
 * of every training image of this run, each through the backbone once.
 *
 * A view is what Keras ImageDataGenerator(...).flow_from_directory feeds the conv base in
 * seeds 000/001: the image loaded and resized as load_img does, randomly transformed
 * (common/augment.c: rotation, shifts, shear, zoom, flips; bilinear, fill 'nearest'), then
 * preprocessed. View v of an image is drawn from (seed, image sha256, v) alone, so a
 * re-run, a killed run resumed, or a larger K later adds exactly the missing views and
 * recomputes nothing. One store transaction per batch of views. */
#define _GNU_SOURCE
#include "augment_pass.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/sha256.h"
#include "strmap.h"

typedef struct {
    size_t entry;     /* scan entry */
    char sha256[65];
    int view;
} work;

/* Training images of this run (distinct, stored ok) and their missing views. */
static int plan_work(const fc_augpass *a, work **out, size_t *n_out, size_t *n_images, fc_status *st) {
    fc_store *s = a->store;
    sqlite3 *db = fc_store_db(s);
    sqlite3_stmt *q = NULL;
    work *w = NULL;
    size_t n = 0, cap = 0;
    int rc = FC_OK;
    *n_images = 0;
    if (sqlite3_prepare_v2(db, "SELECT split, status FROM images WHERE sha256 = ?1", -1, &q, NULL) != SQLITE_OK)
        return fc_fail(st, FC_ERR_IO, "%s: read images: %s", fc_store_path(s), sqlite3_errmsg(db));
    fc_strmap seen = {0}; /* the same content under two paths: once */
    int have_tables = fc_views_exist(s);
    for (size_t i = 0; i < a->scan->n_files && !rc; i++) {
        const char *sha = a->shas[i];
        if (!sha[0] || fc_strmap_get(&seen, sha, NULL)) continue;
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, sha, -1, SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_ROW) continue;
        if (sqlite3_column_int(q, 0) != FC_SPLIT_TRAIN || sqlite3_column_int(q, 1) != FC_IMG_OK) continue;
        if ((rc = fc_strmap_put(&seen, sha, (int64_t)i, st))) break;
        (*n_images)++;
        int stored = have_tables ? fc_views_count(s, sha, a->cfg.views, st) : 0;
        if (stored < 0) { rc = -stored; break; }
        for (int v = 0; v < a->cfg.views && stored < a->cfg.views; v++) { /* all there: one query */
            int has = stored ? fc_views_has(s, sha, v, st) : 0;
            if (has < 0) { rc = -has; break; }
            if (has) continue;
            if (n == cap) {
                size_t nc = cap ? 2 * cap : 256;
                work *nw = realloc(w, nc * sizeof *nw);
                if (!nw) { rc = fc_fail(st, FC_ERR_NOMEM, "out of memory"); break; }
                w = nw, cap = nc;
            }
            w[n].entry = i, w[n].view = v;
            memcpy(w[n].sha256, sha, 65);
            n++;
        }
    }
    fc_strmap_free(&seen);
    sqlite3_finalize(q);
    if (rc) {
        free(w);
        return rc;
    }
    *out = w, *n_out = n;
    return FC_OK;
}

/* Reads, checks and decodes+resizes one file into img (the same steps as extract's
 * reader). Returns 1 if the file no longer has the stored content (skipped). */
static int load_image(const fc_augpass *a, const work *wk, fc_image *img, fc_status *st) {
    char abs[4200], sha[65];
    snprintf(abs, sizeof abs, "%s/%s", a->scan->root, a->scan->files[wk->entry].path);
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = fc_read_file(abs, 0, &buf, &len, st);
    if (rc) return rc;
    fc_sha256_hex(buf, len, sha);
    if (strcmp(sha, wk->sha256) != 0) {
        free(buf);
        return 1;
    }
    fc_image raw = {0};
    rc = fc_image_decode(buf, len, abs, a->max_pixels, &raw, st);
    free(buf);
    if (rc) return rc;
    if (raw.w != a->in_w || raw.h != a->in_h) {
        rc = fc_image_resize(&raw, a->in_h, a->in_w, a->resize, img, st);
        fc_image_free(&raw);
        return rc;
    }
    *img = raw;
    return FC_OK;
}

static int write_batch(const fc_augpass *a, const work *const *rows, int n, const float *out, fc_status *st) {
    int rc = fc_store_begin(a->store, st);
    for (int r = 0; r < n && !rc; r++)
        rc = fc_views_put(a->store, rows[r]->sha256, rows[r]->view, out + (size_t)r * a->out_elems, st);
    if (!rc) rc = fc_store_commit(a->store, st);
    if (rc) fc_store_rollback(a->store);
    return rc;
}

/* Backbone on nb prepared views, then one transaction. */
static int flush(const fc_augpass *a, const float *in, float *out, const work *const *rows, int nb,
                 fc_augpass_stats *stats, fc_status *st) {
    double f0 = fc_now();
    int rc = fc_plan_forward(a->plan, in, nb, out, st);
    stats->forward_seconds += fc_now() - f0;
    if (!rc) rc = write_batch(a, rows, nb, out, st);
    if (!rc) stats->views += nb;
    return rc;
}

int fc_augment_pass(const fc_augpass *a, fc_augpass_stats *stats, fc_status *st) {
    memset(stats, 0, sizeof *stats);
    double t0 = fc_now();
    work *w = NULL;
    size_t n = 0;
    int rc = plan_work(a, &w, &n, &stats->images, st);
    if (rc) return rc;
    /* the record first: views written by a killed run are then always described */
    if ((rc = fc_store_begin(a->store, st)) || (rc = fc_views_set_config(a->store, &a->cfg, st)) ||
        (rc = fc_views_drop_stray(a->store, st)) || (rc = fc_store_commit(a->store, st))) {
        fc_store_rollback(a->store);
        free(w);
        return rc;
    }
    if (n == 0) {
        free(w);
        stats->seconds = fc_now() - t0;
        return FC_OK;
    }
    const size_t pix = (size_t)a->in_h * a->in_w, in_elems = pix * 3;
    float *in = malloc((size_t)a->batch * in_elems * sizeof *in);
    float *out = malloc((size_t)a->batch * a->out_elems * sizeof *out);
    float *fpx = malloc(in_elems * sizeof *fpx), *aug = malloc(in_elems * sizeof *aug);
    const work **rows = malloc((size_t)a->batch * sizeof *rows);
    fc_progress *pg = fc_progress_create("augment", "view", (int64_t)n, a->quiet);
    fc_image img = {0};
    size_t img_of = (size_t)-1; /* entry whose resized image is in img */
    if (!in || !out || !fpx || !aug || !rows) rc = fc_fail(st, FC_ERR_NOMEM, "out of memory");
    int nb = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (a->stop && *a->stop) {
            rc = fc_fail(st, FC_ERR_INTERRUPTED, "interrupted while making views; re-run to resume");
            break;
        }
        const work *wk = &w[i];
        if (img_of != wk->entry) {
            fc_image_free(&img);
            img_of = wk->entry;
            int r = load_image(a, wk, &img, st);
            if (r) { /* changed since it was stored (1), or unreadable now: skip its views */
                if (r == 1) stats->changed++;
                else stats->failed++, fc_progress_message(pg, st->msg);
                memset(st, 0, sizeof *st);
                while (i + 1 < n && w[i + 1].entry == wk->entry) i++;
                continue;
            }
            for (size_t p = 0; p < in_elems; p++) fpx[p] = (float)img.rgb[p];
        }
        fc_aug_params prm;
        fc_aug_draw(&a->spec, a->in_h, a->in_w, fc_aug_key(a->cfg.seed, wk->sha256, wk->view), &prm);
        fc_aug_apply(&prm, fpx, a->in_h, a->in_w, 3, aug);
        fc_preprocess_apply_float(a->preprocess, aug, pix, in + (size_t)nb * in_elems);
        rows[nb++] = wk;
        if (nb == a->batch) {
            rc = flush(a, in, out, rows, nb, stats, st);
            nb = 0;
            fc_progress_update(pg, (int64_t)(i + 1));
        }
    }
    if (!rc && nb) rc = flush(a, in, out, rows, nb, stats, st);
    fc_progress_finish(pg);
    fc_progress_free(pg);
    fc_image_free(&img);
    free(in), free(out), free(fpx), free(aug), free(rows), free(w);
    stats->seconds = fc_now() - t0;
    return rc;
}
