/* sink.c - extract's side of the store (see sink.h). */
#define _GNU_SOURCE
#include "sink.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/sha256.h"

static int class_id(fc_sink *k, const char *name, fc_status *st) {
    for (int i = 0; i < k->n_class_names; i++)
        if (strcmp(k->class_names[i], name) == 0) return i;
    char **v = realloc(k->class_names, (size_t)(k->n_class_names + 1) * sizeof *v);
    if (!v) return -fc_fail(st, FC_ERR_NOMEM, "out of memory reading classes");
    k->class_names = v;
    if (!(v[k->n_class_names] = fc_strdup(name, st))) return -(int)st->code;
    return k->n_class_names++;
}

typedef struct {
    fc_sink *k;
    fc_status *st;
    int rc;
} load_ctx;

static int add_image(fc_sink *k, const char *sha, int status, const char *class_name, int split,
                     fc_status *st) {
    if (k->n_imgs == k->cap_imgs) {
        size_t cap = k->cap_imgs ? 2 * k->cap_imgs : 1024;
        fc_sink_image *v = realloc(k->imgs, cap * sizeof *v);
        if (!v) return fc_fail(st, FC_ERR_NOMEM, "out of memory listing stored images");
        k->imgs = v;
        k->cap_imgs = cap;
    }
    fc_sink_image *im = &k->imgs[k->n_imgs];
    snprintf(im->sha256, sizeof im->sha256, "%s", sha);
    im->status = status;
    im->split = split;
    int id = class_id(k, class_name, st);
    if (id < 0) return -id;
    im->class_id = id;
    int rc = fc_strmap_put(&k->by_sha, im->sha256, (int64_t)k->n_imgs, st);
    if (!rc) k->n_imgs++;
    return rc;
}

/* The stored images without their feature blobs (fc_store_foreach would read every blob:
 * hundreds of MB on a large store, for a re-run that needs only the keys). An image
 * counts as stored (FC_IMG_OK) only when its features row exists, as fc_store_has. */
static int load_images(fc_sink *k, fc_status *st) {
    static const char *sql =
        "SELECT i.sha256, CASE WHEN i.status = 0 AND EXISTS (SELECT 1 FROM features f WHERE "
        "f.sha256 = i.sha256) THEN 0 ELSE 1 END, c.name, i.split FROM images i "
        "JOIN classes c ON c.id = i.class_id";
    sqlite3 *db = fc_store_db(k->store);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return fc_fail(st, FC_ERR_FORMAT, "%s: cannot list images: %s", fc_store_path(k->store),
                       sqlite3_errmsg(db));
    int r, rc = FC_OK;
    while (!rc && (r = sqlite3_step(q)) == SQLITE_ROW) {
        const char *sha = (const char *)sqlite3_column_text(q, 0);
        const char *cls = (const char *)sqlite3_column_text(q, 2);
        rc = add_image(k, sha ? sha : "", sqlite3_column_int(q, 1), cls ? cls : "", sqlite3_column_int(q, 3), st);
    }
    if (!rc && r != SQLITE_DONE)
        rc = fc_fail(st, r == SQLITE_CORRUPT ? FC_ERR_FORMAT : FC_ERR_IO, "%s: listing images: %s",
                     fc_store_path(k->store), sqlite3_errmsg(db));
    sqlite3_finalize(q);
    return rc;
}

static int visit_path(void *ctx, const fc_path_rec *r) {
    load_ctx *c = ctx;
    fc_sink *k = c->k;
    if (k->n_paths == k->cap_paths) {
        size_t cap = k->cap_paths ? 2 * k->cap_paths : 1024;
        fc_sink_path *v = realloc(k->paths, cap * sizeof *v);
        if (!v) return c->rc = fc_fail(c->st, FC_ERR_NOMEM, "out of memory listing stored paths");
        k->paths = v;
        k->cap_paths = cap;
    }
    fc_sink_path *p = &k->paths[k->n_paths];
    snprintf(p->sha256, sizeof p->sha256, "%s", r->sha256);
    p->size = r->size;
    p->mtime_ns = r->mtime_ns;
    if ((c->rc = fc_strmap_put(&k->by_path, r->path, (int64_t)k->n_paths, c->st))) return 1;
    k->n_paths++;
    return 0;
}

