/* cmd_share.c - `featcache merge` and `featcache import`, and the read-only sources
 * (store or exported .h5) that merge, import, export and diff read from.
 *
 * merge and import share one writer: plan which input supplies each sha256 (dedup,
 * label conflicts), then copy the winners into "<OUT>.tmp.<host>.<pid>.XXXXXX" next to OUT
 * (blobs verbatim when kind, level and layout match, decoded and re-encoded otherwise), close,
 * fsync and rename. Inputs are opened read-only; a failure leaves no OUT and no temp file,
 * and the temp files of a killed run are removed by the next run (common/outtmp.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../codec.h"
#include "../dataset.h"
#include "../outtmp.h"
#include "../stopsig.h"
#include "commands.h"
#include "opts.h"
#include "share.h"
#include "../store_views.h"

#define BATCH 256          /* images per store transaction */
#define MAX_CONFLICT_LINES 20

/* ---- sources ---- */

int fc_source_open(const char *path, fc_source *s, fc_status *st) {
    memset(s, 0, sizeof *s);
    s->path = path;
    if (fc_is_hdf5(path)) {
        int rc = fc_h5feat_open(path, &s->h5, st);
        if (!rc) s->prov = *fc_h5feat_provenance(s->h5);
        /* featcache never writes an export without images (export refuses such a store):
         * importing, merging or re-exporting one would make an empty store or file, exit 0 */
        if (!rc && fc_h5feat_count(s->h5) == 0) {
            rc = fc_fail(st, FC_ERR_FORMAT, "%s: the export holds no images (/features has 0 rows)", path);
            fc_h5feat_close(s->h5);
            s->h5 = NULL;
        }
        return rc;
    }
    int rc = fc_store_open(path, FC_STORE_READ, &s->store, st);
    if (rc) return rc;
    fc_status_clear(st);
    /* one read transaction until fc_source_close: the provenance, the class list, the rows
     * and the views, and merge's plan and copy passes, all see one snapshot of the store,
     * whatever an extract commits meanwhile (a class added between the class list and the
     * rows had failed export with a class "not in the class list") */
    s->in_tx = sqlite3_exec(fc_store_db(s->store), "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    rc = fc_store_get_provenance(s->store, &s->prov, st);
    if (rc == 1 && st->code == FC_OK) return 0;
    if (rc == 0) fc_fail(st, FC_ERR_FORMAT, "%s: store has no provenance (empty store)", path);
    fc_source_close(s);
    return st->code ? (int)st->code : FC_ERR_FORMAT;
}

void fc_source_close(fc_source *s) {
    if (s->store && s->in_tx) sqlite3_exec(fc_store_db(s->store), "COMMIT", NULL, NULL, NULL);
    s->in_tx = 0;
    fc_store_close(s->store);
    fc_h5feat_close(s->h5);
    s->store = NULL, s->h5 = NULL;
}

int fc_source_foreach(fc_source *s, int decode, fc_store_visit fn, void *ctx, fc_status *st) {
    if (s->h5) return fc_h5feat_foreach(s->h5, FC_SPLIT_ANY, decode, fn, ctx, st);
    return fc_store_foreach(s->store, FC_SPLIT_ANY, decode, fn, ctx, st);
}

int fc_source_classes(fc_source *s, char ***names, int *n, fc_status *st) {
    if (s->store) return fc_store_classes(s->store, names, n, st);
    int k;
    char *const *c = fc_h5feat_classes(s->h5, &k);
    char **v = fc_calloc((size_t)k, sizeof *v, st);
    if (!v) return st->code;
    for (int i = 0; i < k; i++)
        if (!(v[i] = fc_strdup(c[i], st))) {
            fc_strlist_free(v, i);
            return st->code;
        }
    *names = v, *n = k;
    return 0;
}

/* ---- stopping (SIGINT, SIGTERM, SIGHUP) ---- */

int fc_share_stopped(fc_status *st) {
    return fc_stop_requested ? fc_fail(st, FC_ERR_INTERRUPTED, "stopped") : 0;
}

void fc_share_stop_message(fc_status *st, const char *out, int existed) {
    fc_fail(st, FC_ERR_INTERRUPTED, "stopped by %s: %s was not %s (its temp file is removed)", fc_stop_name(), out,
            existed ? "changed" : "written");
}

/* ---- entries ---- */

typedef struct {
    int input;
    fc_share_entry **v;
    size_t *n, *cap;
    size_t row; /* records visited so far */
    fc_status *st;
    int rc;
} collect_ctx;

static int collect_one(void *vctx, const fc_image_rec *rec, const float *x, const uint8_t *b,
                       size_t len) {
    collect_ctx *c = vctx;
    if (*c->n == *c->cap) {
        size_t cap = *c->cap ? *c->cap * 2 : 1024;
        fc_share_entry *nv = realloc(*c->v, cap * sizeof *nv);
        if (!nv) return c->rc = fc_fail(c->st, FC_ERR_NOMEM, "out of memory listing images");
        *c->v = nv, *c->cap = cap;
    }
    fc_share_entry *e = &(*c->v)[*c->n];
    memcpy(e->sha256, rec->sha256, sizeof e->sha256);
    e->input = c->input;
    e->row = c->row++;
    e->ok = rec->status == FC_IMG_OK;
    e->split = rec->split;
    e->class_name = strdup(rec->class_name ? rec->class_name : "");
    e->path = strdup(rec->path ? rec->path : "");
    if (!e->class_name || !e->path) {
        free(e->class_name), free(e->path);
        return c->rc = fc_fail(c->st, FC_ERR_NOMEM, "out of memory listing images");
    }
    (*c->n)++;
    return 0;
}

int fc_share_collect(fc_source *s, int input, fc_share_entry **v, size_t *n, size_t *cap,
                     fc_status *st) {
    collect_ctx c = {input, v, n, cap, 0, st, 0};
    int rc = fc_source_foreach(s, 0, collect_one, &c, st);
    return c.rc ? c.rc : rc;
}

static int cmp_entry(const void *a, const void *b) {
    const fc_share_entry *x = a, *y = b;
    int c = strcmp(x->sha256, y->sha256);
    return c ? c : (x->input > y->input) - (x->input < y->input);
}

void fc_share_sort(fc_share_entry *v, size_t n) {
    if (n) qsort(v, n, sizeof *v, cmp_entry);
}

void fc_share_free(fc_share_entry *v, size_t n) {
    for (size_t i = 0; v && i < n; i++) free(v[i].class_name), free(v[i].path);
    free(v);
}

/* ---- plan: which input supplies each image ---- */

enum { PREFER_NONE, PREFER_FIRST, PREFER_LAST };

typedef struct {
    char sha256[65];
    int input;
} winner;

typedef struct {
    winner *w;
    size_t n;
    size_t total, dups, conflicts, failed;
    size_t class_conflicts, split_conflicts; /* conflicts by what differs (an image may count in both) */
} plan;

static int cmp_winner(const void *a, const void *b) {
    return strcmp(((const winner *)a)->sha256, ((const winner *)b)->sha256);
}

/* Group [i, j) has one sha256. Returns the index of the chosen entry. */
static size_t choose(const fc_share_entry *v, size_t i, size_t j, int prefer) {
    size_t pick = (size_t)-1;
    for (size_t k = i; k < j; k++) /* entries with features beat failed records */
        if (v[k].ok && (pick == (size_t)-1 || prefer == PREFER_LAST)) pick = k;
    if (pick != (size_t)-1) return pick;
    return prefer == PREFER_LAST ? j - 1 : i;
}

static int make_plan(fc_share_entry *v, size_t n, int prefer, char *const *names, plan *p,
                     fc_status *st) {
    memset(p, 0, sizeof *p);
    fc_share_sort(v, n);
    if (!(p->w = fc_calloc(n ? n : 1, sizeof *p->w, st))) return st->code;
    size_t shown = 0;
    for (size_t i = 0, j; i < n; i = j) {
        /* a label is the class and the split: the same image for training in one input and
         * for testing in another is a conflict as much as two classes are */
        int class_differs = 0, split_differs = 0;
        for (j = i + 1; j < n && strcmp(v[j].sha256, v[i].sha256) == 0; j++) {
            class_differs |= strcmp(v[j].class_name, v[i].class_name) != 0;
            /* a failed record (no features) trains nothing: its split is no conflict, as diff
             * does not count it either */
            split_differs |= v[j].split != v[i].split && v[j].ok && v[i].ok;
        }
        p->total += j - i;
        p->dups += j - i - 1;
        if (class_differs || split_differs) {
            p->conflicts++;
            p->class_conflicts += class_differs;
            p->split_conflicts += split_differs;
            if (prefer == PREFER_NONE && shown++ < MAX_CONFLICT_LINES) {
                char pa[8192], cl[1024];
                fprintf(stderr, "conflict: %s (%s):", fc_printable(v[i].path, pa, sizeof pa), v[i].sha256);
                for (size_t k = i; k < j; k++) /* the split when it is what differs */
                    fprintf(stderr, " '%s'%s%s%s in %s%s", fc_printable(v[k].class_name, cl, sizeof cl),
                            split_differs ? " (" : "", split_differs ? fc_split_name(v[k].split) : "",
                            split_differs ? ")" : "", names[v[k].input], k + 1 < j ? "," : "\n");
            }
        }
        size_t c = choose(v, i, j, prefer);
        p->failed += !v[c].ok;
        memcpy(p->w[p->n].sha256, v[c].sha256, 65);
        p->w[p->n++].input = v[c].input;
    }
    if (p->conflicts && prefer == PREFER_NONE)
        return fc_fail(st, FC_ERR_MISMATCH,
                       "%zu image(s) have different labels in different inputs (the class differs for %zu, the "
                       "split for %zu); nothing written (use --prefer first|last to pick one)", p->conflicts,
                       p->class_conflicts, p->split_conflicts);
    return 0;
}

/* ---- writing the output store ---- */

typedef struct {
    fc_store *out;
    const plan *p;
    int input, reencode;
    const char *src_path; /* the input being copied, for messages */
    const fc_provenance *src_prov; /* its provenance: what its blobs must be */
    size_t dim, in_batch, written;
    float *buf; /* dim floats: a winner's decoded blob (stores are read with decode=0) */
    fc_status *st;
    int rc;
} copy_ctx;

static int copy_one(void *vctx, const fc_image_rec *rec, const float *x, const uint8_t *blob,
                    size_t len) {
    copy_ctx *c = vctx;
    if ((c->rc = fc_share_stopped(c->st))) return 1;
    winner key;
    memcpy(key.sha256, rec->sha256, 65);
    const winner *w = bsearch(&key, c->p->w, c->p->n, sizeof key, cmp_winner);
    if (!w || w->input != c->input) return 0;
    if (rec->status == FC_IMG_OK && !x && blob) { /* decode winners only; also validates */
        if ((c->rc = fc_codec_decode(blob, len, c->buf, c->dim, c->st))) { /* named as the checksum check names it */
            fc_wrap(c->st, "%s: features of %s (%s)", c->src_path, rec->path, rec->sha256);
            return 1;
        }
        x = c->buf;
    }
    char sum[65];
    if (x) fc_checksum_floats(x, c->dim, sum);
    /* a damaged blob can decode to wrong values: copying it under a fresh checksum of
     * those values would make the damage undetectable in OUT */
    if (x && rec->checksum && strcmp(sum, rec->checksum) != 0) {
        c->rc = fc_fail(c->st, FC_ERR_FORMAT, "%s: features of %s (%s) do not match their stored "
                        "checksum: the input is damaged (`featcache verify %s` lists all); nothing written",
                        c->src_path, rec->path, rec->sha256, c->src_path);
        return 1;
    }
    /* non-finite features are not copied (review 12 D F2): named by input and image here,
     * not by OUT's temp file */
    size_t bad = 0;
    for (size_t i = 0; x && rec->status == FC_IMG_OK && i < (size_t)c->dim; i++) bad += !isfinite(x[i]);
    if (bad) {
        c->rc = fc_fail(c->st, FC_ERR_FORMAT, "%s: features of %s (%s): %zu non-finite value(s) (NaN or Inf), which "
                        "would train a head of NaNs: nothing written", c->src_path, rec->path, rec->sha256, bad);
        return 1;
    }
    if (rec->status != FC_IMG_OK) {
        c->rc = fc_store_put(c->out, rec, NULL, c->st);
    } else if (!x) {
        c->rc = fc_fail(c->st, FC_ERR_INTERNAL, "%s: features of %s (%s) missing", c->src_path, rec->path, rec->sha256);
    } else if (!c->reencode && blob) {
        /* a blob of another codec than its store's provenance says (a damaged or edited
         * store; it decoded, since blobs say what they are) is the input's fault: named by
         * the input, not by OUT's temp file */
        fc_blob_info bi;
        if (fc_codec_peek(blob, len, &bi, NULL) == 0 &&
            (bi.kind != c->src_prov->codec.kind || bi.channels != c->src_prov->feat_c)) {
            c->rc = fc_fail(c->st, FC_ERR_FORMAT, "%s: features of %s (%s) are %s with %d channels, but the store's "
                            "provenance says %s with %d (the store is damaged; `featcache verify %s` lists all); "
                            "nothing written", c->src_path, rec->path, rec->sha256, fc_codec_name(bi.kind),
                            bi.channels, fc_codec_name(c->src_prov->codec.kind), c->src_prov->feat_c, c->src_path);
            return 1;
        }
        c->rc = fc_store_put_blob(c->out, rec, blob, len, sum, c->st);
    } else {
        c->rc = fc_store_put(c->out, rec, x, c->st);
    }
    if (c->rc) return 1;
    if (++c->written == 1) fc_test_hook("FC_TEST_HOOK_SHARE_COPY"); /* tests: a signal now */
    if (++c->in_batch == BATCH) {
        c->in_batch = 0;
        if ((c->rc = fc_store_commit(c->out, c->st)) || (c->rc = fc_store_begin(c->out, c->st)))
            return 1;
    }
    return 0;
}

static void fill_maker(fc_provenance *p, int argc, char **argv) {
    snprintf(p->version, sizeof p->version, "%s", FC_VERSION);
    if (gethostname(p->host, sizeof p->host) != 0) p->host[0] = '\0';
    p->host[sizeof p->host - 1] = '\0';
    struct passwd *pw = getpwuid(getuid());
    const char *u = pw ? pw->pw_name : getenv("USER");
    snprintf(p->user, sizeof p->user, "%s", u ? u : "");
    fc_command_line(p->command, sizeof p->command, argc, argv);
    p->created = p->updated = (int64_t)time(NULL);
}

static void remove_store_files(const char *path) {
    char buf[4200];
    unlink(path);
    snprintf(buf, sizeof buf, "%s-wal", path), unlink(buf);
    snprintf(buf, sizeof buf, "%s-shm", path), unlink(buf);
    snprintf(buf, sizeof buf, "%s-journal", path), unlink(buf);
    snprintf(buf, sizeof buf, "%s.lock", path), unlink(buf);
}

/* mkstemp makes 0600 files; a store to share gets the usual 0666 & ~umask. */
static void chmod_umask(int fd) {
    mode_t m = umask(0);
    umask(m);
    if (fchmod(fd, 0666 & ~m) != 0) { /* keep 0600: still a valid store */
    }
}

static int sync_rename(const char *tmp, const char *out, fc_status *st) {
    char wal[4200];
    struct stat sb;
    snprintf(wal, sizeof wal, "%s-wal", tmp);
    if (stat(wal, &sb) == 0 && sb.st_size > 0)
        return fc_fail(st, FC_ERR_INTERNAL, "%s: write-ahead log not checkpointed on close", tmp);
    /* The old OUT's -wal/-shm/-journal (a killed extract leaves them) would be applied to
     * the new file by the next open as if they were its own: it would read as malformed.
     * The caller holds OUT's writer lock, so no writer owns them. */
    static const char *const side[] = {"-wal", "-shm", "-journal", NULL};
    return fc_outtmp_commit_over(tmp, out, side, st);
}

/* Copies the planned images of every source into a temp store, then renames it to out. */
/* views: the inputs' common augmentation (NULL or views == 0: none); its views are copied
 * for the images written, *n_views counts them. */
/* origin: "merge" or "import"; image_dir: the folder to record, or NULL (common_folder). */
static int write_output(fc_source *src, int nsrc, const plan *p, const fc_provenance *prov,
                        const fc_views_config *views, const char *origin, const char *image_dir,
                        const char *out, size_t *written, int64_t *n_views, fc_status *st) {
    char *tmp = NULL;
    fc_store *s = NULL;
    int rc = 0, fd = -1;
    if ((fd = fc_outtmp_create(out, &tmp, st)) < 0) return st->code; /* also drops stale ones */
    chmod_umask(fd);
    close(fd);
    copy_ctx c = {.p = p, .dim = (size_t)prov->feat_h * prov->feat_w * prov->feat_c, .st = st};
    if (!(c.buf = fc_aligned_alloc(c.dim * sizeof(float), st))) {
        rc = st->code;
        goto out;
    }
    if ((rc = fc_store_open(tmp, FC_STORE_CREATE | FC_STORE_EXCLUSIVE, &s, st)) ||
        (rc = fc_store_set_provenance(s, prov, st)) || (rc = fc_store_begin(s, st)) ||
        (rc = fc_store_set_origin(s, origin, st)) || (image_dir && (rc = fc_store_set_image_dir(s, image_dir, st))))
        goto out;
    c.out = s;
    for (int i = 0; i < nsrc && !rc; i++) {
        c.input = i, c.src_path = src[i].path, c.src_prov = &src[i].prov;
        /* blobs go verbatim only when they are what OUT's codec would write: same kind,
         * zstd level and layout (`merge --level 19` recorded 19 over level-3 blobs) */
        const fc_codec_params *ic = &src[i].prov.codec, *oc = &prov->codec;
        c.reencode = src[i].h5 || ic->kind != oc->kind || ic->level != oc->level ||
                     (oc->layout != FC_LAYOUT_AUTO && ic->layout != oc->layout);
        rc = fc_source_foreach(&src[i], src[i].h5 != NULL, copy_one, &c, st);
        if (!rc) rc = c.rc;
    }
    *n_views = 0;
    if (!rc && nsrc == 1 && src[0].h5 && views && views->views) { /* import: the export's /views */
        size_t m = fc_h5feat_views(src[0].h5, NULL, 0, NULL, NULL);
        rc = fc_views_set_config(s, views, st);
        for (size_t i = 0; i < m && !rc && !(rc = fc_share_stopped(st)); i++) {
            int64_t row;
            int32_t view;
            fc_image_rec rec;
            if ((rc = fc_h5feat_read_view(src[0].h5, i, &row, &view, c.buf, st))) break;
            fc_h5feat_row(src[0].h5, (size_t)row, &rec, NULL);
            int has = fc_store_has(s, rec.sha256, st);
            if (has < 0) {
                rc = -has;
            } else if (!has) { /* not an image of the output (failed there) */
            } else if (rec.split != FC_SPLIT_TRAIN) {
                rc = fc_fail(st, FC_ERR_FORMAT, "%s: /view_of[%zu] = %lld is a %s image; views belong to training "
                                                "images", src[0].path, i, (long long)row,
                             rec.split == FC_SPLIT_VAL ? "validation" : "test");
            } else if ((has = fc_views_has(s, rec.sha256, view, st)) < 0) {
                rc = -has;
            } else if (has) {
                rc = fc_fail(st, FC_ERR_FORMAT, "%s: view %d of row %lld appears twice in /view_of, /view_index",
                             src[0].path, view, (long long)row);
            } else if (!(rc = fc_views_put(s, rec.sha256, view, c.buf, st))) {
                (*n_views)++;
            }
        }
    } else if (!rc && views && views->views) { /* any input's copy of a view will do: it depends only on
                                           (backbone, spec, seed, image, view), equal across inputs */
        rc = fc_views_set_config(s, views, st);
        for (int i = 0; i < nsrc && !rc; i++) {
            int64_t k = 0;
            if (src[i].store && !(rc = fc_views_copy(src[i].store, s, views->views, &k, st))) *n_views += k;
        }
    }
    int64_t miss = 0;
    if (!rc && views && views->views && !(rc = fc_views_missing(s, &miss, st)) && miss > 0)
        fprintf(stderr, "featcache %s: note: %s lacks %lld augmented view(s) of its training images (an input's "
                        "extract did not make them all): `featcache extract IMAGE_DIR ... -o %s` completes them; "
                        "train --augment refuses it until then\n",
                nsrc == 1 && src[0].h5 ? "import" : "merge", out, (long long)miss, out);
    if (!rc) rc = fc_share_stopped(st);
    if (!rc) rc = fc_store_commit(s, st);
    else fc_store_rollback(s);
    if (!rc) rc = fc_store_touch(s, st);
    fc_store_close(s), s = NULL;
    if (!rc) rc = fc_share_stopped(st); /* the last point where OUT can stay as it was */
    if (!rc) rc = sync_rename(tmp, out, st);
out:
    fc_store_close(s);
    free(c.buf);
    if (rc) remove_store_files(tmp);
    else { /* the temp name's lock file; OUT gets its own on first open */
        char lk[4200];
        snprintf(lk, sizeof lk, "%s.lock", tmp);
        unlink(lk);
    }
    free(tmp);
    *written = c.written;
    return rc;
}

/* The image folder every input records (the shard stores of one extract), so that the
 * merged store is that folder's (extract --prune works on it); NULL when an input is an
 * export (exports do not carry it) or records none or another. out: PATH_MAX bytes. */
static const char *common_folder(fc_source *src, int n, char *out) {
    char d[PATH_MAX];
    for (int i = 0; i < n; i++) {
        fc_status ign = {0};
        if (!src[i].store || fc_store_get_image_dir(src[i].store, i ? d : out, PATH_MAX, &ign) != 1) return NULL;
        if (i && strcmp(d, out) != 0) return NULL;
    }
    return n > 0 ? out : NULL;
}

/* ---- the two commands ---- */

typedef struct {
    const char *cmd, *out;
    int prefer, force, import;
    const char *codec;
    long level;
    int argc;
    char **argv;
} share_job;

static int check_out(const share_job *j, char **inputs, int n, fc_status *st) {
    struct stat so, si;
    if (fc_output_path_check(j->out, "output", st)) return st->code;
    if (stat(j->out, &so) != 0) return 0;
    for (int i = 0; i < n; i++)
        if (stat(inputs[i], &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
            return fc_fail(st, FC_ERR_ARG, "output %s is also an input", j->out);
    if (!j->force)
        return fc_fail(st, FC_ERR_IO, "%s already exists (use --force to replace it)", j->out);
    /* --force replaces a store, not a head, an image or notes (review 12 D F6; train -o and
     * export refuse other kinds likewise) */
    const char *kind = fc_file_kind(j->out);
    if (!kind || (strncmp(kind, "an SQLite database", 18) && strcmp(kind, "an empty file")))
        return fc_fail(st, FC_ERR_IO, "output %s exists and is not a featcache store (%s): not replaced, even with "
                       "--force (remove it or choose another name)", j->out, kind ? kind : "an unknown kind of file");
    return 0;
}

/* Output provenance: the first input's, codec from --codec/--level, maker = this run
 * (merge) or unchanged (import keeps who made the features). */
static int out_provenance(const share_job *j, const fc_source *src, int n, fc_provenance *p,
                          fc_status *st) {
    *p = src[0].prov;
    for (int i = 1; i < n; i++) {
        fc_provenance t = src[i].prov;
        t.codec = p->codec;
        char msg[900];
        if (fc_provenance_diff(p, src[0].path, &t, src[i].path, msg, sizeof msg))
            return fc_fail(st, FC_ERR_MISMATCH, "%s and %s were made with different backbones: %s",
                           src[0].path, src[i].path, msg);
        if (t.feat_h != p->feat_h || t.feat_w != p->feat_w || t.feat_c != p->feat_c)
            return fc_fail(st, FC_ERR_MISMATCH, "%s: feature shape %dx%dx%d differs from %s",
                           src[i].path, t.feat_h, t.feat_w, t.feat_c, src[0].path);
        /* kept only when every input records it (an input made before the record has none) */
        if (t.feat_rank != p->feat_rank) p->feat_rank = 0;
        /* the split fractions too: inputs split otherwise (or some unrecorded) record none */
        if (t.has_fracs && src[0].prov.has_fracs &&
            (t.val_frac != src[0].prov.val_frac || t.test_frac != src[0].prov.test_frac)) {
            char a[4][40];
            fc_format_frac(src[0].prov.val_frac, a[0], 40), fc_format_frac(src[0].prov.test_frac, a[1], 40);
            fc_format_frac(t.val_frac, a[2], 40), fc_format_frac(t.test_frac, a[3], 40);
            fprintf(stderr, "featcache %s: note: %s was split with --val-frac %s --test-frac %s, %s with %s and %s "
                    "(shards extracted with other fractions?): the output keeps each image's split and records no "
                    "fractions\n", j->import ? "import" : "merge", src[0].path, a[0], a[1], src[i].path, a[2], a[3]);
        }
        if (!t.has_fracs || t.val_frac != p->val_frac || t.test_frac != p->test_frac) p->has_fracs = 0;
    }
    if (j->codec) {
        fc_codec_kind k;
        if (fc_codec_parse(j->codec, &k) != 0)
            return fc_fail(st, FC_ERR_ARG, "unknown codec '%s' (f32, f16, bf16, u8)", j->codec);
        if (k != p->codec.kind) p->codec.layout = FC_LAYOUT_AUTO;
        p->codec.kind = k;
    }
    if (j->level) p->codec.level = (int)j->level;
    if (!j->import) fill_maker(p, j->argc, j->argv);
    return 0;
}

static int run_share(const share_job *j, char **inputs, int n) {
    fc_status st = {0};
    fc_source *src = calloc((size_t)n, sizeof *src);
    fc_share_entry *v = NULL;
    size_t nv = 0, cap = 0, written = 0;
    plan p = {0};
    fc_provenance prov;
    int rc = 0, opened = 0, lock_fd = -1;
    struct stat sb;
    struct sigaction old[FC_STOP_NSIG];
    if (!src) return fc_report(j->cmd, &st), 1;
    fc_stop_catch(old); /* Ctrl-C, SIGTERM, SIGHUP: remove the temp file, leave OUT as it was */
    fc_outtmp_clean(j->out); /* a killed run's temp files, even if this run is refused */
    int existed = stat(j->out, &sb) == 0;
    if ((rc = check_out(j, inputs, n, &st))) goto out;
    /* one writer per store: an extract (or another merge) writing OUT now keeps it */
    if ((rc = fc_store_lock(j->out, &lock_fd, &st))) {
        if (rc == FC_ERR_BUSY)
            fc_fail(&st, FC_ERR_BUSY, "%s: store is busy (another featcache process is writing "
                    "it): not replaced", j->out);
        goto out;
    }
    if (j->import) { /* only .h5: a text file is "not an HDF5 file", not "not a store" */
        src[0].path = inputs[0];
        if ((rc = fc_h5feat_open(inputs[0], &src[0].h5, &st))) goto out;
        src[0].prov = *fc_h5feat_provenance(src[0].h5);
        opened = 1;
        if (fc_h5feat_count(src[0].h5) == 0) {
            rc = fc_fail(&st, FC_ERR_FORMAT, "%s: the export holds no images (/features has 0 rows): %s not written",
                         inputs[0], j->out);
            goto out;
        }
    }
    for (; opened < n; opened++)
        if ((rc = fc_source_open(inputs[opened], &src[opened], &st))) goto out;
    if ((rc = out_provenance(j, src, n, &prov, &st))) goto out;
    for (int i = 0; i < n && !rc; i++) rc = fc_share_collect(&src[i], i, &v, &nv, &cap, &st);
    if (rc || (rc = make_plan(v, nv, j->prefer, inputs, &p, &st))) goto out;
    fc_views_config views;
    int64_t n_views = 0;
    int vr = 0;
    {
        fc_store **stores = calloc((size_t)n, sizeof *stores);
        if (!stores) {
            rc = fc_fail(&st, FC_ERR_NOMEM, "out of memory");
            goto out;
        }
        for (int i = 0; i < n; i++) stores[i] = src[i].store;
        vr = fc_views_common_config(stores, n, &views, &st);
        free(stores);
        if (vr < 0) {
            rc = -vr;
            goto out;
        }
        if (j->import && src[0].h5) { /* an export's views (hdf5_layout.md) */
            memset(&views, 0, sizeof views);
            if (fc_h5feat_views(src[0].h5, views.spec, sizeof views.spec, &views.seed, &views.views) == 0)
                views.views = 0;
        }
    }
    char folder[PATH_MAX];
    const char *dir = j->import ? NULL : common_folder(src, n, folder);
    if ((rc = fc_share_stopped(&st)) || (rc = write_output(src, n, &p, &prov, &views, j->import ? "import" : "merge", dir, j->out, &written,
                           &n_views, &st)))
        goto out;
    if (vr == 1)
        fprintf(stderr, "featcache merge: note: the inputs' augmented views were made with different "
                        "augmentations, or some inputs have none (featcache info shows them); %s holds the "
                        "images' own features only\n",
                j->out);
    if (j->import && prov.codec.kind == FC_CODEC_U8)
        fprintf(stderr, "featcache import: note: u8 re-quantizes the exported values (its "
                        "ranges are rounded); use --codec f32 to keep them exactly\n");
    if (j->import) {
        printf("imported %zu image%s (%dx%dx%d, codec %s) into %s\n", written, written == 1 ? "" : "s", prov.feat_h,
               prov.feat_w, prov.feat_c, fc_codec_name(prov.codec.kind), j->out);
    } else {
        char conf[96] = ""; /* what differed (an image may differ in both), and whose label was kept */
        if (p.conflicts)
            snprintf(conf, sizeof conf, " (%zu class, %zu split; kept %s)", p.class_conflicts, p.split_conflicts,
                     j->prefer == PREFER_LAST ? "last" : "first");
        printf("merged %d store%s: %zu image%s read, %zu duplicate%s, %zu label conflict%s%s, "
               "%zu written (%zu failed record%s), codec %s -> %s\n", n, n == 1 ? "" : "s", p.total,
               p.total == 1 ? "" : "s", p.dups, p.dups == 1 ? "" : "s", p.conflicts, p.conflicts == 1 ? "" : "s", conf,
               written, p.failed, p.failed == 1 ? "" : "s", fc_codec_name(prov.codec.kind), j->out);
    }
    if (n_views)
        printf("%s %lld augmented views (%d per training image, %s; seed %llu)\n", j->import ? "imported" : "merged",
               (long long)n_views, views.views, views.spec, (unsigned long long)views.seed);
out:
    for (int i = 0; i < opened; i++) fc_source_close(&src[i]);
    fc_store_unlock(j->out, lock_fd);
    fc_stop_restore(old);
    if (rc && st.code == FC_ERR_INTERRUPTED) fc_share_stop_message(&st, j->out, existed);
    free(src);
    fc_share_free(v, nv);
    free(p.w);
    return rc ? fc_report(j->cmd, &st) : 0;
}

static const fc_opt share_opts[] = {
    {"output", 'o', "OUT", "store to write (atomically: temp file + rename)"},
    {"prefer", 0, "first|last", "resolve label conflicts by input order (default: fail)"},
    {"codec", 0, "f32|f16|bf16|u8", "output codec (default: the first input's)"},
    {"level", 0, "N", "zstd level 1-19 of the output codec (default: the first input's)"},
    {"force", 0, NULL, "replace OUT if it exists"},
    {0},
};

static const fc_opt import_opts[] = {
    {"output", 'o', "STORE", "store to write (atomically: temp file + rename)"},
    {"codec", 0, "f32|f16|bf16|u8", "codec of the new store (default: the export's store's)"},
    {"level", 0, "N", "zstd level 1-19 of that codec (default: the export's store's)"},
    {"force", 0, NULL, "replace STORE if it exists"},
    {0},
};

static int share_main(const fc_cmd_spec *spec, int import, int argc, char **argv) {
    fc_args a;
    int rc = fc_args_parse(spec, argc, argv, &a);
    if (rc != FC_ARGS_OK) return rc;
    share_job j = {.cmd = spec->name, .import = import, .argc = argc, .argv = argv};
    j.out = fc_arg_str(&a, "output", NULL);
    j.codec = fc_arg_str(&a, "codec", NULL);
    j.force = fc_arg_flag(&a, "force");
    const char *pref = import ? NULL : fc_arg_str(&a, "prefer", NULL);
    if (!j.out) rc = fc_usage_error(spec->name, "-o OUT is required");
    else if (pref && strcmp(pref, "first") == 0) j.prefer = PREFER_FIRST;
    else if (pref && strcmp(pref, "last") == 0) j.prefer = PREFER_LAST;
    else if (pref) rc = fc_usage_error(spec->name, "--prefer must be first or last");
    if (rc == FC_ARGS_OK) rc = fc_arg_long(&a, "level", 0, 1, 19, &j.level);
    if (rc == FC_ARGS_OK) rc = run_share(&j, a.pos, a.npos);
    fc_args_free(&a);
    return rc;
}

int cmd_merge(int argc, char **argv) {
    static const fc_cmd_spec spec = {
        "merge", "-o OUT STORE|EXPORT.h5... [--prefer first|last] [--codec C] [--level N] [--force]",
        "combine stores (or .h5 exports) made with the same backbone; dedup by sha256",
        share_opts, 1, -1};
    return share_main(&spec, 0, argc, argv);
}

int cmd_import(int argc, char **argv) {
    static const fc_cmd_spec spec = {
        "import", "IN.h5 -o STORE [--codec C] [--level N] [--force]",
        "read an exported HDF5 file (validated) into a new store with its provenance",
        import_opts, 1, 1};
    return share_main(&spec, 1, argc, argv);
}
