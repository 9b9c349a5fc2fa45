/* test_train.c - head passes, losses, optimizers, fused kernel and the trainer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../train/fused.h"
#include "../../train/rng.h"
#include "../../train/sparse.h"
#include "../../train/trainer.h"
#include "../../train/train_opts.h"
#include "t.h"

#include <xmmintrin.h>

static float urand(uint64_t *s) {
    *s = fc_mix64(*s);
    return (float)(*s >> 40) / 16777216.0f;
}

/* Synthetic "feature maps": ReLU-like (60% zeros), label = sign of a random projection
 * (k classes: argmax of k projections). */
static void make_ds(fc_dataset *ds, size_t n, int h, int w, int c, int k, uint64_t seed,
                    uint64_t proj_seed) {
    memset(ds, 0, sizeof *ds);
    ds->n = n, ds->h = h, ds->w = w, ds->c = c, ds->dim = (size_t)h * w * c, ds->n_classes = k;
    ds->x = calloc(n * ds->dim + 1, sizeof(float));
    ds->y = calloc(n + 1, sizeof(int32_t));
    uint64_t s = seed, ps = proj_seed;
    float *proj = malloc(ds->dim * (size_t)k * sizeof(float));
    for (size_t i = 0; i < ds->dim * (size_t)k; i++) proj[i] = urand(&ps) - 0.5f;
    for (size_t i = 0; i < n; i++) {
        float *x = ds->x + i * ds->dim;
        for (size_t d = 0; d < ds->dim; d++) {
            float u = urand(&s);
            x[d] = u < 0.6f ? 0.0f : (u - 0.6f) * 5.0f;
        }
        int best = 0;
        double bv = -1e30;
        for (int q = 0; q < k; q++) {
            double v = 0;
            for (size_t d = 0; d < ds->dim; d++) v += x[d] * proj[(size_t)q * ds->dim + d];
            if (v > bv) bv = v, best = q;
        }
        ds->y[i] = best;
    }
    free(proj);
}

static void free_ds(fc_dataset *ds) { free(ds->x), free(ds->y); }

/* --- fused kernel: vector path (AVX-512 or AVX2) == scalar path, bit for bit --- */
static void test_fused_vs_scalar(void) {
    /* 3, 1: all columns in a masked tail; 200 = 3 x 64 + 8 (AVX-512: three 64-column
     * chunks, then a masked tail of 8); 17, 65, 129: one column past a vector; the last two
     * cases: 300 inputs (two chunks of rows) and batches of 40 (two mask words) */
    const int Hs[9] = {37, 64, 8, 3, 1, 200, 17, 65, 129}, Ds[9] = {45, 45, 45, 45, 45, 45, 45, 300, 300},
              Bs[9] = {7, 7, 7, 7, 7, 7, 7, 40, 40};
    for (int hi = 0; hi < 9; hi++)
        for (int kind = 0; kind < 5; kind++) { /* 4: plain SGD without state arrays */
            const int H = Hs[hi], D = Ds[hi], B = Bs[hi];
            uint64_t s = 42 + (uint64_t)kind * 7 + (uint64_t)hi;
            float *x = malloc((size_t)B * D * sizeof(float)), *dz = malloc((size_t)B * H * sizeof(float));
            float *w[2], *s1[2], *s2[2], *zp[2];
            for (int i = 0; i < B * D; i++) x[i] = urand(&s) < 0.5f ? 0.0f : urand(&s);
            for (int b = 0; b < B; b++) x[b * D + 3] = x[b * D + 4] = 0.0f; /* rows with a zero gradient */
            for (int i = 0; i < B * H; i++) dz[i] = urand(&s) - 0.5f;
            for (int v = 0; v < 2; v++) {
                w[v] = malloc((size_t)D * H * sizeof(float));
                s1[v] = malloc((size_t)D * H * sizeof(float));
                s2[v] = malloc((size_t)D * H * sizeof(float));
                zp[v] = calloc((size_t)B * H, sizeof(float));
            }
            uint64_t s0 = s;
            for (int v = 0; v < 2; v++) {
                s = s0;
                for (int i = 0; i < D * H; i++) w[v][i] = urand(&s) - 0.5f, s1[v][i] = urand(&s) * 0.01f, s2[v][i] = urand(&s) * 0.01f;
            }
            const float *rows[40];
            for (int b = 0; b < B; b++) rows[b] = x + (size_t)b * D;
            fc_optim o;
            fc_optim_defaults(kind == 0 ? FC_OPTIM_RMSPROP : kind == 1 ? FC_OPTIM_ADAM : FC_OPTIM_SGD, &o);
            if (kind == 3) o.momentum = 0.9f, o.nesterov = 1;
            if (kind == 4) o.momentum = 0.0f;
            for (int v = 0; v < 2; v++) {
                fc_fused_layer f = {rows, B, dz, rows, B, w[v], kind == 4 ? NULL : s1[v], kind == 4 ? NULL : s2[v],
                                    H, {0}, hi == 1 || hi == 3 || hi == 7 ? 0.02f : 0.0f, NULL, 0};
                fc_optim_step_init(&o, 3, &f.os);
                if (v == 0) fc_fused_rows(&f, 0, D, zp[v]);
                else fc_fused_rows_scalar(&f, 0, D, 0, zp[v]);
            }
            CHECK(memcmp(w[0], w[1], (size_t)D * H * sizeof(float)) == 0, "weights H=%d kind %d", H, kind);
            CHECK(memcmp(s1[0], s1[1], (size_t)D * H * sizeof(float)) == 0, "state H=%d kind %d", H, kind);
            CHECK(memcmp(s2[0], s2[1], (size_t)D * H * sizeof(float)) == 0, "state 2 H=%d kind %d", H, kind);
            CHECK(memcmp(zp[0], zp[1], (size_t)B * H * sizeof(float)) == 0, "forward H=%d kind %d", H, kind);
            /* forward part against a plain double-precision product of the new weights */
            double maxerr = 0;
            for (int b = 0; b < B; b++)
                for (int j = 0; j < H; j++) {
                    double ref = 0;
                    for (int i = 0; i < D; i++) ref += (double)x[b * D + i] * w[0][(size_t)i * H + j];
                    maxerr = fmax(maxerr, fabs(ref - zp[0][b * H + j]));
                }
            CHECK(maxerr < 1e-4, "forward error %g", maxerr);
            free(x), free(dz);
            for (int v = 0; v < 2; v++) free(w[v]), free(s1[v]), free(s2[v]), free(zp[v]);
        }
}

