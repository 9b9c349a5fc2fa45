/* test_train_h5.c - HEAD.h5 round trip, bad head files, plots, metrics. */
#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../train/head_h5.h"
#include "../../train/metrics.h"
#include "../../train/plot.h"
#include "t.h"

static char dir[64];

static fc_head *make_head(fc_pool pool, int nh, int k) {
    fc_head_arch a = {pool, nh, {9, 5}, FC_ACT_TANH, 0.25f};
    fc_head *hd;
    fc_status st;
    if (fc_head_create(&a, 2, 3, 4, k, &hd, &st)) return NULL;
    fc_head_init_glorot(hd, 11);
    for (int l = 0; l < hd->n_layers; l++)
        for (int j = 0; j < hd->dims[l + 1]; j++) hd->b[l][j] = 0.01f * (float)(j + l);
    char *names[4] = {"cat", "dog", "ému", "fox"};
    fc_head_set_classes(hd, names, k, &st);
    snprintf(hd->fingerprint, sizeof hd->fingerprint, "%064d", 7);
    hd->backbone_json = strdup("{\"layer\":\"block5_pool\",\"in_h\":150}");
    hd->l2 = 0.001f;
    return hd;
}

static void test_roundtrip(void) {
    for (int v = 0; v < 3; v++) {
        fc_head *hd = make_head(v == 0 ? FC_POOL_FLATTEN : v == 1 ? FC_POOL_GAP : FC_POOL_GMP, v == 2 ? 0 : v + 1,
                                v == 0 ? 2 : 4);
        char path[128];
        snprintf(path, sizeof path, "%s/head%d.h5", dir, v);
        fc_status st = {0};
        fc_optim o;
        fc_optim_defaults(v == 1 ? FC_OPTIM_ADAM : FC_OPTIM_RMSPROP, &o);
        CHECK(fc_head_save(hd, path, &o, 0, "{\"x\":1}", &st) == 0, "save: %s", st.msg);
        fc_head *back = NULL;
        CHECK(fc_head_load(path, &back, &st) == 0, "load: %s", st.msg);
        if (!back) { fc_head_free(hd); continue; }
        CHECK(back->arch.pool == hd->arch.pool && back->n_layers == hd->n_layers && back->n_classes == hd->n_classes,
              "arch v=%d", v);
        CHECK(back->in_h == 2 && back->in_w == 3 && back->in_c == 4, "input shape");
        CHECK(back->arch.act == FC_ACT_TANH || hd->n_layers == 1, "activation");
        CHECK(hd->n_layers == 1 || fabsf(back->arch.dropout - 0.25f) < 1e-7, "dropout %g", back->arch.dropout);
        CHECK(fabsf(back->l2 - 0.001f) < 1e-9, "l2 %g", back->l2);
        for (int l = 0; l < hd->n_layers; l++) {
            CHECK(memcmp(back->w[l], hd->w[l], (size_t)hd->dims[l] * hd->dims[l + 1] * 4) == 0, "kernel %d", l);
            CHECK(memcmp(back->b[l], hd->b[l], (size_t)hd->dims[l + 1] * 4) == 0, "bias %d", l);
        }
        CHECK(!strcmp(back->fingerprint, hd->fingerprint), "fingerprint");
        CHECK(!strcmp(back->class_names[hd->n_classes - 1], hd->class_names[hd->n_classes - 1]), "class names");
        CHECK(back->backbone_json && strstr(back->backbone_json, "block5_pool"), "backbone provenance");
        float x[2 * 24], p1[8], p2[8];
        for (int i = 0; i < 48; i++) x[i] = (float)((i * 37) % 11) * 0.1f;
        fc_head_predict(hd, x, 2, p1, &st);
        fc_head_predict(back, x, 2, p2, &st);
        CHECK(memcmp(p1, p2, sizeof(float) * 2 * (size_t)hd->dims[hd->n_layers]) == 0, "same predictions");
        fc_head_free(back);
        fc_head_free(hd);
    }
}

