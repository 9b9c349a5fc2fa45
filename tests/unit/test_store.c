/* test_store.c - the SQLite feature store: create/put/commit/reopen/foreach, provenance
 * checks, refusing foreign/truncated/text/newer files, the busy lock (fork, kill -9),
 * read-only and immutable opens, paths, verify catching corrupt blobs and checksums. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/dataset.h"
#include "../../common/sha256.h"
#include "../../common/store.h"
#include "../../common/store_views.h"
#include "t.h"

static char dir[64];

static const char *tmp(const char *name) {
    static char buf[8][256];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static fc_provenance prov(const char *layer) {
    fc_provenance p = {0};
    fc_sha256_hex("weights", 7, p.model_sha256);
    snprintf(p.arch, sizeof p.arch, "vgg16");
    snprintf(p.layer, sizeof p.layer, "%s", layer);
    p.in_h = p.in_w = 150;
    snprintf(p.resize, sizeof p.resize, "nearest");
    snprintf(p.preprocess, sizeof p.preprocess, "caffe");
    snprintf(p.numerics, sizeof p.numerics, FC_NUMERICS_VERSION);
    p.feat_h = 2, p.feat_w = 3, p.feat_c = 5;
    p.codec = (fc_codec_params){FC_CODEC_F16, FC_LAYOUT_AUTO, 3};
    snprintf(p.command, sizeof p.command, "featcache extract imgs -m vgg16.h5 -o s.db");
    return p;
}

#define NF 30
static void feat(int i, float *x) {
    for (int k = 0; k < NF; k++) x[k] = (k * 7 + i) % 3 == 0 ? 0.0f : (float)(i + 1) * 0.25f + (float)k / 8;
}

static fc_image_rec rec(int i, char *sha, char *path, const char *cls, int split) {
    char buf[32];
    snprintf(buf, sizeof buf, "image-%d", i);
    fc_sha256_hex(buf, strlen(buf), sha);
    snprintf(path, 64, "%s/img%03d.png", cls, i);
    return (fc_image_rec){.path = path, .class_name = cls, .split = split, .status = FC_IMG_OK,
                          .bytes = 1000 + i, .width = 64, .height = 48};
}

/* store with n images: classes dogs/cats alternating, split i%3; image 3 failed */
static void make_store(const char *path, int n) {
    fc_store *s = NULL;
    fc_status st = {0};
    unlink(path);
    CHECK(fc_store_open(path, FC_STORE_CREATE | FC_STORE_EXCLUSIVE, &s, &st) == 0, "%s", st.msg);
    if (!s) return;
    fc_provenance p = prov("block5_pool");
    CHECK(fc_store_set_provenance(s, &p, &st) == 0, "%s", st.msg);
    CHECK(fc_store_begin(s, &st) == 0, "%s", st.msg);
    for (int i = 0; i < n; i++) {
        char sha[65], path_[64];
        float x[NF];
        fc_image_rec r = rec(i, sha, path_, i % 2 ? "dogs" : "cats", i % 3);
        memcpy(r.sha256, sha, 65);
        feat(i, x);
        if (i == 3) r.status = FC_IMG_FAILED, r.error = "truncated PNG";
        CHECK(fc_store_put(s, &r, i == 3 ? NULL : x, &st) == 0, "put %d: %s", i, st.msg);
    }
    CHECK(fc_store_commit(s, &st) == 0, "%s", st.msg);
    fc_store_close(s);
}

typedef struct { int n, failed, bad; char last_class[16]; } visit_ctx;
static int visit(void *ctx, const fc_image_rec *r, const float *x, const uint8_t *blob, size_t len) {
    visit_ctx *v = ctx;
    v->n++;
    if (!x) { v->failed++; return 0; }
    int i = atoi(r->path + 8);
    float want[NF];
    feat(i, want);
    for (int k = 0; k < NF; k++)
        if (fabsf(x[k] - want[k]) > 1e-3f * fabsf(want[k])) v->bad++;
    return 0;
}

static void test_schema_compiled(void) {
    FILE *f = fopen("schemas/store.sql", "rb");
    CHECK(f != NULL, "schemas/store.sql (run from the repository root)");
    if (!f) return;
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    CHECK(strcmp(buf, fc_store_schema_sql) == 0, "compiled schema differs from schemas/store.sql");
}

/* The views tables are not in the compiled schema (a store has views once extract
 * --augment creates them) but schemas/store.sql describes them in comments: those must be
 * the tables store_views.c creates, as SQLite records them. */
