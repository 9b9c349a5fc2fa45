/* fused.c - fused gradient + optimizer + next-forward kernel for the first Dense layer.
 * AVX2+FMA path chosen at run time; the scalar path does the identical arithmetic
 * (explicit fmaf where the vector code uses FMA, no contraction elsewhere). */
#pragma GCC optimize("fp-contract=off")
#include "fused.h"

#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static float dummy_state;

void fc_fused_rows_scalar(const fc_fused_layer *f, int r0, int r1, int j0, float *zp) {
    const int H = f->H;
    for (int i = r0; i < r1; i++) {
        float *wr = f->w + (size_t)i * H;
        if (f->bt && f->last && f->s1) { /* the scalings a vector pass skipped (see fused.h), then eager */
            for (uint32_t k = f->last[i] + 1; k < f->step; k++)
                for (int j = j0; j < H; j++) f->s1[(size_t)i * H + j] = f->os.c1 * f->s1[(size_t)i * H + j];
            f->last[i] = f->step;
        }
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
update8(const fc_optim_step *s, int kind, __m256 w, __m256 g, float *p1, float *p2) {
    const __m256 lr = _mm256_set1_ps(s->lr), c1 = _mm256_set1_ps(s->c1),
                 c2 = _mm256_set1_ps(s->c2), eps = _mm256_set1_ps(s->eps);
    switch (kind) {
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

/* a[0..3] (32 columns from j) += sum over k < n, in increasing k, of x[k] * row[k][j..j+32):
 * the gradient (rows of dz) and the next-batch forward (rows of W) share it. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
acc_rows32(__m256 a[4], const float *const *row, const float *x, int n, int j) {
    for (int k = 0; k < n; k++) {
        const float *r = row[k] + j;
        __m256 xk = _mm256_set1_ps(x[k]);
        a[0] = _mm256_fmadd_ps(xk, _mm256_loadu_ps(r), a[0]);
        a[1] = _mm256_fmadd_ps(xk, _mm256_loadu_ps(r + 8), a[1]);
        a[2] = _mm256_fmadd_ps(xk, _mm256_loadu_ps(r + 16), a[2]);
        a[3] = _mm256_fmadd_ps(xk, _mm256_loadu_ps(r + 24), a[3]);
    }
}

/* The same for 8 columns. */
__attribute__((target("avx2,fma"), always_inline)) static inline __m256
acc_rows8(__m256 a, const float *const *row, const float *x, int n, int j) {
    for (int k = 0; k < n; k++) a = _mm256_fmadd_ps(_mm256_set1_ps(x[k]), _mm256_loadu_ps(row[k] + j), a);
    return a;
}

/* Lanes [0, r) of an 8-lane mask (the last H % 8 columns). */
__attribute__((target("avx2,fma"), always_inline)) static inline __m256i tail_mask(int r) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* acc_rows8 over the lanes of mask mk only (the others are not read). */
__attribute__((target("avx2,fma"), always_inline)) static inline __m256
acc_rows8_masked(__m256 a, const float *const *row, const float *x, int n, int j, __m256i mk) {
    for (int k = 0; k < n; k++) a = _mm256_fmadd_ps(_mm256_set1_ps(x[k]), _mm256_maskload_ps(row[k] + j, mk), a);
    return a;
}

/* The n scalings of one row's RMSprop state by rho a lazy pass skipped (see fused.h), one
 * multiplication at a time like the eager steps. 64 columns at a time: 8 independent
 * chains keep both multipliers busy (4 chains wait on the multiply's latency). */
__attribute__((target("avx2,fma"), always_inline)) static inline void catch_up_avx2(float *s, int H, float rho,
                                                                                     uint32_t n) {
    if (!n) return;
    const __m256 c = _mm256_set1_ps(rho);
    const int H8 = H & ~7;
    int j = 0;
    for (; j + 64 <= H8; j += 64) {
        __m256 a[8];
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++) a[q] = _mm256_loadu_ps(s + j + 8 * q);
        for (uint32_t k = 0; k < n; k++) {
#pragma GCC unroll 8
            for (int q = 0; q < 8; q++) a[q] = _mm256_mul_ps(c, a[q]);
        }
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++) _mm256_storeu_ps(s + j + 8 * q, a[q]);
    }
    for (; j < H8; j += 8) {
        __m256 a = _mm256_loadu_ps(s + j);
        for (uint32_t k = 0; k < n; k++) a = _mm256_mul_ps(c, a);
        _mm256_storeu_ps(s + j, a);
    }
    for (; j < H; j++) {
        float v = s[j];
        for (uint32_t k = 0; k < n; k++) v = rho * v;
        s[j] = v;
    }
}

/* The terms of row i's gradient: the batch rows b with x[b][i] != 0 (feature maps after ReLU
 * are mostly exact zeros; skipping a zero term leaves every sum bit-identical), in
 * increasing b: dp[k] = dz[b], xv[k] = x[b][i]. Returns their number. */
static inline __attribute__((always_inline)) int row_terms(const fc_fused_layer *f, const fc_nz_rows *nz, int i,
                                                           const float **dp, float *xv) {
    int nnz = 0;
    for (int wi = 0; wi * 32 < nz->bt; wi++) /* words of this batch only (later ones are stale) */
        for (uint32_t m = nz->tmask[(size_t)wi * nz->rows + (i - nz->r0)]; m; m &= m - 1) {
            int b = wi * 32 + __builtin_ctz(m);
            dp[nnz] = f->dz + (size_t)b * f->H, xv[nnz++] = f->xt[b][i];
        }
    return nnz;
}

/* Row i + pd of W and of the state, ~4 KiB ahead (see fused_walk). */
static inline __attribute__((always_inline)) void row_prefetch(const fc_fused_layer *f, const fc_nz_rows *nz, int i,
                                                               int pd) {
    if (pd <= 0 || i + pd >= nz->r1) return;
    const size_t off = (size_t)(i + pd) * f->H;
    const char *pw = (const char *)(f->w + off), *p1 = f->s1 ? (const char *)(f->s1 + off) : NULL,
               *p2 = f->s2 ? (const char *)(f->s2 + off) : NULL;
    for (int o = 0; o < f->H * (int)sizeof(float); o += 64) {
        _mm_prefetch(pw + o, _MM_HINT_T0);
        if (p1) _mm_prefetch(p1 + o, _MM_HINT_T0);
        if (p2) _mm_prefetch(p2 + o, _MM_HINT_T0);
    }
}

/* The terms of sample b's next-batch forward over 32-row block blk: the rows i of the block
 * with x[b][i] != 0, in increasing i: wp[k] = W[i], xv[k] = x[b][i]. Returns their number. */
static inline __attribute__((always_inline)) int fwd_terms(const fc_fused_layer *f, const fc_nz_rows *nz, int blk,
                                                           int b, const float **wp, float *xv) {
    const int nblk = (nz->rows + FC_NZ_BLOCK - 1) / FC_NZ_BLOCK, i0 = nz->r0 + blk * FC_NZ_BLOCK;
    int nnz = 0;
    for (uint32_t m = nz->fmask[(size_t)b * nblk + blk]; m; m &= m - 1) {
        int i = i0 + __builtin_ctz(m);
        wp[nnz] = f->w + (size_t)i * f->H, xv[nnz++] = f->xn[b][i];
    }
    return nnz;
}

/* Gradient + update of one row i of W: g = sum over row_terms of x[b][i] * dz[b][:].
 * dp/xv: scratch (>= bt). */
__attribute__((target("avx2,fma"), always_inline)) static inline void
row_update_avx2(const fc_fused_layer *f, const fc_nz_rows *nz, int i, const float **dp, float *xv, const int kind,
                const int use_l2, const int pd) {
    const int H = f->H, H8 = H & ~7;
    float *restrict wr = f->w + (size_t)i * H;
    float *S1 = f->s1 ? f->s1 + (size_t)i * H : NULL, *S2 = f->s2 ? f->s2 + (size_t)i * H : NULL;
    const fc_optim_step os = f->os;
    const __m256 l2 = _mm256_set1_ps(f->l2x2);
    if ((!S1 && (kind != FC_OPTIM_SGD || !os.plain_sgd)) || (kind == FC_OPTIM_ADAM && !S2))
        __builtin_unreachable(); /* fc_fused_rows_nz takes the vector paths only with the state arrays */
    const int nnz = row_terms(f, nz, i, dp, xv);
    row_prefetch(f, nz, i, pd);
    int j = 0;
    if (nnz == 0 && !use_l2 && kind != FC_OPTIM_ADAM) {
        /* g == +0 for the whole row (no sample of the batch has this input nonzero: common
         * for dead channels of real feature maps). The full formulas then reduce exactly to
         * ms = rho*ms (RMSprop), v = momentum*v; w += v (SGD), nothing (plain SGD). */
        const __m256 c1 = _mm256_set1_ps(os.c1);
        const __m256i mk = tail_mask(H - H8);
        if (kind == FC_OPTIM_RMSPROP) {
            for (; j < H8; j += 8) _mm256_storeu_ps(S1 + j, _mm256_mul_ps(c1, _mm256_loadu_ps(S1 + j)));
            if (H8 < H) _mm256_maskstore_ps(S1 + H8, mk, _mm256_mul_ps(c1, _mm256_maskload_ps(S1 + H8, mk)));
        } else if (!os.plain_sgd) {
            for (; j < H; j += 8) {
                const __m256i m = j < H8 ? _mm256_set1_epi32(-1) : mk;
                __m256 v = _mm256_mul_ps(c1, _mm256_maskload_ps(S1 + j, m));
                _mm256_maskstore_ps(S1 + j, m, v);
                __m256 w = _mm256_maskload_ps(wr + j, m);
                _mm256_maskstore_ps(wr + j, m, _mm256_add_ps(w, os.nesterov ? _mm256_mul_ps(c1, v) : v));
            }
        }
        return;
    }
    for (; j + 32 <= H8; j += 32) {
        __m256 gg[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        acc_rows32(gg, dp, xv, nnz, j);
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            int jj = j + 8 * q;
            __m256 w = _mm256_loadu_ps(wr + jj);
            if (use_l2) gg[q] = _mm256_add_ps(gg[q], _mm256_mul_ps(l2, w));
            _mm256_storeu_ps(wr + jj, update8(&os, kind, w, gg[q], S1 ? S1 + jj : NULL, S2 ? S2 + jj : NULL));
        }
    }
    for (; j < H8; j += 8) {
        __m256 g = acc_rows8(_mm256_setzero_ps(), dp, xv, nnz, j);
        __m256 w = _mm256_loadu_ps(wr + j);
        if (use_l2) g = _mm256_add_ps(g, _mm256_mul_ps(l2, w));
        _mm256_storeu_ps(wr + j, update8(&os, kind, w, g, S1 ? S1 + j : NULL, S2 ? S2 + j : NULL));
    }
    if (H8 < H) { /* the last H % 8 columns: masked loads, the state through padded copies */
        const __m256i mk = tail_mask(H - H8);
        __m256 g = acc_rows8_masked(_mm256_setzero_ps(), dp, xv, nnz, H8, mk);
        __m256 w = _mm256_maskload_ps(wr + H8, mk);
        if (use_l2) g = _mm256_add_ps(g, _mm256_mul_ps(l2, w));
        float t1[8], t2[8];
        if (S1) _mm256_storeu_ps(t1, _mm256_maskload_ps(S1 + H8, mk));
        if (S2) _mm256_storeu_ps(t2, _mm256_maskload_ps(S2 + H8, mk));
        _mm256_maskstore_ps(wr + H8, mk, update8(&os, kind, w, g, S1 ? t1 : NULL, S2 ? t2 : NULL));
        if (S1) _mm256_maskstore_ps(S1 + H8, mk, _mm256_loadu_ps(t1));
        if (S2) _mm256_maskstore_ps(S2 + H8, mk, _mm256_loadu_ps(t2));
    }
}

/* zp[b][:] += sum over rows i of block blk (FC_NZ_BLOCK rows from nz->r0 + blk*FC_NZ_BLOCK)
 * with x[b][i] != 0 of x[b][i] * W[i][:], rows in increasing order (the same order for
 * every element, whatever H is). */
__attribute__((target("avx2,fma"), always_inline)) static inline void
block_forward_avx2(const fc_fused_layer *f, const fc_nz_rows *nz, int blk, float *restrict zp) {
    const int H = f->H, H8 = H & ~7;
    const float *wp[FC_NZ_BLOCK];
    float xv[FC_NZ_BLOCK];
    for (int b = 0; b < f->bn; b++) {
        const int nnz = fwd_terms(f, nz, blk, b, wp, xv);
        if (!nnz) continue;
        float *z = zp + (size_t)b * H;
        int j = 0;
        for (; j + 32 <= H8; j += 32) {
            __m256 a[4] = {_mm256_loadu_ps(z + j), _mm256_loadu_ps(z + j + 8), _mm256_loadu_ps(z + j + 16),
                           _mm256_loadu_ps(z + j + 24)};
            acc_rows32(a, wp, xv, nnz, j);
            _mm256_storeu_ps(z + j, a[0]), _mm256_storeu_ps(z + j + 8, a[1]);
            _mm256_storeu_ps(z + j + 16, a[2]), _mm256_storeu_ps(z + j + 24, a[3]);
        }
        for (; j < H8; j += 8) {
            _mm256_storeu_ps(z + j, acc_rows8(_mm256_loadu_ps(z + j), wp, xv, nnz, j));
        }
        if (H8 < H) {
            const __m256i mk = tail_mask(H - H8);
            _mm256_maskstore_ps(z + H8, mk, acc_rows8_masked(_mm256_maskload_ps(z + H8, mk), wp, xv, nnz, H8, mk));
        }
    }
}

/* Current batch: per row, a bitmask of the samples with a nonzero input (8 rows per
 * compare). Next batch: per sample, a bitmask of its nonzero rows per 32-row block. */
__attribute__((target("avx2,fma"))) static void nz_build_avx2(fc_nz_rows *nz, const float *const *xt, int bt,
                                                               const float *const *xn, int bn) {
    const int r0 = nz->r0, n = nz->r1 - nz->r0, nblk = (nz->rows + FC_NZ_BLOCK - 1) / FC_NZ_BLOCK;
    const __m256 zero = _mm256_setzero_ps();
    for (int wi = 0; wi * 32 < bt; wi++) {
        const int b0 = wi * 32, b1 = bt < b0 + 32 ? bt : b0 + 32;
        uint32_t *tm = nz->tmask + (size_t)wi * nz->rows;
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            __m256i acc = _mm256_setzero_si256();
            for (int b = b0; b < b1; b++) {
                __m256 ne = _mm256_cmp_ps(_mm256_loadu_ps(xt[b] + r0 + i), zero, _CMP_NEQ_UQ);
                acc = _mm256_or_si256(acc, _mm256_and_si256(_mm256_castps_si256(ne),
                                                            _mm256_set1_epi32((int)(1u << (b - b0)))));
            }
            _mm256_storeu_si256((__m256i *)(tm + i), acc);
        }
        for (; i < n; i++) {
            uint32_t m = 0;
            for (int b = b0; b < b1; b++) m |= (uint32_t)(xt[b][r0 + i] != 0.0f) << (b - b0);
            tm[i] = m;
        }
    }
    for (int b = 0; b < bn; b++) {
        const float *x = xn[b] + r0;
        uint32_t *fm = nz->fmask + (size_t)b * nblk;
        for (int blk = 0; blk * FC_NZ_BLOCK < n; blk++) {
            const int i0 = blk * FC_NZ_BLOCK, i1 = n < i0 + FC_NZ_BLOCK ? n : i0 + FC_NZ_BLOCK;
            uint32_t m = 0;
            if (i1 - i0 == 32)
                for (int q = 0; q < 4; q++)
                    m |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i0 + 8 * q), zero, _CMP_NEQ_UQ))
                         << (8 * q);
            else
                for (int i = i0; i < i1; i++) m |= (uint32_t)(x[i] != 0.0f) << (i - i0);
            fm[blk] = m;
        }
    }
}