/* Vector features (fc_head.vec_in): HEAD.h5 starts with its Dense on [null, c] (no Flatten)
 * and reads back as the same head, with hidden layers and as a single linear Dense. */
static void test_vector_input(void) {
    for (int v = 0; v < 2; v++) {
        fc_head_arch a = {FC_POOL_FLATTEN, v ? 0 : 1, {6}, FC_ACT_RELU, 0.5f};
        fc_head *hd = NULL;
        fc_status st = {0};
        CHECK(fc_head_create(&a, 1, 1, 5, v ? 4 : 2, &hd, &st) == 0, "%s", st.msg);
        if (!hd) return;
        fc_head_init_glorot(hd, 5);
        hd->vec_in = 1;
        snprintf(hd->fingerprint, sizeof hd->fingerprint, "%064d", 3);
        char path[128];
        snprintf(path, sizeof path, "%s/vec%d.h5", dir, v);
        CHECK(fc_head_save(hd, path, NULL, 0, NULL, &st) == 0, "save: %s", st.msg);
        fc_head *back = NULL;
        CHECK(fc_head_load(path, &back, &st) == 0, "load v=%d: %s", v, st.msg);
        if (back) {
            CHECK(back->vec_in && back->in_h == 1 && back->in_w == 1 && back->in_c == 5 &&
                  back->arch.pool == FC_POOL_FLATTEN && back->n_layers == hd->n_layers && back->dims[0] == 5,
                  "vector head v=%d: vec_in %d, %dx%dx%d, %d layers", v, back->vec_in, back->in_h, back->in_w,
                  back->in_c, back->n_layers);
            for (int l = 0; l < hd->n_layers && back->n_layers == hd->n_layers; l++)
                CHECK(memcmp(back->w[l], hd->w[l], (size_t)hd->dims[l] * hd->dims[l + 1] * 4) == 0, "kernel %d", l);
            fc_head_free(back);
        }
        fc_head_free(hd);
    }
}

/* 1200 classes of 60-byte names (class_names ~80 KB, past the 64 KiB an attribute may take
 * in HDF5's default format: the save had failed with "HDF5 error" after training); the names
 * read back, and a non-ASCII one keeps its bytes. */
static void test_many_classes(void) {
    const int k = 1200;
    fc_head_arch a = {FC_POOL_FLATTEN, 0, {0}, FC_ACT_RELU, 0};
    fc_head *hd = NULL;
    fc_status st = {0};
    CHECK(fc_head_create(&a, 1, 1, 3, k, &hd, &st) == 0, "%s", st.msg);
    if (!hd) return;
    fc_head_init_glorot(hd, 3);
    char **names = malloc(sizeof(char *) * k);
    for (int i = 0; i < k; i++) {
        names[i] = malloc(64);
        snprintf(names[i], 64, "%s_%04d_%s", i == 7 ? "\xc3\xa9t\xc3\xa9" : "class", i,
                 "padding-padding-padding-padding-padding-padding-pad");
    }
    CHECK(fc_head_set_classes(hd, names, k, &st) == 0, "%s", st.msg);
    snprintf(hd->fingerprint, sizeof hd->fingerprint, "%064d", 9);
    char path[128];
    snprintf(path, sizeof path, "%s/many.h5", dir);
    CHECK(fc_head_save(hd, path, NULL, 0, NULL, &st) == 0, "save: %s", st.msg);
    fc_head *back = NULL;
    CHECK(fc_head_load(path, &back, &st) == 0, "load: %s", st.msg);
    if (back) {
        CHECK(back->n_classes == k, "%d classes", back->n_classes);
        int same = 1;
        for (int i = 0; i < k && back->n_classes == k; i++) same &= !strcmp(back->class_names[i], names[i]);
        CHECK(same, "class names read back");
        fc_head_free(back);
    }
    for (int i = 0; i < k; i++) free(names[i]);
    free(names);
    fc_head_free(hd);
}

