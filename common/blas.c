/* blas.c - OpenBLAS wrapper: kernel selection, thread control and sgemm. */
#define _GNU_SOURCE
#include "blas.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Exported by OpenBLAS DYNAMIC_ARCH builds (Debian's): re-run kernel selection after
 * OPENBLAS_CORETYPE changed. The library selected its kernel in its constructor, before
 * main, so setting the variable alone would be too late. */
void gotoblas_dynamic_init(void) __attribute__((weak));
void gotoblas_dynamic_quit(void) __attribute__((weak));

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static int blas_threads = -1;
static pthread_mutex_t blas_lock = PTHREAD_MUTEX_INITIALIZER;

static void blas_setup(void) {
    __builtin_cpu_init();
    const char *core = openblas_get_corename();
    int generic = core && (strcmp(core, "Haswell") == 0 || strcmp(core, "Zen") == 0 ||
                           strcmp(core, "haswell") == 0 || strcmp(core, "zen") == 0);
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") && generic &&
        !getenv("OPENBLAS_CORETYPE") && gotoblas_dynamic_init && gotoblas_dynamic_quit) {
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
        gotoblas_dynamic_quit();
        gotoblas_dynamic_init();
    }
}

void fc_blas_init(void) { pthread_once(&blas_once, blas_setup); }

void fc_blas_set_threads(int n) {
    fc_blas_init();
    if (n < 1) n = 1;
    pthread_mutex_lock(&blas_lock);
    if (n != blas_threads) {
        openblas_set_num_threads(n);
        blas_threads = n;
    }
    pthread_mutex_unlock(&blas_lock);
}

int fc_blas_threads(void) {
    fc_blas_init();
    return openblas_get_num_threads();
}

const char *fc_blas_corename(void) {
    fc_blas_init();
    const char *s = openblas_get_corename();
    return s ? s : "unknown";
}

const char *fc_cpu_isa(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "AVX-512";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "AVX2+FMA";
    return "SSE";
}

void fc_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
              int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    fc_blas_init();
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c,
                ldc);
}
