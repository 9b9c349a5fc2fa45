/* test_graph.c - whole graphs: small VGG-, Inception- and MobileNetV2-like networks
 * (fast executor vs naive at 1e-4), BatchNormalization folding, cutting at an inner
 * layer, input resizing, and the finalize error cases. */
#include "t.h"

#include <string.h>

#include "graph_build.h"

#define TOL 1e-4

static int finalize(fc_graph *g, const char *layer, int h, int w, fc_status *st) {
    gb_fill_weights(g);
    return fc_graph_finalize(g, layer, h, w, st);
}

/* Fast vs naive with 1 and 2 threads, for im2col only, Winograd F(2x2) and F(4x4). */
static void compare(fc_graph *g, int n, const char *what) {
    static const int modes[] = {0, -1, 2, 4};
    for (int t = 1; t <= 2; t++)
        for (int m = 0; m < 4; m++) {
            double e = gb_compare_opts(g, n, t, modes[m], m == 3 && t == 2 ? 9 : 0);
            CHECK(e <= TOL, "%s (batch %d, %d threads, winograd %d): rel err %g", what, n, t,
                  modes[m], e);
        }
}

/* Two VGG blocks on an odd, non-square input. */
static fc_graph *build_vgg(int h, int w) {
    fc_graph *g = fc_graph_create(NULL);
    int x = gb_input(g, h, w, 3);
    x = gb_conv(g, "block1_conv1", x, 3, 3, 8, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_RELU, 0);
    x = gb_conv(g, "block1_conv2", x, 3, 3, 8, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_RELU, 0);
    x = gb_pool(g, FC_OP_MAXPOOL, "block1_pool", x, 2, 2, FC_PAD_VALID);
    x = gb_conv(g, "block2_conv1", x, 3, 3, 16, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_RELU, 0);
    x = gb_conv(g, "block2_conv2", x, 3, 3, 16, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_RELU, 0);
    gb_pool(g, FC_OP_MAXPOOL, "block2_pool", x, 2, 2, FC_PAD_VALID);
    return g;
}

static void test_vgg_like(void) {
    fc_status st = {0};
    fc_graph *g = build_vgg(23, 19);
    CHECK(finalize(g, NULL, 0, 0, &st) == 0, "finalize: %s", st.msg);
    const fc_node *o = &g->nodes[g->output];
    CHECK(o->oh == 5 && o->ow == 4 && o->oc == 16, "vgg out %dx%dx%d", o->oh, o->ow, o->oc);
    CHECK(strcmp(o->name, "block2_pool") == 0, "output is %s", o->name);
    int64_t macs = (int64_t)23 * 19 * 8 * 27 + (int64_t)23 * 19 * 8 * 72 +
                   (int64_t)11 * 9 * 16 * 72 + (int64_t)11 * 9 * 16 * 144;
    CHECK(fc_graph_total_macs(g) == macs, "macs %lld vs %lld",
          (long long)fc_graph_total_macs(g), (long long)macs);
    compare(g, 3, "vgg-like");
    fc_graph_free(g);
}

/* conv-BN-relu unit as Keras InceptionV3 builds it (conv without bias). */
static int conv_bn(fc_graph *g, const char *name, int x, int kh, int kw, int f, int s,
                   fc_padding pad) {
    char nm[128];
    x = gb_conv(g, name, x, kh, kw, f, s, s, 1, 1, pad, FC_ACT_LINEAR, 0);
    snprintf(nm, sizeof nm, "%s_bn", name);
    x = gb_bn(g, nm, x);
    snprintf(nm, sizeof nm, "%s_relu", name);
    return gb_act(g, nm, x, FC_ACT_RELU, 0);
}

