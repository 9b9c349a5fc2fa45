/* fetch_model_check.c - is a folder a complete fetch-model result? Reads model.json
 * (TF.js layers format) with jansson and checks every field it uses; the shard files'
 * sizes must equal what the weights manifest declares. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fetch_model.h"

#define MAX_MODEL_JSON ((off_t)64 << 20)

/* Bytes one stored element takes: the quantized dtype when present. */
static int dtype_bytes(const char *dt) {
    if (!dt) return 0;
    if (!strcmp(dt, "float32") || !strcmp(dt, "int32")) return 4;
    if (!strcmp(dt, "uint16") || !strcmp(dt, "float16")) return 2;
    if (!strcmp(dt, "uint8") || !strcmp(dt, "bool")) return 1;
    return 0;
}

static int safe_file_name(const char *s) {
    if (!s || !*s || s[0] == '.') return 0;
    for (const char *p = s; *p; p++)
        if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            return 0;
    return 1;
}

static json_t *topology_layers(json_t *root) {
    json_t *topo = json_object_get(root, "modelTopology");
    json_t *cfg = json_object_get(topo, "model_config");
    json_t *layers = json_object_get(json_object_get(cfg ? cfg : topo, "config"), "layers");
    return json_is_array(layers) && json_array_size(layers) > 0 ? layers : NULL;
}

static int check_layers(const char *path, json_t *root, fc_fetched_model *m, fc_status *st) {
    json_t *layers = topology_layers(root);
    if (!layers)
        return fc_fail(st, FC_ERR_FORMAT, "%s: no modelTopology.model_config.config.layers array", path);
    const char *kv = json_string_value(json_object_get(json_object_get(root, "modelTopology"), "keras_version"));
    snprintf(m->keras_version, sizeof m->keras_version, "%s", kv ? kv : "?");
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l) {
        json_t *cfg = json_object_get(l, "config");
        const char *name = json_string_value(json_object_get(l, "name"));
        if (!name || !json_is_object(cfg))
            return fc_fail(st, FC_ERR_FORMAT, "%s: layer %zu has no name or config", path, i);
        m->n_layers++;
        if (json_is_false(json_object_get(cfg, "trainable"))) {
            m->n_frozen++;
            snprintf(m->last_frozen, sizeof m->last_frozen, "%s", name);
        }
        const char *cls = json_string_value(json_object_get(l, "class_name"));
        json_t *shape = json_object_get(cfg, "batch_input_shape");
        if (cls && !strcmp(cls, "InputLayer") && !m->in_c) {
            if (!json_is_array(shape) || json_array_size(shape) != 4)
                return fc_fail(st, FC_ERR_FORMAT, "%s: input layer %s has no 4-D batch_input_shape", path, name);
            m->in_h = (int)json_integer_value(json_array_get(shape, 1));
            m->in_w = (int)json_integer_value(json_array_get(shape, 2));
            m->in_c = (int)json_integer_value(json_array_get(shape, 3));
        }
    }
    if (m->in_c <= 0) return fc_fail(st, FC_ERR_FORMAT, "%s: no InputLayer with a fixed shape", path);
    return 0;
}

/* Bytes a weights group declares, or (size_t)-1 with st set. */
static size_t group_bytes(const char *path, size_t g, json_t *weights, fc_fetched_model *m,
                          fc_status *st) {
    size_t total = 0, i;
    json_t *w;
    json_array_foreach(weights, i, w) {
        json_t *q = json_object_get(w, "quantization"), *shape = json_object_get(w, "shape");
        const char *dt = json_string_value(json_object_get(q ? q : w, "dtype"));
        size_t n = (size_t)dtype_bytes(dt), j;
        json_t *d;
        if (!n || !json_is_array(shape)) {
            fc_fail(st, FC_ERR_FORMAT, "%s: weightsManifest[%zu].weights[%zu]: bad dtype or shape", path, g, i);
            return (size_t)-1;
        }
        json_array_foreach(shape, j, d) {
            json_int_t v = json_integer_value(d);
            if (!json_is_integer(d) || v < 0 || v > FC_MAX_DIM || fc_size_mul(n, (size_t)v, &n) ||
                n > FC_MAX_TENSOR_ELEMS * 4) {
                fc_fail(st, FC_ERR_FORMAT, "%s: weightsManifest[%zu].weights[%zu]: bad shape", path, g, i);
                return (size_t)-1;
            }
        }
        if (fc_size_add(total, n, &total) || total > FC_MAX_TENSOR_ELEMS * 4) {
            fc_fail(st, FC_ERR_FORMAT, "%s: weightsManifest[%zu]: weights too large", path, g);
            return (size_t)-1;
        }
        if (!m->weight_dtype[0]) snprintf(m->weight_dtype, sizeof m->weight_dtype, "%s", dt);
    }
    return total;
}

