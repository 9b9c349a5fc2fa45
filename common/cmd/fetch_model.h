/* fetch_model.h - the pretrained default backbones (npm nsfwjs@4.4.0) that
 * `featcache fetch-model` unwraps into the model cache, and the check of a fetched
 * folder (fetch_model_check.c). */
#ifndef FC_FETCH_MODEL_H
#define FC_FETCH_MODEL_H

#include "../fc.h"

#define FC_NSFWJS_SPEC "nsfwjs@4.4.0"
#define FC_NSFWJS_TARBALL "nsfwjs-4.4.0.tgz"
/* `npm view nsfwjs@4.4.0 dist.integrity` */
#define FC_NSFWJS_INTEGRITY \
    "sha512-krC1fgeTLXtZwgdpKJ0jm7hqv0gTSRQQRL+FhOaxaJ9Wj92t42BO3csO2odwgTAgZgf2RvkwPtp0R8Aa7dc+MA=="
/* Written into every fetched folder; its first line must match for the folder to count
 * as "already fetched". */
#define FC_FETCH_SOURCE_FILE "SOURCE.txt"

/* What fetch-model reports about a fetched TF.js folder. */
typedef struct {
    int n_layers, n_frozen;  /* frozen = config.trainable == false */
    char last_frozen[128];   /* last frozen layer in file (topological) order */
    int in_h, in_w, in_c;    /* InputLayer batch_input_shape */
    size_t weight_bytes;     /* sum of the shard files */
    char weight_dtype[16];   /* storage dtype of the first weight (uint8 when quantized) */
    char keras_version[32];
    void *root;              /* parsed model.json (json_t*), for fc_fetched_layer() */
} fc_fetched_model;

/* Checks that dir holds what fetch-model writes for `name` (SOURCE.txt, LICENSE,
 * model.json with a Keras layers topology, shard files whose sizes match the weights
 * manifest). Fills *m (free with fc_fetched_model_free). */
int fc_fetched_model_check(const char *dir, const char *name, fc_fetched_model *m, fc_status *st);
/* 1 frozen, 0 trainable, -1 no such layer. */
int fc_fetched_layer(const fc_fetched_model *m, const char *layer);
void fc_fetched_model_free(fc_fetched_model *m);

#endif
