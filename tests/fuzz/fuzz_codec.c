/* fuzz_codec.c - feature blobs from arbitrary bytes: decoding must reject or decode, never
 * read out of bounds; and arbitrary floats must survive an encode/decode round trip.
 * Input: a blob (decoded with the n its header declares, capped), then the same bytes as
 * float32 values encoded with the codec/layout picked by the first byte. */
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/codec.h"

static void decode_as_blob(const uint8_t *data, size_t size) {
    fc_blob_info bi;
    if (fc_codec_peek(data, size, &bi, NULL) != FC_OK || bi.n > (1u << 22)) return;
    float *out = malloc((bi.n + 1) * sizeof *out);
    if (!out) return;
    if (fc_codec_decode(data, size, out, bi.n, NULL) == FC_OK) {
        char sum[65];
        fc_checksum_floats(out, bi.n, sum);
    }
    if (fc_codec_decode(data, size, out, bi.n + 1, NULL) == FC_OK) abort(); /* wrong n accepted */
    free(out);
}

static void roundtrip_floats(const uint8_t *data, size_t size) {
    if (size < 5) return;
    fc_codec_params p = {(fc_codec_kind)(data[0] & 3), (fc_layout)((data[0] >> 2) % 4), 1};
    size_t n = (size - 1) / 4;
    int channels = 1 + (data[0] >> 4);
    n -= n % (size_t)channels;
    if (!n) return;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    uint8_t *blob = NULL;
    size_t len = 0;
    if (!x || !y) goto out;
    memcpy(x, data + 1, n * sizeof *x);
    if (fc_codec_encode(&p, x, n, channels, &blob, &len, NULL) != FC_OK) {
        /* refused only for a reason: a non-finite value (every codec), a value f16/bf16
         * would store as Inf, or (u8) a range its grid cannot hold */
        int reason = p.kind == FC_CODEC_U8;
        for (size_t i = 0; i < n && !reason; i++) {
            float a = fabsf(x[i]);
            reason = !isfinite(x[i]) || (p.kind == FC_CODEC_F16 && a >= 65504.0f) ||
                     (p.kind == FC_CODEC_BF16 && a >= 3.38e38f);
        }
        if (!reason) abort();
        goto out;
    }
    if (fc_codec_decode(blob, len, y, n, NULL) != FC_OK) abort();
    if (p.kind == FC_CODEC_F32 && memcmp(x, y, n * sizeof *x) != 0) abort();
out:
    free(blob);
    free(x);
    free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    decode_as_blob(data, size);
    roundtrip_floats(data, size);
    return 0;
}
