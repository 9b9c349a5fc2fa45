/* arch.h - built-in topologies of keras.applications backbones (include_top=False), so
 * that weights-only application files (`vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`
 * and the like) can be loaded, and benchmarks can build real-sized graphs without any
 * file. Layer names are the ones keras.applications gives, so weights map by name
 * (InceptionV3's auto-numbered conv2d_N / batch_normalization_N names are matched from
 * the first number present in the file). Input size is variable (in_h = in_w = 0). */
#ifndef FC_ARCH_H
#define FC_ARCH_H

#include "graph.h"

struct fc_wsrc;

/* "vgg16, vgg19, resnet50, resnet101, resnet152, inception_v3, mobilenet_v2, mobilenet" */
const char *fc_arch_list(void);
int fc_arch_known(const char *arch);

/* The architecture a weights-only file belongs to, from its layer_names, or NULL. */
const char *fc_arch_detect(const char *const *layer_names, int n);

/* Builds `arch` into the empty graph g, taking weights from ws (see model_internal.h).
 * Sets g->arch, g->in_c = 3, g->output. Does not set weights_sha256 (the caller's ws). */
int fc_arch_build(const char *arch, fc_graph *g, struct fc_wsrc *ws, fc_status *st);

/* For benchmarks and tests: builds `arch` with seeded random weights (glorot-uniform
 * kernels, small biases, BN statistics near identity) and sets weights_sha256.
 * Example: fc_graph *g = fc_graph_create(&st); fc_arch_build_random("vgg16", g, 42, &st);
 *          fc_graph_finalize(g, "block5_pool", 150, 150, &st); */
int fc_arch_build_random(const char *arch, fc_graph *g, uint64_t seed, fc_status *st);

#endif
