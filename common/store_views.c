/* store_views.c - augmented views of training images (extract --augment K).
 *
 * Two tables, created by the first `extract --augment` on a store (a store without them
 * reads as "no views"; featcache builds that predate them ignore them):
 *   augmentation: one row: the Keras ImageDataGenerator keywords (canonical text), the
 *                 seed the view parameters are drawn from, and K, the views per image;
 *   views:        (sha256, view) -> encoded features of the view (the store's codec) and
 *                 the sha256 of their decoded values, like the features table. */
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "augment.h"
#include "store_internal.h"
#include "store_views.h"

static const char views_ddl[] =
    "CREATE TABLE IF NOT EXISTS augmentation (\n"
    "    id    INTEGER PRIMARY KEY CHECK (id = 1),\n"
    "    spec  TEXT NOT NULL,\n"
    "    seed  INTEGER NOT NULL,\n"
    "    views INTEGER NOT NULL CHECK (views > 0)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS views (\n"
    "    sha256   TEXT NOT NULL,\n"
    "    view     INTEGER NOT NULL CHECK (view >= 0),\n"
    "    blob     BLOB NOT NULL,\n"
    "    checksum TEXT NOT NULL,\n"
    "    raw_len  INTEGER NOT NULL,\n"
    "    UNIQUE (sha256, view)\n"
    ");\n";

/* The views that count: of a training image with features, index below K (a view left
 * by an image moved out of train, or beyond K, is ignored by every reader). */
#define VALID_VIEWS                                                                               \
    "FROM views v JOIN images i ON i.sha256 = v.sha256 AND i.split = 0 AND i.status = 0 "        \
    "WHERE v.view < (SELECT views FROM augmentation WHERE id = 1)"

int fc_views_exist(fc_store *s) {
    sqlite3 *db = fc_store_db(s);
    sqlite3_stmt *q = NULL;
    int have = 0;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                               "('augmentation', 'views')", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        have = sqlite3_column_int(q, 0) == 2;
    sqlite3_finalize(q);
    return have;
}

int fc_views_get_config(fc_store *s, fc_views_config *c, fc_status *st) {
    memset(c, 0, sizeof *c);
    if (!fc_views_exist(s)) return FC_OK;
    sqlite3 *db = fc_store_db(s);
    sqlite3_stmt *q = NULL;
    int rc = FC_OK;
    if (sqlite3_prepare_v2(db, "SELECT spec, seed, views FROM augmentation WHERE id = 1", -1, &q, NULL) !=
        SQLITE_OK)
        return fc_store_sql_fail(s, st, "read augmentation");
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        const char *spec = (const char *)sqlite3_column_text(q, 0);
        snprintf(c->spec, sizeof c->spec, "%s", spec ? spec : "");
        c->seed = (uint64_t)sqlite3_column_int64(q, 1);
        c->views = sqlite3_column_int(q, 2);
        if (c->views < 1 || !spec)
            rc = fc_fail(st, FC_ERR_FORMAT, "%s: augmentation record is damaged (views %d)", fc_store_path(s),
                         c->views);
    } else if (r != SQLITE_DONE) {
        rc = fc_store_sql_fail(s, st, "read augmentation");
    }
    sqlite3_finalize(q);
    return rc;
}

int fc_views_set_config(fc_store *s, const fc_views_config *c, fc_status *st) {
    if (fc_store_readonly(s)) return fc_fail(st, FC_ERR_ARG, "%s: store opened read-only", fc_store_path(s));
    sqlite3 *db = fc_store_db(s);
    if (sqlite3_exec(db, views_ddl, NULL, NULL, NULL) != SQLITE_OK)
        return fc_store_sql_fail(s, st, "create views tables");
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "INSERT INTO augmentation (id, spec, seed, views) VALUES (1, ?1, ?2, ?3) "
                               "ON CONFLICT(id) DO UPDATE SET spec = ?1, seed = ?2, views = ?3",
                           -1, &q, NULL) != SQLITE_OK)
        return fc_store_sql_fail(s, st, "write augmentation");
    sqlite3_bind_text(q, 1, c->spec, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (int64_t)c->seed);
    sqlite3_bind_int(q, 3, c->views);
    int r = sqlite3_step(q);
    sqlite3_finalize(q);
    return r == SQLITE_DONE ? FC_OK : fc_store_sql_fail(s, st, "write augmentation");
}

