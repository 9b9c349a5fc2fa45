/* head_h5.c - write and read HEAD.h5 (Keras 2.2.4 full-model layout, see head_h5.h). */
#include "head_h5.h"

#include <hdf5.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/cmd/opts.h"
#include "../common/cmd/settings.h"
#include "../common/outtmp.h"
#include "../common/h5guard.h"
#include "../common/h5util.h"
#include "metrics.h"

/* Shortest decimal that reads back as the same float, as a double (so JSON shows 2e-05,
 * not 1.9999999494757503e-05). */
static double nice_num(float f) {
    char buf[32];
    for (int p = 6; p < 10; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)f);
        if ((float)strtod(buf, NULL) == f) break;
    }
    return strtod(buf, NULL);
}

/* Text that is not plain ASCII (class names, a store's path) is labelled UTF-8; h5py and
 * Keras read either label as the same bytes. */
static int is_ascii(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80) return 0;
    return 1;
}

static int put_str_attr(hid_t loc, const char *name, const char *s) {
    size_t len = strlen(s);
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR), a = -1;
    int ok = t >= 0 && sp >= 0 && H5Tset_size(t, len ? len : 1) >= 0 && H5Tset_strpad(t, H5T_STR_NULLPAD) >= 0 &&
             (is_ascii(s) || H5Tset_cset(t, H5T_CSET_UTF8) >= 0) &&
             (a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, t, len ? s : "") >= 0;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return ok ? 0 : -1;
}