static void test_schema_views_documented(void) {
    const char *path = tmp("views.db");
    make_store(path, 4);
    fc_store *s = NULL;
    fc_status st = {0};
    CHECK(fc_store_open(path, FC_STORE_WRITE | FC_STORE_EXCLUSIVE, &s, &st) == 0, "%s", st.msg);
    if (!s) return;
    CHECK(!fc_views_exist(s), "a new store has no views tables");
    fc_views_config c = {.seed = 1, .views = 2};
    snprintf(c.spec, sizeof c.spec, "horizontal_flip=True");
    CHECK(fc_views_set_config(s, &c, &st) == 0, "%s", st.msg);
    fc_store_close(s);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK, "open %s", path);
    sqlite3_stmt *q = NULL;
    CHECK(sqlite3_prepare_v2(db, "SELECT name, sql FROM sqlite_master WHERE name IN ('augmentation', 'views')", -1,
                             &q, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
    int n = 0;
    while (q && sqlite3_step(q) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0), *sql = (const char *)sqlite3_column_text(q, 1);
        n++;
        /* "CREATE TABLE name (" ... ")" as "-- CREATE TABLE IF NOT EXISTS name (" ... "-- );" */
        char want[2048], *o = want;
        const char *p = sql + strlen("CREATE TABLE ");
        CHECK(strncmp(sql, "CREATE TABLE ", 13) == 0, "%s: %s", name, sql);
        o += snprintf(o, sizeof want, "-- CREATE TABLE IF NOT EXISTS ");
        for (; *p && o < want + sizeof want - 8; p++) {
            *o++ = *p;
            if (*p == '\n') *o++ = '-', *o++ = '-', *o++ = ' ';
        }
        snprintf(o, (size_t)(want + sizeof want - o), ";\n");
        CHECK(strstr(fc_store_schema_sql, want) != NULL, "schemas/store.sql lacks the %s table as created:\n%s", name,
              want);
    }
    CHECK(n == 2, "%d views tables", n);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

static void test_roundtrip(void) {
    const char *path = tmp("a.db");
    make_store(path, 10);
    fc_store *s = NULL;
    fc_status st = {0};
    CHECK(fc_store_open(path, FC_STORE_READ, &s, &st) == 0, "%s", st.msg);
    if (!s) return;
    const fc_provenance *p = fc_store_provenance(s);
    CHECK(p && strcmp(p->layer, "block5_pool") == 0 && p->feat_c == 5, "provenance back");
    CHECK(p && p->codec.layout != FC_LAYOUT_AUTO, "layout fixed by the first put: %s",
          p ? fc_layout_name(p->codec.layout) : "-");
    CHECK(p && strlen(p->fingerprint) == 64 && p->created > 0 && p->user[0], "origin fields");
    fc_provenance q = prov("block5_pool");
    fc_provenance_fingerprint(&q);
    CHECK(p && strcmp(q.fingerprint, p->fingerprint) == 0, "fingerprint recomputes");
    visit_ctx v = {0};
    CHECK(fc_store_foreach(s, FC_SPLIT_ANY, 1, visit, &v, &st) == 0, "%s", st.msg);
    CHECK(v.n == 10 && v.failed == 1 && v.bad == 0, "n %d failed %d bad %d", v.n, v.failed, v.bad);
    visit_ctx v1 = {0};
    CHECK(fc_store_foreach(s, FC_SPLIT_VAL, 1, visit, &v1, &st) == 0, "%s", st.msg);
    CHECK(v1.n == 3, "val split %d", v1.n); /* 1, 4, 7 */
    char **names;
    int nc;
    CHECK(fc_store_classes(s, &names, &nc, &st) == 0 && nc == 2 && strcmp(names[0], "cats") == 0 &&
          strcmp(names[1], "dogs") == 0, "classes sorted by name");
    fc_strlist_free(names, nc);
    fc_store_stats ss;
    CHECK(fc_store_stats_get(s, &ss, &st) == 0, "%s", st.msg);
    CHECK(ss.images_ok == 9 && ss.images_failed == 1 && ss.per_split[0] + ss.per_split[1] +
          ss.per_split[2] == 9 && ss.feature_bytes > 0 && ss.file_bytes > ss.feature_bytes, "stats");
    char sha[65], pth[64], got[65];
    rec(2, sha, pth, "cats", 2);
    CHECK(fc_store_has(s, sha, &st) == 1, "has 2");
    CHECK(fc_store_path_lookup(s, "cats/img002.png", got, &st) == 1 && strcmp(got, sha) == 0, "path");
    CHECK(fc_store_path_lookup(s, "cats/none.png", got, &st) == 0, "unknown path");
    rec(3, sha, pth, "dogs", 0);
    CHECK(fc_store_has(s, sha, &st) == 0, "failed image has no features");
    CHECK(fc_store_verify(s, NULL, NULL, 10, &st) == 0, "verify: %s", st.msg);
    float x[NF];
    fc_image_rec r = rec(11, sha, pth, "cats", 0);
    memcpy(r.sha256, sha, 65);
    feat(11, x);
    CHECK(fc_store_put(s, &r, x, &st) == FC_ERR_ARG, "put into read-only store");
    fc_store_close(s);
}

static void test_provenance_mismatch(void) {
    const char *path = tmp("b.db");
    make_store(path, 2);
    fc_store *s = NULL;
    fc_status st = {0};
    CHECK(fc_store_open(path, FC_STORE_WRITE, &s, &st) == 0, "%s", st.msg);
    if (!s) return;
    fc_provenance p = prov("block4_pool");
    p.in_h = 224;
    CHECK(fc_store_set_provenance(s, &p, &st) == FC_ERR_MISMATCH, "mismatch");
    CHECK(strstr(st.msg, "layer: store has 'block5_pool', this run has 'block4_pool'") != NULL, "%s", st.msg);
    CHECK(strstr(st.msg, "input size: store has '150x150', this run has '224x150'") != NULL, "%s", st.msg);
    CHECK(strstr(st.msg, path) != NULL, "names the store: %s", st.msg);
    p = prov("block5_pool");
    p.codec.kind = FC_CODEC_U8;
    CHECK(fc_store_set_provenance(s, &p, &st) == FC_ERR_MISMATCH && strstr(st.msg, "codec: store has 'f16', this run has 'u8'"), "%s", st.msg);
    p = prov("block5_pool");
    p.codec.level = 9; /* level and layout are not part of the identity */
    CHECK(fc_store_set_provenance(s, &p, &st) == 0, "same setup: %s", st.msg);
    fc_store_close(s);
}

static int open_fails(const char *path, int flags, int code, const char *frag) {
    fc_store *s = NULL;
    fc_status st = {0};
    int rc = fc_store_open(path, flags, &s, &st);
    CHECK(rc == code && s == NULL, "%s: rc %d (want %d): %s", path, rc, code, st.msg);
    CHECK(strstr(st.msg, frag) != NULL && strstr(st.msg, path) != NULL, "message '%s' lacks '%s'", st.msg, frag);
    fc_store_close(s);
    return rc == code;
}

static void write_file(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, n, f) == n, "write %s", path);
    if (f) fclose(f);
}

