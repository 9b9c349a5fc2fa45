/* graph.c - the backbone graph IR: building, cutting, shape inference, weight checks
 * and BatchNormalization folding (fc_graph_finalize). Execution lives in exec.c (fast)
 * and graph_naive.c (reference). */
#include "graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fc_graph *fc_graph_create(fc_status *st) {
    fc_graph *g = fc_calloc(1, sizeof *g, st);
    if (!g) return NULL;
    g->output = -1;
    return g;
}

static void node_free(fc_node *n) {
    free(n->inputs);
    free(n->w);
    free(n->b);
    free(n->gamma);
    free(n->beta);
    free(n->mean);
    free(n->var);
    memset(n, 0, sizeof *n);
}

void fc_graph_free(fc_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->n_nodes; i++) node_free(&g->nodes[i]);
    free(g->nodes);
    free(g);
}

int fc_graph_add(fc_graph *g, const fc_node *n, fc_status *st) {
    if (g->n_nodes == g->cap) {
        int cap = g->cap ? g->cap * 2 : 64;
        fc_node *nn = realloc(g->nodes, (size_t)cap * sizeof *nn);
        if (!nn) {
            fc_node tmp = *n;
            node_free(&tmp);
            fc_fail(st, FC_ERR_NOMEM, "out of memory adding layer '%s'", n->name);
            return -1;
        }
        g->nodes = nn;
        g->cap = cap;
    }
    g->nodes[g->n_nodes] = *n;
    g->finalized = 0;
    return g->n_nodes++;
}

int fc_graph_find(const fc_graph *g, const char *name) {
    for (int i = g->n_nodes - 1; i >= 0; i--)
        if (!g->nodes[i].hidden && strcmp(g->nodes[i].name, name) == 0) return i;
    return -1;
}

int64_t fc_graph_total_macs(const fc_graph *g) {
    int64_t t = 0;
    for (int i = 0; i < g->n_nodes; i++) t += g->nodes[i].macs;
    return t;
}

/* ---- cut-layer suggestions ------------------------------------------------------ */

int fc_edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 127) la = 127;
    if (lb > 127) lb = 127;
    int row[128];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int sub = diag + (a[i - 1] != b[j - 1]);
            int v = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
            row[j] = sub < v ? sub : v;
            diag = up;
        }
    }
    return row[lb];
}

/* "no layer named 'X' in MODEL (did you mean a, b, c?)": the 3 closest visible names. */
static int fail_unknown_layer(const fc_graph *g, const char *layer, fc_status *st) {
    int best[3] = {-1, -1, -1}, bestd[3] = {1 << 30, 1 << 30, 1 << 30};
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].hidden) continue;
        int d = fc_edit_distance(layer, g->nodes[i].name);
        if (strstr(g->nodes[i].name, layer)) d = d / 2;
        for (int k = 0; k < 3; k++) {
            if (d < bestd[k]) {
                for (int m = 2; m > k; m--) { best[m] = best[m - 1]; bestd[m] = bestd[m - 1]; }
                best[k] = i;
                bestd[k] = d;
                break;
            }
        }
    }
    char hint[512] = "";
    size_t len = 0;
    for (int k = 0; k < 3 && best[k] >= 0; k++) {
        int r = snprintf(hint + len, sizeof hint - len, "%s'%s'", k ? ", " : "",
                         g->nodes[best[k]].name);
        if (r < 0 || (size_t)r >= sizeof hint - len) break;
        len += (size_t)r;
    }
    return fc_fail(st, FC_ERR_ARG, "no layer named '%s' in %s%s%s%s", layer,
                   g->source[0] ? g->source : "the model", len ? " (did you mean " : "",
                   hint, len ? "?)" : "");
}

/* ---- structure checks and pruning ----------------------------------------------- */