/* Array of n fixed-length strings (numpy S<maxlen>); n may be 0. */
static int put_strlist_attr(hid_t loc, const char *name, char **list, int n) {
    size_t maxlen = 1;
    for (int i = 0; i < n; i++) maxlen = strlen(list[i]) > maxlen ? strlen(list[i]) : maxlen;
    char *buf = calloc(n > 0 ? (size_t)n : 1, maxlen);
    if (!buf) return -1;
    for (int i = 0; i < n; i++) memcpy(buf + (size_t)i * maxlen, list[i], strlen(list[i]));
    hsize_t dim = (hsize_t)n;
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate_simple(1, &dim, NULL), a = -1;
    int ok = t >= 0 && sp >= 0 && H5Tset_size(t, maxlen) >= 0 && H5Tset_strpad(t, H5T_STR_NULLPAD) >= 0 &&
             (a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             (n == 0 || H5Awrite(a, t, buf) >= 0);
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    free(buf);
    return ok ? 0 : -1;
}

static int put_dataset(hid_t loc, const char *name, const float *data, int rank, const hsize_t *dims) {
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t sp = H5Screate_simple(rank, dims, NULL), d = -1;
    int ok = sp >= 0 && (d = H5Dcreate2(loc, name, H5T_IEEE_F32LE, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    H5Pclose(lcpl);
    return ok ? 0 : -1;
}

/* in_dim > 0: the Sequential's first layer, which carries the input shape [null, in_dim]
 * (and dtype) after name and trainable, where Keras 2.2.4's Layer.get_config puts them. */
static json_t *dense_json(const char *name, int units, const char *act, float l2, int in_dim) {
    json_t *init = json_pack("{s:s, s:{s:f, s:s, s:s, s:n}}", "class_name", "VarianceScaling", "config",
                             "scale", 1.0, "mode", "fan_avg", "distribution", "uniform", "seed");
    json_t *reg = l2 > 0 ? json_pack("{s:s, s:{s:f, s:f}}", "class_name", "L1L2", "config", "l1", 0.0, "l2", nice_num(l2))
                         : json_null();
    json_t *cfg = json_pack("{s:s, s:b}", "name", name, "trainable", 1);
    if (in_dim > 0) {
        json_object_set_new(cfg, "batch_input_shape", json_pack("[n,i]", in_dim));
        json_object_set_new(cfg, "dtype", json_string("float32"));
    }
    json_t *rest = json_pack("{s:i, s:s, s:b, s:o, s:{s:s, s:{}}, s:o, s:n, s:n, s:n, s:n}", "units", units,
                             "activation", act, "use_bias", 1, "kernel_initializer", init,
                             "bias_initializer", "class_name", "Zeros", "config", "kernel_regularizer", reg,
                             "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint");
    if (!cfg || !rest || json_object_update(cfg, rest)) {
        json_decref(cfg), json_decref(rest);
        return NULL;
    }
    json_decref(rest);
    return json_pack("{s:s, s:o}", "class_name", "Dense", "config", cfg);
}

/* model_config JSON and the layer names (Keras 2.2.4 auto-naming: flatten_1, dense_1 ...).
 * Vector features (vec_in) have no Flatten: in Keras the backbone's output there is already
 * (N, C), which Flatten refuses (it needs rank >= 3), so the first Dense takes it. */
static json_t *model_json(const fc_head *hd, float l2, char names[][48], int *n_names) {
    json_t *layers = json_array();
    const char *pool_cls[3] = {"Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D"};
    const char *pool_name[3] = {"flatten_1", "global_average_pooling2d_1", "global_max_pooling2d_1"};
    int n = 0, dense = 0, drop = 0;
    if (!hd->vec_in) {
        snprintf(names[n++], 48, "%s", pool_name[hd->arch.pool]);
        json_array_append_new(layers, json_pack("{s:s, s:{s:s, s:b, s:[n,i,i,i], s:s, s:s}}", "class_name",
                                                pool_cls[hd->arch.pool], "config", "name", names[0], "trainable", 1,
                                                "batch_input_shape", hd->in_h, hd->in_w, hd->in_c, "dtype",
                                                "float32", "data_format", "channels_last"));
    }
    for (int l = 0; l < hd->n_layers; l++) {
        int last = l + 1 == hd->n_layers;
        snprintf(names[n], 48, "dense_%d", ++dense);
        const char *act = last ? (hd->dims[l + 1] == 1 ? "sigmoid" : "softmax") : fc_hact_name(hd->arch.act);
        json_array_append_new(layers, dense_json(names[n++], hd->dims[l + 1], act, l2,
                                                 hd->vec_in && l == 0 ? hd->in_c : 0));
        if (!last && hd->arch.dropout > 0) {
            snprintf(names[n], 48, "dropout_%d", ++drop);
            json_array_append_new(layers, json_pack("{s:s, s:{s:s, s:b, s:f, s:n, s:n}}", "class_name", "Dropout",
                                                    "config", "name", names[n++], "trainable", 1, "rate",
                                                    nice_num(hd->arch.dropout), "noise_shape", "seed"));
        }
    }
    *n_names = n;
    return json_pack("{s:s, s:{s:s, s:o}}", "class_name", "Sequential", "config", "name", "sequential_1",
                     "layers", layers);
}

static json_t *training_json(const fc_head *hd, const fc_optim *o) {
    json_t *oc;
    if (o->kind == FC_OPTIM_ADAM)
        oc = json_pack("{s:s, s:{s:f, s:f, s:f, s:f, s:f, s:b}}", "class_name", "Adam", "config", "lr", nice_num(o->lr),
                       "beta_1", nice_num(o->beta1), "beta_2", nice_num(o->beta2), "decay", 0.0, "epsilon", nice_num(o->eps),
                       "amsgrad", 0);
    else if (o->kind == FC_OPTIM_SGD)
        oc = json_pack("{s:s, s:{s:f, s:f, s:f, s:b}}", "class_name", "SGD", "config", "lr", nice_num(o->lr), "momentum",
                       nice_num(o->momentum), "decay", 0.0, "nesterov", o->nesterov);
    else
        oc = json_pack("{s:s, s:{s:f, s:f, s:f, s:f}}", "class_name", "RMSprop", "config", "lr", nice_num(o->lr), "rho",
                       nice_num(o->rho), "decay", 0.0, "epsilon", nice_num(o->eps));
    int bin = hd->dims[hd->n_layers] == 1;
    return json_pack("{s:o, s:s, s:[s], s:n, s:n}", "optimizer_config", oc, "loss",
                     bin ? "binary_crossentropy" : "categorical_crossentropy", "metrics", "acc",
                     "sample_weight_mode", "loss_weights");
}

static char *dump(json_t *j) {
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(j);
    return s;
}

static int write_weights(hid_t f, const fc_head *hd, char names[][48], int n_names) {
    hid_t mw = H5Gcreate2(f, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (mw < 0) return -1;
    char *lp[2 * FC_HEAD_MAX_LAYERS + 2];
    for (int i = 0; i < n_names; i++) lp[i] = names[i];
    int ok = put_strlist_attr(mw, "layer_names", lp, n_names) == 0 && put_str_attr(mw, "backend", "tensorflow") == 0 &&
             put_str_attr(mw, "keras_version", "2.2.4") == 0;
    int l = 0;
    for (int i = 0; ok && i < n_names; i++) {
        hid_t g = H5Gcreate2(mw, names[i], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) { ok = 0; break; }
        if (strncmp(names[i], "dense_", 6) == 0) {
            char k[128], b[128];
            snprintf(k, sizeof k, "%s/kernel:0", names[i]);
            snprintf(b, sizeof b, "%s/bias:0", names[i]);
            char *wn[2] = {k, b};
            hsize_t kd[2] = {(hsize_t)hd->dims[l], (hsize_t)hd->dims[l + 1]}, bd[1] = {(hsize_t)hd->dims[l + 1]};
            ok = put_strlist_attr(g, "weight_names", wn, 2) == 0 && put_dataset(g, k, hd->w[l], 2, kd) == 0 &&
                 put_dataset(g, b, hd->b[l], 1, bd) == 0;
            l++;
        } else {
            ok = put_strlist_attr(g, "weight_names", NULL, 0) == 0;
        }
        H5Gclose(g);
    }
    H5Gclose(mw);
    return ok ? 0 : -1;
}

int fc_head_save(const fc_head *hd, const char *path, const fc_optim *opt, float l2,
                 const char *config_json, fc_status *st) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char names[2 * FC_HEAD_MAX_LAYERS + 2][48];
    int n_names = 0, rc = FC_OK;
    if (l2 == 0.0f) l2 = hd->l2;
    char *model = dump(model_json(hd, l2, names, &n_names));
    char *train = opt ? dump(training_json(hd, opt)) : NULL;
    json_t *cl = json_array();
    int lost = 0; /* json_string refuses a name that is not UTF-8: never drop it silently */
    for (int i = 0; i < hd->n_classes; i++)
        lost |= json_array_append_new(cl, json_string(hd->class_names ? hd->class_names[i] : "")) != 0;
    char *classes = lost ? (json_decref(cl), NULL) : dump(cl);
    /* a fresh mkstemp file next to path (never a fixed name: that could be a symlink to
     * someone's store), renamed over path when complete: an interrupted save never leaves
     * a torn file */
    char *tmp = NULL;
    hid_t f = -1;
    if (!model || !classes || (opt && !train)) {
        rc = fc_fail(st, lost ? FC_ERR_FORMAT : FC_ERR_NOMEM, "%s: cannot build the model JSON%s", path,
                     lost ? " (a class name is not UTF-8)" : "");
        goto out;
    }
    int fd = fc_outtmp_create(path, &tmp, st);
    if (fd < 0) {
        rc = st->code;
        goto out;
    }
    fc_outtmp_share(fd);
    close(fd);
    /* HDF5's default (earliest) file format keeps an attribute within its object header,
     * 64 KiB at most: class_names of ~1000 long names exceed it. Such a head is written in
     * the HDF5 1.8 format, whose dense attribute storage has no such limit (any HDF5 >= 1.8,
     * h5py and Keras read it); every other head keeps the default format. */
    size_t longest = strlen(model) > strlen(classes) ? strlen(model) : strlen(classes);
    if (train && strlen(train) > longest) longest = strlen(train);
    if (config_json && strlen(config_json) > longest) longest = strlen(config_json);
    if (hd->backbone_json && strlen(hd->backbone_json) > longest) longest = strlen(hd->backbone_json);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && longest > 60000) H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18);
    errno = 0;
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl >= 0 ? fapl : H5P_DEFAULT);
    if (fapl >= 0) H5Pclose(fapl);
    char why[160];
    if (f < 0) {
        const char *r = fc_write_reason(errno, 0, why, sizeof why);
        rc = fc_fail(st, FC_ERR_IO, "%s: cannot create HDF5 file %s: %s", path, tmp, r ? r : "HDF5 error");
        goto out;
    }
    errno = 0;
    int ok = put_str_attr(f, "keras_version", "2.2.4") == 0 && put_str_attr(f, "backend", "tensorflow") == 0 &&
             put_str_attr(f, "model_config", model) == 0 && (!train || put_str_attr(f, "training_config", train) == 0) &&
             put_str_attr(f, "featcache_fingerprint", hd->fingerprint) == 0 &&
             put_str_attr(f, "class_names", classes) == 0 &&
             put_str_attr(f, "featcache_backbone", hd->backbone_json ? hd->backbone_json : "{}") == 0 &&
             (!config_json || put_str_attr(f, "featcache_config", config_json) == 0) &&
             (!hd->result_json || put_str_attr(f, "featcache_result", hd->result_json) == 0) &&
             write_weights(f, hd, names, n_names) == 0;
    if (H5Fclose(f) < 0) ok = 0;
    if (!ok) { /* errno from a failed write (disk full, ulimit -f), else HDF5's own trouble */
        const char *r = fc_write_reason(errno, 1, why, sizeof why);
        rc = fc_fail(st, FC_ERR_IO, "%s: cannot write HDF5 file %s: %s", path, tmp, r ? r : "HDF5 error");
        goto out;
    }
    rc = fc_outtmp_commit(tmp, path, st);
out:
    if (rc) fc_outtmp_abort(tmp);
    else free(tmp);
    free(model), free(train), free(classes);
    return rc;
}

