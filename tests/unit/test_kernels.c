/* test_kernels.c - every op of the fast executor (exec.c + kernels.c) against the naive
 * reference (graph_naive.c) on random shapes: odd sizes, non-square kernels, strides,
 * dilation, 'same'/'valid', batch 1..5, 1 and 2 threads. */
#include "t.h"

#include "graph_build.h"

#include <string.h>

#include "../../common/blas.h"

#define TOL 1e-4

static const fc_act acts[] = {FC_ACT_LINEAR, FC_ACT_RELU, FC_ACT_RELU, FC_ACT_SIGMOID,
                              FC_ACT_TANH, FC_ACT_SWISH, FC_ACT_HARD_SIGMOID};

/* Finalizes g and compares fast vs naive at batch n with 1 and 2 threads. */
static void check_graph(fc_graph *g, int n, const char *what) {
    fc_status st = {0};
    gb_fill_weights(g);
    int rc = fc_graph_finalize(g, NULL, 0, 0, &st);
    CHECK(rc == 0, "%s: finalize: %s", what, st.msg);
    if (rc) return;
    for (int t = 1; t <= 2; t++) {
        double e = gb_compare(g, n, t);
        CHECK(e <= TOL, "%s (batch %d, %d threads): rel err %g", what, n, t, e);
    }
    double e = gb_compare_opts(g, n, 2, 0, 7); /* blocks of 7 rows / tiles */
    CHECK(e <= TOL, "%s (batch %d, blocks of 7): rel err %g", what, n, e);
}

static void test_conv_random(void) {
    for (int it = 0; it < 60; it++) {
        fc_graph *g = fc_graph_create(NULL);
        int k_h = gb_randint(1, 5), k_w = gb_randint(1, 5), dh = gb_randint(1, 2),
            dw = gb_randint(1, 2), sh = gb_randint(1, 3), sw = gb_randint(1, 3);
        if (it % 3 == 0) dh = dw = 1;
        fc_padding pad = it % 2 ? FC_PAD_SAME : FC_PAD_VALID;
        int h = gb_randint((k_h - 1) * dh + 1, 14), w = gb_randint((k_w - 1) * dw + 1, 14);
        int c = gb_randint(1, 9), f = gb_randint(1, 17), n = gb_randint(1, 5);
        fc_act act = acts[it % 7];
        gb_input(g, h, w, c);
        int i = gb_conv(g, "conv", 0, k_h, k_w, f, sh, sw, dh, dw, pad, act,
                        it % 7 == 2 ? 6.0f : 0.0f);
        if (it % 5 == 4) g->nodes[i].act_alpha = 0.1f;
        if (it % 10 == 9) g->nodes[i].act_threshold = 0.05f;
        char what[200];
        snprintf(what, sizeof what, "conv %dx%dx%d k%dx%d s%dx%d d%dx%d %s f%d act%d", h, w, c,
                 k_h, k_w, sh, sw, dh, dw, pad ? "same" : "valid", f, (int)act);
        check_graph(g, n, what);
        fc_graph_free(g);
    }
}

static void test_conv_1x1_and_big_k(void) {
    /* 1x1 stride 1 (no im2col), 1x1 stride 2 (im2col), and a K large enough that the
     * im2col is split into several GEMM chunks. */
    int cfg[][4] = {{1, 1, 9, 33}, {1, 2, 9, 31}, {3, 1, 160, 40}, {3, 2, 130, 23}};
    for (int i = 0; i < 4; i++) {
        fc_graph *g = fc_graph_create(NULL);
        gb_input(g, cfg[i][3], cfg[i][3] - 2, cfg[i][2]);
        gb_conv(g, "conv", 0, cfg[i][0], cfg[i][0], 19, cfg[i][1], cfg[i][1], 1, 1,
                FC_PAD_SAME, FC_ACT_RELU, 0);
        char what[64];
        snprintf(what, sizeof what, "conv k%d s%d c%d", cfg[i][0], cfg[i][1], cfg[i][2]);
        check_graph(g, 3, what);
        fc_graph_free(g);
    }
}

/* 3x3 stride-1 convolutions through Winograd F(2x2) and F(4x4) and forced im2col: odd
 * sizes that leave partial tiles, 'same' and 'valid', thin and wide channel counts. */
