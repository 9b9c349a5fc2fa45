/* test_pipeline.c - the extract pipeline with fake forward/write ops on real PNG files:
 * order and kinds of items, skips (fast path and by hash), duplicates, shards, stop in
 * the middle, and errors from either side ending the run without a deadlock. */
#define _GNU_SOURCE
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/store.h"
#include "../../extract/pipeline.h"
#include "../../extract/scan.h"
#include "t.h"

static char root[256];

/* 4x4 RGB PNG whose pixels are all `v`. */
static void write_png(const char *rel, int v) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (!f || !png || !info || setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "cannot write %s\n", p);
        exit(1);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, 4, 4, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_byte row[12];
    memset(row, v, sizeof row);
    for (int y = 0; y < 4; y++) png_write_row(png, row);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static void write_text(const char *rel, const char *s) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    fputs(s, f);
    fclose(f);
}

typedef struct {
    int n_batches, n_items, n_ok, n_failed, n_unreadable, n_seen, n_dup;
    float values[64];     /* feature 0 of each OK item, in order */
    char paths[64][64];   /* path of each item, in order */
    int fail_write_at;    /* batch number whose write fails (0 = never) */
    int fail_forward_at;  /* forward call that fails */
    int stop_at_forward;  /* forward call that raises the stop flag */
    int forwards;
    volatile sig_atomic_t stop;
    const char *stored_sha; /* is_stored() says yes for this one and fast_sha */
    const char *fast_path;  /* path_sha() knows this path ... */
    const char *fast_sha;   /* ... with this sha */
} fake;

static int f_forward(void *ctx, const float *in, int n, float *out, fc_status *st) {
    fake *f = ctx;
    f->forwards++;
    if (f->forwards == f->fail_forward_at) return fc_fail(st, FC_ERR_INTERNAL, "forward broke");
    if (f->forwards == f->stop_at_forward) f->stop = 1;
    for (int i = 0; i < n; i++) { /* features: first input value, mean of the image */
        const float *x = in + (size_t)i * 4 * 4 * 3;
        double s = 0;
        for (int k = 0; k < 48; k++) s += x[k];
        out[2 * i] = x[0];
        out[2 * i + 1] = (float)(s / 48);
    }
    return FC_OK;
}

static int f_write(void *ctx, const fc_pl_batch *b, fc_status *st) {
    fake *f = ctx;
    if (++f->n_batches == f->fail_write_at) return fc_fail(st, FC_ERR_IO, "disk full");
    for (int i = 0; i < b->n_items && f->n_items < 64; i++) {
        const fc_item *it = &b->items[i];
        snprintf(f->paths[f->n_items++], 64, "%s", it->entry->path);
        switch (it->kind) {
        case FC_ITEM_OK:
            f->values[f->n_ok++] = b->out[(size_t)it->row * b->out_elems];
            break;
        case FC_ITEM_FAILED: f->n_failed++; break;
        case FC_ITEM_UNREADABLE: f->n_unreadable++; break;
        case FC_ITEM_SEEN: f->n_seen++; break;
        case FC_ITEM_DUP: f->n_dup++; break;
        }
    }
    return FC_OK;
}

static int f_path_sha(void *ctx, const fc_scan_entry *e, char sha[65]) {
    fake *f = ctx;
    if (!f->fast_path || strcmp(e->path, f->fast_path) != 0) return 0;
    snprintf(sha, 65, "%s", f->fast_sha);
    return 1;
}

static int f_is_stored(void *ctx, const char *sha) {
    fake *f = ctx;
    return (f->stored_sha && strcmp(sha, f->stored_sha) == 0) ||
           (f->fast_sha && strcmp(sha, f->fast_sha) == 0);
}

static int run(fake *f, fc_scan *s, int batch, int shard_i, int shard_n, fc_pl_stats *ps,
               char (*shas)[65], fc_status *st) {
    fc_pl_config c = {.scan = s, .batch = batch, .in_h = 4, .in_w = 4, .out_elems = 2,
                      .resize = FC_RESIZE_NEAREST, .preprocess = FC_PRE_NONE,
                      .val_frac = 0.5, .test_frac = 0, .shard_i = shard_i, .shard_n = shard_n,
                      .stop = &f->stop, .shas = shas};
    fc_pl_ops ops = {f, f_forward, f_write, f_path_sha, f_is_stored, NULL};
    return fc_pl_run(&c, &ops, ps, st);
}

static void setup(void) {
    snprintf(root, sizeof root, "/tmp/fc-pipe.XXXXXX");
    if (!mkdtemp(root)) exit(1);
    char p[512];
    snprintf(p, sizeof p, "%s/a", root);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/b", root);
    mkdir(p, 0755);
    for (int i = 0; i < 7; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "a/%02d.png", i);
        write_png(rel, 10 * i);
    }
    write_png("b/dup.png", 30);     /* same bytes as a/03.png */
    write_text("b/junk.png", "this is not a png");
    char target[600], link[600];
    snprintf(target, sizeof target, "%s/missing.png", root);
    snprintf(link, sizeof link, "%s/b/gone.png", root);
    if (symlink(target, link)) exit(1);
}