static int check_provenance(fc_sink *k, fc_status *st) {
    const fc_provenance *have = fc_store_provenance(k->store);
    if (!have) return FC_OK; /* new store: written with the first batch */
    /* the layout is the store's choice (made on its first batch), not the user's */
    if (k->prov->codec.layout == FC_LAYOUT_AUTO) k->prov->codec.layout = have->codec.layout;
    int rc = fc_provenance_compare(have, k->prov, fc_store_path(k->store), st);
    if (rc) return rc;
    /* a store made before feat_rank was recorded learns it from this run's (same) cut, once
     * the run has succeeded (fc_sink_learn_rank): a refused run writes nothing */
    k->learn_rank = !have->feat_rank;
    k->have_prov = 1;
    return FC_OK;
}

int fc_sink_open(fc_sink *k, fc_store *s, const fc_scan *scan, fc_provenance *prov,
                 fc_status *st) {
    memset(k, 0, sizeof *k);
    k->store = s;
    k->scan = scan;
    k->prov = prov;
    int rc = check_provenance(k, st);
    if (rc) return rc;
    load_ctx c = {k, st, 0};
    rc = load_images(k, st);
    if (!rc) rc = fc_store_foreach_path_rec(s, visit_path, &c, st);
    if (!rc) rc = c.rc;
    if (rc) fc_sink_free(k);
    return rc;
}

void fc_sink_free(fc_sink *k) {
    if (!k) return;
    free(k->imgs);
    free(k->paths);
    for (int i = 0; i < k->n_class_names; i++) free(k->class_names[i]);
    free(k->class_names);
    fc_strmap_free(&k->by_sha);
    fc_strmap_free(&k->by_path);
    fc_strmap_free(&k->dropped);
    k->imgs = NULL;
    k->paths = NULL;
    k->class_names = NULL;
}

int fc_sink_shares_files(const fc_sink *k, int max_hash, size_t *overlap) {
    const fc_scan *sc = k->scan;
    int hashed = 0, found = 0;
    *overlap = 0;
    for (size_t f = 0; f < sc->n_files && !found; f++) {
        const fc_scan_entry *e = &sc->files[f];
        int64_t i, im;
        if (!fc_strmap_get(&k->by_path, e->path, &i)) continue;
        (*overlap)++;
        const fc_sink_path *p = &k->paths[i];
        /* failed records (and unreadable files' path-derived keys) prove nothing */
        if (!fc_strmap_get(&k->by_sha, p->sha256, &im) || k->imgs[im].status != FC_IMG_OK) continue;
        if (e->size >= 0 && p->size == e->size && p->mtime_ns == e->mtime_ns) {
            found = 1;
        } else if (hashed < max_hash) {
            hashed++;
            char abs[8192], sha[65];
            fc_status ign = {0};
            snprintf(abs, sizeof abs, "%s/%s", sc->root, e->path);
            found = fc_sha256_file(abs, sha, NULL, &ign) == FC_OK && strcmp(sha, p->sha256) == 0;
        }
    }
    return found;
}

int fc_sink_path_sha(void *ctx, const fc_scan_entry *e, char sha256[65]) {
    const fc_sink *k = ctx;
    int64_t i;
    if (!fc_strmap_get(&k->by_path, e->path, &i)) return 0;
    const fc_sink_path *p = &k->paths[i];
    if (p->size != e->size || p->mtime_ns != e->mtime_ns || !p->sha256[0]) return 0;
    memcpy(sha256, p->sha256, 65);
    return 1;
}

int fc_sink_is_stored(void *ctx, const char *sha256) {
    const fc_sink *k = ctx;
    int64_t i;
    return fc_strmap_get(&k->by_sha, sha256, &i) && k->imgs[i].status == FC_IMG_OK;
}

int fc_sink_label_differs(void *ctx, const char *sha256, const fc_scan_entry *e, int split) {
    const fc_sink *k = ctx;
    int64_t i;
    if (!fc_strmap_get(&k->by_sha, sha256, &i)) return 0;
    const fc_sink_image *im = &k->imgs[i];
    return strcmp(k->class_names[im->class_id], k->scan->classes[e->cls]) != 0 ||
           (e->split != FC_SPLIT_ANY && im->split != split);
}

