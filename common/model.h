/* model.h - loading backbones into an fc_graph.
 *
 * spec forms (DESIGN.md "MODEL"):
 *   PATH.h5            Keras full model (model_config + model_weights), Keras 2.2.4 or tf.keras
 *   ARCH:PATH.h5       Keras weights-only application file with a built-in topology
 *                      (ARCH = vgg16, vgg19, resnet50, resnet101, resnet152, inception_v3,
 *                      mobilenet_v2, mobilenet (v1; mobilenet_v1 is read as mobilenet))
 *   PATH.h5            weights-only files are also detected from their layer names
 *   DIR or DIR/model.json  TF.js layers model (float32, uint8/uint16 quantized shards)
 *   mobilenet_v2 | inception_v3   the pretrained default in the fetch-model cache (else the
 *                      keras.applications weights file in $KERAS_HOME/models or ~/.keras/models)
 *   vgg16 | vgg19 | resnet50 | resnet101 | resnet152 | mobilenet   the keras.applications
 *                      weights file in ~/.keras/models
 * The graph is not finalized; call fc_graph_finalize() with the cut layer and size. */
#ifndef FC_MODEL_H
#define FC_MODEL_H

#include "graph.h"

int fc_model_load(const char *spec, fc_graph **out, fc_status *st);
/* The spec with its file path made absolute (symlinks resolved), as fc_model_load would read
 * it: PATH or ARCH:PATH; 0 and out "" for a bare name, or a path that does not resolve. */
int fc_model_abspath(const char *spec, char *out, size_t cap);

/* Individual loaders (model_keras.c, model_tfjs.c). */
int fc_model_load_keras_h5(const char *path, fc_graph **out, fc_status *st);
int fc_model_load_keras_weights(const char *arch, const char *path, fc_graph **out, fc_status *st);
int fc_model_load_tfjs(const char *dir_or_json, fc_graph **out, fc_status *st);

/* The cut extract makes by default for an architecture (fc_graph.arch), NULL for "the
 * model's output": the fetched nsfwjs defaults are whole 5-class classifiers, so their
 * conv base, what keras.applications gives with include_top=False (out_relu, mixed10). */
const char *fc_model_default_layer(const char *arch);

/* Directory holding fetched default models: $XDG_CACHE_HOME/featcache/models or
 * ~/.cache/featcache/models. */
int fc_model_cache_dir(char *buf, size_t cap, fc_status *st);

#endif
