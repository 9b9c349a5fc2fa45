/* head.c - head definition, init, pooling and the per-layer forward/backward passes. */
#include "head.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fpmode.h"
#include "rng.h"
#include "sparse.h"

int fc_pool_parse(const char *s, fc_pool *out) {
    if (!strcmp(s, "flatten")) *out = FC_POOL_FLATTEN;
    else if (!strcmp(s, "gap") || !strcmp(s, "avg")) *out = FC_POOL_GAP;
    else if (!strcmp(s, "gmp") || !strcmp(s, "max")) *out = FC_POOL_GMP;
    else return -1;
    return 0;
}

const char *fc_pool_name(fc_pool p) {
    return p == FC_POOL_GAP ? "gap" : p == FC_POOL_GMP ? "gmp" : "flatten";
}

int fc_hact_parse(const char *s, fc_act *out) {
    if (!strcmp(s, "relu")) *out = FC_ACT_RELU;
    else if (!strcmp(s, "tanh")) *out = FC_ACT_TANH;
    else if (!strcmp(s, "sigmoid")) *out = FC_ACT_SIGMOID;
    else if (!strcmp(s, "linear")) *out = FC_ACT_LINEAR;
    else return -1;
    return 0;
}

const char *fc_hact_name(fc_act a) {
    switch (a) {
    case FC_ACT_RELU: return "relu";
    case FC_ACT_TANH: return "tanh";
    case FC_ACT_SIGMOID: return "sigmoid";
    case FC_ACT_SOFTMAX: return "softmax";
    default: return "linear";
    }
}

int fc_hidden_parse(const char *s, char sep, fc_head_arch *arch) {
    int n = 0;
    const char *p = s;
    if (!*s) return -1;
    for (;;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 65536) return -1;
        if (v == 0) {
            if (n != 0 || (*end && *end != sep)) return -1;
            if (*end) return -1; /* "0" only on its own */
        } else {
            if (n >= FC_HEAD_MAX_HIDDEN) return -1;
            arch->hidden[n++] = (int)v;
        }
        if (!*end) break;
        if (*end != sep) return -1;
        p = end + 1;
    }
    arch->n_hidden = n;
    return 0;
}

size_t fc_head_in_dim(fc_pool pool, int h, int w, int c) {
    return pool == FC_POOL_FLATTEN ? (size_t)h * (size_t)w * (size_t)c : (size_t)c;
}

int fc_head_create(const fc_head_arch *arch, int h, int w, int c, int n_classes,
                   fc_head **out, fc_status *st) {
    *out = NULL;
    if (h <= 0 || w <= 0 || c <= 0 || n_classes < 2 || arch->n_hidden < 0 ||
        arch->n_hidden > FC_HEAD_MAX_HIDDEN)
        return fc_fail(st, FC_ERR_ARG, "head: bad shape %dx%dx%d or %d classes", h, w, c,
                       n_classes);
    size_t d0 = fc_head_in_dim(arch->pool, h, w, c);
    if (d0 > FC_MAX_TENSOR_ELEMS) return fc_fail(st, FC_ERR_NOMEM, "head: input too large");
    fc_head *hd = fc_calloc(1, sizeof *hd, st);
    if (!hd) return st->code;
    hd->arch = *arch;
    hd->in_h = h, hd->in_w = w, hd->in_c = c;
    hd->n_classes = n_classes;
    hd->n_layers = arch->n_hidden + 1;
    hd->dims[0] = (int)d0;
    for (int l = 0; l < arch->n_hidden; l++) hd->dims[l + 1] = arch->hidden[l];
    hd->dims[hd->n_layers] = fc_head_out_units(n_classes);
    for (int l = 0; l < hd->n_layers; l++) {
        size_t nw;
        if (fc_size_mul((size_t)hd->dims[l], (size_t)hd->dims[l + 1], &nw) ||
            nw > FC_MAX_TENSOR_ELEMS) {
            fc_head_free(hd);
            return fc_fail(st, FC_ERR_NOMEM, "head: layer %d too large", l + 1);
        }
        hd->w[l] = fc_aligned_alloc(nw * sizeof(float), st);
        hd->b[l] = fc_aligned_alloc((size_t)hd->dims[l + 1] * sizeof(float), st);
        if (!hd->w[l] || !hd->b[l]) {
            fc_head_free(hd);
            return st->code;
        }
        memset(hd->w[l], 0, nw * sizeof(float));
        memset(hd->b[l], 0, (size_t)hd->dims[l + 1] * sizeof(float));
    }
    *out = hd;
    return FC_OK;
}

