/* augment.h - Keras ImageDataGenerator random augmentation (keras_preprocessing 1.1, as
 * used by Keras 2.2.4/2.3 and tf.keras): rotation, shifts, shear, zoom and flips, bilinear
 * (order=1) with fill_mode='nearest', reproduced from get_random_transform and
 * apply_transform / apply_affine_transform (scipy.ndimage.affine_transform per channel).
 *
 * Random draws are not numpy's: each is a pure function of (key, draw slot) through a
 * splitmix64 counter RNG, so a view's parameters depend only on (seed, image hash, view)
 * and never on what was drawn before. Distributions, the order of the slots and which
 * draws happen at all follow Keras. */
#ifndef FC_AUGMENT_H
#define FC_AUGMENT_H

#include "fc.h"

typedef struct {
    double rotation_range;      /* degrees; theta ~ U(-r, r) */
    double width_shift_range;   /* < 1: fraction of width, else pixels (Keras rule); ty ~ U(-v, v) (* width if < 1) */
    double height_shift_range;  /* tx ~ U(-v, v) (* height if < 1) */
    double shear_range;         /* degrees; shear ~ U(-s, s) */
    double zoom_lo, zoom_hi;    /* zoom_range=z gives [1-z, 1+z]; zx, zy ~ U(lo, hi) independently; lo == hi == 1: no zoom draw */
    int horizontal_flip, vertical_flip; /* each: flip with probability 0.5 */
    /* The shift range was written as a Python int (no '.' or exponent), v >= 1. Keras then
     * draws np.random.choice(v) * np.random.choice([-1, 1]): an integer shift of
     * -(v-1)..v-1 pixels (width_shift_range=2 gives -1, 0 or +1), not U(-v, v). */
    int width_shift_int, height_shift_int;
} fc_aug_spec;

/* Seed 000's ImageDataGenerator (InceptionV3 at mixed7, cats vs dogs): the default of
 * extract --augment and augment-preview. */
#define FC_AUG_DEFAULT_SPEC                                                                                      \
    "rotation_range=40, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2, zoom_range=0.2, "     \
    "horizontal_flip=True"

typedef struct { double theta, tx, ty, shear, zx, zy; int flip_h, flip_v; } fc_aug_params; /* theta, shear in degrees; tx (rows), ty (cols) in pixels */

/* Parses Keras keyword syntax, as copied from an ImageDataGenerator(...) call:
 * "rotation_range=40, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2,
 *  zoom_range=0.2, horizontal_flip=True, vertical_flip=False"; separators: commas and/or
 * whitespace; zoom_range also as "[0.8, 1.2]" or "(0.8,1.2)"; True/False/1/0 for flips.
 * Numbers are Python decimal literals; an int literal for a shift range keeps Keras'
 * integer-shift meaning (width_shift_int above). Keys that are not augmentation
 * (rescale=..., cval=..., anything else) -> error naming the key; fill_mode='nearest' is
 * accepted (the only fill mode supported; other fill modes -> error saying so). A key given
 * twice, negative or non-finite ranges, zoom factors <= 0 or lo > hi, a spec with no
 * transform at all -> error. Returns FC_OK, or FC_ERR_ARG with st->msg set (spec then
 * untouched). */
int fc_aug_parse(const char *text, fc_aug_spec *spec, fc_status *st);
/* Canonical text of a spec (same keys, fixed order, %.17g numbers, flips as True), which
 * fc_aug_parse reads back to an equal spec. Returns chars written like snprintf. */
int fc_aug_format(const fc_aug_spec *spec, char *buf, size_t n);
/* 1 if a and b draw the same transforms (compared by value: their texts may differ). */
int fc_aug_spec_equal(const fc_aug_spec *a, const fc_aug_spec *b);

/* Draws one view's parameters in Keras random_transform order (theta, tx, ty, shear,
 * zx/zy, flip_h, flip_v), each draw a pure function of (key, draw index) via a
 * splitmix64-style counter RNG (double uniform with 53 bits): deterministic, independent
 * of call order. h, w: image size (for the shift fractions). Ranges that are 0 draw 0
 * (Keras draws nothing then: the value is 0 / 1). */
void fc_aug_draw(const fc_aug_spec *spec, int h, int w, uint64_t key, fc_aug_params *p);
/* key helper: mixes a 64-bit seed, a 64-char hex sha256 string and a view index. */
uint64_t fc_aug_key(uint64_t seed, const char *sha256_hex, int view);

/* Keras apply_affine_transform(x, theta, tx, ty, shear, zx, zy, row_axis=0, col_axis=1,
 * channel_axis=2, fill_mode='nearest', order=1), then flip_axis for flip_h (columns) and
 * flip_v (rows): src and dst are h*w*c float32 HWC (dst != src). The transform matrix is
 * rotation @ shift @ shear @ zoom (only the present ones, as Keras), centred with
 * o_x = h/2 + 0.5, o_y = w/2 + 0.5 (transform_matrix_offset_center), and applied per
 * channel like scipy.ndimage.affine_transform(channel, M[:2,:2], offset=M[:2,2], order=1,
 * mode='nearest'): output pixel (i, j) samples input coordinate M[:2,:2] @ (i, j) + offset
 * with linear interpolation, neighbours beyond the edge clamped to the edge (scipy >= 1.6
 * arithmetic, bit-identical to it; scipy < 1.6 can differ by 1 ulp, see augment.c).
 * Coordinates and weights in double, written as float. No affine part (all identity): a copy, then
 * the flips. Allocation-free and thread-safe. */
void fc_aug_apply(const fc_aug_params *p, const float *src, int h, int w, int c, float *dst);

#endif
