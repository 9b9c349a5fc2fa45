/* store_read.c - reading a feature store: images (with decoded features), classes,
 * paths, statistics, and the full verification behind `featcache verify`. */
#define _GNU_SOURCE
#include "store_internal.h"
#include "store_views.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *col_text(sqlite3_stmt *q, int i) {
    const char *t = (const char *)sqlite3_column_text(q, i);
    return t ? t : "";
}

/* Decodes one image's blob into out (feat_n floats) and checks it against its stored
 * checksum: zstd frames carry no checksum, so a damaged blob can decode to wrong values.
 * Errors name the store and the image's path. */
static int decode_checked(fc_store *s, const uint8_t *blob, size_t len, const char *checksum, const char *path,
                          float *out, fc_status *st) {
    if (fc_codec_decode(blob, len, out, s->feat_n, st)) return fc_wrap(st, "%s: features of %s", s->path, path);
    char sum[65];
    fc_checksum_floats(out, s->feat_n, sum);
    if (strcmp(sum, checksum) != 0)
        return fc_fail(st, FC_ERR_FORMAT, "%s: features of %s do not match their checksum "
                       "(the store is damaged; `featcache verify` lists all)", s->path, path);
    return FC_OK;
}

int fc_store_foreach(fc_store *s, int split, int decode, fc_store_visit fn, void *ctx,
                     fc_status *st) {
    static const char *sql =
        "SELECT i.sha256, i.path, c.name, i.split, i.status, i.error, i.bytes, i.width, "
        "i.height, f.blob, f.checksum, i.class_id, i.split IN (0, 1, 2) AND i.status IN (0, 1) FROM images i "
        "LEFT JOIN classes c ON c.id = i.class_id LEFT JOIN features f ON f.sha256 = i.sha256 "
        "WHERE ?1 < 0 OR i.split = ?1 OR i.split NOT IN (0, 1, 2) OR i.status NOT IN (0, 1) OR c.id IS NULL "
        "ORDER BY i.split, c.name, i.path";
    if (decode && !s->have_prov)
        return fc_fail(st, FC_ERR_FORMAT, "%s: store has no provenance", s->path);
    sqlite3_stmt *q = NULL;
    int rc = FC_OK, r;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
        return fc_store_sql_fail(s, st, "read images");
    sqlite3_bind_int(q, 1, split);
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        fc_image_rec rec = {.path = col_text(q, 1), .class_name = col_text(q, 2),
                            .split = sqlite3_column_int(q, 3), .status = sqlite3_column_int(q, 4),
                            .error = (const char *)sqlite3_column_text(q, 5),
                            .bytes = sqlite3_column_int64(q, 6), .width = sqlite3_column_int(q, 7),
                            .height = sqlite3_column_int(q, 8)};
        snprintf(rec.sha256, sizeof rec.sha256, "%s", col_text(q, 0));
        const uint8_t *blob = sqlite3_column_blob(q, 9);
        size_t len = (size_t)sqlite3_column_bytes(q, 9);
        const float *x = NULL;
        /* a damaged or hand-edited store: an image whose class id the classes table does not
         * hold, or whose split or status is out of range, is named here rather than left out
         * (merge and export had dropped it with exit 0, train counted it missing) */
        const char *damage = NULL;
        if (sqlite3_column_type(q, 2) == SQLITE_NULL) damage = "a class id that the classes table does not hold";
        else if (!*rec.class_name) damage = "an empty class name";
        else if (!*rec.path) damage = "an empty path";
        else if (!sqlite3_column_int(q, 12)) damage = "a split or status out of range";
        if (damage) {
            rc = fc_fail(st, FC_ERR_FORMAT, "%s: image %s (%s; class id %s, split %s, status %s) has %s "
                         "(the store is damaged; `featcache verify` lists all)", s->path,
                         *rec.path ? rec.path : "''", rec.sha256, col_text(q, 11), col_text(q, 3),
                         col_text(q, 4), damage);
            break;
        }
        if (rec.status == FC_IMG_OK && !blob) {
            /* extract stores an image's row and its features in one transaction, so this
             * is damage: a lost row, or an index that no longer finds it (a bit flip) */
            rc = fc_fail(st, FC_ERR_FORMAT, "%s: image %s (%s) has no features (the store is damaged; "
                         "`featcache verify` lists all)", s->path, rec.path, rec.sha256);
            break;
        }
        if (rec.status != FC_IMG_OK) blob = NULL, len = 0;
        if (blob) rec.checksum = col_text(q, 10);
        if (decode && blob) {
            if ((rc = decode_checked(s, blob, len, col_text(q, 10), rec.path, s->dec, st))) break;
            x = s->dec;
        }
        if (fn(ctx, &rec, x, blob, len)) break;
    }
    if (!rc && r != SQLITE_ROW && r != SQLITE_DONE) rc = fc_store_sql_fail(s, st, "read images");
    sqlite3_finalize(q);
    return rc;
}

