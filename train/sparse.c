/* sparse.c - Dense forward over mostly-zero inputs (see sparse.h).
 * AVX2 and AVX-512 paths (the same bits): tiles of SP_TILE samples x SP_ROWS rows x 64 columns (the W sub-block, packed
 * contiguously, stays in L1; the tile's outputs in L2), a 64-bit mask of nonzero inputs per
 * sample and row block, terms added in increasing row order with FMA. */
#pragma GCC optimize("fp-contract=off")
#include "sparse.h"

#include "fused.h"

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define SP_TILE 128
#define SP_ROWS 64

/* out[s][j] += x[s][i] * W[i][j] for columns [j0, H), rows [i0, i1) in increasing order. */
static void accum_scalar(float *out, const float *x, size_t s0, size_t s1, const float *w, int D, int H,
                         int i0, int i1, int j0) {
    for (size_t s = s0; s < s1; s++) {
        const float *xs = x + s * (size_t)D;
        float *z = out + s * (size_t)H;
        for (int i = i0; i < i1; i++) {
            if (xs[i] == 0.0f) continue;
            const float *wr = w + (size_t)i * H;
            for (int j = j0; j < H; j++) z[j] = fmaf(xs[i], wr[j], z[j]);
        }
    }
}

void fc_sparse_dense_forward_scalar(float *out, const float *x, size_t n, const float *w, const float *b,
                                    int D, int H) {
    for (size_t s = 0; s < n; s++) memcpy(out + s * (size_t)H, b, (size_t)H * sizeof(float));
    accum_scalar(out, x, 0, n, w, D, H, 0, D, 0);
}

/* Nonzero-input masks of samples [s0, s1) for rows [i0, i1) (i1 - i0 <= 64). */
__attribute__((target("avx2,fma"))) static void masks_avx2(uint64_t *mask, const float *x, size_t s0, size_t s1,
                                                            int D, int i0, int i1) {
    const __m256 zero = _mm256_setzero_ps();
    for (size_t s = s0; s < s1; s++) {
        const float *xs = x + s * (size_t)D + i0;
        uint64_t m = 0;
        int k = 0;
        for (; k + 8 <= i1 - i0; k += 8)
            m |= (uint64_t)(unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(xs + k), zero, _CMP_NEQ_UQ)) << k;
        for (; k < i1 - i0; k++) m |= (uint64_t)(xs[k] != 0.0f) << k;
        mask[s - s0] = m;
    }
}

/* 64 columns [j, j+64) of one sample's output: acc += its nonzero terms of the row block. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
cols64(float *z, const float *xs, const float *wb, int H, uint64_t m) {
    __m256 a[8];
#pragma GCC unroll 8
    for (int q = 0; q < 8; q++) a[q] = _mm256_loadu_ps(z + 8 * q);
    for (; m; m &= m - 1) {
        int k = __builtin_ctzll(m);
        const __m256 xb = _mm256_set1_ps(xs[k]);
        const float *wr = wb + (size_t)k * H;
#pragma GCC unroll 8
        for (int q = 0; q < 8; q++) a[q] = _mm256_fmadd_ps(xb, _mm256_loadu_ps(wr + 8 * q), a[q]);
    }
#pragma GCC unroll 8
    for (int q = 0; q < 8; q++) _mm256_storeu_ps(z + 8 * q, a[q]);
}

/* The columns past the last full 64 of one row block: 8 at a time, then the scalar tail. */
__attribute__((target("avx2,fma"))) static void cols_rest_avx2(float *out, const float *x, size_t s0, size_t s1,
                                                                const uint64_t *mask, const float *w, int D, int H,
                                                                int i0, int i1, int j) {
    const int H8 = H & ~7;
    const float *wb = w + (size_t)i0 * H;
    for (; j < H8; j += 8)
        for (size_t s = s0; s < s1; s++) {
            float *z = out + s * (size_t)H + j;
            const float *xs = x + s * (size_t)D + i0;
            __m256 a = _mm256_loadu_ps(z);
            for (uint64_t m = mask[s - s0]; m; m &= m - 1) {
                int k = __builtin_ctzll(m);
                a = _mm256_fmadd_ps(_mm256_set1_ps(xs[k]), _mm256_loadu_ps(wb + (size_t)k * H + j), a);
            }
            _mm256_storeu_ps(z, a);
        }
    if (H8 < H) accum_scalar(out, x, s0, s1, w, D, H, i0, i1, H8);
}