static void sql(const char *path, const char *q) {
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK, "open %s", path);
    char *err = NULL;
    CHECK(sqlite3_exec(db, q, NULL, NULL, &err) == SQLITE_OK, "%s: %s", q, err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
}

/* The split fractions and the absolute model path: rows outside the fingerprint, written with
 * a new store's provenance and read back exactly (a re-run compares its options with them);
 * a value out of range reads as no record, and the fingerprint check still passes. */
static void test_provenance_extras(void) {
    const char *path = tmp("x.db");
    fc_store *s = NULL;
    fc_status st = {0};
    fc_provenance p = prov("block5_pool"), got = {0}; /* read only when the open succeeds */
    p.has_fracs = 1, p.val_frac = 0.1, p.test_frac = 0.30000000000000004; /* needs 17 digits */
    snprintf(p.model_abspath, sizeof p.model_abspath, "/models/vgg16.h5");
    CHECK(fc_store_open(path, FC_STORE_CREATE, &s, &st) == 0, "%s", st.msg);
    if (!s) return;
    CHECK(fc_store_set_provenance(s, &p, &st) == 0, "%s", st.msg);
    fc_store_close(s), s = NULL;
    CHECK(fc_store_open(path, FC_STORE_READ, &s, &st) == 0 && fc_store_get_provenance(s, &got, &st) == 1, "%s", st.msg);
    CHECK(got.has_fracs && got.val_frac == 0.1 && got.test_frac == 0.30000000000000004, "fractions %d %.17g %.17g",
          got.has_fracs, got.val_frac, got.test_frac);
    CHECK(!strcmp(got.model_abspath, "/models/vgg16.h5"), "model_abspath '%s'", got.model_abspath);
    fc_store_close(s), s = NULL;
    sql(path, "UPDATE provenance SET value = '0.9' WHERE key = 'val_frac'"); /* 0.9 + 0.3 > 1 */
    CHECK(fc_store_open(path, FC_STORE_READ, &s, &st) == 0 && fc_store_get_provenance(s, &got, &st) == 1, "%s", st.msg);
    CHECK(!got.has_fracs, "a pair over 1 is no record");
    fc_store_close(s);
}