static int check_structure(const fc_graph *g, fc_status *st) {
    for (int i = 0; i < g->n_nodes; i++) {
        const fc_node *n = &g->nodes[i];
        if ((int)n->op < 0 || n->op >= FC_OP__COUNT)
            return fc_fail(st, FC_ERR_FORMAT, "layer '%s': unknown operation %d", n->name,
                           (int)n->op);
        if (n->n_inputs < 0 || (n->n_inputs > 0 && !n->inputs))
            return fc_fail(st, FC_ERR_FORMAT, "layer '%s': bad input list", n->name);
        int want_min = 1, want_max = 1;
        if (n->op == FC_OP_INPUT) want_min = want_max = 0;
        if (n->op == FC_OP_ADD || n->op == FC_OP_MUL || n->op == FC_OP_CONCAT) {
            want_min = 1;
            want_max = 1 << 20;
        }
        if (n->n_inputs < want_min || n->n_inputs > want_max)
            return fc_fail(st, FC_ERR_FORMAT, "layer '%s' (%s): has %d inputs, expected %s",
                           n->name, n->class_name, n->n_inputs,
                           want_max == 0 ? "none" : want_max == 1 ? "1" : "at least 1");
        for (int k = 0; k < n->n_inputs; k++) {
            int j = n->inputs[k];
            if (j < 0 || j >= g->n_nodes)
                return fc_fail(st, FC_ERR_FORMAT, "layer '%s': input index %d out of range "
                               "(graph has %d layers)", n->name, j, g->n_nodes);
            if (j >= i)
                return fc_fail(st, FC_ERR_FORMAT, "layer '%s': input '%s' is not computed "
                               "before it (cycle or forward reference)", n->name,
                               g->nodes[j].name);
        }
    }
    return 0;
}

/* Keeps the nodes `out` depends on, compacting the node array; returns the new index
 * of `out` or -1 on allocation failure. */
static int prune(fc_graph *g, int out, fc_status *st) {
    int *map = fc_malloc((size_t)g->n_nodes * sizeof *map, st);
    if (!map) return -1;
    for (int i = 0; i < g->n_nodes; i++) map[i] = 0;
    map[out] = 1;
    for (int i = out; i >= 0; i--)
        if (map[i])
            for (int k = 0; k < g->nodes[i].n_inputs; k++) map[g->nodes[i].inputs[k]] = 1;
    int m = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!map[i]) {
            node_free(&g->nodes[i]);
            map[i] = -1;
            continue;
        }
        if (m != i) g->nodes[m] = g->nodes[i];
        map[i] = m++;
    }
    for (int i = 0; i < m; i++)
        for (int k = 0; k < g->nodes[i].n_inputs; k++)
            g->nodes[i].inputs[k] = map[g->nodes[i].inputs[k]];
    int r = map[out];
    g->n_nodes = m;
    free(map);
    return r;
}

/* ---- shape inference ------------------------------------------------------------- */

/* TF output size and leading padding along one axis. */
static int conv_out(int in, int k, int s, int d, fc_padding pad, int *pad_lead) {
    int ek = (k - 1) * d + 1;
    if (pad == FC_PAD_SAME) {
        int out = (in + s - 1) / s;
        int total = (out - 1) * s + ek - in;
        *pad_lead = total > 0 ? total / 2 : 0;
        return out;
    }
    *pad_lead = 0;
    return in >= ek ? (in - ek) / s + 1 : 0;
}

static int check_len(const fc_node *n, const char *what, size_t have, size_t want,
                     const char *shape, fc_status *st) {
    if (have == want) return 0;
    return fc_fail(st, FC_ERR_MISMATCH, "layer '%s' (%s): %s has %zu values, expected %zu "
                   "(shape %s)", n->name, n->class_name, what, have, want, shape);
}

static int check_bias(const fc_node *n, size_t want, fc_status *st) {
    if (!n->b) return n->b_len ? fc_fail(st, FC_ERR_FORMAT, "layer '%s': bias length %zu "
                                         "without data", n->name, n->b_len) : 0;
    char shape[32];
    snprintf(shape, sizeof shape, "(%zu)", want);
    return check_len(n, "bias", n->b_len, want, shape, st);
}

