/* store_views.h - augmented views of training images in a store (extract --augment K):
 * K randomly transformed copies of each training image (Keras ImageDataGenerator
 * semantics, common/augment.h), each run through the backbone once and kept next to the
 * image's own features. train --augment draws one view per image per epoch. */
#ifndef FC_STORE_VIEWS_H
#define FC_STORE_VIEWS_H

#include "store.h"

typedef struct {
    char spec[512];  /* canonical ImageDataGenerator keywords (fc_aug_format) */
    uint64_t seed;   /* view parameters are drawn from (seed, image sha256, view) */
    int views;       /* K; 0: the store has no augmentation */
} fc_views_config;

/* 1 if the store has the views tables. */
int fc_views_exist(fc_store *s);
/* The store's augmentation (views = 0 when none). */
int fc_views_get_config(fc_store *s, fc_views_config *c, fc_status *st);
/* Creates the tables if needed and records c (inside the caller's transaction or not). */
int fc_views_set_config(fc_store *s, const fc_views_config *c, fc_status *st);
/* Views of sha256 with index < below; < 0 (negated code) on error. */
int fc_views_count(fc_store *s, const char *sha256, int below, fc_status *st);
/* 1 if view `view` of sha256 is stored, 0 if not, < 0 on error (tables must exist). */
int fc_views_has(fc_store *s, const char *sha256, int view, fc_status *st);
/* Encodes with the store's codec and writes (replacing) one view. */
int fc_views_put(fc_store *s, const char *sha256, int view, const float *features, fc_status *st);
/* Removes every view of sha256 (no tables: nothing to do). */
int fc_views_delete(fc_store *s, const char *sha256, fc_status *st);
/* Deletes the views that do not count (of an image not in train with features, or index
 * >= K): extract --augment's pass starts with it, so a store's views end up exact. */
int fc_views_drop_stray(fc_store *s, fc_status *st);
/* How many views the training images lack: (training images with features) x K minus
 * the views that count (of a training image, index below K); 0 without views. */
int fc_views_missing(fc_store *s, int64_t *missing, fc_status *st);
/* Number of stored views and their blob bytes. */
int fc_views_stats(fc_store *s, int64_t *n_views, int64_t *bytes, fc_status *st);
/* Decodes views 0..k-1 of sha256 into out (k * feature size), each checked against its
 * stored checksum; FC_ERR_FORMAT "missing view N ..." if one is not stored, "view N does
 * not match its checksum ..." if one is damaged (the caller names the store and image). */
int fc_views_load(fc_store *s, const char *sha256, int k, float *out, fc_status *st);
/* merge: copies src's views of the images dst holds (with features) that dst lacks,
 * decoded and encoded with dst's codec; *copied counts them. The caller has checked that
 * both augmentations are the same and recorded it in dst (fc_views_set_config). */
int fc_views_copy(fc_store *src, fc_store *dst, int k, int64_t *copied, fc_status *st);
/* The augmentation of a set of stores (NULL entries skipped), for merge: out->views = 0 if
 * none has views, else the smallest K (views 0..K-1 are what every input can have);
 * returns 0, 1 (out cleared) if two of them differ in spec (by value) or seed or one has
 * no views while another has, or -code on error. */
int fc_views_common_config(fc_store *const *stores, int n, fc_views_config *out, fc_status *st);
/* Every stored view as (sha256, view), in storage order (malloc'd; n may be 0). */
typedef struct {
    char sha256[65];
    int view;
} fc_view_ref;
int fc_views_list(fc_store *s, fc_view_ref **out, size_t *n, fc_status *st);
/* Decodes one view into out (feature size floats). */
int fc_views_load_one(fc_store *s, const char *sha256, int view, float *out, fc_status *st);
/* verify: every view decodes, matches its checksum and belongs to a stored image;
 * report(ctx, msg) per problem, *bad counts them. */
int fc_views_verify(fc_store *s, void (*report)(void *ctx, const char *msg), void *ctx, int64_t *bad,
                    fc_status *st);

#endif