typedef void (*cols64_fn)(float *z, const float *xs, const float *wb, int H, uint64_t m);

/* The tiled walk, inlined into one function per instruction set with its cols64. */
static inline __attribute__((always_inline)) void sparse_walk(float *out, const float *x, size_t n, const float *w,
                                                              const float *b, int D, int H, cols64_fn cols) {
    uint64_t mask[SP_TILE];
    float pk[SP_ROWS * 64] __attribute__((aligned(64)));
    for (size_t s0 = 0; s0 < n; s0 += SP_TILE) {
        size_t s1 = n - s0 < SP_TILE ? n : s0 + SP_TILE;
        for (size_t s = s0; s < s1; s++) memcpy(out + s * (size_t)H, b, (size_t)H * sizeof(float));
        for (int i0 = 0; i0 < D; i0 += SP_ROWS) {
            int i1 = D - i0 < SP_ROWS ? D : i0 + SP_ROWS;
            masks_avx2(mask, x, s0, s1, D, i0, i1);
            if (i1 < D) /* the tile's inputs are SP_TILE strided streams, more than the
                         * hardware prefetchers follow: fetch the next row block's now */
                for (size_t s = s0; s < s1; s++) {
                    const char *p = (const char *)(x + s * (size_t)D + i1);
                    for (int o = 0; o < SP_ROWS * (int)sizeof(float); o += 64) _mm_prefetch(p + o, _MM_HINT_T0);
                }
            const float *wb = w + (size_t)i0 * H;
            int j = 0;
            for (; j + 64 <= H; j += 64) {
                /* the sub-block packed contiguously: W's rows are H floats apart, and for H
                 * a multiple of 256 they fall on a few L1 sets and evict each other while
                 * the tile's samples reuse them (validation 28% faster at H = 256) */
                for (int k = 0; k < i1 - i0; k++) memcpy(pk + (size_t)k * 64, wb + (size_t)k * H + j, 64 * sizeof(float));
                for (size_t s = s0; s < s1; s++)
                    if (mask[s - s0]) cols(out + s * (size_t)H + j, x + s * (size_t)D + i0, pk, 64, mask[s - s0]);
            }
            if (j < H) cols_rest_avx2(out, x, s0, s1, mask, w, D, H, i0, i1, j);
        }
    }
}

__attribute__((target("avx2,fma"))) static void cols64_avx2(float *z, const float *xs, const float *wb, int H,
                                                             uint64_t m) {
    cols64(z, xs, wb, H, m);
}

__attribute__((target("avx2,fma"))) static void sparse_avx2(float *out, const float *x, size_t n, const float *w,
                                                             const float *b, int D, int H) {
    sparse_walk(out, x, n, w, b, D, H, cols64_avx2);
}

/* cols64 in 16 lanes: the same FMAs in the same order per lane (the same bits). */
__attribute__((target("avx512f,avx2,fma"))) static void cols64_avx512(float *z, const float *xs, const float *wb,
                                                                       int H, uint64_t m) {
    __m512 a[4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) a[q] = _mm512_loadu_ps(z + 16 * q);
    for (; m; m &= m - 1) {
        int k = __builtin_ctzll(m);
        const __m512 xb = _mm512_set1_ps(xs[k]);
        const float *wr = wb + (size_t)k * H;
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) a[q] = _mm512_fmadd_ps(xb, _mm512_loadu_ps(wr + 16 * q), a[q]);
    }
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) _mm512_storeu_ps(z + 16 * q, a[q]);
}

__attribute__((target("avx512f,avx2,fma"))) static void sparse_avx512(float *out, const float *x, size_t n,
                                                                       const float *w, const float *b, int D, int H) {
    sparse_walk(out, x, n, w, b, D, H, cols64_avx512);
}

void fc_sparse_dense_forward(float *out, const float *x, size_t n, const float *w, const float *b, int D,
                             int H) {
    const int isa = fc_fused_isa(); /* the fused pass's choice (fused.h) */
    if (isa == 2) sparse_avx512(out, x, n, w, b, D, H);
    else if (isa == 1) sparse_avx2(out, x, n, w, b, D, H);
    else fc_sparse_dense_forward_scalar(out, x, n, w, b, D, H);
}