static int infer_conv(fc_graph *g, fc_node *n, const fc_node *in, fc_status *st) {
    if (n->kh <= 0 || n->kw <= 0 || n->sh <= 0 || n->sw <= 0 || n->kh > FC_MAX_DIM ||
        n->kw > FC_MAX_DIM || n->dh > FC_MAX_DIM || n->dw > FC_MAX_DIM)
        return fc_fail(st, FC_ERR_FORMAT, "layer '%s' (%s): bad kernel %dx%d / strides %dx%d",
                       n->name, n->class_name, n->kh, n->kw, n->sh, n->sw);
    int pt, pl;
    n->oh = conv_out(in->oh, n->kh, n->sh, n->dh, n->pad, &pt);
    n->ow = conv_out(in->ow, n->kw, n->sw, n->dw, n->pad, &pl);
    if (n->oh <= 0 || n->ow <= 0)
        return fc_fail(st, FC_ERR_MISMATCH, "layer '%s' (%s): input %dx%d is too small for "
                       "kernel %dx%d (dilation %dx%d, 'valid' padding)", n->name,
                       n->class_name, in->oh, in->ow, n->kh, n->kw, n->dh, n->dw);
    size_t want;
    char shape[96];
    if (n->op == FC_OP_CONV2D) {
        if (n->filters <= 0 || n->filters > FC_MAX_DIM)
            return fc_fail(st, FC_ERR_FORMAT, "layer '%s': bad filter count %d", n->name,
                           n->filters);
        n->oc = n->filters;
        snprintf(shape, sizeof shape, "(%d, %d, %d, %d)", n->kh, n->kw, in->oc, n->filters);
        if (fc_size_mul4((size_t)n->kh, (size_t)n->kw, (size_t)in->oc, (size_t)n->filters,
                         &want))
            return fc_fail(st, FC_ERR_NOMEM, "layer '%s': kernel too large", n->name);
        n->macs = (int64_t)n->oh * n->ow * n->oc * n->kh * n->kw * in->oc;
    } else {
        if (n->depth_multiplier <= 0 || n->depth_multiplier > FC_MAX_DIM)
            return fc_fail(st, FC_ERR_FORMAT, "layer '%s': bad depth multiplier %d", n->name,
                           n->depth_multiplier);
        n->oc = in->oc * n->depth_multiplier;
        snprintf(shape, sizeof shape, "(%d, %d, %d, %d)", n->kh, n->kw, in->oc,
                 n->depth_multiplier);
        if (fc_size_mul4((size_t)n->kh, (size_t)n->kw, (size_t)in->oc,
                         (size_t)n->depth_multiplier, &want))
            return fc_fail(st, FC_ERR_NOMEM, "layer '%s': kernel too large", n->name);
        n->macs = (int64_t)n->oh * n->ow * n->oc * n->kh * n->kw;
    }
    if (!n->w) return fc_fail(st, FC_ERR_FORMAT, "layer '%s' (%s): kernel missing", n->name,
                              n->class_name);
    if (check_len(n, "kernel", n->w_len, want, shape, st)) return st ? (int)st->code : 1;
    if (check_bias(n, (size_t)n->oc, st)) return st ? (int)st->code : 1;
    n->params = (int64_t)(n->w_len + (n->b ? n->b_len : 0));
    (void)g;
    return 0;
}