/* ---- reading ---- */

/* A scalar string attribute (fixed- or variable-length) as a malloc'd C string;
 * NULL with st set if missing or not a string. */
static char *get_str_attr(hid_t loc, const char *name, const char *path, fc_status *st) {
    char *out = NULL;
    if (H5Aexists(loc, name) <= 0) {
        fc_fail(st, FC_ERR_FORMAT, "%s: attribute '%s' missing (not a featcache/Keras head?)", path, name);
        return NULL;
    }
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = a >= 0 ? H5Aget_type(a) : -1;
    hid_t sp = a >= 0 ? H5Aget_space(a) : -1;
    if (t < 0 || sp < 0 || H5Tget_class(t) != H5T_STRING || H5Sget_simple_extent_npoints(sp) != 1) {
        fc_fail(st, FC_ERR_FORMAT, "%s: attribute '%s' is not a string", path, name);
        goto out;
    }
    if (H5Tis_variable_str(t) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t)); /* h5py writes str as UTF-8 */
        char *v = NULL;
        if (H5Aread(a, mt, &v) >= 0 && v) out = fc_strdup(v, st);
        if (v) H5free_memory(v);
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(t);
        if (n == 0 || n > (16u << 20)) {
            fc_fail(st, FC_ERR_FORMAT, "%s: attribute '%s' has a bad size %zu", path, name, n);
            goto out;
        }
        hid_t mt = H5Tcopy(t); /* read the stored bytes as they are, terminate here */
        out = fc_calloc(n + 1, 1, st);
        if (out && H5Aread(a, mt, out) < 0) free(out), out = NULL;
        H5Tclose(mt);
    }
    if (!out && st->code == FC_OK) fc_fail(st, FC_ERR_FORMAT, "%s: cannot read attribute '%s'", path, name);
