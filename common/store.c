/* store.c - the feature store: open (lock, ids, version, read-only fallbacks), provenance
 * and writes. Reading, paths, stats and verify are in store_read.c.
 *
 * Locking: SQLite's own locks make every transaction safe; FC_STORE_EXCLUSIVE adds a
 * flock() on PATH.lock for the whole session so a second extract refuses to start rather
 * than interleave batches. flock dies with the process, so kill -9 never leaves it held. */
#define _GNU_SOURCE
#include "store_internal.h"
#include "store_views.h"
#include "outtmp.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static const char *const sql_text[Q_N] = {
    [Q_CLASS_GET] = "SELECT id FROM classes WHERE name = ?1",
    [Q_CLASS_ADD] = "INSERT INTO classes(name) VALUES (?1)",
    [Q_IMG_UPSERT] = ("INSERT INTO images(sha256, path, class_id, split, status, error, bytes, "
                     "width, height, added) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                     "ON CONFLICT(sha256) DO UPDATE SET path = excluded.path, class_id = "
                     "excluded.class_id, split = excluded.split, status = excluded.status, "
                     "error = excluded.error, bytes = excluded.bytes, width = excluded.width, "
                     "height = excluded.height"),
    [Q_IMG_KEEP] = "UPDATE images SET path = ?2, class_id = ?3, split = ?4 WHERE sha256 = ?1",
    [Q_FEAT_UPSERT] = ("INSERT INTO features(sha256, blob, checksum, raw_len) VALUES (?1, ?2, ?3, "
                      "?4) ON CONFLICT(sha256) DO UPDATE SET blob = excluded.blob, checksum = "
                      "excluded.checksum, raw_len = excluded.raw_len"),
    [Q_PATH_PUT] = ("INSERT OR REPLACE INTO paths(path, sha256, size, mtime_ns) "
                   "VALUES (?1, ?2, ?3, ?4)"),
    [Q_HAS] = ("SELECT 1 FROM images i JOIN features f ON f.sha256 = i.sha256 "
              "WHERE i.sha256 = ?1 AND i.status = 0"),
    [Q_PATH_GET] = "SELECT sha256 FROM paths WHERE path = ?1",
    [Q_FEAT_GET] = ("SELECT f.blob, f.checksum, i.path FROM images i JOIN features f ON f.sha256 = i.sha256 "
                   "WHERE i.sha256 = ?1 AND i.status = 0"),
};

int fc_store_sql_fail(fc_store *s, fc_status *st, const char *what) {
    int e0 = errno; /* SQLite leaves the failed write's errno (EFBIG, ENOSPC) here */
    int ec = s->db ? sqlite3_errcode(s->db) & 0xff : SQLITE_CANTOPEN;
    const char *m = s->db ? sqlite3_errmsg(s->db) : "cannot open";
    fc_code code = FC_ERR_IO;
    if (ec == SQLITE_CORRUPT || ec == SQLITE_NOTADB) code = FC_ERR_FORMAT;
    if (ec == SQLITE_BUSY || ec == SQLITE_LOCKED) code = FC_ERR_BUSY;
    if (ec == SQLITE_NOMEM) code = FC_ERR_NOMEM;
    if (ec == SQLITE_NOTADB)
        return fc_fail(st, code, "%s: not a featcache store (%s)", s->path, m);
    if (ec == SQLITE_CORRUPT)
        return fc_fail(st, code, "%s: store is corrupt (%s: %s)", s->path, what, m);
    /* disk full, a file size limit, EIO ...: name the OS reason */
    char why[160];
    int io = ec == SQLITE_IOERR || ec == SQLITE_FULL || ec == SQLITE_CANTOPEN;
    int os = io && s->db ? sqlite3_system_errno(s->db) : 0;
    const char *r = io ? fc_write_reason(os ? os : e0, os == 0, why, sizeof why) : NULL;
    if (r && s->readonly && (os ? os : e0) == EFBIG) /* a read-only store writes nothing */
        return fc_fail(st, code, "%s: %s: %s (%s: SQLite's temporary files for the query)",
                       s->path, what, m, r);
    if (r) return fc_fail(st, code, "%s: %s: %s (%s)", s->path, what, m, r);
    return fc_fail(st, code, "%s: %s: %s", s->path, what, m);
}

sqlite3_stmt *fc_store_stmt(fc_store *s, int which, fc_status *st) {
    if (!s->q[which] && sqlite3_prepare_v3(s->db, sql_text[which], -1, SQLITE_PREPARE_PERSISTENT,
                                           &s->q[which], NULL) != SQLITE_OK) {
        fc_store_sql_fail(s, st, "prepare");
        return NULL;
    }
    sqlite3_reset(s->q[which]);
    sqlite3_clear_bindings(s->q[which]);
    return s->q[which];
}

static int exec(fc_store *s, const char *sql, fc_status *st) {
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) /* name the step: a full disk fails at COMMIT */
        return fc_store_sql_fail(s, st, !strncmp(sql, "COMMIT", 6) ? "commit" : !strncmp(sql, "BEGIN", 5) ? "begin"
                                        : !strncmp(sql, "PRAGMA", 6) ? "set-up" : "query");
    return FC_OK;
}

static int pragma_int(fc_store *s, const char *sql, int64_t *out, fc_status *st) {
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int64(q, 0);
    int ret = (rc == SQLITE_ROW) ? FC_OK : fc_store_sql_fail(s, st, "read header");
    sqlite3_finalize(q);
    return ret;
}

/* ---- open ---- */

/* 1 if the database has no schema at all and no application_id (an interrupted create). */
static int never_created(fc_store *s) {
    int64_t app = -1, tables = -1;
    fc_status ign = {0};
    if (pragma_int(s, "PRAGMA application_id", &app, &ign) ||
        pragma_int(s, "SELECT count(*) FROM sqlite_master", &tables, &ign))
        return 0;
    return app == 0 && tables == 0;
}

/* The lock file is removed on close while still locked; a process that opened it just
 * before then holds a lock on an unlinked file, so after locking, check that the path
 * still names the locked file, else retry. Returns the locked fd or -1 with st filled. */
/* PATH.lock for the file path names: its symlinks resolved (the folder's too when it does
 * not exist yet), so that x.db and a link to it share one lock (review 12 D F1: an extract
 * through a link took ln.db.lock while merge --force checked x.db.lock and replaced the
 * store under it). 0, or -1 when the name does not fit. */
static int lock_name(const char *path, char *lp, size_t cap) {
    char real[PATH_MAX];
    fc_path_resolve(path, 1, real, sizeof real);
    return snprintf(lp, cap, "%s.lock", real) < (int)cap ? 0 : -1;
}

