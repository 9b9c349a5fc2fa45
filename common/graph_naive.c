/* graph_naive.c - the reference forward pass: one direct loop nest per op, double
 * accumulators, no BLAS and no buffer reuse. Tests compare exec.c against it; it is
 * written for obviousness, not speed. */
#include "graph.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* log(1 + exp(x)) without overflow for large x */
static double naive_softplus(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

static float naive_act(const fc_node *n, double x) {
    switch (n->act) {
    case FC_ACT_RELU: {
        double y;
        if (n->act_max > 0 && x >= n->act_max) y = n->act_max;
        else if (x >= n->act_threshold) y = x;
        else y = n->act_alpha * (x - n->act_threshold);
        return (float)y;
    }
    case FC_ACT_SIGMOID: return (float)(1.0 / (1.0 + exp(-x)));
    case FC_ACT_TANH: return (float)tanh(x);
    case FC_ACT_SWISH: return (float)(x / (1.0 + exp(-x)));
    case FC_ACT_HARD_SIGMOID: return (float)fmin(1.0, fmax(0.0, 0.2 * x + 0.5));
    case FC_ACT_GELU: return (float)(0.5 * x * (1.0 + erf(x / sqrt(2.0))));
    case FC_ACT_ELU: return (float)(x > 0 ? x : n->act_alpha * expm1(x));
    case FC_ACT_SELU: return (float)(1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * expm1(x)));
    case FC_ACT_SOFTPLUS: return (float)naive_softplus(x);
    case FC_ACT_SOFTSIGN: return (float)(x / (fabs(x) + 1.0));
    case FC_ACT_EXP: return (float)exp(x);
    case FC_ACT_HARD_SWISH: return (float)(x * fmin(fmax(x + 3.0, 0.0), 6.0) / 6.0);
    case FC_ACT_MISH: return (float)(x * tanh(naive_softplus(x)));
    case FC_ACT_HARD_SIGMOID3: return (float)(fmin(fmax(x + 3.0, 0.0), 6.0) / 6.0);
    default: return (float)x;
    }
}

/* Applies n's activation to rows of length c (softmax needs the whole row). */
static void naive_act_rows(const fc_node *n, float *x, size_t rows, int c) {
    if (n->act == FC_ACT_LINEAR) return;
    for (size_t r = 0; r < rows; r++) {
        float *v = x + r * (size_t)c;
        if (n->act != FC_ACT_SOFTMAX) {
            for (int i = 0; i < c; i++) v[i] = naive_act(n, v[i]);
            continue;
        }
        double m = -INFINITY, s = 0;
        for (int i = 0; i < c; i++) m = fmax(m, v[i]);
        for (int i = 0; i < c; i++) s += exp((double)v[i] - m);
        for (int i = 0; i < c; i++) v[i] = (float)(exp((double)v[i] - m) / s);
    }
}

/* TF leading padding for 'same'. */
static int lead_pad(int in, int out, int k, int s, int d, fc_padding pad) {
    if (pad != FC_PAD_SAME) return 0;
    int total = (out - 1) * s + (k - 1) * d + 1 - in;
    return total > 0 ? total / 2 : 0;
}

/* x is (n, ih, iw, ic); y is (n, oh, ow, oc). */
static void naive_conv(const fc_node *p, const fc_node *c, const float *x, float *y, int n) {
    int pt = lead_pad(p->oh, c->oh, c->kh, c->sh, c->dh, c->pad);
    int pl = lead_pad(p->ow, c->ow, c->kw, c->sw, c->dw, c->pad);
    int ic = p->oc, mult = c->depth_multiplier;
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < c->oh; oy++)
            for (int ox = 0; ox < c->ow; ox++)
                for (int o = 0; o < c->oc; o++) {
                    double acc = c->b ? c->b[o] : 0.0;
                    for (int ky = 0; ky < c->kh; ky++) {
                        int iy = oy * c->sh + ky * c->dh - pt;
                        if (iy < 0 || iy >= p->oh) continue;
                        for (int kx = 0; kx < c->kw; kx++) {
                            int ix = ox * c->sw + kx * c->dw - pl;
                            if (ix < 0 || ix >= p->ow) continue;
                            const float *px = x + (((size_t)b * p->oh + iy) * p->ow + ix) * ic;
                            size_t kb = ((size_t)ky * c->kw + kx) * ic;
                            if (c->op == FC_OP_CONV2D) {
                                for (int i = 0; i < ic; i++)
                                    acc += (double)px[i] * c->w[(kb + i) * c->oc + o];
                            } else {
                                int i = o / mult, m = o % mult;
                                acc += (double)px[i] * c->w[(kb + i) * mult + m];
                            }
                        }
                    }
                    y[(((size_t)b * c->oh + oy) * c->ow + ox) * c->oc + o] = (float)acc;
                }
    naive_act_rows(c, y, (size_t)n * c->oh * c->ow, c->oc);
}