int fc_store_classes(fc_store *s, char ***names, int *n, fc_status *st) {
    sqlite3_stmt *q = NULL;
    char **list = NULL;
    int cnt = 0, cap = 0, rc = FC_OK, r;
    *names = NULL;
    *n = 0;
    /* classes that still have an image with features (a pruned class disappears) */
    if (sqlite3_prepare_v2(s->db, "SELECT name FROM classes c WHERE EXISTS (SELECT 1 FROM images i "
                           "WHERE i.class_id = c.id AND i.status = 0) ORDER BY name", -1, &q, NULL) != SQLITE_OK)
        return fc_store_sql_fail(s, st, "read classes");
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            char **nl = realloc(list, (size_t)cap * sizeof *nl);
            if (!nl) {
                rc = fc_fail(st, FC_ERR_NOMEM, "out of memory");
                break;
            }
            list = nl;
        }
        if (!(list[cnt] = fc_strdup(col_text(q, 0), st))) {
            rc = FC_ERR_NOMEM;
            break;
        }
        cnt++;
    }
    if (!rc && r != SQLITE_DONE) rc = fc_store_sql_fail(s, st, "read classes");
    sqlite3_finalize(q);
    if (rc) {
        fc_strlist_free(list, cnt);
        return rc;
    }
    *names = list;
    *n = cnt;
    return FC_OK;
}

void fc_strlist_free(char **list, int n) {
    if (!list) return;
    for (int i = 0; i < n; i++) free(list[i]);
    free(list);
}

static int query_i64(fc_store *s, const char *sql, int64_t *out, fc_status *st) {
    sqlite3_stmt *q = NULL;
    int r = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (r == SQLITE_OK) r = sqlite3_step(q);
    if (r == SQLITE_ROW) *out = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return r == SQLITE_ROW ? FC_OK : fc_store_sql_fail(s, st, "count");
}

int fc_store_stats_get(fc_store *s, fc_store_stats *o, fc_status *st) {
    memset(o, 0, sizeof *o);
    static const char *q[] = {
        "SELECT count(*) FROM images WHERE status = 0",
        "SELECT count(*) FROM images WHERE status <> 0",
        "SELECT count(*) FROM images WHERE status = 0 AND split = 0",
        "SELECT count(*) FROM images WHERE status = 0 AND split = 1",
        "SELECT count(*) FROM images WHERE status = 0 AND split = 2",
        "SELECT coalesce(sum(length(blob)), 0) FROM features",
    };
    int64_t *dst[] = {&o->images_ok, &o->images_failed, &o->per_split[0], &o->per_split[1],
                      &o->per_split[2], &o->feature_bytes};
    for (int i = 0; i < 6; i++) {
        int rc = query_i64(s, q[i], dst[i], st);
        if (rc) return rc;
    }
    struct stat sb;
    char wal[4200];
    if (stat(s->path, &sb) == 0) o->file_bytes = sb.st_size;
    snprintf(wal, sizeof wal, "%s-wal", s->path);
    if (stat(wal, &sb) == 0) o->file_bytes += sb.st_size;
    return FC_OK;
}

