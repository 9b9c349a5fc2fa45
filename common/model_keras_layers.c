/* model_keras_layers.c - one Keras layer config (JSON) -> fc_graph node(s), with its
 * weights. Every number from the file is range-checked before use. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

void fc_node_release(fc_node *n) {
    free(n->inputs), free(n->w), free(n->b);
    free(n->gamma), free(n->beta), free(n->mean), free(n->var);
    memset(n, 0, sizeof *n);
}

/* Spatial output size along one axis (-1 unknown), TF 'same'/'valid' rules. */
static int out_dim(int in, int k, int s, int d, fc_padding pad) {
    if (in <= 0) return -1;
    if (pad == FC_PAD_SAME) return (in + s - 1) / s;
    int ek = (k - 1) * d + 1;
    return in >= ek ? (in - ek) / s + 1 : -1;
}

/* A Reshape's target with its -1 resolved from input j's size; 0 if that is unknown or does
 * not divide (graph.c names the layer then). d[] is (h, w, c), (1, 1, c) for a vector. */
static int reshape_dims(const fc_kbuild *b, const fc_node *n, int j, int64_t d[3]) {
    int r = n->shape_rank, k = 3 - r, free_i = -1;
    int64_t known = 1, e = (int64_t)b->hw[2 * j] * b->hw[2 * j + 1] * b->chan[j];
    d[0] = d[1] = d[2] = 1;
    for (int i = 0; i < r; i++) {
        d[k + i] = n->shape[i];
        if (n->shape[i] < 0) free_i = k + i;
        else if (n->shape[i] > (1 << 30) || known > ((int64_t)1 << 32) || known < 0) known = -1; /* no overflow */
        else known *= n->shape[i];
    }
    if (free_i < 0) return 1;
    if (b->hw[2 * j] < 0 || b->hw[2 * j + 1] < 0 || b->chan[j] < 0 || known <= 0 || e % known) return 0;
    d[free_i] = e / known;
    return 1;
}

/* The output's height and width (-1 unknown) from the inputs' (b->hw). Sizes over
 * FC_MAX_DIM become unknown: graph.c refuses the layer by name once the input size is
 * final (--size may change it), and chained paddings cannot overflow an int here. */
static void node_out_hw(const fc_kbuild *b, const fc_node *n, int hw[2]) {
    int64_t h = n->n_inputs ? b->hw[2 * n->inputs[0]] : -1, w = n->n_inputs ? b->hw[2 * n->inputs[0] + 1] : -1;
    switch (n->op) {
    case FC_OP_INPUT:
        h = b->g->in_h > 0 ? b->g->in_h : -1, w = b->g->in_w > 0 ? b->g->in_w : -1;
        break;
    case FC_OP_CONV2D: case FC_OP_DEPTHWISE: case FC_OP_MAXPOOL: case FC_OP_AVGPOOL:
        h = out_dim(h, n->kh, n->sh, n->dh, n->pad), w = out_dim(w, n->kw, n->sw, n->dw, n->pad);
        break;
    case FC_OP_ZEROPAD:
        h = h < 0 ? -1 : h + n->pad_t + n->pad_b, w = w < 0 ? -1 : w + n->pad_l + n->pad_r;
        break;
    case FC_OP_CROP:
        h = h < 0 || h <= n->pad_t + n->pad_b ? -1 : h - n->pad_t - n->pad_b;
        w = w < 0 || w <= n->pad_l + n->pad_r ? -1 : w - n->pad_l - n->pad_r;
        break;
    case FC_OP_GAP: case FC_OP_GMP: case FC_OP_FLATTEN: case FC_OP_DENSE:
        h = w = 1;
        break;
    case FC_OP_ADD: case FC_OP_MUL: /* broadcasting: the largest, if all are known */
        for (int k = 1; k < n->n_inputs; k++) {
            int64_t kh = b->hw[2 * n->inputs[k]], kw = b->hw[2 * n->inputs[k] + 1];
            h = h < 0 || kh < 0 ? -1 : kh > h ? kh : h;
            w = w < 0 || kw < 0 ? -1 : kw > w ? kw : w;
        }
        break;
    case FC_OP_RESHAPE: {
        int64_t d[3];
        int known = reshape_dims(b, n, n->inputs[0], d);
        h = known ? d[0] : -1, w = known ? d[1] : -1;
        break;
    }
    default:
        break;
    }
    hw[0] = h > FC_MAX_DIM ? -1 : (int)h, hw[1] = w > FC_MAX_DIM ? -1 : (int)w;
}

