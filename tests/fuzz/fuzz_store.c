/* fuzz_store.c - a feature store from arbitrary bytes: written to a temp file, opened
 * read-only, then provenance, classes, every image with its decoded features, paths,
 * stats, runs and the full verify are read. Anything may fail; nothing may crash. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/dataset.h"
#include "../../common/store.h"

static int visit(void *ctx, const fc_image_rec *r, const float *x, const uint8_t *blob, size_t len) {
    size_t *n = ctx;
    (*n)++;
    return *n > 100000;
}

static int visit_path(void *ctx, const char *path, const char *sha) {
    return 0;
}

static void report(void *ctx, const char *msg) {
}

static void read_store(const char *path) {
    fc_store *s = NULL;
    fc_status st = {0};
    if (fc_store_open(path, FC_STORE_READ, &s, &st) != FC_OK) return;
    fc_provenance p;
    fc_store_get_provenance(s, &p, &st);
    char **names = NULL;
    int nc = 0;
    if (fc_store_classes(s, &names, &nc, &st) == FC_OK) fc_strlist_free(names, nc);
    size_t n = 0;
    fc_store_foreach(s, FC_SPLIT_ANY, 1, visit, &n, &st);
    fc_store_foreach_path(s, visit_path, NULL, &st);
    fc_store_stats ss;
    fc_store_stats_get(s, &ss, &st);
    fc_store_verify(s, report, NULL, 5, &st);
    fc_store_close(s);
    fc_dataset ds;
    if (fc_dataset_load(path, FC_SPLIT_TRAIN, &ds, &st) == FC_OK) fc_dataset_free(&ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char dir[] = "/tmp/fc-fuzz-store-XXXXXX", path[64], side[80];
    if (!mkdtemp(dir)) return 0;
    snprintf(path, sizeof path, "%s/s.db", dir);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, size, f);
        fclose(f);
        read_store(path);
    }
    const char *sfx[] = {"", "-wal", "-shm", "-journal", ".lock"};
    for (int i = 0; i < 5; i++) {
        snprintf(side, sizeof side, "%s%s", path, sfx[i]);
        unlink(side);
    }
    rmdir(dir);
    return 0;
}