size_t fc_sink_found_in_place(const fc_sink *k, char (*shas)[65], size_t n) {
    size_t found = 0;
    fc_strmap seen = {0};
    fc_status ign = {0};
    for (size_t f = 0; f < n && f < k->scan->n_files; f++) {
        int64_t pi, im;
        if (!shas[f][0] || !fc_strmap_get(&k->by_path, k->scan->files[f].path, &pi)) continue;
        const char *sha = k->paths[pi].sha256;
        if (strcmp(sha, shas[f]) != 0 || !fc_strmap_get(&k->by_sha, sha, &im) ||
            k->imgs[im].status != FC_IMG_OK || fc_strmap_get(&seen, sha, NULL))
            continue;
        if (fc_strmap_put(&seen, sha, 1, &ign)) break; /* out of memory: a lower count */
        found++;
    }
    fc_strmap_free(&seen);
    return found;
}

/* A stored image found under another class folder (moved or copied), or given another
 * class or split by the folder names than a store made by an earlier build recorded
 * (Train/, valid/ as split folders): the store keeps one label per content and follows
 * the folders, so say so (the first FC_SINK_RELABEL_LINES; extract prints the count). */
static void note_relabel(fc_sink *k, const fc_item *it) {
    int64_t i;
    if (!fc_strmap_get(&k->by_sha, it->sha256, &i) || !fc_sink_label_differs(k, it->sha256, it->entry, it->split))
        return;
    const fc_sink_image *im = &k->imgs[i];
    const char *have = k->class_names[im->class_id];
    const char *now = k->scan->classes[it->entry->cls];
    if (k->relabeled++ >= FC_SINK_RELABEL_LINES) return;
    char msg[9000], cls[2100] = "", spl[64] = "";
    if (strcmp(have, now) != 0) snprintf(cls, sizeof cls, ", class '%s' -> '%s'", have, now);
    if (im->split != it->split)
        snprintf(spl, sizeof spl, ", split %s -> %s", fc_split_name(im->split), fc_split_name(it->split));
    snprintf(msg, sizeof msg, "%s/%s: note: stored features reused%s%s", k->scan->root, it->entry->path, cls, spl);
    fc_progress_message(k->progress, msg);
}

/* A path an earlier run recorded as unreadable (keyed by fc_pl_unreadable_sha) that this
 * run could read: that record goes, the file's content takes its place. */
static int drop_unreadable(fc_sink *k, const fc_item *it, fc_status *st) {
    int64_t i;
    char key[65];
    if (it->kind == FC_ITEM_UNREADABLE || !fc_strmap_get(&k->by_path, it->entry->path, &i))
        return FC_OK;
    int rc = fc_pl_unreadable_sha(it->entry->path, key, st);
    if (rc || strcmp(k->paths[i].sha256, key) != 0 || fc_strmap_get(&k->dropped, key, NULL))
        return rc;
    if ((rc = fc_store_delete(k->store, key, st))) return rc;
    return fc_strmap_put(&k->dropped, key, 1, st);
}

static int write_item(fc_sink *k, const fc_pl_batch *b, const fc_item *it, fc_status *st) {
    const fc_scan_entry *e = it->entry;
    fc_path_rec pr = {e->path, it->sha256, e->size, e->mtime_ns};
    int rc = drop_unreadable(k, it, st);
    if (rc) return rc;
    if (it->kind == FC_ITEM_DUP) return fc_store_put_path(k->store, &pr, st);
    int failed = it->kind == FC_ITEM_FAILED || it->kind == FC_ITEM_UNREADABLE;
    fc_image_rec rec = {0};
    memcpy(rec.sha256, it->sha256, 65);
    rec.path = e->path;
    rec.class_name = k->scan->classes[e->cls];
    rec.split = it->split;
    rec.status = failed ? FC_IMG_FAILED : FC_IMG_OK;
    rec.error = failed ? it->error : NULL;
    rec.bytes = it->bytes;
    rec.width = it->width;
    rec.height = it->height;
    rec.file = &pr; /* its paths row gets size and mtime */
    /* SEEN: no features; the store then only moves path/class/split */
    const float *f = it->kind == FC_ITEM_OK ? b->out + (size_t)it->row * b->out_elems : NULL;
    if (it->kind == FC_ITEM_SEEN) note_relabel(k, it);
    return fc_store_put(k->store, &rec, f, st);
}

