/* head_h5.h - HEAD.h5: a head saved as a Keras 2.2.4 full model (HDF5).
 *
 * Layout written (what keras.models.load_model reads):
 *   /  attrs keras_version "2.2.4", backend "tensorflow", model_config (JSON of a
 *      Sequential: Flatten|GlobalAveragePooling2D|GlobalMaxPooling2D with
 *      batch_input_shape [null, h, w, c], Dense(act), Dropout, ..., Dense(sigmoid|softmax);
 *      on vector features (fc_head.vec_in) no Flatten: the first Dense has
 *      batch_input_shape [null, c], as Keras takes the output of a GAP/Dense/Flatten cut),
 *      training_config (optimizer, loss, metrics), and featcache's own:
 *      featcache_fingerprint (store fingerprint, hex), class_names (JSON list, label
 *      order), featcache_backbone (JSON: arch, layer, input size, preprocess, resize ...),
 *      featcache_config (JSON of the training config)
 *   /model_weights  attrs layer_names, backend, keras_version
 *   /model_weights/<layer>  attr weight_names ["<layer>/kernel:0", "<layer>/bias:0"]
 *   /model_weights/<layer>/<layer>/kernel:0  (in, units) float32, .../bias:0 (units)
 * All string attributes are fixed-length, as h5py writes numpy bytes. */
#ifndef FC_TRAIN_HEAD_H5_H
#define FC_TRAIN_HEAD_H5_H

#include "head.h"
#include "optim.h"

/* config_json: the training config (JSON object text) or NULL; opt/l2 describe
 * training_config (opt may be NULL). */
int fc_head_save(const fc_head *hd, const char *path, const fc_optim *opt, float l2,
                 const char *config_json, fc_status *st);
/* Reads a HEAD.h5 written by fc_head_save (or the same layout from Keras): every shape,
 * string and JSON field is checked. */
int fc_head_load(const char *path, fc_head **out, fc_status *st);
/* `featcache info HEAD.h5`: for an HDF5 file with a Keras model_config (*handled = 1),
 * prints its layers, parameters, classes, training settings and the features it was
 * trained on; any other file is left alone (*handled = 0, FC_OK). */
int fc_head_describe(const char *path, int *handled, fc_status *st);
/* 1 if path is an HDF5 file with a Keras model_config (a head), else 0. */
int fc_is_head_file(const char *path);
/* 1 if path is a head written by featcache (model_config plus featcache_fingerprint or
 * featcache_backbone): the only HDF5 file train -o and sweep --best replace; any other
 * Keras model (a backbone) is someone's work. */
int fc_is_featcache_head(const char *path);

#endif
