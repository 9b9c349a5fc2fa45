/* mkstore.c - test helper: fills a feature store with synthetic images through store.h,
 * so sharing tests (merge, diff, export, import) need no backbone.
 *
 *   mkstore OUT [--first I] [--count N] [--shape h,w,c] [--classes K] [--shift S]
 *               [--codec f16] [--layer NAME] [--failed M] [--runs R] [--scale X]
 *
 * Image i has sha256 = sha256("image-<i>"), class "c<(i+S) mod K>", split by i mod 10
 * (0-6 train, 7-8 validation, 9 test), path "<class>/img<i>.png" and ReLU-like features
 * (about 70% zeros) that depend only on i: the same image gets the same features in
 * every store, so stores made from overlapping ranges merge like shards of one extract.
 * --layer changes the fingerprint; --shift relabels (label conflicts); --failed records
 * the last M images of the range as failed; --runs records R train/sweep runs (run k:
 * lr = 2e-5 * (k+1), final val_acc 0.(80+k)); --scale multiplies every feature value by X
 * in float32 (1 + 3e-7: the last-bits noise of another extraction; 1.01: other values). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cmd/opts.h"
#include "../../common/sha256.h"
#include "../../common/store.h"

static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static float feat_scale = 1.0f;

static void features(long i, float *x, size_t n) {
    for (size_t j = 0; j < n; j++) {
        uint64_t r = mix(((uint64_t)i << 32) ^ j);
        x[j] = (r % 10) < 7 ? 0.0f : (float)((r >> 16) % 100000) / 10000.0f;
        if (feat_scale != 1.0f) x[j] *= feat_scale;
    }
}

static int fill(fc_store *s, long first, long count, long failed, int K, int shift, size_t dim,
                fc_status *st) {
    float *x = malloc(dim * sizeof *x);
    int rc = x ? fc_store_begin(s, st) : fc_fail(st, FC_ERR_NOMEM, "out of memory");
    for (long i = first; i < first + count && !rc; i++) {
        char name[64], cls[32], path[96];
        fc_image_rec rec = {0};
        snprintf(name, sizeof name, "image-%ld", i);
        fc_sha256_hex(name, strlen(name), rec.sha256);
        snprintf(cls, sizeof cls, "c%ld", (i + shift) % K);
        snprintf(path, sizeof path, "%s/img%ld.png", cls, i);
        rec.path = path, rec.class_name = cls;
        rec.split = i % 10 < 7 ? FC_SPLIT_TRAIN : i % 10 < 9 ? FC_SPLIT_VAL : FC_SPLIT_TEST;
        rec.bytes = 1000 + i;
        int bad = i >= first + count - failed;
        rec.status = bad ? FC_IMG_FAILED : FC_IMG_OK;
        rec.error = bad ? "synthetic failure" : NULL;
        rec.width = rec.height = bad ? 0 : 150;
        features(i, x, dim);
        rc = fc_store_put(s, &rec, bad ? NULL : x, st);
        if (!rc && (i - first) % 64 == 63) rc = fc_store_commit(s, st) || fc_store_begin(s, st);
    }
    if (!rc) rc = fc_store_commit(s, st);
    free(x);
    return rc;
}

static int add_runs(fc_store *s, long nruns, fc_status *st) {
    int rc = 0;
    for (long k = 0; k < nruns && !rc; k++) {
        char cfg[256], hist[256];
        snprintf(cfg, sizeof cfg, "{\"pool\":\"flatten\",\"hidden\":[256],\"dropout\":0.5,"
                 "\"optimizer\":\"rmsprop\",\"lr\":%g,\"epochs\":3}", 2e-5 * (double)(k + 1));
        snprintf(hist, sizeof hist, "{\"loss\":[0.9,0.5,0.4],\"val_acc\":[0.5,0.%ld,0.7]}", 80 + k);
        rc = fc_store_add_run(s, k % 2 ? "sweep" : "train", cfg, hist, "{\"val_loss\":0.41}",
                              1.5 + (double)k, st);
    }
    return rc;
}

int main(int argc, char **argv) {
    static const fc_opt opts[] = {
        {"first", 0, "I", "first image index (default 0)"},
        {"count", 0, "N", "number of images (default 40)"},
        {"shape", 0, "h,w,c", "feature shape (default 4,4,8)"},
        {"classes", 0, "K", "number of classes (default 2)"},
        {"shift", 0, "S", "add S to the class index (relabel)"},
        {"codec", 0, "C", "f32|f16|bf16|u8 (default f16)"},
        {"layer", 0, "NAME", "cut layer recorded in the provenance (default block5_pool)"},
        {"failed", 0, "M", "record the last M images as failed"},
        {"runs", 0, "R", "record R train/sweep runs"},
        {"scale", 0, "X", "multiply every feature value by X (default 1)"},
        {0},
    };
    static const fc_cmd_spec spec = {"mkstore", "OUT [options]", "synthetic feature store",
                                     opts, 1, 1};
    fc_args a;
    int rc = fc_args_parse(&spec, argc, argv, &a);
    if (rc != FC_ARGS_OK) return rc;
    long first, count, K, shift, failed, runs;
    int h = 4, w = 4, c = 8;
    if (fc_arg_long(&a, "first", 0, 0, 1L << 30, &first) != FC_ARGS_OK ||
        fc_arg_long(&a, "count", 40, 0, 1L << 24, &count) != FC_ARGS_OK ||
        fc_arg_long(&a, "classes", 2, 1, 1000, &K) != FC_ARGS_OK ||
        fc_arg_long(&a, "shift", 0, 0, 1000, &shift) != FC_ARGS_OK ||
        fc_arg_long(&a, "failed", 0, 0, 1L << 24, &failed) != FC_ARGS_OK ||
        fc_arg_long(&a, "runs", 0, 0, 19, &runs) != FC_ARGS_OK)
        goto usage;
    double scale;
    if (fc_arg_double(&a, "scale", 1, 1e-12, 2, &scale) != FC_ARGS_OK) goto usage;
    feat_scale = (float)scale;
    const char *shape = fc_arg_str(&a, "shape", NULL);
    if (shape && sscanf(shape, "%d,%d,%d", &h, &w, &c) != 3) goto usage;
    fc_provenance p = {0};
    fc_status st = {0};
    const char *codec = fc_arg_str(&a, "codec", "f16");
    if (fc_codec_parse(codec, &p.codec.kind) != 0) goto usage;
    p.codec.layout = FC_LAYOUT_AUTO, p.codec.level = 3;
    fc_sha256_hex("synthetic-weights", 17, p.model_sha256);
    snprintf(p.arch, sizeof p.arch, "synthetic");
    snprintf(p.model_path, sizeof p.model_path, "synthetic.h5");
    snprintf(p.layer, sizeof p.layer, "%s", fc_arg_str(&a, "layer", "block5_pool"));
    p.in_h = p.in_w = 150;
    snprintf(p.resize, sizeof p.resize, "nearest");
    snprintf(p.preprocess, sizeof p.preprocess, "rescale");
    snprintf(p.numerics, sizeof p.numerics, "%s", FC_NUMERICS_VERSION);
    p.feat_h = h, p.feat_w = w, p.feat_c = c;
    snprintf(p.command, sizeof p.command, "mkstore %s", a.pos[0]);
    fc_provenance_fingerprint(&p);
    fc_store *s = NULL;
    if (fc_store_open(a.pos[0], FC_STORE_CREATE | FC_STORE_EXCLUSIVE, &s, &st) ||
        fc_store_set_provenance(s, &p, &st) ||
        fill(s, first, count, failed, (int)K, (int)shift, (size_t)h * w * c, &st) ||
        add_runs(s, runs, &st)) {
        fprintf(stderr, "mkstore: %s\n", st.msg);
        rc = 1;
    } else {
        rc = 0;
    }
    fc_store_close(s);
    fc_args_free(&a);
    return rc;
usage:
    fprintf(stderr, "mkstore: bad option value (see --help)\n");
    fc_args_free(&a);
    return 2;
}
