/* idx.h - reader for the IDX files of MNIST / Fashion-MNIST (optionally gzipped).
 *
 * Layout (big-endian): u8 0, u8 0, u8 type (0x08 = unsigned byte), u8 ndim, then ndim
 * u32 dimensions, then prod(dims) bytes. Images are magic 0x00000803 (n, rows, cols),
 * labels 0x00000801 (n). Everything read from the file is untrusted: the magic, each
 * dimension and the total size are checked before allocating, and a short or over-long
 * payload is an error. */
#ifndef FC_IDX_H
#define FC_IDX_H

#include "fc.h"

#define FC_IDX_MAGIC_LABELS 0x00000801u
#define FC_IDX_MAGIC_IMAGES 0x00000803u
#define FC_IDX_MAX_SIDE 4096               /* rows/cols ceiling */
#define FC_IDX_MAX_BYTES ((size_t)1 << 30) /* payload ceiling (1 GiB) */

typedef struct {
    uint32_t magic;    /* FC_IDX_MAGIC_* */
    int ndim;          /* 1 (labels) or 3 (images) */
    uint32_t dims[3];  /* dims[0] = item count; rows, cols for images */
    size_t item_bytes; /* 1 for labels, rows*cols for images */
    size_t n;          /* = dims[0] */
    uint8_t *data;     /* n * item_bytes, malloc'd */
} fc_idx;

/* Parse and check the header at buf (len bytes available). want_magic is
 * FC_IDX_MAGIC_LABELS or FC_IDX_MAGIC_IMAGES. On success fills every field but data and
 * sets *hdr_len to the header size. `what` names the source in errors. */
int fc_idx_parse_header(const uint8_t *buf, size_t len, uint32_t want_magic, const char *what,
                        fc_idx *out, size_t *hdr_len, fc_status *st);

/* Parse a whole IDX file held in memory (not gzipped); copies the payload. */
int fc_idx_parse(const uint8_t *buf, size_t len, uint32_t want_magic, const char *what,
                 fc_idx *out, fc_status *st);

/* Read an IDX file, plain or gzip-compressed (zlib gzopen detects which). */
int fc_idx_read(const char *path, uint32_t want_magic, fc_idx *out, fc_status *st);

void fc_idx_free(fc_idx *x);

#endif