static void test_winograd(void) {
    fc_status st = {0};
    for (int it = 0; it < 24; it++) {
        fc_graph *g = fc_graph_create(NULL);
        fc_padding pad = it % 2 ? FC_PAD_SAME : FC_PAD_VALID;
        int h = gb_randint(3, 17), w = gb_randint(3, 17), c = gb_randint(8, 40);
        int f = gb_randint(1, 37), n = gb_randint(1, 3);
        if (it == 0) { h = w = 3; }
        if (it == 1) { h = 1; w = 2; pad = FC_PAD_SAME; }
        if (it == 2) { c = 130; f = 70; h = 21; w = 13; }
        gb_input(g, h, w, c);
        gb_conv(g, "conv", 0, 3, 3, f, 1, 1, 1, 1, pad, it % 3 ? FC_ACT_RELU : FC_ACT_LINEAR,
                it % 3 == 2 ? 6.0f : 0.0f);
        gb_fill_weights(g);
        int rc = fc_graph_finalize(g, NULL, 0, 0, &st);
        CHECK(rc == 0, "finalize: %s", st.msg);
        for (int m = -1; m <= 4 && rc == 0; m += m == -1 ? 3 : 2) {
            for (int t = 1; t <= 2; t++) {
                double e = gb_compare_opts(g, n, t, m, it % 4 == 3 ? 5 : 0);
                CHECK(e <= TOL, "winograd %d: %dx%dx%d -> %d %s (batch %d, %d threads): %g", m,
                      h, w, c, f, pad ? "same" : "valid", n, t, e);
            }
        }
        fc_graph_free(g);
    }
}

static void test_depthwise_random(void) {
    for (int it = 0; it < 40; it++) {
        fc_graph *g = fc_graph_create(NULL);
        int k = it == 0 ? 9 : gb_randint(1, 5), s = gb_randint(1, 2), mult = it % 4 == 3 ? 2 : 1;
        fc_padding pad = it % 2 ? FC_PAD_SAME : FC_PAD_VALID;
        int h = gb_randint(k, 13), w = gb_randint(k, it % 2 ? 13 : 37), c = gb_randint(1, it % 5 ? 21 : 44);
        gb_input(g, h, w, c);
        /* every 7th a softmax over each pixel's channels: the four-pixel path must apply it
         * pixel by pixel (review 12 C F1) */
        int i = gb_dw(g, "dw", 0, k, mult, s, pad, it % 7 == 6 ? FC_ACT_SOFTMAX : it % 3 ? FC_ACT_RELU : FC_ACT_LINEAR,
                      it % 7 != 6 && it % 3 == 1 ? 6.0f : 0.0f);
        fc_node *d = &g->nodes[i];
        if (it % 4 == 1) { d->dh = d->dw = 2; d->sh = d->sw = 1; }
        if (it % 4 == 1 && pad == FC_PAD_VALID && (h < 2 * k - 1 || w < 2 * k - 1))
            d->pad = FC_PAD_SAME;
        char what[160];
        snprintf(what, sizeof what, "depthwise %dx%dx%d k%d s%d m%d %s", h, w, c, k, s, mult,
                 pad ? "same" : "valid");
        check_graph(g, gb_randint(1, 4), what);
        fc_graph_free(g);
    }
}

static void test_pool_random(void) {
    for (int it = 0; it < 40; it++) {
        fc_graph *g = fc_graph_create(NULL);
        int k = gb_randint(1, 4), s = gb_randint(1, 3);
        fc_padding pad = it % 2 ? FC_PAD_SAME : FC_PAD_VALID;
        int h = gb_randint(k, 12), w = gb_randint(k, 11), c = gb_randint(1, 10);
        gb_input(g, h, w, c);
        fc_op op = it % 4 < 2 ? FC_OP_MAXPOOL : FC_OP_AVGPOOL;
        gb_pool(g, op, "pool", 0, k, s, pad);
        char what[160];
        snprintf(what, sizeof what, "%s %dx%dx%d k%d s%d %s", op == FC_OP_MAXPOOL ? "max" : "avg",
                 h, w, c, k, s, pad ? "same" : "valid");
        check_graph(g, gb_randint(1, 4), what);
        fc_graph_free(g);
    }
}