static void nz_build_scalar(fc_nz_rows *nz, const float *const *xt, int bt, const float *const *xn, int bn) {
    const int r0 = nz->r0, n = nz->r1 - nz->r0, nblk = (nz->rows + FC_NZ_BLOCK - 1) / FC_NZ_BLOCK;
    for (int wi = 0; wi * 32 < bt; wi++)
        for (int i = 0; i < n; i++) {
            uint32_t m = 0;
            for (int b = wi * 32; b < bt && b < wi * 32 + 32; b++) m |= (uint32_t)(xt[b][r0 + i] != 0.0f) << (b % 32);
            nz->tmask[(size_t)wi * nz->rows + i] = m;
        }
    for (int b = 0; b < bn; b++)
        for (int blk = 0; blk * FC_NZ_BLOCK < n; blk++) {
            uint32_t m = 0;
            for (int k = 0; k < FC_NZ_BLOCK && blk * FC_NZ_BLOCK + k < n; k++)
                m |= (uint32_t)(xn[b][r0 + blk * FC_NZ_BLOCK + k] != 0.0f) << k;
            nz->fmask[(size_t)b * nblk + blk] = m;
        }
}

void fc_nz_build(fc_nz_rows *nz, const float *const *xt, int bt, const float *const *xn, int bn, int r0, int r1) {
    nz->r0 = r0, nz->r1 = r1, nz->bt = bt, nz->bn = bn;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) nz_build_avx2(nz, xt, bt, xn, bn);
    else nz_build_scalar(nz, xt, bt, xn, bn);
}

