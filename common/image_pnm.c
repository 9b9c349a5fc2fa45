/* image_pnm.c - Netpbm P1-P6 (PBM, PGM, PPM; binary and plain) -> RGB, our own parser,
 * matching PIL 9.4's PpmImagePlugin + open().convert('RGB') (checked against PIL by
 * tests/py/make_images.py).
 *
 * Header: magic, width, height, and (not for P1/P4) maxval, separated by whitespace; a '#'
 * anywhere in the header starts a comment to the end of the line, and PIL joins the digits
 * around it ("1#c\n2" is 12). Exactly one whitespace byte follows the last field. A field
 * is at most 10 characters; 0 < maxval < 65536. Fields other than decimal digits (PIL's
 * int() also takes "+7" or "1_0") are refused.
 * Samples, per PIL:
 *   P4            1 bit per pixel, rows padded to a byte, 1 = black
 *   P5/P6 255     bytes as they are
 *   P5 65535      16-bit big endian, PIL mode "I"; convert('RGB') clips at 255 (so only
 *                 values 0..255 are not white)
 *   P5/P6 other   1 byte per sample when maxval < 256, else 2 (big endian); PIL scales
 *                 each to round(v / maxval * M) (Python round: half to even) with M = 255,
 *                 or M = 65535 for P5 with maxval > 255 (mode "I", then clipped at 255 as
 *                 above); values over maxval give M
 *   P1            '0' = white, '1' = black, whitespace optional, nothing else allowed
 *   P2/P3         decimal samples scaled as above; a value over maxval is an error
 * The plain (P1-P3) decoder is PIL's: it reads the data in 1 MiB blocks, strips comments
 * per block and carries a token split across blocks into the next one - and never drops
 * that carried token, so it is prepended again to every later block, and at the end of
 * the file it repeats until the image is full. Emulated block for block.
 * Short binary data is an error (PIL: "image file is truncated" / "not enough image data"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image_codec.h"

#define PNM_BLOCK ((size_t)1 << 20) /* PIL's ImageFile.SAFEBLOCK */
#define PNM_TOKEN_MAX 10

typedef struct {
    const uint8_t *buf;
    size_t len, pos;
    const char *what;
    int kind;          /* 1..6 */
    uint64_t w, h;
    uint32_t maxval;   /* 1 for P1/P4 */
    int bands;         /* 1 or 3 */
    uint32_t out_max;  /* 255, or 65535 for PIL's mode "I" */
} pnm_info;

int fc_is_pnm(const uint8_t *buf, size_t len) {
    return len >= 2 && buf[0] == 'P' && buf[1] >= '1' && buf[1] <= '6';
}

static int pnm_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

/* One header field, as PIL's _read_token. */
static int pnm_field(pnm_info *p, const char *name, uint64_t *out, fc_status *st) {
    char tok[PNM_TOKEN_MAX + 2];
    size_t n = 0;
    while (n <= PNM_TOKEN_MAX && p->pos < p->len) {
        int c = p->buf[p->pos++];
        if (pnm_space(c)) {
            if (n) break;
        } else if (c == '#') {
            while (p->pos < p->len) {
                c = p->buf[p->pos++];
                if (c == '\r' || c == '\n') break;
            }
        } else {
            tok[n++] = (char)c;
        }
    }
    if (n == 0)
        return fc_fail(st, FC_ERR_FORMAT, "%s: truncated PNM header (no %s)", p->what, name);
    if (n > PNM_TOKEN_MAX)
        return fc_fail(st, FC_ERR_FORMAT, "%s: bad PNM header: %s is over %d characters",
                       p->what, name, PNM_TOKEN_MAX);
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] < '0' || tok[i] > '9') {
            tok[n] = '\0';
            return fc_fail(st, FC_ERR_FORMAT, "%s: bad PNM header: %s '%s' is not a decimal number",
                           p->what, name, fc_printable(tok, (char[64]){0}, 64));
        }
        v = v * 10 + (uint64_t)(tok[i] - '0');
    }
    *out = v;
    return FC_OK;
}