out:
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return out;
}

/* Reads dataset `name` under loc: must be float with exactly the given dims, and store
 * them (fc_h5_check_extent). dst NULL: only checks. */
static int get_weights(hid_t loc, const char *name, float *dst, int rank, const hsize_t *want,
                       const char *path, fc_status *st) {
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return fc_fail(st, FC_ERR_FORMAT, "%s: weights '%s' missing", path, name);
    hid_t d = fc_h5_dopen(loc, name), sp = d >= 0 ? H5Dget_space(d) : -1, t = d >= 0 ? H5Dget_type(d) : -1;
    hsize_t dims[32] = {0};
    int r = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1, ok = 0;
    int got = r >= 0 && r <= 32 ? H5Sget_simple_extent_dims(sp, dims, NULL) : -1;
    int is_float = t >= 0 && H5Tget_class(t) == H5T_FLOAT;
    if (r == rank && got == rank && is_float) {
        ok = 1;
        for (int i = 0; i < rank; i++) ok &= dims[i] == want[i];
    }
    if (!ok) { /* shapes as Keras and h5py print them: (3,) (392, 8) */
        char have[400] = "?", exp[100];
        if (got >= 0) {
            int n = snprintf(have, sizeof have, "(");
            for (int i = 0; i < got && n < (int)sizeof have - 40; i++)
                n += snprintf(have + n, sizeof have - n, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
            snprintf(have + n, sizeof have - n, "%s)", got == 1 ? "," : "");
        }
        if (rank > 1)
            snprintf(exp, sizeof exp, "(%llu, %llu)", (unsigned long long)want[0], (unsigned long long)want[1]);
        else
            snprintf(exp, sizeof exp, "(%llu,)", (unsigned long long)want[0]);
        if (!is_float && got >= 0)
            fc_fail(st, FC_ERR_FORMAT, "%s: weights '%s' are not floating point (shape %s; expected float32 %s)",
                    path, name, have, exp);
        else
            fc_fail(st, FC_ERR_FORMAT, "%s: weights '%s' have shape %s, expected %s", path, name, have, exp);
    } else if (fc_h5_check_extent(d, (size_t)want[0] * (rank > 1 ? (size_t)want[1] : 1) * sizeof(float), name, st)) {
        fc_wrap(st, "%s", path);
        ok = 0;
    } else if (dst && fc_h5_dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, dst) < 0) {
        fc_fail(st, FC_ERR_FORMAT, "%s: cannot read weights '%s'", path, name);
        ok = 0;
    }
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    return ok ? FC_OK : st->code;
}

typedef struct {
    fc_head_arch arch;
    int h, w, c, units[FC_HEAD_MAX_LAYERS], n_dense;
    int vec;  /* the first layer is a Dense on [null, c] (fc_head.vec_in) */
    char names[FC_HEAD_MAX_LAYERS][128];
    const char *out_act;
    float l2;
} parsed_model;

