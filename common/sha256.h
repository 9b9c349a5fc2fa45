/* sha256.h - SHA-256 through OpenSSL's EVP interface (libcrypto), hex output.
 *
 * One-shot: fc_sha256_hex(buf, len, out). Incremental: begin/update/end on an
 * fc_sha256_ctx (end or abort always releases it). Files: fc_sha256_file. */
#ifndef FC_SHA256_H
#define FC_SHA256_H

#include "fc.h"

typedef struct {
    void *md; /* EVP_MD_CTX* */
} fc_sha256_ctx;

/* All return 0 on success, FC_ERR_NOMEM/FC_ERR_INTERNAL (with st filled) otherwise. */
int fc_sha256_begin(fc_sha256_ctx *c, fc_status *st);
int fc_sha256_update(fc_sha256_ctx *c, const void *buf, size_t len, fc_status *st);
/* Finishes and frees the context; digest gets 32 bytes. */
int fc_sha256_end(fc_sha256_ctx *c, unsigned char digest[32], fc_status *st);
/* Frees a context without finishing (error paths); safe on a zeroed/finished ctx. */
void fc_sha256_abort(fc_sha256_ctx *c);

/* 32-byte digest -> 64 lowercase hex chars + NUL. */
void fc_sha256_to_hex(const unsigned char digest[32], char out[65]);
/* One-shot hash of a buffer as hex. Returns 0, or nonzero if libcrypto failed (out = ""). */
int fc_sha256_hex(const void *buf, size_t len, char out[65]);
/* Hash a whole file (streamed). Error names the file. bytes (optional) gets its size. */
int fc_sha256_file(const char *path, char out[65], int64_t *bytes, fc_status *st);

#endif