static void test_global_pad_crop(void) {
    fc_op ops[] = {FC_OP_GAP, FC_OP_GMP, FC_OP_ZEROPAD, FC_OP_CROP};
    for (int it = 0; it < 16; it++) {
        fc_graph *g = fc_graph_create(NULL);
        int h = gb_randint(3, 11), w = gb_randint(3, 11), c = gb_randint(1, 13);
        gb_input(g, h, w, c);
        fc_op op = ops[it % 4];
        fc_node nd = gb_node(op, "op", 1, (int[]){0});
        nd.pad_t = gb_randint(0, 1); nd.pad_b = gb_randint(0, 1);
        nd.pad_l = gb_randint(0, 1); nd.pad_r = gb_randint(0, 1);
        gb_add(g, &nd);
        char what[64];
        snprintf(what, sizeof what, "op %d on %dx%dx%d", (int)op, h, w, c);
        check_graph(g, gb_randint(1, 4), what);
        fc_graph_free(g);
    }
}

static int reshape(fc_graph *g, const char *name, int in, int r, int a, int b, int c) {
    fc_node nd = gb_node(FC_OP_RESHAPE, name, 1, &in);
    nd.shape_rank = r, nd.shape[0] = a, nd.shape[1] = b, nd.shape[2] = c;
    return gb_add(g, &nd);
}

static void test_eltwise_concat(void) {
    fc_op ops[] = {FC_OP_ADD, FC_OP_MUL, FC_OP_CONCAT};
    for (int it = 0; it < 9; it++) {
        fc_graph *g = fc_graph_create(NULL);
        int h = gb_randint(1, 9), w = gb_randint(1, 9), c = gb_randint(1, 7);
        gb_input(g, h, w, c);
        int nb = 2 + it / 3, in[4];
        fc_op op = ops[it % 3];
        for (int b = 0; b < nb; b++) {
            char nm[16];
            snprintf(nm, sizeof nm, "b%d", b);
            in[b] = gb_conv(g, nm, 0, b % 2 ? 3 : 1, b % 2 ? 3 : 1, op == FC_OP_CONCAT ? 2 + b : 5,
                            1, 1, 1, 1, FC_PAD_SAME, FC_ACT_LINEAR, 0);
        }
        gb_simple(g, op, "merge", nb, in);
        char what[64];
        snprintf(what, sizeof what, "merge op %d x%d on %dx%dx%d", (int)op, nb, h, w, c);
        check_graph(g, gb_randint(1, 4), what);
        fc_graph_free(g);
    }
}

/* Add / Multiply with broadcasting: inputs of shape (h, w, c), (1, 1, c) (GAP + Reshape),
 * (c) (a GAP vector), (h, w, 1) and (1, 1, 1), in random order and number. */
static void test_eltwise_broadcast(void) {
    for (int it = 0; it < 24; it++) {
        fc_graph *g = fc_graph_create(NULL);
        int h = gb_randint(1, 8), w = gb_randint(1, 8), c = gb_randint(2, 19), n = gb_randint(1, 4);
        gb_input(g, h, w, 3);
        int full = gb_conv(g, "full", 0, 1, 1, c, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_LINEAR, 0);
        int one = gb_conv(g, "one", 0, 3, 3, 1, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_SIGMOID, 0);
        int vec = gb_simple(g, FC_OP_GAP, "vec", 1, &full);
        int gate = reshape(g, "gate", vec, 3, 1, 1, -1);
        int g1 = gb_simple(g, FC_OP_GMP, "g1", 1, &one);
        g1 = reshape(g, "g1r", g1, 3, 1, 1, 1);
        int pool[] = {full, one, vec, gate, g1}, in[4], nb = 2 + it % 3;
        in[0] = pool[gb_randint(0, 4)];
        for (int k = 1; k < nb; k++) in[k] = pool[gb_randint(0, 4)];
        if (it % 4 == 0) in[gb_randint(0, nb - 1)] = full;
        gb_simple(g, it % 2 ? FC_OP_MUL : FC_OP_ADD, "merge", nb, in);
        char what[96];
        snprintf(what, sizeof what, "broadcast %s of %d on %dx%dx%d", it % 2 ? "mul" : "add", nb, h, w, c);
        check_graph(g, n, what);
        fc_graph_free(g);
    }
    fc_graph *g = fc_graph_create(NULL); /* (h, 1, c) against (1, w, c): no input is the output */
    gb_input(g, 5, 6, 3);
    int a = gb_pool(g, FC_OP_AVGPOOL, "rows", 0, 1, 1, FC_PAD_VALID);
    g->nodes[a].kw = g->nodes[a].sw = 6;
    int b2 = gb_pool(g, FC_OP_MAXPOOL, "cols", 0, 1, 1, FC_PAD_VALID);
    g->nodes[b2].kh = g->nodes[b2].sh = 5;
    gb_simple(g, FC_OP_MUL, "outer", 2, (int[]){a, b2});
    check_graph(g, 2, "(5, 1, 3) x (1, 6, 3)");
    CHECK(g->nodes[g->output].oh == 5 && g->nodes[g->output].ow == 6, "outer shape");
    fc_graph_free(g);
    g = fc_graph_create(NULL);
    gb_input(g, 5, 6, 3);
    int x = gb_conv(g, "x", 0, 1, 1, 4, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_LINEAR, 0);
    gb_simple(g, FC_OP_ADD, "bad", 2, (int[]){0, x});
    gb_fill_weights(g);
    fc_status st = {0};
    CHECK(fc_graph_finalize(g, NULL, 0, 0, &st) == FC_ERR_MISMATCH &&
          strstr(st.msg, "layer 'bad' (Op11): input 'input_1' has shape (5, 6, 3) but 'x' has (5, 6, 4) (they must match or be 1 where they differ)"),
          "3 vs 4 channels: %s", st.msg);
    fc_graph_free(g);
}