static fc_graph *build_inception(int h, int w) {
    fc_graph *g = fc_graph_create(NULL);
    int x = gb_input(g, h, w, 3);
    x = conv_bn(g, "c1", x, 3, 3, 8, 2, FC_PAD_VALID);
    x = conv_bn(g, "c2", x, 3, 3, 8, 1, FC_PAD_SAME);
    int b1 = conv_bn(g, "m_b1", x, 1, 1, 6, 1, FC_PAD_SAME);
    int b2 = conv_bn(g, "m_b2a", x, 1, 1, 4, 1, FC_PAD_SAME);
    b2 = conv_bn(g, "m_b2b", b2, 1, 7, 5, 1, FC_PAD_SAME);
    b2 = conv_bn(g, "m_b2c", b2, 7, 1, 6, 1, FC_PAD_SAME);
    int b3 = gb_pool(g, FC_OP_AVGPOOL, "m_pool", x, 3, 1, FC_PAD_SAME);
    b3 = conv_bn(g, "m_b3", b3, 1, 1, 3, 1, FC_PAD_SAME);
    int b4 = gb_pool(g, FC_OP_MAXPOOL, "m_max", x, 3, 2, FC_PAD_VALID);
    b4 = gb_simple(g, FC_OP_ZEROPAD, "m_pad", 1, &b4);
    (void)b4;
    int cat[] = {b1, b2, b3};
    x = gb_simple(g, FC_OP_CONCAT, "mixed0", 3, cat);
    x = conv_bn(g, "red", x, 3, 3, 12, 2, FC_PAD_VALID);
    x = gb_simple(g, FC_OP_GAP, "avg_pool", 1, &x);
    return g;
}

static void test_inception_like(void) {
    fc_status st = {0};
    fc_graph *g = build_inception(29, 33);
    CHECK(finalize(g, NULL, 0, 0, &st) == 0, "finalize: %s", st.msg);
    CHECK(g->nodes[g->output].oc == 12 && g->nodes[g->output].rank == 2, "gap out");
    int folded = 0;
    for (int i = 0; i < g->n_nodes; i++)
        folded += strstr(g->nodes[i].name, "_bn") && g->nodes[i].op == FC_OP_IDENTITY;
    CHECK(folded == 8, "folded %d BN layers, expected 8", folded);
    for (int i = 0; i < g->n_nodes; i++)
        CHECK(strcmp(g->nodes[i].name, "m_pad") != 0, "unused branch kept");
    compare(g, 3, "inception-like");
    fc_graph_free(g);
    /* cut at mixed0, odd size via --size */
    g = build_inception(29, 33);
    CHECK(finalize(g, "mixed0", 31, 27, &st) == 0, "finalize mixed0: %s", st.msg);
    const fc_node *o = &g->nodes[g->output];
    CHECK(o->oh == 15 && o->ow == 13 && o->oc == 15, "mixed0 %dx%dx%d", o->oh, o->ow, o->oc);
    compare(g, 2, "inception-like cut at mixed0");
    fc_graph_free(g);
}

/* MobileNetV2 inverted residual blocks: expand 1x1, depthwise 3x3, relu6, project,
 * add residual. */
static int mbv2_block(fc_graph *g, const char *p, int x, int cin, int cout, int s) {
    char nm[128];
    int y = x;
    snprintf(nm, sizeof nm, "%s_expand", p);
    y = conv_bn(g, nm, y, 1, 1, cin * 3, 1, FC_PAD_SAME);
    g->nodes[y].act_max = 6.0f;
    snprintf(nm, sizeof nm, "%s_dw", p);
    y = gb_dw(g, nm, y, 3, 1, s, FC_PAD_SAME, FC_ACT_LINEAR, 0);
    snprintf(nm, sizeof nm, "%s_dw_bn", p);
    y = gb_bn(g, nm, y);
    snprintf(nm, sizeof nm, "%s_dw_relu", p);
    y = gb_act(g, nm, y, FC_ACT_RELU, 6.0f);
    snprintf(nm, sizeof nm, "%s_project", p);
    y = gb_conv(g, nm, y, 1, 1, cout, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_LINEAR, 0);
    snprintf(nm, sizeof nm, "%s_project_bn", p);
    y = gb_bn(g, nm, y);
    if (s == 1 && cin == cout) {
        snprintf(nm, sizeof nm, "%s_add", p);
        int in[] = {x, y};
        y = gb_simple(g, FC_OP_ADD, nm, 2, in);
    }
    return y;
}