static int parse_layer(json_t *ly, int idx, parsed_model *pm, const char *path, fc_status *st) {
    const char *cls = json_string_value(json_object_get(ly, "class_name"));
    json_t *cfg = json_object_get(ly, "config");
    if (!cls || !json_is_object(cfg)) return fc_fail(st, FC_ERR_FORMAT, "%s: model_config layer %d malformed", path, idx);
    if (idx == 0 && !strcmp(cls, "Dense")) { /* vector features: no Flatten before it */
        json_t *bis = json_object_get(cfg, "batch_input_shape");
        json_t *d = json_array_get(bis, 1);
        if (!json_is_array(bis) || json_array_size(bis) != 2 || !json_is_integer(d))
            return fc_fail(st, FC_ERR_FORMAT, "%s: a head starting with Dense needs batch_input_shape [null, c]", path);
        if (json_integer_value(d) < 1 || json_integer_value(d) > FC_MAX_DIM)
            return fc_fail(st, FC_ERR_FORMAT, "%s: bad input dimension %lld", path, (long long)json_integer_value(d));
        pm->arch.pool = FC_POOL_FLATTEN; /* of a 1x1xC map: the vector itself */
        pm->h = pm->w = 1, pm->c = (int)json_integer_value(d), pm->vec = 1;
        /* and on to the Dense itself, below */
    } else if (idx == 0) {
        json_t *bis = json_object_get(cfg, "batch_input_shape");
        if (!strcmp(cls, "Flatten")) pm->arch.pool = FC_POOL_FLATTEN;
        else if (!strcmp(cls, "GlobalAveragePooling2D")) pm->arch.pool = FC_POOL_GAP;
        else if (!strcmp(cls, "GlobalMaxPooling2D")) pm->arch.pool = FC_POOL_GMP;
        else return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: first layer is %s; a head starts with Flatten, global pooling "
                            "or (on vector features) Dense", path, cls);
        if (!json_is_array(bis) || json_array_size(bis) != 4 || !json_is_integer(json_array_get(bis, 1)) ||
            !json_is_integer(json_array_get(bis, 2)) || !json_is_integer(json_array_get(bis, 3)))
            return fc_fail(st, FC_ERR_FORMAT, "%s: batch_input_shape must be [null, h, w, c]", path);
        json_int_t d[3];
        for (int i = 0; i < 3; i++) {
            d[i] = json_integer_value(json_array_get(bis, (size_t)i + 1));
            if (d[i] < 1 || d[i] > FC_MAX_DIM) return fc_fail(st, FC_ERR_FORMAT, "%s: bad input dimension %lld", path, (long long)d[i]);
        }
        pm->h = (int)d[0], pm->w = (int)d[1], pm->c = (int)d[2];
        return FC_OK;
    }
    if (!strcmp(cls, "Dropout")) {
        double rate = json_number_value(json_object_get(cfg, "rate"));
        if (!(rate >= 0 && rate < 1)) return fc_fail(st, FC_ERR_FORMAT, "%s: Dropout rate %g out of [0, 1)", path, rate);
        pm->arch.dropout = (float)rate;
        return FC_OK;
    }
    if (strcmp(cls, "Dense")) return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: layer class %s is not supported in a head", path, cls);
    const char *name = json_string_value(json_object_get(cfg, "name"));
    const char *act = json_string_value(json_object_get(cfg, "activation"));
    json_t *units = json_object_get(cfg, "units");
    if (!name || !act || !json_is_integer(units) || json_integer_value(units) < 1 || json_integer_value(units) > 65536 ||
        strlen(name) >= 100)
        return fc_fail(st, FC_ERR_FORMAT, "%s: Dense layer %d lacks name/activation/units", path, idx);
    if (pm->n_dense >= FC_HEAD_MAX_LAYERS) return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: too many Dense layers", path);
    if (pm->n_dense > 0) { /* the previous Dense was hidden */
        fc_act a;
        if (fc_hact_parse(pm->out_act, &a)) return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: hidden activation '%s'", path, pm->out_act);
        if (pm->n_dense > 1 && a != pm->arch.act) return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: mixed hidden activations", path);
        pm->arch.act = a;
    }
    json_t *reg = json_object_get(json_object_get(cfg, "kernel_regularizer"), "config");
    double l2 = json_number_value(json_object_get(reg, "l2"));
    if (l2 > 0 && l2 <= 1) pm->l2 = (float)l2;
    snprintf(pm->names[pm->n_dense], 128, "%s", name);
    pm->units[pm->n_dense++] = (int)json_integer_value(units);
    pm->out_act = act;
    return FC_OK;
}

static int parse_model(const char *text, parsed_model *pm, const char *path, fc_status *st) {
    json_error_t err;
    json_t *root = json_loads(text, 0, &err);
    int rc = FC_OK;
    memset(pm, 0, sizeof *pm);
    pm->arch.act = FC_ACT_RELU;
    json_t *cfg = json_object_get(root, "config");
    json_t *layers = json_is_array(cfg) ? cfg : json_object_get(cfg, "layers"); /* Keras < 2.2.3 used a list */
    if (!root) rc = fc_fail(st, FC_ERR_FORMAT, "%s: model_config is not JSON: %s (line %d)", path, err.text, err.line);
    else if (!json_is_array(layers) || json_array_size(layers) < 1) /* [Dense(K)]: a linear head on a vector */
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: model_config has no Sequential layer list", path);
    for (size_t i = 0; rc == FC_OK && i < json_array_size(layers); i++)
        rc = parse_layer(json_array_get(layers, i), (int)i, pm, path, st);
    if (rc == FC_OK && pm->n_dense == 0) rc = fc_fail(st, FC_ERR_FORMAT, "%s: no Dense layer", path);
    if (rc == FC_OK) {
        int u = pm->units[pm->n_dense - 1];
        if (!(u == 1 && !strcmp(pm->out_act, "sigmoid")) && !(u > 2 && !strcmp(pm->out_act, "softmax")))
            rc = fc_fail(st, FC_ERR_UNSUPPORTED, "%s: output Dense(%d, %s): need Dense(1, sigmoid) or Dense(K>2, softmax)",
                         path, u, pm->out_act);
    }
    pm->arch.n_hidden = pm->n_dense - 1;
    for (int l = 0; l + 1 < pm->n_dense; l++) pm->arch.hidden[l] = pm->units[l];
    json_decref(root);
    return rc;
}