static int check_weights(const char *dir, const char *path, json_t *root, fc_fetched_model *m,
                         fc_status *st) {
    json_t *man = json_object_get(root, "weightsManifest"), *grp;
    if (!json_is_array(man) || json_array_size(man) == 0)
        return fc_fail(st, FC_ERR_FORMAT, "%s: no weightsManifest", path);
    size_t g;
    json_array_foreach(man, g, grp) {
        json_t *paths = json_object_get(grp, "paths"), *weights = json_object_get(grp, "weights"), *p;
        if (!json_is_array(paths) || !json_is_array(weights))
            return fc_fail(st, FC_ERR_FORMAT, "%s: weightsManifest[%zu] lacks paths or weights", path, g);
        size_t want = group_bytes(path, g, weights, m, st), have = 0, k;
        if (want == (size_t)-1) return st->code;
        json_array_foreach(paths, k, p) {
            const char *f = json_string_value(p);
            char shard[4096];
            struct stat sb;
            if (!safe_file_name(f))
                return fc_fail(st, FC_ERR_FORMAT, "%s: weightsManifest[%zu]: bad shard name", path, g);
            snprintf(shard, sizeof shard, "%s/%s", dir, f);
            if (stat(shard, &sb) != 0 || !S_ISREG(sb.st_mode))
                return fc_fail(st, FC_ERR_FORMAT, "%s: missing weight shard", shard);
            have += (size_t)sb.st_size;
        }
        if (have != want)
            return fc_fail(st, FC_ERR_FORMAT, "%s: weight shards of group %zu hold %zu bytes, the manifest needs %zu",
                           path, g, have, want);
        m->weight_bytes += have;
    }
    return 0;
}

static int check_source(const char *dir, const char *name, fc_status *st) {
    char path[4096], line[512], want[256];
    snprintf(path, sizeof path, "%s/%s", dir, FC_FETCH_SOURCE_FILE);
    FILE *f = fopen(path, "r");
    if (!f) return fc_fail(st, FC_ERR_IO, "%s: missing (not a fetch-model folder)", path);
    int ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    snprintf(want, sizeof want, "%s dist/models/%s %s\n", FC_NSFWJS_SPEC, name, FC_NSFWJS_INTEGRITY);
    if (!ok || strcmp(line, want) != 0)
        return fc_fail(st, FC_ERR_MISMATCH, "%s: does not name %s dist/models/%s", path, FC_NSFWJS_SPEC, name);
    snprintf(path, sizeof path, "%s/LICENSE", dir);
    struct stat sb;
    if (stat(path, &sb) != 0) return fc_fail(st, FC_ERR_IO, "%s: missing (the model's licence)", path);
    return 0;
}

int fc_fetched_model_check(const char *dir, const char *name, fc_fetched_model *m, fc_status *st) {
    memset(m, 0, sizeof *m);
    char path[4096];
    struct stat sb;
    int rc = check_source(dir, name, st);
    if (rc) return rc;
    snprintf(path, sizeof path, "%s/model.json", dir);
    if (stat(path, &sb) != 0) return fc_fail(st, FC_ERR_IO, "%s: missing", path);
    if (sb.st_size > MAX_MODEL_JSON) return fc_fail(st, FC_ERR_FORMAT, "%s: too large", path);
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fc_fail(st, FC_ERR_FORMAT, "%s: bad JSON at line %d: %s", path, jerr.line, jerr.text);
    m->root = root;
    if ((rc = check_layers(path, root, m, st)) || (rc = check_weights(dir, path, root, m, st)))
        fc_fetched_model_free(m);
    return rc;
}

int fc_fetched_layer(const fc_fetched_model *m, const char *layer) {
    json_t *layers = m->root ? topology_layers(m->root) : NULL, *l;
    size_t i;
    json_array_foreach(layers, i, l) {
        const char *name = json_string_value(json_object_get(l, "name"));
        if (name && !strcmp(name, layer))
            return json_is_false(json_object_get(json_object_get(l, "config"), "trainable")) ? 1 : 0;
    }
    return -1;
}

void fc_fetched_model_free(fc_fetched_model *m) {
    if (!m) return;
    json_decref(m->root);
    m->root = NULL;
}
