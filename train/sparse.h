/* sparse.h - a Dense layer's forward over mostly-zero inputs (feature maps after ReLU).
 *
 *   out[s][:] = b + sum over i with x[s][i] != 0, in increasing i, of x[s][i] * W[i][:]
 * with one fused multiply-add per term (skipping exact-zero terms leaves the sum as it
 * would be with them). Each output row depends only on its own input row, so splitting
 * samples between threads or chunks never changes a bit; the AVX2 and scalar paths agree
 * bit for bit. */
#ifndef FC_TRAIN_SPARSE_H
#define FC_TRAIN_SPARSE_H

#include <stddef.h>

/* x is (n, D) row-major, w (D, H), b (H), out (n, H). */
void fc_sparse_dense_forward(float *out, const float *x, size_t n, const float *w, const float *b, int D,
                             int H);
/* The same without SIMD (reference for tests, and the non-AVX2 path). */
void fc_sparse_dense_forward_scalar(float *out, const float *x, size_t n, const float *w, const float *b,
                                    int D, int H);

#endif