/* GlobalAveragePooling2D / GlobalMaxPooling2D with keepdims: a (1, 1, c) map a 1x1 conv
 * takes, gating the map it came from. */
static void test_global_keepdims(void) {
    for (int it = 0; it < 4; it++) {
        fc_graph *g = fc_graph_create(NULL);
        gb_input(g, 3 + it, 7 - it, 4);
        int x = gb_conv(g, "x", 0, 3, 3, 6, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_SWISH, 0);
        int p = gb_simple(g, it % 2 ? FC_OP_GMP : FC_OP_GAP, "pool", 1, &x);
        g->nodes[p].keepdims = 1;
        int s = gb_conv(g, "se", p, 1, 1, 6, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_SIGMOID, 0);
        gb_simple(g, FC_OP_MUL, "excite", 2, (int[]){x, s});
        check_graph(g, 3, it % 2 ? "gmp keepdims gate" : "gap keepdims gate");
        const fc_node *q = &g->nodes[fc_graph_find(g, "pool")];
        CHECK(q->rank == 3 && q->oh == 1 && q->ow == 1 && q->oc == 6, "keepdims shape");
        fc_graph_free(g);
    }
}

static void test_bn_act_standalone(void) {
    fc_act a[] = {FC_ACT_RELU, FC_ACT_SOFTMAX, FC_ACT_SIGMOID, FC_ACT_TANH, FC_ACT_RELU};
    for (int it = 0; it < 5; it++) {
        fc_graph *g = fc_graph_create(NULL);
        gb_input(g, 7, 5, 6);
        int b = gb_bn(g, "bn", 0);
        int i = gb_act(g, "act", b, a[it], it == 4 ? 0.7f : 0);
        if (it == 4) { g->nodes[i].act_alpha = 0.3f; g->nodes[i].act_threshold = -0.2f; }
        char what[64];
        snprintf(what, sizeof what, "bn + activation %d", (int)a[it]);
        check_graph(g, 3, what);
        CHECK(g->nodes[1].op == FC_OP_BATCHNORM, "standalone BN must stay an op");
        fc_graph_free(g);
    }
}

/* Every activation in every place the fast executor applies one: a standalone Activation,
 * fused into an im2col and a Winograd Conv2D, a DepthwiseConv2D and a Dense. */
