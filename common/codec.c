/* codec.c - feature blobs: quantize (f32|f16|bf16|u8), lay out (plain|shuffle|sparse),
 * zstd-compress each section.
 *
 * Blob (little-endian):
 *   0  "FCB" + version(1)
 *   4  codec u8, layout u8, flags u8, nsec u8
 *   8  n u32 (values), 12 channels u32 (innermost dimension, n % channels == 0)
 *   16 nsec x u32: compressed size of each section; the sections follow, one zstd frame
 *      each, and end exactly at the end of the blob.
 * Sections: [u8 only] params = lo[channels], hi[channels] as f16 (or f32 if flags&1);
 *   plain: elements; shuffle: byte planes of the elements;
 *   sparse: bitmap of nonzero positions (ceil(n/8) bytes, LSB first), nonzero elements;
 *   position-major (bit k = element k), or channel-major if flags&2 (bit k = channel
 *   k / (n/channels) at position k % (n/channels): a channel's zeros and nonzeros
 *   together: the compressed bitmap of real MobileNetV2 maps is 14-16% smaller at 61-70%
 *   zeros; written whenever 1 < channels < n).
 * Every size is derived from the header and checked against the frame content size
 * before decompressing, so decode never trusts a length from the blob. */
#include "codec.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <emmintrin.h> /* SSE2, part of x86-64 */
#include <zstd.h>

#include "sha256.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "blob format assumes little-endian");

#define BLOB_VERSION 1
#define HDR_FIXED 16
#define MAX_SECT 3
#define FLAG_PARAMS_F32 1u
#define FLAG_CHANNEL_MAJOR 2u

enum { SCR_ELEMS, SCR_STREAM, SCR_BITMAP, SCR_PARAMS, SCR_N };

typedef struct {
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    uint8_t *buf[SCR_N];
    size_t cap[SCR_N];
} codec_tls;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;

static void tls_free(void *p) {
    codec_tls *t = p;
    if (!t) return;
    ZSTD_freeCCtx(t->cctx);
    ZSTD_freeDCtx(t->dctx);
    for (int i = 0; i < SCR_N; i++) free(t->buf[i]);
    free(t);
}

static void tls_init(void) {
    pthread_key_create(&tls_key, tls_free);
}

static codec_tls *tls_get(fc_status *st) {
    pthread_once(&tls_once, tls_init);
    codec_tls *t = pthread_getspecific(tls_key);
    if (t) return t;
    t = calloc(1, sizeof *t);
    if (t) {
        t->cctx = ZSTD_createCCtx();
        t->dctx = ZSTD_createDCtx();
    }
    if (!t || !t->cctx || !t->dctx || pthread_setspecific(tls_key, t) != 0) {
        tls_free(t);
        fc_fail(st, FC_ERR_NOMEM, "out of memory creating zstd contexts");
        return NULL;
    }
    return t;
}

void fc_codec_thread_cleanup(void) {
    pthread_once(&tls_once, tls_init);
    tls_free(pthread_getspecific(tls_key));
    pthread_setspecific(tls_key, NULL);
}

static uint8_t *scratch(codec_tls *t, int which, size_t n, fc_status *st) {
    if (n > t->cap[which]) {
        uint8_t *p = realloc(t->buf[which], n);
        if (!p) {
            fc_fail(st, FC_ERR_NOMEM, "out of memory allocating %zu bytes for a feature blob", n);
            return NULL;
        }
        t->buf[which] = p;
        t->cap[which] = n;
    }
    return t->buf[which] ? t->buf[which] : (uint8_t *)t; /* non-NULL even for n == 0 */
}

/* ---- names ---- */

static const char *const codec_names[] = {"f32", "f16", "bf16", "u8"};
static const char *const layout_names[] = {"plain", "shuffle", "sparse", "auto"};

int fc_codec_parse(const char *s, fc_codec_kind *out) {
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, codec_names[i]) == 0) {
            *out = (fc_codec_kind)i;
            return 0;
        }
    return -1;
}

const char *fc_codec_name(fc_codec_kind k) {
    return (unsigned)k < 4 ? codec_names[k] : "?";
}

int fc_layout_parse(const char *s, fc_layout *out) {
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, layout_names[i]) == 0) {
            *out = (fc_layout)i;
            return 0;
        }
    return -1;
}

const char *fc_layout_name(fc_layout l) {
    return (unsigned)l < 4 ? layout_names[l] : "?";
}

static size_t elem_width(fc_codec_kind k) {
    return k == FC_CODEC_F32 ? 4 : k == FC_CODEC_U8 ? 1 : 2;
}

void fc_checksum_floats(const float *x, size_t n, char out[65]) {
    fc_sha256_hex(x, n * sizeof(float), out);
}

/* ---- u8 per-channel affine ---- */