static void test_bad_files(void) {
    open_fails(tmp("missing.db"), FC_STORE_READ, FC_ERR_IO, "No such file");
    open_fails(dir, FC_STORE_READ, FC_ERR_IO, "directory");
    open_fails(tmp("no/such/dir/s.db"), FC_STORE_CREATE, FC_ERR_IO, "cannot create: No such file or directory");
    const char *txt = tmp("notes.txt");
    write_file(txt, "hello, this is not a database at all\n", 37);
    open_fails(txt, FC_STORE_READ, FC_ERR_FORMAT, "not an SQLite database: a text file");
    open_fails(txt, FC_STORE_CREATE, FC_ERR_FORMAT, "not a featcache store");
    const char *h5 = tmp("export.h5"); /* the HDF5 signature: named as such */
    write_file(h5, "\x89HDF\r\n\x1a\n\0\0\0\0\0\0\0\0", 16);
    open_fails(h5, FC_STORE_WRITE, FC_ERR_FORMAT, "not a featcache store (an HDF5 file, not an SQLite database)");
    const char *empty = tmp("empty.db");
    write_file(empty, "", 0);
    open_fails(empty, FC_STORE_READ, FC_ERR_FORMAT, "empty file");
    const char *foreign = tmp("foreign.db");
    sql(foreign, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
    open_fails(foreign, FC_STORE_WRITE, FC_ERR_FORMAT, "not a featcache store (application_id 0x00000000");
    const char *newer = tmp("newer.db");
    make_store(newer, 2);
    sql(newer, "PRAGMA user_version = 7");
    open_fails(newer, FC_STORE_READ, FC_ERR_UNSUPPORTED, "store format version 7 is newer than this featcache supports");
    /* truncated: a valid store cut in half (after a checkpoint so all pages are in the file) */
    const char *trunc = tmp("trunc.db");
    make_store(trunc, 40);
    struct stat sb;
    CHECK(stat(trunc, &sb) == 0 && sb.st_size > 4096, "store size %lld", (long long)sb.st_size);
    CHECK(truncate(trunc, sb.st_size / 2) == 0, "truncate");
    open_fails(trunc, FC_STORE_READ, FC_ERR_FORMAT, "truncated");
    CHECK(truncate(trunc, 50) == 0, "truncate to 50");
    open_fails(trunc, FC_STORE_READ, FC_ERR_FORMAT, "truncated");
    /* the first 16 bytes of an SQLite file and then garbage */
    char junk[4096];
    memset(junk, 0x5a, sizeof junk);
    memcpy(junk, "SQLite format 3", 16);
    const char *junkdb = tmp("junk.db");
    write_file(junkdb, junk, sizeof junk);
    fc_store *s = NULL;
    fc_status st = {0};
    CHECK(fc_store_open(junkdb, FC_STORE_READ, &s, &st) == FC_ERR_FORMAT, "junk: %s", st.msg);
    fc_store_close(s);
}

/* child: open exclusively, report through the pipe, then wait to be killed or exit */
static pid_t hold_lock(const char *path, int *status_out) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        fc_store *s = NULL;
        fc_status st = {0};
        char c = fc_store_open(path, FC_STORE_WRITE | FC_STORE_EXCLUSIVE, &s, &st) == 0 ? 'y' : 'n';
        if (write(fd[1], &c, 1) != 1) _exit(3);
        pause();
        _exit(0);
    }
    close(fd[1]);
    char c = 0;
    if (read(fd[0], &c, 1) != 1) c = '?';
    close(fd[0]);
    *status_out = c;
    return pid;
}

static void test_busy(void) {
    const char *path = tmp("busy.db");
    make_store(path, 4);
    int got = 0;
    pid_t pid = hold_lock(path, &got);
    CHECK(pid > 0 && got == 'y', "child holds the lock (%c)", got);
    open_fails(path, FC_STORE_WRITE | FC_STORE_EXCLUSIVE, FC_ERR_BUSY,
               "store is busy (another featcache process is writing it)");
    /* readers are not blocked */
    fc_store *s = NULL;
    fc_status st = {0};
    CHECK(fc_store_open(path, FC_STORE_READ, &s, &st) == 0, "reader: %s", st.msg);
    fc_store_close(s);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    s = NULL;
    CHECK(fc_store_open(path, FC_STORE_WRITE | FC_STORE_EXCLUSIVE, &s, &st) == 0,
          "lock released by kill -9: %s", st.msg);
    /* the same process opening twice is refused too (flock per open file) */
    open_fails(path, FC_STORE_WRITE | FC_STORE_EXCLUSIVE, FC_ERR_BUSY, "busy");
    fc_store_close(s);
    char lock[300];
    snprintf(lock, sizeof lock, "%s.lock", path);
    CHECK(access(lock, F_OK) != 0, "lock file removed on close");
    s = NULL;
    CHECK(fc_store_open(path, FC_STORE_WRITE | FC_STORE_EXCLUSIVE, &s, &st) == 0, "relock: %s", st.msg);
    fc_store_close(s);
}

