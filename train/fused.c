/* fused.c - fused gradient + optimizer + next-forward kernel for the first Dense layer.
 * AVX2+FMA path chosen at run time; the scalar path does the identical arithmetic
 * (explicit fmaf where the vector code uses FMA, no contraction elsewhere). */
#pragma GCC optimize("fp-contract=off")
#include "fused.h"

#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows per cache block (the updated rows are re-read by the forward while in L1/L2). */
#define FUSED_BLOCK 16

static float dummy_state;

void fc_fused_rows_scalar(const fc_fused_layer *f, int r0, int r1, int j0, float *zp) {
    const int H = f->H;
    for (int i = r0; i < r1; i++) {
        float *wr = f->w + (size_t)i * H;
        for (int j = j0; j < H; j++) {
            float w = wr[j];
            if (f->bt) {
                float g = 0.0f;
                for (int b = 0; b < f->bt; b++) g = fmaf(f->xt[b][i], f->dz[(size_t)b * H + j], g);
                if (f->l2x2 != 0.0f) g = g + f->l2x2 * w;
                size_t k = (size_t)i * H + j;
                w = fc_optim_apply1(&f->os, w, g, f->s1 ? &f->s1[k] : &dummy_state,
                                    f->s2 ? &f->s2[k] : &dummy_state);
                wr[j] = w;
            }
            for (int b = 0; b < f->bn; b++)
                zp[(size_t)b * H + j] = fmaf(f->xn[b][i], w, zp[(size_t)b * H + j]);
        }
    }
}

/* 8 lanes of fc_optim_apply1 (same operation order, no FMA). */
__attribute__((target("avx2,fma"), always_inline)) static inline __m256
update8(const fc_optim_step *s, __m256 w, __m256 g, float *p1, float *p2) {
    const __m256 lr = _mm256_set1_ps(s->lr), c1 = _mm256_set1_ps(s->c1),
                 c2 = _mm256_set1_ps(s->c2), eps = _mm256_set1_ps(s->eps);
    switch (s->kind) {
    case FC_OPTIM_RMSPROP: {
        __m256 ms = _mm256_add_ps(_mm256_mul_ps(c1, _mm256_loadu_ps(p1)),
                                  _mm256_mul_ps(c2, _mm256_mul_ps(g, g)));
        _mm256_storeu_ps(p1, ms);
        __m256 den = _mm256_add_ps(_mm256_sqrt_ps(ms), eps);
        return _mm256_sub_ps(w, _mm256_div_ps(_mm256_mul_ps(lr, g), den));
    }
    case FC_OPTIM_ADAM: {
        const __m256 d1 = _mm256_set1_ps(s->d1), d2 = _mm256_set1_ps(s->d2);
        __m256 m = _mm256_add_ps(_mm256_mul_ps(c1, _mm256_loadu_ps(p1)), _mm256_mul_ps(c2, g));
        __m256 v = _mm256_add_ps(_mm256_mul_ps(d1, _mm256_loadu_ps(p2)),
                                 _mm256_mul_ps(d2, _mm256_mul_ps(g, g)));
        _mm256_storeu_ps(p1, m);
        _mm256_storeu_ps(p2, v);
        __m256 den = _mm256_add_ps(_mm256_sqrt_ps(v), eps);
        return _mm256_sub_ps(w, _mm256_div_ps(_mm256_mul_ps(lr, m), den));
    }
    default:
        if (s->plain_sgd) return _mm256_sub_ps(w, _mm256_mul_ps(lr, g));
        {
            __m256 v = _mm256_sub_ps(_mm256_mul_ps(c1, _mm256_loadu_ps(p1)), _mm256_mul_ps(lr, g));
            _mm256_storeu_ps(p1, v);
            if (s->nesterov)
                return _mm256_add_ps(w, _mm256_sub_ps(_mm256_mul_ps(c1, v), _mm256_mul_ps(lr, g)));
            return _mm256_add_ps(w, v);
        }
    }
}

