/* fuzz_tfjs.c - the TF.js loader on an arbitrary model.json, next to fixed weight shards
 * (group1-shard1of1.bin, group1-shard1of2.bin, group1-shard2of2.bin: 4 KiB each) in a
 * private temporary folder. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/graph.h"
#include "../../common/model.h"

static char dir[256];

static int write_file(const char *name, const void *p, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static void cleanup(void) {
    const char *names[] = {"model.json", "group1-shard1of1.bin", "group1-shard1of2.bin", "group1-shard2of2.bin"};
    char path[512];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static int setup(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/fc-fuzz-tfjs.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir)) return -1;
    atexit(cleanup);
    unsigned char shard[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof shard; i++) x = x * 1103515245u + 12345u, shard[i] = (unsigned char)(x >> 24);
    return write_file("group1-shard1of1.bin", shard, sizeof shard) ||
           write_file("group1-shard1of2.bin", shard, sizeof shard) ||
           write_file("group1-shard2of2.bin", shard, sizeof shard);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int ready;
    if (!ready) {
        if (setup()) return 0;
        ready = 1;
    }
    if (write_file("model.json", data, size)) return 0;
    fc_status st = {0};
    fc_graph *g = NULL;
    if (fc_model_load_tfjs(dir, &g, &st) == 0) fc_graph_finalize(g, NULL, 0, 0, &st);
    fc_graph_free(g);
    return 0;
}
