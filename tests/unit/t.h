/* t.h - a minimal unit-test harness. Each test program is one file with main():
 *     int main(void) { T_RUN(test_x); ...; return t_done("test_name"); }
 * CHECK failures print file:line and the message; t_done prints "N passed, N failed". */
#ifndef FC_T_H
#define FC_T_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int t_pass, t_fail;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            t_pass++;                                                        \
        } else {                                                             \
            t_fail++;                                                        \
            fprintf(stderr, "%s:%d: FAIL: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, "\n");                                           \
        }                                                                    \
    } while (0)

/* |a-b| <= tol * max(1, |b|) */
#define CHECK_NEAR(a, b, tol) \
    CHECK(fabs((double)(a) - (double)(b)) <= (tol) * fmax(1.0, fabs((double)(b))), \
          "%.9g vs %.9g (tol %g)", (double)(a), (double)(b), (double)(tol))

#define T_RUN(fn)                                  \
    do {                                           \
        int before_ = t_fail;                      \
        fn();                                      \
        if (t_fail != before_) fprintf(stderr, "  in %s\n", #fn); \
    } while (0)

/* Removes a test's temporary folder and everything in it; nonzero (and a line on stderr)
 * if it could not. */
static inline int t_rmtree(const char *dir) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) == 0) return 0;
    fprintf(stderr, "cannot remove %s\n", dir);
    return 1;
}

static inline int t_done(const char *name) {
    printf("%s: %d passed, %d failed\n", name, t_pass, t_fail);
    return t_fail ? 1 : 0;
}

/* Normalized max error: max|a-b| / max|b| (ggml-style), for kernel-vs-reference tests. */
static inline double t_max_rel_err(const float *a, const float *b, size_t n) {
    double md = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > md || d != d) md = d != d ? INFINITY : d;
        if (fabs((double)b[i]) > mr) mr = fabs((double)b[i]);
    }
    return mr > 0 ? md / mr : md;
}

#endif