/* Lazy RMSprop (fused.h) reads only some rows: those its update touches (W and state) and
 * the rows of W the next batch's forward reads. Before row i, prefetch such rows ahead
 * until pd of them are in flight (pf: the next row to look at; ahead: rows prefetched
 * past i; fwd: per 32-row block of the chunk, the rows the forward reads, or NULL). */
typedef struct {
    int pf, ahead;
    const uint32_t *fwd;
} lazy_pf;

static inline __attribute__((always_inline)) int lazy_touched(const fc_nz_rows *nz, int r) {
    uint32_t any = 0;
    for (int wi = 0; wi * 32 < nz->bt; wi++) any |= nz->tmask[(size_t)wi * nz->rows + (r - nz->r0)];
    return any != 0;
}

static inline __attribute__((always_inline)) int lazy_fwd(const fc_nz_rows *nz, const uint32_t *fwd, int r) {
    return fwd && (fwd[(r - nz->r0) / FC_NZ_BLOCK] >> ((r - nz->r0) % FC_NZ_BLOCK) & 1u);
}

static inline __attribute__((always_inline)) void lazy_prefetch(const fc_fused_layer *f, const float *s1,
                                                                const fc_nz_rows *nz, lazy_pf *p, int i, int ti,
                                                                int pd) {
    const size_t rb = (size_t)f->H * sizeof(float);
    if (i >= p->pf) p->pf = i + 1, p->ahead = 0;
    else if (ti || lazy_fwd(nz, p->fwd, i)) p->ahead--; /* ti: row i is touched */
    for (; p->ahead < pd && p->pf < nz->r1; p->pf++) {
        const int r = p->pf, t = lazy_touched(nz, r);
        if (!t && !lazy_fwd(nz, p->fwd, r)) continue;
        const char *pw = (const char *)(f->w + (size_t)r * f->H), *p1 = (const char *)(s1 + (size_t)r * f->H);
        for (size_t o = 0; o < rb; o += 64) {
            _mm_prefetch(pw + o, _MM_HINT_T0);
            if (t) _mm_prefetch(p1 + o, _MM_HINT_T0);
        }
        p->ahead++;
    }
}

