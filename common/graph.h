/* graph.h - the backbone graph IR and its executor.
 *
 * Model loaders (model_keras.c, model_tfjs.c, arch_*.c) build an fc_graph of nodes in
 * topological order (every input index < the node's own index), with weights in Keras
 * layouts. fc_graph_finalize() cuts the graph at a layer, sets the input size, infers and
 * checks shapes and weight sizes, and folds BatchNormalization into the preceding
 * convolution. fc_plan_* then runs batches through it with buffers allocated once.
 *
 * Data is float32 NHWC. Per-image node output shape is (oh, ow, oc); vector outputs
 * (Flatten, Dense, GAP/GMP) have oh = ow = 1 and rank 2. */
#ifndef FC_GRAPH_H
#define FC_GRAPH_H

#include "fc.h"

typedef enum {
    FC_OP_INPUT,
    FC_OP_CONV2D,     /* w: (kh, kw, cin, filters), b: (filters) or NULL */
    FC_OP_DEPTHWISE,  /* w: (kh, kw, cin, depth_multiplier), b: (cin*mult) or NULL */
    FC_OP_BATCHNORM,  /* gamma, beta, mean, var: (c) each (gamma/beta may be NULL) */
    FC_OP_ACTIVATION, /* act/act_max/act_alpha/act_threshold only */
    FC_OP_MAXPOOL,    /* kh,kw, sh,sw, pad */
    FC_OP_AVGPOOL,    /* same; 'same' padding excludes padded cells from the average */
    FC_OP_GAP,        /* global average pool -> (1,1,c), rank 2 (rank 3 with keepdims) */
    FC_OP_GMP,        /* global max pool -> (1,1,c), rank 2 (rank 3 with keepdims) */
    FC_OP_ZEROPAD,    /* pad_t, pad_b, pad_l, pad_r */
    FC_OP_CROP,       /* pad_t, pad_b, pad_l, pad_r are the amounts cropped */
    FC_OP_ADD,        /* n inputs, broadcast: each axis the output's size or 1 */
    FC_OP_MUL,        /* the same; (1,1,c) or (c) against (h,w,c) is the SE gate */
    FC_OP_CONCAT,     /* n inputs, channel axis only (axis -1 / 3) */
    FC_OP_FLATTEN,    /* (h,w,c) -> (h*w*c), row-major as Keras channels_last */
    FC_OP_DENSE,      /* w: (in, units), b: (units) or NULL; rank-2 input */
    FC_OP_IDENTITY,   /* Dropout, InputLayer aliases, linear Activation: pass-through */
    FC_OP_SCALE,      /* y = x * w[ch] + b[ch] (Rescaling, Normalization): w, b (c) each;
                         a loader may give (1) values, finalize broadcasts them */
    FC_OP_RESHAPE,    /* Keras Reshape to target_shape (h, w, c) or (c): the same values in
                         the same (row-major) order, so a pass-through like Flatten */
    FC_OP__COUNT
} fc_op;

typedef enum {
    FC_ACT_LINEAR,
    FC_ACT_RELU,     /* max(x, 0) capped at act_max when act_max > 0 (relu6: act_max=6);
                        act_alpha = negative slope (Keras ReLU negative_slope / LeakyReLU) */
    FC_ACT_SIGMOID,
    FC_ACT_TANH,
    FC_ACT_SOFTMAX,  /* over the last axis */
    FC_ACT_SWISH,    /* x*sigmoid(x) (EfficientNet; Keras "swish", "silu") */
    FC_ACT_HARD_SIGMOID, /* min(1, max(0, 0.2x + 0.5)), "hard_sigmoid" of Keras 2.2.4 / tf.keras 2 */
    FC_ACT_GELU,     /* 0.5x(1 + erf(x/sqrt(2))), Keras "gelu" (approximate=False) */
    FC_ACT_ELU,      /* x > 0 ? x : act_alpha*(exp(x) - 1); "elu" is act_alpha = 1 */
    FC_ACT_SELU,     /* 1.0507009873554805 * elu(x) with alpha 1.6732632423543772 */
    FC_ACT_SOFTPLUS, /* log(exp(x) + 1) */
    FC_ACT_SOFTSIGN, /* x / (|x| + 1) */
    FC_ACT_EXP,      /* exp(x), Keras "exponential" */
    FC_ACT_HARD_SWISH, /* x * relu6(x + 3) / 6, Keras 3 "hard_silu" / "hard_swish" */
    FC_ACT_MISH,     /* x * tanh(softplus(x)) */
    FC_ACT_HARD_SIGMOID3 /* relu6(x + 3) / 6, "hard_sigmoid" of Keras 3 (the last fc_act) */
} fc_act;

typedef enum { FC_PAD_VALID, FC_PAD_SAME } fc_padding;

