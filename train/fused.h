/* fused.h - the first Dense layer's per-step work in one pass over its kernel.
 *
 * The first layer's kernel W (D, H) dominates a head (Flatten 8192 -> 256 is 2.1M of the
 * 2.1M parameters); each step reads and writes W and the optimizer state. One pass over a
 * block of rows of W does all of the step's work on them while they are in cache:
 *   g  = xt^T dz (the block's gradient, K = batch)   (+ 2*l2*W)
 *   W, state <- optimizer(W, g, state)
 *   zp += xn W   (the NEXT batch's pre-activations from the updated rows)
 * Rows are split across threads; each thread accumulates its own zp (bn, H), summed by
 * the caller in thread order. Every output element is accumulated in a fixed order that
 * depends only on the row range, never on H or on other configs, so a config trained in a
 * sweep gets the same bits as alone (same thread count). */
#ifndef FC_TRAIN_FUSED_H
#define FC_TRAIN_FUSED_H

#include <stdint.h>

#include "optim.h"

typedef struct {
    const float *const *xt; /* bt input rows of the current batch (each D floats) */
    int bt;                 /* 0 = forward only (no gradient, no update) */
    const float *dz;        /* (bt, H) d loss / d pre-activation */
    const float *const *xn; /* bn input rows of the next batch */
    int bn;                 /* 0 = no forward */
    float *w, *s1, *s2;     /* (D, H) kernel and optimizer state (s1/s2 may be NULL) */
    int H;
    fc_optim_step os;
    float l2x2;
    /* RMSprop without L2 only (else NULL): a row of W whose inputs are all zero in a batch
     * has g == +0, so W stays and the step only scales the row's state by rho. Such rows
     * are left alone, and last[i] (one per row, zeroed at the start) says up to which step
     * row i's state is current; the next step that touches the row first applies the
     * skipped scalings one by one (the same multiplications in the same order: every bit as
     * if done eagerly) and sets last[i] = step. Real feature maps leave many rows of a batch
     * all-zero (batch 20: InceptionV3 mixed7 46%, MobileNetV2 out_relu 66%), whose state is
     * then neither read nor written. Nothing else reads the first layer's state. */
    uint32_t *last;
    uint32_t step; /* the number of the update this pass applies (1, 2, ...) when last != NULL */
} fc_fused_layer;

/* Largest batch the fused kernel takes (the trainer checks). */
#define FUSED_MAX_B 4096

/* Which inputs of the current and next batch are nonzero, for rows [r0, r1) of a chunk
 * (feature maps after ReLU are mostly exact zeros; skipping a zero term leaves every sum
 * bit-identical). Bitmasks built with vector compares once per step and chunk, shared by
 * every config of a group. */
#define FC_NZ_CHUNK 256
#define FC_NZ_BLOCK 32 /* rows per forward mask word */
typedef struct {
    int r0, r1;       /* rows of this chunk */
    int rows, cap;    /* capacity in rows (FC_NZ_CHUNK) and batch rows */
    int words;        /* (cap + 31) / 32 */
    int bt, bn;       /* batch sizes it was built for */
    uint32_t *tmask;  /* (words, rows): bit b%32 of word b/32 = xt[b][i] != 0 */
    uint32_t *fmask;  /* (cap, rows / FC_NZ_BLOCK): bit k = xn[b][r0 + blk*32 + k] != 0 */
} fc_nz_rows;
int fc_nz_alloc(fc_nz_rows *nz, int rows, int cap);
void fc_nz_free(fc_nz_rows *nz);
void fc_nz_build(fc_nz_rows *nz, const float *const *xt, int bt, const float *const *xn, int bn, int r0, int r1);

/* Process rows [nz->r0, nz->r1) of f; zp is this thread's (bn, H) accumulator (not zeroed
 * here). nz must have been built from f->xt and f->xn for those rows. */
void fc_fused_rows_nz(const fc_fused_layer *f, const fc_nz_rows *nz, float *zp);
/* Same over rows [r0, r1), building the lists itself (allocates; -1 if out of memory). */
int fc_fused_rows(const fc_fused_layer *f, int r0, int r1, float *zp);
/* The vector path fc_fused_rows_nz takes: 2 = AVX-512, 1 = AVX2+FMA, 0 = scalar; the
 * best the CPU has, capped by fc_fused_set_isa (tests run every path the CPU has: all
 * give the same bits). */
int fc_fused_isa(void);
void fc_fused_set_isa(int max);
/* Same arithmetic without SIMD (reference for tests, and the non-AVX2 path). */
void fc_fused_rows_scalar(const fc_fused_layer *f, int r0, int r1, int j0, float *zp);

#endif
