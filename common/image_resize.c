/* image_resize.c - PIL 9.4 Image.resize((w, h), filter) on RGB, bit-exact, for every
 * filter Keras load_img(interpolation=...) offers: nearest, bilinear, bicubic, lanczos,
 * box, hamming.
 *
 * NEAREST is Geometry.c ImagingScaleAffine with a = (in_w/out_w, 0, 0, 0, in_h/out_h, 0):
 * the source coordinate starts at a*0.5 and is *accumulated* (x += a) in double, then
 * truncated. Accumulation differs from computing (x+0.5)*a afresh at some odd sizes, so
 * we accumulate too.
 *
 * The others are Resample.c: a separable convolution with the filter (triangle for
 * BILINEAR) whose support is stretched by the scale when downscaling (antialiasing). Coefficients are computed
 * in double, normalised to sum 1, then turned into 22-bit fixed point; each pass rounds
 * and clips to 8 bits (bicubic and lanczos have negative lobes, so both ends clip). Horizontal pass first (only on the source rows the vertical pass
 * will read), then vertical; a pass whose size does not change is skipped.
 *
 * Every double expression keeps PIL's operation order. Baseline x86-64 has no FMA, and
 * the build never uses -march=native or -ffast-math, so no contraction changes them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image_codec.h"

#define PREC_BITS (32 - 8 - 2)

static int resize_nearest(const fc_image *src, fc_image *dst, fc_status *st) {
    int ow = dst->w, oh = dst->h;
    int *xin = malloc((size_t)ow * sizeof *xin);
    if (!xin) return fc_fail(st, FC_ERR_NOMEM, "out of memory resizing image");
    double ax = (double)src->w / ow, ay = (double)src->h / oh;
    double xo = 0.0 + ax * 0.5, yo = 0.0 + ay * 0.5;
    for (int x = 0; x < ow; x++) {
        int xi = xo < 0.0 ? -1 : (int)xo;
        xin[x] = xi < 0 ? 0 : xi >= src->w ? src->w - 1 : xi; /* never clamps in practice */
        xo += ax;
    }
    for (int y = 0; y < oh; y++) {
        int yi = yo < 0.0 ? -1 : (int)yo;
        if (yi < 0) yi = 0;
        if (yi >= src->h) yi = src->h - 1;
        const uint8_t *in = src->rgb + (size_t)yi * src->w * 3;
        uint8_t *o = dst->rgb + (size_t)y * ow * 3;
        for (int x = 0; x < ow; x++) memcpy(o + 3 * x, in + 3 * xin[x], 3);
        yo += ay;
    }
    free(xin);
    return FC_OK;
}

/* Resample.c's filters, written as PIL writes them (the float constants in hamming
 * included) so that the double results are identical. */
static double box_filter(double x) {
    return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
}