int fc_views_count(fc_store *s, const char *sha256, int below, fc_status *st) {
    if (!fc_views_exist(s)) return 0;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(fc_store_db(s), "SELECT count(*) FROM views WHERE sha256 = ?1 AND view < ?2", -1, &q,
                           NULL) != SQLITE_OK)
        return -fc_store_sql_fail(s, st, "read views");
    sqlite3_bind_text(q, 1, sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, below);
    int n = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : -1;
    sqlite3_finalize(q);
    return n >= 0 ? n : -fc_store_sql_fail(s, st, "read views");
}

int fc_views_has(fc_store *s, const char *sha256, int view, fc_status *st) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(fc_store_db(s), "SELECT 1 FROM views WHERE sha256 = ?1 AND view = ?2", -1, &q, NULL) !=
        SQLITE_OK)
        return -fc_store_sql_fail(s, st, "read views");
    sqlite3_bind_text(q, 1, sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, view);
    int r = sqlite3_step(q);
    sqlite3_finalize(q);
    if (r == SQLITE_ROW) return 1;
    if (r == SQLITE_DONE) return 0;
    return -fc_store_sql_fail(s, st, "read views");
}

int fc_views_put(fc_store *s, const char *sha256, int view, const float *features, fc_status *st) {
    const fc_provenance *p = fc_store_provenance(s);
    if (!p) return fc_fail(st, FC_ERR_ARG, "%s: store has no provenance yet", fc_store_path(s));
    size_t n = (size_t)p->feat_h * p->feat_w * p->feat_c;
    uint8_t *blob = NULL;
    size_t len = 0;
    char sum[65];
    float *dec = malloc(n * sizeof *dec);
    if (!dec) return fc_fail(st, FC_ERR_NOMEM, "out of memory");
    int rc = fc_codec_encode(&p->codec, features, n, p->feat_c, &blob, &len, st);
    if (!rc) rc = fc_codec_decode(blob, len, dec, n, st); /* checksum of what a reader gets */
    if (rc) {
        fc_wrap(st, "%s: view %d of %s", fc_store_path(s), view, sha256);
        goto out;
    }
    fc_checksum_floats(dec, n, sum);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(fc_store_db(s), "INSERT OR REPLACE INTO views (sha256, view, blob, checksum, raw_len) "
                                           "VALUES (?1, ?2, ?3, ?4, ?5)", -1, &q, NULL) != SQLITE_OK) {
        rc = fc_store_sql_fail(s, st, "write views");
        goto out;
    }
    sqlite3_bind_text(q, 1, sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, view);
    sqlite3_bind_blob64(q, 3, blob, len, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, sum, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, (int64_t)(n * sizeof(float)));
    int r = sqlite3_step(q);
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) rc = fc_store_sql_fail(s, st, "write views");
out:
    free(blob);
    free(dec);
    return rc;
}

int fc_views_delete(fc_store *s, const char *sha256, fc_status *st) {
    if (!fc_views_exist(s)) return FC_OK;
    return fc_store_exec1(s, "DELETE FROM views WHERE sha256 = ?1", sha256, "delete views", st);
}

int fc_views_stats(fc_store *s, int64_t *n_views, int64_t *bytes, fc_status *st) {
    *n_views = 0, *bytes = 0;
    if (!fc_views_exist(s)) return FC_OK;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(fc_store_db(s),
                           "SELECT (SELECT count(*) " VALID_VIEWS "), coalesce(sum(length(blob)), 0) FROM views", -1,
                           &q, NULL) != SQLITE_OK)
        return fc_store_sql_fail(s, st, "read views");
    int rc = FC_OK;
    if (sqlite3_step(q) == SQLITE_ROW) *n_views = sqlite3_column_int64(q, 0), *bytes = sqlite3_column_int64(q, 1);
    else rc = fc_store_sql_fail(s, st, "read views");
    sqlite3_finalize(q);
    return rc;
}