int fc_kb_add(fc_kbuild *b, fc_node *n, int *idx, fc_status *st) {
    int64_t c64 = fc_node_out_channels(b->g, n, b->chan);
    if (c64 > FC_MAX_DIM * 16) { /* graph.c's limit, refused before any int holds it */
        fc_fail(st, FC_ERR_FORMAT, "%s: layer '%s' (%s): %lld output channels, over the limit of %d", b->what,
                n->name, n->class_name, (long long)c64, FC_MAX_DIM * 16);
        fc_node_release(n);
        return st->code;
    }
    int c = (int)c64, hw[2] = {-1, -1};
    node_out_hw(b, n, hw); /* inputs precede n, so their sizes are recorded */
    if (n->op == FC_OP_FLATTEN && n->n_inputs == 1) { /* known when the input size is fixed */
        int j = n->inputs[0];
        int64_t f = (int64_t)b->hw[2 * j] * b->hw[2 * j + 1] * b->chan[j];
        c = b->hw[2 * j] > 0 && b->hw[2 * j + 1] > 0 && b->chan[j] > 0 && f <= (1 << 30) ? (int)f : -1;
    }
    int64_t d[3];
    if (n->op == FC_OP_RESHAPE && c < 0 && reshape_dims(b, n, n->inputs[0], d) && d[2] <= (1 << 30))
        c = (int)d[2];
    int i = fc_graph_add(b->g, n, st);
    memset(n, 0, sizeof *n); /* the graph owns (or freed) its buffers now */
    if (i < 0) return st->code ? (int)st->code : FC_ERR_INTERNAL;
    if (i >= b->chan_cap) {
        int cap = b->chan_cap ? b->chan_cap * 2 : 64;
        while (cap <= i) cap *= 2;
        int *p = realloc(b->chan, (size_t)cap * sizeof *p);
        if (!p) return fc_fail(st, FC_ERR_NOMEM, "out of memory");
        b->chan = p;
        int *q = realloc(b->hw, (size_t)cap * 2 * sizeof *q);
        if (!q) return fc_fail(st, FC_ERR_NOMEM, "out of memory");
        b->hw = q, b->chan_cap = cap;
    }
    b->chan[i] = c;
    b->hw[2 * i] = hw[0], b->hw[2 * i + 1] = hw[1];
    *idx = i;
    return 0;
}

/* Evaluates to `code` itself (what lfail returns) so that the static analyzer, which does
 * not follow variadic calls, sees that LFAIL is nonzero. */