int fc_store_load_features(fc_store *s, const char *sha256, float *x, fc_status *st) {
    if (!s->have_prov) return -fc_fail(st, FC_ERR_FORMAT, "%s: store has no provenance", s->path);
    sqlite3_stmt *q = fc_store_stmt(s, Q_FEAT_GET, st);
    if (!q) return -(int)st->code;
    sqlite3_bind_text(q, 1, sha256, -1, SQLITE_STATIC);
    int r = sqlite3_step(q), rc = 0;
    if (r == SQLITE_ROW) {
        const uint8_t *blob = sqlite3_column_blob(q, 0);
        size_t len = (size_t)sqlite3_column_bytes(q, 0);
        rc = decode_checked(s, blob, len, col_text(q, 1), col_text(q, 2), x, st);
    } else if (r != SQLITE_DONE) {
        rc = fc_store_sql_fail(s, st, "read features");
    }
    sqlite3_reset(q);
    return rc ? -rc : r == SQLITE_ROW;
}

/* ---- paths ---- */

int fc_store_path_lookup(fc_store *s, const char *path, char sha256[65], fc_status *st) {
    sqlite3_stmt *q = fc_store_stmt(s, Q_PATH_GET, st);
    if (!q) return -(int)st->code;
    sqlite3_bind_text(q, 1, path, -1, SQLITE_STATIC);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        snprintf(sha256, 65, "%s", col_text(q, 0));
        sqlite3_reset(q); /* do not hold a read transaction open */
        return 1;
    }
    if (r == SQLITE_DONE) return 0;
    return -fc_store_sql_fail(s, st, "read paths");
}

int fc_store_foreach_path(fc_store *s, fc_store_path_visit fn, void *ctx, fc_status *st) {
    sqlite3_stmt *q = NULL;
    int r;
    if (sqlite3_prepare_v2(s->db, "SELECT path, sha256 FROM paths ORDER BY path", -1, &q, NULL) != SQLITE_OK)
        return fc_store_sql_fail(s, st, "read paths");
    while ((r = sqlite3_step(q)) == SQLITE_ROW)
        if (fn(ctx, col_text(q, 0), col_text(q, 1))) break;
    int rc = (r == SQLITE_ROW || r == SQLITE_DONE) ? FC_OK : fc_store_sql_fail(s, st, "read paths");
    sqlite3_finalize(q);
    return rc;
}

int fc_store_put_path(fc_store *s, const fc_path_rec *r, fc_status *st) {
    if (s->readonly) return fc_fail(st, FC_ERR_ARG, "%s: store opened read-only", s->path);
    sqlite3_stmt *q = fc_store_stmt(s, Q_PATH_PUT, st);
    if (!q) return st->code;
    sqlite3_bind_text(q, 1, r->path, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, r->sha256, -1, SQLITE_STATIC);
    if (r->size >= 0) sqlite3_bind_int64(q, 3, r->size);
    if (r->mtime_ns >= 0) sqlite3_bind_int64(q, 4, r->mtime_ns);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? FC_OK : fc_store_sql_fail(s, st, "write path");
}

int fc_store_foreach_path_rec(fc_store *s, fc_store_path_rec_visit fn, void *ctx, fc_status *st) {
    sqlite3_stmt *q = NULL;
    int r;
    if (sqlite3_prepare_v2(s->db, "SELECT path, sha256, coalesce(size, -1), coalesce(mtime_ns, -1) "
                           "FROM paths ORDER BY path", -1, &q, NULL) != SQLITE_OK)
        return fc_store_sql_fail(s, st, "read paths");
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        fc_path_rec pr = {col_text(q, 0), col_text(q, 1), sqlite3_column_int64(q, 2),
                          sqlite3_column_int64(q, 3)};
        if (fn(ctx, &pr)) break;
    }
    int rc = (r == SQLITE_ROW || r == SQLITE_DONE) ? FC_OK : fc_store_sql_fail(s, st, "read paths");
    sqlite3_finalize(q);
    return rc;
}

