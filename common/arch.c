/* arch.c - keras.applications topologies (include_top=False) built node by node, with
 * the layer names Keras gives them; weights come from a weight source (a weights-only
 * .h5 file) or are random (benchmarks). Shapes follow the Keras source of each model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "model_internal.h"

typedef struct {
    fc_kbuild kb;
} ab;

static int a_node(ab *a, fc_node *n, fc_op op, const char *cls, const char *name, const int *in,
                  int n_in, fc_status *st) {
    memset(n, 0, sizeof *n);
    n->op = op;
    snprintf(n->name, sizeof n->name, "%s", name);
    snprintf(n->class_name, sizeof n->class_name, "%s", cls);
    n->trainable = 1;
    n->kh = n->kw = n->sh = n->sw = n->dh = n->dw = 1;
    n->depth_multiplier = 1;
    n->act = FC_ACT_LINEAR;
    n->n_inputs = n_in;
    if (n_in) {
        n->inputs = malloc((size_t)n_in * sizeof *n->inputs);
        if (!n->inputs) return fc_fail(st, FC_ERR_NOMEM, "out of memory");
        memcpy(n->inputs, in, (size_t)n_in * sizeof *in);
    }
    return 0;
}

/* Adds a prepared node, loading its weights first when it has any. */
static int a_add(ab *a, fc_node *n, int flags, int *idx, fc_status *st) {
    int rc = 0;
    int cin = n->n_inputs ? a->kb.chan[n->inputs[0]] : -1;
    if (n->op == FC_OP_CONV2D || n->op == FC_OP_DEPTHWISE || n->op == FC_OP_BATCHNORM)
        rc = fc_node_load_weights(n, cin, flags, NULL, a->kb.ws, n->name, n->name, st);
    if (!rc) rc = fc_kb_add(&a->kb, n, idx, st);
    fc_node_release(n);
    return rc;
}

/* Does the weight source hold the ImageNet classifier (include_top=True files)? */
static const char *top_name(const ab *a) {
    fc_wsrc *ws = a->kb.ws;
    if (!ws->has_layer) return NULL;
    if (ws->has_layer(ws->ctx, "predictions")) return "predictions";
    if (ws->has_layer(ws->ctx, "fc1000")) return "fc1000"; /* Keras <= 2.2.4 ResNet50 */
    return NULL;
}

static int a_input(ab *a, int *idx, fc_status *st) {
    fc_node n;
    int rc = a_node(a, &n, FC_OP_INPUT, "InputLayer", "input_1", NULL, 0, st);
    a->kb.g->in_h = a->kb.g->in_w = 0, a->kb.g->in_c = 3;
    if (!rc) rc = a_add(a, &n, 0, idx, st);
    if (!rc) a->kb.input = *idx;
    return rc;
}

static int a_conv(ab *a, int in, const char *name, int filters, int kh, int kw, int s,
                  fc_padding pad, fc_act act, int bias, int *idx, fc_status *st) {
    fc_node n;
    int rc = a_node(a, &n, FC_OP_CONV2D, "Conv2D", name, &in, 1, st);
    n.filters = filters, n.kh = kh, n.kw = kw, n.sh = n.sw = s, n.pad = pad, n.act = act;
    return rc ? rc : a_add(a, &n, bias ? FC_W_BIAS : 0, idx, st);
}

static int a_dw(ab *a, int in, const char *name, int s, int *idx, fc_status *st) {
    fc_node n;
    int rc = a_node(a, &n, FC_OP_DEPTHWISE, "DepthwiseConv2D", name, &in, 1, st);
    n.kh = n.kw = 3, n.sh = n.sw = s, n.pad = FC_PAD_SAME;
    return rc ? rc : a_add(a, &n, 0, idx, st);
}

static int a_bn(ab *a, int in, const char *name, float eps, int scale, int *idx, fc_status *st) {
    fc_node n;
    int rc = a_node(a, &n, FC_OP_BATCHNORM, "BatchNormalization", name, &in, 1, st);
    n.eps = eps;
    return rc ? rc : a_add(a, &n, FC_W_CENTER | (scale ? FC_W_SCALE : 0), idx, st);
}

static int a_relu(ab *a, int in, const char *name, float max, int *idx, fc_status *st) {
    fc_node n;
    int rc = a_node(a, &n, FC_OP_ACTIVATION, max > 0 ? "ReLU" : "Activation", name, &in, 1, st);
    n.act = FC_ACT_RELU, n.act_max = max;
    return rc ? rc : a_add(a, &n, 0, idx, st);
}

static int a_pool(ab *a, int in, const char *name, fc_op op, int k, int s, fc_padding pad,
                  int *idx, fc_status *st) {
    fc_node n;
    int rc = a_node(a, &n, op, op == FC_OP_MAXPOOL ? "MaxPooling2D" : "AveragePooling2D", name,
                    &in, 1, st);
    n.kh = n.kw = k, n.sh = n.sw = s, n.pad = pad;
    return rc ? rc : a_add(a, &n, 0, idx, st);
}