static int infer_pool(fc_node *n, const fc_node *in, fc_status *st) {
    if (n->kh <= 0 || n->kw <= 0 || n->sh <= 0 || n->sw <= 0 || n->kh > FC_MAX_DIM ||
        n->kw > FC_MAX_DIM)
        return fc_fail(st, FC_ERR_FORMAT, "layer '%s' (%s): bad pool size %dx%d / strides "
                       "%dx%d", n->name, n->class_name, n->kh, n->kw, n->sh, n->sw);
    int pt, pl;
    n->oh = conv_out(in->oh, n->kh, n->sh, 1, n->pad, &pt);
    n->ow = conv_out(in->ow, n->kw, n->sw, 1, n->pad, &pl);
    n->oc = in->oc;
    if (n->oh <= 0 || n->ow <= 0)
        return fc_fail(st, FC_ERR_MISMATCH, "layer '%s' (%s): input %dx%d is too small for "
                       "pool %dx%d", n->name, n->class_name, in->oh, in->ow, n->kh, n->kw);
    /* a window wider than the input adds only the taps inside it */
    if (n->op == FC_OP_AVGPOOL)
        n->macs = (int64_t)n->oh * n->ow * n->oc * (n->kh < in->oh ? n->kh : in->oh) * (n->kw < in->ow ? n->kw : in->ow);
    return 0;
}

static int infer_bn(fc_node *n, const fc_node *in, fc_status *st) {
    n->oh = in->oh; n->ow = in->ow; n->oc = in->oc; n->rank = in->rank;
    if (!n->mean || !n->var)
        return fc_fail(st, FC_ERR_FORMAT, "layer '%s' (%s): moving mean/variance missing",
                       n->name, n->class_name);
    if (n->bn_c != in->oc)
        return fc_fail(st, FC_ERR_MISMATCH, "layer '%s' (%s): has %d channels of "
                       "statistics, expected %d (shape (%d))", n->name, n->class_name,
                       n->bn_c, in->oc, in->oc);
    if (!(n->eps >= 0) || !isfinite(n->eps))
        return fc_fail(st, FC_ERR_FORMAT, "layer '%s': bad epsilon", n->name);
    n->params = (int64_t)n->bn_c * (2 + (n->gamma != NULL) + (n->beta != NULL));
    n->macs = (int64_t)n->oh * n->ow * n->oc;
    return 0;
}

/* One value per channel: a single scale or offset is broadcast (Keras's scalar form). */
static int scale_values(fc_node *n, float **v, size_t *len, const char *what, int c,
                        fc_status *st) {
    if (*len == 1 && c > 1) {
        float *w = fc_malloc((size_t)c * sizeof *w, st);
        if (!w) return FC_ERR_NOMEM;
        for (int i = 0; i < c; i++) w[i] = (*v)[0];
        free(*v);
        *v = w, *len = (size_t)c;
    }
    if (!*v || *len != (size_t)c)
        return fc_fail(st, FC_ERR_MISMATCH, "layer '%s' (%s): has %zu %s values for %d channels",
                       n->name, n->class_name, *v ? *len : 0, what, c);
    return 0;
}

static int infer_scale(fc_node *n, const fc_node *in, int64_t params, fc_status *st) {
    if (scale_values(n, &n->w, &n->w_len, "scale", in->oc, st) ||
        scale_values(n, &n->b, &n->b_len, "offset", in->oc, st))
        return st ? (int)st->code : 1;
    n->params = params; /* Keras's count: Normalization's statistics, none for Rescaling */
    n->macs = (int64_t)n->oh * n->ow * n->oc;
    return 0;
}

/* Shape as Keras prints it: (c) for a vector, (h, w, c) for a map. */
static void fmt_node_shape(char *buf, size_t cap, const fc_node *n) {
    if (n->rank == 2) snprintf(buf, cap, "(%d)", n->oc);
    else snprintf(buf, cap, "(%d, %d, %d)", n->oh, n->ow, n->oc);
}