int fc_store_remove_path(fc_store *s, const char *path, fc_status *st) {
    if (s->readonly) return -fc_fail(st, FC_ERR_ARG, "%s: store opened read-only", s->path);
    char sha[65];
    int found = fc_store_path_lookup(s, path, sha, st), rc;
    if (found <= 0) return found;
    static const char *const fix_path =
        "UPDATE images SET path = (SELECT min(path) FROM paths p WHERE p.sha256 = images.sha256) "
        "WHERE sha256 = ?1 AND path NOT IN (SELECT path FROM paths) "
        "AND EXISTS (SELECT 1 FROM paths p WHERE p.sha256 = images.sha256)";
    static const char *const drop_features =
        "DELETE FROM features WHERE sha256 = ?1 AND NOT EXISTS (SELECT 1 FROM paths p WHERE "
        "p.sha256 = ?1)";
    static const char *const drop_image =
        "DELETE FROM images WHERE sha256 = ?1 AND NOT EXISTS (SELECT 1 FROM paths p WHERE "
        "p.sha256 = ?1)";
    const char *what = "remove path";
    if ((rc = fc_store_exec1(s, "DELETE FROM paths WHERE path = ?1", path, what, st))) return -rc;
    /* the image keeps living under its other paths; with none left it goes */
    if ((rc = fc_store_exec1(s, fix_path, sha, what, st)) ||
        (rc = fc_store_exec1(s, drop_features, sha, what, st)) ||
        (rc = fc_store_exec1(s, drop_image, sha, what, st)))
        return -rc;
    if (fc_views_exist(s) &&
        (rc = fc_store_exec1(s, "DELETE FROM views WHERE sha256 = ?1 AND NOT EXISTS (SELECT 1 FROM paths p WHERE "
                                "p.sha256 = ?1)", sha, what, st)))
        return -rc;
    return 1;
}

/* ---- verify ---- */

typedef struct {
    fc_store *s;
    void (*report)(void *ctx, const char *msg);
    void *ctx;
    int max_report;
    int64_t problems;
} verifier;

static void problem(verifier *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(verifier *v, const char *fmt, ...) {
    if (v->problems++ >= v->max_report || !v->report) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    v->report(v->ctx, msg);
}

static int verify_integrity(verifier *v, fc_status *st) {
    sqlite3_stmt *q = NULL;
    int r;
    if (sqlite3_prepare_v2(v->s->db, "PRAGMA integrity_check(20)", -1, &q, NULL) != SQLITE_OK)
        return fc_store_sql_fail(v->s, st, "integrity check");
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        const char *m = col_text(q, 0);
        if (strcmp(m, "ok") != 0) problem(v, "SQLite integrity: %s", m);
    }
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) problem(v, "SQLite integrity check failed: %s", sqlite3_errmsg(v->s->db));
    return FC_OK;
}

/* Rows that break the links between tables: (sql, message format with one %s). */
static void verify_links(verifier *v) {
    static const char *const checks[][2] = {
        {"SELECT i.path FROM images i LEFT JOIN features f ON f.sha256 = i.sha256 "
         "WHERE i.status = 0 AND f.sha256 IS NULL ORDER BY i.path", "image without features: %s"},
        {"SELECT f.sha256 FROM features f LEFT JOIN images i ON i.sha256 = f.sha256 "
         "WHERE i.sha256 IS NULL ORDER BY 1", "features without an image: %s"},
        {"SELECT i.path FROM images i LEFT JOIN classes c ON c.id = i.class_id "
         "WHERE c.id IS NULL ORDER BY 1", "image with an unknown class: %s"},
        {"SELECT i.path FROM images i JOIN classes c ON c.id = i.class_id "
         "WHERE c.name = '' ORDER BY 1", "image whose class has an empty name: %s"},
        {"SELECT sha256 FROM images WHERE path = '' ORDER BY 1", "image with an empty path: %s"},
        {"SELECT p.path FROM paths p LEFT JOIN images i ON i.sha256 = p.sha256 "
         "WHERE i.sha256 IS NULL ORDER BY 1", "path of an unknown image: %s"},
        /* No "every image has a path entry" rule: a file edited in place moves its path
         * to the new content, and the old image legitimately stays (prunable) with none. */
    };
    for (size_t k = 0; k < sizeof checks / sizeof checks[0]; k++) {
        sqlite3_stmt *q = NULL;
        if (sqlite3_prepare_v2(v->s->db, checks[k][0], -1, &q, NULL) != SQLITE_OK) {
            problem(v, "cannot run check: %s", sqlite3_errmsg(v->s->db));
            continue;
        }
        int r;
        while ((r = sqlite3_step(q)) == SQLITE_ROW) problem(v, checks[k][1], col_text(q, 0));
        if (r != SQLITE_DONE) problem(v, "check failed: %s", sqlite3_errmsg(v->s->db));
        sqlite3_finalize(q);
    }
}

