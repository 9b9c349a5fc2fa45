/* blas.c - OpenBLAS wrapper: kernel selection, thread control and sgemm. */
#define _GNU_SOURCE
#include "blas.h"

#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Exported by OpenBLAS DYNAMIC_ARCH builds (Debian's): re-run kernel selection after
 * OPENBLAS_CORETYPE changed. The library selected its kernel in its constructor, before
 * main, so setting the variable alone would be too late. */
void gotoblas_dynamic_init(void) __attribute__((weak));
void gotoblas_dynamic_quit(void) __attribute__((weak));

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static int blas_threads = -1;
static pthread_mutex_t blas_lock = PTHREAD_MUTEX_INITIALIZER;

/* Kernel families by what they need of the CPU (names as openblas_get_corename() gives
 * them; compared without case). */
static const char *const cores_avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids", NULL};
static const char *const cores_avx2[] = {"Haswell", "Zen", "Excavator", "SkylakeX", "Cooperlake", "SapphireRapids",
                                         NULL};

static int core_in(const char *core, const char *const *names) {
    for (; core && *names; names++)
        if (strcasecmp(core, *names) == 0) return 1;
    return 0;
}

const char *fc_blas_better_core(const char *core, int avx512, int avx2) {
    if (avx512 && !core_in(core, cores_avx512)) return "SkylakeX";
    if (!avx512 && avx2 && !core_in(core, cores_avx2)) return "Haswell";
    return NULL;
}

static char blas_detected[32];

static void blas_setup(void) {
    __builtin_cpu_init();
    const char *core = openblas_get_corename();
    snprintf(blas_detected, sizeof blas_detected, "%s", core ? core : "unknown");
    /* OpenBLAS picks its kernel from the CPU model it knows: Debian's 0.3.21 takes its
     * Haswell kernel on Zen 4/5 (AVX-512 unused) and its SSE3 "Prescott" kernel on Intel
     * models newer than it (family 6 model 207, Emerald Rapids: sgemm 37 GFLOP/s instead of
     * 215-270 with SkylakeX on 2 cores). Switch to the best kernel the CPU's ISA runs,
     * unless the user chose one (OPENBLAS_CORETYPE). */
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                 __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const char *want = fc_blas_better_core(core, avx512, avx2);
    if (want && !getenv("OPENBLAS_CORETYPE") && gotoblas_dynamic_init && gotoblas_dynamic_quit) {
        setenv("OPENBLAS_CORETYPE", want, 1);
        gotoblas_dynamic_quit();
        gotoblas_dynamic_init();
    }
}

void fc_blas_init(void) { pthread_once(&blas_once, blas_setup); }

int fc_blas_can_switch(void) { return gotoblas_dynamic_init && gotoblas_dynamic_quit; }

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

const char *fc_blas_detected_core(void) {
    fc_blas_init();
    return blas_detected;
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