static int infer_reshape(fc_node *n, const fc_node *in, fc_status *st) {
    int r = n->shape_rank, free_i = -1;
    int64_t e = (int64_t)in->oh * in->ow * in->oc, known = 1, d[3] = {1, 1, 1};
    for (int i = 0; i < r && (r == 1 || r == 3); i++) {
        d[3 - r + i] = n->shape[i];
        if (n->shape[i] < 0) free_i = 3 - r + i;
        else if (n->shape[i] > (1 << 30) || known > ((int64_t)1 << 32) || known < 0) known = -1; /* too large */
        else known *= n->shape[i];
    }
    if (free_i >= 0 && known > 0 && e % known == 0) d[free_i] = e / known, known = e;
    if ((r != 1 && r != 3) || known != e || d[0] > FC_MAX_DIM || d[1] > FC_MAX_DIM || d[2] > (1 << 30)) {
        char from[64], to[64] = "?";
        fmt_node_shape(from, sizeof from, in);
        if (r == 1) snprintf(to, sizeof to, "(%d)", n->shape[0]);
        else if (r == 3) snprintf(to, sizeof to, "(%d, %d, %d)", n->shape[0], n->shape[1], n->shape[2]);
        return fc_fail(st, FC_ERR_MISMATCH, "layer '%s' (%s): cannot reshape %s (%lld values) to %s",
                       n->name, n->class_name, from, (long long)e, to);
    }
    n->oh = (int)d[0], n->ow = (int)d[1], n->oc = (int)d[2];
    n->rank = r == 1 ? 2 : 3;
    return 0;
}

/* Add / Multiply broadcast as Keras merge layers do (numpy rules on (h, w, c), a vector
 * (c) being (1, 1, c)): along each axis an input has the output's size or 1. Concatenate
 * joins inputs of one (h, w) on channels. */
static int infer_multi(const fc_graph *g, fc_node *n, fc_status *st) {
    const fc_node *a = &g->nodes[n->inputs[0]];
    int cat = n->op == FC_OP_CONCAT;
    n->oh = a->oh; n->ow = a->ow; n->rank = a->rank; n->oc = 0;
    for (int k = 0; k < n->n_inputs && !cat; k++) {
        const fc_node *b = &g->nodes[n->inputs[k]];
        if (b->oh > n->oh) n->oh = b->oh;
        if (b->ow > n->ow) n->ow = b->ow;
        if (b->oc > n->oc) n->oc = b->oc;
        if (b->rank > n->rank) n->rank = b->rank;
    }
    for (int k = 0; k < n->n_inputs; k++) {
        const fc_node *b = &g->nodes[n->inputs[k]];
        int ok = cat ? b->oh == a->oh && b->ow == a->ow && b->rank == a->rank
                     : (b->oh == n->oh || b->oh == 1) && (b->ow == n->ow || b->ow == 1) &&
                           (b->oc == n->oc || b->oc == 1);
        if (!ok && !cat) /* name the input it clashes with: one as large as the output */
            for (int j = 0; j < n->n_inputs; j++) {
                const fc_node *o = &g->nodes[n->inputs[j]];
                if ((b->oh != n->oh && o->oh == n->oh) || (b->ow != n->ow && o->ow == n->ow) ||
                    (b->oc != n->oc && o->oc == n->oc)) {
                    a = o;
                    break;
                }
            }
        if (!ok) {
            char sa[64], sb[64];
            fmt_node_shape(sa, sizeof sa, a), fmt_node_shape(sb, sizeof sb, b);
            return fc_fail(st, FC_ERR_MISMATCH, "layer '%s' (%s): input '%s' has shape %s but '%s' "
                           "has %s%s", n->name, n->class_name, b->name, sb, a->name, sa,
                           cat ? "" : " (they must match or be 1 where they differ)");
        }
        if (cat) n->oc += b->oc;
        if (n->oc > FC_MAX_DIM * 16)
            return fc_fail(st, FC_ERR_NOMEM, "layer '%s': too many channels", n->name);
    }
    return 0;
}