/* kill -9 in the middle of a batch loses that batch only */
static void test_kill_mid_batch(void) {
    const char *path = tmp("kill.db");
    make_store(path, 5);
    pid_t pid = fork();
    if (pid == 0) {
        fc_store *s = NULL;
        fc_status st = {0};
        if (fc_store_open(path, FC_STORE_WRITE | FC_STORE_EXCLUSIVE, &s, &st)) _exit(2);
        for (int b = 0; b < 2; b++) {
            fc_store_begin(s, &st);
            for (int i = 100 + b * 10; i < 110 + b * 10; i++) {
                char sha[65], p[64];
                float x[NF];
                fc_image_rec r = rec(i, sha, p, "cats", 0);
                memcpy(r.sha256, sha, 65);
                feat(i, x);
                fc_store_put(s, &r, x, &st);
            }
            if (b == 1) raise(SIGKILL); /* batch 2 in flight */
            fc_store_commit(s, &st);
        }
        _exit(0);
    }
    int wst = 0;
    waitpid(pid, &wst, 0);
    CHECK(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL, "child killed");
    fc_store *s = NULL;
    fc_status st = {0};
    CHECK(fc_store_open(path, FC_STORE_WRITE | FC_STORE_EXCLUSIVE, &s, &st) == 0, "reopen: %s", st.msg);
    if (!s) return;
    fc_store_stats ss;
    fc_store_stats_get(s, &ss, &st);
    CHECK(ss.images_ok == 4 + 10, "first batch kept, second lost: %lld", (long long)ss.images_ok);
    CHECK(fc_store_verify(s, NULL, NULL, 5, &st) == 0, "verify after kill: %s", st.msg);
    fc_store_close(s);
}

static void test_read_only(void) {
    char rodir[128];
    snprintf(rodir, sizeof rodir, "%s/ro", dir);
    mkdir(rodir, 0755);
    char path[160];
    snprintf(path, sizeof path, "%s/s.db", rodir);
    make_store(path, 6);
    chmod(path, 0444);
    chmod(rodir, 0555);
    fc_store *s = NULL;
    fc_status st = {0};
    CHECK(fc_store_open(path, FC_STORE_READ, &s, &st) == 0, "read-only dir: %s", st.msg);
    visit_ctx v = {0};
    if (s) CHECK(fc_store_foreach(s, FC_SPLIT_ANY, 1, visit, &v, &st) == 0 && v.n == 6, "%s", st.msg);
    fc_store_close(s);
    /* root ignores permission bits: exercise the immutable open directly as well */
    s = NULL;
    CHECK(fc_store_open(path, FC_STORE_READ | FC_STORE_IMMUTABLE, &s, &st) == 0, "immutable: %s", st.msg);
    v = (visit_ctx){0};
    if (s) CHECK(fc_store_foreach(s, FC_SPLIT_ANY, 1, visit, &v, &st) == 0 && v.n == 6 && v.bad == 0, "%s", st.msg);
    if (s) CHECK(fc_store_verify(s, NULL, NULL, 5, &st) == 0, "verify immutable: %s", st.msg);
    fc_store_close(s);
    char shm[200];
    snprintf(shm, sizeof shm, "%s-shm", path);
    CHECK(access(shm, F_OK) != 0, "no -shm left behind");
    if (geteuid() != 0) open_fails(path, FC_STORE_WRITE, FC_ERR_IO, "");
    /* as an unprivileged user (root ignores permission bits): the plain read-only open
     * falls back to immutable, and a run is not recorded */
    chmod(dir, 0755);
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(10);
        fc_store *r = NULL;
        fc_status cst = {0};
        if (fc_store_open(path, FC_STORE_READ, &r, &cst)) { fprintf(stderr, "%s\n", cst.msg); _exit(11); }
        visit_ctx cv = {0};
        if (fc_store_foreach(r, FC_SPLIT_ANY, 1, visit, &cv, &cst) || cv.n != 6 || cv.bad) _exit(12);
        fc_store_close(r);
        int recorded = -1;
        if (fc_store_record_run(path, "train", "{}", NULL, NULL, 1, &recorded, &cst) || recorded != 0) _exit(13);
        if (fc_store_open(path, FC_STORE_WRITE, &r, &cst) == 0) _exit(14);
        _exit(0);
    }
    int wst = -1;
    waitpid(pid, &wst, 0);
    CHECK(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "unprivileged read-only checks: status %d", WEXITSTATUS(wst));
    chmod(dir, 0700);
    chmod(rodir, 0755);
    chmod(path, 0644);
}

typedef struct { int n; char first[512]; } report_ctx;
static void on_report(void *ctx, const char *msg) {
    report_ctx *r = ctx;
    if (!r->n++) snprintf(r->first, sizeof r->first, "%s", msg);
}