static int lock_path(const char *path, fc_status *st) {
    char lp[PATH_MAX];
    if (lock_name(path, lp, sizeof lp))
        return fc_fail(st, FC_ERR_ARG, "%s: path too long", path), -1;
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) return fc_fail(st, FC_ERR_IO, "%s: %s", lp, strerror(errno)), -1;
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK)
                return fc_fail(st, FC_ERR_BUSY,
                               "%s: store is busy (another featcache process is writing it)", path), -1;
            return fc_fail(st, FC_ERR_IO, "%s: cannot lock: %s", lp, strerror(e)), -1;
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(lp, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
            return fd;
        close(fd);
    }
    return fc_fail(st, FC_ERR_BUSY, "%s: store is busy (lock file keeps changing)", path), -1;
}

static int take_lock(fc_store *s, fc_status *st) {
    s->lock_fd = lock_path(s->path, st);
    return s->lock_fd >= 0 ? FC_OK : st->code;
}

int fc_store_lock(const char *path, int *fd, fc_status *st) {
    *fd = lock_path(path, st);
    return *fd >= 0 ? FC_OK : st->code;
}

void fc_store_unlock(const char *path, int fd) {
    if (fd < 0) return;
    char lp[PATH_MAX]; /* unlink while still holding the lock (see lock_path) */
    struct stat a, b; /* and only the file locked: not one renamed over it since (review 12 C F6) */
    if (!lock_name(path, lp, sizeof lp) && fstat(fd, &a) == 0 && stat(lp, &b) == 0 &&
        a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        unlink(lp);
    close(fd);
}

int fc_store_writer_active(const char *path) {
    char lp[PATH_MAX], line[256];
    struct stat sb;
    if (lock_name(path, lp, sizeof lp) || stat(lp, &sb) != 0) return 0;
    FILE *f = fopen("/proc/locks", "r");
    if (!f) return 0;
    int held = 0;
    while (!held && fgets(line, sizeof line, f)) {
        /* "1: FLOCK  ADVISORY  WRITE 17420 fe:00:10954183 0 EOF"; waiters have "->" */
        char kind[16], mode[16];
        unsigned maj, min;
        unsigned long long ino;
        int pid;
        if (strstr(line, "->")) continue;
        if (sscanf(line, "%*s %15s %*s %15s %d %x:%x:%llu", kind, mode, &pid, &maj, &min, &ino) == 6 &&
            !strcmp(kind, "FLOCK") && pid != (int)getpid() && ino == (unsigned long long)sb.st_ino &&
            maj == major(sb.st_dev) && min == minor(sb.st_dev))
            held = 1;
    }
    fclose(f);
    return held;
}

/* Cheap checks SQLite would report vaguely: not an SQLite file, or cut short. */
static int check_file_header(fc_store *s, int64_t size, fc_status *st) {
    unsigned char h[100];
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fc_fail(st, FC_ERR_IO, "%s: %s", s->path, strerror(errno));
    ssize_t got = read(fd, h, sizeof h);
    close(fd);
    if (got < 0) return fc_fail(st, FC_ERR_IO, "%s: %s", s->path, strerror(errno));
    static const unsigned char hdf5[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    if (got >= 8 && memcmp(h, hdf5, 8) == 0) /* an export, a head or a Keras model */
        return fc_fail(st, FC_ERR_FORMAT, "%s: not a featcache store (an HDF5 file, not an SQLite database)",
                       s->path);
    if (got < 16 || memcmp(h, "SQLite format 3", 16) != 0) {
        const char *kind = fc_file_kind(s->path);
        return fc_fail(st, FC_ERR_FORMAT, "%s: not a featcache store (not an SQLite database: %s)", s->path,
                       kind ? kind : "file is not a database");
    }
    if (got < 100)
        return fc_fail(st, FC_ERR_FORMAT, "%s: store is truncated (%zd bytes)", s->path, got);
    uint32_t psz = (uint32_t)h[16] << 8 | h[17];
    if (psz == 1) psz = 65536;
    uint32_t pages = (uint32_t)h[28] << 24 | h[29] << 16 | h[30] << 8 | h[31];
    int valid = memcmp(h + 24, h + 92, 4) == 0 && pages > 0;
    /* A checkpoint that failed part-way (disk full, file size limit) has already written
     * page 1 with the new page count while later pages are still only in the WAL, which
     * SQLite keeps reading from until a checkpoint completes: not truncated. */
    char wal[PATH_MAX];
    struct stat wb;
    if (valid && snprintf(wal, sizeof wal, "%s-wal", s->path) < (int)sizeof wal &&
        stat(wal, &wb) == 0 && wb.st_size > 0)
        valid = 0;
    if (valid && (int64_t)pages * psz > size)
        return fc_fail(st, FC_ERR_FORMAT, "%s: store is truncated (%lld of %lld bytes present)",
                       s->path, (long long)size, (long long)pages * psz);
    return FC_OK;
}

static int create_schema(fc_store *s, int page_size, fc_status *st) {
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA page_size = %d", page_size);
    int rc = exec(s, sql, st);
    if (!rc) rc = exec(s, "PRAGMA journal_mode = WAL", st);
    if (!rc) rc = exec(s, "BEGIN IMMEDIATE", st);
    if (!rc && (rc = exec(s, fc_store_schema_sql, st))) sqlite3_exec(s->db, "ROLLBACK", 0, 0, 0);
    if (!rc) rc = exec(s, "COMMIT", st);
    return rc ? fc_wrap(st, "creating the store") : FC_OK;
}

static int check_ids(fc_store *s, fc_status *st) {
    int64_t app = 0, ver = 0;
    int rc = pragma_int(s, "PRAGMA application_id", &app, st);
    if (!rc) rc = pragma_int(s, "PRAGMA user_version", &ver, st);
    if (rc) return rc;
    if ((uint32_t)app != FC_STORE_APPLICATION_ID)
        return fc_fail(st, FC_ERR_FORMAT,
                       "%s: not a featcache store (application_id 0x%08x, expected 0x%08x)",
                       s->path, (unsigned)app, FC_STORE_APPLICATION_ID);
    if (ver > FC_STORE_FORMAT_VERSION)
        return fc_fail(st, FC_ERR_UNSUPPORTED,
                       "%s: store format version %lld is newer than this featcache supports (%d)",
                       s->path, (long long)ver, FC_STORE_FORMAT_VERSION);
    if (ver < 1)
        return fc_fail(st, FC_ERR_FORMAT, "%s: store format version %lld is invalid", s->path,
                       (long long)ver);
    /* featcache makes tables and indexes only: a view (a recursive one made `info` and
     * `runs` loop forever) or a trigger (run by the next write) is SQL from whoever made the
     * file, and is not run. A schema that does not read is left to the provenance read. */
    sqlite3_stmt *q = NULL;
    int bad = 0;
    char what[300] = "";
    if (sqlite3_prepare_v2(s->db, "SELECT type, name FROM sqlite_master WHERE type NOT IN ('table', 'index') "
                           "ORDER BY name LIMIT 1", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(q, 0), *n = (const char *)sqlite3_column_text(q, 1);
        snprintf(what, sizeof what, "a %.20s '%.200s'", t ? t : "?", n ? n : ""); /* printed escaped */
        bad = 1;
    }
    sqlite3_finalize(q);
    if (bad)
        return fc_fail(st, FC_ERR_FORMAT, "%s: the store holds %s, which featcache never makes (a hand-edited or "
                       "hostile store): not read", s->path, what);
    return FC_OK;
}

/* "file:" URI with immutable=1: reads a WAL store where no -shm can be created. */
static int open_immutable(fc_store *s, fc_status *st) {
    size_t n = strlen(s->path);
    char *uri = malloc(n * 3 + 32), *o = uri;
    if (!uri) return fc_fail(st, FC_ERR_NOMEM, "out of memory");
    o += sprintf(o, "file:");
    for (const unsigned char *p = (const unsigned char *)s->path; *p; p++)
        o += (*p == '%' || *p == '?' || *p == '#' || *p < 0x20) ? sprintf(o, "%%%02X", *p)
                                                                : sprintf(o, "%c", *p);
    strcpy(o, "?immutable=1");
    sqlite3_close(s->db);
    int rc = sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
    free(uri);
    return rc == SQLITE_OK ? FC_OK : fc_store_sql_fail(s, st, "open");
}

static int dir_writable(const char *path) {
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s", path);
    char *slash = strrchr(d, '/');
    if (!slash) return access(".", W_OK) == 0;
    if (slash == d) slash[1] = '\0';
    else *slash = '\0';
    return access(d, W_OK) == 0;
}

int fc_store_open_page_size(const char *path, int flags, int page_size, fc_store **out,
                            fc_status *st) {
    *out = NULL;
    struct stat sb;
    int exists = stat(path, &sb) == 0, rc = FC_OK;
    int mode = flags & 3, create = mode == FC_STORE_CREATE;
    if (!exists && !(errno == ENOENT && create))
        return fc_fail(st, FC_ERR_IO, "%s: %s", path, strerror(errno));
    if (exists && S_ISDIR(sb.st_mode))
        return fc_fail(st, FC_ERR_IO, "%s: is a directory, not a featcache store", path);
    if (exists && !S_ISREG(sb.st_mode)) /* a FIFO or device: SQLite would block or make DEV-journal */
        return fc_fail(st, FC_ERR_IO, "%s: not a regular file, not a featcache store", path);
    /* a store without any write bit (chmod a-w) is read-only for root too, whom the kernel
     * lets write: extract (and anything else that writes in place) leaves it alone */
    if (exists && mode != FC_STORE_READ && (!(sb.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) || access(path, W_OK) != 0))
        return fc_fail(st, FC_ERR_IO, "%s: the store has no write permission%s: not modified", path,
                       (sb.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) ? "" : " (chmod a-w)");
    if (page_size == 0) page_size = FC_STORE_PAGE_SIZE;
    if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)))
        return fc_fail(st, FC_ERR_ARG, "%s: bad page size %d", path, page_size);
    if (!exists) { /* create the file ourselves: errno says why it cannot be */
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            return fc_fail(st, FC_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        if (stat(path, &sb) != 0) return fc_fail(st, FC_ERR_IO, "%s: %s", path, strerror(errno));
        exists = -(fd >= 0); /* -1: made by this open */
    }
    fc_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return fc_fail(st, FC_ERR_NOMEM, "out of memory");
    }
    s->lock_fd = -1;
    s->created = exists < 0;
    s->readonly = mode == FC_STORE_READ;
    s->any_fingerprint = (flags & FC_STORE_ANY_FINGERPRINT) != 0;
    int fresh = sb.st_size == 0;
    if ((flags & FC_STORE_EXCLUSIVE) && (rc = take_lock(s, st))) goto out;
    if (fresh && !create) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: empty file, not a featcache store", path);
        goto out;
    }
    if (!fresh && (rc = check_file_header(s, (int64_t)sb.st_size, st))) goto out;
    /* A reader opens read-write when it may (with query_only on): a read-only SQLite
     * connection leaves -wal/-shm files behind, a read-write one removes them on close. */
    int ro_sqlite = s->readonly && (access(path, W_OK) != 0 || !dir_writable(path));
    int oflags = ro_sqlite ? SQLITE_OPEN_READONLY
                 : SQLITE_OPEN_READWRITE | (s->readonly ? 0 : SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(path, &s->db, oflags, NULL) != SQLITE_OK) {
        rc = fc_store_sql_fail(s, st, "open");
        goto out;
    }
    sqlite3_busy_timeout(s->db, 10000);
    sqlite3_extended_result_codes(s->db, 0);
    /* A writer killed while creating the store (after "PRAGMA journal_mode" wrote the
     * header, before the schema committed) leaves an SQLite file with no tables and no
     * application_id: with the writer lock held, finish creating it. */
    if (!fresh && create && (flags & FC_STORE_EXCLUSIVE) && never_created(s)) fresh = 1;
    if (fresh && (rc = create_schema(s, page_size, st))) goto out;
    if ((flags & FC_STORE_IMMUTABLE) && s->readonly && (rc = open_immutable(s, st))) goto out;
    rc = check_ids(s, st);
    if (rc && s->readonly && !(flags & FC_STORE_IMMUTABLE) && st->code == FC_ERR_IO) {
        /* read-only directory or mount: no -shm can be made; read the file as immutable.
         * Immutable ignores a WAL: with one that holds committed batches that would hide
         * images, so refuse rather than read a store short of what was committed. */
        char wal[PATH_MAX];
        struct stat wb;
        fc_status st2 = {0};
        if (snprintf(wal, sizeof wal, "%s-wal", path) < (int)sizeof wal && stat(wal, &wb) == 0 && wb.st_size > 32)
            rc = fc_fail(st, FC_ERR_IO, "%s: its write-ahead log %s (%lld bytes) holds committed changes that "
                         "cannot be read without write access to the folder (SQLite needs %s-shm): not read "
                         "short of them (any featcache command run by a user who may write the folder folds it in)",
                         path, wal, (long long)wb.st_size, path);
        else if (open_immutable(s, &st2) == FC_OK) rc = check_ids(s, st);
    }
    if (rc) goto out;
    if ((rc = exec(s, s->readonly ? "PRAGMA query_only = 1" : "PRAGMA synchronous = NORMAL", st)))
        goto out;
    fc_provenance p;
    rc = fc_store_get_provenance(s, &p, st);
    rc = rc < 0 ? -rc : rc == 1 ? FC_OK : rc;