static void test_bad_files(void) {
    char path[128];
    fc_head *hd = NULL;
    fc_status st = {0};
    snprintf(path, sizeof path, "%s/missing.h5", dir);
    CHECK(fc_head_load(path, &hd, &st) == FC_ERR_IO && strstr(st.msg, path), "%s", st.msg);
    snprintf(path, sizeof path, "%s/text.h5", dir);
    FILE *f = fopen(path, "w");
    fputs("this is not hdf5", f);
    fclose(f);
    CHECK(fc_head_load(path, &hd, &st) == FC_ERR_FORMAT && strstr(st.msg, "not an HDF5"), "%s", st.msg);
    /* a truncated head */
    char good[128];
    snprintf(good, sizeof good, "%s/head0.h5", dir);
    FILE *in = fopen(good, "rb");
    CHECK(in != NULL, "head0 exists");
    if (in) {
        char buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, in);
        fclose(in);
        snprintf(path, sizeof path, "%s/trunc.h5", dir);
        f = fopen(path, "wb");
        fwrite(buf, 1, n / 2, f);
        fclose(f);
        CHECK(fc_head_load(path, &hd, &st) != 0 && strstr(st.msg, path), "truncated: %s", st.msg);
    }
    CHECK(hd == NULL, "no head on failure");
}