static uint16_t f16_step_down(uint16_t h) {
    if ((h & 0x7fff) == 0) return 0x8001;
    return (h & 0x8000) ? (uint16_t)(h + 1) : (uint16_t)(h - 1);
}

static uint16_t f16_step_up(uint16_t h) {
    if ((h & 0x7fff) == 0) return 0x0001;
    return (h & 0x8000) ? (uint16_t)(h - 1) : (uint16_t)(h + 1);
}

/* The quantization grid of one channel from its stored range [lo, hi]: value = q*scale +
 * min, q in 0..255. When the range spans zero the grid goes through 0 exactly (254 steps
 * so the shift by half a step still covers hi), keeping ReLU zeros exact. Encoder and
 * decoder both call this on the stored lo/hi, in double, so they agree bit for bit. */
static void u8_grid(double lo, double hi, double *scale, double *min) {
    double range = hi - lo;
    if (!(range > 0)) {
        *scale = 0;
        *min = lo;
    } else if (lo < 0 && hi > 0) {
        *scale = range / 254;
        double k = nearbyint(-lo / *scale);
        if (k > 254) k = 254;
        *min = -(k * *scale);
    } else {
        *scale = range / 255;
        *min = lo;
    }
}

/* Whether every value of a channel's grid (q*scale + min, q in 0..255) is a finite float:
 * a range whose ends lie near FLT_MAX can widen past it (the zero-anchored grid takes
 * 255/254 of the range), and converting such a double to float is undefined in C. */
static int u8_grid_fits(double scale, double min) {
    double top = 255 * scale + min;
    return fabs(min) <= FLT_MAX && fabs(top) <= FLT_MAX;
}

/* Widen an f16 range end away from zero to 4 significant bits: the step grows by at
 * most 1/8, and the parameter section then compresses to about a byte per channel. */
static uint16_t f16_coarse(uint16_t h) {
    uint16_t sign = h & 0x8000, mag = h & 0x7fff;
    if (mag >= 0x7c00 || !(mag & 0x7f)) return h;
    return (uint16_t)(sign | ((mag | 0x7f) + 1)); /* may carry into inf: f32 fallback */
}

/* Per-channel ranges, written to the params section as f16 rounded outward (or f32 if out
 * of f16 range). Ranges are anchored at zero ([0, hi] for nonnegative channels, as ReLU
 * maps are), so zeros stay exact and the lo half of the section is all zeros; the anchor
 * also makes the range the same whether zeros count or not, so the sparse layout (which
 * stores only the nonzeros) needs no range of its own. The scan has no data-dependent
 * branch: on ReLU maps a zero test mispredicted for a third of the values. */
static int u8_params(const float *x, size_t n, int C, float *lo, float *hi, uint8_t *params,
                     unsigned *flags, fc_status *st) {
    /* x is finite: fc_codec_encode's check_finite refused NaN and Inf for every codec */
    for (int c = 0; c < C; c++) lo[c] = 0, hi[c] = 0;
    for (size_t p = 0; p < n; p += (size_t)C) {
        const float *xp = x + p;
        for (int c = 0; c < C; c++) {
            float v = xp[c];
            lo[c] = v < lo[c] ? v : lo[c];
            hi[c] = v > hi[c] ? v : hi[c];
        }
    }
    uint16_t *h = (uint16_t *)params;
    int f16_ok = 1;
    for (int c = 0; c < C; c++) {
        uint16_t a = fc_f32_to_f16(lo[c]), b = fc_f32_to_f16(hi[c]);
        if (fc_f16_to_f32(a) > lo[c]) a = f16_step_down(a);
        if (fc_f16_to_f32(b) < hi[c]) b = f16_step_up(b);
        a = f16_coarse(a);
        b = f16_coarse(b);
        if (!isfinite(fc_f16_to_f32(a)) || !isfinite(fc_f16_to_f32(b))) f16_ok = 0;
        h[c] = a;
        h[C + c] = b;
    }
    *flags = f16_ok ? 0 : FLAG_PARAMS_F32;
    for (int c = 0; c < C; c++) {
        if (f16_ok) {
            lo[c] = fc_f16_to_f32(h[c]);
            hi[c] = fc_f16_to_f32(h[C + c]);
        }
    }
    for (int c = 0; c < C; c++) {
        double scale, mn;
        u8_grid(lo[c], hi[c], &scale, &mn);
        if (!u8_grid_fits(scale, mn))
            return fc_fail(st, FC_ERR_FORMAT,
                           "u8 codec cannot encode channel %d: its range [%g, %g] reaches the float "
                           "limit (a store made with --codec f32 can hold it)", c, (double)lo[c], (double)hi[c]);
    }
    if (!f16_ok) {
        memcpy(params, lo, (size_t)C * 4);
        memcpy(params + (size_t)C * 4, hi, (size_t)C * 4);
    }
    return FC_OK;
}