out:
    if (rc) {
        fc_store_close_unused(s); /* a file this open made and could not set up: removed */
        return rc;
    }
    *out = s;
    return FC_OK;
}

int fc_store_open(const char *path, int flags, fc_store **out, fc_status *st) {
    return fc_store_open_page_size(path, flags, 0, out, st);
}

void fc_store_close(fc_store *s) {
    if (!s) return;
    for (int i = 0; i < Q_N; i++) sqlite3_finalize(s->q[i]);
    if (s->db) sqlite3_close(s->db);
    fc_store_unlock(s->path, s->lock_fd);
    free(s->dec);
    free(s->path);
    free(s);
}

void fc_store_close_unused(fc_store *s) {
    int64_t images = 1;
    fc_status ign = {0};
    if (s && s->have_prov && s->db) /* a provenance committed, then the first batch failed */
        /* only failed records (every image unreadable) count as nothing stored: such a store
         * has no class and no feature, and would only trip train and verify */
        pragma_int(s, "SELECT count(*) FROM (SELECT 1 FROM images WHERE status = 0 LIMIT 1)", &images, &ign);
    if (s && s->created && (!s->have_prov || images == 0) && !s->readonly && s->lock_fd >= 0) {
        for (int i = 0; i < Q_N; i++) sqlite3_finalize(s->q[i]), s->q[i] = NULL;
        if (s->db) sqlite3_close(s->db);
        s->db = NULL;
        static const char *const side[] = {"", "-journal", "-wal", "-shm"};
        char p[PATH_MAX];
        for (size_t i = 0; i < sizeof side / sizeof side[0]; i++)
            if (snprintf(p, sizeof p, "%s%s", s->path, side[i]) < (int)sizeof p) unlink(p);
    }
    fc_store_close(s);
}