/* One instruction set's kernels for fused_walk: the row update compiled for each common
 * optimizer (its kind and L2 fixed), the next batch's forward over a 32-row block, and the
 * lazy state's catch-up. */
typedef void (*row_fn)(const fc_fused_layer *f, const fc_nz_rows *nz, int i, const float **dp, float *xv, int pd);
typedef struct {
    row_fn rms, adam, any;
    void (*fwd)(const fc_fused_layer *f, const fc_nz_rows *nz, int blk, float *restrict zp);
    void (*catch_up)(float *s, int H, float rho, uint32_t n);
} fused_isa;

/* The pass over rows [nz->r0, nz->r1): inlined into one function per instruction set with
 * that set's table, whose calls the compiler then binds (and inlines) directly. */
static inline __attribute__((always_inline)) void fused_walk(const fc_fused_layer *f, const fc_nz_rows *nz, float *zp,
                                                             const fused_isa *isa) {
    const int r0 = nz->r0, r1 = nz->r1, l2 = f->l2x2 != 0.0f;
    /* Each row prefetches the row ~4 KiB further on in W and its state: the walk over them
     * is the step's main memory traffic, and the hardware prefetchers stop at every 4 KiB
     * page (seed-001 epochs 7-11% faster, alternating epochs within one run). */
    const int pd = f->H * (int)sizeof(float) >= 4096 ? 1 : 4096 / (f->H * (int)sizeof(float));
    const float *dp[FUSED_MAX_B];
    float xv[FUSED_MAX_B];
    /* lazy RMSprop: per 32-row block, the rows the next batch's forward reads (a row it reads
     * that the update leaves alone is prefetched too, W only) */
    float *const s1 = f->s1;
    const int lazy = f->os.kind == FC_OPTIM_RMSPROP && !l2 && f->last && s1;
    uint32_t fu[FC_NZ_CHUNK / FC_NZ_BLOCK] = {0};
    const uint32_t *fwd = NULL;
    if (lazy && f->bt > 0 && f->bn > 0 && nz->rows <= FC_NZ_CHUNK) {
        const int nblk = (nz->rows + FC_NZ_BLOCK - 1) / FC_NZ_BLOCK;
        for (int b = 0; b < f->bn; b++)
            for (int k = 0; k < nblk; k++) fu[k] |= nz->fmask[(size_t)b * nblk + k];
        fwd = fu;
    }
    lazy_pf lp = {r0, 0, fwd};
    for (int i0 = r0, blk = 0; i0 < r1; i0 += FC_NZ_BLOCK, blk++) {
        int i1 = i0 + FC_NZ_BLOCK < r1 ? i0 + FC_NZ_BLOCK : r1;
        if (f->bt > 0) { /* the common cases compiled with their optimizer and L2 fixed */
            if (lazy)
                for (int i = i0; i < i1; i++) {
                    const int ti = lazy_touched(nz, i);
                    lazy_prefetch(f, s1, nz, &lp, i, ti, pd);
                    if (!ti) continue; /* W stays; the state's scaling waits */
                    isa->catch_up(s1 + (size_t)i * f->H, f->H, f->os.c1, f->step - 1 - f->last[i]);
                    f->last[i] = f->step;
                    isa->rms(f, nz, i, dp, xv, 0);
                }
            else if (f->os.kind == FC_OPTIM_RMSPROP && !l2)
                for (int i = i0; i < i1; i++) isa->rms(f, nz, i, dp, xv, pd);
            else if (f->os.kind == FC_OPTIM_ADAM && !l2)
                for (int i = i0; i < i1; i++) isa->adam(f, nz, i, dp, xv, pd);
            else
                for (int i = i0; i < i1; i++) isa->any(f, nz, i, dp, xv, pd);
        }
        if (f->bn) isa->fwd(f, nz, blk, zp);
    }
}