/* --- one nonzero mask shared across steps (as the trainer does): a last batch smaller than
 * the one before it by 32 or more samples must not use the earlier batch's mask words --- */
static void test_fused_short_last_batch(void) {
    const int D = 40, H = 16, B = 64, bt = 6;
    uint64_t s = 7;
    float *x = malloc((size_t)B * D * sizeof(float)), *dz = malloc((size_t)B * H * sizeof(float));
    float *w[2], *s1[2], *zp = calloc((size_t)B * H, sizeof(float));
    for (int i = 0; i < B * D; i++) x[i] = urand(&s) < 0.3f ? 0.0f : urand(&s);
    for (int i = 0; i < B * H; i++) dz[i] = urand(&s) - 0.5f;
    for (int v = 0; v < 2; v++) {
        w[v] = malloc((size_t)D * H * sizeof(float)), s1[v] = calloc((size_t)D * H, sizeof(float));
        for (int i = 0; i < D * H; i++) w[v][i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
    }
    const float *rows[64];
    for (int b = 0; b < B; b++) rows[b] = x + (size_t)b * D;
    fc_optim o;
    fc_optim_defaults(FC_OPTIM_RMSPROP, &o);
    fc_nz_rows nz;
    CHECK(fc_nz_alloc(&nz, FC_NZ_CHUNK, B) == 0, "alloc");
    fc_nz_build(&nz, rows, B, rows, 0, 0, D); /* a full batch first: fills every mask word */
    fc_nz_build(&nz, rows, bt, rows, 0, 0, D);
    for (int v = 0; v < 2; v++) {
        fc_fused_layer f = {rows, bt, dz, rows, 0, w[v], s1[v], NULL, H, {0}, 0.0f, NULL, 0};
        fc_optim_step_init(&o, 1, &f.os);
        if (v == 0) fc_fused_rows_nz(&f, &nz, zp);
        else fc_fused_rows_scalar(&f, 0, D, 0, zp);
    }
    CHECK(memcmp(w[0], w[1], (size_t)D * H * sizeof(float)) == 0, "short last batch: weights");
    CHECK(memcmp(s1[0], s1[1], (size_t)D * H * sizeof(float)) == 0, "short last batch: state");
    fc_nz_free(&nz);
    free(x), free(dz), free(zp);
    for (int v = 0; v < 2; v++) free(w[v]), free(s1[v]);
}

/* --- lazy RMSprop state (fused.h: rows all-zero in a batch are skipped, their scalings
 * applied when next touched): over steps where rows are all-zero for 1 or 5 batches in a
 * row, then a batch touching every row, the weights, the forward and finally the state
 * equal the eager pass bit for bit (vector and scalar paths) --- */
static void test_fused_lazy(void) {
    const int D = 41, Hs[3] = {37, 64, 136}, B = 5, steps = 9;
    for (int hi = 0; hi < 3; hi++) {
        const int H = Hs[hi];
        uint64_t s = 99 + (uint64_t)hi;
        float *x = malloc((size_t)steps * B * D * sizeof(float)), *dz = malloc((size_t)B * H * sizeof(float));
        for (int t = 0; t < steps; t++)
            for (int b = 0; b < B; b++)
                for (int i = 0; i < D; i++) {
                    /* row i all-zero at step t: every 2nd step (i % 3 == 0), steps 2-6 (i % 3 == 1),
                     * never (i % 3 == 2); the last step touches every row */
                    int off = t + 1 < steps && ((i % 3 == 0 && t % 2) || (i % 3 == 1 && t >= 2 && t <= 6));
                    float u = urand(&s);
                    x[((size_t)t * B + b) * D + i] = off ? 0.0f : (u < 0.4f && b ? 0.0f : u + 0.1f);
                }
        float *w[3], *s1[3], *zp[3];
        uint32_t *last[3] = {NULL, calloc((size_t)D, sizeof(uint32_t)), calloc((size_t)D, sizeof(uint32_t))};
        for (int v = 0; v < 3; v++) {
            w[v] = malloc((size_t)D * H * sizeof(float)), s1[v] = calloc((size_t)D * H, sizeof(float));
            zp[v] = calloc((size_t)B * H, sizeof(float));
            for (int i = 0; i < D * H; i++) w[v][i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
        }
        fc_optim o;
        fc_optim_defaults(FC_OPTIM_RMSPROP, &o);
        for (int t = 0; t < steps; t++) {
            const float *rows[5], *next[5];
            for (int b = 0; b < B; b++) {
                rows[b] = x + ((size_t)t * B + b) * D;
                next[b] = x + ((size_t)((t + 1) % steps) * B + b) * D;
            }
            for (int i = 0; i < B * H; i++) dz[i] = urand(&s) - 0.5f;
            for (int v = 0; v < 3; v++) {
                fc_fused_layer f = {rows, B, dz, next, B, w[v], s1[v], NULL, H, {0}, 0.0f, last[v], (uint32_t)(t + 1)};
                fc_optim_step_init(&o, t + 1, &f.os);
                memset(zp[v], 0, (size_t)B * H * sizeof(float));
                if (v < 2) CHECK(fc_fused_rows(&f, 0, D, zp[v]) == 0, "fused alloc");
                else fc_fused_rows_scalar(&f, 0, D, 0, zp[v]);
            }
            for (int v = 1; v < 3; v++) {
                CHECK(memcmp(w[0], w[v], (size_t)D * H * sizeof(float)) == 0, "lazy H=%d step %d path %d: weights", H, t, v);
                CHECK(memcmp(zp[0], zp[v], (size_t)B * H * sizeof(float)) == 0, "lazy H=%d step %d path %d: forward", H, t, v);
            }
        }
        for (int v = 1; v < 3; v++) {
            CHECK(memcmp(s1[0], s1[v], (size_t)D * H * sizeof(float)) == 0, "lazy H=%d path %d: state", H, v);
            for (int i = 0; i < D; i++) CHECK(last[v][i] == (uint32_t)steps, "lazy H=%d row %d: last %u", H, i, last[v][i]);
        }
        free(x), free(dz);
        for (int v = 0; v < 3; v++) free(w[v]), free(s1[v]), free(zp[v]), free(last[v]);
    }
}

/* --- sparse first-layer forward: AVX2 == scalar bit for bit, any row split, vs double --- */
static void test_sparse_forward(void) {
    const int Ds[4] = {70, 64, 9, 130}, Hs[4] = {37, 128, 8, 200}; /* 200: 3 x 64 + 8 columns */
    for (int t = 0; t < 4; t++) {
        int D = Ds[t], H = Hs[t], n = 150;
        uint64_t s = 11 + (uint64_t)t;
        float *x = malloc((size_t)n * D * sizeof(float)), *w = malloc((size_t)D * H * sizeof(float));
        float *b = malloc((size_t)H * sizeof(float)), *o1 = malloc((size_t)n * H * sizeof(float));
        float *o2 = malloc((size_t)n * H * sizeof(float)), *o3 = malloc((size_t)n * H * sizeof(float));
        for (int i = 0; i < n * D; i++) x[i] = urand(&s) < 0.7f ? 0.0f : urand(&s) * 3.0f;
        for (int i = 0; i < D; i++) x[5 * D + i] = 0.0f; /* an all-zero sample */
        for (int i = 0; i < D * H; i++) w[i] = urand(&s) - 0.5f;
        for (int j = 0; j < H; j++) b[j] = urand(&s) - 0.5f;
        fc_sparse_dense_forward(o1, x, (size_t)n, w, b, D, H);
        fc_sparse_dense_forward_scalar(o2, x, (size_t)n, w, b, D, H);
        fc_sparse_dense_forward(o3, x, 61, w, b, D, H); /* another split of the rows */
        fc_sparse_dense_forward(o3 + 61 * H, x + 61 * D, (size_t)n - 61, w, b, D, H);
        CHECK(memcmp(o1, o2, (size_t)n * H * sizeof(float)) == 0, "sparse vector path == scalar (D %d H %d)", D, H);
        CHECK(memcmp(o1, o3, (size_t)n * H * sizeof(float)) == 0, "sparse: row split changes nothing (D %d H %d)", D, H);
        double maxerr = 0;
        for (int r = 0; r < n; r++)
            for (int j = 0; j < H; j++) {
                double ref = b[j];
                for (int i = 0; i < D; i++) ref += (double)x[r * D + i] * w[(size_t)i * H + j];
                maxerr = fmax(maxerr, fabs(ref - o1[r * H + j]));
            }
        CHECK(maxerr < 1e-4, "sparse forward vs double: %g (D %d H %d)", maxerr, D, H);
        CHECK(memcmp(o1 + 5 * H, b, (size_t)H * sizeof(float)) == 0, "all-zero sample gives the bias");
        free(x), free(w), free(b), free(o1), free(o2), free(o3);
    }
}

/* --- finite-difference gradient check of the layer passes + loss --- */
static double head_loss(fc_head *hd, const float *x, const int32_t *y, int B, float *dlog_out,
                        float *bufs[3]) {
    /* forward with the head passes: 2 hidden layers */
    fc_dense_forward(bufs[0], x, hd->w[0], hd->b[0], B, hd->dims[0], hd->dims[1]);
    fc_act_forward(bufs[0], bufs[0], (size_t)B * hd->dims[1], hd->arch.act);
    fc_dense_forward(bufs[1], bufs[0], hd->w[1], hd->b[1], B, hd->dims[1], hd->dims[2]);
    fc_act_forward(bufs[1], bufs[1], (size_t)B * hd->dims[2], hd->arch.act);
    fc_dense_forward(bufs[2], bufs[1], hd->w[2], hd->b[2], B, hd->dims[2], hd->dims[3]);
    return fc_loss_forward_backward(bufs[2], y, NULL, B, hd->dims[3], dlog_out, NULL) / B;
}

static void grad_check(int k, fc_act act) {
    fc_head_arch arch = {FC_POOL_FLATTEN, 2, {6, 5}, act, 0};
    fc_head *hd;
    fc_status st;
    const int B = 4, D = 7;
    CHECK(fc_head_create(&arch, 1, 1, D, k, &hd, &st) == 0, "create");
    fc_head_init_glorot(hd, 3);
    uint64_t s = 9;
    for (int l = 0; l < 3; l++)
        for (int j = 0; j < hd->dims[l + 1]; j++) hd->b[l][j] = urand(&s) - 0.5f;
    float x[28];
    int32_t y[4] = {0, 1, k - 1, 1};
    for (int i = 0; i < B * D; i++) x[i] = urand(&s) * 2 - 0.5f;
    float b0[24], b1[20], b2[16], dlog[16], d1[20], d0[24], da1[20], da0[24];
    float gw[3][64], gb[3][8];
    float *bufs[3] = {b0, b1, b2};
    head_loss(hd, x, y, B, dlog, bufs);
    int U = hd->dims[3];
    fc_dense_backward(da1, gw[2], gb[2], dlog, b1, hd->w[2], B, 5, U);
    fc_act_backward(d1, da1, b1, (size_t)B * 5, act);
    fc_dense_backward(da0, gw[1], gb[1], d1, b0, hd->w[1], B, 6, 5);
    fc_act_backward(d0, da0, b0, (size_t)B * 6, act);
    fc_dense_backward(NULL, gw[0], gb[0], d0, x, hd->w[0], B, D, 6);
    double worst = 0;
    for (int l = 0; l < 3; l++) {
        int nw = hd->dims[l] * hd->dims[l + 1];
        for (int i = 0; i < nw + hd->dims[l + 1]; i++) {
            float *p = i < nw ? &hd->w[l][i] : &hd->b[l][i - nw];
            float save = *p, h = 1e-2f;
            *p = save + h;
            double lp = head_loss(hd, x, y, B, NULL, bufs);
            *p = save - h;
            double lm = head_loss(hd, x, y, B, NULL, bufs);
            *p = save;
            double num = (lp - lm) / (2.0 * h), ana = i < nw ? gw[l][i] : gb[l][i - nw];
            double err = fabs(num - ana) / fmax(1e-2, fabs(num) + fabs(ana));
            if (err > worst) worst = err;
        }
    }
    CHECK(worst < 2e-2, "gradient check k=%d act=%d: worst relative error %g", k, act, worst);
    fc_head_free(hd);
}

static void test_gradients(void) {
    grad_check(2, FC_ACT_TANH);
    grad_check(3, FC_ACT_TANH);
    grad_check(2, FC_ACT_SIGMOID);
    grad_check(4, FC_ACT_RELU);
}

/* --- losses against closed forms --- */
static void test_loss_values(void) {
    float z[3] = {0.0f, 2.0f, -40.0f};
    int32_t y[3] = {1, 0, 1};
    float d[3];
    long correct = 0;
    double sum = fc_loss_forward_backward(z, y, NULL, 3, 1, d, &correct);
    double want = log(2.0) + log1p(exp(2.0)) + -log(1e-7); /* last one clipped at eps */
    CHECK_NEAR(sum, want, 1e-6);
    CHECK(correct == 0, "correct %ld", correct); /* p=0.5 counts as class 0 (Keras round) */
    CHECK_NEAR(d[1], (1.0 / (1.0 + exp(-2.0))) / 3.0, 1e-6);
    float zs[6] = {1, 2, 3, 0, 0, 0};
    int32_t ys[2] = {2, 1};
    float ds[6];
    sum = fc_loss_forward_backward(zs, ys, NULL, 2, 3, ds, &correct);
    double lse = log(exp(1.0) + exp(2.0) + exp(3.0));
    CHECK_NEAR(sum, (lse - 3.0) + log(3.0), 1e-6);
    CHECK_NEAR(ds[2], (exp(3.0 - lse) - 1.0) / 2.0, 1e-6);
    CHECK(correct == 1, "softmax correct %ld", correct);
}

/* Keras 2.2.4 clips the true class's probability to [1e-7, 1 - 1e-7] in float32 (the upper
 * end is 1 - 1.1920929e-7) and its gradient is zero where the clip binds; featcache had
 * kept training on such rows with p - y and put the upper end at 1 - 1e-7 in double. */
static void test_loss_clipping(void) {
    /* binary: z = 17 (p rounds past 1 - 1.19e-7), label 0 and 1; z = 16 (p = the upper
     * end exactly: not clipped); z = -30, label 1 (p below 1e-7) */
    float z[4] = {17.0f, 17.0f, 16.0f, -30.0f};
    int32_t y[4] = {0, 1, 0, 1};
    float d[4];
    long correct = 0;
    double sum = fc_loss_forward_backward(z, y, NULL, 4, 1, d, &correct);
    double up = 1.0 - (double)(1.0f - 1e-7f); /* 1.1920929e-7 */
    float p16 = 1.0f / (1.0f + expf(-16.0f));
    double want = -log(up) + -log((double)(1.0f - 1e-7f)) + -log1p(-(double)p16) + -log((double)1e-7f);
    CHECK_NEAR(sum, want, 1e-6);
    CHECK(d[0] == 0.0f && d[1] == 0.0f && d[3] == 0.0f, "clipped rows pass no gradient: %g %g %g", d[0], d[1], d[3]);
    CHECK_NEAR(d[2], (double)p16 / 4.0, 1e-9);
    /* softmax: a true class at ~1e-13 and one at ~1 - 2e-13 (both clipped: the whole row is
     * zero), and an ordinary row */
    float zs[9] = {30, 0, 0, 30, 0, 0, 1, 2, 3};
    int32_t ys[3] = {1, 0, 2};
    float ds[9];
    sum = fc_loss_forward_backward(zs, ys, NULL, 3, 3, ds, &correct);
    double lse = log(exp(1.0) + exp(2.0) + exp(3.0));
    CHECK_NEAR(sum, -log((double)1e-7f) + -log((double)(1.0f - 1e-7f)) + (lse - 3.0), 1e-6);
    int zero = 1;
    for (int k = 0; k < 6; k++) zero &= ds[k] == 0.0f;
    CHECK(zero, "clipped softmax rows pass no gradient");
    CHECK_NEAR(ds[8], (exp(3.0 - lse) - 1.0) / 3.0, 1e-7);
}

/* The L2 penalty of a large kernel, summed exactly enough: a float32 running sum of
 * 4M squares came out percents low. */
static void test_l2_penalty_sum(void) {
    fc_head_arch a = {FC_POOL_FLATTEN, 1, {1024}, FC_ACT_RELU, 0};
    fc_head *hd = NULL;
    fc_status st = {0};
    CHECK(fc_head_create(&a, 1, 1, 4096, 2, &hd, &st) == 0, "%s", st.msg);
    if (!hd) return;
    fc_head_init_glorot(hd, 5);
    double want = 0;
    for (int l = 0; l < hd->n_layers; l++)
        for (size_t i = 0; i < (size_t)hd->dims[l] * hd->dims[l + 1]; i++) want += (double)hd->w[l][i] * hd->w[l][i];
    double got = fc_head_l2_penalty(hd, 1e-3f) / (double)1e-3f;
    CHECK(fabs(got - want) <= 1e-9 * want, "penalty %.9g, exact %.9g", got, want);
    fc_head_free(hd);
}

/* --- optimizer formulas against hand computations --- */
static void test_optim_formulas(void) {
    fc_optim o;
    fc_optim_step s;
    float w = 1.0f, g = 0.5f, s1 = 0.0f, s2 = 0.0f;
    fc_optim_defaults(FC_OPTIM_RMSPROP, &o);
    fc_optim_step_init(&o, 1, &s);
    fc_optim_update(&s, &w, &g, &s1, &s2, 1, 0.0f);
    CHECK_NEAR(s1, 0.1 * 0.25, 1e-7);
    CHECK_NEAR(w, 1.0 - 0.001 * 0.5 / (sqrt(0.025) + 1e-7), 1e-7);
    fc_optim_defaults(FC_OPTIM_ADAM, &o);
    w = 1.0f, s1 = s2 = 0.0f;
    fc_optim_step_init(&o, 1, &s);
    fc_optim_update(&s, &w, &g, &s1, &s2, 1, 0.0f);
    double lr_t = 0.001 * sqrt(1 - 0.999) / (1 - 0.9);
    CHECK_NEAR(w, 1.0 - lr_t * 0.05 / (sqrt(0.00025) + 1e-7), 1e-6);
    fc_optim_defaults(FC_OPTIM_SGD, &o);
    o.momentum = 0.9f, o.nesterov = 1;
    w = 1.0f, s1 = 0.2f;
    fc_optim_step_init(&o, 1, &s);
    fc_optim_update(&s, &w, &g, &s1, &s2, 1, 0.0f);
    double v = 0.9 * 0.2 - 0.01 * 0.5;
    CHECK_NEAR(s1, v, 1e-7);
    CHECK_NEAR(w, 1.0 + 0.9 * v - 0.01 * 0.5, 1e-7);
}

static void small_cfg(fc_train_config *c, int hidden, float lr, float dropout) {
    fc_train_config_defaults(c);
    c->arch.hidden[0] = hidden;
    c->arch.n_hidden = hidden ? 1 : 0;
    c->arch.dropout = dropout;
    c->opt.lr = lr;
    c->epochs = 6;
    c->batch = 16;
    c->seed = 7;
}

static int same_history(const fc_history *a, const fc_history *b) {
    if (a->n != b->n) return 0;
    for (int e = 0; e < a->n; e++)
        if (memcmp(&a->ep[e].loss, &b->ep[e].loss, 4) || memcmp(&a->ep[e].acc, &b->ep[e].acc, 4) ||
            memcmp(&a->ep[e].val_loss, &b->ep[e].val_loss, 4) || memcmp(&a->ep[e].val_acc, &b->ep[e].val_acc, 4))
            return 0;
    return 1;
}

static void test_train_learns_and_is_deterministic(void) {
    fc_dataset tr, va;
    make_ds(&tr, 300, 2, 2, 12, 2, 1, 99);
    make_ds(&va, 200, 2, 2, 12, 2, 2, 99);
    fc_train_config c;
    small_cfg(&c, 32, 1e-3f, 0.25f);
    c.epochs = 20;
    fc_head *h1, *h2;
    fc_history r1, r2;
    fc_status st;
    CHECK(fc_train_group(&tr, &va, &c, 1, 2, NULL, &h1, &r1, &st) == 0, "%s", st.msg);
    CHECK(fc_train_group(&tr, &va, &c, 1, 2, NULL, &h2, &r2, &st) == 0, "%s", st.msg);
    CHECK(same_history(&r1, &r2), "same seed and threads: identical history");
    long maj = 0;
    for (size_t i = 0; i < va.n; i++) maj += va.y[i];
    double base = fmax((double)maj, (double)(va.n - maj)) / (double)va.n;
    CHECK(r1.ep[r1.n - 1].val_acc > base + 0.15, "val_acc %g vs majority %g", r1.ep[r1.n - 1].val_acc, base);
    CHECK(r1.ep[r1.n - 1].loss < r1.ep[0].loss, "training loss decreases");
    double vl, vacc; /* the trainer's threaded validation == evaluate on the final head */
    CHECK(fc_head_evaluate(h1, va.x, va.n, va.y, c.l2, &vl, &vacc, NULL, &st) == 0, "%s", st.msg);
    CHECK((float)vl == r1.ep[r1.n - 1].val_loss && (float)vacc == r1.ep[r1.n - 1].val_acc,
          "last val_loss %.9g == evaluate %.9g", r1.ep[r1.n - 1].val_loss, vl);
    /* threads 1 vs 2 agree to rounding */
    fc_head *h3;
    fc_history r3;
    CHECK(fc_train_group(&tr, &va, &c, 1, 1, NULL, &h3, &r3, &st) == 0, "%s", st.msg);
    CHECK(fabsf(r3.ep[0].loss - r1.ep[0].loss) < 1e-4, "threads 1 vs 2: %g vs %g", r3.ep[0].loss, r1.ep[0].loss);
    fc_head_free(h1), fc_head_free(h2), fc_head_free(h3);
    fc_history_free(&r1), fc_history_free(&r2), fc_history_free(&r3);
    /* different seed -> different history */
    c.seed = 8;
    CHECK(fc_train_group(&tr, &va, &c, 1, 2, NULL, &h1, &r1, &st) == 0, "%s", st.msg);
    fc_history r0;
    c.seed = 7;
    CHECK(fc_train_group(&tr, &va, &c, 1, 2, NULL, &h2, &r0, &st) == 0, "%s", st.msg);
    CHECK(!same_history(&r1, &r0), "seed changes the run");
    fc_head_free(h1), fc_head_free(h2);
    fc_history_free(&r1), fc_history_free(&r0);
    free_ds(&tr), free_ds(&va);
}

/* a group (sweep) trains each config exactly as it is trained alone */
static void test_group_matches_alone(void) {
    fc_dataset tr, va;
    make_ds(&tr, 150, 2, 2, 10, 3, 3, 98);
    make_ds(&va, 60, 2, 2, 10, 3, 4, 98);
    fc_train_config c[4];
    small_cfg(&c[0], 16, 1e-3f, 0.5f);
    small_cfg(&c[1], 40, 3e-3f, 0.0f);
    small_cfg(&c[2], 0, 1e-2f, 0.0f);
    small_cfg(&c[3], 24, 1e-3f, 0.25f);
    c[1].opt.kind = FC_OPTIM_ADAM;
    c[2].opt.kind = FC_OPTIM_SGD, c[2].opt.momentum = 0.9f, c[2].opt.nesterov = 1;
    c[3].arch.n_hidden = 2, c[3].arch.hidden[1] = 12, c[3].l2 = 1e-3f, c[3].class_weight = 1;
    c[3].epochs = 4, c[3].patience = 2;
    fc_head *hg[4];
    fc_history rg[4];
    fc_status st;
    CHECK(fc_train_group(&tr, &va, c, 4, 2, NULL, hg, rg, &st) == 0, "%s", st.msg);
    for (int i = 0; i < 4; i++) {
        fc_head *h;
        fc_history r;
        CHECK(fc_train_group(&tr, &va, &c[i], 1, 2, NULL, &h, &r, &st) == 0, "%s", st.msg);
        CHECK(same_history(&r, &rg[i]), "config %d: sweep history == lone history", i);
        CHECK(memcmp(h->w[0], hg[i]->w[0], (size_t)h->dims[0] * h->dims[1] * 4) == 0, "config %d weights", i);
        fc_head_free(h), fc_history_free(&r);
        fc_head_free(hg[i]), fc_history_free(&rg[i]);
    }
    free_ds(&tr), free_ds(&va);
}

static void test_bad_data(void) {
    fc_dataset tr, va;
    make_ds(&tr, 20, 1, 1, 4, 2, 5, 97);
    make_ds(&va, 0, 1, 1, 4, 2, 6, 97);
    fc_train_config c;
    small_cfg(&c, 8, 1e-3f, 0);
    fc_head *h;
    fc_history r;
    fc_status st;
    for (size_t i = 0; i < tr.n; i++) tr.y[i] = 1;
    CHECK(fc_train_group(&tr, &va, &c, 1, 1, NULL, &h, &r, &st) == FC_ERR_FORMAT && strstr(st.msg, "only one class"), "%s", st.msg);
    tr.y[3] = 0;
    c.patience = 2;
    CHECK(fc_train_group(&tr, &va, &c, 1, 1, NULL, &h, &r, &st) == FC_ERR_FORMAT && strstr(st.msg, "validation"), "%s", st.msg);
    c.patience = 0;
    CHECK(fc_train_group(&tr, &va, &c, 1, 1, NULL, &h, &r, &st) == 0, "no validation is fine: %s", st.msg);
    CHECK(isnan(r.ep[0].val_loss), "val_loss NaN without validation");
    fc_head_free(h), fc_history_free(&r);
    tr.y[5] = 7;
    CHECK(fc_train_group(&tr, &va, &c, 1, 1, NULL, &h, &r, &st) == FC_ERR_FORMAT && strstr(st.msg, "out of range"), "%s", st.msg);
    tr.n = 0;
    CHECK(fc_train_group(&tr, &va, &c, 1, 1, NULL, &h, &r, &st) == FC_ERR_FORMAT && strstr(st.msg, "empty"), "%s", st.msg);
    free_ds(&tr), free_ds(&va);
}

static void test_pooling(void) {
    float x[2 * 2 * 2 * 3], o[6];
    for (int i = 0; i < 24; i++) x[i] = (float)((i * 7) % 11) - 3.0f;
    fc_pool_forward(FC_POOL_GAP, x, 2, 2, 2, 3, o);
    CHECK_NEAR(o[0], (x[0] + x[3] + x[6] + x[9]) / 4.0, 1e-6);
    fc_pool_forward(FC_POOL_GMP, x, 2, 2, 2, 3, o);
    CHECK_NEAR(o[5], fmax(fmax(x[14], x[17]), fmax(x[20], x[23])), 0);
    fc_head_arch a = {0};
    CHECK(fc_hidden_parse("256,128", ',', &a) == 0 && a.n_hidden == 2 && a.hidden[1] == 128, "hidden list");
    CHECK(fc_hidden_parse("0", ',', &a) == 0 && a.n_hidden == 0, "linear");
    CHECK(fc_hidden_parse("12,x", ',', &a) != 0, "bad hidden");
    CHECK(fc_hidden_parse("", ',', &a) != 0, "empty hidden");
    CHECK(fc_hidden_parse("0,5", ',', &a) != 0, "0 must be alone");
}

/* --- heads run with denormals flushed to zero, as TensorFlow's CPU threads do (fpmode.h):
 * a logit that would be subnormal is 0, and the caller's floating-point mode is restored --- */
static void test_head_ftz(void) {
    fc_head_arch arch = {FC_POOL_FLATTEN, 0, {0}, FC_ACT_RELU, 0};
    fc_head *hd;
    fc_status st;
    CHECK(fc_head_create(&arch, 1, 1, 2, 3, &hd, &st) == 0, "create: %s", st.msg);
    if (!hd) return;
    for (int j = 0; j < 3; j++) hd->b[0][j] = 0.0f;
    for (int i = 0; i < 6; i++) hd->w[0][i] = 1e-20f;
    const float x[2] = {1e-20f, 0.0f}; /* 1e-20 * 1e-20 = 1e-40: subnormal */
    float logits[3] = {-1, -1, -1};
    unsigned before = _mm_getcsr();
    CHECK(fc_head_logits(hd, x, 1, logits, &st) == 0, "logits: %s", st.msg);
    CHECK(logits[0] == 0.0f && logits[1] == 0.0f && logits[2] == 0.0f, "subnormal logits flushed: %g %g %g",
          (double)logits[0], (double)logits[1], (double)logits[2]);
    CHECK((_mm_getcsr() & ~0x3Fu) == (before & ~0x3Fu), "floating-point mode restored: %#x -> %#x", before, _mm_getcsr());
    volatile float tiny = 1e-20f;
    CHECK(tiny * tiny != 0.0f, "the caller still computes subnormals");
    fc_head_free(hd);
}

/* --- the train plot's title: head and optimizer, then every non-default setting, in the
 * order and form of the runs table --- */
static void test_config_label(void) {
    fc_train_config c;
    fc_train_config_defaults(&c);
    char buf[256];
    fc_train_config_label(&c, buf, sizeof buf);
    CHECK(!strcmp(buf, "pool=flatten hidden=256 dropout=0.5 optimizer=rmsprop lr=2e-05"), "defaults: '%s'", buf);
    fc_optim_defaults(FC_OPTIM_SGD, &c.opt);
    c.opt.lr = 0.01f, c.opt.momentum = 0.9f, c.opt.nesterov = 1, c.batch = 32, c.l2 = 1e-3f, c.class_weight = 1;
    c.arch.act = FC_ACT_TANH;
    fc_train_config_label(&c, buf, sizeof buf);
    CHECK(!strcmp(buf, "pool=flatten hidden=256 activation=tanh dropout=0.5 optimizer=sgd lr=0.01 momentum=0.9 "
                       "nesterov=true l2=0.001 batch=32 class_weight=balanced"),
          "non-defaults: '%s'", buf);
    /* review 12 B F6: patience, seed and --augment too; hidden layers as --hidden takes them */
    c.patience = 5, c.seed = 7, c.augment = 1, c.arch.n_hidden = 2, c.arch.hidden[1] = 32;
    fc_train_config_label(&c, buf, sizeof buf);
    CHECK(!strcmp(buf, "pool=flatten hidden=256,32 activation=tanh dropout=0.5 optimizer=sgd lr=0.01 momentum=0.9 "
                       "nesterov=true l2=0.001 batch=32 patience=5 class_weight=balanced seed=7 augment=true"),
          "patience, seed, augment: '%s'", buf);
    /* real settings as Python's repr, as runs shows them: 1.0, not 1; all of float32's digits */
    fc_train_config_defaults(&c);
    c.opt.lr = 1.0f, c.arch.dropout = 0.0f;
    fc_train_config_label(&c, buf, sizeof buf);
    CHECK(!strcmp(buf, "pool=flatten hidden=256 dropout=0.0 optimizer=rmsprop lr=1.0"), "lr 1: '%s'", buf);
    c.opt.lr = 0.000123456789f;
    fc_train_config_label(&c, buf, sizeof buf);
    CHECK(!strcmp(buf, "pool=flatten hidden=256 dropout=0.0 optimizer=rmsprop lr=0.00012345679"), "lr digits: '%s'", buf);
}

int main(void) {
    T_RUN(test_config_label);
    T_RUN(test_head_ftz);
    /* every vector path this CPU has (AVX-512, AVX2) against the scalar reference */
    /* (a CPU without AVX2 runs them once on the scalar path: the forward against double) */
    const int best = fc_fused_isa();
    for (int isa = best; isa >= (best ? 1 : 0); isa--) {
        fc_fused_set_isa(isa);
        CHECK(fc_fused_isa() == isa, "fused path %d", isa);
        fprintf(stderr, "fused first-layer pass: %s path\n", isa == 2 ? "AVX-512" : isa ? "AVX2" : "scalar");
        T_RUN(test_fused_vs_scalar);
        T_RUN(test_fused_short_last_batch);
        T_RUN(test_fused_lazy);
        T_RUN(test_sparse_forward);
    }
    fc_fused_set_isa(2);
    T_RUN(test_gradients);
    T_RUN(test_loss_values);
    T_RUN(test_loss_clipping);
    T_RUN(test_l2_penalty_sum);
    T_RUN(test_optim_formulas);
    T_RUN(test_pooling);
    T_RUN(test_train_learns_and_is_deterministic);
    T_RUN(test_group_matches_alone);
    T_RUN(test_bad_data);
    return t_done("test_train");
}