void fc_head_free(fc_head *hd) {
    if (!hd) return;
    for (int l = 0; l < FC_HEAD_MAX_LAYERS; l++) {
        free(hd->w[l]);
        free(hd->b[l]);
    }
    if (hd->class_names)
        for (int i = 0; i < hd->n_classes; i++) free(hd->class_names[i]);
    free(hd->class_names);
    free(hd->backbone_json);
    free(hd->config_json);
    free(hd->result_json);
    free(hd);
}

int fc_head_set_classes(fc_head *hd, char *const *names, int n, fc_status *st) {
    if (n != hd->n_classes) return fc_fail(st, FC_ERR_ARG, "head: %d class names for %d classes", n, hd->n_classes);
    char **list = fc_calloc((size_t)n, sizeof *list, st);
    if (!list) return st->code;
    for (int i = 0; i < n; i++) {
        list[i] = fc_utf8_text(names[i] ? names[i] : "", st); /* class_names is JSON: UTF-8 */
        if (!list[i]) {
            for (int j = 0; j < i; j++) free(list[j]);
            free(list);
            return st->code;
        }
    }
    if (hd->class_names)
        for (int i = 0; i < hd->n_classes; i++) free(hd->class_names[i]);
    free(hd->class_names);
    hd->class_names = list;
    return FC_OK;
}

void fc_head_init_glorot(fc_head *hd, uint64_t seed) {
    for (int l = 0; l < hd->n_layers; l++) {
        size_t fan_in = (size_t)hd->dims[l], fan_out = (size_t)hd->dims[l + 1];
        float limit = (float)sqrt(6.0 / (double)(fan_in + fan_out));
        uint64_t key = fc_rng_key(seed, FC_RNG_INIT, (uint64_t)l, 0);
        size_t n = fan_in * fan_out;
        for (size_t i = 0; i < n; i++) hd->w[l][i] = (2.0f * fc_rng_uniform(key, i) - 1.0f) * limit;
        memset(hd->b[l], 0, fan_out * sizeof(float));
    }
}

size_t fc_head_n_params(const fc_head *hd) {
    size_t n = 0;
    for (int l = 0; l < hd->n_layers; l++)
        n += (size_t)hd->dims[l] * (size_t)hd->dims[l + 1] + (size_t)hd->dims[l + 1];
    return n;
}

void fc_head_copy_weights(fc_head *dst, const fc_head *src) {
    for (int l = 0; l < src->n_layers; l++) {
        memcpy(dst->w[l], src->w[l], (size_t)src->dims[l] * src->dims[l + 1] * sizeof(float));
        memcpy(dst->b[l], src->b[l], (size_t)src->dims[l + 1] * sizeof(float));
    }
}

void fc_pool_forward(fc_pool pool, const float *x, size_t n, int h, int w, int c, float *out) {
    size_t hw = (size_t)h * (size_t)w, per = hw * (size_t)c;
    if (pool == FC_POOL_FLATTEN) {
        memcpy(out, x, n * per * sizeof(float));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * per;
        float *o = out + i * (size_t)c;
        if (pool == FC_POOL_GAP) {
            for (int k = 0; k < c; k++) o[k] = 0.0f;
            for (size_t p = 0; p < hw; p++)
                for (int k = 0; k < c; k++) o[k] += xi[p * c + k];
            for (int k = 0; k < c; k++) o[k] /= (float)hw;
        } else {
            for (int k = 0; k < c; k++) o[k] = xi[k];
            for (size_t p = 1; p < hw; p++)
                for (int k = 0; k < c; k++) o[k] = fmaxf(o[k], xi[p * c + k]);
        }
    }
}