#define LFAIL(code, ...) (lfail(b, L, st, code, __VA_ARGS__), (int)(code))
static int lfail(const fc_kbuild *b, const fc_klayer *L, fc_status *st, fc_code code,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int lfail(const fc_kbuild *b, const fc_klayer *L, fc_status *st, fc_code code,
                 const char *fmt, ...) {
    char m[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    return fc_fail(st, code, "%s: layer '%s' (%s): %s", b->what, L->name, L->cls, m);
}

/* An int or [a, b] (or [a] / Keras 3 tuples) -> two ints in [lo, FC_MAX_DIM]. */
static int get_pair(const fc_kbuild *b, const fc_klayer *L, const char *key, int def, int lo,
                    int out[2], fc_status *st) {
    json_t *v = json_object_get(L->cfg, key);
    if (!v || json_is_null(v)) {
        out[0] = out[1] = def;
        return 0;
    }
    if (json_is_integer(v)) {
        out[0] = out[1] = (int)(json_integer_value(v) > FC_MAX_DIM ? -1 : json_integer_value(v));
    } else if (json_is_array(v) && (json_array_size(v) == 2 || json_array_size(v) == 1) &&
               json_is_integer(json_array_get(v, 0)) &&
               json_is_integer(json_array_get(v, json_array_size(v) - 1))) {
        json_int_t a = json_integer_value(json_array_get(v, 0));
        json_int_t c = json_integer_value(json_array_get(v, json_array_size(v) - 1));
        out[0] = a > FC_MAX_DIM || a < -1 ? -1 : (int)a;
        out[1] = c > FC_MAX_DIM || c < -1 ? -1 : (int)c;
    } else {
        return LFAIL(FC_ERR_FORMAT, "'%s' must be an integer or a pair of integers", key);
    }
    if (out[0] < lo || out[1] < lo || out[0] > FC_MAX_DIM || out[1] > FC_MAX_DIM)
        return LFAIL(FC_ERR_FORMAT, "'%s' is out of range", key);
    return 0;
}

static int get_int(const fc_kbuild *b, const fc_klayer *L, const char *key, int def, int lo,
                   int hi, int *out, fc_status *st) {
    json_t *v = json_object_get(L->cfg, key);
    if (!v || json_is_null(v)) {
        if (def < lo) return LFAIL(FC_ERR_FORMAT, "missing '%s'", key);
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return LFAIL(FC_ERR_FORMAT, "'%s' must be an integer in [%d, %d]", key, lo, hi);
    *out = (int)json_integer_value(v);
    return 0;
}

static int get_bool(const fc_klayer *L, const char *key, int def) {
    json_t *v = json_object_get(L->cfg, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

static int get_num(const fc_kbuild *b, const fc_klayer *L, const char *key, double def,
                   double *out, fc_status *st) {
    json_t *v = json_object_get(L->cfg, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_number(v)) return LFAIL(FC_ERR_FORMAT, "'%s' must be a number", key);
    *out = json_number_value(v);
    if (!(*out > -1e30 && *out < 1e30)) return LFAIL(FC_ERR_FORMAT, "'%s' is out of range", key);
    return 0;
}

static int check_format(const fc_kbuild *b, const fc_klayer *L, fc_status *st) {
    const char *df = json_string_value(json_object_get(L->cfg, "data_format"));
    if (df && strcmp(df, "channels_last") != 0)
        return LFAIL(FC_ERR_UNSUPPORTED, "data_format '%s' is not supported (channels_last only)", df);
    return 0;
}

/* Keras activation names (tf.keras and Keras 3 keras.activations; their defaults: "elu"
 * alpha 1, "leaky_relu" negative slope 0.2). "hard_sigmoid" is Keras 2's 0.2x + 0.5 here;
 * parse_act makes it Keras 3's relu6(x + 3) / 6 in a Keras 3 file. */
static const struct {
    const char *name;
    fc_act act;
    float max, alpha;
} act_names[] = {
    {"linear", FC_ACT_LINEAR, 0, 0},       {"relu", FC_ACT_RELU, 0, 0},
    {"relu6", FC_ACT_RELU, 6, 0},          {"leaky_relu", FC_ACT_RELU, 0, 0.2f},
    {"sigmoid", FC_ACT_SIGMOID, 0, 0},     {"tanh", FC_ACT_TANH, 0, 0},
    {"softmax", FC_ACT_SOFTMAX, 0, 0},     {"swish", FC_ACT_SWISH, 0, 0},
    {"silu", FC_ACT_SWISH, 0, 0},          {"hard_sigmoid", FC_ACT_HARD_SIGMOID, 0, 0},
    {"gelu", FC_ACT_GELU, 0, 0},           {"elu", FC_ACT_ELU, 0, 1},
    {"selu", FC_ACT_SELU, 0, 0},           {"softplus", FC_ACT_SOFTPLUS, 0, 0},
    {"softsign", FC_ACT_SOFTSIGN, 0, 0},   {"exponential", FC_ACT_EXP, 0, 0},
    {"hard_silu", FC_ACT_HARD_SWISH, 0, 0}, {"hard_swish", FC_ACT_HARD_SWISH, 0, 0},
    {"mish", FC_ACT_MISH, 0, 0},
};

/* Activation given as a string, or Keras 3's serialized {"class_name", "config"}. */
static int parse_act(const fc_kbuild *b, const fc_klayer *L, json_t *v, fc_node *n,
                     fc_status *st) {
    const char *s = json_string_value(v);
    if (!s && json_is_object(v)) {
        json_t *c = json_object_get(v, "config");
        s = json_is_string(c) ? json_string_value(c)
                              : json_string_value(json_object_get(v, "class_name"));
    }
    if (!v || json_is_null(v)) s = "linear";
    if (!s) return LFAIL(FC_ERR_FORMAT, "bad 'activation'");
    n->act_max = n->act_alpha = n->act_threshold = 0;
    for (size_t i = 0; i < sizeof act_names / sizeof act_names[0]; i++) {
        if (strcmp(s, act_names[i].name)) continue;
        n->act = act_names[i].act, n->act_max = act_names[i].max, n->act_alpha = act_names[i].alpha;
        if (n->act != FC_ACT_HARD_SIGMOID || !b->keras3) return 0;
        /* Keras 3's formula; in the weights' hash too, so that a store extracted with the
         * Keras 2 formula (featcache before it read the version) is not extended */
        n->act = FC_ACT_HARD_SIGMOID3;
        return fc_wsrc_hash_tagged(b->ws, "keras3 hard_sigmoid", NULL, 0, st);
    }
    return LFAIL(FC_ERR_UNSUPPORTED, "unsupported activation '%s'", s);
}

static int parse_padding(const fc_kbuild *b, const fc_klayer *L, fc_node *n, fc_status *st) {
    const char *p = json_string_value(json_object_get(L->cfg, "padding"));
    if (!p || !strcmp(p, "valid")) n->pad = FC_PAD_VALID;
    else if (!strcmp(p, "same")) n->pad = FC_PAD_SAME;
    else return LFAIL(FC_ERR_UNSUPPORTED, "unsupported padding '%s'", p);
    return 0;
}

static int node_init(const fc_kbuild *b, const fc_klayer *L, fc_op op, int need_inputs,
                     fc_node *n, fc_status *st) {
    memset(n, 0, sizeof *n);
    if (need_inputs > 0 && L->n_inputs != need_inputs)
        return LFAIL(FC_ERR_FORMAT, "expects %d input(s), has %d", need_inputs, L->n_inputs);
    if (need_inputs < 0 && L->n_inputs < 1)
        return LFAIL(FC_ERR_FORMAT, "has no inputs");
    if (strlen(L->name) >= sizeof n->name - 16)
        return LFAIL(FC_ERR_FORMAT, "layer name is too long");
    n->op = op;
    snprintf(n->name, sizeof n->name, "%s", L->name);
    snprintf(n->class_name, sizeof n->class_name, "%s", L->cls);
    n->trainable = L->trainable;
    n->kh = n->kw = n->sh = n->sw = n->dh = n->dw = 1;
    n->depth_multiplier = 1;
    n->act = FC_ACT_LINEAR;
    n->inputs = malloc((size_t)(L->n_inputs ? L->n_inputs : 1) * sizeof *n->inputs);
    if (!n->inputs) return fc_fail(st, FC_ERR_NOMEM, "out of memory");
    memcpy(n->inputs, L->inputs, (size_t)L->n_inputs * sizeof *n->inputs);
    n->n_inputs = L->n_inputs;
    return 0;
}

/* kernel_size, strides, dilation_rate, padding, data_format of a convolution. */
static int conv_geom(const fc_kbuild *b, const fc_klayer *L, fc_node *n, fc_status *st) {
    int k[2], s[2], d[2], rc;
    if ((rc = check_format(b, L, st)) || (rc = get_pair(b, L, "kernel_size", -1, 1, k, st)) ||
        (rc = get_pair(b, L, "strides", 1, 1, s, st)) ||
        (rc = get_pair(b, L, "dilation_rate", 1, 1, d, st)) || (rc = parse_padding(b, L, n, st)))
        return rc;
    n->kh = k[0], n->kw = k[1], n->sh = s[0], n->sw = s[1], n->dh = d[0], n->dw = d[1];
    return 0;
}

static int cin_of(const fc_kbuild *b, const fc_klayer *L) {
    return L->n_inputs ? b->chan[L->inputs[0]] : -1;
}

/* Weights of L into n; `kvar` names the kernel variable (NULL: "kernel"). */
static int load_weights(fc_kbuild *b, const fc_klayer *L, fc_node *n, int cin, int flags,
                        const char *kvar, fc_status *st) {
    return fc_node_load_weights(n, cin, flags, kvar, b->ws, L->group, L->name, st);
}

static int bias_flag(const fc_klayer *L) {
    return get_bool(L, "use_bias", 1) ? FC_W_BIAS : 0;
}

/* Each layer class below fills the fields of one node that fc_kb_add_layer has set up
 * (node_init: op, name, inputs) and adds to the graph afterwards. */

/* Conv2D, DepthwiseConv2D. */
static int c_conv(fc_kbuild *b, const fc_klayer *L, fc_node *n, fc_status *st) {
    int rc;
    if ((rc = conv_geom(b, L, n, st)) ||
        (rc = parse_act(b, L, json_object_get(L->cfg, "activation"), n, st)))
        return rc;
    if (n->op == FC_OP_DEPTHWISE)
        rc = get_int(b, L, "depth_multiplier", 1, 1, FC_MAX_DIM, &n->depth_multiplier, st);
    else
        rc = get_int(b, L, "filters", -1, 1, FC_MAX_DIM, &n->filters, st);
    return rc ? rc : load_weights(b, L, n, cin_of(b, L), bias_flag(L), NULL, st);
}

/* SeparableConv2D = hidden depthwise node "NAME/depthwise" (n as set up, added here) +
 * pointwise 1x1 node NAME (n on return). */
static int c_separable(fc_kbuild *b, const fc_klayer *L, fc_node *n, fc_status *st) {
    int rc, dwi, filters;
    if ((rc = conv_geom(b, L, n, st)) ||
        (rc = get_int(b, L, "depth_multiplier", 1, 1, FC_MAX_DIM, &n->depth_multiplier, st)) ||
        (rc = get_int(b, L, "filters", -1, 1, FC_MAX_DIM, &filters, st)))
        return rc;
    snprintf(n->name, sizeof n->name, "%s/depthwise", L->name);
    n->hidden = 1;
    if ((rc = load_weights(b, L, n, cin_of(b, L), 0, "depthwise_kernel", st)) ||
        (rc = fc_kb_add(b, n, &dwi, st)))
        return rc;
    fc_klayer P = *L;
    P.inputs = &dwi, P.n_inputs = 1;
    if ((rc = node_init(b, &P, FC_OP_CONV2D, 1, n, st)) ||
        (rc = parse_act(b, L, json_object_get(L->cfg, "activation"), n, st)))
        return rc;
    n->filters = filters;
    if ((rc = load_weights(b, L, n, b->chan[dwi], bias_flag(L), "pointwise_kernel", st)))
        return rc;
    n->params += b->g->nodes[dwi].params;
    return 0;
}

static int c_dense(fc_kbuild *b, const fc_klayer *L, fc_node *n, fc_status *st) {
    int rc;
    if ((rc = get_int(b, L, "units", -1, 1, 1 << 24, &n->filters, st)) ||
        (rc = parse_act(b, L, json_object_get(L->cfg, "activation"), n, st)))
        return rc;
    return load_weights(b, L, n, cin_of(b, L), bias_flag(L), NULL, st);
}

static int c_bn(fc_kbuild *b, const fc_klayer *L, fc_node *n, fc_status *st) {
    int rc;
    double eps;
    json_t *ax = json_object_get(L->cfg, "axis");
    if (json_is_array(ax) && json_array_size(ax) == 1) ax = json_array_get(ax, 0);
    if (ax && !(json_is_integer(ax) && (json_integer_value(ax) == -1 || json_integer_value(ax) == 3)))
        return LFAIL(FC_ERR_UNSUPPORTED, "only the channel axis (-1 or 3) is supported");
    if ((rc = get_num(b, L, "epsilon", 1e-3, &eps, st))) return rc;
    if (!(eps >= 0)) return LFAIL(FC_ERR_FORMAT, "negative epsilon");
    n->eps = (float)eps;
    int flags = (get_bool(L, "center", 1) ? FC_W_CENTER : 0) | (get_bool(L, "scale", 1) ? FC_W_SCALE : 0);
    int cin = cin_of(b, L);
    if ((rc = load_weights(b, L, n, cin, flags, NULL, st))) return rc;
    if (cin < 0) b->chan[L->inputs[0]] = n->bn_c; /* (harmless: BN keeps channels) */
    return 0;
}

/* Activation, ReLU, LeakyReLU, ELU, Softmax layers. */
static int c_act(fc_kbuild *b, const fc_klayer *L, fc_node *n, fc_status *st) {
    int rc = 0;
    double mx = 0, slope = 0, thr = 0;
    if (!strcmp(L->cls, "Activation")) {
        rc = parse_act(b, L, json_object_get(L->cfg, "activation"), n, st);
        if (!rc && n->act == FC_ACT_LINEAR) n->op = FC_OP_IDENTITY;
    } else if (!strcmp(L->cls, "Softmax")) {
        json_t *ax = json_object_get(L->cfg, "axis");
        if (ax && !(json_is_integer(ax) && json_integer_value(ax) == -1))
            rc = LFAIL(FC_ERR_UNSUPPORTED, "softmax over an axis other than -1");
        n->act = FC_ACT_SOFTMAX;
    } else if (!strcmp(L->cls, "ELU")) {
        rc = get_num(b, L, "alpha", 1.0, &slope, st);
        n->act = FC_ACT_ELU, n->act_alpha = (float)slope;
    } else if (!strcmp(L->cls, "LeakyReLU")) {
        json_t *a = json_object_get(L->cfg, "alpha");
        rc = get_num(b, L, a ? "alpha" : "negative_slope", 0.3, &slope, st);
        n->act = FC_ACT_RELU, n->act_alpha = (float)slope;
    } else { /* ReLU */
        if (!(rc = get_num(b, L, "max_value", 0, &mx, st)) &&
            !(rc = get_num(b, L, "negative_slope", 0, &slope, st)))
            rc = get_num(b, L, "threshold", 0, &thr, st);
        if (!rc && json_is_number(json_object_get(L->cfg, "max_value")) && mx <= 0)
            rc = LFAIL(FC_ERR_UNSUPPORTED, "max_value must be positive");
        n->act = FC_ACT_RELU, n->act_max = (float)mx, n->act_alpha = (float)slope;
        n->act_threshold = (float)thr;
    }
    return rc;
}

static int c_pool(fc_kbuild *b, const fc_klayer *L, fc_node *n, fc_status *st) {
    int rc, k[2], s[2];
    if ((rc = check_format(b, L, st)) || (rc = get_pair(b, L, "pool_size", 2, 1, k, st)) ||
        (rc = get_pair(b, L, "strides", 0, 0, s, st)) || (rc = parse_padding(b, L, n, st)))
        return rc;
    if (s[0] == 0 || s[1] == 0) s[0] = k[0], s[1] = k[1]; /* strides=None -> pool_size */
    n->kh = k[0], n->kw = k[1], n->sh = s[0], n->sw = s[1];
    return 0;
}

/* GlobalAveragePooling2D / GlobalMaxPooling2D; keepdims=True (TF >= 2.6) keeps (1, 1, c). */
static int c_global(fc_kbuild *b, const fc_klayer *L, fc_node *n, fc_status *st) {
    n->keepdims = get_bool(L, "keepdims", 0);
    return check_format(b, L, st);
}

/* ZeroPadding2D "padding" / Cropping2D "cropping": int, (a, b) or ((t, b), (l, r)). */
static int c_pad(fc_kbuild *b, const fc_klayer *L, fc_node *n, fc_status *st) {
    int crop = n->op == FC_OP_CROP, rc, v[4];
    const char *key = crop ? "cropping" : "padding";
    json_t *p = json_object_get(L->cfg, key);
    if ((rc = check_format(b, L, st))) return rc;
    if (json_is_array(p) && json_array_size(p) == 2 && json_is_array(json_array_get(p, 0))) {
        for (int i = 0; i < 2 && !rc; i++) {
            json_t *q = json_array_get(p, (size_t)i);
            if (!json_is_array(q) || json_array_size(q) != 2) rc = 1;
            for (int j = 0; j < 2 && !rc; j++) {
                json_t *e = json_array_get(q, (size_t)j);
                if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > FC_MAX_DIM) rc = 1;
                else v[i * 2 + j] = (int)json_integer_value(e);
            }
        }
        if (rc) return LFAIL(FC_ERR_FORMAT, "bad '%s'", key);
    } else {
        int pr[2];
        if ((rc = get_pair(b, L, key, crop ? 0 : 1, 0, pr, st))) return rc;
        v[0] = v[1] = pr[0], v[2] = v[3] = pr[1];
    }
    n->pad_t = v[0], n->pad_b = v[1], n->pad_l = v[2], n->pad_r = v[3];
    return 0;
}

static int c_concat(fc_kbuild *b, const fc_klayer *L, fc_node *n, fc_status *st) {
    json_t *ax = json_object_get(L->cfg, "axis");
    if (ax && !(json_is_integer(ax) && (json_integer_value(ax) == -1 || json_integer_value(ax) == 3)))
        return LFAIL(FC_ERR_UNSUPPORTED, "concatenation on an axis other than channels (-1 or 3)");
    return 0;
}

/* A number, a list of numbers (inside lists of one, as numpy's tolist() writes a (1, 1, c)
 * array) or Keras 3's {"class_name": "__numpy__" | "__tensor__", "config": {"value": ...}}
 * -> *n floats (malloc'd). Not hashed: hash_scale hashes what the layer makes of them. */
static int get_values(fc_kbuild *b, const fc_klayer *L, const char *key, float **out, size_t *n,
                      fc_status *st) {
    json_t *v = json_object_get(L->cfg, key);
    const char *cn = json_string_value(json_object_get(v, "class_name"));
    if (cn && (!strcmp(cn, "__numpy__") || !strcmp(cn, "__tensor__")))
        v = json_object_get(json_object_get(v, "config"), "value");
    for (int d = 0; d < 8 && json_array_size(v) == 1 && json_is_array(json_array_get(v, 0)); d++)
        v = json_array_get(v, 0);
    size_t cnt = json_is_number(v) ? 1 : json_is_array(v) ? json_array_size(v) : 0;
    if (!cnt || cnt > FC_MAX_DIM * 16)
        return LFAIL(FC_ERR_FORMAT, "'%s' must be a number or a list of one number per channel", key);
    float *f = malloc(cnt * sizeof *f);
    if (!f) return fc_fail(st, FC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        double x = json_is_number(e) ? json_number_value(e) : NAN;
        if (!(x > -1e30 && x < 1e30)) {
            free(f);
            return LFAIL(FC_ERR_FORMAT, "'%s' must be a number or a list of one number per channel", key);
        }
        f[i] = (float)x;
    }
    *out = f, *n = cnt;
    return 0;
}

/* A SCALE node's final y = x * w + b into the weights' hash, each part after its count:
 * config values change the features as weights do, and hashing the result covers what
 * the raw values miss (Normalization's invert, where Rescaling's scale ends and its offset
 * begins, statistics read from the weights). */
static int hash_scale(fc_kbuild *b, const fc_node *n, fc_status *st) {
    int rc = fc_wsrc_hash_tagged(b->ws, "scale w", n->w, n->w_len, st);
    return rc ? rc : fc_wsrc_hash_tagged(b->ws, "scale b", n->b, n->b_len, st);
}

/* Rescaling: y = x * scale + offset, each a number or one per channel. */
static int c_rescaling(fc_kbuild *b, const fc_klayer *L, fc_node *n, fc_status *st) {
    json_t *of = json_object_get(L->cfg, "offset");
    if (json_is_null(json_object_get(L->cfg, "scale")) || !json_object_get(L->cfg, "scale"))
        return LFAIL(FC_ERR_FORMAT, "missing 'scale'");
    int rc = get_values(b, L, "scale", &n->w, &n->w_len, st);
    if (!rc && of && !json_is_null(of)) {
        rc = get_values(b, L, "offset", &n->b, &n->b_len, st);
    } else if (!rc) {
        if (!(n->b = calloc(1, sizeof *n->b))) return fc_fail(st, FC_ERR_NOMEM, "out of memory");
        n->b_len = 1;
    }
    return rc ? rc : hash_scale(b, n, st);
}

/* Normalization's axis: the channel axis (-1 or 3, alone or in a list) -> 0, None or []
 * (one mean and variance for all values) -> 1. */
static int norm_axis(const fc_kbuild *b, const fc_klayer *L, int *scalar, fc_status *st) {
    json_t *ax = json_object_get(L->cfg, "axis");
    *scalar = ax && (json_is_null(ax) || (json_is_array(ax) && json_array_size(ax) == 0));
    if (json_is_array(ax) && json_array_size(ax) == 1) ax = json_array_get(ax, 0);
    if (!ax || *scalar || (json_is_integer(ax) && (json_integer_value(ax) == -1 || json_integer_value(ax) == 3)))
        return 0;
    return LFAIL(FC_ERR_UNSUPPORTED, "only the channel axis (-1 or 3) or axis=None is supported");
}

/* Broadcasts a (1) array to n values (n > 1) in place. */
static int widen(float **v, size_t *len, size_t n, fc_status *st) {
    if (*len == n) return 0;
    float *w = malloc(n * sizeof *w);
    if (!w) return fc_fail(st, FC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) w[i] = (*v)[0];
    free(*v);
    *v = w, *len = n;
    return 0;
}

/* Normalization statistics: the config's mean and variance (Keras >= 2.7 when given to the
 * constructor; each a number or one per channel), else the weights "mean" and "variance". */
static int norm_stats(fc_kbuild *b, const fc_klayer *L, fc_node *n, float **mean, float **var,
                      size_t *len, fc_status *st) {
    json_t *m = json_object_get(L->cfg, "mean"), *v = json_object_get(L->cfg, "variance");
    int given = m && !json_is_null(m), scalar, rc;
    size_t nm = 0, nv = 0;
    if (given != (v && !json_is_null(v))) return LFAIL(FC_ERR_FORMAT, "'mean' and 'variance' must be given together");
    if ((rc = norm_axis(b, L, &scalar, st))) return rc;
    if (given) {
        if ((rc = get_values(b, L, "mean", mean, &nm, st)) || (rc = get_values(b, L, "variance", var, &nv, st)))
            return rc;
        if (nm != nv && nm != 1 && nv != 1)
            return LFAIL(FC_ERR_FORMAT, "'mean' has %zu values but 'variance' %zu", nm, nv);
        *len = nm > nv ? nm : nv;
        return widen(mean, &nm, *len, st) || widen(var, &nv, *len, st) ? st->code : 0;
    }
    int64_t e[1] = {scalar ? 1 : cin_of(b, L)}, d[1] = {1};
    int rank = scalar ? 0 : 1;
    if ((rc = fc_wsrc_get_var(b->ws, L->group, L->name, "mean", rank, e, d, mean, &nm, -0.2f, 0.2f, st)))
        return rc;
    if (rank) e[0] = d[0];
    if ((rc = fc_wsrc_get_var(b->ws, L->group, L->name, "variance", rank, e, d, var, &nv, 0.5f, 1.5f, st)))
        return rc;
    if (!nm) return LFAIL(FC_ERR_FORMAT, "empty 'mean'");
    *len = nm;
    n->params = 2 * (int64_t)nm + 1; /* mean, variance and count, as Keras counts them */
    return 0;
}

/* Normalization: y = (x - mean) / max(sqrt(variance), 1e-7) (Keras >= 2.3 and Keras 3; the
 * epsilon is Keras's backend.epsilon()); invert=True: y = mean + x * max(sqrt(variance),
 * 1e-7). Both become y = x * w + b, with the divisor computed in float32 as TF does. */
static int c_norm(fc_kbuild *b, const fc_klayer *L, fc_node *n, fc_status *st) {
    float *mean = NULL, *var = NULL;
    size_t len = 0;
    int rc = norm_stats(b, L, n, &mean, &var, &len, st), inv = get_bool(L, "invert", 0);
    if (!rc && (!(n->w = malloc(len * sizeof *n->w)) || !(n->b = malloc(len * sizeof *n->b))))
        rc = fc_fail(st, FC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < len && !rc; i++) {
        if (!(var[i] >= 0 && var[i] < 1e30f) || !(mean[i] > -1e30f && mean[i] < 1e30f))
            rc = LFAIL(FC_ERR_FORMAT, "bad mean %g / variance %g at channel %zu", mean[i], var[i], i);
        float d = sqrtf(var[i]);
        d = d > 1e-7f ? d : 1e-7f;
        n->w[i] = inv ? d : (float)(1.0 / d);
        n->b[i] = inv ? mean[i] : (float)(-(double)mean[i] / d);
    }
    n->w_len = n->b_len = rc ? 0 : len;
    free(mean), free(var);
    return rc ? rc : hash_scale(b, n, st);
}

/* Reshape: target_shape (h, w, c) or (n,), at most one -1. A rank-2 target (a sequence of
 * vectors) or a longer one has no (height, width, channels) form and is refused. */
static int c_reshape(fc_kbuild *b, const fc_klayer *L, fc_node *n, fc_status *st) {
    json_t *t = json_object_get(L->cfg, "target_shape");
    size_t r = json_array_size(t);
    if (!json_is_array(t) || r == 0) return LFAIL(FC_ERR_FORMAT, "missing 'target_shape'");
    if (r != 1 && r != 3)
        return LFAIL(FC_ERR_UNSUPPORTED, "target_shape of rank %zu: only (height, width, channels) maps and (n,) vectors are supported", r);
    int free_dims = 0;
    for (size_t i = 0; i < r; i++) {
        json_t *e = json_array_get(t, i);
        json_int_t v = json_is_integer(e) ? json_integer_value(e) : 0;
        if (v == 0 || v < -1 || v > (1 << 30) || (v == -1 && free_dims++))
            return LFAIL(FC_ERR_FORMAT, "bad 'target_shape' (positive sizes and at most one -1)");
        n->shape[i] = (int)v;
    }
    n->shape_rank = (int)r;
    return 0;
}

static int c_format(fc_kbuild *b, const fc_klayer *L, fc_node *n, fc_status *st) {
    return check_format(b, L, st);
}

/* Keras class -> node op, number of inputs (-1: one or more) and the function that reads
 * its config and weights (NULL: nothing to read). */
typedef int (*layer_fn)(fc_kbuild *, const fc_klayer *, fc_node *, fc_status *);
static const struct {
    const char *cls;
    fc_op op;
    int n_inputs;
    layer_fn fn;
} layers[] = {
    {"Conv2D", FC_OP_CONV2D, 1, c_conv}, {"Convolution2D", FC_OP_CONV2D, 1, c_conv},
    {"DepthwiseConv2D", FC_OP_DEPTHWISE, 1, c_conv},
    {"SeparableConv2D", FC_OP_DEPTHWISE, 1, c_separable},
    {"SeparableConvolution2D", FC_OP_DEPTHWISE, 1, c_separable},
    {"Dense", FC_OP_DENSE, 1, c_dense}, {"BatchNormalization", FC_OP_BATCHNORM, 1, c_bn},
    {"Activation", FC_OP_ACTIVATION, 1, c_act}, {"ReLU", FC_OP_ACTIVATION, 1, c_act},
    {"LeakyReLU", FC_OP_ACTIVATION, 1, c_act}, {"Softmax", FC_OP_ACTIVATION, 1, c_act},
    {"ELU", FC_OP_ACTIVATION, 1, c_act},
    {"MaxPooling2D", FC_OP_MAXPOOL, 1, c_pool}, {"MaxPool2D", FC_OP_MAXPOOL, 1, c_pool},
    {"AveragePooling2D", FC_OP_AVGPOOL, 1, c_pool}, {"AvgPool2D", FC_OP_AVGPOOL, 1, c_pool},
    {"GlobalAveragePooling2D", FC_OP_GAP, 1, c_global}, {"GlobalAvgPool2D", FC_OP_GAP, 1, c_global},
    {"GlobalMaxPooling2D", FC_OP_GMP, 1, c_global}, {"GlobalMaxPool2D", FC_OP_GMP, 1, c_global},
    {"ZeroPadding2D", FC_OP_ZEROPAD, 1, c_pad}, {"Cropping2D", FC_OP_CROP, 1, c_pad},
    {"Add", FC_OP_ADD, -1, NULL}, {"Multiply", FC_OP_MUL, -1, NULL},
    {"Concatenate", FC_OP_CONCAT, -1, c_concat},
    {"Flatten", FC_OP_FLATTEN, 1, c_format}, {"Dropout", FC_OP_IDENTITY, 1, NULL},
    {"SpatialDropout2D", FC_OP_IDENTITY, 1, NULL}, {"GaussianNoise", FC_OP_IDENTITY, 1, NULL},
    {"GaussianDropout", FC_OP_IDENTITY, 1, NULL}, {"AlphaDropout", FC_OP_IDENTITY, 1, NULL},
    {"ActivityRegularization", FC_OP_IDENTITY, 1, NULL},
    {"Rescaling", FC_OP_SCALE, 1, c_rescaling}, {"Normalization", FC_OP_SCALE, 1, c_norm},
    {"Reshape", FC_OP_RESHAPE, 1, c_reshape},
};

int fc_kb_add_layer(fc_kbuild *b, const fc_klayer *L, int *idx, fc_status *st) {
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        if (strcmp(layers[i].cls, L->cls)) continue;
        fc_node n;
        int rc = node_init(b, L, layers[i].op, layers[i].n_inputs, &n, st);
        if (!rc && layers[i].fn) rc = layers[i].fn(b, L, &n, st);
        if (!rc) rc = fc_kb_add(b, &n, idx, st);
        fc_node_release(&n);
        return rc;
    }
    return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: layer '%s' has unsupported class '%s'", b->what,
                   L->name, L->cls);
}

void fc_kb_fold_correct_pad(fc_kbuild *b) {
    fc_graph *g = b->g;
    int *uses = calloc((size_t)g->n_nodes + 1, sizeof *uses), *user = calloc((size_t)g->n_nodes + 1, sizeof *user);
    if (!uses || !user) goto out; /* an optimisation of semantics at other sizes only */
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++) uses[g->nodes[i].inputs[k]]++, user[g->nodes[i].inputs[k]] = i;
    for (int i = 0; i < g->n_nodes; i++) {
        fc_node *p = &g->nodes[i];
        if (p->op != FC_OP_ZEROPAD || uses[i] != 1 || i == g->output || p->n_inputs != 1) continue;
        fc_node *c = &g->nodes[user[i]];
        int h = b->hw[2 * p->inputs[0]], w = b->hw[2 * p->inputs[0] + 1], half = c->kh / 2;
        if ((c->op != FC_OP_CONV2D && c->op != FC_OP_DEPTHWISE) || c->kh != c->kw || !(c->kh & 1) ||
            c->sh != 2 || c->sw != 2 || c->dh != 1 || c->dw != 1 || c->pad != FC_PAD_VALID || h <= 0 || w <= 0)
            continue;
        /* correct_pad(k): ((k//2 - 1 + h%2, k//2), (k//2 - 1 + w%2, k//2)) */
        if (p->pad_b != half || p->pad_r != half || p->pad_t != half - 1 + (h & 1) || p->pad_l != half - 1 + (w & 1))
            continue;
        p->op = FC_OP_IDENTITY; /* keeps its name and class for `layers` */
        c->pad = FC_PAD_SAME;
    }
out:
    free(uses), free(user);
}