static void test_mobilenet_like(void) {
    fc_status st = {0};
    fc_graph *g = fc_graph_create(NULL);
    int x = gb_input(g, 0, 0, 3); /* variable size, given at finalize */
    x = gb_simple(g, FC_OP_ZEROPAD, "Conv1_pad", 1, &x);
    g->nodes[x].pad_b = g->nodes[x].pad_r = 1;
    x = conv_bn(g, "Conv1", x, 3, 3, 8, 2, FC_PAD_VALID);
    g->nodes[x].act_max = 6.0f;
    x = mbv2_block(g, "block_1", x, 8, 8, 1);
    x = mbv2_block(g, "block_2", x, 8, 12, 2);
    x = mbv2_block(g, "block_3", x, 12, 12, 1);
    gb_act(g, "out_relu", x, FC_ACT_RELU, 6.0f);
    CHECK(finalize(g, NULL, 0, 0, &st) != 0 && strstr(st.msg, "--size"),
          "variable size without --size must fail: %s", st.msg);
    fc_graph_free(g);

    g = fc_graph_create(NULL);
    x = gb_input(g, 0, 0, 3);
    x = conv_bn(g, "Conv1", x, 3, 3, 8, 2, FC_PAD_SAME);
    g->nodes[x].act_max = 6.0f;
    x = mbv2_block(g, "block_1", x, 8, 8, 1);
    x = mbv2_block(g, "block_2", x, 8, 12, 2);
    x = mbv2_block(g, "block_3", x, 12, 12, 1);
    gb_act(g, "out_relu", x, FC_ACT_RELU, 6.0f);
    CHECK(finalize(g, NULL, 27, 21, &st) == 0, "finalize: %s", st.msg);
    const fc_node *o = &g->nodes[g->output];
    CHECK(o->oh == 7 && o->ow == 6 && o->oc == 12, "mbv2 out %dx%dx%d", o->oh, o->ow, o->oc);
    compare(g, 4, "mobilenetv2-like");
    fc_graph_free(g);
}

/* Folded conv+BN must equal conv followed by the BN formula applied by hand. */
static void test_bn_folding(void) {
    fc_status st = {0};
    fc_graph *a = fc_graph_create(NULL), *b = fc_graph_create(NULL);
    gb_input(a, 9, 7, 4);
    gb_conv(a, "conv", 0, 3, 3, 5, 2, 1, 1, 1, FC_PAD_SAME, FC_ACT_LINEAR, 0);
    gb_bn(a, "bn", 1);
    gb_fill_weights(a);
    free(a->nodes[1].b);
    a->nodes[1].b = NULL; /* the fold must create the bias */
    a->nodes[1].b_len = 0;
    gb_input(b, 9, 7, 4);
    gb_conv(b, "conv", 0, 3, 3, 5, 2, 1, 1, 1, FC_PAD_SAME, FC_ACT_LINEAR, 0);
    b->nodes[1].w_len = a->nodes[1].w_len;
    b->nodes[1].w = malloc(a->nodes[1].w_len * sizeof(float));
    memcpy(b->nodes[1].w, a->nodes[1].w, a->nodes[1].w_len * sizeof(float));
    fc_node bn = a->nodes[2]; /* keep the statistics before folding */
    float gm[5], bt[5], mu[5], var[5];
    memcpy(gm, bn.gamma, sizeof gm); memcpy(bt, bn.beta, sizeof bt);
    memcpy(mu, bn.mean, sizeof mu); memcpy(var, bn.var, sizeof var);
    CHECK(fc_graph_finalize(a, NULL, 0, 0, &st) == 0, "finalize a: %s", st.msg);
    CHECK(fc_graph_finalize(b, NULL, 0, 0, &st) == 0, "finalize b: %s", st.msg);
    CHECK(a->nodes[2].op == FC_OP_IDENTITY && a->nodes[1].b != NULL, "BN not folded");
    CHECK(a->nodes[2].params == 20 && a->nodes[1].params == 180, "params before folding");
    int n = 2;
    size_t ie = (size_t)n * 9 * 7 * 4, oe = (size_t)n * fc_graph_out_elems(a);
    float *x = gb_randv(ie, 1), *ya = malloc(oe * 4), *yb = malloc(oe * 4);
    fc_plan *p = fc_plan_create(a, n, 1, &st);
    CHECK(p && fc_plan_forward(p, x, n, ya, &st) == 0, "forward: %s", st.msg);
    CHECK(fc_graph_forward_naive(b, x, n, yb, &st) == 0, "naive: %s", st.msg);
    for (size_t i = 0; i < oe; i++) {
        int c = (int)(i % 5);
        yb[i] = (float)((yb[i] - mu[c]) / sqrt((double)var[c] + 1e-3) * gm[c] + bt[c]);
    }
    double e = t_max_rel_err(ya, yb, oe);
    CHECK(e <= TOL, "folded vs unfolded: %g", e);
    fc_plan_free(p);
    free(x); free(ya); free(yb);
    fc_graph_free(a);
    fc_graph_free(b);
}