/* Decodes the view in columns col (blob) and col + 1 (checksum) of q's row into out (n
 * values) and checks the values against the checksum: zstd frames carry none, so a
 * damaged blob can decode to wrong values, which training would take silently (the
 * features are checked the same way, fc_store_foreach). Messages: "view V: ...". */
static int decode_view(sqlite3_stmt *q, int col, int v, float *out, size_t n, fc_status *st) {
    const uint8_t *blob = sqlite3_column_blob(q, col);
    const char *sum = (const char *)sqlite3_column_text(q, col + 1);
    char got[65];
    if (fc_codec_decode(blob, (size_t)sqlite3_column_bytes(q, col), out, n, st)) return fc_wrap(st, "view %d", v);
    fc_checksum_floats(out, n, got);
    if (!sum || strcmp(sum, got) != 0)
        return fc_fail(st, FC_ERR_FORMAT, "view %d does not match its checksum (the store is damaged; `featcache "
                                          "verify` lists all)", v);
    return FC_OK;
}

int fc_views_load(fc_store *s, const char *sha256, int k, float *out, fc_status *st) {
    const fc_provenance *p = fc_store_provenance(s);
    size_t n = (size_t)p->feat_h * p->feat_w * p->feat_c;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(fc_store_db(s), "SELECT view, blob, checksum FROM views WHERE sha256 = ?1 AND view < ?2 "
                                           "ORDER BY view", -1, &q, NULL) != SQLITE_OK)
        return fc_store_sql_fail(s, st, "read views");
    sqlite3_bind_text(q, 1, sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, k);
    int got = 0, rc = FC_OK, r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        int v = sqlite3_column_int(q, 0);
        if (v != got) break; /* a gap: reported below */
        if ((rc = decode_view(q, 1, v, out + (size_t)v * n, n, st))) break;
        got++;
    }
    if (!rc && r != SQLITE_ROW && r != SQLITE_DONE) rc = fc_store_sql_fail(s, st, "read views");
    sqlite3_finalize(q);
    if (!rc && got < k) rc = fc_fail(st, FC_ERR_FORMAT, "missing view %d (re-run extract on its folder to complete "
                                                        "the views)", got);
    return rc;
}

/* A buffer for one decoded feature map of s, for a walk over its views: NULL with *n = 0
 * when there is nothing to walk (no views, or no provenance yet), NULL with st filled when
 * memory is short. */
static float *walk_buffer(fc_store *s, size_t *n, fc_status *st) {
    *n = 0;
    const fc_provenance *p = fc_views_exist(s) ? fc_store_provenance(s) : NULL;
    if (!p) return NULL;
    *n = (size_t)p->feat_h * p->feat_w * p->feat_c;
    float *b = malloc(*n * sizeof *b);
    if (!b) fc_fail(st, FC_ERR_NOMEM, "out of memory");
    return b;
}

int fc_views_verify(fc_store *s, void (*report)(void *ctx, const char *msg), void *ctx, int64_t *bad,
                    fc_status *st) {
    *bad = 0;
    size_t n;
    float *dec = walk_buffer(s, &n, st);
    if (!dec) return n ? st->code : FC_OK;
    sqlite3_stmt *q = NULL;
    int rc = FC_OK, r;
    if (sqlite3_prepare_v2(fc_store_db(s),
                           "SELECT v.sha256, v.view, v.blob, v.checksum, i.path, i.split, i.status, "
                           "(SELECT views FROM augmentation WHERE id = 1) FROM views v "
                           "LEFT JOIN images i ON i.sha256 = v.sha256 ORDER BY v.rowid",
                           -1, &q, NULL) != SQLITE_OK) {
        free(dec);
        return fc_store_sql_fail(s, st, "read views");
    }
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        const char *sha = (const char *)sqlite3_column_text(q, 0);
        int v = sqlite3_column_int(q, 1);
        const uint8_t *blob = sqlite3_column_blob(q, 2);
        size_t len = (size_t)sqlite3_column_bytes(q, 2);
        const char *sum = (const char *)sqlite3_column_text(q, 3);
        const char *path = (const char *)sqlite3_column_text(q, 4);
        char msg[768], got[65];
        fc_status e = {0};
        msg[0] = 0;
        int split = sqlite3_column_int(q, 5), status = sqlite3_column_int(q, 6), k = sqlite3_column_int(q, 7);
        if (!path) {
            snprintf(msg, sizeof msg, "view %d of %.64s: no such image in the store", v, sha ? sha : "?");
        } else if (v >= k) {
            snprintf(msg, sizeof msg, "view %d of %s: beyond the store's %d views per image", v, path, k);
        } else if (split != 0 || status != 0) {
            snprintf(msg, sizeof msg, "view %d of %s: the image is %s; views belong to training images", v, path,
                     status != 0 ? "a failed one" : split == 1 ? "in validation" : "in test");
        } else if (fc_codec_decode(blob, len, dec, n, &e)) {
            snprintf(msg, sizeof msg, "view %d of %s: %s", v, path, e.msg);
        } else {
            fc_checksum_floats(dec, n, got);
            if (!sum || strcmp(sum, got) != 0)
                snprintf(msg, sizeof msg, "view %d of %s: decoded values do not match their checksum", v, path);
        }
        if (msg[0]) {
            (*bad)++;
            if (report) report(ctx, msg);
        }
    }
    if (r != SQLITE_DONE) rc = fc_store_sql_fail(s, st, "read views");
    sqlite3_finalize(q);
    free(dec);
    return rc;
}