static int a_merge(ab *a, fc_op op, const char *name, const int *in, int n_in, int *idx,
                   fc_status *st) {
    fc_node n;
    int rc = a_node(a, &n, op, op == FC_OP_ADD ? "Add" : "Concatenate", name, in, n_in, st);
    return rc ? rc : a_add(a, &n, 0, idx, st);
}

static int a_dense(ab *a, int in, const char *name, int units, fc_act act, int *idx, fc_status *st) {
    fc_node n;
    int rc = a_node(a, &n, FC_OP_DENSE, "Dense", name, &in, 1, st);
    n.filters = units, n.act = act;
    if (rc) return rc;
    rc = fc_node_load_weights(&n, a->kb.chan[in], FC_W_BIAS, NULL, a->kb.ws, name, name, st);
    if (!rc) rc = fc_kb_add(&a->kb, &n, idx, st);
    fc_node_release(&n);
    return rc;
}

/* The include_top=True classifier: Flatten + fc1 + fc2 for VGG (fixed 224x224 input),
 * global average pooling for the others; then 1000-way softmax. */
static int a_top(ab *a, int x, const char *gap_name, fc_status *st) {
    const char *pred = top_name(a);
    fc_node n;
    int rc;
    if (!pred) return 0;
    if (!gap_name) {
        if ((rc = a_node(a, &n, FC_OP_FLATTEN, "Flatten", "flatten", &x, 1, st)) ||
            (rc = a_add(a, &n, 0, &x, st)) ||
            (rc = a_dense(a, x, "fc1", 4096, FC_ACT_RELU, &x, st)) ||
            (rc = a_dense(a, x, "fc2", 4096, FC_ACT_RELU, &x, st)))
            return rc;
    } else if ((rc = a_node(a, &n, FC_OP_GAP, "GlobalAveragePooling2D", gap_name, &x, 1, st)) ||
               (rc = a_add(a, &n, 0, &x, st))) {
        return rc;
    }
    if ((rc = a_dense(a, x, pred, 1000, FC_ACT_SOFTMAX, &x, st))) return rc;
    a->kb.g->output = x;
    return 0;
}

static int a_zeropad(ab *a, int in, const char *name, int p, int *idx, fc_status *st) {
    fc_node n;
    int rc = a_node(a, &n, FC_OP_ZEROPAD, "ZeroPadding2D", name, &in, 1, st);
    n.pad_t = n.pad_b = n.pad_l = n.pad_r = p;
    return rc ? rc : a_add(a, &n, 0, idx, st);
}

/* ---- VGG16 / VGG19: blockB_convI (3x3 same, relu), blockB_pool (2x2 / 2) ---- */
static int build_vgg(ab *a, int convs_345, fc_status *st) {
    static const int filters[5] = {64, 128, 256, 512, 512};
    int x, rc = a_input(a, &x, st);
    char nm[64];
    if (top_name(a)) a->kb.g->in_h = a->kb.g->in_w = 224; /* fc1 needs 7x7x512 */
    for (int blk = 1; blk <= 5 && !rc; blk++) {
        int nconv = blk <= 2 ? 2 : convs_345;
        for (int i = 1; i <= nconv && !rc; i++) {
            snprintf(nm, sizeof nm, "block%d_conv%d", blk, i);
            rc = a_conv(a, x, nm, filters[blk - 1], 3, 3, 1, FC_PAD_SAME, FC_ACT_RELU, 1, &x, st);
        }
        snprintf(nm, sizeof nm, "block%d_pool", blk);
        if (!rc) rc = a_pool(a, x, nm, FC_OP_MAXPOOL, 2, 2, FC_PAD_VALID, &x, st);
    }
    if (rc) return rc; /* x may be unset when a_input failed */
    a->kb.g->output = x;
    return a_top(a, x, NULL, st);
}