/* weight_names of a layer group: exactly 2 strings (kernel, bias) copied into k and b. */
static int get_weight_names(hid_t g, char *k, char *b, size_t cap, const char *path, const char *layer,
                            fc_status *st) {
    int rc = FC_ERR_FORMAT;
    hid_t a = H5Aexists(g, "weight_names") > 0 ? H5Aopen(g, "weight_names", H5P_DEFAULT) : -1;
    hid_t t = a >= 0 ? H5Aget_type(a) : -1, sp = a >= 0 ? H5Aget_space(a) : -1;
    if (t < 0 || sp < 0 || H5Tget_class(t) != H5T_STRING || H5Sget_simple_extent_npoints(sp) != 2) {
        fc_fail(st, FC_ERR_FORMAT, "%s: layer '%s' needs weight_names with 2 strings (kernel, bias)", path, layer);
        goto out;
    }
    char *out[2] = {k, b};
    if (H5Tis_variable_str(t) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t)); /* h5py writes str as UTF-8 */
        char *v[2] = {NULL, NULL};
        if (H5Aread(a, mt, v) >= 0 && v[0] && v[1]) {
            for (int i = 0; i < 2; i++) snprintf(out[i], cap, "%s", v[i]);
            rc = FC_OK;
        }
        for (int i = 0; i < 2; i++) if (v[i]) H5free_memory(v[i]);
        H5Tclose(mt);
    } else {
        size_t n = H5Tget_size(t);
        char *buf = n > 0 && n < cap ? calloc(2, n + 1) : NULL;
        hid_t mt = H5Tcopy(t);
        if (buf && H5Aread(a, mt, buf) >= 0) {
            for (int i = 0; i < 2; i++) {
                memcpy(out[i], buf + (size_t)i * n, n);
                out[i][n] = 0;
            }
            rc = FC_OK;
        }
        free(buf);
        H5Tclose(mt);
    }
    if (rc) fc_fail(st, FC_ERR_FORMAT, "%s: cannot read weight_names of layer '%s'", path, layer);
out:
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return rc;
}

static int load_classes(hid_t f, fc_head *hd, const char *path, fc_status *st) {
    if (H5Aexists(f, "class_names") <= 0) { /* a plain Keras model: numbered classes */
        char *names[256];
        char bufs[256][12];
        if (hd->n_classes > 256) return FC_OK;
        for (int i = 0; i < hd->n_classes; i++) snprintf(bufs[i], 12, "%d", i), names[i] = bufs[i];
        return fc_head_set_classes(hd, names, hd->n_classes, st);
    }
    char *text = get_str_attr(f, "class_names", path, st);
    if (!text) return st->code;
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    int rc = FC_OK;
    if (!json_is_array(j) || (int)json_array_size(j) != hd->n_classes) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: class_names must be a JSON list of %d names", path, hd->n_classes);
    } else {
        char **names = fc_calloc((size_t)hd->n_classes, sizeof *names, st);
        if (!names) rc = st->code;
        for (int i = 0; i < hd->n_classes && rc == FC_OK; i++)
            if (!(names[i] = (char *)json_string_value(json_array_get(j, (size_t)i))))
                rc = fc_fail(st, FC_ERR_FORMAT, "%s: class_names[%d] is not a string", path, i);
        if (rc == FC_OK) rc = fc_head_set_classes(hd, names, hd->n_classes, st);
        free(names);
    }
    json_decref(j);
    return rc;
}

/* The Dense layers' weights into hd, whose kernel l is (dims[l], dims[l + 1]); hd NULL:
 * only checks that the file holds them (before anything is allocated for them). */
static int load_dense_weights(hid_t f, fc_head *hd, const size_t *dims, const parsed_model *pm, const char *path,
                              fc_status *st) {
    hid_t mw = H5Lexists(f, "model_weights", H5P_DEFAULT) > 0 ? H5Gopen2(f, "model_weights", H5P_DEFAULT) : -1;
    if (mw < 0) return fc_fail(st, FC_ERR_FORMAT, "%s: group /model_weights missing", path);
    int rc = FC_OK;
    for (int l = 0; l < pm->n_dense && rc == FC_OK; l++) {
        hid_t g = H5Lexists(mw, pm->names[l], H5P_DEFAULT) > 0 ? H5Gopen2(mw, pm->names[l], H5P_DEFAULT) : -1;
        char k[256], b[256];
        if (g < 0) {
            rc = fc_fail(st, FC_ERR_FORMAT, "%s: /model_weights/%s missing", path, pm->names[l]);
            break;
        }
        hsize_t kd[2] = {(hsize_t)dims[l], (hsize_t)dims[l + 1]}, bd[1] = {(hsize_t)dims[l + 1]};
        rc = get_weight_names(g, k, b, sizeof k, path, pm->names[l], st);
        if (rc == FC_OK) rc = get_weights(g, k, hd ? hd->w[l] : NULL, 2, kd, path, st);
        if (rc == FC_OK) rc = get_weights(g, b, hd ? hd->b[l] : NULL, 1, bd, path, st);
        H5Gclose(g);
    }
    H5Gclose(mw);
    return rc;
}