static void test_activations_all(void) {
    for (int a = FC_ACT_RELU; a <= FC_ACT_HARD_SIGMOID3; a++) { /* the last fc_act */
        if (a == FC_ACT_SOFTMAX) continue; /* a Dense only: test_bn_act_standalone, flatten */
        fc_graph *g = fc_graph_create(NULL);
        gb_input(g, 9, 7, 5);
        int x = gb_act(g, "act", 0, (fc_act)a, 0);
        g->nodes[x].act_alpha = a == FC_ACT_ELU ? 0.7f : 0;
        x = gb_conv(g, "conv1", x, 3, 3, 9, 2, 1, 1, 1, FC_PAD_SAME, (fc_act)a, 0);
        fc_act mid = a == FC_ACT_EXP ? FC_ACT_LINEAR : (fc_act)a; /* exp(exp(exp)) overflows */
        x = gb_conv(g, "conv_wino", x, 3, 3, 11, 1, 1, 1, 1, FC_PAD_SAME, mid, 0);
        x = gb_dw(g, "dw", x, 3, 1, 1, FC_PAD_SAME, mid, 0);
        x = gb_simple(g, FC_OP_GAP, "gap", 1, &x);
        x = gb_dense(g, "dense", x, 6, (fc_act)a);
        for (int i = 1; i < g->n_nodes; i++)
            if (a == FC_ACT_ELU) g->nodes[i].act_alpha = 0.7f;
        char what[64];
        snprintf(what, sizeof what, "activation %d everywhere", a);
        check_graph(g, 3, what);
        fc_graph_free(g);
    }
}

/* Rescaling / Normalization (FC_OP_SCALE) with per-channel and single values. */
static void test_scale(void) {
    for (int it = 0; it < 4; it++) {
        fc_graph *g = fc_graph_create(NULL);
        int c = 1 + 2 * it;
        gb_input(g, 5 + it, 4, c);
        fc_node nd = gb_node(FC_OP_SCALE, "scale", 1, (int[]){0});
        nd.w_len = it % 2 ? 1 : (size_t)c;
        nd.b_len = it / 2 ? 1 : (size_t)c;
        nd.w = gb_randv(nd.w_len, 2.0f), nd.b = gb_randv(nd.b_len, 1.0f);
        int x = gb_add(g, &nd);
        gb_conv(g, "conv", x, 3, 3, 4, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_SWISH, 0);
        check_graph(g, 2, "scale + conv");
        CHECK(g->nodes[1].w_len == (size_t)c && g->nodes[1].b_len == (size_t)c, "values broadcast");
        fc_graph_free(g);
    }
}

/* Reshape is a view: GAP -> (1, 1, c) -> 1x1 conv (the squeeze-and-excitation path), a map
 * regrouped to another (h, w, c), and a map to a vector before a Dense. */
static void test_reshape(void) {
    fc_status st = {0};
    fc_graph *g = fc_graph_create(NULL);
    gb_input(g, 6, 4, 3);
    int x = gb_conv(g, "conv", 0, 3, 3, 8, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_RELU, 0);
    x = gb_simple(g, FC_OP_GAP, "gap", 1, &x);
    x = reshape(g, "se_reshape", x, 3, 1, 1, -1);
    gb_conv(g, "se_reduce", x, 1, 1, 5, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_SIGMOID, 0);
    check_graph(g, 3, "gap -> reshape (1, 1, c) -> conv");
    const fc_node *o = &g->nodes[g->output];
    CHECK(o->oh == 1 && o->ow == 1 && o->oc == 5 && o->rank == 3, "se path (%d, %d, %d) rank %d", o->oh, o->ow, o->oc, o->rank);
    fc_graph_free(g);

    g = fc_graph_create(NULL);
    gb_input(g, 6, 4, 3);
    x = gb_conv(g, "conv", 0, 3, 3, 8, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_RELU, 0);
    x = reshape(g, "regroup", x, 3, 3, -1, 16); /* (6, 4, 8) -> (3, 4, 16) */
    int c2 = gb_conv(g, "conv2", x, 3, 3, 5, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_LINEAR, 0);
    g->nodes[c2].w_len = 3 * 3 * 16 * 5;
    g->nodes[c2].w = gb_randv(g->nodes[c2].w_len, 0.1f);
    int v = reshape(g, "vec", c2, 1, -1, 0, 0);
    int d = gb_dense(g, "dense", v, 7, FC_ACT_TANH);
    g->nodes[d].w_len = 3 * 4 * 5 * 7;
    g->nodes[d].w = gb_randv(g->nodes[d].w_len, 0.2f);
    check_graph(g, 3, "reshape regroup + to a vector");
    o = &g->nodes[g->output];
    CHECK(o->rank == 2 && o->oc == 7 && g->nodes[v].rank == 2 && g->nodes[v].oc == 60 &&
          g->nodes[x].oh == 3 && g->nodes[x].oc == 16, "vector reshape");
    fc_graph_free(g);

    g = fc_graph_create(NULL);
    gb_input(g, 6, 4, 3);
    reshape(g, "bad", 0, 3, 5, -1, 3);
    CHECK(fc_graph_finalize(g, NULL, 0, 0, &st) == FC_ERR_MISMATCH &&
          strstr(st.msg, "layer 'bad' (Op18): cannot reshape (6, 4, 3) (72 values) to (5, -1, 3)"), "bad reshape: %s", st.msg);
    fc_graph_free(g);
}