int fc_store_readonly(const fc_store *s) {
    return s->readonly;
}

const char *fc_store_path(const fc_store *s) {
    return s->path;
}

void *fc_store_db(fc_store *s) {
    return s->db;
}

const fc_provenance *fc_store_provenance(const fc_store *s) {
    return s->have_prov ? &s->prov : NULL;
}

/* ---- provenance ---- */

enum { PF_STR, PF_INT, PF_I64, PF_CODEC, PF_LAYOUT };
typedef struct {
    const char *key;
    int type;
    size_t off, size;
    int required;
} pfield;

#define PSTR(k, req) {#k, PF_STR, offsetof(fc_provenance, k), sizeof(((fc_provenance *)0)->k), req}
#define PINT(k) {#k, PF_INT, offsetof(fc_provenance, k), sizeof(int), 1}
static const pfield pfields[] = {
    PSTR(fingerprint, 1), PSTR(model_sha256, 1), PSTR(arch, 0), PSTR(model_path, 0),
    PSTR(layer, 1), PINT(in_h), PINT(in_w), PSTR(resize, 1), PSTR(preprocess, 1),
    PSTR(numerics, 1), PINT(feat_h), PINT(feat_w), PINT(feat_c),
    {"codec", PF_CODEC, offsetof(fc_provenance, codec.kind), 0, 1},
    {"layout", PF_LAYOUT, offsetof(fc_provenance, codec.layout), 0, 1},
    {"level", PF_INT, offsetof(fc_provenance, codec.level), sizeof(int), 1},
    PSTR(version, 0), PSTR(host, 0), PSTR(user, 0), PSTR(command, 0),
    {"created", PF_I64, offsetof(fc_provenance, created), 8, 0},
    {"updated", PF_I64, offsetof(fc_provenance, updated), 8, 0},
};
#define N_PFIELDS (sizeof pfields / sizeof pfields[0])
/* fc_provenance.feat_rank: a row outside pfields (see image_dir below), read with them */
#define FEAT_RANK_KEY "feat_rank"
/* fc_provenance.val_frac/test_frac (both or neither) and model_abspath: rows outside pfields
 * too, written with a new store's provenance and read with it */
#define VAL_FRAC_KEY "val_frac"
#define TEST_FRAC_KEY "test_frac"
#define MODEL_ABSPATH_KEY "model_abspath"

/* A fraction row's value: a number in [0, 1], else -1 (no usable record). */
static double parse_frac(const char *v) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    return errno || end == v || *end || !(x >= 0 && x <= 1) ? -1 : x;
}

/* x as the shortest text that reads back as x exactly (a re-run compares its option with it). */
void fc_format_frac(double x, char *out, size_t cap) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, x);
        if (strtod(out, NULL) == x) return;
    }
}

size_t fc_provenance_canonical(const fc_provenance *p, char *buf, size_t cap) {
    int n = snprintf(buf, cap,
                     "featcache-fingerprint/1\nmodel_sha256=%s\nlayer=%s\ninput=%dx%d\n"
                     "resize=%s\npreprocess=%s\nnumerics=%s\n",
                     p->model_sha256, p->layer, p->in_h, p->in_w, p->resize, p->preprocess,
                     p->numerics);
    return n < 0 ? 0 : (size_t)n;
}

void fc_provenance_fingerprint(fc_provenance *p) {
    char buf[1024];
    size_t n = fc_provenance_canonical(p, buf, sizeof buf);
    fc_sha256_hex(buf, n < sizeof buf ? n : sizeof buf - 1, p->fingerprint);
}

static void add_diff(char *msg, size_t cap, int *ndiff, const char *field, const char *a_name, const char *a,
                     const char *b_name, const char *b) {
    size_t used = strlen(msg);
    snprintf(msg + used, cap - used, "%s%s: %s has '%s', %s has '%s'", *ndiff ? "; " : "", field, a_name, a, b_name,
             b);
    (*ndiff)++;
}

int fc_provenance_diff(const fc_provenance *a, const char *a_name, const fc_provenance *b, const char *b_name,
                       char *msg, size_t cap) {
    char x[32], y[32];
    int nd = 0;
    msg[0] = '\0';
#define DIFF(field, va, vb) add_diff(msg, cap, &nd, field, a_name, va, b_name, vb)
    if (strcmp(a->model_sha256, b->model_sha256) != 0) {
        /* the architecture is descriptive only, but says more than two hashes */
        if (a->arch[0] && b->arch[0] && strcmp(a->arch, b->arch) != 0) DIFF("architecture", a->arch, b->arch);
        DIFF("model weights (sha256)", a->model_sha256, b->model_sha256);
    }
    if (strcmp(a->layer, b->layer) != 0) DIFF("layer", a->layer, b->layer);
    if (a->in_h != b->in_h || a->in_w != b->in_w) {
        snprintf(x, sizeof x, "%dx%d", a->in_h, a->in_w);
        snprintf(y, sizeof y, "%dx%d", b->in_h, b->in_w);
        DIFF("input size", x, y);
    }
    if (strcmp(a->resize, b->resize) != 0) DIFF("resize", a->resize, b->resize);
    if (strcmp(a->preprocess, b->preprocess) != 0) DIFF("preprocess", a->preprocess, b->preprocess);
    if (strcmp(a->numerics, b->numerics) != 0) DIFF("numerics version", a->numerics, b->numerics);
    if (a->codec.kind != b->codec.kind) DIFF("codec", fc_codec_name(a->codec.kind), fc_codec_name(b->codec.kind));
    if (a->feat_h && b->feat_h && (a->feat_h != b->feat_h || a->feat_w != b->feat_w || a->feat_c != b->feat_c)) {
        snprintf(x, sizeof x, "%dx%dx%d", a->feat_h, a->feat_w, a->feat_c);
        snprintf(y, sizeof y, "%dx%dx%d", b->feat_h, b->feat_w, b->feat_c);
        DIFF("feature shape", x, y);
    }
    if (!nd && strcmp(a->fingerprint, b->fingerprint) != 0) DIFF("fingerprint", a->fingerprint, b->fingerprint);
#undef DIFF
    return nd;
}

