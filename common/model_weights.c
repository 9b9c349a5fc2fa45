/* model_weights.c - loading a node's weights from a weight source (Keras HDF5, TF.js
 * shards, or seeded random values for benchmarks), with shape checks and the running
 * sha256 that identifies a backbone's weights. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

int fc_wsrc_begin(fc_wsrc *ws, fc_status *st) {
    ws->md = EVP_MD_CTX_new();
    if (!ws->md || EVP_DigestInit_ex(ws->md, EVP_sha256(), NULL) != 1)
        return fc_fail(st, FC_ERR_INTERNAL, "cannot initialise sha256");
    return 0;
}

int fc_wsrc_finish(fc_wsrc *ws, fc_graph *g, fc_status *st) {
    unsigned int len = 0;
    if (!ws->md || EVP_DigestFinal_ex(ws->md, g->weights_sha256, &len) != 1 || len != 32)
        return fc_fail(st, FC_ERR_INTERNAL, "cannot finish sha256");
    return 0;
}

void fc_wsrc_end(fc_wsrc *ws) {
    EVP_MD_CTX_free(ws->md);
    ws->md = NULL;
}

static float rnd_uniform(fc_wsrc *ws, float lo, float hi) {
    /* xorshift64*: reproducible across platforms, good enough for benchmark weights */
    uint64_t x = ws->rng ? ws->rng : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    ws->rng = x;
    double u = (double)((x * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
    return lo + (float)u * (hi - lo);
}

/* Fetches one variable (or, when the source has none of that name, `alt`): from the source,
 * or random values of the expected shape. */
static int get_var2(fc_wsrc *ws, const char *group, const char *layer, const char *var,
                    const char *alt, int rank, const int64_t *expect, int64_t *dims, float **out,
                    size_t *count, float lo, float hi, fc_status *st) {
    int rc;
    if (ws->get) {
        rc = ws->get(ws->ctx, group, layer, var, rank, expect, dims, out, count, st);
        if (rc == 1 && alt) rc = ws->get(ws->ctx, group, layer, alt, rank, expect, dims, out, count, st);
        if (rc == 1)
            return fc_fail(st, FC_ERR_FORMAT, "%s: layer '%s': weight '%s' is missing",
                           ws->file ? ws->file : "model", layer, var);
        if (rc) return fc_wrap(st, "%s: layer '%s'", ws->file ? ws->file : "model", layer);
    } else {
        size_t n = 1;
        for (int i = 0; i < rank; i++) {
            if (expect[i] <= 0) return fc_fail(st, FC_ERR_INTERNAL, "random weights need known shapes");
            n *= (size_t)expect[i];
            dims[i] = expect[i];
        }
        float *w = fc_aligned_alloc(n * sizeof *w, st);
        if (!w) return FC_ERR_NOMEM;
        for (size_t i = 0; i < n; i++) w[i] = rnd_uniform(ws, lo, hi);
        *out = w;
        *count = n;
    }
    if (ws->md && EVP_DigestUpdate(ws->md, *out, *count * sizeof(float)) != 1)
        return fc_fail(st, FC_ERR_INTERNAL, "sha256 update failed");
    return 0;
}

static int get_var(fc_wsrc *ws, const char *group, const char *layer, const char *var, int rank,
                   const int64_t *expect, int64_t *dims, float **out, size_t *count,
                   float lo, float hi, fc_status *st) {
    return get_var2(ws, group, layer, var, NULL, rank, expect, dims, out, count, lo, hi, st);
}

int fc_wsrc_get_var(fc_wsrc *ws, const char *group, const char *layer, const char *var, int rank,
                    const int64_t *expect, int64_t *dims, float **out, size_t *count, float lo,
                    float hi, fc_status *st) {
    return get_var(ws, group, layer, var, rank, expect, dims, out, count, lo, hi, st);
}

static int wsrc_hash(fc_wsrc *ws, const float *v, size_t n, fc_status *st) {
    if (ws->md && EVP_DigestUpdate(ws->md, v, n * sizeof *v) != 1)
        return fc_fail(st, FC_ERR_INTERNAL, "sha256 update failed");
    return 0;
}

int fc_wsrc_hash_tagged(fc_wsrc *ws, const char *tag, const float *v, size_t n, fc_status *st) {
    uint64_t count = n;
    if (ws->md && (EVP_DigestUpdate(ws->md, tag, strlen(tag) + 1) != 1 ||
                   EVP_DigestUpdate(ws->md, &count, sizeof count) != 1))
        return fc_fail(st, FC_ERR_INTERNAL, "sha256 update failed");
    return n ? wsrc_hash(ws, v, n, st) : 0;
}

static int load_bn(fc_node *n, int cin, int flags, fc_wsrc *ws, const char *group,
                   const char *layer, fc_status *st) {
    int64_t e[1] = {cin}, d[1];
    size_t cnt;
    float **dst[4] = {&n->gamma, &n->beta, &n->mean, &n->var};
    const char *names[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
    const float lo[4] = {0.5f, -0.2f, -0.2f, 0.5f}, hi[4] = {1.5f, 0.2f, 0.2f, 1.5f};
    int present = 2;
    for (int i = 0; i < 4; i++) {
        if ((i == 0 && !(flags & FC_W_SCALE)) || (i == 1 && !(flags & FC_W_CENTER))) continue;
        if (i < 2) present++;
        int rc = get_var(ws, group, layer, names[i], 1, e, d, dst[i], &cnt, lo[i], hi[i], st);
        if (rc) return rc;
        if (e[0] < 0) e[0] = d[0]; /* first weight fixes the channel count */
    }
    n->bn_c = (int)e[0];
    n->params = (int64_t)present * n->bn_c;
    return 0;
}

int fc_node_load_weights(fc_node *n, int cin, int flags, const char *kvar, fc_wsrc *ws,
                         const char *group, const char *layer, fc_status *st) {
    if (n->op == FC_OP_BATCHNORM) return load_bn(n, cin, flags, ws, group, layer, st);
    int64_t e[4], d[4];
    int rank = 4;
    int64_t nout;
    const char *var = kvar;
    switch (n->op) {
    case FC_OP_CONV2D:
        e[0] = n->kh, e[1] = n->kw, e[2] = cin, e[3] = n->filters;
        nout = n->filters;
        if (!var) var = "kernel";
        break;
    case FC_OP_DEPTHWISE:
        e[0] = n->kh, e[1] = n->kw, e[2] = cin, e[3] = n->depth_multiplier;
        nout = cin < 0 ? -1 : (int64_t)cin * n->depth_multiplier;
        if (!var) var = "depthwise_kernel";
        break;
    case FC_OP_DENSE:
        rank = 2, e[0] = cin, e[1] = n->filters;
        nout = n->filters;
        if (!var) var = "kernel";
        break;
    default:
        return 0;
    }
    /* glorot-uniform limit for random fills */
    double rf = rank == 4 ? (double)(e[0] * e[1]) : 1.0;
    double fan_in = rf * (double)(e[rank - 2] > 0 ? e[rank - 2] : 1);
    double fan_out = rf * (double)(e[rank - 1] > 0 ? e[rank - 1] : 1);
    float lim = (float)sqrt(6.0 / (fan_in + fan_out));
    size_t cnt;
    /* Keras 3 names a DepthwiseConv2D's kernel "kernel", Keras 2 "depthwise_kernel" */
    const char *alt = n->op == FC_OP_DEPTHWISE && !kvar ? "kernel" : NULL;
    int rc = get_var2(ws, group, layer, var, alt, rank, e, d, &n->w, &cnt, -lim, lim, st);
    if (rc) return rc;
    n->w_len = cnt;
    if (n->op == FC_OP_DEPTHWISE) nout = d[2] * d[3];
    if (n->op == FC_OP_CONV2D && n->filters < 0) nout = n->filters = (int)d[3]; /* width from the file */
    if (flags & FC_W_BIAS) {
        int64_t eb[1] = {nout}, db[1];
        rc = get_var(ws, group, layer, "bias", 1, eb, db, &n->b, &cnt, -0.1f, 0.1f, st);
        if (rc) return rc;
        n->b_len = cnt;
    }
    n->params = (int64_t)(n->w_len + n->b_len);
    return 0;
}

int64_t fc_node_out_channels(const fc_graph *g, const fc_node *n, const int *chan) {
    int64_t c0 = n->n_inputs > 0 ? chan[n->inputs[0]] : -1;
    switch (n->op) {
    case FC_OP_INPUT: return g->in_c;
    case FC_OP_CONV2D:
    case FC_OP_DENSE: return n->filters;
    case FC_OP_DEPTHWISE: return c0 < 0 ? -1 : c0 * n->depth_multiplier;
    case FC_OP_FLATTEN: return -1;
    case FC_OP_RESHAPE: return n->shape_rank > 0 ? n->shape[n->shape_rank - 1] : -1; /* -1: inferred */
    case FC_OP_ADD:
    case FC_OP_MUL: { /* broadcasting: the largest */
        int64_t m = 0;
        for (int i = 0; i < n->n_inputs; i++) {
            if (chan[n->inputs[i]] < 0) return -1;
            if (chan[n->inputs[i]] > m) m = chan[n->inputs[i]];
        }
        return m;
    }
    case FC_OP_CONCAT: {
        int64_t s = 0;
        for (int i = 0; i < n->n_inputs; i++) {
            if (chan[n->inputs[i]] < 0) return -1;
            s += chan[n->inputs[i]];
        }
        return s;
    }
    default: return c0;
    }
}
