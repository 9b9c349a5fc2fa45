/* blas.h - the one wrapper around OpenBLAS (the only file with cblas_* calls is blas.c).
 *
 * fc_blas_init() picks the best OpenBLAS kernel for the CPU: Debian's OpenBLAS 0.3.21
 * does not know Zen 4/5 (it takes its Haswell kernel) nor Intel models newer than it (its
 * SSE3 Prescott kernel, 6-7x slower); on CPUs with AVX-512 it switches any kernel that is
 * not an AVX-512 one to SkylakeX, on AVX2+FMA CPUs any pre-AVX2 kernel to Haswell, unless
 * OPENBLAS_CORETYPE is set by the user. */
#ifndef FC_BLAS_H
#define FC_BLAS_H

/* Idempotent and thread-safe; every other fc_blas_* / fc_sgemm calls it (main() first,
 * before any thread starts). */
void fc_blas_init(void);
/* Whether this OpenBLAS can change its kernel at run time (a DYNAMIC_ARCH build). */
int fc_blas_can_switch(void);
/* Threads OpenBLAS may use for one call (>= 1). Cheap when unchanged. */
void fc_blas_set_threads(int n);
int fc_blas_threads(void);
/* OpenBLAS kernel in use, e.g. "Haswell", "SkylakeX", "Zen". */
const char *fc_blas_corename(void);
/* The kernel OpenBLAS had chosen by itself, before fc_blas_init's switch. */
const char *fc_blas_detected_core(void);
/* The kernel fc_blas_init switches to from `core` on a CPU with (avx512, avx2), or NULL
 * when `core` already suits it. Exposed for tests. */
const char *fc_blas_better_core(const char *core, int avx512, int avx2);
/* CPU summary for --version and benches: "AVX-512" / "AVX2+FMA" / "SSE". */
const char *fc_cpu_isa(void);

/* Row-major C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C. */
void fc_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc);

#endif