int fc_provenance_diff_besides_codec(const fc_provenance *a, const fc_provenance *b) {
    fc_provenance c = *b;
    c.codec.kind = a->codec.kind;
    char msg[1200];
    return fc_provenance_diff(a, "a", &c, "b", msg, sizeof msg);
}

int fc_provenance_compare(const fc_provenance *have, const fc_provenance *want, const char *what,
                          fc_status *st) {
    char msg[1200];
    if (!fc_provenance_diff(have, "store", want, "this run", msg, sizeof msg)) return FC_OK;
    return fc_fail(st, FC_ERR_MISMATCH, "%s: made with a different backbone setup: %s", what, msg);
}

static int parse_field(const pfield *f, const char *v, fc_provenance *p) {
    char *base = (char *)p + f->off, *end;
    long long x;
    switch (f->type) {
    case PF_STR:
        if (strlen(v) >= f->size) return -1;
        memcpy(base, v, strlen(v) + 1);
        return 0;
    case PF_CODEC: return fc_codec_parse(v, (fc_codec_kind *)(void *)base);
    case PF_LAYOUT: return fc_layout_parse(v, (fc_layout *)(void *)base);
    default:
        errno = 0;
        x = strtoll(v, &end, 10);
        if (errno || end == v || *end) return -1;
        if (f->type == PF_INT) {
            if (x < INT_MIN || x > INT_MAX) return -1;
            *(int *)(void *)base = (int)x;
        } else {
            *(int64_t *)(void *)base = x;
        }
        return 0;
    }
}

static int validate_prov(fc_store *s, const fc_provenance *p, fc_status *st) {
    size_t n;
    if (p->in_h < 1 || p->in_w < 1 || p->in_h > FC_MAX_DIM || p->in_w > FC_MAX_DIM ||
        p->feat_h < 1 || p->feat_w < 1 || p->feat_c < 1 || p->feat_h > FC_MAX_DIM ||
        p->feat_w > FC_MAX_DIM || p->feat_c > FC_MAX_DIM ||
        fc_size_mul4((size_t)p->feat_h, (size_t)p->feat_w, (size_t)p->feat_c, 1, &n) ||
        n > FC_MAX_TENSOR_ELEMS)
        return fc_fail(st, FC_ERR_FORMAT, "%s: provenance has a bad input %dx%d or feature shape "
                       "%dx%dx%d", s->path, p->in_h, p->in_w, p->feat_h, p->feat_w, p->feat_c);
    if (p->codec.level < -131072 || p->codec.level > 22)
        return fc_fail(st, FC_ERR_FORMAT, "%s: provenance has a bad zstd level %d", s->path,
                       p->codec.level);
    return FC_OK;
}

int fc_store_alloc_decode(fc_store *s, fc_status *st) {
    s->feat_n = (size_t)s->prov.feat_h * (size_t)s->prov.feat_w * (size_t)s->prov.feat_c;
    /* a blob of a few KB can decode to the 2^31 zeros a hostile provenance declares: the
     * buffer, filled by every decode, must at least fit in memory */
    char what[1024];
    snprintf(what, sizeof what, "%s: one feature map of %dx%dx%d", s->path, s->prov.feat_h, s->prov.feat_w,
             s->prov.feat_c);
    if (fc_mem_check((double)s->feat_n * sizeof(float), what, st)) return st->code;
    free(s->dec);
    s->dec = fc_aligned_alloc(s->feat_n * sizeof(float), st);
    return s->dec ? FC_OK : FC_ERR_NOMEM;
}

int fc_store_get_provenance(fc_store *s, fc_provenance *p, fc_status *st) {
    sqlite3_stmt *q = NULL;
    unsigned seen = 0;
    int rc = FC_OK, rank = 0;
    double vf = -1, tf = -1;
    char abspath[sizeof p->model_abspath] = "";
    memset(p, 0, sizeof *p);
    if (sqlite3_prepare_v2(s->db, "SELECT key, value FROM provenance", -1, &q, NULL) != SQLITE_OK)
        return -fc_store_sql_fail(s, st, "read provenance");
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(q, 0), *v = (const char *)sqlite3_column_text(q, 1);
        if (k && v && !strcmp(k, FEAT_RANK_KEY)) /* outside the fixed fields; checked below */
            rank = !strcmp(v, "2") ? 2 : !strcmp(v, "3") ? 3 : 0;
        if (k && v && !strcmp(k, VAL_FRAC_KEY)) vf = parse_frac(v);
        if (k && v && !strcmp(k, TEST_FRAC_KEY)) tf = parse_frac(v);
        if (k && v && !strcmp(k, MODEL_ABSPATH_KEY) && strlen(v) < sizeof abspath)
            snprintf(abspath, sizeof abspath, "%s", v);
        for (size_t i = 0; k && v && i < N_PFIELDS; i++) {
            if (strcmp(k, pfields[i].key) != 0) continue;
            if (parse_field(&pfields[i], v, p)) {
                rc = fc_fail(st, FC_ERR_FORMAT, "%s: provenance field '%s' has a bad value '%.80s'",
                             s->path, k, v);
                goto out;
            }
            seen |= 1u << i;
        }
    }
    if (r != SQLITE_DONE) {
        rc = fc_store_sql_fail(s, st, "read provenance");
        goto out;
    }
    if (!seen) goto out; /* new store */
    for (size_t i = 0; i < N_PFIELDS; i++)
        if (pfields[i].required && !(seen & (1u << i))) {
            rc = fc_fail(st, FC_ERR_FORMAT, "%s: provenance lacks '%s'", s->path, pfields[i].key);
            goto out;
        }
    if ((rc = validate_prov(s, p, st))) goto out;
    /* an unknown value, or a vector of a map that is not 1x1, is no usable record: as if none
     * (it is informative, like image_dir, and the fingerprint does not cover it) */
    p->feat_rank = fc_feat_rank_valid(rank, p->feat_h, p->feat_w) ? rank : 0;
    /* likewise the split fractions (a pair that exceeds 1 is none) and the absolute model path */
    if (vf >= 0 && tf >= 0 && vf + tf <= 1) p->has_fracs = 1, p->val_frac = vf, p->test_frac = tf;
    snprintf(p->model_abspath, sizeof p->model_abspath, "%s", abspath);
    fc_provenance chk = *p; /* the fingerprint must be the one of the fields stored with it */
    fc_provenance_fingerprint(&chk);
    if (!s->any_fingerprint && strcmp(chk.fingerprint, p->fingerprint) != 0) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: provenance fingerprint %s does not match its fields "
                     "(they give %s): the provenance was edited or damaged (`featcache verify` "
                     "lists the store's problems)", s->path, p->fingerprint, chk.fingerprint);
        goto out;
    }
    s->prov = *p;
    s->have_prov = 1;
    rc = fc_store_alloc_decode(s, st);