void fc_dense_forward(float *out, const float *inp, const float *w, const float *b, int B, int C,
                      int OC) {
    for (int i = 0; i < B; i++) memcpy(out + (size_t)i * OC, b, (size_t)OC * sizeof(float));
    fc_sgemm(0, 0, B, OC, C, 1.0f, inp, C, w, OC, 1.0f, out, OC);
}

void fc_dense_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                       const float *w, int B, int C, int OC) {
    /* dw = inp^T dout, db = sum_b dout, dinp = dout w^T */
    fc_sgemm(1, 0, C, OC, B, 1.0f, inp, C, dout, OC, 0.0f, dw, OC);
    for (int j = 0; j < OC; j++) db[j] = 0.0f;
    for (int i = 0; i < B; i++)
        for (int j = 0; j < OC; j++) db[j] += dout[(size_t)i * OC + j];
    if (dinp) fc_sgemm(0, 1, B, C, OC, 1.0f, dout, OC, w, OC, 0.0f, dinp, C);
}

void fc_act_forward(float *out, const float *inp, size_t n, fc_act act) {
    switch (act) {
    case FC_ACT_RELU:
        for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
        break;
    case FC_ACT_TANH:
        for (size_t i = 0; i < n; i++) out[i] = tanhf(inp[i]);
        break;
    case FC_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) out[i] = 1.0f / (1.0f + expf(-inp[i]));
        break;
    default:
        if (out != inp) memcpy(out, inp, n * sizeof(float));
    }
}

void fc_act_backward(float *dinp, const float *dout, const float *y, size_t n, fc_act act) {
    switch (act) {
    case FC_ACT_RELU:
        for (size_t i = 0; i < n; i++) dinp[i] = y[i] > 0.0f ? dout[i] : 0.0f;
        break;
    case FC_ACT_TANH:
        for (size_t i = 0; i < n; i++) dinp[i] = dout[i] * (1.0f - y[i] * y[i]);
        break;
    case FC_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) dinp[i] = dout[i] * y[i] * (1.0f - y[i]);
        break;
    default:
        if (dinp != dout) memcpy(dinp, dout, n * sizeof(float));
    }
}

void fc_dropout_mask(float *mask, int B, int C, float rate, uint64_t key) {
    float scale = 1.0f / (1.0f - rate);
    size_t n = (size_t)B * (size_t)C;
    for (size_t i = 0; i < n; i++) mask[i] = fc_rng_uniform(key, i) >= rate ? scale : 0.0f;
}

enum { LOGITS_CHUNK = 256 };

/* Layers after the first for B <= LOGITS_CHUNK rows: z0 (B, dims[1]) pre-activations (the
 * activation is applied in place) -> logits (B, U). scratch: 2 * LOGITS_CHUNK * maxd. */
static void logits_rest(const fc_head *hd, float *z0, int B, float *logits, float *scratch, int maxd) {
    int L = hd->n_layers, U = hd->dims[L];
    if (L == 1) {
        memcpy(logits, z0, (size_t)B * U * sizeof(float));
        return;
    }
    fc_act_forward(z0, z0, (size_t)B * hd->dims[1], hd->arch.act);
    const float *in = z0;
    float *cur = scratch, *other = scratch + (size_t)LOGITS_CHUNK * maxd;
    for (int l = 1; l < L; l++) {
        float *out = l + 1 == L ? logits : cur;
        fc_dense_forward(out, in, hd->w[l], hd->b[l], B, hd->dims[l], hd->dims[l + 1]);
        if (l + 1 < L) fc_act_forward(out, out, (size_t)B * hd->dims[l + 1], hd->arch.act);
        in = out;
        float *t = cur; cur = other; other = t;
    }
}