/* ---- MobileNetV2 (alpha 1.0): keras.applications.mobilenet_v2 ---- */
static int inverted_res(ab *a, int x, int expansion, int stride, int filters, int block,
                        int *out, fc_status *st) {
    char p[32], nm[64];
    int in = x, cin = a->kb.chan[x], rc = 0;
    if (block) snprintf(p, sizeof p, "block_%d_", block);
    else snprintf(p, sizeof p, "expanded_conv_");
#define NM(suffix) (snprintf(nm, sizeof nm, "%s%s", p, suffix), nm)
    if (block && ((rc = a_conv(a, x, NM("expand"), expansion * cin, 1, 1, 1, FC_PAD_SAME, FC_ACT_LINEAR, 0, &x, st)) ||
                  (rc = a_bn(a, x, NM("expand_BN"), 1e-3f, 1, &x, st)) ||
                  (rc = a_relu(a, x, NM("expand_relu"), 6, &x, st))))
        return rc;
    /* Keras pads stride-2 blocks with correct_pad() then uses 'valid': identical to TF
     * 'same' for a 3x3 kernel at every input size, so no separate pad node is needed. */
    if ((rc = a_dw(a, x, NM("depthwise"), stride, &x, st)) ||
        (rc = a_bn(a, x, NM("depthwise_BN"), 1e-3f, 1, &x, st)) ||
        (rc = a_relu(a, x, NM("depthwise_relu"), 6, &x, st)) ||
        (rc = a_conv(a, x, NM("project"), filters, 1, 1, 1, FC_PAD_SAME, FC_ACT_LINEAR, 0, &x, st)) ||
        (rc = a_bn(a, x, NM("project_BN"), 1e-3f, 1, &x, st)))
        return rc;
    if (cin == filters && stride == 1) {
        int two[2] = {in, x};
        rc = a_merge(a, FC_OP_ADD, NM("add"), two, 2, &x, st);
    }
#undef NM
    *out = x;
    return rc;
}

