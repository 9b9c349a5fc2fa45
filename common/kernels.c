/* kernels.c - fast per-op loops for exec.c (see kernels.h). Inner loops run over
 * channels with restrict pointers so GCC vectorizes them. */
#include "kernels.h"
#include "kernels_vec.h"

FC_O3

#include <float.h>
#include <math.h>
#include <string.h>

static int lead_pad(int in, int out, int k, int s, int d, fc_padding pad) {
    if (pad != FC_PAD_SAME) return 0;
    int total = (out - 1) * s + (k - 1) * d + 1 - in;
    return total > 0 ? total / 2 : 0;
}

void fc_geom_from(fc_geom *g, const fc_node *p, const fc_node *c) {
    memset(g, 0, sizeof *g);
    g->ih = p->oh; g->iw = p->ow; g->ic = p->oc;
    g->oh = c->oh; g->ow = c->ow; g->oc = c->oc;
    g->kh = c->kh > 0 ? c->kh : 1; g->kw = c->kw > 0 ? c->kw : 1;
    g->sh = c->sh > 0 ? c->sh : 1; g->sw = c->sw > 0 ? c->sw : 1;
    g->dh = c->dh > 0 ? c->dh : 1; g->dw = c->dw > 0 ? c->dw : 1;
    g->pt = lead_pad(g->ih, g->oh, g->kh, g->sh, g->dh, c->pad);
    g->pl = lead_pad(g->iw, g->ow, g->kw, g->sw, g->dw, c->pad);
}

FC_SIMD void fc_k_im2col(const fc_geom *g, const float *x, size_t p0, size_t p1, float *cols) {
    const size_t K = (size_t)g->kh * g->kw * g->ic, ipix = (size_t)g->ih * g->iw;
    const size_t opix = (size_t)g->oh * g->ow, run = (size_t)g->ic * sizeof(float);
    for (size_t p = p0; p < p1; p++) {
        size_t img = p / opix, r = p % opix;
        int oy = (int)(r / (size_t)g->ow), ox = (int)(r % (size_t)g->ow);
        const float *xi = x + img * ipix * (size_t)g->ic;
        float *dst = cols + (p - p0) * K;
        for (int ky = 0; ky < g->kh; ky++) {
            int iy = oy * g->sh + ky * g->dh - g->pt;
            if (iy < 0 || iy >= g->ih) {
                memset(dst, 0, run * (size_t)g->kw);
                dst += (size_t)g->kw * g->ic;
                continue;
            }
            const float *row = xi + (size_t)iy * g->iw * g->ic;
            int ix0 = ox * g->sw - g->pl;
            if (g->dw == 1 && ix0 >= 0 && ix0 + g->kw <= g->iw) {
                memcpy(dst, row + (size_t)ix0 * g->ic, run * (size_t)g->kw);
                dst += (size_t)g->kw * g->ic;
                continue;
            }
            for (int kx = 0; kx < g->kw; kx++, dst += g->ic) {
                int ix = ix0 + kx * g->dw;
                if (ix < 0 || ix >= g->iw) memset(dst, 0, run);
                else memcpy(dst, row + (size_t)ix * g->ic, run);
            }
        }
    }
}

AI void softmax_row(float *v, int c) {
    float m = -FLT_MAX, s = 0;
    for (int i = 0; i < c; i++) m = v[i] > m ? v[i] : m;
    for (int i = 0; i < c; i++) { v[i] = expf(v[i] - m); s += v[i]; }
    float inv = 1.0f / s;
    for (int i = 0; i < c; i++) v[i] *= inv;
}

AI float softplusf(float x) { return (x > 0 ? x : 0) + log1pf(expf(-fabsf(x))); }