static void test_plots(void) {
    fc_history h = {0};
    fc_epoch_stat ep[5];
    for (int e = 0; e < 5; e++)
        ep[e] = (fc_epoch_stat){0.7f - 0.1f * e, 0.5f + 0.1f * e, 0.72f - 0.05f * e, 0.5f + 0.08f * e, 0.1};
    h.ep = ep, h.n = 5;
    char path[128];
    snprintf(path, sizeof path, "%s/curves.png", dir);
    fc_status st = {0};
    CHECK(fc_plot_history(&h, "flatten rmsprop lr=2e-05", 0, path, &st) == 0, "%s", st.msg);
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    CHECK(cairo_surface_status(s) == CAIRO_STATUS_SUCCESS && cairo_image_surface_get_width(s) == 1100, "png readable");
    /* something was drawn in both colors: count blue-ish and red-ish pixels */
    long blue = 0, red = 0;
    unsigned char *d = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; d && y < cairo_image_surface_get_height(s); y++)
        for (int x = 0; x < cairo_image_surface_get_width(s); x++) {
            unsigned char *p = d + y * stride + x * 4; /* BGRA */
            blue += p[0] > 200 && p[1] < 60 && p[2] < 60;
            red += p[2] > 200 && p[0] < 60 && p[1] < 60;
        }
    CHECK(blue > 300 && red > 300, "curves drawn: %ld blue, %ld red pixels", blue, red);
    cairo_surface_destroy(s);
    { /* a diverged run: from epoch 2 the losses stay at their top, along the frame's upper
       * edge where the loss legend usually goes; the legend moves, and the curves there stay
       * visible (loss panel: frame x 620-1060, y 70-390; the old legend's text at x 910-1015) */
        fc_epoch_stat dv[8];
        for (int e = 0; e < 8; e++) dv[e] = (fc_epoch_stat){e ? 1.0f : 0.1f, 0.5f, 1.0f, 0.5f, 0.1};
        fc_history hd = {.ep = dv, .n = 8};
        snprintf(path, sizeof path, "%s/diverge.png", dir);
        CHECK(fc_plot_history(&hd, "diverging", 0, path, &st) == 0, "%s", st.msg);
        cairo_surface_t *q = cairo_image_surface_create_from_png(path);
        unsigned char *qd = cairo_image_surface_get_data(q);
        int qs = cairo_image_surface_get_stride(q);
        long seen = 0;
        for (int y = 72; qd && y < 110; y++)
            for (int x = 910; x < 1015; x++) {
                unsigned char *p = qd + y * qs + x * 4;
                seen += (p[0] > 200 && p[1] < 60 && p[2] < 60) || (p[2] > 200 && p[0] < 60 && p[1] < 60);
            }
        CHECK(seen > 100, "curves at the loss panel's upper right not under the legend: %ld coloured pixels", seen);
        cairo_surface_destroy(q);
    }
    for (int kept = 0; kept <= 5; kept += kept ? 2 : 3) { /* --patience's kept epoch: a dashed grey line at
             * epoch 3 of 5 (accuracy panel, x padded 5% each side as matplotlib: 80 + 440 * 2.2 / 4.4
             * = 300), and at the last epoch inside the frame, not on its right edge (x = 500, review
             * 12 B F12) */
        const int x0 = kept == 5 ? 498 : 298;
        snprintf(path, sizeof path, "%s/kept%d.png", dir, kept);
        CHECK(fc_plot_history(&h, "kept", kept, path, &st) == 0, "%s", st.msg);
        cairo_surface_t *q = cairo_image_surface_create_from_png(path);
        unsigned char *qd = cairo_image_surface_get_data(q);
        int qs = cairo_image_surface_get_stride(q);
        long grey = 0;
        for (int y = 72; qd && y < 388; y++)
            for (int x = x0; x <= x0 + 4; x++) {
                unsigned char *p = qd + y * qs + x * 4;
                grey += p[0] == p[1] && p[1] == p[2] && p[0] > 90 && p[0] < 235; /* antialiased grey */
            }
        CHECK(kept ? grey > 100 : grey < 20, "kept %d: %ld grey pixels on the epoch-%d column", kept, grey,
              kept ? kept : 3);
        cairo_surface_destroy(q);
    }
    fc_history hs[3] = {h, h, h};
    char *labels[3] = {"a", "b", "c"};
    snprintf(path, sizeof path, "%s/sweep.png", dir);
    CHECK(fc_plot_sweep(hs, labels, 3, NULL, path, &st) == 0, "%s", st.msg);
    { /* 45 configs: the 40 best drawn (10 colours x 4 line styles), the 11th dashed */
        static fc_epoch_stat e45[45][2];
        fc_history h45[45];
        char *l45[45], names[45][8];
        for (int k = 0; k < 45; k++) {
            for (int e = 0; e < 2; e++) e45[k][e] = (fc_epoch_stat){1, 0.5f, 1, 0.3f + 0.01f * (float)((k * 7) % 45), 0.1};
            h45[k] = (fc_history){.ep = e45[k], .n = 2};
            snprintf(names[k], sizeof names[k], "c%d", k);
            l45[k] = names[k];
        }
        snprintf(path, sizeof path, "%s/sweep45.png", dir);
        CHECK(fc_plot_sweep(h45, l45, 45, NULL, path, &st) == 0, "%s", st.msg);
        /* the 40 drawn: without a ranking the 40 highest accuracies (configs 0-44 score
         * 0.3 + 0.01 * (7k mod 45): the 5 lowest scores are k with 7k mod 45 < 5); with the
         * sweep's leaderboard ranking, its first 40 whatever their accuracy */
        int pick[FC_PLOT_MAX_SERIES], ta, np = fc_plot_sweep_pick(h45, 45, NULL, pick, &ta), lows = 0;
        for (int q = 0; q < np; q++) lows += (pick[q] * 7) % 45 < 5;
        CHECK(np == 40 && lows == 0 && !ta, "no ranking: the 40 best (%d picked, %d of the lowest)", np, lows);
        int rank[45];
        for (int k = 0; k < 45; k++) rank[k] = 44 - k; /* configs 44..5 first */
        np = fc_plot_sweep_pick(h45, 45, rank, pick, &ta);
        CHECK(np == 40 && pick[0] == 5 && pick[39] == 44, "ranking: its first 40 (%d picked, %d..%d)", np, pick[0],
              pick[np - 1]);
        cairo_surface_t *q = cairo_image_surface_create_from_png(path);
        CHECK(cairo_surface_status(q) == CAIRO_STATUS_SUCCESS && cairo_image_surface_get_height(q) == 120 + 18 * 40,
              "45 configs: 40 legend rows (height %d)", cairo_image_surface_get_height(q));
        /* legend line samples of entry 0 (solid) and entry 10 (same colour, dashed): right of
         * the plot frame, whose top border (y 60, antialiased grey) ends at its right edge */
        unsigned char *qd = cairo_image_surface_get_data(q);
        int qs = cairo_image_surface_get_stride(q), qw = cairo_image_surface_get_width(q), on[2] = {0, 0}, xf = 0;
        for (int x = 0; qd && x < qw; x++) {
            unsigned char *p = qd + 60 * qs + x * 4;
            if (p[0] < 150 && p[0] == p[1] && p[1] == p[2]) xf = x;
        }
        CHECK(xf > 700, "plot frame's right border at x %d", xf);
        for (int k = 0; qd && k < 2; k++)
            for (int x = xf + 10; x < qw; x++) {
                unsigned char *p = qd + (60 + 13 + 18 * 10 * k) * qs + x * 4;
                on[k] += p[0] > 150 && p[2] < 80; /* palette[0] blue: B 181, R 31 */
            }
        CHECK(on[0] >= 24 && on[1] > 6 && on[1] < on[0] * 3 / 4, "solid vs dashed legend sample: %d vs %d px", on[0], on[1]);
        cairo_surface_destroy(q);
    }
    snprintf(path, sizeof path, "%s/nodir/x.png", dir);
    CHECK(fc_plot_history(&h, "t", 0, path, &st) == FC_ERR_IO && strstr(st.msg, path), "unwritable: %s", st.msg);
}