out:
    sqlite3_finalize(q);
    if (rc) return -rc;
    return seen ? 1 : 0;
}

static int write_field(fc_store *s, sqlite3_stmt *q, const pfield *f, const fc_provenance *p,
                       fc_status *st) {
    const char *base = (const char *)p + f->off;
    char v[32];
    const char *val = v;
    switch (f->type) {
    case PF_STR: val = base; break;
    case PF_CODEC: val = fc_codec_name(*(const fc_codec_kind *)(const void *)base); break;
    case PF_LAYOUT: val = fc_layout_name(*(const fc_layout *)(const void *)base); break;
    case PF_INT: snprintf(v, sizeof v, "%d", *(const int *)(const void *)base); break;
    default: snprintf(v, sizeof v, "%lld", (long long)*(const int64_t *)(const void *)base);
    }
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, f->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, val, -1, SQLITE_TRANSIENT);
    return sqlite3_step(q) == SQLITE_DONE ? FC_OK : fc_store_sql_fail(s, st, "write provenance");
}

static int write_provenance(fc_store *s, const fc_provenance *p, fc_status *st) {
    sqlite3_stmt *q = NULL;
    int rc = FC_OK;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO provenance(key, value) VALUES (?1, ?2)",
                           -1, &q, NULL) != SQLITE_OK)
        return fc_store_sql_fail(s, st, "write provenance");
    for (size_t i = 0; i < N_PFIELDS && !rc; i++) rc = write_field(s, q, &pfields[i], p, st);
    sqlite3_finalize(q);
    return rc;
}

static void fill_origin(fc_provenance *p) {
    int64_t now = (int64_t)time(NULL);
    if (!p->created) p->created = now;
    p->updated = now;
    if (!p->version[0]) snprintf(p->version, sizeof p->version, "%s", FC_VERSION);
    if (!p->host[0] && gethostname(p->host, sizeof p->host) != 0) p->host[0] = '\0';
    p->host[sizeof p->host - 1] = '\0';
    if (!p->user[0]) {
        const char *u = getenv("USER");
        struct passwd *pw = u ? NULL : getpwuid(getuid());
        snprintf(p->user, sizeof p->user, "%s", u ? u : pw ? pw->pw_name : "?");
    }
}

static int set_extra(fc_store *s, const char *key, const char *val, fc_status *st);

int fc_store_set_provenance(fc_store *s, const fc_provenance *p, fc_status *st) {
    if (s->readonly) return fc_fail(st, FC_ERR_ARG, "%s: store opened read-only", s->path);
    fc_provenance want = *p;
    fc_provenance_fingerprint(&want);
    if (s->have_prov) return fc_provenance_compare(&s->prov, &want, s->path, st);
    int rc = validate_prov(s, &want, st);
    if (rc) return rc;
    fill_origin(&want);
    if ((rc = exec(s, "SAVEPOINT prov", st))) return rc;
    if (!fc_feat_rank_valid(want.feat_rank, want.feat_h, want.feat_w)) want.feat_rank = 0;
    if (want.has_fracs && !(want.val_frac >= 0 && want.test_frac >= 0 && want.val_frac + want.test_frac <= 1))
        want.has_fracs = 0;
    char vf[32], tf[32];
    fc_format_frac(want.val_frac, vf, sizeof vf);
    fc_format_frac(want.test_frac, tf, sizeof tf);
    if ((rc = write_provenance(s, &want, st)) ||
        (want.feat_rank && (rc = set_extra(s, FEAT_RANK_KEY, want.feat_rank == 2 ? "2" : "3", st))) ||
        (want.has_fracs &&
         ((rc = set_extra(s, VAL_FRAC_KEY, vf, st)) || (rc = set_extra(s, TEST_FRAC_KEY, tf, st)))) ||
        (want.model_abspath[0] && (rc = set_extra(s, MODEL_ABSPATH_KEY, want.model_abspath, st)))) {
        sqlite3_exec(s->db, "ROLLBACK TO prov; RELEASE prov", 0, 0, 0);
        return rc;
    }
    if ((rc = exec(s, "RELEASE prov", st))) return rc;
    s->prov = want;
    s->have_prov = 1;
    return fc_store_alloc_decode(s, st);
}

/* Runs sql (?1 = key, ?2 = val) on the provenance table. */
static int prov_write(fc_store *s, const char *sql, const char *key, const char *val, const char *what,
                      fc_status *st) {
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, val, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? FC_OK : fc_store_sql_fail(s, st, what);
}

static int set_prov_value(fc_store *s, const char *key, const char *val, fc_status *st) {
    return prov_write(s, "UPDATE provenance SET value = ?2 WHERE key = ?1", key, val, "update provenance", st);
}

/* The image folder record and the store's origin (and feat_rank, above): provenance rows
 * outside pfields, so they are neither required (stores from before them open as they did,
 * and older featcache ignores the rows) nor part of the fingerprint. merge writes the folder
 * its inputs agree on (cmd_share.c); merge and import write their name as the origin. */
#define IMAGE_DIR_KEY "image_dir"
#define ORIGIN_KEY "origin"

static int get_extra(fc_store *s, const char *key, char *out, size_t cap, fc_status *st) {
    sqlite3_stmt *q = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM provenance WHERE key = ?1", -1, &q, NULL) != SQLITE_OK)
        return -fc_store_sql_fail(s, st, "read provenance");
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    int r = sqlite3_step(q), found = 0;
    if (r == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(q, 0);
        /* a value that does not fit (or is empty) is no usable record: as if none */
        if (v && v[0] && strlen(v) < cap) {
            memcpy(out, v, strlen(v) + 1);
            found = 1;
        }
    }
    int rc = r == SQLITE_ROW || r == SQLITE_DONE ? FC_OK : fc_store_sql_fail(s, st, "read provenance");
    sqlite3_finalize(q);
    return rc ? -rc : found;
}

static int set_extra(fc_store *s, const char *key, const char *val, fc_status *st) {
    if (s->readonly) return fc_fail(st, FC_ERR_ARG, "%s: store opened read-only", s->path);
    return prov_write(s, "INSERT OR REPLACE INTO provenance(key, value) VALUES (?1, ?2)", key, val,
                      "write provenance", st);
}

int fc_store_get_image_dir(fc_store *s, char *dir, size_t cap, fc_status *st) {
    return get_extra(s, IMAGE_DIR_KEY, dir, cap, st);
}