/* The activations that call libm per value (see fc_act in graph.h for the formulas). */
AI void act_row_more(float *restrict v, int c, const fc_actp *a) {
    switch (a->act) {
    case FC_ACT_GELU:
        for (int i = 0; i < c; i++) v[i] = 0.5f * v[i] * (1.0f + erff(v[i] * 0.70710678118654752f));
        break;
    case FC_ACT_ELU: {
        float al = a->alpha;
        for (int i = 0; i < c; i++) v[i] = v[i] > 0 ? v[i] : al * expm1f(v[i]);
        break;
    }
    case FC_ACT_SELU:
        for (int i = 0; i < c; i++)
            v[i] = 1.0507009873554805f * (v[i] > 0 ? v[i] : 1.6732632423543772f * expm1f(v[i]));
        break;
    case FC_ACT_SOFTPLUS:
        for (int i = 0; i < c; i++) v[i] = softplusf(v[i]);
        break;
    case FC_ACT_SOFTSIGN:
        for (int i = 0; i < c; i++) v[i] = v[i] / (fabsf(v[i]) + 1.0f);
        break;
    case FC_ACT_EXP:
        for (int i = 0; i < c; i++) v[i] = expf(v[i]);
        break;
    case FC_ACT_HARD_SWISH:
        for (int i = 0; i < c; i++) {
            float r = v[i] + 3.0f;
            r = r < 0 ? 0 : r > 6 ? 6 : r;
            v[i] = v[i] * r * (1.0f / 6.0f);
        }
        break;
    case FC_ACT_MISH:
        for (int i = 0; i < c; i++) v[i] = v[i] * tanhf(softplusf(v[i]));
        break;
    case FC_ACT_HARD_SIGMOID3:
        for (int i = 0; i < c; i++) {
            float r = v[i] + 3.0f;
            v[i] = (r < 0 ? 0 : r > 6 ? 6 : r) * (1.0f / 6.0f);
        }
        break;
    default: break;
    }
}

AI void act_row(float *restrict v, int c, const fc_actp *a) {
    switch (a->act) {
    case FC_ACT_RELU:
        if (a->alpha == 0 && a->threshold == 0) {
            for (int i = 0; i < c; i++) v[i] = v[i] > 0 ? v[i] : 0;
        } else {
            float t = a->threshold, al = a->alpha;
            for (int i = 0; i < c; i++) v[i] = v[i] >= t ? v[i] : al * (v[i] - t);
        }
        if (a->max > 0) {
            float mx = a->max;
            for (int i = 0; i < c; i++) v[i] = v[i] < mx ? v[i] : mx;
        }
        break;
    case FC_ACT_SIGMOID:
        for (int i = 0; i < c; i++) v[i] = 1.0f / (1.0f + expf(-v[i]));
        break;
    case FC_ACT_TANH:
        for (int i = 0; i < c; i++) v[i] = tanhf(v[i]);
        break;
    case FC_ACT_SWISH:
        for (int i = 0; i < c; i++) v[i] = v[i] / (1.0f + expf(-v[i]));
        break;
    case FC_ACT_HARD_SIGMOID:
        for (int i = 0; i < c; i++) {
            float h = 0.2f * v[i] + 0.5f;
            v[i] = h < 0 ? 0 : h > 1 ? 1 : h;
        }
        break;
    case FC_ACT_SOFTMAX: softmax_row(v, c); break;
    case FC_ACT_LINEAR: break;
    default: act_row_more(v, c, a); break;
    }
}

FC_SIMD void fc_k_bias_act(float *y, size_t rows, int c, int ldy, const float *bias,
                   const fc_actp *a) {
    if (!bias && a->act == FC_ACT_LINEAR) return;
    for (size_t r = 0; r < rows; r++) {
        float *restrict v = y + r * (size_t)ldy;
        if (bias)
            for (int i = 0; i < c; i++) v[i] += bias[i];
        act_row(v, c, a);
    }
}

FC_SIMD void fc_k_fill_rows(float *y, size_t rows, int c, int ldy, const float *v) {
    for (size_t r = 0; r < rows; r++) {
        float *restrict d = y + r * (size_t)ldy;
        if (v)
            for (int i = 0; i < c; i++) d[i] = v[i];
        else
            for (int i = 0; i < c; i++) d[i] = 0;
    }
}