static void naive_pool(const fc_node *p, const fc_node *c, const float *x, float *y, int n) {
    int pt = lead_pad(p->oh, c->oh, c->kh, c->sh, 1, c->pad);
    int pl = lead_pad(p->ow, c->ow, c->kw, c->sw, 1, c->pad);
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < c->oh; oy++)
            for (int ox = 0; ox < c->ow; ox++)
                for (int ch = 0; ch < c->oc; ch++) {
                    double acc = c->op == FC_OP_MAXPOOL ? -INFINITY : 0.0;
                    int cnt = 0;
                    int ky0 = pt - oy * c->sh, kx0 = pl - ox * c->sw; /* taps inside the input only */
                    for (int ky = ky0 > 0 ? ky0 : 0; ky < c->kh && ky < ky0 + p->oh; ky++)
                        for (int kx = kx0 > 0 ? kx0 : 0; kx < c->kw && kx < kx0 + p->ow; kx++) {
                            int iy = oy * c->sh + ky - pt, ix = ox * c->sw + kx - pl;
                            double v = x[(((size_t)b * p->oh + iy) * p->ow + ix) * p->oc + ch];
                            acc = c->op == FC_OP_MAXPOOL ? fmax(acc, v) : acc + v;
                            cnt++;
                        }
                    if (c->op == FC_OP_AVGPOOL) acc /= cnt;
                    y[(((size_t)b * c->oh + oy) * c->ow + ox) * c->oc + ch] = (float)acc;
                }
}

static void naive_global(const fc_node *p, const fc_node *c, const float *x, float *y, int n) {
    size_t hw = (size_t)p->oh * p->ow;
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < p->oc; ch++) {
            double acc = c->op == FC_OP_GMP ? -INFINITY : 0.0;
            for (size_t i = 0; i < hw; i++) {
                double v = x[((size_t)b * hw + i) * p->oc + ch];
                acc = c->op == FC_OP_GMP ? fmax(acc, v) : acc + v;
            }
            y[(size_t)b * p->oc + ch] = (float)(c->op == FC_OP_GAP ? acc / (double)hw : acc);
        }
}

/* Zero padding (sign +1) and cropping (sign -1) share one index map. */
static void naive_pad_crop(const fc_node *p, const fc_node *c, const float *x, float *y,
                           int n) {
    int dt = c->op == FC_OP_ZEROPAD ? c->pad_t : -c->pad_t;
    int dl = c->op == FC_OP_ZEROPAD ? c->pad_l : -c->pad_l;
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < c->oh; oy++)
            for (int ox = 0; ox < c->ow; ox++)
                for (int ch = 0; ch < c->oc; ch++) {
                    int iy = oy - dt, ix = ox - dl;
                    float v = 0;
                    if (iy >= 0 && iy < p->oh && ix >= 0 && ix < p->ow)
                        v = x[(((size_t)b * p->oh + iy) * p->ow + ix) * p->oc + ch];
                    y[(((size_t)b * c->oh + oy) * c->ow + ox) * c->oc + ch] = v;
                }
}

static void naive_dense(const fc_node *p, const fc_node *c, const float *x, float *y, int n) {
    size_t rows = (size_t)n * p->oh * p->ow;
    for (size_t r = 0; r < rows; r++)
        for (int u = 0; u < c->oc; u++) {
            double acc = c->b ? c->b[u] : 0.0;
            for (int i = 0; i < p->oc; i++)
                acc += (double)x[r * p->oc + i] * c->w[(size_t)i * c->oc + u];
            y[r * c->oc + u] = (float)acc;
        }
    naive_act_rows(c, y, rows, c->oc);
}

