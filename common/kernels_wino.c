/* kernels_wino.c - Winograd F(m x m, 3 x 3) for 3x3 stride-1 convolutions, m = 2 or 4
 * (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015).
 *
 * Per tile of m x m output pixels: Y = A^T [ (G g G^T) .* (B^T d B) ] A, where d is the
 * (m+2) x (m+2) input patch. With NHWC data, channels are the innermost (vector) axis of
 * every transform, and the elementwise product over a block of T tiles becomes
 * (m+2)^2 independent GEMMs: M[pos] (T, cout) = V[pos] (T, cin) x U[pos] (cin, cout).
 * Fewer multiplies (2.25x for m = 2, 4x for m = 4) at a small cost in rounding, which
 * the tests bound against the naive reference. */
#include <string.h>

#include "kernels.h"
#include "kernels_vec.h"

FC_O3

static const double G2[4 * 3] = {1, 0, 0, .5, .5, .5, .5, -.5, .5, 0, 0, 1};

static const double G4[6 * 3] = {1.0 / 4, 0, 0,
                                 -1.0 / 6, -1.0 / 6, -1.0 / 6,
                                 -1.0 / 6, 1.0 / 6, -1.0 / 6,
                                 1.0 / 24, 1.0 / 12, 1.0 / 6,
                                 1.0 / 24, -1.0 / 12, 1.0 / 6,
                                 0, 0, 1};

FC_SIMD void fc_wino_weights(int m, const float *w, int cin, int cout, float *u) {
    m = m == 4 ? 4 : 2; /* the transforms below know only these (and the arrays fit them) */
    const int a = m + 2;
    const double *G = m == 4 ? G4 : G2;
    const size_t mat = (size_t)cin * cout;
    for (int i = 0; i < a; i++)
        for (int j = 0; j < a; j++) {
            double coef[9];
            for (int k = 0; k < 3; k++)
                for (int l = 0; l < 3; l++) coef[k * 3 + l] = G[i * 3 + k] * G[j * 3 + l];
            float *dst = u + (size_t)(i * a + j) * mat;
            for (size_t e = 0; e < mat; e++) {
                double acc = 0;
                for (int kl = 0; kl < 9; kl++) acc += coef[kl] * w[(size_t)kl * mat + e];
                dst[e] = (float)acc;
            }
        }
}

/* Transforms run on 8-channel blocks held in GCC vector registers (AVX2 ymm in the
 * x86-64-v3 clone, pairs of xmm in the baseline one): the whole 2-D transform of a
 * tile stays in registers; only the tail block (c % 8 channels) goes through memcpy. */
/* o = B^T d along one axis (a = m + 2 values). */
AI void bt_1d(int m, const v8 *d, v8 *o) {
    if (m == 4) {
        o[0] = 4 * d[0] - 5 * d[2] + d[4];
        o[1] = -4 * (d[1] + d[2]) + d[3] + d[4];
        o[2] = 4 * (d[1] - d[2]) - d[3] + d[4];
        o[3] = 2 * (d[3] - d[1]) - d[2] + d[4];
        o[4] = 2 * (d[1] - d[3]) - d[2] + d[4];
        o[5] = 4 * d[1] - 5 * d[3] + d[5];
    } else {
        o[0] = d[0] - d[2];
        o[1] = d[1] + d[2];
        o[2] = d[2] - d[1];
        o[3] = d[1] - d[3];
    }
}

/* o = A^T mm along one axis (m values out of a). */
AI void at_1d(int m, const v8 *x, v8 *o) {
    if (m == 4) {
        v8 s12 = x[1] + x[2], d12 = x[1] - x[2], s34 = x[3] + x[4], d34 = x[3] - x[4];
        o[0] = x[0] + s12 + s34;
        o[1] = d12 + 2 * d34;
        o[2] = s12 + 4 * s34;
        o[3] = d12 + 8 * d34 + x[5];
    } else {
        o[0] = x[0] + x[1] + x[2];
        o[1] = x[1] - x[2] - x[3];
    }
}

/* One channel block [c0, c0+nl) of one tile: d[k*a+l] are the a*a input pixels. */
AI void in_block(int m, const float *const *d, int c0, int nl, float *v, size_t pos_stride) {
    const int a = m + 2;
    v8 t[6][6], col[6], o[6];
    for (int l = 0; l < a; l++) {
        for (int k = 0; k < a; k++) col[k] = ld(d[k * a + l] + c0, nl);
        bt_1d(m, col, o);
        for (int i = 0; i < a; i++) t[i][l] = o[i];
    }
    for (int i = 0; i < a; i++) {
        bt_1d(m, t[i], o);
        for (int j = 0; j < a; j++) st(v + (size_t)(i * a + j) * pos_stride + c0, o[j], nl);
    }
}