/* One channel block of a depthwise output pixel (multiplier 1), accumulated in a
 * register over the in-bounds taps. */
AI void dw_block1(const float *const *px, const float *const *wk, int taps, const float *bias,
                  float *acc, int c0, int nl) {
    v8 s = {0};
    if (bias) s = ld(bias + c0, nl);
    for (int t = 0; t < taps; t++) s += ld(px[t] + c0, nl) * ld(wk[t] + c0, nl);
    st(acc + c0, s, nl);
}

/* One output pixel of a depthwise conv with multiplier 1: acc (c) over the taps. */
AI void dw_pixel1(const fc_geom *g, const float *xi, const float *w, const float *bias,
                  float *restrict acc, int oy, int ox) {
    const int c = g->ic;
    const float *px[64], *wk[64];
    int taps = 0;
    for (int ky = 0; ky < g->kh; ky++) {
        int iy = oy * g->sh + ky * g->dh - g->pt;
        if (iy < 0 || iy >= g->ih) continue;
        for (int kx = 0; kx < g->kw; kx++) {
            int ix = ox * g->sw + kx * g->dw - g->pl;
            if (ix < 0 || ix >= g->iw) continue;
            if (taps == 64) { /* huge kernels: fold what we have into acc first */
                for (int c0 = 0; c0 < c; c0 += VL)
                    dw_block1(px, wk, taps, bias, acc, c0, c - c0 < VL ? c - c0 : VL);
                bias = acc;
                taps = 0;
            }
            px[taps] = xi + ((size_t)iy * g->iw + ix) * c;
            wk[taps++] = w + ((size_t)ky * g->kw + kx) * c;
        }
    }
    int c0 = 0;
    for (; c0 + VL <= c; c0 += VL) dw_block1(px, wk, taps, bias, acc, c0, VL);
    if (c0 < c) dw_block1(px, wk, taps, bias, acc, c0, c - c0);
}

/* One channel block of four horizontally adjacent output pixels (multiplier 1) whose taps
 * all lie inside the input: each weight vector is loaded once for the four. Every output
 * sums its taps in dw_pixel1's order (bias, then ky, kx ascending), so the bits are the
 * same as pixel by pixel. xs: the input step between adjacent output pixels. */
AI void dw_quad_block(const fc_geom *g, const float *x0, const float *w, const float *bias,
                      float *restrict y, size_t xs, int c0, int nl) {
    const int c = g->ic;
    v8 s0 = {0};
    if (bias) s0 = ld(bias + c0, nl);
    v8 s1 = s0, s2 = s0, s3 = s0;
    for (int ky = 0; ky < g->kh; ky++) {
        const float *xr = x0 + (size_t)ky * g->dh * g->iw * c + c0;
        const float *wr = w + (size_t)ky * g->kw * c + c0;
        for (int kx = 0; kx < g->kw; kx++) {
            const v8 wv = ld(wr + (size_t)kx * c, nl);
            const float *px = xr + (size_t)kx * g->dw * c;
            s0 += ld(px, nl) * wv;
            s1 += ld(px + xs, nl) * wv;
            s2 += ld(px + 2 * xs, nl) * wv;
            s3 += ld(px + 3 * xs, nl) * wv;
        }
    }
    st(y + c0, s0, nl);
    st(y + c + c0, s1, nl);
    st(y + 2 * c + c0, s2, nl);
    st(y + 3 * c + c0, s3, nl);
}

/* dw_quad_block for two full channel blocks at once (c0 .. c0+16): eight independent sums,
 * enough to cover the FMA latency. */
