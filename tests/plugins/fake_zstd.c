/* fake_zstd.c - an HDF5 filter plugin for the zstd id 32015 that decodes a chunk and then
 * gets its first value wrong (12345): a third-party plugin on HDF5_PLUGIN_PATH that
 * featcache must not use in place of its own filter (tests/cli/share.sh builds it into a
 * shared object and imports a --zstd export with it on the path). Not part of the product. */
#include <hdf5.h>
#include <H5PLextern.h>
#include <string.h>
#include <zstd.h>

static size_t fake_zstd(unsigned flags, size_t cd_nelmts, const unsigned cd_values[], size_t nbytes,
                        size_t *buf_size, void **buf) {
    (void)cd_nelmts, (void)cd_values;
    if (!(flags & H5Z_FLAG_REVERSE)) return 0; /* decode only */
    unsigned long long n = ZSTD_getFrameContentSize(*buf, nbytes);
    if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n < sizeof(float)) return 0;
    void *out = H5allocate_memory((size_t)n, 0);
    if (!out) return 0;
    size_t got = ZSTD_decompress(out, (size_t)n, *buf, nbytes);
    if (ZSTD_isError(got)) {
        H5free_memory(out);
        return 0;
    }
    const float wrong = 12345.0f;
    memcpy(out, &wrong, sizeof wrong);
    H5free_memory(*buf);
    *buf = out;
    *buf_size = (size_t)n;
    return got;
}

static const H5Z_class2_t fake_cls = {H5Z_CLASS_T_VERS, 32015, 1, 1, "fake zstd (test)", NULL, NULL, fake_zstd};

H5PL_type_t H5PLget_plugin_type(void) { return H5PL_TYPE_FILTER; }
const void *H5PLget_plugin_info(void) { return &fake_cls; }