static void verify_blobs(verifier *v) {
    sqlite3_stmt *q = NULL;
    fc_store *s = v->s;
    if (sqlite3_prepare_v2(s->db, "SELECT f.sha256, coalesce(i.path, f.sha256), f.blob, f.checksum, "
                           "f.raw_len FROM features f LEFT JOIN images i ON i.sha256 = f.sha256 "
                           "ORDER BY 2", -1, &q, NULL) != SQLITE_OK) {
        problem(v, "cannot read features: %s", sqlite3_errmsg(s->db));
        return;
    }
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = col_text(q, 1), *want = col_text(q, 3);
        const uint8_t *blob = sqlite3_column_blob(q, 2);
        size_t len = (size_t)sqlite3_column_bytes(q, 2);
        fc_status bst = {0};
        char sum[65];
        fc_blob_info bi;
        if (fc_codec_decode(blob, len, s->dec, s->feat_n, &bst)) {
            problem(v, "%s: features do not decode: %s", name, bst.msg);
            continue;
        }
        fc_codec_peek(blob, len, &bi, NULL);
        if (bi.kind != s->prov.codec.kind || bi.channels != s->prov.feat_c)
            problem(v, "%s: features are %s with %d channels, the store says %s with %d", name,
                    fc_codec_name(bi.kind), bi.channels, fc_codec_name(s->prov.codec.kind),
                    s->prov.feat_c);
        if (sqlite3_column_int64(q, 4) != (int64_t)(s->feat_n * sizeof(float)))
            problem(v, "%s: raw length %lld, expected %zu", name,
                    (long long)sqlite3_column_int64(q, 4), s->feat_n * sizeof(float));
        fc_checksum_floats(s->dec, s->feat_n, sum);
        if (strcmp(sum, want) != 0)
            problem(v, "%s: checksum mismatch (decoded %.12s..., stored %.12s...)", name, sum, want);
    }
    if (r != SQLITE_DONE) problem(v, "reading features failed: %s", sqlite3_errmsg(s->db));
    sqlite3_finalize(q);
}

int fc_store_verify(fc_store *s, void (*report)(void *ctx, const char *msg), void *ctx,
                    int max_report, fc_status *st) {
    verifier v = {s, report, ctx, max_report, 0};
    int rc = verify_integrity(&v, st);
    if (rc) return rc;
    if (!s->have_prov) {
        problem(&v, "no provenance (the store was never written)");
    } else {
        fc_provenance chk = s->prov;
        fc_provenance_fingerprint(&chk);
        if (strcmp(chk.fingerprint, s->prov.fingerprint) != 0)
            problem(&v, "provenance fingerprint %s does not match its fields (%s)",
                    s->prov.fingerprint, chk.fingerprint);
        verify_blobs(&v);
    }
    verify_links(&v);
    if (v.problems)
        return fc_fail(st, FC_ERR_FORMAT, "%s: %lld problem%s found", s->path,
                       (long long)v.problems, v.problems == 1 ? "" : "s");
    return FC_OK;
}