static int infer_dense(fc_node *n, const fc_node *in, fc_status *st) {
    if (n->filters <= 0 || n->filters > FC_MAX_DIM * 16)
        return fc_fail(st, FC_ERR_FORMAT, "layer '%s': bad unit count %d", n->name,
                       n->filters);
    n->oh = in->oh; n->ow = in->ow; n->rank = in->rank; n->oc = n->filters;
    char shape[64];
    snprintf(shape, sizeof shape, "(%d, %d)", in->oc, n->filters);
    if (!n->w) return fc_fail(st, FC_ERR_FORMAT, "layer '%s': kernel missing", n->name);
    if (check_len(n, "kernel", n->w_len, (size_t)in->oc * (size_t)n->filters, shape, st) ||
        check_bias(n, (size_t)n->filters, st))
        return st ? (int)st->code : 1;
    n->params = (int64_t)(n->w_len + (n->b ? n->b_len : 0));
    n->macs = (int64_t)n->oh * n->ow * in->oc * n->filters;
    return 0;
}

static int infer_node(fc_graph *g, int i, fc_status *st) {
    fc_node *n = &g->nodes[i];
    const fc_node *in = n->n_inputs ? &g->nodes[n->inputs[0]] : NULL;
    int64_t loaded_params = n->params;
    n->macs = 0;
    n->params = 0;
    if (n->dh <= 0) n->dh = 1;
    if (n->dw <= 0) n->dw = 1;
    if (n->op == FC_OP_INPUT) {
        n->oh = g->in_h; n->ow = g->in_w; n->oc = g->in_c; n->rank = 3;
        return 0;
    }
    if (!in) /* check_structure guarantees an input; keep the guard next to the use */
        return fc_fail(st, FC_ERR_FORMAT, "layer '%s' (%s): has no input", n->name,
                       n->class_name);
    n->oh = in->oh; n->ow = in->ow; n->oc = in->oc; n->rank = in->rank;
    switch (n->op) {
    case FC_OP_INPUT: return 0; /* handled above */
    case FC_OP_CONV2D:
    case FC_OP_DEPTHWISE:
        if (in->rank != 3) break;
        return infer_conv(g, n, in, st);
    case FC_OP_BATCHNORM: return infer_bn(n, in, st);
    case FC_OP_ACTIVATION:
    case FC_OP_IDENTITY: return 0;
    case FC_OP_MAXPOOL:
    case FC_OP_AVGPOOL:
        if (in->rank != 3) break;
        return infer_pool(n, in, st);
    case FC_OP_GAP:
    case FC_OP_GMP:
        if (in->rank != 3) break;
        n->oh = n->ow = 1; n->rank = n->keepdims ? 3 : 2;
        if (n->op == FC_OP_GAP) n->macs = (int64_t)in->oh * in->ow * in->oc;
        return 0;
    case FC_OP_ZEROPAD:
    case FC_OP_CROP: {
        if (in->rank != 3) break;
        if (n->pad_t < 0 || n->pad_b < 0 || n->pad_l < 0 || n->pad_r < 0 ||
            n->pad_t > FC_MAX_DIM || n->pad_b > FC_MAX_DIM || n->pad_l > FC_MAX_DIM ||
            n->pad_r > FC_MAX_DIM)
            return fc_fail(st, FC_ERR_FORMAT, "layer '%s': bad padding/cropping", n->name);
        int s = n->op == FC_OP_ZEROPAD ? 1 : -1;
        n->oh = in->oh + s * (n->pad_t + n->pad_b);
        n->ow = in->ow + s * (n->pad_l + n->pad_r);
        if (n->oh <= 0 || n->ow <= 0)
            return fc_fail(st, FC_ERR_MISMATCH, "layer '%s' (%s): cropping removes all of "
                           "the %dx%d input", n->name, n->class_name, in->oh, in->ow);
        return 0;
    }
    case FC_OP_ADD:
    case FC_OP_MUL:
    case FC_OP_CONCAT: return infer_multi(g, n, st);
    case FC_OP_FLATTEN:
        n->oc = in->oh * in->ow * in->oc;
        n->oh = n->ow = 1; n->rank = 2;
        return 0;
    case FC_OP_DENSE: return infer_dense(n, in, st);
    case FC_OP_SCALE: return infer_scale(n, in, loaded_params, st);
    case FC_OP_RESHAPE: return infer_reshape(n, in, st);
    case FC_OP__COUNT: break;
    }
    return fc_fail(st, FC_ERR_UNSUPPORTED, "layer '%s' (%s): needs a 3-D (height, width, "
                   "channels) input but '%s' gives a vector", n->name, n->class_name,
                   in ? in->name : "?");
}