int fc_head_load(const char *path, fc_head **out, fc_status *st) {
    *out = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    fc_head *hd = NULL;
    char *model = NULL, *fp = NULL;
    int rc = FC_OK;
    FILE *probe = fc_fopen_regular(path, NULL, st); /* a FIFO would block H5Fis_hdf5 */
    if (!probe) return st->code;
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0) {
        const char *kind = fc_file_kind(path);
        return fc_fail(st, FC_ERR_FORMAT, "%s: not a head (HEAD.h5, written by featcache train): not an HDF5 file%s%s",
                       path, kind ? " but " : "", kind ? kind : "");
    }
    if (fc_h5_preflight(path, NULL, st)) return st->code; /* libhdf5 can hang: child first */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return fc_fail(st, FC_ERR_FORMAT, "%s: cannot open as HDF5 (corrupt or truncated?)", path);
    parsed_model pm;
    if (!(model = get_str_attr(f, "model_config", path, st))) { rc = st->code; goto out; }
    if ((rc = parse_model(model, &pm, path, st))) goto out;
    /* the sizes come from model_config: the file must hold the weights, and they must fit
     * in memory, before the head is allocated (a few KB of JSON can declare 56 GiB) */
    size_t dims[FC_HEAD_MAX_LAYERS + 1];
    double bytes = 0;
    dims[0] = fc_head_in_dim(pm.arch.pool, pm.h, pm.w, pm.c);
    for (int l = 0; l < pm.n_dense; l++) {
        size_t nw;
        dims[l + 1] = (size_t)pm.units[l];
        if (fc_size_mul(dims[l], dims[l + 1], &nw) || nw > FC_MAX_TENSOR_ELEMS) {
            rc = fc_fail(st, FC_ERR_FORMAT, "%s: Dense layer '%s' of %zu x %zu weights is over the limit of %llu", path,
                         pm.names[l], dims[l], dims[l + 1], (unsigned long long)FC_MAX_TENSOR_ELEMS);
            goto out;
        }
        bytes += ((double)nw + (double)dims[l + 1]) * sizeof(float);
    }
    char what[1024];
    snprintf(what, sizeof what, "%s: the head's weights", path);
    if ((rc = load_dense_weights(f, NULL, dims, &pm, path, st)) || (rc = fc_mem_check(bytes, what, st))) goto out;
    int units = pm.units[pm.n_dense - 1];
    if ((rc = fc_head_create(&pm.arch, pm.h, pm.w, pm.c, units == 1 ? 2 : units, &hd, st))) {
        fc_wrap(st, "%s", path);
        goto out;
    }
    hd->l2 = pm.l2;
    hd->vec_in = pm.vec;
    if ((rc = load_dense_weights(f, hd, dims, &pm, path, st))) goto out;
    if ((rc = load_classes(f, hd, path, st))) goto out;
    if (H5Aexists(f, "featcache_fingerprint") > 0) {
        if (!(fp = get_str_attr(f, "featcache_fingerprint", path, st))) { rc = st->code; goto out; }
        snprintf(hd->fingerprint, sizeof hd->fingerprint, "%s", fp);
    }
    if (H5Aexists(f, "featcache_backbone") > 0 && !(hd->backbone_json = get_str_attr(f, "featcache_backbone", path, st))) {
        rc = st->code;
        goto out;
    }
    if (H5Aexists(f, "featcache_config") > 0 && !(hd->config_json = get_str_attr(f, "featcache_config", path, st))) {
        rc = st->code;
        goto out;
    }
    if (H5Aexists(f, "featcache_result") > 0 && !(hd->result_json = get_str_attr(f, "featcache_result", path, st))) {
        rc = st->code;
        goto out;
    }
out:
    H5Fclose(f);
    free(model), free(fp);
    if (rc) fc_head_free(hd);
    else *out = hd;
    return rc;
}

/* 1 if path is HDF5 with a model_config, and (ours) with one of the attributes only
 * fc_head_save writes. */
static int is_head(const char *path, int ours) {
    fc_status st = {0};
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    FILE *probe = fc_fopen_regular(path, NULL, NULL); /* a FIFO would block H5Fis_hdf5 */
    if (!probe) return 0;
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0 || fc_h5_preflight(path, NULL, &st)) return 0;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return 0;
    int yes = H5Aexists(f, "model_config") > 0 &&
              (!ours || H5Aexists(f, "featcache_fingerprint") > 0 || H5Aexists(f, "featcache_backbone") > 0);
    H5Fclose(f);
    return yes;
}
/* featcache_result as one line: "epoch 5 of 8 run (the lowest val_loss, restored by
 * --patience; stopped early): val_loss 0.3926, val_acc 0.8667, loss 0.2, acc 0.93". */
static void result_text(const char *json, char *out, size_t cap) {
    json_t *j = json_loads(json, 0, NULL);
    if (!json_is_object(j)) {
        snprintf(out, cap, "? (featcache_result is not a JSON object)");
        json_decref(j);
        return;
    }
    int n = snprintf(out, cap, "epoch %lld of %lld run", (long long)json_integer_value(json_object_get(j, "epoch")),
                     (long long)json_integer_value(json_object_get(j, "epochs_run")));
    int restored = json_is_true(json_object_get(j, "restored")), early = json_is_true(json_object_get(j, "stopped_early"));
    if (n >= 0 && (size_t)n < cap && (restored || early))
        n += snprintf(out + n, cap - (size_t)n, " (%s%s%s)", restored ? "the lowest val_loss, restored by --patience" : "",
                      restored && early ? "; " : "", early ? "stopped early" : "");
    static const char *const keys[] = {"val_loss", "val_acc", "loss", "acc"};
    for (int k = 0; k < 4; k++) {
        json_t *v = json_object_get(j, keys[k]);
        char b[FC_KERAS_NUM_CAP];
        if (json_is_number(v) && n >= 0 && (size_t)n < cap)
            n += snprintf(out + n, cap - (size_t)n, "%s %s %s", k ? "," : ":", keys[k],
                          fc_keras_num(json_number_value(v), b));
    }
    json_decref(j);
}


