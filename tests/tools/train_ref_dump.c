/* train_ref_dump.c - dumps inputs and featcache results for tests/py/ref_train.py.
 *
 *   train_ref_dump DIR
 * For each case (optimizer, head shape, L2, class weights) it trains 2 steps on one
 * full-batch epoch each (batch = n, dropout 0 so numpy needs no RNG) and writes the
 * initial weights, the weights after each run, the reported losses, HEAD.h5 and the
 * head's predictions. meta.json describes it all. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../train/head_h5.h"
#include "../../train/rng.h"
#include "../../train/trainer.h"

static int wr(const char *dir, const char *name, const void *p, size_t bytes) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = fwrite(p, 1, bytes, f);
    return (fclose(f) == 0 && n == bytes) ? 0 : -1;
}

static int dump_head(const char *dir, const char *tag, const fc_head *hd) {
    char name[128];
    for (int l = 0; l < hd->n_layers; l++) {
        snprintf(name, sizeof name, "%s_w%d.f32", tag, l);
        if (wr(dir, name, hd->w[l], (size_t)hd->dims[l] * hd->dims[l + 1] * 4)) return -1;
        snprintf(name, sizeof name, "%s_b%d.f32", tag, l);
        if (wr(dir, name, hd->b[l], (size_t)hd->dims[l + 1] * 4)) return -1;
    }
    return 0;
}

typedef struct {
    const char *name, *opt;
    int k, nh, h1, h2, cw, pool;
    float lr, l2, momentum;
    int nesterov;
    const char *act;
} tcase;

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: train_ref_dump DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    const tcase cases[] = {
        {"rmsprop_bin", "rmsprop", 2, 1, 16, 0, 0, 0, 1e-3f, 0, 0, 0, "relu"},
        {"adam_soft", "adam", 3, 2, 12, 7, 0, 0, 1e-3f, 0, 0, 0, "tanh"},
        {"sgd_lin", "sgd", 2, 0, 0, 0, 0, 0, 0.05f, 0, 0, 0, "relu"},
        {"sgdm_nest_l2_cw", "sgd", 4, 1, 10, 0, 1, 0, 0.02f, 1e-2f, 0.9f, 1, "sigmoid"},
        {"rmsprop_gap_l2", "rmsprop", 2, 1, 9, 0, 1, 1, 2e-3f, 5e-3f, 0, 0, "relu"},
        {"adam_gmp", "adam", 3, 1, 8, 0, 0, 2, 5e-3f, 0, 0, 0, "relu"},
    };
    const int n = 24, h = 2, w = 2, c = 6, D = h * w * c;
    float *x = malloc((size_t)n * D * sizeof(float));
    int32_t *y = malloc(sizeof(int32_t) * n);
    json_t *meta = json_pack("{s:i, s:i, s:i, s:i, s:[]}", "n", n, "h", h, "w", w, "c", c, "cases");
    uint64_t key = fc_rng_key(1234, 9, 0, 0);
    for (int i = 0; i < n * D; i++) {
        float u = fc_rng_uniform(key, (uint64_t)i);
        x[i] = u < 0.4f ? 0.0f : (u - 0.4f) * 3.0f;
    }
    if (wr(dir, "x.f32", x, (size_t)n * D * 4)) {
        fprintf(stderr, "train_ref_dump: cannot write to %s\n", dir);
        return 1;
    }
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const tcase *t = &cases[ci];
        for (int i = 0; i < n; i++) y[i] = (i * 7 + (int)ci) % t->k;
        char name[128];
        snprintf(name, sizeof name, "%s_y.i32", t->name);
        wr(dir, name, y, sizeof(int32_t) * n);
        fc_dataset ds = {.n = (size_t)n, .h = h, .w = w, .c = c, .dim = (size_t)D, .x = x, .y = y, .n_classes = t->k};
        fc_train_config cfg;
        fc_train_config_defaults(&cfg);
        cfg.arch.pool = (fc_pool)t->pool;
        cfg.arch.n_hidden = t->nh, cfg.arch.hidden[0] = t->h1, cfg.arch.hidden[1] = t->h2;
        fc_hact_parse(t->act, &cfg.arch.act);
        cfg.arch.dropout = 0;
        fc_optim_kind ok;
        fc_optim_parse(t->opt, &ok);
        fc_optim_defaults(ok, &cfg.opt);
        cfg.opt.lr = t->lr, cfg.opt.momentum = t->momentum, cfg.opt.nesterov = t->nesterov;
        cfg.epochs = 2, cfg.batch = n, cfg.seed = 5 + ci, cfg.l2 = t->l2, cfg.class_weight = t->cw;
        fc_head *init, *hd;
        fc_history hist;
        fc_status st = {0};
        if (fc_head_create(&cfg.arch, h, w, c, t->k, &init, &st)) goto fail;
        fc_head_init_glorot(init, cfg.seed);
        snprintf(name, sizeof name, "%s_init", t->name);
        dump_head(dir, name, init);
        if (fc_train_group(&ds, &ds, &cfg, 1, 2, NULL, &hd, &hist, &st)) goto fail;
        snprintf(name, sizeof name, "%s_final", t->name);
        dump_head(dir, name, hd);
        float *probs = malloc(sizeof(float) * (size_t)n * hd->dims[hd->n_layers]);
        fc_head_predict(hd, x, (size_t)n, probs, &st);
        snprintf(name, sizeof name, "%s_probs.f32", t->name);
        wr(dir, name, probs, sizeof(float) * (size_t)n * hd->dims[hd->n_layers]);
        free(probs);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.h5", dir, t->name);
        char *names[4] = {"a", "b", "c", "d"};
        fc_head_set_classes(hd, names, t->k, &st);
        if (fc_head_save(hd, path, &cfg.opt, cfg.l2, NULL, &st)) goto fail;
        json_t *dims = json_array();
        for (int l = 0; l <= hd->n_layers; l++) json_array_append_new(dims, json_integer(hd->dims[l]));
        json_array_append_new(json_object_get(meta, "cases"),
            json_pack("{s:s, s:s, s:i, s:o, s:s, s:s, s:f, s:f, s:f, s:b, s:b, s:i, s:[f,f], s:[f,f], s:[f,f]}",
                      "name", t->name, "optimizer", t->opt, "k", t->k, "dims", dims, "act", t->act, "pool",
                      fc_pool_name(cfg.arch.pool), "lr", (double)t->lr, "l2", (double)t->l2, "momentum",
                      (double)t->momentum, "nesterov", t->nesterov, "class_weight", t->cw, "steps", 2, "loss",
                      (double)hist.ep[0].loss, (double)hist.ep[1].loss, "acc", (double)hist.ep[0].acc,
                      (double)hist.ep[1].acc, "val_loss", (double)hist.ep[0].val_loss, (double)hist.ep[1].val_loss));
        fc_head_free(init), fc_head_free(hd), fc_history_free(&hist);
        continue;
    fail:
        fprintf(stderr, "train_ref_dump: %s: %s\n", t->name, st.msg);
        return 1;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    if (json_dump_file(meta, path, JSON_INDENT(1) | JSON_REAL_PRECISION(9))) return 1;
    json_decref(meta);
    free(x), free(y);
    return 0;
}