typedef struct fc_node {
    fc_op op;
    char name[128];        /* Keras layer name; SeparableConv2D's depthwise half is
                              "NAME/depthwise" with hidden=1, its pointwise half is NAME */
    char class_name[48];   /* Keras class, e.g. "Conv2D", for messages and `layers` */
    int hidden;            /* internal node: not listed by `layers`, not a valid cut */
    int trainable;         /* from the model file (1 when unknown) */
    int *inputs;           /* node indices, malloc'd; n_inputs of them */
    int n_inputs;

    /* convolution / pooling geometry */
    int kh, kw, sh, sw, dh, dw;  /* kernel, strides, dilation (1 = none) */
    fc_padding pad;
    int filters;                 /* Conv2D filters, Dense units */
    int depth_multiplier;        /* DepthwiseConv2D */
    int pad_t, pad_b, pad_l, pad_r; /* ZeroPadding2D / Cropping2D amounts */
    int shape[3], shape_rank;    /* Reshape target: (h, w, c) or (c), one may be -1 */
    int keepdims;                /* GAP/GMP: Keras keepdims=True, a (1, 1, c) map */

    /* fused activation (Conv2D/Dense/Activation/ReLU all use these) */
    fc_act act;
    float act_max;       /* 0 = none */
    float act_alpha;     /* negative slope, 0 = none */
    float act_threshold; /* ReLU threshold, usually 0 */

    /* weights, malloc'd float32, owned by the node */
    float *w; size_t w_len;
    float *b; size_t b_len;
    float *gamma, *beta, *mean, *var; /* BatchNormalization, each bn_c long */
    int bn_c;
    float eps;

    /* filled by fc_graph_finalize */
    int oh, ow, oc, rank;
    int64_t macs;        /* multiply-accumulates per image */
    int64_t params;      /* parameters as in the model file (before BN folding) */
} fc_node;

typedef struct fc_graph {
    fc_node *nodes;
    int n_nodes, cap;
    int in_h, in_w, in_c;   /* input size; 0 for h/w = variable (set by --size) */
    int output;             /* output node index (last node unless cut) */
    char arch[32];          /* "vgg16", "inception_v3", "mobilenet_v2", ... (fc_arch_list), or "keras"/"tfjs" */
    char source[4096];      /* the model file/folder it came from */
    unsigned char weights_sha256[32]; /* hash of all weight values in load order */
    int finalized;
} fc_graph;

fc_graph *fc_graph_create(fc_status *st);
void fc_graph_free(fc_graph *g);
/* Appends a copy of *n (taking ownership of its inputs/w/b/gamma/... pointers, which
 * the caller must not free afterwards, even on failure). Returns the index or -1. */
int fc_graph_add(fc_graph *g, const fc_node *n, fc_status *st);
/* Index of the last node named `name` that is not hidden, or -1. */
int fc_graph_find(const fc_graph *g, const char *name);

/* Cut at `layer` (NULL = the model's output), override input size (h, w > 0) when the
 * kept part is fully convolutional, check/infer all shapes and weight sizes, fold BN
 * into a preceding Conv2D/DepthwiseConv2D that has no other consumer, and drop nodes
 * the output does not need. Errors name the layer and the problem. */
int fc_graph_finalize(fc_graph *g, const char *layer, int h, int w, fc_status *st);

/* Output shape after finalize. */
static inline size_t fc_graph_out_elems(const fc_graph *g) {
    const fc_node *o = &g->nodes[g->output];
    return (size_t)o->oh * (size_t)o->ow * (size_t)o->oc;
}
int64_t fc_graph_total_macs(const fc_graph *g);

/* A plan runs batches of up to `batch` images; all buffers are allocated here, once. */
typedef struct fc_plan fc_plan;
fc_plan *fc_plan_create(const fc_graph *g, int batch, int threads, fc_status *st);
/* Executor options (fc_plan_create uses the defaults: all zero). */
typedef struct {
    int winograd; /* 3x3 stride-1 convolutions: 0 = automatic, -1 = never (im2col + GEMM),
                     2 = F(2x2,3x3), 4 = F(4x4,3x3) wherever applicable */
    int block;    /* > 0: cap on GEMM rows / Winograd tiles per block (tests use it to
                     exercise the blocked paths on small inputs); 0 = automatic */
} fc_plan_opts;
fc_plan *fc_plan_create_opts(const fc_graph *g, int batch, int threads,
                             const fc_plan_opts *opts, fc_status *st);
void fc_plan_free(fc_plan *p);
/* in: (n, in_h, in_w, in_c) float32 NHWC, n <= batch; out: (n, fc_graph_out_elems). */
int fc_plan_forward(fc_plan *p, const float *in, int n, float *out, fc_status *st);

/* Naive reference forward (direct loops, no BLAS, no folding shortcuts beyond what
 * finalize did) for tests. */
int fc_graph_forward_naive(const fc_graph *g, const float *in, int n, float *out, fc_status *st);

#endif