int fc_views_copy(fc_store *src, fc_store *dst, int k, int64_t *copied, fc_status *st) {
    *copied = 0;
    size_t n;
    float *x = walk_buffer(src, &n, st);
    if (!x) return n ? st->code : FC_OK;
    sqlite3_stmt *q = NULL;
    int rc = FC_OK, r;
    if (sqlite3_prepare_v2(fc_store_db(src),
                           "SELECT v.sha256, v.view, v.blob, v.checksum, i.path " VALID_VIEWS
                           " AND v.view < ?1 ORDER BY v.rowid", -1, &q, NULL) != SQLITE_OK) {
        free(x);
        return fc_store_sql_fail(src, st, "read views");
    }
    sqlite3_bind_int(q, 1, k);
    while (!rc && (r = sqlite3_step(q)) == SQLITE_ROW) {
        const char *sha = (const char *)sqlite3_column_text(q, 0), *path = (const char *)sqlite3_column_text(q, 4);
        int v = sqlite3_column_int(q, 1);
        int has = sha ? fc_store_has(dst, sha, st) : 0;
        if (has < 0) { rc = -has; break; }
        if (has == 0) continue; /* not an image of the output (e.g. failed there) */
        if ((has = fc_views_has(dst, sha, v, st)) < 0) { rc = -has; break; }
        if (has) continue; /* an earlier input gave it */
        if ((rc = decode_view(q, 2, v, x, n, st))) {
            fc_wrap(st, "%s: augmented views of %s", fc_store_path(src), path ? path : sha);
            break;
        }
        if (!(rc = fc_views_put(dst, sha, v, x, st))) (*copied)++;
    }
    if (!rc && r != SQLITE_DONE) rc = fc_store_sql_fail(src, st, "read views");
    sqlite3_finalize(q);
    free(x);
    return rc;
}

int fc_views_common_config(fc_store *const *stores, int n, fc_views_config *out, fc_status *st) {
    memset(out, 0, sizeof *out);
    fc_aug_spec first;
    int with = 0, without = 0;
    for (int i = 0; i < n; i++) {
        fc_views_config c;
        fc_aug_spec sp;
        if (!stores[i]) continue;
        int rc = fc_views_get_config(stores[i], &c, st);
        if (rc) return -rc;
        if (!c.views) {
            without++;
            continue;
        }
        with++;
        if (fc_aug_parse(c.spec, &sp, st)) { /* the store's record, not the command line: exit 1 */
            fc_wrap(st, "%s: the augmentation spec the store records does not parse (the store is damaged)",
                    fc_store_path(stores[i]));
            st->code = FC_ERR_FORMAT;
            return -FC_ERR_FORMAT;
        }
        if (!out->views) {
            *out = c, first = sp;
        } else if (!fc_aug_spec_equal(&first, &sp) || out->seed != c.seed) {
            memset(out, 0, sizeof *out);
            return 1;
        } else if (c.views < out->views) {
            out->views = c.views;
        }
    }
    if (with && without) { /* an input's training images have no views at all */
        memset(out, 0, sizeof *out);
        return 1;
    }
    return 0;
}