/* Tiles [t0, t1) (flattened over image, tile row, tile col) -> v (a*a, t1-t0, cin).
 * zero: cin zeros (padding); tmp is unused. */
FC_SIMD void fc_wino_input(const fc_geom *g, int m, const float *x, size_t t0, size_t t1,
                           float *v, const float *zero, float *tmp) {
    m = m == 4 ? 4 : 2;
    const int a = m + 2, c = g->ic;
    const int th = (g->oh + m - 1) / m, tw = (g->ow + m - 1) / m;
    const size_t T = t1 - t0, per_img = (size_t)th * tw;
    const float *d[36];
    (void)tmp;
    for (size_t t = t0; t < t1; t++) {
        size_t img = t / per_img, r = t % per_img;
        int y0 = (int)(r / (size_t)tw) * m - g->pt, x0 = (int)(r % (size_t)tw) * m - g->pl;
        const float *xi = x + img * g->ih * g->iw * (size_t)c;
        for (int k = 0; k < a; k++)
            for (int l = 0; l < a; l++) {
                int iy = y0 + k, ix = x0 + l;
                d[k * a + l] = iy >= 0 && iy < g->ih && ix >= 0 && ix < g->iw
                                   ? xi + ((size_t)iy * g->iw + ix) * c : zero;
            }
        float *vt = v + (t - t0) * c;
        int c0 = 0;
        for (; c0 + VL <= c; c0 += VL) in_block(m, d, c0, VL, vt, T * c);
        if (c0 < c) in_block(m, d, c0, c - c0, vt, T * c);
    }
}

/* One channel block of one tile: y[i*m+j] are the m*m output pixels (a scratch row for
 * pixels past the edge). */
AI void out_block(int m, const float *mt, size_t pos_stride, float *const *y, const float *bias,
                  int c0, int nl) {
    const int a = m + 2;
    v8 t[4][6], col[6], o[4];
    for (int l = 0; l < a; l++) {
        for (int k = 0; k < a; k++) col[k] = ld(mt + (size_t)(k * a + l) * pos_stride + c0, nl);
        at_1d(m, col, o);
        for (int i = 0; i < m; i++) t[i][l] = o[i];
    }
    v8 b = {0};
    if (bias) b = ld(bias + c0, nl);
    for (int i = 0; i < m; i++) {
        at_1d(m, t[i], o);
        for (int j = 0; j < m; j++) st(y[i * m + j] + c0, o[j] + b, nl);
    }
}

/* mm (a*a, t1-t0, cout) -> output pixels of tiles [t0, t1) in y (n, oh, ow, cout), plus
 * bias and activation. tmp: a*a*cout floats of scratch (sink for pixels past the edge). */
FC_SIMD void fc_wino_output(const fc_geom *g, int m, const float *mm, size_t t0, size_t t1,
                            float *y, const float *bias, const fc_actp *act, float *tmp) {
    m = m == 4 ? 4 : 2;
    const int c = g->oc;
    const int th = (g->oh + m - 1) / m, tw = (g->ow + m - 1) / m;
    const size_t T = t1 - t0, per_img = (size_t)th * tw;
    float *dst[16];
    for (size_t t = t0; t < t1; t++) {
        size_t img = t / per_img, r = t % per_img;
        int y0 = (int)(r / (size_t)tw) * m, x0 = (int)(r % (size_t)tw) * m;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
                dst[i * m + j] = y0 + i < g->oh && x0 + j < g->ow
                    ? y + ((img * g->oh + (size_t)(y0 + i)) * g->ow + x0 + j) * c : tmp;
        const float *mt = mm + (t - t0) * c;
        int c0 = 0;
        for (; c0 + VL <= c; c0 += VL) out_block(m, mt, T * c, dst, bias, c0, VL);
        if (c0 < c) out_block(m, mt, T * c, dst, bias, c0, c - c0);
        if (act->act == FC_ACT_LINEAR) continue;
        for (int k = 0; k < m * m; k++)
            if (dst[k] != tmp) fc_k_bias_act(dst[k], 1, c, c, NULL, act);
    }
}