/* One instruction set's table for fused_walk (its row update compiled for RMSprop and Adam
 * without L2 and for any optimizer, its forward and catch-up) and its pass, from that
 * set's row_update_SUF, block_forward_SUF and catch_up_SUF. */
#define FUSED_ISA(SUF, TARGET)                                                                                        \
    TARGET void rms_##SUF(const fc_fused_layer *f, const fc_nz_rows *nz, int i, const float **dp, float *xv, int pd) { \
        row_update_##SUF(f, nz, i, dp, xv, FC_OPTIM_RMSPROP, 0, pd);                                                  \
    }                                                                                                                 \
    TARGET void adam_##SUF(const fc_fused_layer *f, const fc_nz_rows *nz, int i, const float **dp, float *xv, int pd) { \
        row_update_##SUF(f, nz, i, dp, xv, FC_OPTIM_ADAM, 0, pd);                                                     \
    }                                                                                                                 \
    TARGET void any_##SUF(const fc_fused_layer *f, const fc_nz_rows *nz, int i, const float **dp, float *xv, int pd) { \
        row_update_##SUF(f, nz, i, dp, xv, f->os.kind, f->l2x2 != 0.0f, pd);                                          \
    }                                                                                                                 \
    TARGET void fwd_##SUF(const fc_fused_layer *f, const fc_nz_rows *nz, int blk, float *restrict zp) {               \
        block_forward_##SUF(f, nz, blk, zp);                                                                          \
    }                                                                                                                 \
    TARGET void catch_##SUF(float *s, int H, float rho, uint32_t n) { catch_up_##SUF(s, H, rho, n); }                 \
    static const fused_isa isa_##SUF = {rms_##SUF, adam_##SUF, any_##SUF, fwd_##SUF, catch_##SUF};                   \
    TARGET void fused_##SUF(const fc_fused_layer *f, const fc_nz_rows *nz, float *zp) { fused_walk(f, nz, zp, &isa_##SUF); }

