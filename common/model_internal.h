/* model_internal.h - what the model loaders share (not a public API): the weight-source
 * interface that Keras HDF5, TF.js and built-in-arch loaders plug into, the per-node
 * weight loading with shape checks and hashing, and the Keras-config graph builder. */
#ifndef FC_MODEL_INTERNAL_H
#define FC_MODEL_INTERNAL_H

#include <openssl/evp.h>

#include "graph.h"

/* Looks up variable `var` ("kernel", "bias", "gamma", "moving_mean", ...) of Keras layer
 * `layer`, stored under top-level group `group` (the top-level layer; differs from `layer`
 * for layers of a nested model). expect[i] < 0 = any size (filled in dims). Returns 0
 * with a malloc'd float buffer, 1 when no such weight exists (st untouched), or an
 * fc_code. */
typedef int (*fc_wsrc_get_fn)(void *ctx, const char *group, const char *layer, const char *var,
                              int rank, const int64_t *expect, int64_t *dims, float **out,
                              size_t *count, fc_status *st);

typedef struct fc_wsrc {
    fc_wsrc_get_fn get;   /* NULL = fill weights with seeded random values */
    void *ctx;
    /* Optional: does the source hold weights of a layer with this name? */
    int (*has_layer)(void *ctx, const char *layer);
    const char *file;     /* for messages */
    EVP_MD_CTX *md;       /* sha256 over every weight value, in load order */
    uint64_t rng;         /* random fill state */
} fc_wsrc;

int fc_wsrc_begin(fc_wsrc *ws, fc_status *st);            /* starts the hash */
int fc_wsrc_finish(fc_wsrc *ws, fc_graph *g, fc_status *st); /* writes weights_sha256 */
void fc_wsrc_end(fc_wsrc *ws);                             /* frees the hash context */

/* Weight-loading flags. */
enum { FC_W_BIAS = 1, FC_W_CENTER = 2, FC_W_SCALE = 4 };

/* Loads the weights of a node whose geometry is set (op, kh/kw, filters,
 * depth_multiplier) given its input channel count cin (-1 = unknown): Conv2D `kernel`
 * (kh,kw,cin,filters), DepthwiseConv2D `depthwise_kernel` (kh,kw,cin,mult), Dense
 * `kernel` (in,units), plus `bias` when FC_W_BIAS; BatchNormalization gamma/beta
 * (FC_W_SCALE/FC_W_CENTER), moving_mean, moving_variance. `kvar` overrides the kernel
 * variable name (SeparableConv2D halves). Sets n->params. Errors name the layer. */
int fc_node_load_weights(fc_node *n, int cin, int flags, const char *kvar, fc_wsrc *ws,
                         const char *group, const char *layer, fc_status *st);

/* Reads variable `var` as get_var does for fc_node_load_weights (missing = an error naming
 * the layer; hashed; random values in [lo, hi) without a source). */
int fc_wsrc_get_var(fc_wsrc *ws, const char *group, const char *layer, const char *var, int rank,
                    const int64_t *expect, int64_t *dims, float **out, size_t *count, float lo,
                    float hi, fc_status *st);
/* Adds what a layer's config makes of it (Rescaling's and Normalization's final scale and
 * offset, Keras 3's hard_sigmoid) to the weights' sha256: it changes the features as
 * weights do. `tag` and the count n come first, so that where one part ends and what it
 * means are hashed too. v may be NULL when n is 0. */
int fc_wsrc_hash_tagged(fc_wsrc *ws, const char *tag, const float *v, size_t n, fc_status *st);

/* Builds g from a Keras model JSON ({"class_name", "config"} or a TF.js modelTopology /
 * {"model_config": ...} wrapper). keras_version is the writer's (the .h5 root attribute,
 * the TF.js modelTopology's; NULL unknown): with the config's form it tells Keras 3, whose
 * "hard_sigmoid" differs. `what` names the source in messages. */
int fc_keras_config_build(const char *json, size_t len, const char *keras_version, fc_wsrc *ws,
                          const char *what, fc_graph *g, fc_status *st);

/* Output channel count of node n given its inputs' channel counts (chan[], -1 unknown),
 * in 64 bits: a Concatenate may join one tensor 1024 times, a depthwise layer multiply
 * by 65536 (the caller refuses counts over FC_MAX_DIM * 16). */
int64_t fc_node_out_channels(const fc_graph *g, const fc_node *n, const int *chan);


#endif

/* ---- shared by model_keras_config.c (model structure) and model_keras_layers.c ---- */
#include <jansson.h>

typedef struct fc_kbuild {
    fc_graph *g;
    fc_wsrc *ws;
    const char *what;   /* file name for messages */
    int *chan;          /* output channels per node, -1 unknown */
    int *hw;            /* output height, width per node (2 ints), -1 unknown */
    int chan_cap;
    int depth;          /* nesting depth of models */
    int input;          /* the graph's input node, -1 until created */
    int keras3;         /* written by Keras 3: its activation formulas apply */
} fc_kbuild;

/* One Keras layer to add: its config, resolved input node indices and context. */
typedef struct fc_klayer {
    json_t *cfg;          /* the layer's "config" object */
    const char *name;
    const char *cls;
    const char *group;    /* top-level weight group */
    int trainable;
    const int *inputs;
    int n_inputs;
} fc_klayer;

/* Appends node n (ownership passes to the graph) and records its channel count. */
int fc_kb_add(fc_kbuild *b, fc_node *n, int *idx, fc_status *st);
/* Adds the node(s) for one non-model, non-input layer; *idx = the layer's output node. */
int fc_kb_add_layer(fc_kbuild *b, const fc_klayer *L, int *idx, fc_status *st);
/* Frees what a node owns (for nodes never handed to the graph). */
void fc_node_release(fc_node *n);
/* Keras MobileNetV2- and EfficientNet-style blocks pad with correct_pad() for the input size
 * the model was built at, then run a kxk/2 'valid' convolution (k odd: 3, or EfficientNet's
 * 5): exactly TF 'same' at that size, and what Keras would rebuild at any other --size. Rewrites such pad+conv pairs to 'same' (the pad
 * node becomes an identity) when the pad matches correct_pad at the declared size. */
void fc_kb_fold_correct_pad(fc_kbuild *b);