int fc_store_set_image_dir(fc_store *s, const char *dir, fc_status *st) {
    return set_extra(s, IMAGE_DIR_KEY, dir, st);
}

int fc_store_get_origin(fc_store *s, char *out, size_t cap, fc_status *st) {
    return get_extra(s, ORIGIN_KEY, out, cap, st);
}

int fc_store_set_origin(fc_store *s, const char *origin, fc_status *st) {
    return set_extra(s, ORIGIN_KEY, origin, st);
}

int fc_store_set_feat_rank(fc_store *s, int rank, fc_status *st) {
    if (!s->have_prov || s->prov.feat_rank || !fc_feat_rank_valid(rank, s->prov.feat_h, s->prov.feat_w))
        return FC_OK; /* nothing to record, or recorded already */
    int rc = set_extra(s, FEAT_RANK_KEY, rank == 2 ? "2" : "3", st);
    if (!rc) s->prov.feat_rank = rank;
    return rc;
}

int fc_store_checkpoint(fc_store *s, fc_status *st) {
    if (s->readonly) return fc_fail(st, FC_ERR_ARG, "%s: store opened read-only", s->path);
    int r = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    if (r == SQLITE_OK || r == SQLITE_BUSY || r == SQLITE_LOCKED) return FC_OK;
    return fc_store_sql_fail(s, st, "checkpoint");
}

int fc_store_touch(fc_store *s, fc_status *st) {
    if (!s->have_prov) return FC_OK;
    char v[32];
    s->prov.updated = (int64_t)time(NULL);
    snprintf(v, sizeof v, "%lld", (long long)s->prov.updated);
    return set_prov_value(s, "updated", v, st);
}

/* ---- writes ---- */

static const char *const split_names[] = {"train", "validation", "test"};

const char *fc_split_name(int split) {
    return split >= 0 && split < 3 ? split_names[split] : "?";
}

int fc_split_parse(const char *s) {
    if (!s) return -2;
    if (strcmp(s, "train") == 0) return FC_SPLIT_TRAIN;
    if (strcmp(s, "validation") == 0 || strcmp(s, "val") == 0 || strcmp(s, "valid") == 0) return FC_SPLIT_VAL;
    if (strcmp(s, "test") == 0) return FC_SPLIT_TEST;
    if (strcmp(s, "any") == 0 || strcmp(s, "all") == 0) return FC_SPLIT_ANY;
    return -2;
}

static int writable(fc_store *s, fc_status *st) {
    if (s->readonly) return fc_fail(st, FC_ERR_ARG, "%s: store opened read-only", s->path);
    if (!s->have_prov)
        return fc_fail(st, FC_ERR_ARG, "%s: store has no provenance yet", s->path);
    return FC_OK;
}

int fc_store_begin(fc_store *s, fc_status *st) {
    if (s->readonly) return fc_fail(st, FC_ERR_ARG, "%s: store opened read-only", s->path);
    return exec(s, "BEGIN IMMEDIATE", st);
}

int fc_store_commit(fc_store *s, fc_status *st) {
    return exec(s, "COMMIT", st);
}

int fc_store_rollback(fc_store *s) {
    if (!s || !s->db || sqlite3_get_autocommit(s->db)) return FC_OK;
    return sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK ? FC_OK : FC_ERR_IO;
}

static int64_t class_id(fc_store *s, const char *name, fc_status *st) {
    sqlite3_stmt *q = fc_store_stmt(s, Q_CLASS_GET, st);
    if (!q) return -1;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int r = sqlite3_step(q);
    int64_t id = r == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
    sqlite3_reset(q); /* an unfinished statement would hold a read transaction open */
    if (r == SQLITE_ROW) return id;
    if (r != SQLITE_DONE) return fc_store_sql_fail(s, st, "read classes"), -1;
    if (!(q = fc_store_stmt(s, Q_CLASS_ADD, st))) return -1;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) return fc_store_sql_fail(s, st, "add class"), -1;
    return sqlite3_last_insert_rowid(s->db);
}

static int check_rec(fc_store *s, const fc_image_rec *r, fc_status *st) {
    size_t n = strlen(r->sha256);
    if (n != 64 || strspn(r->sha256, "0123456789abcdef") != 64)
        return fc_fail(st, FC_ERR_ARG, "%s: bad image sha256 '%.70s'", s->path, r->sha256);
    if (!r->path || !r->path[0] || !r->class_name || !r->class_name[0])
        return fc_fail(st, FC_ERR_ARG, "%s: image record needs a path and a class", s->path);
    if (r->split < 0 || r->split > 2)
        return fc_fail(st, FC_ERR_ARG, "%s: bad split %d for %s", s->path, r->split, r->path);
    return FC_OK;
}

/* images + paths rows for rec. keep_features: the image already has features and this
 * put carries none, so only its path/class/split move. */
static int put_rows(fc_store *s, const fc_image_rec *r, int status, int keep_features,
                    fc_status *st) {
    int64_t cid = class_id(s, r->class_name, st);
    if (cid < 0) return st->code;
    sqlite3_stmt *q = fc_store_stmt(s, keep_features ? Q_IMG_KEEP : Q_IMG_UPSERT, st);
    if (!q) return st->code;
    sqlite3_bind_text(q, 1, r->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, r->path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, cid);
    sqlite3_bind_int(q, 4, r->split);
    if (!keep_features) {
        sqlite3_bind_int(q, 5, status);
        if (status != FC_IMG_OK) sqlite3_bind_text(q, 6, r->error ? r->error : "failed", -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 7, r->bytes);
        sqlite3_bind_int(q, 8, status == FC_IMG_OK ? r->width : 0);
        sqlite3_bind_int(q, 9, status == FC_IMG_OK ? r->height : 0);
        sqlite3_bind_int64(q, 10, (int64_t)time(NULL));
    }
    if (sqlite3_step(q) != SQLITE_DONE) return fc_store_sql_fail(s, st, "write image");
    fc_path_rec pr = {r->path, r->sha256, -1, -1};
    if (r->file) pr.size = r->file->size, pr.mtime_ns = r->file->mtime_ns;
    return fc_store_put_path(s, &pr, st);
}