static size_t u8_params_size(int C, unsigned flags) {
    return (size_t)C * 2 * ((flags & FLAG_PARAMS_F32) ? 4 : 2);
}

/* q = round((x - min) / scale) clamped to 0..255, walking x once (channels innermost);
 * grid holds 2*C doubles of scratch. */
static void u8_quantize(const float *x, size_t n, int C, const float *lo, const float *hi,
                        uint8_t *q, double *grid) {
    double *inv = grid, *mn = grid + C;
    for (int c = 0; c < C; c++) {
        double scale;
        u8_grid(lo[c], hi[c], &scale, &mn[c]);
        inv[c] = scale > 0 ? 1 / scale : 0;
    }
    const __m128d zero = _mm_setzero_pd(), top = _mm_set_sd(255);
    for (size_t p = 0; p < n; p += (size_t)C)
        for (int c = 0; c < C; c++) { /* clamp to [0, 255] without a branch, then truncate */
            __m128d v = _mm_set_sd(((double)x[p + c] - mn[c]) * inv[c] + 0.5);
            q[p + c] = (uint8_t)_mm_cvttsd_si32(_mm_min_sd(_mm_max_sd(v, zero), top));
        }
}

/* ---- layouts ---- */

/* (n elements of w bytes) -> w planes of n bytes */
static void shuffle_bytes(const uint8_t *src, uint8_t *dst, size_t n, size_t w) {
    for (size_t b = 0; b < w; b++)
        for (size_t i = 0; i < n; i++) dst[b * n + i] = src[i * w + b];
}

static void unshuffle_bytes(const uint8_t *src, uint8_t *dst, size_t n, size_t w) {
    for (size_t b = 0; b < w; b++)
        for (size_t i = 0; i < n; i++) dst[i * w + b] = src[b * n + i];
}

/* m <= 56 bits of a bitmap of bmlen bytes from bit `bit` on, in the low bits. */
static inline uint64_t cm_bits(const uint8_t *bm, size_t bmlen, size_t bit, size_t m) {
    uint64_t word = 0;
    size_t at = bit / 8;
    if (at + 8 <= bmlen) memcpy(&word, bm + at, 8);
    else memcpy(&word, bm + at, bmlen - at);
    return (word >> (bit & 7)) & ((UINT64_C(1) << m) - 1);
}

/* Sparse packing and scattering, one loop per element width (a generic per-byte loop
 * was the hot spot). The bitmap is built and walked 64 bits at a time; the _cm versions
 * order the bits channel by channel (see the blob layout above), walking each channel's
 * bits up to 56 at a time. */
#define DEF_SPARSE(T, SUFFIX)                                                                   \
    static size_t pack_##SUFFIX(const T *e, const float *x, size_t n, uint8_t *bitmap,        \
                                T *vals) {                                                      \
        size_t nnz = 0;                                                                         \
        for (size_t base = 0; base < n; base += 64) {                                           \
            size_t m = n - base < 64 ? n - base : 64;                                           \
            uint64_t word = 0;                                                                  \
            for (size_t j = 0; j < m; j++) {                                                    \
                int nz = x ? x[base + j] != 0 : e[base + j] != 0;                               \
                word |= (uint64_t)nz << j;                                                      \
                vals[nnz] = e[base + j];                                                        \
                nnz += (size_t)nz;                                                              \
            }                                                                                   \
            memcpy(bitmap + base / 8, &word, (m + 7) / 8);                                      \
        }                                                                                       \
        return nnz;                                                                             \
    }                                                                                           \
    static size_t pack_cm_##SUFFIX(const T *e, const float *x, size_t n, size_t C,            \
                                   uint8_t *bitmap, T *vals) {                                  \
        size_t nnz = 0, k = 0;                                                                  \
        uint64_t word = 0;                                                                      \
        for (size_t c = 0; c < C; c++)                                                          \
            for (size_t i = c; i < n; i += C) {                                                 \
                int nz = x ? x[i] != 0 : e[i] != 0;                                             \
                word |= (uint64_t)nz << (k & 63);                                               \
                vals[nnz] = e[i];                                                               \
                nnz += (size_t)nz;                                                              \
                if ((++k & 63) == 0) memcpy(bitmap + k / 8 - 8, &word, 8), word = 0;            \
            }                                                                                   \
        if (k & 63) memcpy(bitmap + (k & ~(size_t)63) / 8, &word, ((k & 63) + 7) / 8);         \
        return nnz;                                                                             \
    }                                                                                           \
    static void scatter_##SUFFIX(const uint8_t *bitmap, const T *vals, size_t n, T *e) {       \
        memset(e, 0, n * sizeof(T));                                                            \
        size_t k = 0;                                                                           \
        for (size_t base = 0; base < n; base += 64) {                                           \
            size_t m = n - base < 64 ? n - base : 64;                                           \
            uint64_t word = 0;                                                                  \
            memcpy(&word, bitmap + base / 8, (m + 7) / 8);                                      \
            for (; word; word &= word - 1) e[base + (size_t)__builtin_ctzll(word)] = vals[k++]; \
        }                                                                                       \
    }                                                                                           \
    static void scatter_cm_##SUFFIX(const uint8_t *bitmap, size_t bmlen, const T *vals, size_t n, \
                                    size_t C, T *e) {                                           \
        memset(e, 0, n * sizeof(T));                                                            \
        const size_t hw = n / C;                                                                \
        size_t k = 0, bit = 0;                                                                  \
        for (size_t c = 0; c < C; c++)                                                          \
            for (size_t p0 = 0; p0 < hw; p0 += 56) {                                            \
                size_t m = hw - p0 < 56 ? hw - p0 : 56;                                         \
                for (uint64_t word = cm_bits(bitmap, bmlen, bit, m); word; word &= word - 1)    \
                    e[(p0 + (size_t)__builtin_ctzll(word)) * C + c] = vals[k++];                \
                bit += m;                                                                       \
            }                                                                                   \
    }