FUSED_ISA(avx2, __attribute__((target("avx2,fma"))) static)

/* ---- AVX-512: the same arithmetic in 16 lanes. Every lane does the operations of the
 * AVX2 and scalar paths in the same order (FMA where they use FMA, IEEE sqrt and division),
 * so the three paths give the same bits; tails use lane masks. Half the instructions of the
 * AVX2 path in the gradient, update and forward loops. ---- */
#define AVX512_INLINE __attribute__((target("avx512f,avx2,fma"), always_inline)) static inline

/* 16 lanes of fc_optim_apply1 (update8's operations), state lanes of mask m only. */
AVX512_INLINE __m512 update16(const fc_optim_step *s, int kind, __m512 w, __m512 g, float *p1, float *p2,
                              __mmask16 m) {
    const __m512 lr = _mm512_set1_ps(s->lr), c1 = _mm512_set1_ps(s->c1), c2 = _mm512_set1_ps(s->c2),
                 eps = _mm512_set1_ps(s->eps);
    switch (kind) {
    case FC_OPTIM_RMSPROP: {
        __m512 ms = _mm512_add_ps(_mm512_mul_ps(c1, _mm512_maskz_loadu_ps(m, p1)), _mm512_mul_ps(c2, _mm512_mul_ps(g, g)));
        _mm512_mask_storeu_ps(p1, m, ms);
        __m512 den = _mm512_add_ps(_mm512_sqrt_ps(ms), eps);
        return _mm512_sub_ps(w, _mm512_div_ps(_mm512_mul_ps(lr, g), den));
    }
    case FC_OPTIM_ADAM: {
        const __m512 d1 = _mm512_set1_ps(s->d1), d2 = _mm512_set1_ps(s->d2);
        __m512 mo = _mm512_add_ps(_mm512_mul_ps(c1, _mm512_maskz_loadu_ps(m, p1)), _mm512_mul_ps(c2, g));
        __m512 v = _mm512_add_ps(_mm512_mul_ps(d1, _mm512_maskz_loadu_ps(m, p2)), _mm512_mul_ps(d2, _mm512_mul_ps(g, g)));
        _mm512_mask_storeu_ps(p1, m, mo);
        _mm512_mask_storeu_ps(p2, m, v);
        __m512 den = _mm512_add_ps(_mm512_sqrt_ps(v), eps);
        return _mm512_sub_ps(w, _mm512_div_ps(_mm512_mul_ps(lr, mo), den));
    }
    default:
        if (s->plain_sgd) return _mm512_sub_ps(w, _mm512_mul_ps(lr, g));
        {
            __m512 v = _mm512_sub_ps(_mm512_mul_ps(c1, _mm512_maskz_loadu_ps(m, p1)), _mm512_mul_ps(lr, g));
            _mm512_mask_storeu_ps(p1, m, v);
            if (s->nesterov) return _mm512_add_ps(w, _mm512_sub_ps(_mm512_mul_ps(c1, v), _mm512_mul_ps(lr, g)));
            return _mm512_add_ps(w, v);
        }
    }
}

