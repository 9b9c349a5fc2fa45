/* codec.h - feature encoding: f32 | f16 | bf16 (round to nearest even) | u8 (per-channel
 * affine, parameters in the blob), after a layout step plain | shuffle (byte-shuffled) |
 * sparse (bitmap of nonzero positions, channel by channel, + nonzero values), then zstd.
 *
 * Blob = small header (magic, version, codec, layout, element count, channel count) +
 * zstd frame(s). Decoding checks every length against the header and the expected count. */
#ifndef FC_CODEC_H
#define FC_CODEC_H

#include "fc.h"

typedef enum { FC_CODEC_F32, FC_CODEC_F16, FC_CODEC_BF16, FC_CODEC_U8 } fc_codec_kind;
typedef enum { FC_LAYOUT_PLAIN, FC_LAYOUT_SHUFFLE, FC_LAYOUT_SPARSE, FC_LAYOUT_AUTO } fc_layout;

typedef struct {
    fc_codec_kind kind;
    fc_layout layout;   /* AUTO only before the first batch picks one */
    int level;          /* zstd level, default 3 */
} fc_codec_params;

int fc_codec_parse(const char *s, fc_codec_kind *out);
const char *fc_codec_name(fc_codec_kind k);
int fc_layout_parse(const char *s, fc_layout *out);
const char *fc_layout_name(fc_layout l);

/* x: n floats with `channels` innermost (NHWC per image). *blob is malloc'd. */
int fc_codec_encode(const fc_codec_params *p, const float *x, size_t n, int channels,
                    uint8_t **blob, size_t *len, fc_status *st);
/* Decodes into out (n floats); fails unless the blob holds exactly n values. */
int fc_codec_decode(const uint8_t *blob, size_t len, float *out, size_t n, fc_status *st);
/* Pick the layout that makes these sample maps (count maps of n floats) smallest. */
fc_layout fc_codec_choose_layout(const fc_codec_params *p, const float *x, size_t count,
                                 size_t n, int channels);
/* Checksum of decoded values (hex sha256 of the float32 bytes), 65 bytes with NUL. */
void fc_checksum_floats(const float *x, size_t n, char out[65]);

/* Scalar conversions (exact round-to-nearest-even, subnormals, inf, quiet NaN) and array
 * versions (F16C when the CPU has it, bit-identical to the scalar ones). */
uint16_t fc_f32_to_f16(float f);
float fc_f16_to_f32(uint16_t h);
uint16_t fc_f32_to_bf16(float f);
float fc_bf16_to_f32(uint16_t h);
void fc_f32_to_f16_array(const float *x, uint16_t *y, size_t n);
void fc_f16_to_f32_array(const uint16_t *x, float *y, size_t n);
void fc_codec_force_scalar(int on); /* tests: disable the F16C path */

/* Blob header fields, for info/verify/fuzz (0 = ok, FC_ERR_FORMAT if not a blob). */
typedef struct {
    fc_codec_kind kind;
    fc_layout layout;
    size_t n;
    int channels;
} fc_blob_info;
int fc_codec_peek(const uint8_t *blob, size_t len, fc_blob_info *info, fc_status *st);

/* Frees this thread's cached zstd contexts and scratch buffers (they are otherwise
 * reused across calls and freed at thread exit). */
void fc_codec_thread_cleanup(void);

#endif