DEF_SPARSE(uint8_t, w1)
DEF_SPARSE(uint16_t, w2)
DEF_SPARSE(uint32_t, w4)

/* bitmap of nonzero positions (by element bits, or by value for u8), position- or
 * channel-major, + packed nonzero elements; returns the count. vals needs room for n
 * elements. */
static size_t sparse_pack(const uint8_t *elems, const float *x, int by_value, size_t n, size_t C,
                          int cm, size_t w, uint8_t *bitmap, uint8_t *vals) {
    const float *bx = by_value ? x : NULL;
    if (w == 4)
        return cm ? pack_cm_w4((const uint32_t *)(const void *)elems, bx, n, C, bitmap, (uint32_t *)(void *)vals)
                  : pack_w4((const uint32_t *)(const void *)elems, bx, n, bitmap, (uint32_t *)(void *)vals);
    if (w == 2)
        return cm ? pack_cm_w2((const uint16_t *)(const void *)elems, bx, n, C, bitmap, (uint16_t *)(void *)vals)
                  : pack_w2((const uint16_t *)(const void *)elems, bx, n, bitmap, (uint16_t *)(void *)vals);
    return cm ? pack_cm_w1(elems, bx, n, C, bitmap, vals) : pack_w1(elems, bx, n, bitmap, vals);
}

static void sparse_scatter(const uint8_t *bitmap, const uint8_t *vals, size_t n, size_t C, int cm,
                           size_t w, uint8_t *el) {
    size_t bl = (n + 7) / 8;
    if (w == 4) {
        if (cm) scatter_cm_w4(bitmap, bl, (const uint32_t *)(const void *)vals, n, C, (uint32_t *)(void *)el);
        else scatter_w4(bitmap, (const uint32_t *)(const void *)vals, n, (uint32_t *)(void *)el);
    } else if (w == 2) {
        if (cm) scatter_cm_w2(bitmap, bl, (const uint16_t *)(const void *)vals, n, C, (uint16_t *)(void *)el);
        else scatter_w2(bitmap, (const uint16_t *)(const void *)vals, n, (uint16_t *)(void *)el);
    } else if (cm) {
        scatter_cm_w1(bitmap, bl, vals, n, C, el);
    } else {
        scatter_w1(bitmap, vals, n, el);
    }
}

static size_t popcount_bytes(const uint8_t *b, size_t len) {
    size_t c = 0, i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, b + i, 8);
        c += (size_t)__builtin_popcountll(v);
    }
    for (; i < len; i++) c += (size_t)__builtin_popcount(b[i]);
    return c;
}

/* ---- encode ---- */

typedef struct {
    const uint8_t *src[MAX_SECT];
    size_t len[MAX_SECT];
    int n;
} sections;