/* New store: provenance goes in with the first batch, the codec layout chosen on its
 * features (a batch without any leaves it to the store's first put). */
static int first_batch(fc_sink *k, const fc_pl_batch *b, fc_status *st) {
    fc_provenance *p = k->prov;
    if (p->codec.layout == FC_LAYOUT_AUTO && b->n_rows > 0)
        p->codec.layout = fc_codec_choose_layout(&p->codec, b->out, (size_t)b->n_rows, b->out_elems,
                                                 p->feat_c);
    int rc = fc_store_set_provenance(k->store, p, st);
    if (!rc) k->have_prov = 1;
    return rc;
}

int fc_sink_write(void *ctx, const fc_pl_batch *b, fc_status *st) {
    fc_sink *k = ctx;
    int rc = k->have_prov ? FC_OK : first_batch(k, b, st);
    if (rc || (rc = fc_store_begin(k->store, st))) return rc;
    if (k->image_dir) rc = fc_store_set_image_dir(k->store, k->image_dir, st); /* a new store's */
    for (int i = 0; i < b->n_items && !rc; i++) rc = write_item(k, b, &b->items[i], st);
    if (!rc) rc = fc_store_commit(k->store, st);
    if (rc) fc_store_rollback(k->store);
    else k->image_dir = NULL;
    return rc;
}

int fc_sink_learn_rank(fc_sink *k, int *vector, fc_status *st) {
    *vector = 0;
    if (!k->learn_rank) return FC_OK;
    int rc = fc_store_set_feat_rank(k->store, k->prov->feat_rank, st);
    const fc_provenance *p = fc_store_provenance(k->store);
    if (!rc) k->learn_rank = 0, *vector = p && p->feat_rank == 2;
    return rc;
}

int fc_sink_record_folder(fc_sink *k, const char *dir, fc_status *st) {
    if (!k->have_prov) { /* a new store: with its first batch */
        k->image_dir = dir;
        return FC_OK;
    }
    return fc_store_set_image_dir(k->store, dir, st);
}

int fc_sink_removed(const fc_sink *k, char (*shas)[65], size_t n, int shard_i, int shard_n,
                    size_t **out, size_t *n_out, fc_status *st) {
    *out = NULL;
    *n_out = 0;
    fc_strmap seen = {0};
    int rc = FC_OK;
    for (size_t i = 0; i < n && !rc; i++)
        if (shas[i][0]) rc = fc_strmap_put(&seen, shas[i], 1, st);
    size_t *v = rc ? NULL : fc_calloc(k->n_imgs, sizeof *v, st);
    if (!rc && !v) rc = st->code;
    for (size_t i = 0; !rc && i < k->n_imgs; i++) {
        const char *sha = k->imgs[i].sha256;
        if (shard_n > 1 && fc_shard_of(sha, shard_n) != shard_i) continue;
        if (fc_strmap_get(&k->dropped, sha, NULL)) continue; /* gone already */
        if (!fc_strmap_get(&seen, sha, NULL)) v[(*n_out)++] = i;
    }
    fc_strmap_free(&seen);
    if (rc) {
        free(v);
        *n_out = 0;
        return rc;
    }
    *out = v;
    return FC_OK;
}

int fc_sink_prune(fc_sink *k, const size_t *idx, size_t n, fc_status *st) {
    if (n == 0) return FC_OK;
    int rc = fc_store_begin(k->store, st);
    for (size_t i = 0; i < n && !rc; i++)
        rc = fc_store_delete(k->store, k->imgs[idx[i]].sha256, st);
    if (!rc) rc = fc_store_commit(k->store, st);
    if (rc) fc_store_rollback(k->store);
    return rc;
}