/* a[0..3] (64 columns from j) += sum over k < n, in increasing k, of x[k] * row[k][j..j+64). */
AVX512_INLINE void acc_rows64(__m512 a[4], const float *const *row, const float *x, int n, int j) {
    for (int k = 0; k < n; k++) {
        const float *r = row[k] + j;
        __m512 xk = _mm512_set1_ps(x[k]);
        a[0] = _mm512_fmadd_ps(xk, _mm512_loadu_ps(r), a[0]);
        a[1] = _mm512_fmadd_ps(xk, _mm512_loadu_ps(r + 16), a[1]);
        a[2] = _mm512_fmadd_ps(xk, _mm512_loadu_ps(r + 32), a[2]);
        a[3] = _mm512_fmadd_ps(xk, _mm512_loadu_ps(r + 48), a[3]);
    }
}

/* The same for the 16 columns from j, lanes of mask m only (the others are not read). */
AVX512_INLINE __m512 acc_rows16(__m512 a, const float *const *row, const float *x, int n, int j, __mmask16 m) {
    for (int k = 0; k < n; k++) a = _mm512_fmadd_ps(_mm512_set1_ps(x[k]), _mm512_maskz_loadu_ps(m, row[k] + j), a);
    return a;
}

AVX512_INLINE __mmask16 lanes16(int r) { return r >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << r) - 1u); }

/* catch_up_avx2's scalings, 16 lanes: 128 columns (8 independent chains) at a time. */
AVX512_INLINE void catch_up_avx512(float *s, int H, float rho, uint32_t n) {
    if (!n) return;
    const __m512 c = _mm512_set1_ps(rho);
    int j = 0;
    for (; j + 128 <= H; j += 128) {
        __m512 a[8];
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++) a[q] = _mm512_loadu_ps(s + j + 16 * q);
        for (uint32_t k = 0; k < n; k++) {
#pragma GCC unroll 8
            for (int q = 0; q < 8; q++) a[q] = _mm512_mul_ps(c, a[q]);
        }
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++) _mm512_storeu_ps(s + j + 16 * q, a[q]);
    }
    for (; j < H; j += 16) {
        const __mmask16 m = lanes16(H - j);
        __m512 a = _mm512_maskz_loadu_ps(m, s + j);
        for (uint32_t k = 0; k < n; k++) a = _mm512_mul_ps(c, a);
        _mm512_mask_storeu_ps(s + j, m, a);
    }
}

AVX512_INLINE void row_update_avx512(const fc_fused_layer *f, const fc_nz_rows *nz, int i, const float **dp, float *xv,
                                     const int kind, const int use_l2, const int pd) {
    const int H = f->H;
    float *restrict wr = f->w + (size_t)i * H;
    float *S1 = f->s1 ? f->s1 + (size_t)i * H : NULL, *S2 = f->s2 ? f->s2 + (size_t)i * H : NULL;
    const fc_optim_step os = f->os;
    const __m512 l2 = _mm512_set1_ps(f->l2x2);
    if ((!S1 && (kind != FC_OPTIM_SGD || !os.plain_sgd)) || (kind == FC_OPTIM_ADAM && !S2))
        __builtin_unreachable(); /* fc_fused_rows_nz takes the vector paths only with the state arrays */
    const int nnz = row_terms(f, nz, i, dp, xv);
    row_prefetch(f, nz, i, pd);
    int j = 0;
    if (nnz == 0 && !use_l2 && kind != FC_OPTIM_ADAM) { /* g == +0: see row_update_avx2 */
        const __m512 c1 = _mm512_set1_ps(os.c1);
        if (kind == FC_OPTIM_RMSPROP) {
            for (; j < H; j += 16) {
                const __mmask16 m = lanes16(H - j);
                _mm512_mask_storeu_ps(S1 + j, m, _mm512_mul_ps(c1, _mm512_maskz_loadu_ps(m, S1 + j)));
            }
        } else if (!os.plain_sgd) {
            for (; j < H; j += 16) {
                const __mmask16 m = lanes16(H - j);
                __m512 v = _mm512_mul_ps(c1, _mm512_maskz_loadu_ps(m, S1 + j));
                _mm512_mask_storeu_ps(S1 + j, m, v);
                __m512 w = _mm512_maskz_loadu_ps(m, wr + j);
                _mm512_mask_storeu_ps(wr + j, m, _mm512_add_ps(w, os.nesterov ? _mm512_mul_ps(c1, v) : v));
            }
        }
        return;
    }
    for (; j + 64 <= H; j += 64) {
        __m512 gg[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        acc_rows64(gg, dp, xv, nnz, j);
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            int jj = j + 16 * q;
            __m512 w = _mm512_loadu_ps(wr + jj);
            if (use_l2) gg[q] = _mm512_add_ps(gg[q], _mm512_mul_ps(l2, w));
            _mm512_storeu_ps(wr + jj, update16(&os, kind, w, gg[q], S1 ? S1 + jj : NULL, S2 ? S2 + jj : NULL, 0xFFFF));
        }
    }
    for (; j < H; j += 16) {
        const __mmask16 m = lanes16(H - j);
        __m512 g = acc_rows16(_mm512_setzero_ps(), dp, xv, nnz, j, m);
        __m512 w = _mm512_maskz_loadu_ps(m, wr + j);
        if (use_l2) g = _mm512_add_ps(g, _mm512_mul_ps(l2, w));
        _mm512_mask_storeu_ps(wr + j, m, update16(&os, kind, w, g, S1 ? S1 + j : NULL, S2 ? S2 + j : NULL, m));
    }
}