static void flip_blob_byte(const char *path, int pos) {
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK, "open");
    CHECK(sqlite3_prepare_v2(db, "SELECT rowid, blob FROM features ORDER BY rowid LIMIT 1", -1, &q, NULL) == SQLITE_OK, "select");
    CHECK(sqlite3_step(q) == SQLITE_ROW, "row");
    int64_t id = sqlite3_column_int64(q, 0);
    int n = sqlite3_column_bytes(q, 1);
    unsigned char *b = malloc((size_t)n);
    memcpy(b, sqlite3_column_blob(q, 1), (size_t)n);
    sqlite3_finalize(q);
    b[pos < 0 ? n + pos : pos] ^= 0x40;
    CHECK(sqlite3_prepare_v2(db, "UPDATE features SET blob = ?1 WHERE rowid = ?2", -1, &q, NULL) == SQLITE_OK, "update");
    sqlite3_bind_blob(q, 1, b, n, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 2, id);
    CHECK(sqlite3_step(q) == SQLITE_DONE, "update step");
    sqlite3_finalize(q);
    sqlite3_close(db);
    free(b);
}

static int verify_path(const char *path, report_ctx *r, fc_status *st) {
    fc_store *s = NULL;
    memset(r, 0, sizeof *r);
    int rc = fc_store_open(path, FC_STORE_READ, &s, st);
    if (!rc) rc = fc_store_verify(s, on_report, r, 10, st);
    fc_store_close(s);
    return rc;
}

static void test_verify(void) {
    const char *path = tmp("v.db");
    report_ctx r;
    fc_status st = {0};
    make_store(path, 6);
    CHECK(verify_path(path, &r, &st) == 0 && r.n == 0, "clean store: %s", st.msg);
    flip_blob_byte(path, 2); /* header magic */
    CHECK(verify_path(path, &r, &st) == FC_ERR_FORMAT && r.n == 1, "bad magic: %d reports", r.n);
    CHECK(strstr(r.first, "do not decode") != NULL && strstr(r.first, ".png") != NULL, "%s", r.first);
    make_store(path, 6);
    flip_blob_byte(path, -3); /* inside the zstd data */
    CHECK(verify_path(path, &r, &st) == FC_ERR_FORMAT && r.n >= 1, "zstd damage: %s", st.msg);
    make_store(path, 6);
    sql(path, "UPDATE features SET checksum = '0000000000000000000000000000000000000000000000000000000000000000' WHERE rowid = 2");
    CHECK(verify_path(path, &r, &st) == FC_ERR_FORMAT && r.n == 1 && strstr(r.first, "checksum mismatch"), "%s", r.first);
    CHECK(strstr(st.msg, "1 problem found") != NULL, "%s", st.msg);
    fc_dataset ds;
    CHECK(fc_dataset_load(path, FC_SPLIT_ANY, &ds, &st) == FC_ERR_FORMAT && strstr(st.msg, "do not match their checksum"),
          "loading checks checksums: %s", st.msg);
    make_store(path, 6);
    sql(path, "DELETE FROM features WHERE rowid = 1; INSERT INTO features(sha256, blob, checksum, raw_len) VALUES ('abc', x'00', 'x', 4)");
    CHECK(verify_path(path, &r, &st) == FC_ERR_FORMAT && r.n == 3, "missing + orphan + bad blob: %d (%s)", r.n, r.first);
}

static int count_path(void *ctx, const char *path, const char *sha) {
    (*(int *)ctx)++;
    return strlen(sha) != 64;
}