static int infer_shapes(fc_graph *g, fc_status *st) {
    for (int i = 0; i < g->n_nodes; i++) {
        if (infer_node(g, i, st)) return st ? (int)st->code : 1;
        fc_node *n = &g->nodes[i];
        if (n->rank == 3 && n->oc > FC_MAX_DIM) /* DepthwiseConv2D cin*mult, Concatenate: a map no store holds */
            return fc_fail(st, FC_ERR_UNSUPPORTED, "layer '%s' (%s) gives %d channels, over the limit of %d",
                           n->name, n->class_name, n->oc, FC_MAX_DIM);
        size_t e;
        if (n->oh <= 0 || n->ow <= 0 || n->oc <= 0 || n->oh > FC_MAX_DIM ||
            n->ow > FC_MAX_DIM || fc_size_mul4((size_t)n->oh, (size_t)n->ow, (size_t)n->oc,
                                               1, &e) || e > FC_MAX_TENSOR_ELEMS)
            return fc_fail(st, FC_ERR_NOMEM, "layer '%s' (%s): output shape (%d, %d, %d) is "
                           "empty or too large", n->name, n->class_name, n->oh, n->ow, n->oc);
    }
    return 0;
}

/* ---- folding ----------------------------------------------------------------------- */

/* Consumers of node i among the graph (identity nodes are looked through). */
static int count_consumers(const fc_graph *g, int i, int *only) {
    int c = 0;
    for (int j = i + 1; j < g->n_nodes; j++) {
        const fc_node *n = &g->nodes[j];
        if (n->op == FC_OP_IDENTITY) continue;
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] == i) { c++; *only = j; }
    }
    return c;
}

/* Follows identity nodes so consumers read the producing node directly. */
static void rewire_identities(fc_graph *g) {
    for (int i = 0; i < g->n_nodes; i++) {
        fc_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_inputs; k++) {
            int j = n->inputs[k];
            while (g->nodes[j].op == FC_OP_IDENTITY) j = g->nodes[j].inputs[0];
            n->inputs[k] = j;
        }
    }
}

/* Is node i the graph output, directly or through identities? */
static int is_output(const fc_graph *g, int i) {
    int o = g->output;
    while (g->nodes[o].op == FC_OP_IDENTITY) o = g->nodes[o].inputs[0];
    return o == i;
}

static int fold_bn(fc_graph *g, int bi, fc_status *st) {
    fc_node *bn = &g->nodes[bi];
    int ci = bn->inputs[0], only = -1;
    fc_node *c = &g->nodes[ci];
    if ((c->op != FC_OP_CONV2D && c->op != FC_OP_DEPTHWISE) || c->act != FC_ACT_LINEAR ||
        count_consumers(g, ci, &only) != 1 || is_output(g, ci))
        return 0;
    int oc = c->oc;
    if (!c->b) {
        c->b = fc_calloc((size_t)oc, sizeof *c->b, st);
        if (!c->b) return -1;
        c->b_len = (size_t)oc;
    }
    for (int o = 0; o < oc; o++) {
        float gm = bn->gamma ? bn->gamma[o] : 1.0f, bt = bn->beta ? bn->beta[o] : 0.0f;
        float s = (float)((double)gm / sqrt((double)bn->var[o] + (double)bn->eps));
        for (size_t k = (size_t)o; k < c->w_len; k += (size_t)oc) c->w[k] *= s;
        c->b[o] = (c->b[o] - bn->mean[o]) * s + bt;
    }
    bn->op = FC_OP_IDENTITY;
    return 0;
}