/* A BN whose conv has a second consumer, or a fused relu, must stay standalone. */
static void test_bn_not_folded(void) {
    fc_status st = {0};
    fc_graph *g = fc_graph_create(NULL);
    gb_input(g, 6, 6, 3);
    gb_conv(g, "conv", 0, 3, 3, 4, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_LINEAR, 0);
    gb_bn(g, "bn", 1);
    gb_simple(g, FC_OP_ADD, "add", 2, (int[]){1, 2});
    gb_conv(g, "conv2", 3, 3, 3, 4, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_RELU, 0);
    gb_bn(g, "bn2", 4);
    CHECK(finalize(g, NULL, 0, 0, &st) == 0, "finalize: %s", st.msg);
    CHECK(g->nodes[2].op == FC_OP_BATCHNORM && g->nodes[5].op == FC_OP_BATCHNORM,
          "BN folded although it must not be");
    compare(g, 2, "unfoldable BN");
    fc_graph_free(g);
}

/* Cutting at block1_pool equals building only up to it. */
static void test_cut(void) {
    fc_status st = {0};
    fc_graph *full = build_vgg(17, 17), *part = fc_graph_create(NULL);
    gb_rng = 12345;
    gb_fill_weights(full);
    CHECK(fc_graph_finalize(full, "block1_pool", 0, 0, &st) == 0, "cut: %s", st.msg);
    CHECK(full->n_nodes == 4 && full->output == 3, "kept %d nodes", full->n_nodes);
    CHECK(strcmp(full->nodes[full->output].name, "block1_pool") == 0, "output name");
    int x = gb_input(part, 17, 17, 3);
    x = gb_conv(part, "block1_conv1", x, 3, 3, 8, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_RELU, 0);
    x = gb_conv(part, "block1_conv2", x, 3, 3, 8, 1, 1, 1, 1, FC_PAD_SAME, FC_ACT_RELU, 0);
    gb_pool(part, FC_OP_MAXPOOL, "block1_pool", x, 2, 2, FC_PAD_VALID);
    gb_rng = 12345;
    gb_fill_weights(part);
    CHECK(fc_graph_finalize(part, NULL, 0, 0, &st) == 0, "part: %s", st.msg);
    int n = 2;
    size_t ie = (size_t)n * 17 * 17 * 3, oe = (size_t)n * fc_graph_out_elems(part);
    CHECK(oe == (size_t)n * 8 * 8 * 8, "cut shape");
    float *in = gb_randv(ie, 1), *a = malloc(oe * 4), *b = malloc(oe * 4);
    fc_plan *p = fc_plan_create(full, n, 2, &st);
    CHECK(p && fc_plan_forward(p, in, n, a, &st) == 0, "forward: %s", st.msg);
    CHECK(fc_graph_forward_naive(part, in, n, b, &st) == 0, "naive: %s", st.msg);
    CHECK(t_max_rel_err(a, b, oe) <= TOL, "cut vs partial build: %g", t_max_rel_err(a, b, oe));
    fc_plan_free(p);
    free(in); free(a); free(b);
    fc_graph_free(full);
    fc_graph_free(part);
}

static void test_resize(void) {
    fc_status st = {0};
    fc_graph *g = build_vgg(32, 32);
    CHECK(finalize(g, NULL, 45, 38, &st) == 0, "resize: %s", st.msg);
    CHECK(g->in_h == 45 && g->in_w == 38, "input size");
    CHECK(g->nodes[g->output].oh == 11 && g->nodes[g->output].ow == 9, "resized out");
    compare(g, 2, "vgg-like resized to 45x38");
    fc_graph_free(g);
}

/* A 'same' pool window far wider than its input (65536 over 13x11): TF counts only the taps
 * inside the input, so with stride 1 every output is the input's per-channel mean (avg) or
 * max; the work and the MAC count follow the input, not the declared window. */
