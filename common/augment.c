/* augment.c - Keras ImageDataGenerator augmentation (keras_preprocessing 1.1): parsing the
 * keyword spec, drawing a view's parameters, applying them.
 *
 * The transform is keras_preprocessing/image/affine_transformations.py at 1.1.x:
 * rotation @ shift @ shear @ zoom (each only when present), centred by
 * transform_matrix_offset_center with o = size/2 + 0.5 (sic: 1.1 adds 0.5; later
 * versions subtract it), then scipy.ndimage.affine_transform(channel, M[:2,:2],
 * M[:2,2], order=1, mode='nearest') per channel. For order <= 1 scipy does no spline
 * prefiltering, so that is plain bilinear interpolation on the input grid with indices
 * clamped to the edge; ni_interpolation.c (scipy >= 1.6) does, for each output (i, j):
 *   coordinate  c = ((0.0 + i*M[0][0]) + j*M[0][1]) + offset   (per axis, this order)
 *   weights     s = floor(c), f = c - s, w0 = 1 - f, w1 = 1 - w0 (ni_splines.c)
 *   'nearest'   neighbours s, s+1 each clamped to 0..len-1 (c itself is not clamped)
 *   sum         t = 0.0; t += v * wr * wc over (r0,c0), (r0,c1), (r1,c0), (r1,c1)
 * and casts t to float. We compute the same way, so integer coordinates give the input
 * value exactly (w0 = 1, w1 = 0) and results are normally bit-identical to scipy's.
 * scipy < 1.6 (the Keras 2.2/2.3 era) clamps c to 0..len-1 first instead; outside the
 * image that is the same value up to rounding (an edge pixel times w0 + w1 = 1 either
 * way), at most 1 float ulp apart. The 3x3 products are plain double loops; numpy may use
 * BLAS for them, so the matrix can differ from Keras' in the last bits.
 *
 * Draws: get_random_transform draws theta, tx (height shift), ty (width shift), shear,
 * (zx, zy), flip_h, flip_v in that order, skipping ranges that are 0 (value 0 / zoom 1) and
 * the zoom pair when zoom_range is [1, 1]. Here each has a fixed slot of a counter RNG
 * (splitmix64 on key + slot), numpy's uniform formula low + (high - low) * u. */
#include "augment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing ---- */

#define AUG_KEYS "rotation_range, width_shift_range, height_shift_range, shear_range, " \
                 "zoom_range, horizontal_flip, vertical_flip, fill_mode='nearest'"
#define AUG_MAX_INT_SHIFT 1e9

enum { K_ROT, K_WSHIFT, K_HSHIFT, K_SHEAR, K_ZOOM, K_HFLIP, K_VFLIP, K_FILL, K_N };
static const char *const key_names[K_N] = {
    "rotation_range", "width_shift_range", "height_shift_range", "shear_range",
    "zoom_range", "horizontal_flip", "vertical_flip", "fill_mode",
};

static int is_sep(char ch) {
    return ch == ',' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int is_space(char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int is_digit(char ch) {
    return ch >= '0' && ch <= '9';
}

/* A Python decimal literal (optional sign, digits with an optional '.', optional exponent)
 * of exactly len chars -> finite *out; *is_int when it has neither '.' nor exponent.
 * 0 on success, -1 if it is not such a literal, -2 if it is not finite (1e999). */
static int parse_number(const char *s, size_t len, double *out, int *is_int) {
    char buf[64];
    size_t i = 0, digits = 0;
    int dot = 0, expo = 0;
    if (len == 0 || len >= sizeof buf) return -1;
    if (s[i] == '+' || s[i] == '-') i++;
    for (; i < len && (is_digit(s[i]) || s[i] == '.'); i++) {
        if (s[i] == '.') {
            if (dot) return -1;
            dot = 1;
        } else {
            digits++;
        }
    }
    if (digits == 0) return -1;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t ed = 0;
        expo = 1;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) i++;
        for (; i < len && is_digit(s[i]); i++) ed++;
        if (ed == 0) return -1;
    }
    if (i != len) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    double v = strtod(buf, NULL); /* featcache never calls setlocale: '.' is the point */
    if (!isfinite(v)) return -2;
    *out = v + 0.0; /* -0 -> 0 */
    *is_int = !dot && !expo;
    return 0;
}

