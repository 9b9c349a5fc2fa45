/* gemm.c - TEMPORARY BLAS wrapper for train/ until common/blas.h (engine) lands in main;
 * then fc_train_sgemm forwards to it and this cblas call goes away. */
#include <cblas.h>

#include "head.h"

void fc_train_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A,
                    int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