static void test_huge_pool_window(void) {
    for (int is_max = 0; is_max <= 1; is_max++) {
        fc_status st = {0};
        fc_graph *g = fc_graph_create(NULL);
        int x = gb_input(g, 13, 11, 3);
        gb_pool(g, is_max ? FC_OP_MAXPOOL : FC_OP_AVGPOOL, "p", x, 65536, 1, FC_PAD_SAME);
        CHECK(finalize(g, NULL, 0, 0, &st) == 0, "finalize: %s", st.msg);
        const fc_node *o = &g->nodes[g->output];
        CHECK(o->oh == 13 && o->ow == 11 && o->oc == 3, "out %dx%dx%d", o->oh, o->ow, o->oc);
        int64_t macs = is_max ? 0 : (int64_t)13 * 11 * 3 * 13 * 11;
        CHECK(o->macs == macs, "MACs %lld", (long long)o->macs);
        if (o->macs != macs) { /* the declared window counted: the loops below would take hours */
            fc_graph_free(g);
            return;
        }
        size_t ie = 13 * 11 * 3;
        float *in = gb_randv(ie, 1), *y = malloc(ie * sizeof *y), *yn = malloc(ie * sizeof *yn);
        fc_plan *p = fc_plan_create(g, 1, 1, &st);
        CHECK(p && fc_plan_forward(p, in, 1, y, &st) == 0, "forward: %s", st.msg);
        CHECK(fc_graph_forward_naive(g, in, 1, yn, &st) == 0, "naive: %s", st.msg);
        for (int c = 0; c < 3; c++) {
            double want = is_max ? -INFINITY : 0;
            for (size_t i = (size_t)c; i < ie; i += 3) want = is_max ? fmax(want, in[i]) : want + in[i];
            if (!is_max) want /= 13 * 11;
            for (size_t i = (size_t)c; i < ie; i += 3) {
                CHECK_NEAR(y[i], want, 1e-5);
                CHECK_NEAR(yn[i], want, 1e-5);
            }
        }
        fc_plan_free(p);
        free(in), free(y), free(yn);
        fc_graph_free(g);
    }
}

/* Partial batches and more threads than images: every n from 1 to the batch size. */
static void test_partial_batches(void) {
    fc_status st = {0};
    fc_graph *g = build_vgg(13, 11);
    CHECK(finalize(g, NULL, 0, 0, &st) == 0, "finalize: %s", st.msg);
    int batch = 5;
    size_t ie = (size_t)g->in_h * g->in_w * 3, oe = fc_graph_out_elems(g);
    float *x = gb_randv(ie * batch, 1), *a = malloc(oe * batch * 4), *b = malloc(oe * batch * 4);
    CHECK(fc_graph_forward_naive(g, x, batch, b, &st) == 0, "naive");
    for (int threads = 1; threads <= 4; threads++) {
        fc_plan *p = fc_plan_create(g, batch, threads, &st);
        CHECK(p != NULL, "plan: %s", st.msg);
        for (int n = 1; p && n <= batch; n++) {
            memset(a, 0, oe * batch * 4);
            CHECK(fc_plan_forward(p, x, n, a, &st) == 0, "forward");
            double e = t_max_rel_err(a, b, oe * n);
            CHECK(e <= TOL, "threads %d n %d: %g", threads, n, e);
            CHECK(n == batch || a[oe * n] == 0, "wrote past n images");
        }
        fc_plan_free(p);
    }
    free(x); free(a); free(b);
    fc_graph_free(g);
}