static int build_mobilenet_v2(ab *a, fc_status *st) {
    static const struct { int t, c, n, s; } cfg[7] = {
        {1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
        {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    int x, rc = a_input(a, &x, st), block = 0;
    if (rc || (rc = a_conv(a, x, "Conv1", 32, 3, 3, 2, FC_PAD_SAME, FC_ACT_LINEAR, 0, &x, st)) ||
        (rc = a_bn(a, x, "bn_Conv1", 1e-3f, 1, &x, st)) ||
        (rc = a_relu(a, x, "Conv1_relu", 6, &x, st)))
        return rc;
    for (int g = 0; g < 7 && !rc; g++)
        for (int i = 0; i < cfg[g].n && !rc; i++, block++)
            rc = inverted_res(a, x, cfg[g].t, i ? 1 : cfg[g].s, cfg[g].c, block, &x, st);
    if (rc || (rc = a_conv(a, x, "Conv_1", 1280, 1, 1, 1, FC_PAD_VALID, FC_ACT_LINEAR, 0, &x, st)) ||
        (rc = a_bn(a, x, "Conv_1_bn", 1e-3f, 1, &x, st)) ||
        (rc = a_relu(a, x, "out_relu", 6, &x, st)))
        return rc;
    a->kb.g->output = x;
    return a_top(a, x, "global_average_pooling2d", st);
}

/* ---- MobileNet (v1): keras.applications.mobilenet, any alpha ----
 * conv1 (3x3 / 2, 'same' as tf.keras builds it; Keras 2.2.4 padded ((0,1),(0,1)) and used
 * 'valid', the same at even sizes), then 13 depthwise-separable blocks; a stride-2 block
 * pads ((0,1),(0,1)) and convolves 'valid' in every version (not 'same' at odd sizes). The
 * widths are 32..1024 times alpha: read from the file's kernels (a weights file names no
 * alpha), alpha 1 for random weights. BN epsilon 1e-3, ReLU6. */
static int a_pad01(ab *a, int in, const char *name, int *idx, fc_status *st) {
    fc_node n;
    int rc = a_node(a, &n, FC_OP_ZEROPAD, "ZeroPadding2D", name, &in, 1, st);
    n.pad_t = n.pad_l = 0, n.pad_b = n.pad_r = 1;
    return rc ? rc : a_add(a, &n, 0, idx, st);
}

static int dw_separable(ab *a, int x, int filters, int stride, int id, int *out, fc_status *st) {
    char nm[64];
    int rc = 0;
#define NM(fmt) (snprintf(nm, sizeof nm, fmt, id), nm)
    if (stride == 2 && (rc = a_pad01(a, x, NM("conv_pad_%d"), &x, st))) return rc;
    fc_node n;
    if ((rc = a_node(a, &n, FC_OP_DEPTHWISE, "DepthwiseConv2D", NM("conv_dw_%d"), &x, 1, st))) return rc;
    n.kh = n.kw = 3, n.sh = n.sw = stride, n.pad = stride == 2 ? FC_PAD_VALID : FC_PAD_SAME;
    if ((rc = a_add(a, &n, 0, &x, st)) || (rc = a_bn(a, x, NM("conv_dw_%d_bn"), 1e-3f, 1, &x, st)) ||
        (rc = a_relu(a, x, NM("conv_dw_%d_relu"), 6, &x, st)) ||
        (rc = a_conv(a, x, NM("conv_pw_%d"), filters, 1, 1, 1, FC_PAD_SAME, FC_ACT_LINEAR, 0, &x, st)) ||
        (rc = a_bn(a, x, NM("conv_pw_%d_bn"), 1e-3f, 1, &x, st)) || (rc = a_relu(a, x, NM("conv_pw_%d_relu"), 6, &x, st)))
        return rc;
#undef NM
    *out = x;
    return 0;
}

static int build_mobilenet(ab *a, fc_status *st) {
    static const struct { int f, s; } blk[13] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2}, {512, 1},
                                                 {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
    const int from_file = a->kb.ws->get != NULL; /* widths from the kernels (alpha) */
    int x, rc = a_input(a, &x, st);
    if (rc || (rc = a_conv(a, x, "conv1", from_file ? -1 : 32, 3, 3, 2, FC_PAD_SAME, FC_ACT_LINEAR, 0, &x, st)) ||
        (rc = a_bn(a, x, "conv1_bn", 1e-3f, 1, &x, st)) || (rc = a_relu(a, x, "conv1_relu", 6, &x, st)))
        return rc;
    for (int i = 0; i < 13 && !rc; i++) rc = dw_separable(a, x, from_file ? -1 : blk[i].f, blk[i].s, i + 1, &x, st);
    if (rc) return rc;
    a->kb.g->output = x;
    /* include_top=True (mobilenet_1_0_224_tf.h5): GAP -> (1, 1, C) -> dropout -> conv_preds
     * (1x1, 1000, bias) -> (1000) -> softmax; the dropout is the identity at inference */
    fc_wsrc *ws = a->kb.ws;
    if (!ws->has_layer || !ws->has_layer(ws->ctx, "conv_preds")) return 0;
    fc_node n;
    if ((rc = a_node(a, &n, FC_OP_GAP, "GlobalAveragePooling2D", "global_average_pooling2d", &x, 1, st))) return rc;
    n.keepdims = 1;
    if ((rc = a_add(a, &n, 0, &x, st)) ||
        (rc = a_conv(a, x, "conv_preds", ws->get ? -1 : 1000, 1, 1, 1, FC_PAD_SAME, FC_ACT_LINEAR, 1, &x, st)) ||
        (rc = a_node(a, &n, FC_OP_RESHAPE, "Reshape", "reshape_2", &x, 1, st)))
        return rc;
    n.shape[0] = a->kb.chan[x], n.shape_rank = 1; /* MobileNet(classes=N): N from conv_preds's kernel */
    if ((rc = a_add(a, &n, 0, &x, st)) || (rc = a_node(a, &n, FC_OP_ACTIVATION, "Activation", "predictions", &x, 1, st)))
        return rc;
    n.act = FC_ACT_SOFTMAX;
    if ((rc = a_add(a, &n, 0, &x, st))) return rc;
    a->kb.g->output = x;
    return 0;
}

/* ---- ResNet50 (tf.keras naming: conv1_conv, conv2_block1_1_conv, ...) ---- */
static int res_block(ab *a, int x, int filters, int stride, int shortcut_conv, const char *p,
                     int *out, fc_status *st) {
    char nm[64];
    int sc = x, rc = 0;
    const float e = 1.001e-5f;
#define NM(suffix) (snprintf(nm, sizeof nm, "%s%s", p, suffix), nm)
    if (shortcut_conv &&
        ((rc = a_conv(a, x, NM("_0_conv"), 4 * filters, 1, 1, stride, FC_PAD_VALID, FC_ACT_LINEAR, 1, &sc, st)) ||
         (rc = a_bn(a, sc, NM("_0_bn"), e, 1, &sc, st))))
        return rc;
    if ((rc = a_conv(a, x, NM("_1_conv"), filters, 1, 1, stride, FC_PAD_VALID, FC_ACT_LINEAR, 1, &x, st)) ||
        (rc = a_bn(a, x, NM("_1_bn"), e, 1, &x, st)) || (rc = a_relu(a, x, NM("_1_relu"), 0, &x, st)) ||
        (rc = a_conv(a, x, NM("_2_conv"), filters, 3, 3, 1, FC_PAD_SAME, FC_ACT_LINEAR, 1, &x, st)) ||
        (rc = a_bn(a, x, NM("_2_bn"), e, 1, &x, st)) || (rc = a_relu(a, x, NM("_2_relu"), 0, &x, st)) ||
        (rc = a_conv(a, x, NM("_3_conv"), 4 * filters, 1, 1, 1, FC_PAD_VALID, FC_ACT_LINEAR, 1, &x, st)) ||
        (rc = a_bn(a, x, NM("_3_bn"), e, 1, &x, st)))
        return rc;
    int two[2] = {sc, x};
    if ((rc = a_merge(a, FC_OP_ADD, NM("_add"), two, 2, &x, st)) ||
        (rc = a_relu(a, x, NM("_out"), 0, &x, st)))
        return rc;
#undef NM
    *out = x;
    return 0;
}

/* ResNet50 of Keras <= 2.2.4 (weights file of fchollet/deep-learning-models v0.2):
 * conv1/bn_conv1, res{stage}{block}_branch2a..2c / _branch1, BN epsilon 1e-3. */
static int res_block_k2(ab *a, int x, int filters, int stride, int shortcut_conv, int stage,
                        char block, int *act_n, int *out, fc_status *st) {
    char c[32], b[32], nm[64];
    int sc = x, rc = 0;
    snprintf(c, sizeof c, "res%d%c_branch", stage, block);
    snprintf(b, sizeof b, "bn%d%c_branch", stage, block);
#define CN(s) (snprintf(nm, sizeof nm, "%s%s", c, s), nm)
#define BN(s) (snprintf(nm, sizeof nm, "%s%s", b, s), nm)
#define AN() (snprintf(nm, sizeof nm, "activation_%d", ++*act_n), nm)
    if ((rc = a_conv(a, x, CN("2a"), filters, 1, 1, stride, FC_PAD_VALID, FC_ACT_LINEAR, 1, &x, st)) ||
        (rc = a_bn(a, x, BN("2a"), 1e-3f, 1, &x, st)) || (rc = a_relu(a, x, AN(), 0, &x, st)) ||
        (rc = a_conv(a, x, CN("2b"), filters, 3, 3, 1, FC_PAD_SAME, FC_ACT_LINEAR, 1, &x, st)) ||
        (rc = a_bn(a, x, BN("2b"), 1e-3f, 1, &x, st)) || (rc = a_relu(a, x, AN(), 0, &x, st)) ||
        (rc = a_conv(a, x, CN("2c"), 4 * filters, 1, 1, 1, FC_PAD_VALID, FC_ACT_LINEAR, 1, &x, st)) ||
        (rc = a_bn(a, x, BN("2c"), 1e-3f, 1, &x, st)))
        return rc;
    if (shortcut_conv &&
        ((rc = a_conv(a, sc, CN("1"), 4 * filters, 1, 1, stride, FC_PAD_VALID, FC_ACT_LINEAR, 1, &sc, st)) ||
         (rc = a_bn(a, sc, BN("1"), 1e-3f, 1, &sc, st))))
        return rc;
    int two[2] = {x, sc};
    snprintf(nm, sizeof nm, "add_%d", stage * 10 + block - 'a'); /* Keras: add_N */
    if ((rc = a_merge(a, FC_OP_ADD, nm, two, 2, &x, st))) return rc;
    rc = a_relu(a, x, AN(), 0, out, st);
#undef CN
#undef BN
#undef AN
    return rc;
}

static int build_resnet50_k2(ab *a, fc_status *st) {
    static const int filters[4] = {64, 128, 256, 512}, blocks[4] = {3, 4, 6, 3};
    int x, rc = a_input(a, &x, st), act_n = 0;
    if (rc || (rc = a_zeropad(a, x, "conv1_pad", 3, &x, st)) ||
        (rc = a_conv(a, x, "conv1", 64, 7, 7, 2, FC_PAD_VALID, FC_ACT_LINEAR, 1, &x, st)) ||
        (rc = a_bn(a, x, "bn_conv1", 1e-3f, 1, &x, st)) ||
        (rc = a_relu(a, x, "activation_1", 0, &x, st)) || (rc = a_zeropad(a, x, "pool1_pad", 1, &x, st)) ||
        (rc = a_pool(a, x, "max_pooling2d_1", FC_OP_MAXPOOL, 3, 2, FC_PAD_VALID, &x, st)))
        return rc;
    act_n = 1;
    for (int s = 0; s < 4 && !rc; s++)
        for (int b = 0; b < blocks[s] && !rc; b++)
            rc = res_block_k2(a, x, filters[s], b == 0 && s > 0 ? 2 : 1, b == 0, s + 2, (char)('a' + b),
                              &act_n, &x, st);
    a->kb.g->output = x;
    return rc ? rc : a_top(a, x, "avg_pool", st);
}

/* ResNet50 / 101 / 152 (keras.applications.resnet: stack1 with 3, 4, 6|23|36, 3 blocks) */
static int build_resnet(ab *a, int depth, fc_status *st) {
    if (depth == 50 && a->kb.ws->has_layer && a->kb.ws->has_layer(a->kb.ws->ctx, "res2a_branch2a"))
        return build_resnet50_k2(a, st);
    static const int filters[4] = {64, 128, 256, 512};
    const int blocks[4] = {3, depth == 152 ? 8 : 4, depth == 50 ? 6 : depth == 101 ? 23 : 36, 3};
    int x, rc = a_input(a, &x, st);
    if (rc || (rc = a_zeropad(a, x, "conv1_pad", 3, &x, st)) ||
        (rc = a_conv(a, x, "conv1_conv", 64, 7, 7, 2, FC_PAD_VALID, FC_ACT_LINEAR, 1, &x, st)) ||
        (rc = a_bn(a, x, "conv1_bn", 1.001e-5f, 1, &x, st)) ||
        (rc = a_relu(a, x, "conv1_relu", 0, &x, st)) || (rc = a_zeropad(a, x, "pool1_pad", 1, &x, st)) ||
        (rc = a_pool(a, x, "pool1_pool", FC_OP_MAXPOOL, 3, 2, FC_PAD_VALID, &x, st)))
        return rc;
    char p[32];
    for (int s = 0; s < 4 && !rc; s++)
        for (int b = 1; b <= blocks[s] && !rc; b++) {
            snprintf(p, sizeof p, "conv%d_block%d", s + 2, b);
            rc = res_block(a, x, filters[s], b == 1 && s > 0 ? 2 : 1, b == 1, p, &x, st);
        }
    a->kb.g->output = x;
    return rc ? rc : a_top(a, x, "avg_pool", st);
}

/* ---- InceptionV3: auto-named conv2d_N / batch_normalization_N / activation_N ---- */
typedef struct {
    ab *a;
    int conv_base, bn_base, conv, bn, act, mp, ap, cat;
} incep;

static const char *autoname(char *buf, size_t cap, const char *prefix, int base, int k) {
    if (base == 0 && k == 0) snprintf(buf, cap, "%s", prefix);
    else snprintf(buf, cap, "%s_%d", prefix, base + k);
    return buf;
}

/* First N such that the source has "prefix_N" (0 for a bare "prefix"); 1 when unknown. */
static int name_base(fc_wsrc *ws, const char *prefix) {
    if (!ws->has_layer) return 1;
    if (ws->has_layer(ws->ctx, prefix)) return 0;
    char nm[64];
    for (int k = 1; k <= 4000; k++) {
        snprintf(nm, sizeof nm, "%s_%d", prefix, k);
        if (ws->has_layer(ws->ctx, nm)) return k;
    }
    return 1;
}

static int cbn(incep *I, int x, int filters, int r, int c, int s, fc_padding pad, int *out,
               fc_status *st) {
    char nm[64];
    int rc;
    if ((rc = a_conv(I->a, x, autoname(nm, sizeof nm, "conv2d", I->conv_base, I->conv++), filters, r, c, s, pad, FC_ACT_LINEAR, 0, &x, st)) ||
        (rc = a_bn(I->a, x, autoname(nm, sizeof nm, "batch_normalization", I->bn_base, I->bn++), 1e-3f, 0, &x, st)))
        return rc;
    return a_relu(I->a, x, autoname(nm, sizeof nm, "activation", I->conv_base, I->act++), 0, out, st);
}

#define SAME FC_PAD_SAME
#define VALID FC_PAD_VALID

static int apool_branch(incep *I, int x, int filters, int *out, fc_status *st) {
    char nm[64];
    int rc = a_pool(I->a, x, autoname(nm, sizeof nm, "average_pooling2d", I->conv_base, I->ap++),
                    FC_OP_AVGPOOL, 3, 1, SAME, &x, st);
    return rc ? rc : cbn(I, x, filters, 1, 1, 1, SAME, out, st);
}

static int concat(incep *I, const char *name, const int *br, int n, int *out, fc_status *st) {
    char nm[64];
    if (!name) name = autoname(nm, sizeof nm, "concatenate", I->conv_base, I->cat++);
    return a_merge(I->a, FC_OP_CONCAT, name, br, n, out, st);
}

/* mixed0..2 (35x35), pool branch width pf */
static int mixed_a(incep *I, int x, int pf, const char *name, int *out, fc_status *st) {
    int b[4], t, rc;
    if ((rc = cbn(I, x, 64, 1, 1, 1, SAME, &b[0], st)) || (rc = cbn(I, x, 48, 1, 1, 1, SAME, &t, st)) ||
        (rc = cbn(I, t, 64, 5, 5, 1, SAME, &b[1], st)) || (rc = cbn(I, x, 64, 1, 1, 1, SAME, &t, st)) ||
        (rc = cbn(I, t, 96, 3, 3, 1, SAME, &t, st)) || (rc = cbn(I, t, 96, 3, 3, 1, SAME, &b[2], st)) ||
        (rc = apool_branch(I, x, pf, &b[3], st)))
        return rc;
    return concat(I, name, b, 4, out, st);
}

/* mixed4..7 (17x17), 7x7 branch width c */
static int mixed_c(incep *I, int x, int c, const char *name, int *out, fc_status *st) {
    int b[4], t, rc;
    if ((rc = cbn(I, x, 192, 1, 1, 1, SAME, &b[0], st)) || (rc = cbn(I, x, c, 1, 1, 1, SAME, &t, st)) ||
        (rc = cbn(I, t, c, 1, 7, 1, SAME, &t, st)) || (rc = cbn(I, t, 192, 7, 1, 1, SAME, &b[1], st)) ||
        (rc = cbn(I, x, c, 1, 1, 1, SAME, &t, st)) || (rc = cbn(I, t, c, 7, 1, 1, SAME, &t, st)) ||
        (rc = cbn(I, t, c, 1, 7, 1, SAME, &t, st)) || (rc = cbn(I, t, c, 7, 1, 1, SAME, &t, st)) ||
        (rc = cbn(I, t, 192, 1, 7, 1, SAME, &b[2], st)) || (rc = apool_branch(I, x, 192, &b[3], st)))
        return rc;
    return concat(I, name, b, 4, out, st);
}

/* mixed9, mixed10 (8x8) */
static int mixed_e(incep *I, int x, int i, int *out, fc_status *st) {
    int b[4], t, u[2], rc;
    char nm[32], nm2[32];
    snprintf(nm, sizeof nm, "mixed9_%d", i);
    snprintf(nm2, sizeof nm2, "mixed%d", 9 + i);
    if ((rc = cbn(I, x, 320, 1, 1, 1, SAME, &b[0], st)) || (rc = cbn(I, x, 384, 1, 1, 1, SAME, &t, st)) ||
        (rc = cbn(I, t, 384, 1, 3, 1, SAME, &u[0], st)) || (rc = cbn(I, t, 384, 3, 1, 1, SAME, &u[1], st)) ||
        (rc = concat(I, nm, u, 2, &b[1], st)) || (rc = cbn(I, x, 448, 1, 1, 1, SAME, &t, st)) ||
        (rc = cbn(I, t, 384, 3, 3, 1, SAME, &t, st)) || (rc = cbn(I, t, 384, 1, 3, 1, SAME, &u[0], st)) ||
        (rc = cbn(I, t, 384, 3, 1, 1, SAME, &u[1], st)) || (rc = concat(I, NULL, u, 2, &b[2], st)) ||
        (rc = apool_branch(I, x, 192, &b[3], st)))
        return rc;
    return concat(I, nm2, b, 4, out, st);
}

static int build_inception_v3(ab *a, fc_status *st) {
    incep I = {a, name_base(a->kb.ws, "conv2d"), name_base(a->kb.ws, "batch_normalization"), 0, 0, 0, 0, 0, 0};
    int x, b[4], t, rc = a_input(a, &x, st);
    char nm[64];
    if (rc || (rc = cbn(&I, x, 32, 3, 3, 2, VALID, &x, st)) || (rc = cbn(&I, x, 32, 3, 3, 1, VALID, &x, st)) ||
        (rc = cbn(&I, x, 64, 3, 3, 1, SAME, &x, st)) ||
        (rc = a_pool(a, x, autoname(nm, sizeof nm, "max_pooling2d", I.conv_base, I.mp++), FC_OP_MAXPOOL, 3, 2, VALID, &x, st)) ||
        (rc = cbn(&I, x, 80, 1, 1, 1, VALID, &x, st)) || (rc = cbn(&I, x, 192, 3, 3, 1, VALID, &x, st)) ||
        (rc = a_pool(a, x, autoname(nm, sizeof nm, "max_pooling2d", I.conv_base, I.mp++), FC_OP_MAXPOOL, 3, 2, VALID, &x, st)) ||
        (rc = mixed_a(&I, x, 32, "mixed0", &x, st)) || (rc = mixed_a(&I, x, 64, "mixed1", &x, st)) ||
        (rc = mixed_a(&I, x, 64, "mixed2", &x, st)))
        return rc;
    /* mixed3: 17x17 reduction */
    if ((rc = cbn(&I, x, 384, 3, 3, 2, VALID, &b[0], st)) || (rc = cbn(&I, x, 64, 1, 1, 1, SAME, &t, st)) ||
        (rc = cbn(&I, t, 96, 3, 3, 1, SAME, &t, st)) || (rc = cbn(&I, t, 96, 3, 3, 2, VALID, &b[1], st)) ||
        (rc = a_pool(a, x, autoname(nm, sizeof nm, "max_pooling2d", I.conv_base, I.mp++), FC_OP_MAXPOOL, 3, 2, VALID, &b[2], st)) ||
        (rc = concat(&I, "mixed3", b, 3, &x, st)) || (rc = mixed_c(&I, x, 128, "mixed4", &x, st)) ||
        (rc = mixed_c(&I, x, 160, "mixed5", &x, st)) || (rc = mixed_c(&I, x, 160, "mixed6", &x, st)) ||
        (rc = mixed_c(&I, x, 192, "mixed7", &x, st)))
        return rc;
    /* mixed8: 8x8 reduction */
    if ((rc = cbn(&I, x, 192, 1, 1, 1, SAME, &t, st)) || (rc = cbn(&I, t, 320, 3, 3, 2, VALID, &b[0], st)) ||
        (rc = cbn(&I, x, 192, 1, 1, 1, SAME, &t, st)) || (rc = cbn(&I, t, 192, 1, 7, 1, SAME, &t, st)) ||
        (rc = cbn(&I, t, 192, 7, 1, 1, SAME, &t, st)) || (rc = cbn(&I, t, 192, 3, 3, 2, VALID, &b[1], st)) ||
        (rc = a_pool(a, x, autoname(nm, sizeof nm, "max_pooling2d", I.conv_base, I.mp++), FC_OP_MAXPOOL, 3, 2, VALID, &b[2], st)) ||
        (rc = concat(&I, "mixed8", b, 3, &x, st)) || (rc = mixed_e(&I, x, 0, &x, st)) ||
        (rc = mixed_e(&I, x, 1, &x, st)))
        return rc;
    a->kb.g->output = x;
    return a_top(a, x, "avg_pool", st);
}

/* ---- registry, detection, entry points ---- */
static const struct {
    const char *name;
    const char *marker; /* a layer only this architecture's files have */
    const char *not_marker;
} archs[] = {
    {"vgg19", "block5_conv4", NULL},
    {"vgg16", "block5_conv3", "block5_conv4"},
    {"mobilenet_v2", "block_16_project", NULL},
    {"mobilenet", "conv_pw_13", NULL},
    {"resnet152", "conv4_block36_3_conv", NULL},
    {"resnet101", "conv4_block23_3_conv", "conv4_block36_3_conv"},
    {"resnet50", "conv5_block3_3_conv", "conv4_block7_3_conv"},
    {"resnet50", "res5c_branch2c", NULL}, /* Keras <= 2.2.4 naming */
    {"inception_v3", "mixed10", NULL},
};

const char *fc_arch_list(void) { return "vgg16, vgg19, resnet50, resnet101, resnet152, inception_v3, mobilenet_v2, mobilenet"; }

int fc_arch_known(const char *arch) {
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (!strcmp(archs[i].name, arch)) return 1;
    return 0;
}

const char *fc_arch_detect(const char *const *names, int n) {
    /* ResNet50V2/101V2/152V2 share V1's conv names; their post_bn marks them (no built-in
     * topology: an unknown name the loader reports as such) */
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], "post_bn")) return "resnet_v2";
    for (size_t a = 0; a < sizeof archs / sizeof archs[0]; a++) {
        int has = 0, hasnot = 0;
        for (int i = 0; i < n; i++) {
            has |= !strcmp(names[i], archs[a].marker);
            hasnot |= archs[a].not_marker && !strcmp(names[i], archs[a].not_marker);
        }
        if (has && !hasnot) return archs[a].name;
    }
    /* InceptionV3 layers are auto-named; a file listing only weighted layers still has
     * exactly its 94 convolutions conv2d[_N] */
    int convs = 0;
    for (int i = 0; i < n; i++) {
        const char *p = names[i];
        if (strncmp(p, "conv2d", 6)) continue;
        p += 6;
        if (*p == '_') p += p[1] ? 1 : 0;
        while (*p >= '0' && *p <= '9') p++;
        convs += *p == 0;
    }
    return convs == 94 ? "inception_v3" : NULL;
}