static void test_paths_and_blobs(void) {
    const char *path = tmp("p.db");
    make_store(path, 6);
    fc_store *s = NULL;
    fc_status st = {0};
    CHECK(fc_store_open(path, FC_STORE_WRITE | FC_STORE_EXCLUSIVE, &s, &st) == 0, "%s", st.msg);
    if (!s) return;
    /* the same content under a second path */
    char sha[65], p[64];
    float x[NF];
    fc_image_rec r = rec(1, sha, p, "dogs", 1);
    memcpy(r.sha256, sha, 65);
    r.path = "dogs/copy-of-1.png";
    feat(1, x);
    CHECK(fc_store_put(s, &r, x, &st) == 0, "%s", st.msg);
    int n = 0;
    CHECK(fc_store_foreach_path(s, count_path, &n, &st) == 0 && n == 7, "7 paths: %d", n);
    CHECK(fc_store_remove_path(s, "dogs/img001.png", &st) == 1, "remove one path");
    CHECK(fc_store_has(s, sha, &st) == 1, "still there under its copy");
    CHECK(fc_store_remove_path(s, "dogs/copy-of-1.png", &st) == 1, "remove last path");
    CHECK(fc_store_has(s, sha, &st) == 0, "gone with its last path");
    CHECK(fc_store_remove_path(s, "dogs/never.png", &st) == 0, "unknown path");
    /* a class whose last image is pruned leaves the label list */
    fc_image_rec b = rec(60, sha, p, "birds", 0);
    memcpy(b.sha256, sha, 65);
    CHECK(fc_store_put(s, &b, x, &st) == 0, "%s", st.msg);
    char **names;
    int nc = 0;
    CHECK(fc_store_classes(s, &names, &nc, &st) == 0 && nc == 3 && strcmp(names[0], "birds") == 0, "3 classes");
    fc_strlist_free(names, nc);
    CHECK(fc_store_remove_path(s, b.path, &st) == 1, "prune birds");
    CHECK(fc_store_classes(s, &names, &nc, &st) == 0 && nc == 2 && strcmp(names[0], "cats") == 0, "2 classes: %d", nc);
    fc_strlist_free(names, nc);
    /* put_blob: an encoded blob with its checksum (merge/import) */
    fc_codec_params cp = fc_store_provenance(s)->codec;
    uint8_t *blob = NULL;
    size_t len = 0;
    float y[NF];
    char sum[65];
    fc_codec_encode(&cp, x, NF, 5, &blob, &len, &st);
    fc_codec_decode(blob, len, y, NF, &st);
    fc_checksum_floats(y, NF, sum);
    r = rec(50, sha, p, "cats", 0);
    memcpy(r.sha256, sha, 65);
    CHECK(fc_store_put_blob(s, &r, blob, len, "deadbeef", &st) == FC_ERR_MISMATCH, "bad checksum");
    CHECK(fc_store_put_blob(s, &r, blob, len - 1, sum, &st) == FC_ERR_FORMAT, "cut blob: %s", st.msg);
    CHECK(fc_store_put_blob(s, &r, blob, len, sum, &st) == 0, "%s", st.msg);
    CHECK(fc_store_has(s, sha, &st) == 1, "put_blob stored");
    free(blob);
    cp.kind = FC_CODEC_BF16;
    fc_codec_encode(&cp, x, NF, 5, &blob, &len, &st);
    CHECK(fc_store_put_blob(s, &r, blob, len, NULL, &st) == FC_ERR_MISMATCH, "codec differs: %s", st.msg);
    free(blob);
    fc_codec_encode(&cp, x, NF, 6, &blob, &len, &st); /* wrong channel count */
    CHECK(fc_store_put_blob(s, &r, blob, len, NULL, &st) == FC_ERR_MISMATCH, "%s", st.msg);
    free(blob);
    r.sha256[0] = 'X';
    CHECK(fc_store_put(s, &r, x, &st) == FC_ERR_ARG, "bad sha");
    /* failed re-put of stored content keeps its features */
    r = rec(2, sha, p, "cats", 2);
    memcpy(r.sha256, sha, 65);
    r.status = FC_IMG_FAILED;
    CHECK(fc_store_put(s, &r, NULL, &st) == 0 && fc_store_has(s, sha, &st) == 1, "kept");
    CHECK(fc_store_add_run(s, "train", "{\"lr\":2e-5}", "[]", "{\"val_acc\":0.9}", 1.5, &st) == 0, "%s", st.msg);
    int recorded = 0;
    CHECK(fc_store_record_run(path, "sweep", "{}", NULL, NULL, 2, &recorded, &st) == 0 && recorded == 1,
          "record_run beside an exclusive writer: %s", st.msg);
    CHECK(fc_store_record_run(tmp("nope.db"), "sweep", "{}", NULL, NULL, 2, &recorded, &st) == FC_ERR_IO,
          "missing store");
    CHECK(fc_store_delete(s, sha, &st) == 0 && fc_store_has(s, sha, &st) == 0, "delete: %s", st.msg);
    CHECK(fc_store_verify(s, NULL, NULL, 5, &st) == 0, "%s", st.msg);
    fc_store_close(s);
}

static void test_rollback(void) {
    const char *path = tmp("r.db");
    make_store(path, 3);
    fc_store *s = NULL;
    fc_status st = {0};
    CHECK(fc_store_open(path, FC_STORE_WRITE, &s, &st) == 0, "%s", st.msg);
    if (!s) return;
    char sha[65], p[64];
    float x[NF];
    fc_image_rec r = rec(20, sha, p, "birds", 0);
    memcpy(r.sha256, sha, 65);
    feat(20, x);
    fc_store_begin(s, &st);
    CHECK(fc_store_put(s, &r, x, &st) == 0, "%s", st.msg);
    CHECK(fc_store_rollback(s) == 0, "rollback");
    CHECK(fc_store_has(s, sha, &st) == 0, "rolled back");
    fc_store_close(s);
}

#pragma weak fc_h5feat_load

