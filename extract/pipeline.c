/* pipeline.c - reader / forward / writer threads around a ring of batch slots
 * (see pipeline.h). */
#define _GNU_SOURCE
#include "pipeline.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/sha256.h"
#include "../common/store.h"
#include "strmap.h"

enum { S_FREE, S_FILLED, S_COMPUTED };

typedef struct {
    int state;
    int last;         /* end of stream after this slot */
    int dropped;      /* interrupted before its forward pass: not written */
    fc_item *items;
    int n_items, n_rows;
    float *in, *out;  /* (batch, in_h, in_w, 3), (batch, out_elems) */
} slot;

typedef struct {
    const fc_pl_config *cfg;
    const fc_pl_ops *ops;
    slot slots[FC_PL_SLOTS];
    int max_items;    /* items per slot: rows plus skipped/failed records */
    size_t in_elems;  /* per image */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int abort;        /* a thread failed: everyone stops */
    fc_status err;    /* first failure */
    fc_pl_stats *stats;
    fc_strmap run_shas; /* reader: sha256 taken in this run (duplicates) */
    int64_t done;     /* writer: items handled, for progress */
} pipe_t;

/* CPU time of the calling thread (reader/writer figures that other load on the machine
 * inflates less than wall time). */
static double thread_cpu(void) {
    struct timespec t;
    return clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) ? 0 : (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int stopping(const pipe_t *p) { return p->cfg->stop && *p->cfg->stop; }
static int aborted(pipe_t *p) { return __atomic_load_n(&p->abort, __ATOMIC_ACQUIRE); }

static void fail_all(pipe_t *p, const fc_status *st) {
    pthread_mutex_lock(&p->mu);
    if (!p->abort) p->err = *st;
    __atomic_store_n(&p->abort, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* Waits until slot k is in `state`; NULL if the run was aborted first. A slot already
 * in the state is still handed out after an abort, so finished batches get written. */
static slot *wait_slot(pipe_t *p, int k, int state) {
    pthread_mutex_lock(&p->mu);
    while (!p->abort && p->slots[k].state != state) pthread_cond_wait(&p->cv, &p->mu);
    slot *s = p->slots[k].state == state ? &p->slots[k] : NULL;
    pthread_mutex_unlock(&p->mu);
    return s;
}

static void set_state(pipe_t *p, slot *s, int state) {
    pthread_mutex_lock(&p->mu);
    s->state = state;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* ---- reader ---- */

int fc_pl_unreadable_sha(const char *path, char sha256[65], fc_status *st) {
    static const char tag[] = "featcache unreadable file"; /* and its NUL */
    fc_sha256_ctx c = {0};
    unsigned char d[32];
    int rc = fc_sha256_begin(&c, st);
    if (!rc) rc = fc_sha256_update(&c, tag, sizeof tag, st);
    if (!rc) rc = fc_sha256_update(&c, path, strlen(path), st);
    if (!rc) rc = fc_sha256_end(&c, d, st);
    fc_sha256_abort(&c);
    if (!rc) fc_sha256_to_hex(d, sha256);
    return rc;
}

static void item_error(fc_item *it, const fc_status *st) {
    snprintf(it->error, sizeof it->error, "%s", st->msg);
}

/* Decodes bytes into row `row` of s->in; fills it->width/height. */
static int decode_into(pipe_t *p, slot *s, fc_item *it, const uint8_t *buf, size_t len,
                       const char *abs, fc_status *st) {
    const fc_pl_config *c = p->cfg;
    fc_image img = {0}, rs = {0};
    int rc = fc_image_decode(buf, len, abs, c->max_pixels, &img, st);
    if (rc) goto out;
    it->width = img.w;
    it->height = img.h;
    const fc_image *src = &img;
    if (img.w != c->in_w || img.h != c->in_h) {
        if ((rc = fc_image_resize(&img, c->in_h, c->in_w, c->resize, &rs, st))) goto out;
        src = &rs;
    }
    fc_preprocess_apply(c->preprocess, src->rgb, (size_t)c->in_h * (size_t)c->in_w,
                        s->in + (size_t)s->n_rows * p->in_elems);
out:
    fc_image_free(&img);
    fc_image_free(&rs);
    return rc;
}

/* sha256 of e: from the path fast path, or by reading the file (bytes kept in *buf).
 * Returns 1 fast path, 0 read, -1 unreadable (it->error set). */
static int hash_entry(pipe_t *p, const fc_scan_entry *e, const char *abs, fc_item *it,
                      uint8_t **buf, size_t *len, int fast) {
    const fc_pl_ops *o = p->ops;
    if (fast && e->size >= 0 && o->path_sha && o->path_sha(o->ctx, e, it->sha256)) {
        it->bytes = e->size;
        return 1;
    }
    fc_status st = {0};
    if (fc_read_file(abs, 0, buf, len, &st)) {
        item_error(it, &st);
        return -1;
    }
    if (fc_sha256_hex(*buf, *len, it->sha256)) {
        snprintf(it->error, sizeof it->error, "%s: cannot compute sha256", abs);
        return -1;
    }
    it->bytes = (int64_t)*len;
    p->stats->bytes_read += (int64_t)*len;
    return 0;
}

#define MAX_CROSS_DUP_LINES 20

/* File idx has the same bytes as file first, seen earlier in this run: the first one's
 * label and split win. Under another class or split that is a labelling error or
 * train/test leakage, so say so, naming both (split: it's, from the hash when the folder
 * gives none; the two have one sha256, so one hash split). */
static void check_cross_dup(pipe_t *p, size_t first, size_t idx, int split) {
    const fc_scan *sc = p->cfg->scan;
    const fc_scan_entry *a = &sc->files[first], *b = &sc->files[idx];
    int sa = a->split != FC_SPLIT_ANY ? a->split : split;
    if (a->cls == b->cls && sa == split) return;
    if (p->stats->cross_dups++ >= MAX_CROSS_DUP_LINES) return;
    char msg[9000];
    snprintf(msg, sizeof msg, "warning: %s (class %s, %s) has the same content as %s (class %s, %s): "
             "the image is recorded once, as the latter%s", b->path, sc->classes[b->cls], fc_split_name(split), a->path,
             sc->classes[a->cls], fc_split_name(sa),
             sa != split ? " (an image in two splits: train/test leakage)" : " (one image, two labels)");
    fc_progress_message(p->cfg->progress, msg);
}

/* Handles one scanned file: appends an item to s (or nothing, when it needs no record). */
static int read_one(pipe_t *p, slot *s, size_t idx, fc_status *st) {
    const fc_pl_config *c = p->cfg;
    const fc_scan_entry *e = &c->scan->files[idx];
    fc_item *it = &s->items[s->n_items];
    memset(it, 0, sizeof *it);
    it->entry = e;
    char abs[4352];
    snprintf(abs, sizeof abs, "%s/%s", c->scan->root, e->path);
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = FC_OK, keep = 1;
    int64_t first = 0;
    int how = hash_entry(p, e, abs, it, &buf, &len, 1);
    /* The fast path only stands in for reading when the features are stored: a known
     * path without them (a failed image, perhaps fixed in place with the same size and
     * time) is read and hashed, and its real sha256 decides. */
    if (how == 1 && !p->ops->is_stored(p->ops->ctx, it->sha256))
        how = hash_entry(p, e, abs, it, &buf, &len, 0);
    if (how < 0) { /* recorded as failed under a key made from its path */
        it->kind = FC_ITEM_UNREADABLE;
        it->bytes = e->size > 0 ? e->size : 0;
        if ((rc = fc_pl_unreadable_sha(e->path, it->sha256, st))) goto out;
    }
    if (c->shas) memcpy(c->shas[idx], it->sha256, 65);
    it->split = e->split != FC_SPLIT_ANY ? e->split
                                         : fc_split_from_hash(it->sha256, c->val_frac, c->test_frac);
    if (c->shard_n > 1 && fc_shard_of(it->sha256, c->shard_n) != c->shard_i) {
        p->stats->other_shard++;
        keep = 0;
    } else if (how < 0) {
        /* counted by the writer */
    } else if (fc_strmap_get(&p->run_shas, it->sha256, &first)) {
        /* same bytes as a file earlier in this run: the first one's label wins; the path
         * is recorded (a fast-path hit needs nothing) */
        check_cross_dup(p, (size_t)first, idx, it->split);
        it->kind = FC_ITEM_DUP;
        keep = how == 0;
        p->stats->duplicates++;
    } else if ((rc = fc_strmap_put(&p->run_shas, it->sha256, (int64_t)idx, st))) {
        goto out;
    } else if (p->ops->is_stored(p->ops->ctx, it->sha256)) {
        /* stored: a fast-path hit needs no record unless the folder now gives it another
         * class or split; a re-read file (moved, touched) gets its path, class and split
         * refreshed */
        it->kind = FC_ITEM_SEEN;
        it->fast = how == 1;
        keep = how == 0 || (p->ops->label_differs && p->ops->label_differs(p->ops->ctx, it->sha256, e, it->split));
        if (how == 1) p->stats->fast_path++; /* the writer counts the others */
    } else {
        fc_status dst = {0};
        if (decode_into(p, s, it, buf, len, abs, &dst)) {
            it->kind = FC_ITEM_FAILED;
            item_error(it, &dst);
        } else {
            it->kind = FC_ITEM_OK;
            it->row = s->n_rows++;
        }
    }
out:
    free(buf);
    if (!rc && keep)
        s->n_items++;
    else if (!rc)
        fc_progress_add_total(c->progress, -1);
    return rc;
}

static void *reader_main(void *arg) {
    pipe_t *p = arg;
    const fc_pl_config *c = p->cfg;
    double t0 = fc_now(), c0 = thread_cpu(), waited = 0, tw;
    fc_status st = {0};
    int k = 0;
    slot *s = wait_slot(p, k, S_FREE);
    for (size_t i = 0; s && i < c->scan->n_files; i++) {
        if (stopping(p) || aborted(p)) break;
        if (read_one(p, s, i, &st)) {
            fail_all(p, &st);
            s = NULL;
            break;
        }
        if (s->n_rows == c->batch || s->n_items == p->max_items) {
            set_state(p, s, S_FILLED);
            k = (k + 1) % FC_PL_SLOTS;
            tw = fc_now();
            s = wait_slot(p, k, S_FREE);
            waited += fc_now() - tw;
        }
    }
    if (s) {
        s->last = 1;
        set_state(p, s, S_FILLED);
    }
    p->stats->reader_seconds = fc_now() - t0 - waited; /* busy, not waiting for slots */
    p->stats->reader_cpu_seconds = thread_cpu() - c0;
    return NULL;
}

/* ---- writer ---- */

static void count_items(pipe_t *p, const slot *s) {
    fc_pl_stats *ps = p->stats;
    for (int i = 0; i < s->n_items; i++) {
        const fc_item *it = &s->items[i];
        switch (it->kind) {
        case FC_ITEM_OK: ps->stored++; break;
        case FC_ITEM_FAILED: ps->failed++; break;
        case FC_ITEM_UNREADABLE: ps->unreadable++; break;
        case FC_ITEM_SEEN: ps->skipped += !it->fast; break; /* fast ones: fast_path */
        case FC_ITEM_DUP: break; /* counted by the reader */
        }
        if (it->kind == FC_ITEM_FAILED || it->kind == FC_ITEM_UNREADABLE)
            fc_progress_message(p->cfg->progress, it->error);
    }
}

static void *writer_main(void *arg) {
    pipe_t *p = arg;
    fc_status st = {0};
    double busy = 0, c0 = thread_cpu();
    for (int k = 0;; k = (k + 1) % FC_PL_SLOTS) {
        slot *s = wait_slot(p, k, S_COMPUTED);
        if (!s) break;
        int last = s->last;
        if (!s->dropped && s->n_items > 0) {
            double t0 = fc_now();
            fc_pl_batch b = {s->items, s->n_items, s->n_rows, s->out, p->cfg->out_elems};
            if (p->ops->write(p->ops->ctx, &b, &st)) {
                fail_all(p, &st);
                break;
            }
            busy += fc_now() - t0;
            count_items(p, s);
            p->done += s->n_items;
            fc_progress_update(p->cfg->progress, p->done);
        }
        s->n_items = s->n_rows = 0;
        s->dropped = 0;
        set_state(p, s, S_FREE);
        if (last) break;
    }
    p->stats->writer_seconds = busy;
    p->stats->writer_cpu_seconds = thread_cpu() - c0;
    return NULL;
}

/* ---- forward (caller's thread) and setup ---- */

static int forward_loop(pipe_t *p) {
    fc_status st = {0};
    for (int k = 0;; k = (k + 1) % FC_PL_SLOTS) {
        slot *s = wait_slot(p, k, S_FILLED);
        if (!s || aborted(p)) return FC_OK; /* the failing thread set p->err */
        int last = s->last;
        if (stopping(p)) {
            s->dropped = 1;
        } else if (s->n_rows > 0) {
            double t0 = fc_now();
            if (p->ops->forward(p->ops->ctx, s->in, s->n_rows, s->out, &st)) {
                fail_all(p, &st);
                return FC_OK;
            }
            p->stats->forward_seconds += fc_now() - t0;
        }
        set_state(p, s, S_COMPUTED);
        if (last) return FC_OK;
    }
}

static int alloc_slots(pipe_t *p, fc_status *st) {
    const fc_pl_config *c = p->cfg;
    size_t in_bytes, out_bytes;
    if (fc_size_mul4((size_t)c->batch, p->in_elems, sizeof(float), 1, &in_bytes) ||
        fc_size_mul4((size_t)c->batch, c->out_elems, sizeof(float), 1, &out_bytes))
        return fc_fail(st, FC_ERR_NOMEM, "batch of %d images is too large", c->batch);
    for (int k = 0; k < FC_PL_SLOTS; k++) {
        slot *s = &p->slots[k];
        s->items = fc_calloc((size_t)p->max_items, sizeof *s->items, st);
        s->in = s->items ? fc_aligned_alloc(in_bytes, st) : NULL;
        s->out = s->in ? fc_aligned_alloc(out_bytes, st) : NULL;
        if (!s->out) return st->code;
    }
    return FC_OK;
}

static void free_slots(pipe_t *p) {
    for (int k = 0; k < FC_PL_SLOTS; k++) {
        free(p->slots[k].items);
        free(p->slots[k].in);
        free(p->slots[k].out);
    }
}

int fc_pl_run(const fc_pl_config *cfg, const fc_pl_ops *ops, fc_pl_stats *stats, fc_status *st) {
    memset(stats, 0, sizeof *stats);
    if (cfg->batch < 1 || cfg->in_h < 1 || cfg->in_w < 1 || cfg->out_elems < 1)
        return fc_fail(st, FC_ERR_ARG, "pipeline: bad batch or shape");
    pipe_t p = {.cfg = cfg, .ops = ops, .stats = stats};
    p.max_items = cfg->batch * 4 + 256;
    p.in_elems = (size_t)cfg->in_h * (size_t)cfg->in_w * 3;
    double t0 = fc_now();
    int rc = alloc_slots(&p, st);
    if (rc) goto out;
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    if (cfg->shas)
        for (size_t i = 0; i < cfg->scan->n_files; i++) cfg->shas[i][0] = 0;
    pthread_t reader, writer;
    if (pthread_create(&reader, NULL, reader_main, &p)) {
        rc = fc_fail(st, FC_ERR_INTERNAL, "cannot start the reader thread");
        goto out_sync;
    }
    if (pthread_create(&writer, NULL, writer_main, &p)) {
        fc_status e;
        fc_fail(&e, FC_ERR_INTERNAL, "cannot start the writer thread");
        fail_all(&p, &e);
        pthread_join(reader, NULL);
        rc = fc_fail(st, FC_ERR_INTERNAL, "%s", e.msg);
        goto out_sync;
    }
    forward_loop(&p);
    pthread_join(reader, NULL);
    pthread_join(writer, NULL);
    stats->skipped += stats->fast_path;
    if (p.abort) {
        *st = p.err;
        rc = st->code ? (int)st->code : FC_ERR_INTERNAL;
    } else if (stopping(&p)) {
        rc = fc_fail(st, FC_ERR_INTERRUPTED, "interrupted; re-run to resume");
    }
out_sync:
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
out:
    fc_strmap_free(&p.run_shas);
    free_slots(&p);
    stats->seconds = fc_now() - t0;
    return rc;
}