static int pnm_header(pnm_info *p, fc_status *st) {
    int rc;
    uint64_t maxval = 1;
    /* PIL reads the magic up to 6 bytes or the first whitespace */
    size_t n = 0;
    while (n < 6 && p->pos < p->len && !pnm_space(p->buf[p->pos])) n++, p->pos++;
    if (p->pos < p->len && n < 6) p->pos++; /* the whitespace that ended it */
    if (n != 2)
        return fc_fail(st, FC_ERR_FORMAT, "%s: bad PNM header: magic is not P1..P6 followed by "
                       "whitespace", p->what);
    p->kind = p->buf[1] - '0';
    if ((rc = pnm_field(p, "width", &p->w, st)) || (rc = pnm_field(p, "height", &p->h, st)))
        return rc;
    if (p->kind != 1 && p->kind != 4) {
        if ((rc = pnm_field(p, "maxval", &maxval, st))) return rc;
        if (maxval == 0 || maxval > 65535)
            return fc_fail(st, FC_ERR_FORMAT, "%s: bad PNM header: maxval %llu (must be 1..65535)",
                           p->what, (unsigned long long)maxval);
    }
    p->maxval = (uint32_t)maxval;
    p->bands = p->kind == 3 || p->kind == 6 ? 3 : 1;
    p->out_max = p->bands == 1 && maxval > 255 ? 65535 : 255;
    return FC_OK;
}

/* PIL's value for sample v: round(v / maxval * out_max), capped at out_max, then
 * convert('RGB') of mode "I" clips at 255. */
static uint8_t pnm_scale(const pnm_info *p, uint32_t v) {
    double t = (double)v / (double)p->maxval * (double)p->out_max;
    double r = nearbyint(t); /* ties to even, as Python's round() */
    if (r > (double)p->out_max) r = (double)p->out_max;
    return (uint8_t)(r > 255.0 ? 255 : (unsigned)r);
}

static void pnm_put(fc_image *out, size_t i, int bands, const uint8_t *v) {
    uint8_t *o = out->rgb + (i / (size_t)bands) * 3;
    if (bands == 3) o[i % 3] = v[0];
    else o[0] = o[1] = o[2] = v[0];
}

/* P4, P5, P6: fixed-size samples. */
static int pnm_binary(pnm_info *p, fc_image *out, fc_status *st) {
    size_t w = (size_t)p->w, h = (size_t)p->h, nsamp = w * h * (size_t)p->bands;
    const uint8_t *in = p->buf + p->pos;
    size_t avail = p->len - p->pos;
    if (p->kind == 4) {
        size_t row = (w + 7) / 8;
        if (avail / row < h)
            return fc_fail(st, FC_ERR_FORMAT, "%s: truncated PBM data (%zu bytes, %zu needed)",
                           p->what, avail, row * h);
        for (size_t y = 0; y < h; y++)
            for (size_t x = 0; x < w; x++) {
                uint8_t v = in[y * row + x / 8] >> (7 - (x & 7)) & 1 ? 0 : 255;
                memset(out->rgb + (y * w + x) * 3, v, 3);
            }
        return FC_OK;
    }
    size_t bps = p->maxval < 256 ? 1 : 2;
    if (avail / bps < nsamp)
        return fc_fail(st, FC_ERR_FORMAT, "%s: truncated PNM data (%zu bytes, %zu needed)",
                       p->what, avail, nsamp * bps);
    for (size_t i = 0; i < nsamp; i++) {
        uint32_t v = bps == 1 ? in[i] : (uint32_t)in[2 * i] << 8 | in[2 * i + 1];
        uint8_t b;
        if (p->maxval == 255) b = (uint8_t)v;
        else if (p->maxval == 65535 && p->bands == 1) b = (uint8_t)(v > 255 ? 255 : v); /* I;16B */
        else b = pnm_scale(p, v);
        pnm_put(out, i, p->bands, &b);
    }
    return FC_OK;
}