AI void dw_quad_block2(const fc_geom *g, const float *x0, const float *w, const float *bias,
                       float *restrict y, size_t xs, int c0) {
    const int c = g->ic;
    v8 a0 = {0}, b0 = {0};
    if (bias) a0 = ld(bias + c0, VL), b0 = ld(bias + c0 + VL, VL);
    v8 a1 = a0, a2 = a0, a3 = a0, b1 = b0, b2 = b0, b3 = b0;
    for (int ky = 0; ky < g->kh; ky++) {
        const float *xr = x0 + (size_t)ky * g->dh * g->iw * c + c0;
        const float *wr = w + (size_t)ky * g->kw * c + c0;
        for (int kx = 0; kx < g->kw; kx++) {
            const v8 wa = ld(wr + (size_t)kx * c, VL), wb = ld(wr + (size_t)kx * c + VL, VL);
            const float *px = xr + (size_t)kx * g->dw * c;
            a0 += ld(px, VL) * wa;
            b0 += ld(px + VL, VL) * wb;
            a1 += ld(px + xs, VL) * wa;
            b1 += ld(px + xs + VL, VL) * wb;
            a2 += ld(px + 2 * xs, VL) * wa;
            b2 += ld(px + 2 * xs + VL, VL) * wb;
            a3 += ld(px + 3 * xs, VL) * wa;
            b3 += ld(px + 3 * xs + VL, VL) * wb;
        }
    }
    st(y + c0, a0, VL), st(y + c0 + VL, b0, VL);
    st(y + c + c0, a1, VL), st(y + c + c0 + VL, b1, VL);
    st(y + 2 * c + c0, a2, VL), st(y + 2 * c + c0 + VL, b2, VL);
    st(y + 3 * c + c0, a3, VL), st(y + 3 * c + c0 + VL, b3, VL);
}

/* Output pixels ox .. ox+3 of row oy, all taps inside the input (see fc_k_depthwise). */
AI void dw_quad1(const fc_geom *g, const float *xi, const float *w, const float *bias,
                 float *restrict y, int oy, int ox) {
    const int c = g->ic;
    const float *x0 = xi + ((size_t)(oy * g->sh - g->pt) * g->iw + (size_t)(ox * g->sw - g->pl)) * c;
    const size_t xs = (size_t)g->sw * c;
    int c0 = 0;
    for (; c0 + 2 * VL <= c; c0 += 2 * VL) dw_quad_block2(g, x0, w, bias, y, xs, c0);
    for (; c0 + VL <= c; c0 += VL) dw_quad_block(g, x0, w, bias, y, xs, c0, VL);
    if (c0 < c) dw_quad_block(g, x0, w, bias, y, xs, c0, c - c0);
}

AI void dw_pixel_mult(const fc_geom *g, int mult, const float *xi, const float *w,
                      const float *bias, float *restrict acc, int oy, int ox) {
    const int c = g->ic, oc = c * mult;
    if (bias) memcpy(acc, bias, (size_t)oc * sizeof *acc);
    else memset(acc, 0, (size_t)oc * sizeof *acc);
    for (int ky = 0; ky < g->kh; ky++) {
        int iy = oy * g->sh + ky * g->dh - g->pt;
        if (iy < 0 || iy >= g->ih) continue;
        for (int kx = 0; kx < g->kw; kx++) {
            int ix = ox * g->sw + kx * g->dw - g->pl;
            if (ix < 0 || ix >= g->iw) continue;
            const float *px = xi + ((size_t)iy * g->iw + ix) * c;
            const float *wk = w + ((size_t)ky * g->kw + kx) * oc;
            for (int i = 0; i < c; i++)
                for (int m = 0; m < mult; m++) acc[i * mult + m] += px[i] * wk[i * mult + m];
        }
    }
}