int fc_arch_build(const char *arch, fc_graph *g, fc_wsrc *ws, fc_status *st) {
    ab a;
    memset(&a, 0, sizeof a);
    a.kb.g = g, a.kb.ws = ws, a.kb.what = ws->file ? ws->file : arch, a.kb.input = -1;
    int rc;
    if (!strcmp(arch, "vgg16")) rc = build_vgg(&a, 3, st);
    else if (!strcmp(arch, "vgg19")) rc = build_vgg(&a, 4, st);
    else if (!strcmp(arch, "mobilenet_v2")) rc = build_mobilenet_v2(&a, st);
    else if (!strcmp(arch, "mobilenet")) rc = build_mobilenet(&a, st);
    else if (!strcmp(arch, "resnet50")) rc = build_resnet(&a, 50, st);
    else if (!strcmp(arch, "resnet101")) rc = build_resnet(&a, 101, st);
    else if (!strcmp(arch, "resnet152")) rc = build_resnet(&a, 152, st);
    else if (!strcmp(arch, "inception_v3")) rc = build_inception_v3(&a, st);
    else rc = fc_fail(st, FC_ERR_ARG, "unknown architecture '%s' (known: %s)", arch, fc_arch_list());
    if (!rc) snprintf(g->arch, sizeof g->arch, "%s", arch);
    free(a.kb.chan);
    free(a.kb.hw);
    return rc;
}

int fc_arch_build_random(const char *arch, fc_graph *g, uint64_t seed, fc_status *st) {
    fc_wsrc ws;
    memset(&ws, 0, sizeof ws);
    ws.rng = seed * 0x9E3779B97F4A7C15ull + 1;
    ws.file = "random weights";
    int rc = fc_wsrc_begin(&ws, st);
    if (!rc) rc = fc_arch_build(arch, g, &ws, st);
    if (!rc) rc = fc_wsrc_finish(&ws, g, st);
    if (!rc) snprintf(g->source, sizeof g->source, "%s (random weights, seed %llu)", arch, (unsigned long long)seed);
    fc_wsrc_end(&ws);
    return rc;
}
