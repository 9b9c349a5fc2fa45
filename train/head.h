/* head.h - dense classifier heads over cached feature maps.
 *
 * A head is Keras's  [Flatten | GlobalAveragePooling2D | GlobalMaxPooling2D]
 *   -> Dense(hidden[0], act) -> Dropout(rate) -> ... -> Dense(out, sigmoid|softmax)
 * with out = 1 (sigmoid, binary cross-entropy) for 2 classes and out = n_classes
 * (softmax, categorical cross-entropy) otherwise. hidden = {} is a linear classifier.
 * Layer l is a Dense with kernel w[l] of shape (dims[l], dims[l+1]) row-major (the Keras
 * kernel layout) and bias b[l] of shape (dims[l+1]); dims[0] is the pooled input size.
 *
 * The functions below are plain forward/backward passes over flat float arrays
 * (B = batch rows), llm.c style; the trainer (trainer.c) strings them together. */
#ifndef FC_TRAIN_HEAD_H
#define FC_TRAIN_HEAD_H

#include <stdint.h>

#include "../common/fc.h"
#include "../common/blas.h"
#include "../common/graph.h"

#define FC_HEAD_MAX_HIDDEN 7
#define FC_HEAD_MAX_LAYERS (FC_HEAD_MAX_HIDDEN + 1)

typedef enum { FC_POOL_FLATTEN, FC_POOL_GAP, FC_POOL_GMP } fc_pool;

typedef struct {
    fc_pool pool;
    int n_hidden;
    int hidden[FC_HEAD_MAX_HIDDEN];
    fc_act act;          /* hidden activation: relu (default), tanh, sigmoid, linear */
    float dropout;       /* rate after each hidden layer, [0, 1) */
} fc_head_arch;

typedef struct {
    fc_head_arch arch;
    int in_h, in_w, in_c;  /* feature map shape (the head's Keras input shape) */
    /* 1: the features are a vector (the store's feat_rank 2: the cut layer's Keras output is
     * (N, in_c), in_h = in_w = 1, pool flatten): HEAD.h5 has no Flatten, its first Dense takes
     * batch_input_shape [null, in_c]. 0: a map, [null, in_h, in_w, in_c] into Flatten/pooling. */
    int vec_in;
    int n_classes;         /* >= 2 */
    int n_layers;          /* n_hidden + 1 Dense layers */
    int dims[FC_HEAD_MAX_LAYERS + 1];
    float *w[FC_HEAD_MAX_LAYERS];
    float *b[FC_HEAD_MAX_LAYERS];
    /* provenance recorded in HEAD.h5 */
    char fingerprint[65];
    char **class_names;    /* n_classes strings, owned (may be NULL) */
    char *backbone_json;   /* JSON object: arch, layer, in_h, in_w, preprocess, resize ... */
    char *config_json;     /* read from HEAD.h5 only: the training settings (featcache_config), or NULL */
    char *result_json;     /* which epoch's weights these are and its metrics (featcache_result), or NULL */
    float l2;              /* kernel L2 factor it was trained with (part of Keras's loss) */
} fc_head;

/* Names <-> enums. Return 0 on success, -1 if unknown. */
int fc_pool_parse(const char *s, fc_pool *out);
const char *fc_pool_name(fc_pool p);
int fc_hact_parse(const char *s, fc_act *out);
const char *fc_hact_name(fc_act a);
/* "256", "256,128", "0" (linear). sep is the list separator (',' or ':'). */
int fc_hidden_parse(const char *s, char sep, fc_head_arch *arch);

static inline int fc_head_out_units(int n_classes) { return n_classes == 2 ? 1 : n_classes; }
/* Pooled input size for a feature map. */
size_t fc_head_in_dim(fc_pool pool, int h, int w, int c);

/* Allocates weights (zeroed). */
int fc_head_create(const fc_head_arch *arch, int h, int w, int c, int n_classes,
                   fc_head **out, fc_status *st);
void fc_head_free(fc_head *hd);
int fc_head_set_classes(fc_head *hd, char *const *names, int n, fc_status *st);
/* Keras glorot_uniform kernels (limit sqrt(6/(fan_in+fan_out))), zero biases. */
void fc_head_init_glorot(fc_head *hd, uint64_t seed);
size_t fc_head_n_params(const fc_head *hd);
/* Copy weights of src into dst (same architecture). */
void fc_head_copy_weights(fc_head *dst, const fc_head *src);

/* Pooling: x is (n, h, w, c) NHWC, out is (n, dims0). */
void fc_pool_forward(fc_pool pool, const float *x, size_t n, int h, int w, int c, float *out);

/* ---- layer passes ---- */
/* inp is (B, C), w is (C, OC), b is (OC), out is (B, OC). */
void fc_dense_forward(float *out, const float *inp, const float *w, const float *b,
                      int B, int C, int OC);
/* dout is (B, OC); dw (C, OC) and db (OC) are overwritten; dinp (B, C) if not NULL. */
void fc_dense_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                       const float *w, int B, int C, int OC);
/* Elementwise activation, in place allowed. */
void fc_act_forward(float *out, const float *inp, size_t n, fc_act act);
/* dinp = dout * act'(.) given the activation's OUTPUT y (relu, tanh, sigmoid, linear). */
void fc_act_backward(float *dinp, const float *dout, const float *y, size_t n, fc_act act);
/* Inverted dropout mask for a (B, C) activation: mask = 0 or 1/(1-rate), keep iff u >= rate
 * (tf.nn.dropout). key from fc_rng_key(seed, FC_RNG_DROPOUT, layer, epoch<<32|step). */
void fc_dropout_mask(float *mask, int B, int C, float rate, uint64_t key);

/* ---- losses (loss.c) ----
 * logits is (B, U) with U = 1 (sigmoid + binary cross-entropy) or U = K (softmax +
 * categorical cross-entropy). y is (B) class indices, sw (B) sample weights or NULL.
 * Returns the sum over rows of sw*loss (Keras clips probabilities to [1e-7, 1-1e-7]),
 * adds the number of correct predictions to *correct, and when dlogits is not NULL
 * writes d(mean loss)/d(logits) = sw*(p - onehot)/B. */
double fc_loss_forward_backward(const float *logits, const int32_t *y, const float *sw, int B,
                                int U, float *dlogits, long *correct);
/* Probabilities from logits: sigmoid (U = 1) or softmax (U > 1), in place allowed. */
void fc_probs(float *p, const float *logits, int B, int U);
/* Predicted class of one probability row. */
int fc_argmax_class(const float *p, int U);

/* Inference on stored features: x (n, in_h, in_w, in_c) -> logits (n, U), pooled and
 * run in chunks with scratch allocated once per call. */
int fc_head_logits(const fc_head *hd, const float *x, size_t n, float *logits, fc_status *st);
/* The first Dense layer runs on the nonzero inputs only (sparse.h), so any split of the
 * rows gives the same bits. fc_head_logits_from_z0 finishes from precomputed first-layer
 * pre-activations z0 (n, dims[1]; overwritten by the activation) with the same bits as
 * fc_head_logits (the trainer computes z0 on its threads). */
int fc_head_logits_from_z0(const fc_head *hd, float *z0, size_t n, float *logits, fc_status *st);
/* Same, then probabilities (sigmoid/softmax). */
int fc_head_predict(const fc_head *hd, const float *x, size_t n, float *probs, fc_status *st);

#endif