static int num_error(int rc, const char *key, const char *tok, size_t len, fc_status *st) {
    if (rc == -2)
        return fc_fail(st, FC_ERR_ARG, "augment: %s=%.*s is not a finite number", key,
                       (int)(len > 40 ? 40 : len), tok);
    return fc_fail(st, FC_ERR_ARG, "augment: %s: '%.*s' is not a number", key,
                   (int)(len > 40 ? 40 : len), tok);
}

/* "[a, b]" / "(a,b)" (trailing comma allowed, as Python) -> lo, hi. */
static int parse_pair(const char *tok, size_t len, double *lo, double *hi, fc_status *st) {
    const char *end = tok + len - 1, *p = tok + 1;
    double v[2];
    int n = 0, is_int;
    if (len < 2 || (tok[0] == '[' && *end != ']') || (tok[0] == '(' && *end != ')'))
        return fc_fail(st, FC_ERR_ARG, "augment: zoom_range: unbalanced '%c'", tok[0]);
    while (p < end) {
        while (p < end && is_space(*p)) p++;
        if (p == end) break;
        const char *a = p;
        while (p < end && *p != ',' && !is_space(*p)) p++;
        if (n == 2)
            return fc_fail(st, FC_ERR_ARG, "augment: zoom_range: '%.*s' has more than two values",
                           (int)(len > 60 ? 60 : len), tok);
        int rc = parse_number(a, (size_t)(p - a), &v[n], &is_int);
        if (rc) return num_error(rc, "zoom_range", a, (size_t)(p - a), st);
        n++;
        while (p < end && is_space(*p)) p++;
        if (p < end) {
            if (*p != ',')
                return fc_fail(st, FC_ERR_ARG, "augment: zoom_range: '%.*s': expected ',' between values",
                               (int)(len > 60 ? 60 : len), tok);
            p++;
        }
    }
    if (n != 2)
        return fc_fail(st, FC_ERR_ARG, "augment: zoom_range: '%.*s' needs two values [lower, upper]",
                       (int)(len > 60 ? 60 : len), tok);
    *lo = v[0];
    *hi = v[1];
    return FC_OK;
}

/* A range: a non-negative finite number; *is_int as parse_number. */
static int parse_range(const char *key, const char *tok, size_t len, double *out, int *is_int,
                       fc_status *st) {
    if (len > 0 && (tok[0] == '[' || tok[0] == '('))
        return fc_fail(st, FC_ERR_ARG, "augment: %s: a list of values is not supported (give one number)",
                       key);
    int rc = parse_number(tok, len, out, is_int);
    if (rc) return num_error(rc, key, tok, len, st);
    if (*out < 0)
        return fc_fail(st, FC_ERR_ARG, "augment: %s=%.*s: a range cannot be negative", key,
                       (int)(len > 40 ? 40 : len), tok);
    return FC_OK;
}

static int tok_is(const char *tok, size_t len, const char *word) {
    return strlen(word) == len && memcmp(tok, word, len) == 0;
}