/* PIL's PpmPlainDecoder state: the stream position, a comment running past a block, and
 * the token carried from one block to the next (kept forever once set, as PIL does). */
typedef struct {
    pnm_info *p;
    int comment_spans;
    char half[PNM_TOKEN_MAX + 1];
    size_t nhalf;
    uint8_t *blk;      /* working copy of one block (+ the carried token) */
} pnm_plain;

static size_t plain_read(pnm_plain *s, uint8_t *dst) {
    pnm_info *p = s->p;
    size_t n = p->len - p->pos < PNM_BLOCK ? p->len - p->pos : PNM_BLOCK;
    memcpy(dst, p->buf + p->pos, n);
    p->pos += n;
    return n;
}

/* Index of the comment's end in b[start..n): PIL's _find_comment_end, whose test
 * "a * b > 0" takes the later of a '\n' at 0 and a '\r' further on. */
static long plain_comment_end(const uint8_t *b, size_t n, size_t start) {
    long a = -1, r = -1;
    for (size_t i = start; i < n && a < 0; i++) if (b[i] == '\n') a = (long)i;
    for (size_t i = start; i < n && r < 0; i++) if (b[i] == '\r') r = (long)i;
    return a * r > 0 ? (a < r ? a : r) : (a > r ? a : r);
}

/* PIL's _ignore_comments on blk[0..*n): may read further blocks to finish a comment. */
static void plain_comments(pnm_plain *s, uint8_t *blk, size_t *n) {
    if (s->comment_spans) {
        while (*n) {
            long end = plain_comment_end(blk, *n, 0);
            if (end >= 0) {
                memmove(blk, blk + end + 1, *n - (size_t)end - 1);
                *n -= (size_t)end + 1;
                break;
            }
            *n = plain_read(s, blk);
        }
    }
    s->comment_spans = 0;
    for (;;) {
        uint8_t *hash = memchr(blk, '#', *n);
        if (!hash) break;
        size_t at = (size_t)(hash - blk);
        long end = plain_comment_end(blk, *n, at);
        if (end < 0) {
            *n = at;
            s->comment_spans = 1;
            break;
        }
        memmove(blk + at, blk + end + 1, *n - (size_t)end - 1);
        *n -= (size_t)end + 1 - at;
    }
}

/* The next block as PIL sees it, carried token first; 0 at the end of the data. */
static size_t plain_block(pnm_plain *s, int *eof) {
    uint8_t *blk = s->blk + PNM_TOKEN_MAX;
    size_t n = plain_read(s, blk);
    *eof = 0;
    if (n == 0) {
        if (!s->nhalf) {
            *eof = 1;
            return 0;
        }
        blk[0] = ' ';
        n = 1;
    }
    plain_comments(s, blk, &n);
    memcpy(blk - s->nhalf, s->half, s->nhalf);
    return n + s->nhalf;
}

/* P1: one '0'/'1' per pixel, whitespace anywhere. */
static int pnm_plain_bits(pnm_plain *s, fc_image *out, fc_status *st) {
    pnm_info *p = s->p;
    size_t total = (size_t)p->w * (size_t)p->h, got = 0;
    while (got < total) {
        int eof;
        size_t n = plain_block(s, &eof);
        if (eof) break;
        const uint8_t *b = s->blk + PNM_TOKEN_MAX; /* P1 never carries a token */
        for (size_t i = 0; i < n; i++) {
            if (pnm_space(b[i])) continue;
            if (b[i] != '0' && b[i] != '1')
                return fc_fail(st, FC_ERR_FORMAT, "%s: bad plain PBM data: byte 0x%02X is not 0 or 1",
                               p->what, b[i]);
            if (got < total) memset(out->rgb + 3 * got++, b[i] == '0' ? 255 : 0, 3);
        }
    }
    if (got < total)
        return fc_fail(st, FC_ERR_FORMAT, "%s: plain PBM data ends after %zu of %zu pixels", p->what,
                       got, total);
    return FC_OK;
}