int fc_views_drop_stray(fc_store *s, fc_status *st) {
    if (!fc_views_exist(s)) return FC_OK;
    char *err = NULL;
    if (sqlite3_exec(fc_store_db(s),
                     "DELETE FROM views WHERE view >= (SELECT views FROM augmentation WHERE id = 1) OR sha256 NOT IN "
                     "(SELECT sha256 FROM images WHERE split = 0 AND status = 0)",
                     NULL, NULL, &err) != SQLITE_OK) {
        sqlite3_free(err);
        return fc_store_sql_fail(s, st, "drop stray views");
    }
    return FC_OK;
}

int fc_views_missing(fc_store *s, int64_t *missing, fc_status *st) {
    *missing = 0;
    if (!fc_views_exist(s)) return FC_OK;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(fc_store_db(s),
                           "SELECT (SELECT count(*) FROM images WHERE split = 0 AND status = 0) * "
                           "(SELECT views FROM augmentation WHERE id = 1) - (SELECT count(*) " VALID_VIEWS ")",
                           -1, &q, NULL) != SQLITE_OK)
        return fc_store_sql_fail(s, st, "count views");
    int rc = FC_OK;
    if (sqlite3_step(q) == SQLITE_ROW) *missing = sqlite3_column_int64(q, 0);
    else rc = fc_store_sql_fail(s, st, "count views");
    sqlite3_finalize(q);
    return rc;
}

int fc_views_list(fc_store *s, fc_view_ref **out, size_t *n, fc_status *st) {
    *out = NULL, *n = 0;
    if (!fc_views_exist(s)) return FC_OK;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(fc_store_db(s), "SELECT v.sha256, v.view " VALID_VIEWS " ORDER BY v.rowid", -1, &q,
                           NULL) != SQLITE_OK)
        return fc_store_sql_fail(s, st, "read views");
    fc_view_ref *v = NULL;
    size_t cap = 0;
    int rc = FC_OK, r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        const char *sha = (const char *)sqlite3_column_text(q, 0);
        if (!sha || strlen(sha) != 64) continue;
        if (*n == cap) {
            size_t nc = cap ? 2 * cap : 1024;
            fc_view_ref *nv = realloc(v, nc * sizeof *nv);
            if (!nv) {
                rc = fc_fail(st, FC_ERR_NOMEM, "out of memory");
                break;
            }
            v = nv, cap = nc;
        }
        memcpy(v[*n].sha256, sha, 65);
        v[(*n)++].view = sqlite3_column_int(q, 1);
    }
    if (!rc && r != SQLITE_DONE) rc = fc_store_sql_fail(s, st, "read views");
    sqlite3_finalize(q);
    if (rc) {
        free(v);
        *n = 0;
        return rc;
    }
    *out = v;
    return FC_OK;
}

int fc_views_load_one(fc_store *s, const char *sha256, int view, float *out, fc_status *st) {
    const fc_provenance *p = fc_store_provenance(s);
    size_t n = (size_t)p->feat_h * p->feat_w * p->feat_c;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(fc_store_db(s), "SELECT v.blob, v.checksum, coalesce(i.path, v.sha256) FROM views v "
                                           "LEFT JOIN images i ON i.sha256 = v.sha256 WHERE v.sha256 = ?1 AND v.view = ?2",
                           -1, &q, NULL) != SQLITE_OK)
        return fc_store_sql_fail(s, st, "read views");
    sqlite3_bind_text(q, 1, sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, view);
    int rc, r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        rc = decode_view(q, 0, view, out, n, st);
        if (rc) fc_wrap(st, "%s: augmented views of %s", fc_store_path(s), (const char *)sqlite3_column_text(q, 2));
    } else {
        rc = r == SQLITE_DONE ? fc_fail(st, FC_ERR_FORMAT, "%s: view %d of %s is not stored", fc_store_path(s), view,
                                        sha256)
                              : fc_store_sql_fail(s, st, "read views");
    }
    sqlite3_finalize(q);
    return rc;
}
