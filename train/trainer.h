/* trainer.h - the epoch loop (Keras Model.fit semantics) for one or many heads at once.
 *
 * Keras behaviour reproduced: the train split is reshuffled every epoch, batches of
 * `batch` rows (the last one smaller), inverted dropout in training only, the reported
 * training loss/accuracy are the running means over the epoch's samples (loss includes
 * the L2 penalty and class weights), validation loss/accuracy after every epoch
 * (unweighted, L2 penalty included), EarlyStopping(monitor='val_loss', patience,
 * restore_best_weights=True) which here also restores the best weights when training
 * ends without stopping early. */
#ifndef FC_TRAIN_TRAINER_H
#define FC_TRAIN_TRAINER_H

#include "../common/dataset.h"
#include "head.h"
#include "optim.h"

typedef struct {
    fc_head_arch arch;
    fc_optim opt;
    int epochs, batch;
    int patience;          /* 0 = no early stopping */
    uint64_t seed;
    float l2;
    int class_weight;      /* 0 = none, 1 = balanced (n / (K * count_c), K: classes with training images) */
    int augment;           /* 1: each epoch, each training image is one of its augmented
                            * views (the train dataset's views, fc_dataset_load_views),
                            * drawn from (seed, epoch, image) */
} fc_train_config;

/* Seed-001 defaults: flatten, 256 relu, dropout 0.5, RMSprop 2e-5, 30 epochs, batch 20. */
void fc_train_config_defaults(fc_train_config *c);

typedef struct {
    float loss, acc, val_loss, val_acc;
    double seconds;
} fc_epoch_stat;

typedef struct {
    fc_epoch_stat *ep;  /* n entries, malloc'd */
    int n;
    int best;           /* epoch index with the lowest val_loss (last epoch without val) */
    int stopped_early;
} fc_history;
void fc_history_free(fc_history *h);
/* 1 when --patience restored the lowest-val_loss epoch's weights (that epoch is h->best);
 * 0 without patience, or when no epoch had a finite val_loss (h->best is then the last). */
int fc_history_restored(const fc_history *h, int patience);

typedef struct fc_ckpt fc_ckpt; /* ckpt.h */

typedef struct {
    void (*on_epoch)(void *ctx, int cfg, int epoch, const fc_epoch_stat *s);
    void *ctx;
    fc_ckpt *ckpt;    /* checkpoints and resume (ckpt.h), or NULL */
    const int *unit;  /* the configs' numbers in the run (ckpt), NULL: 0..n-1 */
} fc_train_hooks;

/* 1 if configs a and b can share a pass (same pool, batch and seed). */
int fc_train_compatible(const fc_train_config *a, const fc_train_config *b);

/* Checks a dataset pair for training: non-empty train split, labels in range, at least
 * two classes present, val shape equal to train shape. `what` names the source. */
int fc_train_check_data(const fc_dataset *tr, const fc_dataset *va, const char *what,
                        fc_status *st);

/* Trains n compatible configs together (fc_train_compatible pairwise). heads[i] and
 * hist[i] are filled (caller frees with fc_head_free / fc_history_free). va may have
 * n = 0 (no validation: val metrics are NaN; patience is then an error).
 * threads >= 1 splits each step's first-layer work by rows. */
int fc_train_group(const fc_dataset *tr, const fc_dataset *va, const fc_train_config *cfg,
                   int n, int threads, const fc_train_hooks *hooks, fc_head **heads,
                   fc_history *hist, fc_status *st);

/* Bytes fc_train_group allocates for one config (weights, optimizer state, the best-weights
 * copy with patience, gradients, batch and validation buffers) for a train split shaped
 * like tr, n_val validation rows and `threads` threads. */
double fc_train_config_bytes(const fc_train_config *c, const fc_dataset *tr, size_t n_val, int threads);


/* l2 * sum of squared kernel weights (Keras kernel_regularizer=l2(l2) on every Dense). */
double fc_head_l2_penalty(const fc_head *hd, float l2);

/* Loss (mean, + L2 penalty l2*sum(W^2)) and accuracy of a head on pooled-or-raw features
 * (x is (n, h, w, c) as stored; pooling is applied here). */
int fc_head_evaluate(const fc_head *hd, const float *x, size_t n, const int32_t *y, float l2,
                     double *loss, double *acc, float *probs, fc_status *st);

/* Loss and accuracy from logits (n, U), as fc_head_evaluate computes them. */
void fc_head_val_metrics(const fc_head *hd, const float *logits, size_t n, const int32_t *y, float l2,
                         double *loss, double *acc);

#endif