static void test_errors(void) {
    fc_status st = {0};
    /* unknown layer, with suggestions */
    fc_graph *g = build_vgg(16, 16);
    strcpy(g->source, "model.h5");
    CHECK(finalize(g, "block2_conv3", 0, 0, &st) == FC_ERR_ARG, "unknown layer rc");
    CHECK(strstr(st.msg, "no layer named 'block2_conv3' in model.h5") &&
              strstr(st.msg, "did you mean") && strstr(st.msg, "block2_conv"),
          "message: %s", st.msg);
    fc_graph_free(g);
    /* weight of the wrong size */
    g = build_vgg(16, 16);
    gb_fill_weights(g);
    g->nodes[2].w_len -= 8;
    CHECK(fc_graph_finalize(g, NULL, 0, 0, &st) == FC_ERR_MISMATCH, "wrong size rc");
    CHECK(strstr(st.msg, "block1_conv2") && strstr(st.msg, "(3, 3, 8, 8)") &&
              strstr(st.msg, "568") && strstr(st.msg, "576"), "message: %s", st.msg);
    fc_graph_free(g);
    /* bias of the wrong size */
    g = build_vgg(16, 16);
    gb_fill_weights(g);
    g->nodes[1].b_len = 3;
    CHECK(fc_graph_finalize(g, NULL, 0, 0, &st) == FC_ERR_MISMATCH &&
              strstr(st.msg, "block1_conv1") && strstr(st.msg, "bias"), "bias: %s", st.msg);
    fc_graph_free(g);
    /* forward reference / cycle / bad index */
    int bad[] = {3, 1, -1, 99};
    for (int k = 0; k < 4; k++) {
        g = build_vgg(16, 16);
        gb_fill_weights(g);
        g->nodes[1].inputs[0] = bad[k];
        int rc = fc_graph_finalize(g, NULL, 0, 0, &st);
        CHECK(rc == FC_ERR_FORMAT && strstr(st.msg, "block1_conv1") &&
                  strstr(st.msg, k < 2 ? "cycle" : "out of range") != NULL,
              "bad input %d: rc %d %s", bad[k], rc, st.msg);
        fc_graph_free(g);
    }
    /* Flatten fixes the size */
    g = build_vgg(16, 16);
    gb_simple(g, FC_OP_FLATTEN, "flatten", 1, (int[]){g->n_nodes - 1});
    CHECK(finalize(g, NULL, 32, 32, &st) == FC_ERR_MISMATCH && strstr(st.msg, "flatten") &&
              strstr(st.msg, "16x16"), "flatten resize: %s", st.msg);
    fc_graph_free(g);
    /* ...but cutting before the Flatten allows resizing */
    g = build_vgg(16, 16);
    gb_simple(g, FC_OP_FLATTEN, "flatten", 1, (int[]){g->n_nodes - 1});
    CHECK(finalize(g, "block2_pool", 32, 32, &st) == 0, "cut before flatten: %s", st.msg);
    fc_graph_free(g);
    /* 'valid' conv on a too-small input, concat of mismatched sizes */
    g = fc_graph_create(NULL);
    gb_input(g, 2, 2, 1);
    gb_conv(g, "big", 0, 3, 3, 1, 1, 1, 1, 1, FC_PAD_VALID, FC_ACT_LINEAR, 0);
    CHECK(finalize(g, NULL, 0, 0, &st) == FC_ERR_MISMATCH && strstr(st.msg, "too small"),
          "small: %s", st.msg);
    fc_graph_free(g);
    g = fc_graph_create(NULL);
    gb_input(g, 6, 6, 2);
    gb_pool(g, FC_OP_MAXPOOL, "p", 0, 2, 2, FC_PAD_VALID);
    gb_simple(g, FC_OP_CONCAT, "cat", 2, (int[]){0, 1});
    CHECK(finalize(g, NULL, 0, 0, &st) == FC_ERR_MISMATCH && strstr(st.msg, "cat"),
          "concat: %s", st.msg);
    fc_graph_free(g);
    /* plan batch limit */
    g = build_vgg(8, 8);
    CHECK(finalize(g, NULL, 0, 0, &st) == 0, "finalize");
    fc_plan *p = fc_plan_create(g, 2, 1, &st);
    float in[3 * 8 * 8 * 3] = {0}, out[3 * 2 * 2 * 16];
    CHECK(p && fc_plan_forward(p, in, 3, out, &st) == FC_ERR_ARG, "batch overflow");
    fc_plan_free(p);
    fc_plan_free(NULL);
    fc_graph_free(g);
    fc_graph_free(NULL);
}

int main(void) {
    T_RUN(test_vgg_like);
    T_RUN(test_inception_like);
    T_RUN(test_mobilenet_like);
    T_RUN(test_bn_folding);
    T_RUN(test_bn_not_folded);
    T_RUN(test_cut);
    T_RUN(test_resize);
    T_RUN(test_partial_batches);
    T_RUN(test_huge_pool_window);
    T_RUN(test_errors);
    return t_done("test_graph");
}