/* Add / Multiply with broadcasting: an input of size 1 along an axis repeats along it. */
static void naive_eltwise(const fc_graph *g, const fc_node *c, float **buf, float *y, int n) {
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < c->oh; oy++)
            for (int ox = 0; ox < c->ow; ox++)
                for (int ch = 0; ch < c->oc; ch++) {
                    double v = 0;
                    for (int j = 0; j < c->n_inputs; j++) {
                        const fc_node *p = &g->nodes[c->inputs[j]];
                        size_t at = (((size_t)b * p->oh + (p->oh == 1 ? 0 : oy)) * p->ow +
                                     (p->ow == 1 ? 0 : ox)) * p->oc + (p->oc == 1 ? 0 : ch);
                        double x = buf[c->inputs[j]][at];
                        v = j == 0 ? x : c->op == FC_OP_ADD ? v + x : v * x;
                    }
                    y[(((size_t)b * c->oh + oy) * c->ow + ox) * c->oc + ch] = (float)v;
                }
}

static void naive_node(const fc_graph *g, int i, float **buf, int n) {
    const fc_node *c = &g->nodes[i];
    if (c->n_inputs < 1) return; /* the input node: its buffer is the caller's images */
    const fc_node *p = &g->nodes[c->inputs[0]];
    const float *x = buf[c->inputs[0]];
    float *y = buf[i];
    size_t e = (size_t)n * c->oh * c->ow * c->oc;
    switch (c->op) {
    case FC_OP_CONV2D:
    case FC_OP_DEPTHWISE: naive_conv(p, c, x, y, n); break;
    case FC_OP_MAXPOOL:
    case FC_OP_AVGPOOL: naive_pool(p, c, x, y, n); break;
    case FC_OP_GAP:
    case FC_OP_GMP: naive_global(p, c, x, y, n); break;
    case FC_OP_ZEROPAD:
    case FC_OP_CROP: naive_pad_crop(p, c, x, y, n); break;
    case FC_OP_DENSE: naive_dense(p, c, x, y, n); break;
    case FC_OP_BATCHNORM:
        for (size_t k = 0; k < e; k++) {
            int ch = (int)(k % (size_t)c->oc);
            double v = (x[k] - (double)c->mean[ch]) / sqrt((double)c->var[ch] + c->eps);
            y[k] = (float)(v * (c->gamma ? c->gamma[ch] : 1.0) + (c->beta ? c->beta[ch] : 0.0));
        }
        break;
    case FC_OP_SCALE:
        for (size_t k = 0; k < e; k++) {
            int ch = (int)(k % (size_t)c->oc);
            y[k] = (float)((double)x[k] * c->w[ch] + c->b[ch]);
        }
        break;
    case FC_OP_ACTIVATION:
        memcpy(y, x, e * sizeof *y);
        naive_act_rows(c, y, e / (size_t)c->oc, c->oc);
        break;
    case FC_OP_ADD:
    case FC_OP_MUL: naive_eltwise(g, c, buf, y, n); break;
    case FC_OP_CONCAT: {
        size_t pix = (size_t)n * c->oh * c->ow;
        int off = 0;
        for (int j = 0; j < c->n_inputs; j++) {
            int jc = g->nodes[c->inputs[j]].oc;
            for (size_t q = 0; q < pix; q++)
                memcpy(y + q * c->oc + off, buf[c->inputs[j]] + q * jc, (size_t)jc * sizeof *y);
            off += jc;
        }
        break;
    }
    case FC_OP_FLATTEN:
    case FC_OP_RESHAPE:
    case FC_OP_IDENTITY: memcpy(y, x, e * sizeof *y); break;
    case FC_OP_INPUT:
    case FC_OP__COUNT: break;
    }
}

int fc_graph_forward_naive(const fc_graph *g, const float *in, int n, float *out,
                           fc_status *st) {
    if (!g->finalized) return fc_fail(st, FC_ERR_INTERNAL, "graph not finalized");
    int rc = 0;
    float **buf = fc_calloc((size_t)g->n_nodes, sizeof *buf, st);
    if (!buf) return FC_ERR_NOMEM;
    for (int i = 0; i < g->n_nodes; i++) {
        const fc_node *c = &g->nodes[i];
        size_t e = (size_t)n * c->oh * c->ow * c->oc;
        buf[i] = fc_malloc(e * sizeof(float), st);
        if (!buf[i]) { rc = FC_ERR_NOMEM; goto out; }
        if (c->op == FC_OP_INPUT) memcpy(buf[i], in, e * sizeof(float));
        else naive_node(g, i, buf, n);
    }
    memcpy(out, buf[g->output], fc_graph_out_elems(g) * (size_t)n * sizeof *out);
out:
    for (int i = 0; i < g->n_nodes; i++) free(buf[i]);
    free(buf);
    return rc;
}