static int compress_sections(codec_tls *t, const fc_codec_params *p, const sections *s,
                             uint8_t *hdr_template, uint8_t **blob, size_t *len,
                             fc_status *st) {
    size_t cap = HDR_FIXED + 4 * (size_t)s->n;
    for (int i = 0; i < s->n; i++) cap += ZSTD_compressBound(s->len[i]);
    uint8_t *out = fc_malloc(cap, st);
    if (!out) return st ? st->code : FC_ERR_NOMEM;
    memcpy(out, hdr_template, HDR_FIXED);
    size_t pos = HDR_FIXED + 4 * (size_t)s->n;
    ZSTD_CCtx_reset(t->cctx, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(t->cctx, ZSTD_c_compressionLevel, p->level);
    for (int i = 0; i < s->n; i++) {
        size_t r = ZSTD_compress2(t->cctx, out + pos, cap - pos, s->src[i], s->len[i]);
        if (ZSTD_isError(r)) {
            free(out);
            return fc_fail(st, FC_ERR_INTERNAL, "zstd: %s", ZSTD_getErrorName(r));
        }
        uint32_t c32 = (uint32_t)r;
        memcpy(out + HDR_FIXED + 4 * (size_t)i, &c32, 4);
        pos += r;
    }
    uint8_t *shrunk = realloc(out, pos);
    *blob = shrunk ? shrunk : out;
    *len = pos;
    return FC_OK;
}

static int check_params(const fc_codec_params *p, size_t n, int channels, fc_status *st) {
    if ((unsigned)p->kind > FC_CODEC_U8)
        return fc_fail(st, FC_ERR_ARG, "unknown codec %d", (int)p->kind);
    if ((unsigned)p->layout > FC_LAYOUT_AUTO)
        return fc_fail(st, FC_ERR_ARG, "unknown layout %d", (int)p->layout);
    if (p->level < ZSTD_minCLevel() || p->level > ZSTD_maxCLevel())
        return fc_fail(st, FC_ERR_ARG, "zstd level %d out of range %d..%d", p->level,
                       ZSTD_minCLevel(), ZSTD_maxCLevel());
    if (n == 0 || n > FC_MAX_TENSOR_ELEMS || n > UINT32_MAX)
        return fc_fail(st, FC_ERR_ARG, "cannot encode %zu values", n);
    if (channels < 1 || n % (size_t)channels != 0)
        return fc_fail(st, FC_ERR_ARG, "%zu values do not split into %d channels", n, channels);
    return FC_OK;
}

/* Features are finite: a NaN or an Inf in one image trains a head of NaNs without a word
 * (review 12 D F2: an imported row of NaN made every kernel value NaN, exit 0). */
static int check_finite(const float *x, size_t n, fc_status *st) {
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) && !bad++) first = i;
    if (bad)
        return fc_fail(st, FC_ERR_FORMAT, "%zu non-finite feature value(s) (NaN or Inf; the first, %g, at %zu): "
                       "not stored", bad, (double)x[first], first);
    return FC_OK;
}

/* f16 / bf16 halves that came out infinite from finite inputs: beyond the codec's range. */
static int check_half_range(const fc_codec_params *p, const float *x, const uint16_t *h, size_t n, fc_status *st) {
    size_t big = 0, first = 0;
    const uint16_t expmask = p->kind == FC_CODEC_F16 ? 0x7C00 : 0x7F80;
    for (size_t i = 0; i < n; i++)
        if ((h[i] & expmask) == expmask && !big++) first = i;
    if (big)
        return fc_fail(st, FC_ERR_FORMAT, "%zu feature value(s) beyond the %s codec's range (the first, %g, at "
                       "%zu, would be stored as Inf): not stored; a store with --codec f32 keeps them",
                       big, p->kind == FC_CODEC_F16 ? "f16" : "bf16", (double)x[first], first);
    return FC_OK;
}