static void test_dataset(void) {
    const char *path = tmp("d.db");
    make_store(path, 10); /* image 3 failed; cats = even, dogs = odd; split i % 3 */
    fc_dataset ds;
    fc_status st = {0};
    CHECK(fc_dataset_load(path, FC_SPLIT_ANY, &ds, &st) == 0, "%s", st.msg);
    CHECK(ds.n == 9 && ds.dim == NF && ds.h == 2 && ds.w == 3 && ds.c == 5 && ds.n_classes == 2, "n %zu", ds.n);
    CHECK(strcmp(ds.fingerprint, ds.prov.fingerprint) == 0 && strlen(ds.fingerprint) == 64, "fingerprint");
    /* order: split, class, path -> first is split 0, cats: images 0 and 6 */
    float want[NF];
    feat(0, want);
    CHECK(ds.y[0] == 0 && fabsf(ds.x[0 * NF + 1] - want[1]) <= 1e-3f * fabsf(want[1]), "first row");
    int dogs = 0;
    for (size_t i = 0; i < ds.n; i++) dogs += ds.y[i] == 1;
    CHECK(dogs == 4, "dogs %d (1, 5, 7, 9)", dogs);
    fc_dataset_free(&ds);
    CHECK(fc_dataset_load(path, FC_SPLIT_VAL, &ds, &st) == 0 && ds.n == 3, "val: %zu %s", ds.n, st.msg);
    fc_dataset_free(&ds);
    fc_dataset_free(&ds); /* idempotent */
    fc_dataset_free(NULL);
    CHECK(fc_dataset_load(tmp("none.db"), FC_SPLIT_ANY, &ds, &st) == FC_ERR_IO, "missing");
    const char *h5 = tmp("x.h5");
    static const char fake[] = "\211HDF\r\n\032\n and then some bytes";
    write_file(h5, fake, sizeof fake - 1);
    int rc = fc_dataset_load(h5, FC_SPLIT_ANY, &ds, &st);
    if (!fc_h5feat_load)
        CHECK(rc == FC_ERR_UNSUPPORTED && strstr(st.msg, "need featcache built with export support"), "%s", st.msg);
    else
        CHECK(rc != 0, "garbage HDF5 accepted");
    /* an empty store (provenance never written) */
    const char *e = tmp("e.db");
    fc_store *s = NULL;
    CHECK(fc_store_open(e, FC_STORE_CREATE, &s, &st) == 0, "%s", st.msg);
    fc_store_close(s);
    CHECK(fc_dataset_load(e, FC_SPLIT_ANY, &ds, &st) == FC_ERR_FORMAT && strstr(st.msg, "empty"), "%s", st.msg);
}

static void test_choose_layout(void) {
    const char *path = tmp("l.db");
    fc_store *s = NULL;
    fc_status st = {0};
    CHECK(fc_store_open(path, FC_STORE_CREATE, &s, &st) == 0, "%s", st.msg);
    if (!s) return;
    fc_provenance p = prov("block5_pool");
    enum { D = 2 * 3 * 200 };
    p.feat_c = 200;
    CHECK(fc_store_set_provenance(s, &p, &st) == 0, "%s", st.msg);
    static float batch[4 * D], dense[4 * D]; /* 1 in 50 nonzero: sparse wins */
    for (int i = 0; i < 4 * D; i++) batch[i] = (i * 7919) % 50 ? 0.0f : 1.0f + (float)(i % 13);
    CHECK(fc_store_choose_layout(s, batch, 4, &st) == 0, "%s", st.msg);
    CHECK(fc_store_provenance(s)->codec.layout == FC_LAYOUT_SPARSE, "sparse chosen: %s",
          fc_layout_name(fc_store_provenance(s)->codec.layout));
    for (int i = 0; i < 4 * D; i++) dense[i] = (float)i;
    CHECK(fc_store_choose_layout(s, dense, 4, &st) == 0 && fc_store_provenance(s)->codec.layout == FC_LAYOUT_SPARSE,
          "fixed once chosen");
    fc_store_close(s);
    s = NULL;
    CHECK(fc_store_open(path, FC_STORE_READ, &s, &st) == 0 && fc_store_provenance(s)->codec.layout == FC_LAYOUT_SPARSE,
          "persisted");
    fc_store_close(s);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/fc-store-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    T_RUN(test_schema_compiled);
    T_RUN(test_schema_views_documented);
    T_RUN(test_roundtrip);
    T_RUN(test_provenance_mismatch);
    T_RUN(test_provenance_extras);
    T_RUN(test_bad_files);
    T_RUN(test_busy);
    T_RUN(test_kill_mid_batch);
    T_RUN(test_read_only);
    T_RUN(test_verify);
    T_RUN(test_paths_and_blobs);
    T_RUN(test_rollback);
    T_RUN(test_dataset);
    T_RUN(test_choose_layout);
    t_rmtree(dir);
    return t_done("test_store");
}
