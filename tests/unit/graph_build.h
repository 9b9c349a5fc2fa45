/* graph_build.h - test helpers: build small fc_graphs with random weights through
 * fc_graph_add, and compare the fast executor with the naive reference. */
#ifndef FC_GRAPH_BUILD_H
#define FC_GRAPH_BUILD_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/graph.h"

static unsigned long long gb_rng = 88172645463325252ULL;
static inline float gb_rand(void) { /* uniform in [-1, 1) */
    gb_rng ^= gb_rng << 13;
    gb_rng ^= gb_rng >> 7;
    gb_rng ^= gb_rng << 17;
    return (float)((gb_rng >> 40) * (1.0 / (1 << 23))) - 1.0f;
}
static inline int gb_randint(int lo, int hi) { /* inclusive */
    return lo + (int)((gb_rand() + 1.0f) * 0.5f * (float)(hi - lo + 1)) % (hi - lo + 1);
}
static float *gb_randv(size_t n, float scale) {
    float *v = malloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = gb_rand() * scale;
    return v;
}

static inline fc_node gb_node(fc_op op, const char *name, int n_in, const int *in) {
    fc_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    snprintf(n.name, sizeof n.name, "%s", name);
    snprintf(n.class_name, sizeof n.class_name, "Op%d", (int)op);
    n.trainable = 1;
    n.n_inputs = n_in;
    n.inputs = n_in ? malloc((size_t)n_in * sizeof(int)) : NULL;
    for (int i = 0; i < n_in; i++) n.inputs[i] = in[i];
    n.sh = n.sw = n.dh = n.dw = 1;
    return n;
}

static inline int gb_add(fc_graph *g, fc_node *n) {
    fc_status st = {0};
    int r = fc_graph_add(g, n, &st);
    if (r < 0) fprintf(stderr, "gb_add: %s\n", st.msg);
    return r;
}

static inline int gb_input(fc_graph *g, int h, int w, int c) {
    g->in_h = h; g->in_w = w; g->in_c = c;
    fc_node n = gb_node(FC_OP_INPUT, "input_1", 0, NULL);
    return gb_add(g, &n);
}

/* Conv2D with random weights scaled by 1/sqrt(fan_in) and a random bias. */
static inline int gb_conv(fc_graph *g, const char *name, int in, int kh, int kw, int filters,
                   int sh, int sw, int dh, int dw, fc_padding pad, fc_act act, float act_max) {
    fc_node n = gb_node(FC_OP_CONV2D, name, 1, &in);
    n.kh = kh; n.kw = kw; n.sh = sh; n.sw = sw; n.dh = dh; n.dw = dw; n.pad = pad;
    n.filters = filters; n.act = act; n.act_max = act_max;
    return gb_add(g, &n);
}

static inline int gb_dw(fc_graph *g, const char *name, int in, int k, int mult, int s,
                 fc_padding pad, fc_act act, float act_max) {
    fc_node n = gb_node(FC_OP_DEPTHWISE, name, 1, &in);
    n.kh = n.kw = k; n.sh = n.sw = s; n.pad = pad; n.depth_multiplier = mult;
    n.act = act; n.act_max = act_max;
    return gb_add(g, &n);
}

static inline int gb_simple(fc_graph *g, fc_op op, const char *name, int n_in, const int *in) {
    fc_node n = gb_node(op, name, n_in, in);
    return gb_add(g, &n);
}

static inline int gb_pool(fc_graph *g, fc_op op, const char *name, int in, int k, int s,
                   fc_padding pad) {
    fc_node n = gb_node(op, name, 1, &in);
    n.kh = n.kw = k; n.sh = n.sw = s; n.pad = pad;
    return gb_add(g, &n);
}

static inline int gb_bn(fc_graph *g, const char *name, int in) {
    fc_node n = gb_node(FC_OP_BATCHNORM, name, 1, &in);
    n.eps = 1e-3f;
    return gb_add(g, &n);
}

static inline int gb_act(fc_graph *g, const char *name, int in, fc_act act, float act_max) {
    fc_node n = gb_node(FC_OP_ACTIVATION, name, 1, &in);
    n.act = act; n.act_max = act_max;
    return gb_add(g, &n);
}