int fc_aug_parse(const char *text, fc_aug_spec *spec, fc_status *st) {
    fc_aug_spec s = {0};
    int seen[K_N] = {0};
    s.zoom_lo = s.zoom_hi = 1.0;
    if (!text) return fc_fail(st, FC_ERR_ARG, "augment: no augmentation spec");
    const char *p = text;
    for (;;) {
        while (*p && is_sep(*p)) p++;
        if (!*p) break;
        /* key */
        const char *k = p;
        while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
               (p > k && is_digit(*p)))
            p++;
        size_t klen = (size_t)(p - k);
        if (klen == 0)
            return fc_fail(st, FC_ERR_ARG, "augment: expected key=value at '%.20s'", k);
        while (is_space(*p)) p++;
        if (*p != '=')
            return fc_fail(st, FC_ERR_ARG, "augment: '%.*s' needs a value (key=value)",
                           (int)(klen > 60 ? 60 : klen), k);
        p++;
        while (is_space(*p)) p++;
        /* value: a bracketed pair, a quoted string, or a bare token */
        const char *v = p;
        if (*p == '[' || *p == '(') {
            char close = *p == '[' ? ']' : ')';
            while (*p && *p != close) p++;
            if (*p) p++;
        } else if (*p == '\'' || *p == '"') {
            char q = *p++;
            while (*p && *p != q) p++;
            if (!*p) return fc_fail(st, FC_ERR_ARG, "augment: unterminated string at '%.20s'", v);
            p++;
        } else {
            while (*p && !is_sep(*p)) p++;
        }
        size_t vlen = (size_t)(p - v);
        if (*p && !is_sep(*p))
            return fc_fail(st, FC_ERR_ARG, "augment: unexpected '%.20s' after %.*s", p,
                           (int)(klen > 60 ? 60 : klen), k);
        int key = -1;
        for (int i = 0; i < K_N; i++)
            if (tok_is(k, klen, key_names[i])) key = i;
        if (key < 0 && (tok_is(k, klen, "rescale") || tok_is(k, klen, "preprocessing_function")))
            return fc_fail(st, FC_ERR_ARG,
                           "augment: %.*s is not an augmentation: the scaling of the pixels is the store's "
                           "preprocessing, chosen once at extract (--preprocess rescale is x/255, Keras's "
                           "rescale=1./255; caffe, tf, torch: preprocess_input) and applied to every view too; "
                           "remove it from --augment-spec", (int)klen, k);
        if (key < 0 && tok_is(k, klen, "validation_split"))
            return fc_fail(st, FC_ERR_ARG,
                           "augment: validation_split is not an augmentation: the splits come from the "
                           "train/ validation/ test/ folders or from extract --val-frac; remove it from --augment-spec");
        if (key < 0)
            return fc_fail(st, FC_ERR_ARG,
                           "augment: '%.*s' is not an augmentation setting (supported: " AUG_KEYS ")",
                           (int)(klen > 60 ? 60 : klen), k);
        if (seen[key]) return fc_fail(st, FC_ERR_ARG, "augment: %s given twice", key_names[key]);
        seen[key] = 1;
        if (vlen == 0) return fc_fail(st, FC_ERR_ARG, "augment: %s has no value", key_names[key]);
        int is_int = 0, rc = FC_OK;
        switch (key) {
        case K_ROT: rc = parse_range(key_names[key], v, vlen, &s.rotation_range, &is_int, st); break;
        case K_SHEAR: rc = parse_range(key_names[key], v, vlen, &s.shear_range, &is_int, st); break;
        case K_WSHIFT:
        case K_HSHIFT: {
            double *r = key == K_WSHIFT ? &s.width_shift_range : &s.height_shift_range;
            rc = parse_range(key_names[key], v, vlen, r, &is_int, st);
            if (rc) break;
            if (is_int && *r > AUG_MAX_INT_SHIFT)
                return fc_fail(st, FC_ERR_ARG, "augment: %s=%.*s is too large", key_names[key],
                               (int)(vlen > 40 ? 40 : vlen), v);
            *(key == K_WSHIFT ? &s.width_shift_int : &s.height_shift_int) = is_int && *r >= 1;
            break;
        }
        case K_ZOOM:
            if (v[0] == '[' || v[0] == '(') {
                rc = parse_pair(v, vlen, &s.zoom_lo, &s.zoom_hi, st);
                if (rc) break;
                if (!(s.zoom_lo > 0) || s.zoom_lo > s.zoom_hi)
                    return fc_fail(st, FC_ERR_ARG,
                                   "augment: zoom_range=%.*s: need 0 < lower <= upper",
                                   (int)(vlen > 60 ? 60 : vlen), v);
            } else {
                double z;
                rc = parse_range("zoom_range", v, vlen, &z, &is_int, st);
                if (rc) break;
                if (!(z < 1))
                    return fc_fail(st, FC_ERR_ARG,
                                   "augment: zoom_range=%.*s: zoom factors 1-z..1+z must stay > 0 (z < 1)",
                                   (int)(vlen > 40 ? 40 : vlen), v);
                s.zoom_lo = 1 - z;
                s.zoom_hi = 1 + z;
            }
            break;
        case K_HFLIP:
        case K_VFLIP: {
            int *f = key == K_HFLIP ? &s.horizontal_flip : &s.vertical_flip;
            if (tok_is(v, vlen, "True") || tok_is(v, vlen, "1")) *f = 1;
            else if (tok_is(v, vlen, "False") || tok_is(v, vlen, "0")) *f = 0;
            else
                return fc_fail(st, FC_ERR_ARG, "augment: %s=%.*s: expected True or False",
                               key_names[key], (int)(vlen > 40 ? 40 : vlen), v);
            break;
        }
        case K_FILL:
            if (v[0] != '\'' && v[0] != '"')
                return fc_fail(st, FC_ERR_ARG, "augment: fill_mode=%.*s: expected a quoted string ('nearest')",
                               (int)(vlen > 40 ? 40 : vlen), v);
            if (!tok_is(v + 1, vlen - 2, "nearest"))
                return fc_fail(st, FC_ERR_ARG,
                               "augment: fill_mode=%.*s is not supported: only fill_mode='nearest' (Keras' default) is",
                               (int)(vlen > 40 ? 40 : vlen), v);
            break;
        }
        if (rc) return rc;
    }
    int shifts = (s.width_shift_range > 0 && !(s.width_shift_int && s.width_shift_range < 2)) ||
                 (s.height_shift_range > 0 && !(s.height_shift_int && s.height_shift_range < 2));
    if (!(s.rotation_range > 0) && !shifts && !(s.shear_range > 0) &&
        s.zoom_lo == 1 && s.zoom_hi == 1 && !s.horizontal_flip && !s.vertical_flip)
        return fc_fail(st, FC_ERR_ARG, "augment: '%.60s' specifies no transform (give some of: " AUG_KEYS ")",
                       text);
    *spec = s;
    return FC_OK;
}

