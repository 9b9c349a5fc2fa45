/* kernels.h - the fast per-op loops used by exec.c (float32 NHWC, channel innermost so
 * the compiler vectorizes the inner loops). Geometry comes in an fc_geom; every kernel
 * works on n consecutive images. The reference versions live in graph_naive.c. */
#ifndef FC_KERNELS_H
#define FC_KERNELS_H

#include <stddef.h>

#include "graph.h"

/* Hot loops are compiled twice, for AVX2+FMA (x86-64-v3) and for the baseline, and the
 * loader picks one for the CPU at run time (never -march=native). Files defining them
 * also ask GCC for -O3 so the channel loops are vectorized. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FC_SIMD __attribute__((target_clones("arch=x86-64-v3", "default")))
#define FC_O3 _Pragma("GCC optimize(\"O3\")")
#else
#define FC_SIMD
#define FC_O3
#endif

/* One spatial op: input (ih, iw, ic) -> output (oh, ow, oc), kernel kh x kw, strides,
 * dilation and the leading ('same') padding pt/pl. */
typedef struct {
    int ih, iw, ic, oh, ow, oc;
    int kh, kw, sh, sw, dh, dw, pt, pl;
} fc_geom;

/* Fused activation parameters (see fc_act in graph.h). */
typedef struct {
    fc_act act;
    float max, alpha, threshold;
} fc_actp;

/* Fills g from node c whose input is node p (TF 'same' padding, extra at bottom/right). */
void fc_geom_from(fc_geom *g, const fc_node *p, const fc_node *c);
static inline fc_actp fc_actp_from(const fc_node *n) {
    fc_actp a = {n->act, n->act_max, n->act_alpha, n->act_threshold};
    return a;
}

/* im2col of output pixels [p0, p1) (flattened over image, oy, ox of the images starting
 * at x): cols is (p1-p0, kh*kw*ic), column order (ky, kx, ci) = the Keras kernel rows. */
void fc_k_im2col(const fc_geom *g, const float *x, size_t p0, size_t p1, float *cols);

/* y (rows, c) with row stride ldy: y += bias (may be NULL), then the activation. */
void fc_k_bias_act(float *y, size_t rows, int c, int ldy, const float *bias,
                   const fc_actp *a);

/* Sets each of `rows` rows of y (row stride ldy) to v (c values), or to zeros if v is
 * NULL: the GEMM then accumulates onto it (beta = 1, which spares OpenBLAS a pass). */
void fc_k_fill_rows(float *y, size_t rows, int c, int ldy, const float *v);

/* Depthwise conv of n images: w (kh, kw, ic, mult), output channel = ci*mult + m;
 * bias may be NULL; activation a applied per pixel while it is in L1. */
void fc_k_depthwise(const fc_geom *g, int mult, const float *x, const float *w,
                    const float *bias, const fc_actp *a, float *y, int n);

/* Max/average pooling of n images; 'same' average excludes padded cells. */
void fc_k_pool(const fc_geom *g, int is_max, const float *x, float *y, int n);

/* Global average/max pooling: x (n, hw, c) -> y (n, c). */
void fc_k_global_pool(size_t hw, int c, int is_max, const float *x, float *y, int n);

/* Zero padding (sign = +1) or cropping (sign = -1) by top/left amounts t, l. */
void fc_k_pad_crop(const fc_geom *g, int sign, int t, int l, const float *x, float *y, int n);

/* y[r, ch] = x[r, ch] * scale[ch] + shift[ch] (standalone BatchNormalization). */
void fc_k_scale_shift(float *y, const float *x, size_t rows, int c, const float *scale,
                      const float *shift);

/* y = x0 + x1 + ... (is_mul: x0 * x1 * ...), e elements. */
void fc_k_eltwise(float *y, const float *const *xs, int nx, size_t e, int is_mul);

/* Broadcasting form of fc_k_eltwise over n images: y is (oh, ow, c) per image, input k
 * (shapes[3k], shapes[3k+1], shapes[3k+2]) with each size the output's or 1. */
void fc_k_eltwise_bcast(float *y, const float *const *xs, const int *shapes, int nx, int oh,
                        int ow, int c, int n, int is_mul);

/* Copies x (pix, xc) into channels [off, off+xc) of y (pix, yc). */
void fc_k_concat_copy(float *y, int yc, int off, const float *x, int xc, size_t pix);

/* Winograd F(m x m, 3 x 3), m = 2 or 4 (kernels_wino.c); a = m + 2.
 * Weights w (3, 3, cin, cout) -> u (a*a, cin, cout). */
void fc_wino_weights(int m, const float *w, int cin, int cout, float *u);
/* Input tiles [t0, t1) of the images at x -> v (a*a, t1-t0, cin); zero holds cin zeros,
 * tmp a*a*cin floats. Tiles run over (image, tile row, tile col), ceil(oh/m) x ceil(ow/m). */
void fc_wino_input(const fc_geom *g, int m, const float *x, size_t t0, size_t t1, float *v,
                   const float *zero, float *tmp);
/* mm (a*a, t1-t0, cout) -> output pixels of those tiles in y, + bias, activation;
 * tmp a*a*cout floats. */
void fc_wino_output(const fc_geom *g, int m, const float *mm, size_t t0, size_t t1, float *y,
                    const float *bias, const fc_actp *act, float *tmp);

#endif