/* Moves a standalone Activation into the conv/dense that feeds only it. */
static void fuse_activation(fc_graph *g, int ai) {
    fc_node *a = &g->nodes[ai];
    int ci = a->inputs[0], only = -1;
    fc_node *c = &g->nodes[ci];
    if ((c->op != FC_OP_CONV2D && c->op != FC_OP_DEPTHWISE && c->op != FC_OP_DENSE) ||
        c->act != FC_ACT_LINEAR || count_consumers(g, ci, &only) != 1 || is_output(g, ci))
        return;
    if (a->act == FC_ACT_SOFTMAX && c->op != FC_OP_DENSE) return;
    c->act = a->act;
    c->act_max = a->act_max;
    c->act_alpha = a->act_alpha;
    c->act_threshold = a->act_threshold;
    a->op = FC_OP_IDENTITY;
}

static int fold_all(fc_graph *g, fc_status *st) {
    for (int i = 0; i < g->n_nodes; i++) {
        fc_node *n = &g->nodes[i];
        if (n->op == FC_OP_ACTIVATION && n->act == FC_ACT_LINEAR) n->op = FC_OP_IDENTITY;
    }
    rewire_identities(g);
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op == FC_OP_BATCHNORM && fold_bn(g, i, st)) return -1;
        rewire_identities(g);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op == FC_OP_ACTIVATION) fuse_activation(g, i);
        rewire_identities(g);
    }
    return 0;
}

/* ---- finalize ---------------------------------------------------------------------- */

static int set_input_size(fc_graph *g, int h, int w, fc_status *st) {
    int n_in = 0;
    for (int i = 0; i < g->n_nodes; i++) n_in += g->nodes[i].op == FC_OP_INPUT;
    if (n_in != 1)
        return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: the graph needs exactly one input, it "
                       "has %d", g->source[0] ? g->source : "model", n_in);
    if (h > 0 && w > 0 && (h != g->in_h || w != g->in_w)) {
        for (int i = 0; i < g->n_nodes; i++) {
            const fc_node *n = &g->nodes[i];
            if (n->op == FC_OP_FLATTEN && g->in_h > 0 && g->in_w > 0)
                return fc_fail(st, FC_ERR_MISMATCH, "cannot resize the input to %dx%d: layer "
                               "'%s' (%s) fixes it at %dx%d; cut the graph before it with "
                               "--layer", h, w, n->name, n->class_name, g->in_h, g->in_w);
        }
        if (h > FC_MAX_DIM || w > FC_MAX_DIM)
            return fc_fail(st, FC_ERR_ARG, "input size %dx%d is too large", h, w);
        g->in_h = h;
        g->in_w = w;
    }
    if (g->in_h <= 0 || g->in_w <= 0)
        return fc_fail(st, FC_ERR_ARG, "%s has a variable input size: give one with --size",
                       g->source[0] ? g->source : "the model");
    if (g->in_c <= 0 || g->in_c > FC_MAX_DIM)
        return fc_fail(st, FC_ERR_FORMAT, "bad input channel count %d", g->in_c);
    return 0;
}

int fc_graph_finalize(fc_graph *g, const char *layer, int h, int w, fc_status *st) {
    if (g->finalized)
        return fc_fail(st, FC_ERR_INTERNAL, "graph finalized twice");
    if (g->n_nodes == 0)
        return fc_fail(st, FC_ERR_FORMAT, "%s: the model has no layers",
                       g->source[0] ? g->source : "model");
    if (check_structure(g, st)) return st ? (int)st->code : 1;
    int out = g->output >= 0 && g->output < g->n_nodes ? g->output : g->n_nodes - 1;
    if (layer && layer[0]) {
        out = fc_graph_find(g, layer);
        if (out < 0) return fail_unknown_layer(g, layer, st);
    }
    out = prune(g, out, st);
    if (out < 0) return FC_ERR_NOMEM;
    g->output = out;
    if (set_input_size(g, h, w, st) || infer_shapes(g, st)) return st ? (int)st->code : 1;
    if (fold_all(g, st)) return st ? (int)st->code : 1;
    g->finalized = 1;
    return 0;
}