/* P2, P3: decimal samples. */
static int pnm_plain_values(pnm_plain *s, fc_image *out, fc_status *st) {
    pnm_info *p = s->p;
    size_t total = (size_t)p->w * (size_t)p->h * (size_t)p->bands, got = 0;
    while (got < total) {
        int eof;
        size_t n = plain_block(s, &eof);
        if (eof) break;
        const uint8_t *b = s->blk + PNM_TOKEN_MAX - s->nhalf;
        size_t end = n;
        if (n && !pnm_space(b[n - 1])) { /* the last token may continue in the next block */
            size_t t = n;
            while (t && !pnm_space(b[t - 1])) t--;
            if (n - t > PNM_TOKEN_MAX)
                return fc_fail(st, FC_ERR_FORMAT, "%s: bad plain PNM data: a value over %d characters",
                               p->what, PNM_TOKEN_MAX);
            memcpy(s->half, b + t, n - t);
            s->nhalf = n - t;
            end = t;
        }
        for (size_t i = 0; i < end && got < total;) {
            while (i < end && pnm_space(b[i])) i++;
            if (i == end) break;
            size_t t0 = i;
            uint64_t v = 0;
            for (; i < end && !pnm_space(b[i]); i++) {
                if (i - t0 >= PNM_TOKEN_MAX)
                    return fc_fail(st, FC_ERR_FORMAT, "%s: bad plain PNM data: a value over %d "
                                   "characters", p->what, PNM_TOKEN_MAX);
                if (b[i] < '0' || b[i] > '9')
                    return fc_fail(st, FC_ERR_FORMAT, "%s: bad plain PNM data: byte 0x%02X in a value",
                                   p->what, b[i]);
                v = v * 10 + (uint64_t)(b[i] - '0');
            }
            if (v > p->maxval)
                return fc_fail(st, FC_ERR_FORMAT, "%s: bad plain PNM data: value %llu over maxval %u",
                               p->what, (unsigned long long)v, p->maxval);
            uint8_t o = pnm_scale(p, (uint32_t)v);
            pnm_put(out, got++, p->bands, &o);
        }
    }
    if (got < total)
        return fc_fail(st, FC_ERR_FORMAT, "%s: plain PNM data ends after %zu of %zu samples",
                       p->what, got, total);
    return FC_OK;
}

int fc_pnm_decode(const uint8_t *buf, size_t len, const char *what, size_t max_pixels,
                  fc_image *out, fc_status *st) {
    pnm_info p = {buf, len, 0, what, 0, 0, 0, 1, 1, 255};
    pnm_plain s = {&p, 0, {0}, 0, NULL};
    int rc;
    out->rgb = NULL;
    out->w = out->h = 0;
    if ((rc = pnm_header(&p, st))) return rc;
    if (p.w > UINT32_MAX || p.h > UINT32_MAX)
        return fc_fail(st, FC_ERR_NOMEM, "%s: PNM size %llux%llu overflows", what,
                       (unsigned long long)p.w, (unsigned long long)p.h);
    if ((rc = fc_image_alloc(out, (uint32_t)p.w, (uint32_t)p.h, what, max_pixels, st))) return rc;
    if (p.kind >= 4) {
        rc = pnm_binary(&p, out, st);
    } else {
        s.blk = malloc(PNM_BLOCK + PNM_TOKEN_MAX + 1);
        if (!s.blk) rc = fc_fail(st, FC_ERR_NOMEM, "%s: out of memory decoding PNM", what);
        else rc = p.kind == 1 ? pnm_plain_bits(&s, out, st) : pnm_plain_values(&s, out, st);
        free(s.blk);
    }
    if (rc) fc_image_free(out);
    return rc;
}