int fc_codec_encode(const fc_codec_params *p, const float *x, size_t n, int channels,
                    uint8_t **blob, size_t *len, fc_status *st) {
    int rc = check_params(p, n, channels, st);
    if (!rc) rc = check_finite(x, n, st);
    if (rc) return rc;
    fc_codec_params q = *p;
    if (q.layout == FC_LAYOUT_AUTO) q.layout = fc_codec_choose_layout(p, x, 1, n, channels);
    codec_tls *t = tls_get(st);
    if (!t) return FC_ERR_NOMEM;
    size_t w = elem_width(q.kind), nb = n * w, C = (size_t)channels;
    unsigned flags = 0;
    sections s = {.n = 0};
    uint8_t *el = scratch(t, SCR_ELEMS, nb, st);
    if (!el) return FC_ERR_NOMEM;
    switch (q.kind) {
    case FC_CODEC_F32: memcpy(el, x, nb); break;
    case FC_CODEC_F16:
        fc_f32_to_f16_array(x, (uint16_t *)el, n);
        if ((rc = check_half_range(&q, x, (const uint16_t *)el, n, st))) return rc;
        break;
    case FC_CODEC_BF16:
        for (size_t i = 0; i < n; i++) ((uint16_t *)el)[i] = fc_f32_to_bf16(x[i]);
        if ((rc = check_half_range(&q, x, (const uint16_t *)el, n, st))) return rc;
        break;
    case FC_CODEC_U8: {
        uint8_t *pb = scratch(t, SCR_PARAMS, C * 32, st); /* params, lo/hi, grid */
        if (!pb) return FC_ERR_NOMEM;
        float *lo = (float *)(void *)(pb + C * 8), *hi = lo + C;
        if ((rc = u8_params(x, n, channels, lo, hi, pb, &flags, st))) return rc;
        u8_quantize(x, n, channels, lo, hi, el, (double *)(void *)(pb + C * 16));
        s.src[s.n] = pb;
        s.len[s.n++] = u8_params_size(channels, flags);
        break;
    }
    default: break;
    }
    if (q.layout == FC_LAYOUT_PLAIN) {
        s.src[s.n] = el;
        s.len[s.n++] = nb;
    } else if (q.layout == FC_LAYOUT_SHUFFLE) {
        uint8_t *sh = scratch(t, SCR_STREAM, nb, st);
        if (!sh) return FC_ERR_NOMEM;
        shuffle_bytes(el, sh, n, w);
        s.src[s.n] = sh;
        s.len[s.n++] = nb;
    } else {
        uint8_t *bm = scratch(t, SCR_BITMAP, (n + 7) / 8, st);
        uint8_t *vals = bm ? scratch(t, SCR_STREAM, nb, st) : NULL;
        if (!vals) return FC_ERR_NOMEM;
        int cm = C > 1 && C < n;
        if (cm) flags |= FLAG_CHANNEL_MAJOR;
        size_t nnz = sparse_pack(el, x, q.kind == FC_CODEC_U8, n, C, cm, w, bm, vals);
        s.src[s.n] = bm;
        s.len[s.n++] = (n + 7) / 8;
        s.src[s.n] = vals;
        s.len[s.n++] = nnz * w;
    }
    uint8_t hdr[HDR_FIXED] = {'F', 'C', 'B', BLOB_VERSION, (uint8_t)q.kind, (uint8_t)q.layout,
                              (uint8_t)flags, (uint8_t)s.n};
    uint32_t n32 = (uint32_t)n, c32 = (uint32_t)channels;
    memcpy(hdr + 8, &n32, 4);
    memcpy(hdr + 12, &c32, 4);
    return compress_sections(t, &q, &s, hdr, blob, len, st);
}

fc_layout fc_codec_choose_layout(const fc_codec_params *p, const float *x, size_t count,
                                 size_t n, int channels) {
    static const fc_layout cand[] = {FC_LAYOUT_PLAIN, FC_LAYOUT_SHUFFLE, FC_LAYOUT_SPARSE};
    fc_layout best = FC_LAYOUT_PLAIN;
    size_t best_total = SIZE_MAX;
    for (int k = 0; k < 3; k++) {
        if (cand[k] == FC_LAYOUT_SHUFFLE && elem_width(p->kind) == 1) continue; /* == plain */
        fc_codec_params q = *p;
        q.layout = cand[k];
        size_t total = 0;
        for (size_t i = 0; i < count && total < best_total; i++) {
            uint8_t *b = NULL;
            size_t len = 0;
            if (fc_codec_encode(&q, x + i * n, n, channels, &b, &len, NULL) != FC_OK) {
                total = SIZE_MAX;
                break;
            }
            free(b);
            total += len;
        }
        if (total < best_total) best_total = total, best = cand[k];
    }
    return best;
}

/* ---- decode ---- */

typedef struct {
    fc_blob_info info;
    unsigned flags;
    int nsec;
    const uint8_t *sec[MAX_SECT];
    size_t sec_len[MAX_SECT];
} parsed_blob;

static int parse_header(const uint8_t *b, size_t len, parsed_blob *pb, fc_status *st) {
    if (!b || len < HDR_FIXED || memcmp(b, "FCB", 3) != 0)
        return fc_fail(st, FC_ERR_FORMAT, "not a featcache feature blob (%zu bytes, bad magic)",
                       len);
    if (b[3] != BLOB_VERSION)
        return fc_fail(st, FC_ERR_FORMAT, "feature blob version %u not supported", b[3]);
    unsigned kind = b[4], layout = b[5], flags = b[6], nsec = b[7];
    uint32_t n, C;
    memcpy(&n, b + 8, 4);
    memcpy(&C, b + 12, 4);
    if (kind > FC_CODEC_U8 || layout > FC_LAYOUT_SPARSE)
        return fc_fail(st, FC_ERR_FORMAT, "feature blob has unknown codec %u / layout %u", kind,
                       layout);
    if ((flags & ~(FLAG_PARAMS_F32 | FLAG_CHANNEL_MAJOR)) || ((flags & FLAG_PARAMS_F32) && kind != FC_CODEC_U8) ||
        ((flags & FLAG_CHANNEL_MAJOR) && layout != FC_LAYOUT_SPARSE))
        return fc_fail(st, FC_ERR_FORMAT, "feature blob has unknown flags 0x%x", flags);
    unsigned want = (kind == FC_CODEC_U8) + (layout == FC_LAYOUT_SPARSE ? 2u : 1u);
    if (nsec != want)
        return fc_fail(st, FC_ERR_FORMAT, "feature blob has %u sections, expected %u", nsec, want);
    if (n == 0 || n > FC_MAX_TENSOR_ELEMS || C == 0 || C > n || n % C != 0)
        return fc_fail(st, FC_ERR_FORMAT, "feature blob declares %u values in %u channels", n, C);
    size_t pos = HDR_FIXED + 4 * (size_t)nsec;
    if (len < pos) return fc_fail(st, FC_ERR_FORMAT, "feature blob truncated in its header");
    for (unsigned i = 0; i < nsec; i++) {
        uint32_t sl;
        memcpy(&sl, b + HDR_FIXED + 4 * i, 4);
        if (sl > len - pos)
            return fc_fail(st, FC_ERR_FORMAT, "feature blob truncated (section %u needs %u bytes, "
                           "%zu left)", i, sl, len - pos);
        pb->sec[i] = b + pos;
        pb->sec_len[i] = sl;
        pos += sl;
    }
    if (pos != len)
        return fc_fail(st, FC_ERR_FORMAT, "feature blob has %zu trailing bytes", len - pos);
    pb->info.kind = (fc_codec_kind)kind;
    pb->info.layout = (fc_layout)layout;
    pb->info.n = n;
    pb->info.channels = (int)C;
    pb->flags = flags;
    pb->nsec = (int)nsec;
    return FC_OK;
}