static int max_inner_dim(const fc_head *hd) {
    int maxd = 1;
    for (int l = 2; l < hd->n_layers; l++) maxd = hd->dims[l] > maxd ? hd->dims[l] : maxd;
    return maxd;
}

static int logits_from_z0(const fc_head *hd, float *z0, size_t n, float *logits, fc_status *st);
static int head_logits(const fc_head *hd, const float *x, size_t n, float *logits, fc_status *st);

int fc_head_logits_from_z0(const fc_head *hd, float *z0, size_t n, float *logits, fc_status *st) {
    unsigned mode = fc_ftz_enter(); /* fpmode.h */
    int rc = logits_from_z0(hd, z0, n, logits, st);
    fc_ftz_leave(mode);
    return rc;
}

static int logits_from_z0(const fc_head *hd, float *z0, size_t n, float *logits, fc_status *st) {
    int maxd = max_inner_dim(hd), U = hd->dims[hd->n_layers], H = hd->dims[1];
    float *scratch = fc_aligned_alloc((size_t)2 * LOGITS_CHUNK * maxd * sizeof(float), st);
    if (!scratch) return st->code;
    for (size_t i0 = 0; i0 < n; i0 += LOGITS_CHUNK) {
        int B = (int)(n - i0 < LOGITS_CHUNK ? n - i0 : LOGITS_CHUNK);
        logits_rest(hd, z0 + i0 * (size_t)H, B, logits + i0 * (size_t)U, scratch, maxd);
    }
    free(scratch);
    return FC_OK;
}

int fc_head_logits(const fc_head *hd, const float *x, size_t n, float *logits, fc_status *st) {
    unsigned mode = fc_ftz_enter(); /* fpmode.h */
    int rc = head_logits(hd, x, n, logits, st);
    fc_ftz_leave(mode);
    return rc;
}

static int head_logits(const fc_head *hd, const float *x, size_t n, float *logits, fc_status *st) {
    int maxd = max_inner_dim(hd), U = hd->dims[hd->n_layers], H = hd->dims[1];
    size_t per = (size_t)hd->in_h * hd->in_w * hd->in_c, d0 = (size_t)hd->dims[0];
    int pooled = hd->arch.pool != FC_POOL_FLATTEN;
    size_t nscr = (size_t)2 * LOGITS_CHUNK * maxd, nz0 = (size_t)LOGITS_CHUNK * H;
    float *buf = fc_aligned_alloc((nscr + nz0 + (pooled ? LOGITS_CHUNK * d0 : 0)) * sizeof(float), st);
    if (!buf) return st->code;
    float *z0 = buf + nscr, *pool_buf = z0 + nz0;
    for (size_t i0 = 0; i0 < n; i0 += LOGITS_CHUNK) {
        int B = (int)(n - i0 < LOGITS_CHUNK ? n - i0 : LOGITS_CHUNK);
        const float *in = x + i0 * per;
        if (pooled) {
            fc_pool_forward(hd->arch.pool, in, (size_t)B, hd->in_h, hd->in_w, hd->in_c, pool_buf);
            in = pool_buf;
        }
        fc_sparse_dense_forward(z0, in, (size_t)B, hd->w[0], hd->b[0], hd->dims[0], H);
        logits_rest(hd, z0, B, logits + i0 * (size_t)U, buf, maxd);
    }
    free(buf);
    return FC_OK;
}

int fc_head_predict(const fc_head *hd, const float *x, size_t n, float *probs, fc_status *st) {
    int U = hd->dims[hd->n_layers];
    if (fc_head_logits(hd, x, n, probs, st)) return st->code;
    unsigned mode = fc_ftz_enter(); /* fpmode.h */
    for (size_t i = 0; i < n; i++) fc_probs(probs + i * U, probs + i * U, 1, U);
    fc_ftz_leave(mode);
    return FC_OK;
}