/* The shortest %g that reads back to the same double (0.2, not 0.20000000000000001); a
 * shift range that is a float but prints as an int (3.0) gets ".0", so that it reads back
 * as a float (the other keys mean the same either way). */
static void fmt_num(char *out, size_t n, double v, int is_shift, int as_int) {
    if (as_int && fabs(v) < 1e15) { /* whole numbers (parse caps int shifts at 1e9) */
        snprintf(out, n, "%.0f", v);
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, n, "%.0f", v);
    } else {
        for (int p = 1; p <= 17; p++) {
            snprintf(out, n, "%.*g", p, v);
            if (strtod(out, NULL) == v) break;
        }
    }
    if (is_shift && !strpbrk(out, ".eEn")) {
        size_t l = strlen(out);
        if (l + 3 <= n) memcpy(out + l, ".0", 3);
    }
}

int fc_aug_spec_equal(const fc_aug_spec *a, const fc_aug_spec *b) {
    return a->rotation_range == b->rotation_range && a->width_shift_range == b->width_shift_range &&
           a->height_shift_range == b->height_shift_range && a->shear_range == b->shear_range &&
           a->zoom_lo == b->zoom_lo && a->zoom_hi == b->zoom_hi && a->horizontal_flip == b->horizontal_flip &&
           a->vertical_flip == b->vertical_flip && a->width_shift_int == b->width_shift_int &&
           a->height_shift_int == b->height_shift_int;
}

int fc_aug_format(const fc_aug_spec *spec, char *buf, size_t n) {
    char r[40], ws[40], hs[40], sh[40], zl[40], zh[40];
    fmt_num(r, sizeof r, spec->rotation_range, 0, 0);
    fmt_num(ws, sizeof ws, spec->width_shift_range, 1, spec->width_shift_int);
    fmt_num(hs, sizeof hs, spec->height_shift_range, 1, spec->height_shift_int);
    fmt_num(sh, sizeof sh, spec->shear_range, 0, 0);
    fmt_num(zl, sizeof zl, spec->zoom_lo, 0, 0);
    fmt_num(zh, sizeof zh, spec->zoom_hi, 0, 0);
    return snprintf(buf, n,
                    "rotation_range=%s, width_shift_range=%s, height_shift_range=%s, "
                    "shear_range=%s, zoom_range=[%s, %s], horizontal_flip=%s, vertical_flip=%s",
                    r, ws, hs, sh, zl, zh, spec->horizontal_flip ? "True" : "False",
                    spec->vertical_flip ? "True" : "False");
}

/* ---- random parameters ---- */

#define AUG_GOLDEN 0x9e3779b97f4a7c15ULL