int fc_codec_peek(const uint8_t *blob, size_t len, fc_blob_info *info, fc_status *st) {
    parsed_blob pb = {0};
    int rc = parse_header(blob, len, &pb, st);
    if (!rc && info) *info = pb.info;
    return rc;
}

/* Decompress one section that must hold exactly `want` bytes. */
static int unzstd(codec_tls *t, const uint8_t *src, size_t len, uint8_t *dst, size_t want,
                  const char *what, fc_status *st) {
    unsigned long long fcs = ZSTD_getFrameContentSize(src, len);
    if (fcs == ZSTD_CONTENTSIZE_ERROR || fcs == ZSTD_CONTENTSIZE_UNKNOWN || fcs != want)
        return fc_fail(st, FC_ERR_FORMAT, "feature blob: %s section is corrupt (%s)", what,
                       fcs == ZSTD_CONTENTSIZE_ERROR ? "not a zstd frame" : "wrong size");
    size_t r = ZSTD_decompressDCtx(t->dctx, dst, want, src, len);
    if (ZSTD_isError(r) || r != want)
        return fc_fail(st, FC_ERR_FORMAT, "feature blob: %s section is corrupt (%s)", what,
                       ZSTD_isError(r) ? ZSTD_getErrorName(r) : "short");
    return FC_OK;
}

static int load_u8_params(codec_tls *t, const parsed_blob *pb, double *scale, double *min,
                          fc_status *st) {
    size_t C = (size_t)pb->info.channels, psz = u8_params_size((int)C, pb->flags);
    uint8_t *raw = scratch(t, SCR_PARAMS, psz, st);
    if (!raw) return FC_ERR_NOMEM;
    int rc = unzstd(t, pb->sec[0], pb->sec_len[0], raw, psz, "u8 parameter", st);
    if (rc) return rc;
    for (size_t c = 0; c < C; c++) {
        float lo, hi;
        if (pb->flags & FLAG_PARAMS_F32) {
            memcpy(&lo, raw + 4 * c, 4);
            memcpy(&hi, raw + 4 * (C + c), 4);
        } else {
            uint16_t a, b;
            memcpy(&a, raw + 2 * c, 2);
            memcpy(&b, raw + 2 * (C + c), 2);
            lo = fc_f16_to_f32(a);
            hi = fc_f16_to_f32(b);
        }
        if (!isfinite(lo) || !isfinite(hi) || lo > hi)
            return fc_fail(st, FC_ERR_FORMAT, "feature blob: bad u8 range [%g, %g] in channel %zu",
                           (double)lo, (double)hi, c);
        u8_grid(lo, hi, &scale[c], &min[c]);
        if (!u8_grid_fits(scale[c], min[c]))
            return fc_fail(st, FC_ERR_FORMAT, "feature blob: u8 range [%g, %g] in channel %zu reaches the float limit",
                           (double)lo, (double)hi, c);
    }
    return FC_OK;
}

/* Decode the element sections into el (n*w bytes); for sparse also returns the bitmap, and
 * with `packed` the nonzero elements in bitmap order instead of scattering them into el. */
