/* mkstore_fmnist.c - writes a feature store whose "features" are Fashion-MNIST pixels, so
 * train/sweep/evaluate tests need no backbone.
 *
 *   mkstore_fmnist OUT.db [--classes 0,1] [--train N] [--val N] [--test N] [--pool K]
 *                  [--layer NAME] [--one-class]
 * N images per class and split (train/validation from the train-* files, test from t10k),
 * maps of (28/K)x(28/K)x1 = K x K average-pooled pixels / 255 plus a second channel
 * 1 - x (so maps have c = 2). --layer changes the provenance (and fingerprint);
 * --one-class puts only the first class into the train split. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/idx.h"
#include "../../common/sha256.h"
#include "../../common/store.h"

#define DIR "/usr/share/datasets/fashion-mnist/"
static const char *const names[10] = {"T-shirt_top", "Trouser", "Pullover", "Dress", "Coat",
                                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"};

static int add_split(fc_store *s, const fc_idx *img, const fc_idx *lab, const int *cls, int ncls, int per,
                     int skip, int split, int pool, int one_class, fc_status *st) {
    int side = 28 / pool;
    float *f = malloc(sizeof(float) * side * side * 2);
    int rc = fc_store_begin(s, st);
    for (int k = 0; k < ncls && !rc; k++) {
        if (one_class && k > 0 && split == FC_SPLIT_TRAIN) break;
        int seen = 0, taken = 0;
        for (size_t i = 0; i < img->n && taken < per && !rc; i++) {
            if (lab->data[i] != cls[k] || seen++ < skip) continue;
            const uint8_t *px = img->data + i * 784;
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++) {
                    float acc = 0;
                    for (int dy = 0; dy < pool; dy++)
                        for (int dx = 0; dx < pool; dx++) acc += px[(y * pool + dy) * 28 + x * pool + dx];
                    float v = acc / (255.0f * pool * pool);
                    f[(y * side + x) * 2] = v, f[(y * side + x) * 2 + 1] = v > 0.5f ? 0.0f : 0.5f - v;
                }
            uint8_t key[800];
            memcpy(key, px, 784);
            memcpy(key + 784, &i, sizeof i);
            key[792] = (uint8_t)split;
            fc_image_rec r = {0};
            char path[128];
            fc_sha256_hex(key, 793, r.sha256);
            snprintf(path, sizeof path, "%s/%s/%05zu.png", fc_split_name(split), names[cls[k]], i);
            r.path = path, r.class_name = names[cls[k]], r.split = split, r.status = FC_IMG_OK;
            r.bytes = 784, r.width = 28, r.height = 28;
            rc = fc_store_put(s, &r, f, st);
            taken++;
        }
    }
    if (!rc) rc = fc_store_commit(s, st);
    free(f);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: mkstore_fmnist OUT.db [--classes 0,1] [--train N] [--val N] [--test N] [--pool K] "
                        "[--layer NAME] [--one-class]\n");
        return 2;
    }
    int cls[10] = {0, 1}, ncls = 2, ntr = 60, nva = 30, nte = 30, pool = 2, one = 0;
    const char *layer = "pixels";
    for (int i = 2; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(argv[i], "--classes")) {
            ncls = 0;
            for (const char *p = v; *p && ncls < 10; p += *p == ',') cls[ncls++] = (int)strtol(p, (char **)&p, 10);
            i++;
        } else if (!strcmp(argv[i], "--train")) ntr = atoi(v), i++;
        else if (!strcmp(argv[i], "--val")) nva = atoi(v), i++;
        else if (!strcmp(argv[i], "--test")) nte = atoi(v), i++;
        else if (!strcmp(argv[i], "--pool")) pool = atoi(v), i++;
        else if (!strcmp(argv[i], "--layer")) layer = v, i++;
        else if (!strcmp(argv[i], "--one-class")) one = 1;
        else {
            fprintf(stderr, "mkstore_fmnist: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (pool < 1 || 28 % pool) return 2;
    fc_status st = {0};
    fc_idx tri = {0}, trl = {0}, tei = {0}, tel = {0};
    fc_store *s = NULL;
    int rc = fc_idx_read(DIR "train-images-idx3-ubyte.gz", FC_IDX_MAGIC_IMAGES, &tri, &st) ||
             fc_idx_read(DIR "train-labels-idx1-ubyte.gz", FC_IDX_MAGIC_LABELS, &trl, &st) ||
             fc_idx_read(DIR "t10k-images-idx3-ubyte.gz", FC_IDX_MAGIC_IMAGES, &tei, &st) ||
             fc_idx_read(DIR "t10k-labels-idx1-ubyte.gz", FC_IDX_MAGIC_LABELS, &tel, &st);
    fc_provenance p = {0};
    fc_sha256_hex("featcache test: fashion-mnist pixels", 36, p.model_sha256);
    snprintf(p.arch, sizeof p.arch, "synthetic");
    snprintf(p.model_path, sizeof p.model_path, "%s", DIR);
    snprintf(p.layer, sizeof p.layer, "%s", layer);
    p.in_h = p.in_w = 28;
    snprintf(p.resize, sizeof p.resize, "nearest");
    snprintf(p.preprocess, sizeof p.preprocess, "rescale");
    snprintf(p.numerics, sizeof p.numerics, "%s", FC_NUMERICS_VERSION);
    p.feat_h = p.feat_w = 28 / pool, p.feat_c = 2;
    p.codec.kind = FC_CODEC_F16, p.codec.layout = FC_LAYOUT_PLAIN, p.codec.level = 3;
    fc_provenance_fingerprint(&p);
    if (!rc) rc = fc_store_open(argv[1], FC_STORE_CREATE | FC_STORE_EXCLUSIVE, &s, &st);
    if (!rc) rc = fc_store_set_provenance(s, &p, &st);
    if (!rc) rc = add_split(s, &tri, &trl, cls, ncls, ntr, 0, FC_SPLIT_TRAIN, pool, one, &st);
    if (!rc) rc = add_split(s, &tri, &trl, cls, ncls, nva, ntr, FC_SPLIT_VAL, pool, 0, &st);
    if (!rc) rc = add_split(s, &tei, &tel, cls, ncls, nte, 0, FC_SPLIT_TEST, pool, 0, &st);
    fc_store_close(s);
    fc_idx_free(&tri), fc_idx_free(&trl), fc_idx_free(&tei), fc_idx_free(&tel);
    if (rc) fprintf(stderr, "mkstore_fmnist: %s\n", st.msg);
    return rc ? 1 : 0;
}