static int put_feature(fc_store *s, const char *sha, const uint8_t *blob, size_t len,
                       const char *checksum, fc_status *st) {
    sqlite3_stmt *q = fc_store_stmt(s, Q_FEAT_UPSERT, st);
    if (!q) return st->code;
    sqlite3_bind_text(q, 1, sha, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(q, 2, blob, len, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, checksum, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, (int64_t)(s->feat_n * sizeof(float)));
    int r = sqlite3_step(q);
    sqlite3_reset(q); /* drop the reference to blob */
    return r == SQLITE_DONE ? FC_OK : fc_store_sql_fail(s, st, "write features");
}

int fc_store_choose_layout(fc_store *s, const float *x, size_t count, fc_status *st) {
    int rc = writable(s, st);
    if (rc || s->prov.codec.layout != FC_LAYOUT_AUTO || count == 0) return rc;
    fc_layout l = fc_codec_choose_layout(&s->prov.codec, x, count, s->feat_n, s->prov.feat_c);
    rc = set_prov_value(s, "layout", fc_layout_name(l), st);
    if (!rc) s->prov.codec.layout = l;
    return rc;
}

int fc_store_put(fc_store *s, const fc_image_rec *rec, const float *features, fc_status *st) {
    int rc = writable(s, st);
    if (rc || (rc = check_rec(s, rec, st))) return rc;
    if (!features) {
        int has = fc_store_has(s, rec->sha256, st);
        if (has < 0) return -has;
        rc = put_rows(s, rec, FC_IMG_FAILED, has, st);
        /* augmented views belong to training images: one moved to validation or test
         * loses them (moved back, a plain extract makes them again) */
        if (!rc && has && rec->split != FC_SPLIT_TRAIN) rc = fc_views_delete(s, rec->sha256, st);
        return rc;
    }
    if ((rc = fc_store_choose_layout(s, features, 1, st))) return rc;
    uint8_t *blob = NULL;
    size_t len = 0;
    char sum[65];
    rc = fc_codec_encode(&s->prov.codec, features, s->feat_n, s->prov.feat_c, &blob, &len, st);
    /* the checksum is of what a reader will get back, so decode what was just encoded */
    if (!rc) rc = fc_codec_decode(blob, len, s->dec, s->feat_n, st);
    if (rc) {
        fc_wrap(st, "%s: %s", s->path, rec->path);
        goto out;
    }
    fc_checksum_floats(s->dec, s->feat_n, sum);
    if (!(rc = put_rows(s, rec, FC_IMG_OK, 0, st))) rc = put_feature(s, rec->sha256, blob, len, sum, st);
out:
    free(blob);
    return rc;
}

int fc_store_put_blob(fc_store *s, const fc_image_rec *rec, const uint8_t *blob, size_t len,
                      const char *checksum, fc_status *st) {
    int rc = writable(s, st);
    if (rc || (rc = check_rec(s, rec, st))) return rc;
    fc_blob_info bi;
    char sum[65];
    if (fc_codec_peek(blob, len, &bi, st) || fc_codec_decode(blob, len, s->dec, s->feat_n, st))
        return fc_wrap(st, "%s: features of %s", s->path, rec->path);
    if (bi.kind != s->prov.codec.kind || bi.channels != s->prov.feat_c)
        return fc_fail(st, FC_ERR_MISMATCH, "%s: features of %s are %s with %d channels, store "
                       "holds %s with %d", s->path, rec->path, fc_codec_name(bi.kind), bi.channels,
                       fc_codec_name(s->prov.codec.kind), s->prov.feat_c);
    fc_checksum_floats(s->dec, s->feat_n, sum);
    if (checksum && strcmp(checksum, sum) != 0)
        return fc_fail(st, FC_ERR_MISMATCH, "%s: features of %s do not match their checksum",
                       s->path, rec->path);
    if ((rc = put_rows(s, rec, FC_IMG_OK, 0, st))) return rc;
    return put_feature(s, rec->sha256, blob, len, sum, st);
}

int fc_store_has(fc_store *s, const char *sha256, fc_status *st) {
    sqlite3_stmt *q = fc_store_stmt(s, Q_HAS, st);
    if (!q) return -(int)st->code;
    sqlite3_bind_text(q, 1, sha256, -1, SQLITE_STATIC);
    int r = sqlite3_step(q);
    sqlite3_reset(q);
    if (r == SQLITE_ROW) return 1;
    if (r == SQLITE_DONE) return 0;
    return -fc_store_sql_fail(s, st, "read images");
}

int fc_store_exec1(fc_store *s, const char *sql, const char *arg, const char *what,
                   fc_status *st) {
    sqlite3_stmt *q = NULL;
    int r = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (r == SQLITE_OK) {
        sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
        r = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    return r == SQLITE_DONE || r == SQLITE_ROW ? FC_OK : fc_store_sql_fail(s, st, what);
}

int fc_store_delete(fc_store *s, const char *sha256, fc_status *st) {
    if (s->readonly) return fc_fail(st, FC_ERR_ARG, "%s: store opened read-only", s->path);
    int rc = fc_store_exec1(s, "DELETE FROM features WHERE sha256 = ?1", sha256, "delete", st);
    if (!rc) rc = fc_store_exec1(s, "DELETE FROM images WHERE sha256 = ?1", sha256, "delete", st);
    if (!rc) rc = fc_store_exec1(s, "DELETE FROM paths WHERE sha256 = ?1", sha256, "delete", st);
    if (!rc) rc = fc_views_delete(s, sha256, st);
    return rc;
}

int fc_store_add_run(fc_store *s, const char *kind, const char *config_json,
                     const char *history_json, const char *metrics_json, double seconds,
                     fc_status *st) {
    if (s->readonly) return fc_fail(st, FC_ERR_ARG, "%s: store opened read-only", s->path);
    fc_provenance who = {0};
    fill_origin(&who);
    sqlite3_stmt *q = NULL;
    int r = sqlite3_prepare_v2(s->db, "INSERT INTO runs(kind, config, history, metrics, seconds, "
                               "created, host, user) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                               -1, &q, NULL);
    if (r == SQLITE_OK) {
        sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, config_json ? config_json : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, history_json, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, metrics_json, -1, SQLITE_STATIC);
        sqlite3_bind_double(q, 5, seconds);
        sqlite3_bind_int64(q, 6, who.created);
        sqlite3_bind_text(q, 7, who.host, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 8, who.user, -1, SQLITE_STATIC);
        r = sqlite3_step(q);
    }
    sqlite3_finalize(q);
    return r == SQLITE_DONE ? FC_OK : fc_store_sql_fail(s, st, "record run");
}

int fc_store_record_run(const char *path, const char *kind, const char *config_json,
                        const char *history_json, const char *metrics_json, double seconds,
                        int *recorded, fc_status *st) {
    *recorded = 0;
    if (access(path, W_OK) != 0 || !dir_writable(path)) {
        if (access(path, R_OK) != 0) return fc_fail(st, FC_ERR_IO, "%s: %s", path, strerror(errno));
        return FC_OK; /* read-only store: nothing to record into */
    }
    fc_store *s = NULL;
    int rc = fc_store_open(path, FC_STORE_WRITE, &s, st);
    if (!rc && s) {
        rc = fc_store_add_run(s, kind, config_json, history_json, metrics_json, seconds, st);
        if (rc && (sqlite3_errcode(s->db) & 0xff) == SQLITE_READONLY) rc = FC_OK; /* read-only mount */
        else if (!rc) *recorded = 1;
    }
    fc_store_close(s);
    return rc;
}
