/* sha256.c - thin wrapper over OpenSSL EVP SHA-256 (no hand-written hash code). */
#include "sha256.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

int fc_sha256_begin(fc_sha256_ctx *c, fc_status *st) {
    c->md = EVP_MD_CTX_new();
    if (!c->md) return fc_fail(st, FC_ERR_NOMEM, "sha256: out of memory");
    if (EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
        fc_sha256_abort(c);
        return fc_fail(st, FC_ERR_INTERNAL, "sha256: EVP_DigestInit_ex failed");
    }
    return FC_OK;
}

int fc_sha256_update(fc_sha256_ctx *c, const void *buf, size_t len, fc_status *st) {
    if (!c->md) return fc_fail(st, FC_ERR_INTERNAL, "sha256: context not started");
    if (len && EVP_DigestUpdate(c->md, buf, len) != 1)
        return fc_fail(st, FC_ERR_INTERNAL, "sha256: EVP_DigestUpdate failed");
    return FC_OK;
}

int fc_sha256_end(fc_sha256_ctx *c, unsigned char digest[32], fc_status *st) {
    unsigned int n = 0;
    int ok = c->md && EVP_DigestFinal_ex(c->md, digest, &n) == 1 && n == 32;
    fc_sha256_abort(c);
    if (!ok) return fc_fail(st, FC_ERR_INTERNAL, "sha256: EVP_DigestFinal_ex failed");
    return FC_OK;
}

void fc_sha256_abort(fc_sha256_ctx *c) {
    if (c && c->md) {
        EVP_MD_CTX_free(c->md);
        c->md = NULL;
    }
}

void fc_sha256_to_hex(const unsigned char digest[32], char out[65]) {
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[digest[i] >> 4];
        out[2 * i + 1] = hx[digest[i] & 15];
    }
    out[64] = '\0';
}

int fc_sha256_hex(const void *buf, size_t len, char out[65]) {
    unsigned char d[32];
    unsigned int n = 0;
    if (EVP_Digest(buf, len, d, &n, EVP_sha256(), NULL) != 1 || n != 32) {
        out[0] = '\0';
        return FC_ERR_INTERNAL;
    }
    fc_sha256_to_hex(d, out);
    return FC_OK;
}

int fc_sha256_file(const char *path, char out[65], int64_t *bytes, fc_status *st) {
    fc_sha256_ctx c = {0};
    unsigned char buf[1 << 16], d[32];
    int64_t total = 0;
    int rc = FC_OK;
    FILE *f = fc_fopen_regular(path, NULL, st);
    if (!f) return st ? (int)st->code : FC_ERR_IO;
    if ((rc = fc_sha256_begin(&c, st))) goto out;
    for (;;) {
        size_t got = fread(buf, 1, sizeof buf, f);
        if (got && (rc = fc_sha256_update(&c, buf, got, st))) goto out;
        total += (int64_t)got;
        if (got < sizeof buf) break;
    }
    if (ferror(f)) {
        rc = fc_fail(st, FC_ERR_IO, "%s: read error: %s", path, strerror(errno));
        goto out;
    }
    if ((rc = fc_sha256_end(&c, d, st))) goto out;
    fc_sha256_to_hex(d, out);
    if (bytes) *bytes = total;
out:
    fc_sha256_abort(&c);
    if (f) fclose(f);
    return rc;
}
