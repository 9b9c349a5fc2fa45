/* fuzz_h5import.c - untrusted bytes as an exported feature file: written to a temp file
 * (HDF5 reads files, not buffers), then opened, validated, and every feature row read,
 * as `featcache import` and `train FILE.h5` do. Any outcome but a crash or leak is fine.
 * Corpus (tests/fuzz/corpus/h5import/): tiny valid exports (gzip, zstd, float16) and
 * invalid ones (truncated, wrong shapes, bad labels, text). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_tmpfile.h"
#include "../../common/h5feat.h"

static int visit(void *ctx, const fc_image_rec *rec, const float *x, const uint8_t *b,
                 size_t len) {
    size_t *n = ctx;
    (*n)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[] = "/tmp/fc-fuzz-h5.XXXXXX";
    if (fuzz_write_temp(path, data, size)) return 0;
    fc_status st = {0};
    fc_h5feat *f = NULL;
    if (fc_h5feat_open(path, &f, &st) == 0) {
        size_t n = 0;
        fc_h5feat_foreach(f, FC_SPLIT_ANY, 1, visit, &n, &st);
        fc_h5feat_close(f);
    }
    unlink(path);
    fuzz_h5_all_closed();
    return 0;
}