static void test_items(void) {
    fc_scan s;
    fc_status st = {0};
    CHECK(fc_scan_dir(root, &s, &st) == FC_OK && s.n_files == 10, "%zu files", s.n_files);
    fake f = {0};
    fc_pl_stats ps;
    char shas[10][65];
    CHECK(run(&f, &s, 3, 0, 1, &ps, shas, &st) == FC_OK, "%s", st.msg);
    CHECK(f.n_ok == 7 && ps.stored == 7, "ok %d / %lld", f.n_ok, (long long)ps.stored);
    CHECK(f.n_failed == 1 && ps.failed == 1, "failed %d", f.n_failed);
    CHECK(f.n_unreadable == 1 && ps.unreadable == 1, "unreadable %d", f.n_unreadable);
    CHECK(ps.duplicates == 1 && f.n_dup == 1 && f.n_items == 10, "duplicate b/dup.png: %lld, items %d",
          (long long)ps.duplicates, f.n_items);
    for (int i = 0; i < 7; i++) CHECK(f.values[i] == 10.0f * i, "row %d = %g", i, f.values[i]);
    CHECK(strcmp(f.paths[0], "a/00.png") == 0 && strcmp(f.paths[7], "b/dup.png") == 0 &&
              strcmp(f.paths[8], "b/gone.png") == 0 && strcmp(f.paths[9], "b/junk.png") == 0,
          "scan order: %s %s %s", f.paths[0], f.paths[7], f.paths[8]);
    CHECK(shas[3][0] && strcmp(shas[3], shas[7]) == 0, "dup has a/03's sha");
    char gone[65] = "";
    CHECK(fc_pl_unreadable_sha("b/gone.png", gone, &st) == FC_OK && strcmp(shas[8], gone) == 0 &&
              shas[9][0] != 0 && strcmp(shas[8], shas[9]) != 0,
          "the unreadable file is keyed by its path");
    CHECK(f.n_batches >= 3, "batches of 3: %d", f.n_batches);

    /* skip: a/01 by hash (re-read), a/02 by the fast path (not read) */
    fake g = {0};
    char stored1[65], stored2[65];
    memcpy(stored1, shas[1], 65);
    memcpy(stored2, shas[2], 65);
    g.stored_sha = stored1;
    g.fast_path = "a/02.png";
    g.fast_sha = stored2;
    CHECK(run(&g, &s, 3, 0, 1, &ps, shas, &st) == FC_OK, "%s", st.msg);
    CHECK(g.n_seen == 1 && ps.fast_path == 1, "seen %d fast %lld", g.n_seen, (long long)ps.fast_path);
    CHECK(ps.stored == 5 && ps.skipped == 2, "stored %lld skipped %lld", (long long)ps.stored,
          (long long)ps.skipped);
    CHECK(strcmp(shas[2], stored2) == 0, "fast path sha reported");
    CHECK(ps.bytes_read > 0, "bytes counted");
    fc_scan_free(&s);
}

static void test_shards(void) {
    fc_scan s;
    fc_status st = {0};
    fc_scan_dir(root, &s, &st);
    int64_t total = 0;
    for (int i = 0; i < 3; i++) {
        fake f = {0};
        fc_pl_stats ps;
        CHECK(run(&f, &s, 2, i, 3, &ps, NULL, &st) == FC_OK, "%s", st.msg);
        total += ps.stored + ps.failed;
        CHECK(ps.other_shard + ps.stored + ps.failed + ps.duplicates + ps.unreadable == 10,
              "shard %d accounts for every file", i);
    }
    CHECK(total == 8, "shards partition the 8 distinct readable files: %lld", (long long)total);
    fc_scan_free(&s);
}

static void test_stop_and_errors(void) {
    fc_scan s;
    fc_status st = {0};
    fc_scan_dir(root, &s, &st);
    fc_pl_stats ps;
    fake f = {0};
    f.stop_at_forward = 2;
    CHECK(run(&f, &s, 2, 0, 1, &ps, NULL, &st) == FC_ERR_INTERRUPTED, "%d %s", st.code, st.msg);
    CHECK(strstr(st.msg, "re-run") != NULL, "%s", st.msg);
    CHECK(f.forwards == 2 && ps.stored == 4, "the batch in flight is written: %d, %lld",
          f.forwards, (long long)ps.stored);

    fake g = {0};
    g.fail_write_at = 2;
    CHECK(run(&g, &s, 2, 0, 1, &ps, NULL, &st) == FC_ERR_IO && strstr(st.msg, "disk full"),
          "write error: %s", st.msg);
    fake h = {0};
    h.fail_forward_at = 3;
    CHECK(run(&h, &s, 1, 0, 1, &ps, NULL, &st) == FC_ERR_INTERNAL && strstr(st.msg, "forward"),
          "forward error: %s", st.msg);
    CHECK(h.n_ok == 2, "two batches written before: %d", h.n_ok);
    fake k = {0};
    k.stop = 1;
    CHECK(run(&k, &s, 2, 0, 1, &ps, NULL, &st) == FC_ERR_INTERRUPTED && k.n_batches == 0,
          "stopped before the start");
    fc_scan_free(&s);
}

int main(void) {
    setup();
    T_RUN(test_items);
    T_RUN(test_shards);
    T_RUN(test_stop_and_errors);
    t_rmtree(root);
    return t_done("test_pipeline");
}