static int load_elems(codec_tls *t, const parsed_blob *pb, int first, uint8_t *el,
                      uint8_t **bitmap, uint8_t **packed, fc_status *st) {
    size_t n = pb->info.n, w = elem_width(pb->info.kind), nb = n * w;
    int rc;
    if (pb->info.layout == FC_LAYOUT_PLAIN)
        return unzstd(t, pb->sec[first], pb->sec_len[first], el, nb, "value", st);
    if (pb->info.layout == FC_LAYOUT_SHUFFLE) {
        uint8_t *sh = scratch(t, SCR_STREAM, nb, st);
        if (!sh) return FC_ERR_NOMEM;
        if ((rc = unzstd(t, pb->sec[first], pb->sec_len[first], sh, nb, "value", st))) return rc;
        unshuffle_bytes(sh, el, n, w);
        return FC_OK;
    }
    size_t bmlen = (n + 7) / 8, nnz = 0;
    uint8_t *bm = scratch(t, SCR_BITMAP, bmlen, st), *vals = bm ? scratch(t, SCR_STREAM, nb, st) : NULL;
    if (!vals) return FC_ERR_NOMEM;
    if ((rc = unzstd(t, pb->sec[first], pb->sec_len[first], bm, bmlen, "bitmap", st))) return rc;
    if ((n & 7) && (bm[bmlen - 1] >> (n & 7)))
        return fc_fail(st, FC_ERR_FORMAT, "feature blob: bitmap has bits past the end");
    nnz = popcount_bytes(bm, bmlen);
    if ((rc = unzstd(t, pb->sec[first + 1], pb->sec_len[first + 1], vals, nnz * w, "nonzero value",
                     st)))
        return rc;
    *bitmap = bm;
    if (packed) *packed = vals; /* the caller walks the bitmap itself */
    else sparse_scatter(bm, vals, n, (size_t)pb->info.channels, (pb->flags & FLAG_CHANNEL_MAJOR) != 0, w, el);
    return FC_OK;
}

int fc_codec_decode(const uint8_t *blob, size_t len, float *out, size_t n, fc_status *st) {
    parsed_blob pb = {0};
    int rc = parse_header(blob, len, &pb, st);
    if (rc) return rc;
    if (pb.info.n != n)
        return fc_fail(st, FC_ERR_FORMAT, "feature blob holds %zu values, expected %zu",
                       pb.info.n, n);
    codec_tls *t = tls_get(st);
    if (!t) return FC_ERR_NOMEM;
    size_t w = elem_width(pb.info.kind), C = (size_t)pb.info.channels;
    uint8_t *el = (pb.info.kind == FC_CODEC_F32) ? (uint8_t *)out : scratch(t, SCR_ELEMS, n * w, st);
    uint8_t *bm = NULL, *q = NULL; /* q: u8 sparse, the packed nonzero values in bitmap order */
    if (!el) return FC_ERR_NOMEM;
    if (pb.info.kind != FC_CODEC_U8) {
        if ((rc = load_elems(t, &pb, 0, el, &bm, NULL, st))) return rc;
        if (pb.info.kind == FC_CODEC_F16) fc_f16_to_f32_array((const uint16_t *)el, out, n);
        if (pb.info.kind == FC_CODEC_BF16)
            for (size_t i = 0; i < n; i++) out[i] = fc_bf16_to_f32(((const uint16_t *)el)[i]);
        return FC_OK;
    }
    double *grid = calloc(C * 2, sizeof(double));
    if (!grid) return fc_fail(st, FC_ERR_NOMEM, "out of memory");
    if (!(rc = load_u8_params(t, &pb, grid, grid + C, st)) &&
        !(rc = load_elems(t, &pb, 1, el, &bm, &q, st))) {
        if (!bm) {
            for (size_t i = 0, c = 0; i < n; i++, c = c + 1 == C ? 0 : c + 1)
                out[i] = (float)(el[i] * grid[c] + grid[C + c]);
        } else { /* sparse: one walk of the bitmap dequantizes each packed value into place;
                  * positions not in the bitmap are exact zeros */
            memset(out, 0, n * sizeof *out);
            size_t k = 0;
            if (pb.flags & FLAG_CHANNEL_MAJOR) {
                const size_t hw = n / C, bl = (n + 7) / 8;
                for (size_t c = 0, bit = 0; c < C; c++)
                    for (size_t p0 = 0; p0 < hw; p0 += 56) {
                        size_t m = hw - p0 < 56 ? hw - p0 : 56;
                        for (uint64_t word = cm_bits(bm, bl, bit, m); word; word &= word - 1)
                            out[(p0 + (size_t)__builtin_ctzll(word)) * C + c] = (float)(q[k++] * grid[c] + grid[C + c]);
                        bit += m;
                    }
            } else {
                for (size_t base = 0; base < n; base += 64) {
                    uint64_t word = 0;
                    memcpy(&word, bm + base / 8, ((n - base < 64 ? n - base : 64) + 7) / 8);
                    for (; word; word &= word - 1) {
                        size_t i = base + (size_t)__builtin_ctzll(word), c = i % C;
                        out[i] = (float)(q[k++] * grid[c] + grid[C + c]);
                    }
                }
            }
        }
    }
    free(grid);
    return rc;
}
