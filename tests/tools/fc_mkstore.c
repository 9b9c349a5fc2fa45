/* fc_mkstore.c - test helper: writes a feature store with synthetic ReLU-like features
 * through the real store API (for CLI tests of info/verify/runs/train before extract).
 *   fc_mkstore OUT.db [n_images] [codec] [n_failed] [n_runs] [HxWxC]
 * Image i: class "class<i % 3>" (or "cats"/"dogs"/"zebras"), split i % 3, features a
 * deterministic function of i, ~70% zeros. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/sha256.h"
#include "../../common/store.h"

static const char *classes[] = {"cats", "dogs", "zebras"};

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: fc_mkstore OUT.db [n] [codec] [failed] [runs] [HxWxC]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 12, nfail = argc > 4 ? atoi(argv[4]) : 1;
    int nruns = argc > 5 ? atoi(argv[5]) : 0, h = 2, w = 3, c = 8;
    fc_provenance p = {0};
    p.codec = (fc_codec_params){FC_CODEC_F16, FC_LAYOUT_AUTO, 3};
    if (argc > 3 && fc_codec_parse(argv[3], &p.codec.kind)) return 2;
    if (argc > 6 && sscanf(argv[6], "%dx%dx%d", &h, &w, &c) != 3) return 2;
    fc_sha256_hex("synthetic weights", 17, p.model_sha256);
    snprintf(p.arch, sizeof p.arch, "vgg16");
    snprintf(p.model_path, sizeof p.model_path, "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5");
    snprintf(p.layer, sizeof p.layer, "block5_pool");
    p.in_h = p.in_w = 150;
    snprintf(p.resize, sizeof p.resize, "nearest");
    snprintf(p.preprocess, sizeof p.preprocess, "caffe");
    snprintf(p.numerics, sizeof p.numerics, FC_NUMERICS_VERSION);
    snprintf(p.command, sizeof p.command, "featcache extract images -m vgg16.h5 -o %s", argv[1]);
    p.feat_h = h, p.feat_w = w, p.feat_c = c;
    fc_store *s = NULL;
    fc_status st = {0};
    size_t dim = (size_t)h * w * c;
    float *x = malloc(dim * sizeof *x);
    int rc = fc_store_open(argv[1], FC_STORE_CREATE | FC_STORE_EXCLUSIVE, &s, &st);
    if (!rc) rc = fc_store_set_provenance(s, &p, &st);
    if (!rc) rc = fc_store_begin(s, &st);
    for (int i = 0; i < n + nfail && !rc; i++) {
        char key[32], path[64];
        snprintf(key, sizeof key, "img-%d", i);
        fc_image_rec r = {.class_name = classes[i % 3], .split = (i / 3) % 3, .bytes = 1000 + i,
                          .width = 64, .height = 48};
        fc_sha256_hex(key, strlen(key), r.sha256);
        snprintf(path, sizeof path, "%s/%s%04d.png", r.class_name, i < n ? "img" : "broken", i);
        r.path = path;
        for (size_t k = 0; k < dim; k++) {
            unsigned u = (unsigned)(i * 2654435761u + k * 40503u);
            x[k] = (u % 10) < 7 ? 0.0f : (float)((u >> 8) % 1000) / 100.0f + (float)(i % 3);
        }
        if (i >= n) r.status = FC_IMG_FAILED, r.error = "not a PNG or JPEG file";
        rc = fc_store_put(s, &r, i < n ? x : NULL, &st);
    }
    if (!rc) rc = fc_store_commit(s, &st);
    for (int k = 0; k < nruns && !rc; k++) {
        char cfg[256], hist[256], met[128];
        snprintf(cfg, sizeof cfg, "{\"pool\":\"flatten\",\"hidden\":[256],\"dropout\":0.5,\"optimizer\":"
                 "\"rmsprop\",\"lr\":%g,\"epochs\":3}", 2e-5 * (k + 1));
        snprintf(hist, sizeof hist, "{\"loss\":[0.9,0.5,0.4],\"val_acc\":[0.5,0.%d,0.7]}", 80 + k);
        snprintf(met, sizeof met, "{\"val_loss\":0.41}");
        rc = fc_store_add_run(s, k % 2 ? "sweep" : "train", cfg, hist, met, 1.5 + k, &st);
    }
    fc_store_close(s);
    free(x);
    if (rc) fprintf(stderr, "fc_mkstore: %s\n", st.msg);
    return rc ? 1 : 0;
}