static inline int gb_dense(fc_graph *g, const char *name, int in, int units, fc_act act) {
    fc_node n = gb_node(FC_OP_DENSE, name, 1, &in);
    n.filters = units; n.act = act;
    return gb_add(g, &n);
}

/* Weights are filled after shapes are known: walks the graph computing channel counts
 * (a light shape pass so tests need not track cin by hand). Run before finalize. */
static inline void gb_fill_weights(fc_graph *g) {
    int *c = calloc((size_t)g->n_nodes, sizeof *c);
    for (int i = 0; i < g->n_nodes; i++) {
        fc_node *n = &g->nodes[i];
        int ic = n->n_inputs ? c[n->inputs[0]] : g->in_c;
        c[i] = ic;
        if (n->op == FC_OP_CONV2D || n->op == FC_OP_DENSE) {
            int taps = n->op == FC_OP_CONV2D ? n->kh * n->kw : 1;
            c[i] = n->filters;
            if (!n->w) {
                n->w_len = (size_t)taps * ic * n->filters;
                n->w = gb_randv(n->w_len, 1.5f / sqrtf((float)(taps * ic)));
                n->b_len = (size_t)n->filters;
                n->b = gb_randv(n->b_len, 0.2f);
            }
        } else if (n->op == FC_OP_DEPTHWISE) {
            c[i] = ic * n->depth_multiplier;
            if (!n->w) {
                n->w_len = (size_t)n->kh * n->kw * c[i];
                n->w = gb_randv(n->w_len, 1.5f / sqrtf((float)(n->kh * n->kw)));
                n->b_len = (size_t)c[i];
                n->b = gb_randv(n->b_len, 0.2f);
            }
        } else if (n->op == FC_OP_BATCHNORM && !n->mean) {
            n->bn_c = ic;
            n->gamma = gb_randv((size_t)ic, 0.5f);
            n->beta = gb_randv((size_t)ic, 0.5f);
            n->mean = gb_randv((size_t)ic, 0.3f);
            n->var = gb_randv((size_t)ic, 0.4f);
            for (int k = 0; k < ic; k++) { n->gamma[k] += 1.0f; n->var[k] += 0.6f; }
        } else if (n->op == FC_OP_CONCAT) {
            c[i] = 0;
            for (int k = 0; k < n->n_inputs; k++) c[i] += c[n->inputs[k]];
        } else if (n->op == FC_OP_FLATTEN) {
            c[i] = -1; /* flatten size needs h, w: tests give Dense weights explicitly */
        }
    }
    free(c);
}

/* Runs the plan (batch n, given threads) and the naive reference on the same random
 * input; returns max|diff|/max|ref| (or 1e9 on failure, printing why). */
static inline double gb_compare_opts(const fc_graph *g, int n, int threads, int winograd,
                                     int block) {
    fc_status st = {0};
    size_t in_e = (size_t)n * g->in_h * g->in_w * g->in_c;
    size_t out_e = (size_t)n * fc_graph_out_elems(g);
    float *x = gb_randv(in_e, 1.0f), *a = calloc(out_e, sizeof *a), *b = calloc(out_e, sizeof *b);
    double err = 1e9;
    fc_plan_opts o = {winograd, block};
    fc_plan *p = fc_plan_create_opts(g, n, threads, &o, &st);
    if (!p) { fprintf(stderr, "plan: %s\n", st.msg); goto out; }
    if (fc_plan_forward(p, x, n, a, &st) || fc_graph_forward_naive(g, x, n, b, &st)) {
        fprintf(stderr, "forward: %s\n", st.msg);
        goto out;
    }
    err = t_max_rel_err(a, b, out_e);
    /* a second pass through the same plan must give the same numbers */
    if (fc_plan_forward(p, x, n, a, &st) == 0 && t_max_rel_err(a, b, out_e) != err) {
        fprintf(stderr, "second pass differs: %g vs %g\n", t_max_rel_err(a, b, out_e), err);
        err = 1e9;
    }
out:
    fc_plan_free(p);
    free(x); free(a); free(b);
    return err;
}

static inline double gb_compare(const fc_graph *g, int n, int threads) {
    return gb_compare_opts(g, n, threads, 0, 0);
}

#endif
