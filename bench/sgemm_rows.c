/* sgemm_rows.c - does OpenBLAS's sgemm give a row the same bits whatever the number of rows
 * (M) in the call and the thread count? Prints, for M in 1..1000 and 1 or 2 threads, how many
 * of row 0's N values differ from the M = 1, one-thread call. Why features differ in their
 * last bits across extract --threads/--batch (README, Limits).
 * Usage: build/bench/sgemm_rows [K N]   (default 1152 128: a 3x3x128 conv to 128 channels) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/blas.h"

int main(int argc, char **argv) {
    int K = argc > 2 ? atoi(argv[1]) : 1152, N = argc > 2 ? atoi(argv[2]) : 128;
    static const int Ms[] = {1, 3, 7, 16, 37, 90, 200, 1000};
    const int Mmax = 1000;
    if (K < 1 || N < 1) return fprintf(stderr, "usage: sgemm_rows [K N]\n"), 2;
    float *A = malloc(sizeof(float) * (size_t)Mmax * K), *B = malloc(sizeof(float) * (size_t)K * N);
    float *ref = malloc(sizeof(float) * N), *C = malloc(sizeof(float) * (size_t)Mmax * N);
    if (!A || !B || !ref || !C) return fprintf(stderr, "out of memory\n"), 1;
    srand(1);
    for (size_t i = 0; i < (size_t)Mmax * K; i++) A[i] = rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 0; i < (size_t)K * N; i++) B[i] = rand() / (float)RAND_MAX - 0.5f;
    printf("OpenBLAS core %s, K %d, N %d\n", fc_blas_corename(), K, N);
    for (int th = 1; th <= 2; th++) {
        fc_blas_set_threads(th);
        for (size_t m = 0; m < sizeof Ms / sizeof *Ms; m++) {
            int M = Ms[m], d = 0;
            memset(C, 0, sizeof(float) * (size_t)M * N);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, A, K, B, N, 0, C, N);
            if (th == 1 && m == 0) memcpy(ref, C, sizeof(float) * N);
            for (int j = 0; j < N; j++) d += C[j] != ref[j];
            printf("threads %d  M %4d: row 0 differs from M 1 in %3d of %d values\n", th, M, d, N);
        }
    }
    free(A), free(B), free(ref), free(C);
    return 0;
}