/* Gradient + update of one row i of W: g = sum over the batch rows b with x[b][i] != 0
 * (feature maps after ReLU are mostly exact zeros; skipping a zero term leaves every
 * sum bit-identical) of x[b][i] * dz[b][:]. nzb/nzx: those b and their x values. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
row_update_avx2(const fc_fused_layer *f, int i, const int *nzb, const float *nzx, int nnz) {
    const int H = f->H, H8 = H & ~7;
    const float *restrict dz = f->dz;
    float *restrict wr = f->w + (size_t)i * H;
    float *S1 = f->s1 ? f->s1 + (size_t)i * H : NULL, *S2 = f->s2 ? f->s2 + (size_t)i * H : NULL;
    const fc_optim_step os = f->os;
    const __m256 l2 = _mm256_set1_ps(f->l2x2);
    const int use_l2 = f->l2x2 != 0.0f;
    int j = 0;
    if (nnz == 0 && !use_l2 && os.kind != FC_OPTIM_ADAM) {
        /* g == +0 for the whole row (no sample of the batch has this input nonzero: common
         * for dead channels of real feature maps). The full formulas then reduce exactly to
         * ms = rho*ms (RMSprop), v = momentum*v; w += v (SGD), nothing (plain SGD). */
        const __m256 c1 = _mm256_set1_ps(os.c1);
        if (os.kind == FC_OPTIM_RMSPROP)
            for (; j < H8; j += 8) _mm256_storeu_ps(S1 + j, _mm256_mul_ps(c1, _mm256_loadu_ps(S1 + j)));
        else if (!os.plain_sgd)
            for (; j < H8; j += 8) {
                __m256 v = _mm256_mul_ps(c1, _mm256_loadu_ps(S1 + j));
                _mm256_storeu_ps(S1 + j, v);
                __m256 w = _mm256_loadu_ps(wr + j);
                _mm256_storeu_ps(wr + j, _mm256_add_ps(w, os.nesterov ? _mm256_mul_ps(c1, v) : v));
            }
        return;
    }
    for (; j + 32 <= H8; j += 32) {
        __m256 g0 = _mm256_setzero_ps(), g1 = g0, g2 = g0, g3 = g0;
        for (int k = 0; k < nnz; k++) {
            const float *d = dz + (size_t)nzb[k] * H + j;
            __m256 x = _mm256_set1_ps(nzx[k]);
            g0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(d), g0);
            g1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(d + 8), g1);
            g2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(d + 16), g2);
            g3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(d + 24), g3);
        }
        __m256 gg[4] = {g0, g1, g2, g3};
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            int jj = j + 8 * q;
            __m256 w = _mm256_loadu_ps(wr + jj);
            if (use_l2) gg[q] = _mm256_add_ps(gg[q], _mm256_mul_ps(l2, w));
            _mm256_storeu_ps(wr + jj, update8(&os, w, gg[q], S1 ? S1 + jj : NULL, S2 ? S2 + jj : NULL));
        }
    }
    for (; j < H8; j += 8) {
        __m256 g = _mm256_setzero_ps();
        for (int k = 0; k < nnz; k++)
            g = _mm256_fmadd_ps(_mm256_set1_ps(nzx[k]), _mm256_loadu_ps(dz + (size_t)nzb[k] * H + j), g);
        __m256 w = _mm256_loadu_ps(wr + j);
        if (use_l2) g = _mm256_add_ps(g, _mm256_mul_ps(l2, w));
        _mm256_storeu_ps(wr + j, update8(&os, w, g, S1 ? S1 + j : NULL, S2 ? S2 + j : NULL));
    }
}

/* zp[b][:] += sum over rows i in [i0, i1) with x[b][i] != 0 of x[b][i] * W[i][:], rows
 * in increasing order (the same order for every element, whatever H is). */
__attribute__((target("avx2,fma"), always_inline)) static inline void
block_forward_avx2(const fc_fused_layer *f, const fc_nz_rows *nz, int blk, float *restrict zp) {
    const int H = f->H, H8 = H & ~7, nblk = (nz->r1 - nz->r0 + FUSED_BLOCK - 1) / FUSED_BLOCK;
    const float *restrict W = f->w;
    for (int b = 0; b < f->bn; b++) {
        const int *st = nz->fstart + (size_t)b * (nblk + 1);
        const int nnz = st[blk + 1] - st[blk];
        const int *nzi = nz->fi + (size_t)b * nz->rows + st[blk];
        const float *nzx = nz->fx + (size_t)b * nz->rows + st[blk];
        if (!nnz) continue;
        float *z = zp + (size_t)b * H;
        int j = 0;
        for (; j + 32 <= H8; j += 32) {
            __m256 a0 = _mm256_loadu_ps(z + j), a1 = _mm256_loadu_ps(z + j + 8),
                   a2 = _mm256_loadu_ps(z + j + 16), a3 = _mm256_loadu_ps(z + j + 24);
            for (int k = 0; k < nnz; k++) {
                const float *w = W + (size_t)nzi[k] * H + j;
                __m256 xv = _mm256_set1_ps(nzx[k]);
                a0 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w), a0);
                a1 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w + 8), a1);
                a2 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w + 16), a2);
                a3 = _mm256_fmadd_ps(xv, _mm256_loadu_ps(w + 24), a3);
            }
            _mm256_storeu_ps(z + j, a0), _mm256_storeu_ps(z + j + 8, a1);
            _mm256_storeu_ps(z + j + 16, a2), _mm256_storeu_ps(z + j + 24, a3);
        }
        for (; j < H8; j += 8) {
            __m256 a = _mm256_loadu_ps(z + j);
            for (int k = 0; k < nnz; k++)
                a = _mm256_fmadd_ps(_mm256_set1_ps(nzx[k]), _mm256_loadu_ps(W + (size_t)nzi[k] * H + j), a);
            _mm256_storeu_ps(z + j, a);
        }
    }
}