static void test_metrics(void) {
    int32_t y[6] = {0, 0, 1, 1, 2, 2}, p[6] = {0, 1, 1, 1, 0, 2};
    fc_report_t r;
    fc_status st;
    CHECK(fc_report_compute(y, p, 6, 3, &r, &st) == 0, "report");
    CHECK_NEAR(r.accuracy, 4.0 / 6, 1e-12);
    CHECK_NEAR(r.precision[0], 0.5, 1e-12);
    CHECK_NEAR(r.recall[1], 1.0, 1e-12);
    CHECK_NEAR(r.precision[1], 2.0 / 3, 1e-12);
    CHECK_NEAR(r.f1[2], 2 * 1.0 * 0.5 / 1.5, 1e-12);
    CHECK(r.confusion[2 * 3 + 0] == 1 && r.support[2] == 2, "confusion");
    /* precision (1/2, 2/3, 1), recall (1/2, 1, 1/2), F1 (1/2, 4/5, 2/3), supports 2, 2, 2 */
    CHECK_NEAR(r.macro[0], (0.5 + 2.0 / 3 + 1) / 3, 1e-12);
    CHECK_NEAR(r.macro[1], (0.5 + 1 + 0.5) / 3, 1e-12);
    CHECK_NEAR(r.macro[2], (0.5 + 0.8 + 2.0 / 3) / 3, 1e-12);
    CHECK_NEAR(r.weighted[2], (0.5 + 0.8 + 2.0 / 3) / 3, 1e-12);
    fc_report_free(&r);
    { /* unequal supports: y = 0 0 0 1, pred = 0 0 1 1 -> precision (1, 1/2), recall (2/3, 1) */
        int32_t y2[4] = {0, 0, 0, 1}, p2[4] = {0, 0, 1, 1};
        CHECK(fc_report_compute(y2, p2, 4, 2, &r, &st) == 0, "report 2");
        CHECK_NEAR(r.macro[0], 0.75, 1e-12);
        CHECK_NEAR(r.weighted[0], (3 * 1.0 + 1 * 0.5) / 4, 1e-12);
        CHECK_NEAR(r.weighted[1], (3 * (2.0 / 3) + 1 * 1.0) / 4, 1e-12);
        CHECK_NEAR(r.weighted[2], (3 * 0.8 + 1 * (2.0 / 3)) / 4, 1e-12);
        fc_report_free(&r);
    }
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/fc-test-h5-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    T_RUN(test_roundtrip);
    T_RUN(test_vector_input);
    T_RUN(test_many_classes);
    T_RUN(test_bad_files);
    T_RUN(test_plots);
    T_RUN(test_metrics);
    t_rmtree(dir);
    return t_done("test_train_h5");
}