static void test_flatten_dense(void) {
    for (int it = 0; it < 4; it++) {
        fc_graph *g = fc_graph_create(NULL);
        int h = 3 + it, w = 2 + it, c = 3;
        gb_input(g, h, w, c);
        int f = gb_simple(g, FC_OP_FLATTEN, "flatten", 1, (int[]){0});
        int d = gb_dense(g, "dense", f, 7, it == 3 ? FC_ACT_SOFTMAX : FC_ACT_RELU);
        g->nodes[d].w_len = (size_t)h * w * c * 7;
        g->nodes[d].w = gb_randv(g->nodes[d].w_len, 0.2f);
        g->nodes[d].b_len = 7;
        g->nodes[d].b = gb_randv(7, 0.1f);
        gb_dense(g, "dense2", d, 4, it % 2 ? FC_ACT_SIGMOID : FC_ACT_LINEAR);
        g->nodes[d + 1].w_len = 28;
        g->nodes[d + 1].w = gb_randv(28, 0.4f);
        check_graph(g, 4, "flatten + dense");
        CHECK(g->nodes[g->output].rank == 2 && g->nodes[g->output].oc == 4, "dense out shape");
        fc_graph_free(g);
    }
}

/* The OpenBLAS kernel in use suits the CPU: Debian's 0.3.21 takes its SSE3 Prescott kernel
 * on Intel models it does not know (6-7x slower sgemm) and Haswell on AVX-512 Zen. */
static void test_blas_core(void) {
    static const struct {
        const char *core;
        int avx512, avx2;
        const char *want;
    } cases[] = {
        {"Prescott", 1, 1, "SkylakeX"}, {"Haswell", 1, 1, "SkylakeX"}, {"Zen", 1, 1, "SkylakeX"},
        {"SkylakeX", 1, 1, NULL},       {"Cooperlake", 1, 1, NULL},   {"skylakex", 1, 1, NULL},
        {"Prescott", 0, 1, "Haswell"},  {"Sandybridge", 0, 1, "Haswell"}, {"Zen", 0, 1, NULL},
        {"Haswell", 0, 1, NULL},        {"Prescott", 0, 0, NULL},     {NULL, 0, 1, "Haswell"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = fc_blas_better_core(cases[i].core, cases[i].avx512, cases[i].avx2);
        CHECK(got == cases[i].want || (got && cases[i].want && !strcmp(got, cases[i].want)),
              "core %s avx512 %d avx2 %d: %s, expected %s", cases[i].core ? cases[i].core : "NULL",
              cases[i].avx512, cases[i].avx2, got ? got : "keep", cases[i].want ? cases[i].want : "keep");
    }
    /* the user's choice is kept as it is; a single-target OpenBLAS cannot switch */
    if (getenv("OPENBLAS_CORETYPE") || !fc_blas_can_switch()) return;
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                 __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const char *core = fc_blas_corename(), *better = fc_blas_better_core(core, avx512, avx2);
    CHECK(better == NULL, "OpenBLAS runs its %s kernel (it chose %s) on a CPU with%s AVX-512 and%s AVX2: %s expected",
          core, fc_blas_detected_core(), avx512 ? "" : "out", avx2 ? "" : "out", better ? better : "");
}

int main(void) {
    T_RUN(test_blas_core);
    T_RUN(test_conv_random);
    T_RUN(test_conv_1x1_and_big_k);
    T_RUN(test_winograd);
    T_RUN(test_depthwise_random);
    T_RUN(test_pool_random);
    T_RUN(test_global_pad_crop);
    T_RUN(test_eltwise_concat);
    T_RUN(test_eltwise_broadcast);
    T_RUN(test_global_keepdims);
    T_RUN(test_bn_act_standalone);
    T_RUN(test_flatten_dense);
    T_RUN(test_activations_all);
    T_RUN(test_scale);
    T_RUN(test_reshape);
    return t_done("test_kernels");
}
