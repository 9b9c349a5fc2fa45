/* store_internal.h - the fc_store struct and helpers shared by store.c (open, provenance,
 * writes) and store_read.c (iteration, stats, paths, verify). Not a public header. */
#ifndef FC_STORE_INTERNAL_H
#define FC_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"

enum {
    Q_CLASS_GET, Q_CLASS_ADD, Q_IMG_UPSERT, Q_IMG_KEEP, Q_FEAT_UPSERT, Q_PATH_PUT, Q_HAS,
    Q_PATH_GET, Q_FEAT_GET, Q_N
};

struct fc_store {
    sqlite3 *db;
    char *path;
    int readonly;
    int lock_fd;              /* flock'ed PATH.lock for FC_STORE_EXCLUSIVE, else -1 */
    int created;              /* this open made the file (fc_store_close_unused may remove it) */
    int have_prov;
    int any_fingerprint;      /* FC_STORE_ANY_FINGERPRINT: open even when it does not match */
    fc_provenance prov;
    size_t feat_n;            /* feat_h*feat_w*feat_c */
    float *dec;               /* decode buffer, feat_n floats */
    sqlite3_stmt *q[Q_N];     /* cached statements, prepared on first use */
};

/* Error from the last SQLite call on s, as "PATH: what: sqlite message", with a code
 * derived from the SQLite error (corrupt/notadb -> FORMAT, busy -> BUSY, else IO). */
int fc_store_sql_fail(fc_store *s, fc_status *st, const char *what);
/* Prepared statement `which` (reset, bindings cleared), or NULL with st set. */
sqlite3_stmt *fc_store_stmt(fc_store *s, int which, fc_status *st);
/* Runs one statement with ?1 = arg (text) to completion; errors say `what`. */
int fc_store_exec1(fc_store *s, const char *sql, const char *arg, const char *what,
                   fc_status *st);
/* Allocates s->dec for the provenance's feature size. */
int fc_store_alloc_decode(fc_store *s, fc_status *st);

#endif