int fc_is_head_file(const char *path) { return is_head(path, 0); }

int fc_is_featcache_head(const char *path) { return is_head(path, 1); }

int fc_head_describe(const char *path, int *handled, fc_status *st) {
    /* a file the pre-flight refuses (an external link, a hostile header) is reported as such:
     * is_head would say "not a head", and the export reader "a Keras model file" */
    if (fc_h5_preflight(path, NULL, st)) return *handled = 1, st->code;
    *handled = fc_is_head_file(path);
    if (!*handled) return FC_OK; /* the caller's own reader says what the file is */
    fc_head *hd = NULL;
    if (fc_head_load(path, &hd, st) || !hd) {
        if (st->code == FC_ERR_FORMAT || st->code == FC_ERR_UNSUPPORTED)
            fc_wrap(st, "%s is a Keras model but not a dense head (for a backbone: featcache layers %s)", path,
                    path);
        if (!hd && st->code == FC_OK) fc_fail(st, FC_ERR_FORMAT, "%s: cannot read the head", path);
        return st->code;
    }
    char line[2048];
    printf("head         %s (Keras full model: keras.models.load_model reads it)\n", path);
    static const char *pools[] = {"Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D"};
    int n = hd->vec_in ? snprintf(line, sizeof line, "input %d (a vector)", hd->in_c)
                       : snprintf(line, sizeof line, "input %dx%dx%d -> %s (%d)", hd->in_h, hd->in_w, hd->in_c,
                                  pools[hd->arch.pool], hd->dims[0]);
    for (int l = 0; l < hd->n_layers && n < (int)sizeof line; l++) {
        int last = l + 1 == hd->n_layers;
        n += snprintf(line + n, sizeof line - (size_t)n, " -> Dense %d %s", hd->dims[l + 1],
                      last ? (hd->dims[l + 1] == 1 ? "sigmoid" : "softmax") : fc_hact_name(hd->arch.act));
        char rate[32];
        fc_fmt_repr_f32(hd->arch.dropout, rate, sizeof rate); /* as runs and the labels show it */
        if (!last && hd->arch.dropout > 0 && n < (int)sizeof line)
            n += snprintf(line + n, sizeof line - (size_t)n, " -> Dropout %s", rate);
    }
    printf("layers       %s\n", line);
    printf("parameters   %zu\n", fc_head_n_params(hd));
    n = snprintf(line, sizeof line, "%d:", hd->n_classes);
    for (int c = 0; c < hd->n_classes && n < (int)sizeof line; c++) {
        const char *nm = hd->class_names ? hd->class_names[c] : "?";
        /* a name with a space, quote or nothing in it is quoted, so the list reads one way */
        if (!nm[0] || strpbrk(nm, " \t\"")) {
            n += snprintf(line + n, sizeof line - (size_t)n, " \"");
            for (const char *p = nm; *p && n < (int)sizeof line; p++)
                n += snprintf(line + n, sizeof line - (size_t)n, *p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
            if (n < (int)sizeof line) n += snprintf(line + n, sizeof line - (size_t)n, "\"");
        } else {
            n += snprintf(line + n, sizeof line - (size_t)n, " %s", nm);
        }
    }
    /* names and settings come from the file: control bytes escaped (fc_fputs_printable) */
    fputs("classes      ", stdout);
    fc_fputs_printable(line, stdout);
    if (hd->config_json) {
        fc_config_text(hd->config_json, line, sizeof line);
        fputs("\ntrained with ", stdout);
        fc_fputs_printable(line, stdout);
    }
    if (hd->result_json) {
        result_text(hd->result_json, line, sizeof line);
        fputs("\nweights      ", stdout);
        fc_fputs_printable(line, stdout);
    }
    fputs("\nfeatures     fingerprint ", stdout);
    fc_fputs_printable(hd->fingerprint[0] ? hd->fingerprint : "- (not trained by featcache)", stdout);
    putchar('\n');
    json_t *bb = hd->backbone_json ? json_loads(hd->backbone_json, 0, NULL) : NULL;
    if (json_is_object(bb)) {
#define BS(k) (json_string_value(json_object_get(bb, k)) ? json_string_value(json_object_get(bb, k)) : "?")
#define BI(k) ((int)json_integer_value(json_object_get(bb, k)))
        snprintf(line, sizeof line, "%s (%s) cut at %s, input %dx%d, resize %s, preprocess %s; weights sha256 %.16s...",
                 BS("arch"), BS("model_path"), BS("layer"), BI("in_h"), BI("in_w"), BS("resize"), BS("preprocess"),
                 BS("model_sha256"));
#undef BS
#undef BI
        fputs("backbone     ", stdout);
        fc_fputs_printable(line, stdout);
        putchar('\n');
    }
    json_decref(bb);
    printf("use          featcache evaluate STORE %s; featcache predict [-m MODEL] --head %s IMAGE... (without -m: "
           "the backbone above, found by its path)\n", path, path);
    fc_head_free(hd);
    return FC_OK;
}