void fc_nz_build(fc_nz_rows *nz, const float *const *xt, int bt, const float *const *xn, int bn, int r0, int r1) {
    int n = r1 - r0, nblk = (n + FUSED_BLOCK - 1) / FUSED_BLOCK;
    nz->r0 = r0, nz->r1 = r1;
    memset(nz->cnt, 0, (size_t)n * sizeof *nz->cnt);
    for (int b = 0; b < bt; b++) { /* stream each sample row once; branch-free appends */
        const float *x = xt[b] + r0;
        for (int i = 0; i < n; i++) {
            int k = nz->cnt[i];
            size_t at = (size_t)i * nz->cap + (size_t)k;
            nz->b[at] = b, nz->x[at] = x[i];
            nz->cnt[i] = k + (x[i] != 0.0f);
        }
    }
    for (int b = 0; b < bn; b++) { /* the next batch: nonzeros of each sample, by row block */
        const float *x = xn[b];
        int *st = nz->fstart + (size_t)b * (nblk + 1), *fi = nz->fi + (size_t)b * nz->rows, k = 0;
        float *fx = nz->fx + (size_t)b * nz->rows;
        for (int blk = 0; blk < nblk; blk++) {
            st[blk] = k;
            int i1 = r0 + (blk + 1) * FUSED_BLOCK < r1 ? r0 + (blk + 1) * FUSED_BLOCK : r1;
            for (int i = r0 + blk * FUSED_BLOCK; i < i1; i++) {
                fi[k] = i, fx[k] = x[i];
                k += x[i] != 0.0f;
            }
        }
        st[nblk] = k;
    }
}

__attribute__((target("avx2,fma"))) static void fused_avx2(const fc_fused_layer *f, const fc_nz_rows *nz,
                                                            float *zp) {
    int H8 = f->H & ~7, r0 = nz->r0, r1 = nz->r1;
    if (H8) {
        for (int i0 = r0, blk = 0; i0 < r1; i0 += FUSED_BLOCK, blk++) {
            int i1 = i0 + FUSED_BLOCK < r1 ? i0 + FUSED_BLOCK : r1;
            if (f->bt > 0)
                for (int i = i0; i < i1; i++) {
                    size_t at = (size_t)(i - r0) * nz->cap;
                    row_update_avx2(f, i, nz->b + at, nz->x + at, nz->cnt[i - r0]);
                }
            if (f->bn) block_forward_avx2(f, nz, blk, zp);
        }
    }
    if (H8 < f->H) fc_fused_rows_scalar(f, r0, r1, H8, zp);
}

void fc_fused_rows_nz(const fc_fused_layer *f, const fc_nz_rows *nz, float *zp) {
    /* the vector path needs the state arrays of its optimizer (the scalar one takes NULL) */
    int state_ok = f->bt <= 0 || (f->os.kind == FC_OPTIM_SGD && f->os.plain_sgd) ||
                   (f->s1 && (f->os.kind != FC_OPTIM_ADAM || f->s2));
    if (state_ok && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) fused_avx2(f, nz, zp);
    else fc_fused_rows_scalar(f, nz->r0, nz->r1, 0, zp);
}

int fc_nz_alloc(fc_nz_rows *nz, int rows, int cap) {
    memset(nz, 0, sizeof *nz);
    nz->cap = cap > 0 ? cap : 1;
    nz->rows = rows;
    size_t nblk = (size_t)(rows + FUSED_BLOCK - 1) / FUSED_BLOCK;
    nz->cnt = malloc((size_t)rows * sizeof *nz->cnt);
    nz->b = malloc((size_t)rows * nz->cap * sizeof *nz->b);
    nz->x = malloc((size_t)rows * nz->cap * sizeof *nz->x);
    nz->fstart = malloc((size_t)nz->cap * (nblk + 1) * sizeof *nz->fstart);
    nz->fi = malloc((size_t)nz->cap * rows * sizeof *nz->fi);
    nz->fx = malloc((size_t)nz->cap * rows * sizeof *nz->fx);
    if (nz->cnt && nz->b && nz->x && nz->fstart && nz->fi && nz->fx) return 0;
    fc_nz_free(nz);
    return -1;
}

void fc_nz_free(fc_nz_rows *nz) {
    free(nz->cnt), free(nz->b), free(nz->x), free(nz->fstart), free(nz->fi), free(nz->fx);
    nz->cnt = NULL, nz->b = NULL, nz->x = NULL, nz->fstart = NULL, nz->fi = NULL, nz->fx = NULL;
}

int fc_fused_rows(const fc_fused_layer *f, int r0, int r1, float *zp) {
    fc_nz_rows nz;
    if (fc_nz_alloc(&nz, FC_NZ_CHUNK, f->bt > f->bn ? f->bt : f->bn)) return -1;
    for (int c0 = r0; c0 < r1; c0 += FC_NZ_CHUNK) {
        int c1 = c0 + FC_NZ_CHUNK < r1 ? c0 + FC_NZ_CHUNK : r1;
        fc_nz_build(&nz, f->xt, f->bt, f->xn, f->bn, c0, c1);
        fc_fused_rows_nz(f, &nz, zp);
    }
    fc_nz_free(&nz);
    return 0;
}