FC_SIMD void fc_k_depthwise(const fc_geom *g, int mult, const float *x, const float *w,
                    const float *bias, const fc_actp *a, float *y, int n) {
    const size_t ipix = (size_t)g->ih * g->iw, oc = (size_t)g->ic * mult;
    for (int b = 0; b < n; b++) {
        const float *xi = x + (size_t)b * ipix * g->ic;
        float *yi = y + (size_t)b * g->oh * g->ow * oc;
        for (int oy = 0; oy < g->oh; oy++) {
            const int iy0 = oy * g->sh - g->pt;
            const int rows_in = mult == 1 && iy0 >= 0 && iy0 + (g->kh - 1) * g->dh < g->ih;
            for (int ox = 0; ox < g->ow;) {
                float *acc = yi + ((size_t)oy * g->ow + ox) * oc;
                /* four pixels at once where all their taps are inside the input */
                if (rows_in && ox + 3 < g->ow && ox * g->sw - g->pl >= 0 &&
                    (ox + 3) * g->sw - g->pl + (g->kw - 1) * g->dw < g->iw) {
                    dw_quad1(g, xi, w, bias, acc, oy, ox);
                    for (int q = 0; q < 4; q++) act_row(acc + (size_t)q * oc, (int)oc, a); /* per pixel: softmax */
                    ox += 4;
                    continue;
                }
                if (mult == 1) dw_pixel1(g, xi, w, bias, acc, oy, ox);
                else dw_pixel_mult(g, mult, xi, w, bias, acc, oy, ox);
                act_row(acc, (int)oc, a);
                ox++;
            }
        }
    }
}

FC_SIMD void fc_k_pool(const fc_geom *g, int is_max, const float *x, float *y, int n) {
    const int c = g->ic;
    for (int b = 0; b < n; b++) {
        const float *xi = x + (size_t)b * g->ih * g->iw * c;
        for (int oy = 0; oy < g->oh; oy++)
            for (int ox = 0; ox < g->ow; ox++) {
                float *restrict acc = y + (((size_t)b * g->oh + oy) * g->ow + ox) * c;
                for (int i = 0; i < c; i++) acc[i] = is_max ? -INFINITY : 0.0f;
                int cnt = 0;
                /* only the window's taps inside the input (as TF: 'same' padding never
                 * counts): a 65536-wide window over 32 pixels costs 32, not 65536 */
                int y0 = oy * g->sh - g->pt, x0 = ox * g->sw - g->pl;
                int ky1 = g->ih - y0 < g->kh ? g->ih - y0 : g->kh, kx1 = g->iw - x0 < g->kw ? g->iw - x0 : g->kw;
                for (int ky = y0 < 0 ? -y0 : 0; ky < ky1; ky++) {
                    int iy = y0 + ky;
                    for (int kx = x0 < 0 ? -x0 : 0; kx < kx1; kx++) {
                        int ix = x0 + kx;
                        const float *restrict px = xi + ((size_t)iy * g->iw + ix) * c;
                        if (is_max)
                            for (int i = 0; i < c; i++) acc[i] = px[i] > acc[i] ? px[i] : acc[i];
                        else
                            for (int i = 0; i < c; i++) acc[i] += px[i];
                        cnt++;
                    }
                }
                if (!is_max) {
                    float inv = 1.0f / (float)cnt;
                    for (int i = 0; i < c; i++) acc[i] *= inv;
                }
            }
    }
}

FC_SIMD void fc_k_global_pool(size_t hw, int c, int is_max, const float *x, float *y, int n) {
    for (int b = 0; b < n; b++) {
        float *restrict acc = y + (size_t)b * c;
        const float *xi = x + (size_t)b * hw * c;
        memcpy(acc, xi, (size_t)c * sizeof *acc);
        for (size_t p = 1; p < hw; p++) {
            const float *restrict px = xi + p * c;
            if (is_max)
                for (int i = 0; i < c; i++) acc[i] = px[i] > acc[i] ? px[i] : acc[i];
            else
                for (int i = 0; i < c; i++) acc[i] += px[i];
        }
        if (!is_max) {
            float inv = 1.0f / (float)hw;
            for (int i = 0; i < c; i++) acc[i] *= inv;
        }
    }
}

