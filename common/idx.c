/* idx.c - bounds-checked IDX reader (MNIST / Fashion-MNIST), plain or gzipped via zlib. */
#include "idx.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int fc_idx_parse_header(const uint8_t *buf, size_t len, uint32_t want_magic, const char *what,
                        fc_idx *out, size_t *hdr_len, fc_status *st) {
    memset(out, 0, sizeof *out);
    int want_ndim = want_magic == FC_IDX_MAGIC_IMAGES ? 3 : 1;
    if (len < 4) return fc_fail(st, FC_ERR_FORMAT, "%s: truncated IDX header (%zu bytes)", what, len);
    uint32_t magic = be32(buf);
    if (magic != want_magic) {
        if ((magic >> 8) == 0x08 && (magic & 0xff) != (uint32_t)want_ndim)
            return fc_fail(st, FC_ERR_FORMAT, "%s: IDX file has %u dimensions, expected %d (%s)",
                           what, magic & 0xff, want_ndim,
                           want_ndim == 3 ? "images" : "labels");
        return fc_fail(st, FC_ERR_FORMAT,
                       "%s: not an IDX %s file (magic 0x%08x, expected 0x%08x)", what,
                       want_ndim == 3 ? "image" : "label", magic, want_magic);
    }
    size_t need = 4 + 4 * (size_t)want_ndim;
    if (len < need)
        return fc_fail(st, FC_ERR_FORMAT, "%s: truncated IDX header (%zu of %zu bytes)", what, len,
                       need);
    out->magic = magic;
    out->ndim = want_ndim;
    for (int i = 0; i < want_ndim; i++) out->dims[i] = be32(buf + 4 + 4 * i);
    out->item_bytes = 1;
    for (int i = 1; i < want_ndim; i++) {
        if (out->dims[i] == 0 || out->dims[i] > FC_IDX_MAX_SIDE)
            return fc_fail(st, FC_ERR_FORMAT, "%s: IDX dimension %d is %u (must be 1..%d)", what, i,
                           out->dims[i], FC_IDX_MAX_SIDE);
        out->item_bytes *= out->dims[i];
    }
    size_t total;
    if (fc_size_mul(out->dims[0], out->item_bytes, &total) || total > FC_IDX_MAX_BYTES)
        return fc_fail(st, FC_ERR_FORMAT, "%s: IDX declares %u items of %zu bytes (over the %zu-byte limit)",
                       what, out->dims[0], out->item_bytes, FC_IDX_MAX_BYTES);
    out->n = out->dims[0];
    *hdr_len = need;
    return 0;
}

int fc_idx_parse(const uint8_t *buf, size_t len, uint32_t want_magic, const char *what,
                 fc_idx *out, fc_status *st) {
    size_t hdr;
    int rc = fc_idx_parse_header(buf, len, want_magic, what, out, &hdr, st);
    if (rc) return rc;
    size_t payload = out->n * out->item_bytes; /* checked in parse_header */
    if (len - hdr != payload) {
        memset(out, 0, sizeof *out);
        return fc_fail(st, FC_ERR_FORMAT, "%s: IDX payload is %zu bytes, header declares %zu (%s)",
                       what, len - hdr, payload, len - hdr < payload ? "truncated" : "trailing bytes");
    }
    out->data = fc_malloc(payload, st);
    if (!out->data) return FC_ERR_NOMEM;
    memcpy(out->data, buf + hdr, payload);
    return 0;
}

/* Read exactly n bytes; returns bytes read (< n at end of file), or -1 on a zlib error. */
static long long gz_read_full(gzFile gz, uint8_t *dst, size_t n) {
    size_t got = 0;
    while (got < n) {
        size_t chunk = n - got > (1u << 20) ? (1u << 20) : n - got;
        int r = gzread(gz, dst + got, (unsigned)chunk);
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (long long)got;
}

static int gz_error(gzFile gz, const char *path, const char *doing, fc_status *st) {
    int errnum = 0;
    const char *msg = gzerror(gz, &errnum);
    return fc_fail(st, FC_ERR_FORMAT, "%s: %s: %s", path, doing,
                   errnum != Z_OK && msg && *msg ? msg : "unexpected end of file");
}

int fc_idx_read(const char *path, uint32_t want_magic, fc_idx *out, fc_status *st) {
    memset(out, 0, sizeof *out);
    gzFile gz = gzopen(path, "rb");
    if (!gz) return fc_fail(st, FC_ERR_IO, "%s: cannot open", path);
    int rc = 0;
    uint8_t hdr[16];
    size_t want_hdr = want_magic == FC_IDX_MAGIC_IMAGES ? 16 : 8, hdr_len;
    long long got = gz_read_full(gz, hdr, want_hdr);
    if (got < 0) {
        rc = gz_error(gz, path, "reading the IDX header", st);
        goto out;
    }
    /* A short header is reported by the parser with the byte count. */
    if ((rc = fc_idx_parse_header(hdr, (size_t)got, want_magic, path, out, &hdr_len, st))) goto out;
    size_t payload = out->n * out->item_bytes;
    if (!(out->data = fc_malloc(payload, st))) {
        rc = FC_ERR_NOMEM;
        goto out;
    }
    got = gz_read_full(gz, out->data, payload);
    if (got < 0) {
        rc = gz_error(gz, path, "reading the IDX payload", st);
        goto out;
    }
    if ((size_t)got < payload) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: truncated IDX payload (%lld of %zu bytes)", path, got,
                     payload);
        goto out;
    }
    uint8_t extra;
    got = gz_read_full(gz, &extra, 1);
    if (got < 0) {
        rc = gz_error(gz, path, "reading past the IDX payload", st);
        goto out;
    }
    if (got > 0) rc = fc_fail(st, FC_ERR_FORMAT, "%s: trailing bytes after the IDX payload", path);
out:
    gzclose(gz);
    if (rc) fc_idx_free(out);
    return rc;
}

void fc_idx_free(fc_idx *x) {
    if (!x) return;
    free(x->data);
    memset(x, 0, sizeof *x);
}