static uint64_t mix64(uint64_t z) {
    z += AUG_GOLDEN;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Draw slots, in Keras' order. */
enum { S_THETA, S_TX, S_TX_SIGN, S_TY, S_TY_SIGN, S_SHEAR, S_ZX, S_ZY, S_FLIP_H, S_FLIP_V };

/* Uniform double in [0, 1) with 53 random bits: draw `slot` of stream `key`. */
static double unif(uint64_t key, int slot) {
    uint64_t z = mix64(mix64(key) + (uint64_t)(slot + 1) * AUG_GOLDEN);
    return (double)(z >> 11) * 0x1.0p-53;
}

/* np.random.uniform(lo, hi) = lo + (hi - lo) * u */
static double uniform(uint64_t key, int slot, double lo, double hi) {
    return lo + (hi - lo) * unif(key, slot);
}

/* get_random_transform's shift: int range v -> choice(v) * choice([-1, 1]); float range ->
 * U(-v, v), times the side when v < 1. */
static double draw_shift(uint64_t key, int slot, double v, int is_int, int side) {
    if (!(v != 0)) return 0;
    double s;
    if (is_int) {
        double k = floor(unif(key, slot) * v);
        if (k > v - 1) k = v - 1;
        s = unif(key, slot + 1) < 0.5 ? -k : k;
    } else {
        s = uniform(key, slot, -v, v);
    }
    if (v < 1) s *= side;
    return s + 0.0;
}

void fc_aug_draw(const fc_aug_spec *spec, int h, int w, uint64_t key, fc_aug_params *p) {
    p->theta = spec->rotation_range != 0
                   ? uniform(key, S_THETA, -spec->rotation_range, spec->rotation_range) : 0;
    p->tx = draw_shift(key, S_TX, spec->height_shift_range, spec->height_shift_int, h);
    p->ty = draw_shift(key, S_TY, spec->width_shift_range, spec->width_shift_int, w);
    p->shear = spec->shear_range != 0
                   ? uniform(key, S_SHEAR, -spec->shear_range, spec->shear_range) : 0;
    if (spec->zoom_lo == 1 && spec->zoom_hi == 1) {
        p->zx = p->zy = 1;
    } else {
        p->zx = uniform(key, S_ZX, spec->zoom_lo, spec->zoom_hi);
        p->zy = uniform(key, S_ZY, spec->zoom_lo, spec->zoom_hi);
    }
    p->flip_h = spec->horizontal_flip && unif(key, S_FLIP_H) < 0.5;
    p->flip_v = spec->vertical_flip && unif(key, S_FLIP_V) < 0.5;
}

uint64_t fc_aug_key(uint64_t seed, const char *sha256_hex, int view) {
    const char *s = sha256_hex ? sha256_hex : "";
    size_t len = strlen(s);
    uint64_t h = mix64(seed ^ 0x6175676d656e7431ULL); /* "augment1" */
    for (size_t i = 0; i < len; i += 8) {
        uint64_t word = 0;
        for (size_t j = 0; j < 8 && i + j < len; j++) {
            unsigned char ch = (unsigned char)s[i + j];
            if (ch >= 'A' && ch <= 'F') ch = (unsigned char)(ch - 'A' + 'a'); /* hex case */
            word |= (uint64_t)ch << (8 * j);
        }
        h = mix64(h ^ word);
    }
    h = mix64(h ^ (uint64_t)len);
    return mix64(h ^ ((uint64_t)(uint32_t)view * 0x2545f4914f6cdd1dULL));
}

/* ---- applying ---- */

static void mat_mul(const double a[3][3], const double b[3][3], double out[3][3]) {
    double r[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) r[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
    memcpy(out, r, sizeof r);
}

/* m = have ? m @ b : b (apply_affine_transform's chaining). */
static void chain(double m[3][3], int *have, const double b[3][3]) {
    if (*have) mat_mul(m, b, m);
    else memcpy(m, b, sizeof(double[3][3]));
    *have = 1;
}

/* Keras' matrix, centred; 0 when no affine part is present. */
static int keras_matrix(const fc_aug_params *p, int h, int w, double m[3][3]) {
    int have = 0;
    if (p->theta != 0) {
        double t = p->theta * (M_PI / 180.0); /* np.deg2rad */
        const double r[3][3] = {{cos(t), -sin(t), 0}, {sin(t), cos(t), 0}, {0, 0, 1}};
        chain(m, &have, r);
    }
    if (p->tx != 0 || p->ty != 0) {
        const double s[3][3] = {{1, 0, p->tx}, {0, 1, p->ty}, {0, 0, 1}};
        chain(m, &have, s);
    }
    if (p->shear != 0) {
        double s = p->shear * (M_PI / 180.0);
        const double sh[3][3] = {{1, -sin(s), 0}, {0, cos(s), 0}, {0, 0, 1}};
        chain(m, &have, sh);
    }
    if (p->zx != 1 || p->zy != 1) {
        const double z[3][3] = {{p->zx, 0, 0}, {0, p->zy, 0}, {0, 0, 1}};
        chain(m, &have, z);
    }
    if (!have) return 0;
    /* transform_matrix_offset_center(m, h, w) */
    double ox = (double)h / 2 + 0.5, oy = (double)w / 2 + 0.5;
    const double off[3][3] = {{1, 0, ox}, {0, 1, oy}, {0, 0, 1}};
    const double reset[3][3] = {{1, 0, -ox}, {0, 1, -oy}, {0, 0, 1}};
    mat_mul(off, m, m);
    mat_mul(m, reset, m);
    return 1;
}

/* scipy 'nearest' + order-1 weights along one axis of length len. Coordinates beyond
 * +-2^30 (absurd zooms or shifts) are pinned there: both neighbours are the edge then. */
static void axis_sample(double c, int len, int *i0, int *i1, double *w0, double *w1) {
    if (c < -1073741824.0) c = -1073741824.0;
    else if (c > 1073741824.0) c = 1073741824.0;
    double f = floor(c);
    long s = (long)f;
    *i0 = s < 0 ? 0 : s > len - 1 ? len - 1 : (int)s;
    *i1 = s + 1 < 0 ? 0 : s + 1 > len - 1 ? len - 1 : (int)(s + 1);
    *w0 = 1.0 - (c - f);
    *w1 = 1.0 - *w0;
}

void fc_aug_apply(const fc_aug_params *p, const float *src, int h, int w, int c, float *dst) {
    if (h <= 0 || w <= 0 || c <= 0) return;
    size_t row = (size_t)w * c, px = (size_t)c * sizeof(float);
    double m[3][3];
    if (!keras_matrix(p, h, w, m)) {
        if (!p->flip_h && !p->flip_v) {
            memcpy(dst, src, (size_t)h * row * sizeof(float));
            return;
        }
        for (int i = 0; i < h; i++) {
            int oi = p->flip_v ? h - 1 - i : i;
            for (int j = 0; j < w; j++) {
                int oj = p->flip_h ? w - 1 - j : j;
                memcpy(dst + (size_t)oi * row + (size_t)oj * c, src + (size_t)i * row + (size_t)j * c, px);
            }
        }
        return;
    }
    const double a00 = m[0][0], a01 = m[0][1], a10 = m[1][0], a11 = m[1][1];
    const double b0 = m[0][2], b1 = m[1][2];
    for (int i = 0; i < h; i++) {
        int oi = p->flip_v ? h - 1 - i : i;
        for (int j = 0; j < w; j++) {
            int oj = p->flip_h ? w - 1 - j : j;
            float *o = dst + (size_t)oi * row + (size_t)oj * c;
            double ci = 0.0, cj = 0.0;
            ci += (double)i * a00;
            ci += (double)j * a01;
            ci += b0;
            cj += (double)i * a10;
            cj += (double)j * a11;
            cj += b1;
            if (isnan(ci) || isnan(cj)) { /* scipy: outside every border -> cval 0 */
                for (int k = 0; k < c; k++) o[k] = 0.0f;
                continue;
            }
            int r0, r1, c0, c1;
            double wr0, wr1, wc0, wc1;
            axis_sample(ci, h, &r0, &r1, &wr0, &wr1);
            axis_sample(cj, w, &c0, &c1, &wc0, &wc1);
            const float *p00 = src + (size_t)r0 * row + (size_t)c0 * c;
            const float *p01 = src + (size_t)r0 * row + (size_t)c1 * c;
            const float *p10 = src + (size_t)r1 * row + (size_t)c0 * c;
            const float *p11 = src + (size_t)r1 * row + (size_t)c1 * c;
            for (int k = 0; k < c; k++) {
                double t = 0.0;
                t += (double)p00[k] * wr0 * wc0;
                t += (double)p01[k] * wr0 * wc1;
                t += (double)p10[k] * wr1 * wc0;
                t += (double)p11[k] * wr1 * wc1;
                o[k] = (float)t;
            }
        }
    }
}