/* block_forward_avx2 in 16 lanes. */
AVX512_INLINE void block_forward_avx512(const fc_fused_layer *f, const fc_nz_rows *nz, int blk, float *restrict zp) {
    const int H = f->H;
    const float *wp[FC_NZ_BLOCK];
    float xv[FC_NZ_BLOCK];
    for (int b = 0; b < f->bn; b++) {
        const int nnz = fwd_terms(f, nz, blk, b, wp, xv);
        if (!nnz) continue;
        float *z = zp + (size_t)b * H;
        int j = 0;
        for (; j + 64 <= H; j += 64) {
            __m512 a[4] = {_mm512_loadu_ps(z + j), _mm512_loadu_ps(z + j + 16), _mm512_loadu_ps(z + j + 32),
                           _mm512_loadu_ps(z + j + 48)};
            acc_rows64(a, wp, xv, nnz, j);
            _mm512_storeu_ps(z + j, a[0]), _mm512_storeu_ps(z + j + 16, a[1]);
            _mm512_storeu_ps(z + j + 32, a[2]), _mm512_storeu_ps(z + j + 48, a[3]);
        }
        for (; j < H; j += 16) {
            const __mmask16 m = lanes16(H - j);
            _mm512_mask_storeu_ps(z + j, m, acc_rows16(_mm512_maskz_loadu_ps(m, z + j), wp, xv, nnz, j, m));
        }
    }
}

FUSED_ISA(avx512, __attribute__((target("avx512f,avx2,fma"))) static)

static int fused_isa_cap = 2; /* fc_fused_set_isa */

void fc_fused_set_isa(int max) { fused_isa_cap = max; }

int fc_fused_isa(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0;
    if (fused_isa_cap >= 2 && __builtin_cpu_supports("avx512f")) return 2;
    return fused_isa_cap >= 1 ? 1 : 0;
}

void fc_fused_rows_nz(const fc_fused_layer *f, const fc_nz_rows *nz, float *zp) {
    /* the vector paths need the state arrays of their optimizer (the scalar one takes NULL) */
    int state_ok = f->bt <= 0 || (f->os.kind == FC_OPTIM_SGD && f->os.plain_sgd) ||
                   (f->s1 && (f->os.kind != FC_OPTIM_ADAM || f->s2));
    int isa = state_ok ? fc_fused_isa() : 0;
    if (isa == 2) fused_avx512(f, nz, zp);
    else if (isa == 1) fused_avx2(f, nz, zp);
    else fc_fused_rows_scalar(f, nz->r0, nz->r1, 0, zp);
}

int fc_nz_alloc(fc_nz_rows *nz, int rows, int cap) {
    memset(nz, 0, sizeof *nz);
    nz->cap = cap > 0 ? cap : 1;
    nz->rows = rows;
    nz->words = (nz->cap + 31) / 32;
    size_t nblk = (size_t)(rows + FC_NZ_BLOCK - 1) / FC_NZ_BLOCK;
    nz->tmask = calloc((size_t)nz->words * rows, sizeof *nz->tmask); /* zeroed: small, once */
    nz->fmask = calloc((size_t)nz->cap * nblk, sizeof *nz->fmask);
    if (nz->tmask && nz->fmask) return 0;
    fc_nz_free(nz);
    return -1;
}

void fc_nz_free(fc_nz_rows *nz) {
    free(nz->tmask), free(nz->fmask);
    nz->tmask = NULL, nz->fmask = NULL;
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