static double tri_filter(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double hamming_filter(double x) {
    if (x < 0.0) x = -x;
    if (x == 0.0) return 1.0;
    if (x >= 1.0) return 0.0;
    x = x * M_PI;
    return sin(x) / x * (0.54f + 0.46f * cos(x));
}

static double bicubic_filter(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static double sinc_filter(double x) {
    if (x == 0.0) return 1.0;
    x = x * M_PI;
    return sin(x) / x;
}

static double lanczos_filter(double x) {
    return -3.0 <= x && x < 3.0 ? sinc_filter(x) * sinc_filter(x / 3) : 0.0;
}

typedef struct {
    double (*fn)(double);
    double support;
} resample_filter;

static const resample_filter FILTERS[] = {
    [FC_RESIZE_BILINEAR] = {tri_filter, 1.0}, [FC_RESIZE_BICUBIC] = {bicubic_filter, 2.0},
    [FC_RESIZE_LANCZOS] = {lanczos_filter, 3.0}, [FC_RESIZE_BOX] = {box_filter, 0.5},
    [FC_RESIZE_HAMMING] = {hamming_filter, 1.0},
};

/* Resample.c precompute_coeffs + normalize_coeffs_8bpc for one axis.
 * bounds[2*i] = first input index, bounds[2*i+1] = count; k is out*ksize ints. */
typedef struct {
    int ksize;
    int *bounds;
    int32_t *k;
} coeffs;

static int coeffs_make(int in_size, int out_size, const resample_filter *f, coeffs *cf,
                       fc_status *st) {
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = f->support * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    double *w = malloc((size_t)ksize * sizeof *w);
    cf->ksize = ksize;
    cf->bounds = malloc((size_t)out_size * 2 * sizeof *cf->bounds);
    cf->k = calloc((size_t)out_size * (size_t)ksize, sizeof *cf->k);
    if (!w || !cf->bounds || !cf->k) {
        free(w);
        return fc_fail(st, FC_ERR_NOMEM, "out of memory resizing image");
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = 0.0 + (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            w[x] = f->fn((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        int32_t *k = cf->k + (size_t)xx * ksize;
        for (int x = 0; x < xmax; x++) {
            double v = ww != 0.0 ? w[x] / ww : w[x];
            k[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PREC_BITS))
                         : (int32_t)(0.5 + v * (1 << PREC_BITS));
        }
        cf->bounds[2 * xx] = xmin;
        cf->bounds[2 * xx + 1] = xmax;
    }
    free(w);
    return FC_OK;
}

static void coeffs_free(coeffs *cf) {
    free(cf->bounds);
    free(cf->k);
}

static inline uint8_t clip_fixed(int32_t v) {
    v >>= PREC_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* in: rows of in_w RGB pixels -> out: nrows rows of out_w, using input rows from y0. */
static void pass_horizontal(const uint8_t *in, int in_w, int y0, int nrows, const coeffs *cf,
                            uint8_t *out, int out_w) {
    for (int y = 0; y < nrows; y++) {
        const uint8_t *row = in + (size_t)(y + y0) * in_w * 3;
        uint8_t *o = out + (size_t)y * out_w * 3;
        for (int xx = 0; xx < out_w; xx++) {
            int xmin = cf->bounds[2 * xx], n = cf->bounds[2 * xx + 1];
            const int32_t *k = cf->k + (size_t)xx * cf->ksize;
            int32_t s0 = 1 << (PREC_BITS - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < n; x++) {
                const uint8_t *p = row + (size_t)(x + xmin) * 3;
                s0 += p[0] * k[x];
                s1 += p[1] * k[x];
                s2 += p[2] * k[x];
            }
            o[3 * xx] = clip_fixed(s0);
            o[3 * xx + 1] = clip_fixed(s1);
            o[3 * xx + 2] = clip_fixed(s2);
        }
    }
}

/* in: rows of w RGB pixels, row 0 = source row `y0` -> out: out_h rows. acc: w*3 ints.
 * Rows are accumulated whole (same integer sums as PIL's per-pixel loop, in a
 * cache-friendly order; integer addition is exact so the order does not matter). */
static void pass_vertical(const uint8_t *in, int w, int y0, const coeffs *cf, uint8_t *out,
                          int out_h, int32_t *acc) {
    size_t stride = (size_t)w * 3;
    for (int yy = 0; yy < out_h; yy++) {
        int ymin = cf->bounds[2 * yy] - y0, n = cf->bounds[2 * yy + 1];
        const int32_t *k = cf->k + (size_t)yy * cf->ksize;
        uint8_t *o = out + (size_t)yy * stride;
        for (size_t i = 0; i < stride; i++) acc[i] = 1 << (PREC_BITS - 1);
        for (int y = 0; y < n; y++) {
            const uint8_t *row = in + (size_t)(y + ymin) * stride;
            int32_t ky = k[y];
            for (size_t i = 0; i < stride; i++) acc[i] += row[i] * ky;
        }
        for (size_t i = 0; i < stride; i++) o[i] = clip_fixed(acc[i]);
    }
}

/* PIL ImagingResample for the filter of `mode` (everything but NEAREST). */
static int resize_convolve(const fc_image *src, fc_image *dst, fc_resize mode, fc_status *st) {
    const resample_filter *f = &FILTERS[mode];
    coeffs ch = {0}, cv = {0};
    uint8_t *tmp = NULL;
    int32_t *acc = NULL;
    int rc = coeffs_make(src->h, dst->h, f, &cv, st);
    if (rc) goto out;
    int need_h = src->w != dst->w, need_v = src->h != dst->h;
    int y_first = cv.bounds[0], y_last = cv.bounds[2 * dst->h - 2] + cv.bounds[2 * dst->h - 1];
    const uint8_t *cur = src->rgb;
    int cur_y0 = 0;
    if (need_h) {
        if ((rc = coeffs_make(src->w, dst->w, f, &ch, st))) goto out;
        int nrows = need_v ? y_last - y_first : src->h;
        int y0 = need_v ? y_first : 0;
        uint8_t *target = dst->rgb;
        if (need_v) {
            /* calloc: the analyzer cannot see that pass_vertical reads only rows that
             * pass_horizontal wrote (the coefficient windows stay in [y_first, y_last)) */
            tmp = calloc((size_t)nrows * dst->w * 3 + 1, 1);
            if (!tmp) {
                rc = fc_fail(st, FC_ERR_NOMEM, "out of memory resizing image");
                goto out;
            }
            target = tmp;
        }
        pass_horizontal(src->rgb, src->w, y0, nrows, &ch, target, dst->w);
        cur = target;
        cur_y0 = y0;
    }
    if (need_v) {
        acc = malloc((size_t)dst->w * 3 * sizeof *acc);
        if (!acc) {
            rc = fc_fail(st, FC_ERR_NOMEM, "out of memory resizing image");
            goto out;
        }
        pass_vertical(cur, dst->w, cur_y0, &cv, dst->rgb, dst->h, acc);
    }
out:
    coeffs_free(&ch);
    coeffs_free(&cv);
    free(tmp);
    free(acc);
    return rc;
}

int fc_image_resize(const fc_image *src, int h, int w, fc_resize mode, fc_image *dst,
                    fc_status *st) {
    dst->rgb = NULL;
    dst->w = dst->h = 0;
    if (!src || !src->rgb || src->w <= 0 || src->h <= 0)
        return fc_fail(st, FC_ERR_ARG, "resize: empty source image");
    if (w <= 0 || h <= 0 || w > FC_MAX_DIM || h > FC_MAX_DIM)
        return fc_fail(st, FC_ERR_ARG, "resize: bad target size %dx%d", w, h);
    size_t n;
    if (fc_size_mul4((size_t)w, (size_t)h, 3, 1, &n))
        return fc_fail(st, FC_ERR_ARG, "resize: target size %dx%d overflows", w, h);
    dst->rgb = fc_malloc(n, st);
    if (!dst->rgb) return FC_ERR_NOMEM;
    dst->w = w;
    dst->h = h;
    int rc;
    if (w == src->w && h == src->h) { /* PIL returns a copy */
        memcpy(dst->rgb, src->rgb, n);
        rc = FC_OK;
    } else if (mode == FC_RESIZE_NEAREST) {
        rc = resize_nearest(src, dst, st);
    } else if (mode > FC_RESIZE_NEAREST && mode <= FC_RESIZE_HAMMING) {
        rc = resize_convolve(src, dst, mode, st);
    } else {
        rc = fc_fail(st, FC_ERR_ARG, "resize: unknown mode %d", (int)mode);
    }
    if (rc) fc_image_free(dst);
    return rc;
}