void fc_k_pad_crop(const fc_geom *g, int sign, int t, int l, const float *x, float *y, int n) {
    const size_t c = (size_t)g->ic;
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < g->oh; oy++) {
            float *dst = y + (((size_t)b * g->oh + oy) * g->ow) * c;
            int iy = sign > 0 ? oy - t : oy + t;
            if (iy < 0 || iy >= g->ih) {
                memset(dst, 0, (size_t)g->ow * c * sizeof *dst);
                continue;
            }
            const float *src = x + (((size_t)b * g->ih + iy) * g->iw) * c;
            if (sign < 0) {
                memcpy(dst, src + (size_t)l * c, (size_t)g->ow * c * sizeof *dst);
                continue;
            }
            memset(dst, 0, (size_t)l * c * sizeof *dst);
            memcpy(dst + (size_t)l * c, src, (size_t)g->iw * c * sizeof *dst);
            memset(dst + (size_t)(l + g->iw) * c, 0,
                   (size_t)(g->ow - l - g->iw) * c * sizeof *dst);
        }
}

FC_SIMD void fc_k_scale_shift(float *y, const float *x, size_t rows, int c, const float *scale,
                      const float *shift) {
    for (size_t r = 0; r < rows; r++) {
        float *restrict yr = y + r * c;
        const float *restrict xr = x + r * c;
        for (int i = 0; i < c; i++) yr[i] = xr[i] * scale[i] + shift[i];
    }
}

FC_SIMD void fc_k_eltwise(float *y, const float *const *xs, int nx, size_t e, int is_mul) {
    float *restrict yy = y;
    const float *restrict a = xs[0];
    if (nx == 1) {
        if (yy != a) memcpy(yy, a, e * sizeof *yy);
        return;
    }
    const float *restrict b = xs[1];
    if (is_mul)
        for (size_t i = 0; i < e; i++) yy[i] = a[i] * b[i];
    else
        for (size_t i = 0; i < e; i++) yy[i] = a[i] + b[i];
    for (int k = 2; k < nx; k++) {
        const float *restrict c = xs[k];
        if (is_mul)
            for (size_t i = 0; i < e; i++) yy[i] *= c[i];
        else
            for (size_t i = 0; i < e; i++) yy[i] += c[i];
    }
}

/* One output pixel's channels: yr (c) = or op= input row xr (c values, or 1 repeated). */
AI void bcast_row(float *restrict yr, const float *restrict xr, int xc, int c, int first,
                  int is_mul) {
    if (xc == c && first) memcpy(yr, xr, (size_t)c * sizeof *yr);
    else if (xc == c && is_mul) for (int i = 0; i < c; i++) yr[i] *= xr[i];
    else if (xc == c) for (int i = 0; i < c; i++) yr[i] += xr[i];
    else {
        const float v = xr[0];
        if (first) for (int i = 0; i < c; i++) yr[i] = v;
        else if (is_mul) for (int i = 0; i < c; i++) yr[i] *= v;
        else for (int i = 0; i < c; i++) yr[i] += v;
    }
}

FC_SIMD void fc_k_eltwise_bcast(float *y, const float *const *xs, const int *shapes, int nx,
                                int oh, int ow, int c, int n, int is_mul) {
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                float *yr = y + (((size_t)b * oh + oy) * ow + ox) * c;
                for (int k = 0; k < nx; k++) {
                    const int *s = shapes + 3 * k;
                    size_t at = (((size_t)b * s[0] + (s[0] == 1 ? 0 : oy)) * s[1] + (s[1] == 1 ? 0 : ox)) * s[2];
                    bcast_row(yr, xs[k] + at, s[2], c, k == 0, is_mul);
                }
            }
}

void fc_k_concat_copy(float *y, int yc, int off, const float *x, int xc, size_t pix) {
    for (size_t p = 0; p < pix; p++)
        memcpy(y + p * yc + off, x + p * xc, (size_t)xc * sizeof *y);
}
