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

FC_O3

static const float BT2[4 * 4] = {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1};
static const double G2[4 * 3] = {1, 0, 0, .5, .5, .5, .5, -.5, .5, 0, 0, 1};
static const float AT2[2 * 4] = {1, 1, 1, 0, 0, 1, -1, -1};

static const float BT4[6 * 6] = {4, 0, -5, 0, 1, 0, 0, -4, -4, 1, 1, 0, 0, 4, -4, -1, 1, 0,
                                 0, -2, -1, 2, 1, 0, 0, 2, -1, -2, 1, 0, 0, 4, 0, -5, 0, 1};
static const double G4[6 * 3] = {1.0 / 4, 0, 0,
                                 -1.0 / 6, -1.0 / 6, -1.0 / 6,
                                 -1.0 / 6, 1.0 / 6, -1.0 / 6,
                                 1.0 / 24, 1.0 / 12, 1.0 / 6,
                                 1.0 / 24, -1.0 / 12, 1.0 / 6,
                                 0, 0, 1};
static const float AT4[4 * 6] = {1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 0,
                                 0, 1, 1, 4, 4, 0, 0, 1, -1, 8, -8, 1};

FC_SIMD void fc_wino_weights(int m, const float *w, int cin, int cout, float *u) {
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

/* dst (c) = sum_k coef[k] * src[k] (c) over the nonzero coefficients. */
static inline __attribute__((always_inline)) void lincomb(float *restrict dst, const float *coef, const float *const *src,
                           int n, int c) {
    int first = 1;
    for (int k = 0; k < n; k++) {
        float f = coef[k];
        if (f == 0) continue;
        const float *restrict s = src[k];
        if (first) {
            for (int i = 0; i < c; i++) dst[i] = f * s[i];
            first = 0;
        } else {
            for (int i = 0; i < c; i++) dst[i] += f * s[i];
        }
    }
    if (first) memset(dst, 0, (size_t)c * sizeof *dst);
}

/* Tiles [t0, t1) (flattened over image, tile row, tile col) -> v (a*a, t1-t0, cin).
 * zero: cin zeros; tmp: a*a*cin floats of scratch. */
FC_SIMD void fc_wino_input(const fc_geom *g, int m, const float *x, size_t t0, size_t t1, float *v,
                   const float *zero, float *tmp) {
    const int a = m + 2, c = g->ic;
    const float *BT = m == 4 ? BT4 : BT2;
    const int th = (g->oh + m - 1) / m, tw = (g->ow + m - 1) / m;
    const size_t T = t1 - t0, per_img = (size_t)th * tw;
    const float *d[36], *col[6];
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
        /* tmp[i][l] = sum_k BT[i][k] d[k][l] */
        for (int i = 0; i < a; i++)
            for (int l = 0; l < a; l++) {
                for (int k = 0; k < a; k++) col[k] = d[k * a + l];
                lincomb(tmp + (size_t)(i * a + l) * c, BT + i * a, col, a, c);
            }
        /* v[i][j] = sum_l tmp[i][l] BT[j][l] */
        for (int i = 0; i < a; i++) {
            for (int l = 0; l < a; l++) col[l] = tmp + (size_t)(i * a + l) * c;
            for (int j = 0; j < a; j++)
                lincomb(v + ((size_t)(i * a + j) * T + (t - t0)) * c, BT + j * a, col, a, c);
        }
    }
}

/* mm (a*a, t1-t0, cout) -> output pixels of tiles [t0, t1) in y (n, oh, ow, cout), plus
 * bias and activation. tmp: a*a*cout floats of scratch. */
FC_SIMD void fc_wino_output(const fc_geom *g, int m, const float *mm, size_t t0, size_t t1, float *y,
                    const float *bias, const fc_actp *act, float *tmp) {
    const int a = m + 2, c = g->oc;
    const float *AT = m == 4 ? AT4 : AT2;
    const int th = (g->oh + m - 1) / m, tw = (g->ow + m - 1) / m;
    const size_t T = t1 - t0, per_img = (size_t)th * tw;
    const float *col[6];
    for (size_t t = t0; t < t1; t++) {
        size_t img = t / per_img, r = t % per_img;
        int y0 = (int)(r / (size_t)tw) * m, x0 = (int)(r % (size_t)tw) * m;
        /* tmp[i][l] = sum_k AT[i][k] M[k][l] */
        for (int i = 0; i < m; i++)
            for (int l = 0; l < a; l++) {
                for (int k = 0; k < a; k++) col[k] = mm + ((size_t)(k * a + l) * T + (t - t0)) * c;
                lincomb(tmp + (size_t)(i * a + l) * c, AT + i * a, col, a, c);
            }
        for (int i = 0; i < m && y0 + i < g->oh; i++) {
            for (int l = 0; l < a; l++) col[l] = tmp + (size_t)(i * a + l) * c;
            for (int j = 0; j < m && x0 + j < g->ow; j++) {
                float *restrict dst = y + ((img * g->oh + (size_t)(y0 + i)) * g->ow + x0 + j) * c;
                lincomb(dst, AT + j * a, col, a, c);
                fc_k_bias_act(dst, 1, c, c, bias, act);
            }
        }
    }
}
