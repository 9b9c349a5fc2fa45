/* model_keras.c - Keras HDF5 files: full models (root attribute model_config + the
 * /model_weights groups) and weights-only files (root attribute layer_names + one group
 * per layer), as written by Keras 2.2.4 (fixed-length strings) and tf.keras / h5py 3
 * (variable-length strings). Weights are looked up by (group, layer, variable) from each
 * group's weight_names attribute. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "h5util.h"
#include "model.h"
#include "model_internal.h"

typedef struct {
    char *group, *layer, *var, *path;
} h5w;

typedef struct {
    hid_t root;
    h5w *w;
    int n, cap;
    const char *file;
    /* w sorted by (group, var, layer) and by layer, ties in file order: lookups take
     * log n, not n (a crafted file may list 10^6 weight names for 20000 layers) */
    const h5w **by_key, **by_layer;
} h5src;

static void h5src_free(h5src *s) {
    for (int i = 0; i < s->n; i++) free(s->w[i].group), free(s->w[i].layer), free(s->w[i].var), free(s->w[i].path);
    free(s->w);
    free(s->by_key), free(s->by_layer);
}

/* a vs b followed by the character tail (0: b alone), as strcmp orders them; a string
 * that starts with b + tail compares equal. */
static int cmp_cat(const char *a, const char *b, char tail) {
    size_t n = strlen(b);
    int c = strncmp(a, b, n);
    if (c) return c;
    unsigned char x = (unsigned char)a[n], t = (unsigned char)tail;
    return x < t ? -1 : x > t;
}

static int by_file_order(const h5w *x, const h5w *y) { return x < y ? -1 : x > y; }

static int cmp_key(const void *a, const void *b) {
    const h5w *x = *(const h5w *const *)a, *y = *(const h5w *const *)b;
    int c = strcmp(x->group, y->group);
    if (!c) c = strcmp(x->var, y->var);
    if (!c) c = strcmp(x->layer, y->layer);
    return c ? c : by_file_order(x, y);
}

static int cmp_layer(const void *a, const void *b) {
    const h5w *x = *(const h5w *const *)a, *y = *(const h5w *const *)b;
    int c = strcmp(x->layer, y->layer);
    return c ? c : by_file_order(x, y);
}

static int h5src_index(h5src *s, fc_status *st) {
    if (!s->n) return 0;
    s->by_key = malloc((size_t)s->n * sizeof *s->by_key);
    s->by_layer = malloc((size_t)s->n * sizeof *s->by_layer);
    if (!s->by_key || !s->by_layer) return fc_fail(st, FC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < s->n; i++) s->by_key[i] = s->by_layer[i] = &s->w[i];
    qsort(s->by_key, (size_t)s->n, sizeof *s->by_key, cmp_key);
    qsort(s->by_layer, (size_t)s->n, sizeof *s->by_layer, cmp_layer);
    return 0;
}

/* First position in by_key at or after (group, var, layer + tail). */
static int key_lower_bound(const h5src *s, const char *group, const char *var, const char *layer, char tail) {
    int lo = 0, hi = s->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, c;
        const h5w *w = s->by_key[mid];
        if (!(c = strcmp(w->group, group)) && !(c = strcmp(w->var, var))) c = cmp_cat(w->layer, layer, tail);
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* "block1_conv1/kernel:0" in group G -> layer "block1_conv1", var "kernel". */
static int add_weight(h5src *s, const char *group, const char *wn, fc_status *st) {
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 256;
        h5w *p = realloc(s->w, (size_t)cap * sizeof *p);
        if (!p) return fc_fail(st, FC_ERR_NOMEM, "out of memory");
        s->w = p, s->cap = cap;
    }
    h5w *w = &s->w[s->n];
    size_t gl = strlen(group), wl = strlen(wn);
    w->group = strdup(group);
    w->path = malloc(gl + wl + 2);
    char *nm = strdup(wn);
    if (!w->group || !w->path || !nm) {
        free(w->group), free(w->path), free(nm);
        return fc_fail(st, FC_ERR_NOMEM, "out of memory");
    }
    snprintf(w->path, gl + wl + 2, "%s/%s", group, wn);
    char *colon = strrchr(nm, ':');
    if (colon && colon > strrchr(nm, '/') ) *colon = 0;
    char *slash = strrchr(nm, '/');
    if (slash) {
        *slash = 0;
        char *prev = strrchr(nm, '/');
        w->layer = strdup(prev ? prev + 1 : nm);
        w->var = strdup(slash + 1);
    } else {
        w->layer = strdup(group);
        w->var = strdup(nm);
    }
    free(nm);
    if (!w->layer || !w->var) {
        free(w->group), free(w->path), free(w->layer), free(w->var);
        return fc_fail(st, FC_ERR_NOMEM, "out of memory");
    }
    s->n++;
    return 0;
}

/* Reads layer_names and every group's weight_names under root. */
static int h5src_init(h5src *s, hid_t root, const char *file, fc_status *st) {
    memset(s, 0, sizeof *s);
    s->root = root, s->file = file;
    char **layers = NULL;
    int nl = 0, rc = fc_h5_attr_strings(root, "layer_names", &layers, &nl, st);
    if (rc) return fc_wrap(st, "%s", file);
    for (int i = 0; i < nl && !rc; i++) {
        if (!layers[i][0] || strchr(layers[i], '/') || H5Lexists(root, layers[i], H5P_DEFAULT) <= 0)
            continue; /* Keras lists layers without weights; their group may be absent */
        hid_t g = H5Gopen2(root, layers[i], H5P_DEFAULT);
        if (g < 0) continue;
        char **wn = NULL;
        int nw = 0;
        if (fc_h5_has_attr(g, "weight_names")) {
            rc = fc_h5_attr_strings(g, "weight_names", &wn, &nw, st);
            if (rc) fc_wrap(st, "%s: layer '%s'", file, layers[i]);
        }
        for (int k = 0; k < nw && !rc; k++) rc = add_weight(s, layers[i], wn[k], st);
        fc_h5_strings_free(wn, nw);
        H5Gclose(g);
    }
    fc_h5_strings_free(layers, nl);
    return rc;
}

/* Does `part` equal `layer` up to a "_N" suffix added by TF1 name uniquification? */
static int same_but_suffix(const char *part, const char *layer) {
    size_t n = strlen(layer);
    if (strncmp(part, layer, n) != 0 || part[n] != '_' || !part[n + 1]) return 0;
    for (const char *p = part + n + 1; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return 1;
}

/* The weight (group, layer, var): the first in file order with that exact layer; else the
 * only one of (group, var) when the group is named after the layer, or the only one whose
 * layer is `layer` + "_N" (TF1's name uniquification); else -1. */
static int h5_find(const h5src *s, const char *group, const char *layer, const char *var) {
    int k = key_lower_bound(s, group, var, layer, 0);
#define SAME_GV(w) (!strcmp((w)->group, group) && !strcmp((w)->var, var))
    if (k < s->n && SAME_GV(s->by_key[k]) && !strcmp(s->by_key[k]->layer, layer)) return (int)(s->by_key[k] - s->w);
    if (!strcmp(group, layer)) { /* every weight of (group, var) is a candidate: exactly one? */
        k = key_lower_bound(s, group, var, "", 0);
        if (k < s->n && SAME_GV(s->by_key[k]) && !(k + 1 < s->n && SAME_GV(s->by_key[k + 1])))
            return (int)(s->by_key[k] - s->w);
        return -1;
    }
    int loose = -1, nloose = 0;
    for (k = key_lower_bound(s, group, var, layer, '_');
         k < s->n && nloose < 2 && SAME_GV(s->by_key[k]) && cmp_cat(s->by_key[k]->layer, layer, '_') == 0; k++)
        if (same_but_suffix(s->by_key[k]->layer, layer)) loose = (int)(s->by_key[k] - s->w), nloose++;
#undef SAME_GV
    return nloose == 1 ? loose : -1;
}

static int h5_get(void *ctx, const char *group, const char *layer, const char *var, int rank,
                  const int64_t *expect, int64_t *dims, float **out, size_t *count,
                  fc_status *st) {
    h5src *s = ctx;
    int i = h5_find(s, group, layer, var);
    if (i < 0) return 1;
    return fc_h5_read_floats(s->root, s->w[i].path, rank, expect, dims, out, count, st);
}

static int h5_has_layer(void *ctx, const char *layer) {
    h5src *s = ctx;
    int lo = 0, hi = s->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(s->by_layer[mid]->layer, layer);
        if (!c) return 1;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

/* Builds the graph from a weights table: config JSON (full model, written by Keras
 * keras_version, NULL unknown) or a built-in arch. */
static int build(const char *path, hid_t root, const char *config, const char *keras_version,
                 const char *arch, fc_graph **out, fc_status *st) {
    h5src src;
    fc_wsrc ws = {h5_get, NULL, h5_has_layer, path, NULL, 0};
    fc_graph *g = NULL;
    int rc = h5src_init(&src, root, path, st);
    if (!rc) rc = h5src_index(&src, st);
    ws.ctx = &src;
    if (rc || (rc = fc_wsrc_begin(&ws, st))) goto out;
    if (!(g = fc_graph_create(st))) {
        rc = st->code ? (int)st->code : FC_ERR_NOMEM;
        goto out;
    }
    if (config) rc = fc_keras_config_build(config, strlen(config), keras_version, &ws, path, g, st);
    else rc = fc_arch_build(arch, g, &ws, st);
    if (rc || (rc = fc_wsrc_finish(&ws, g, st))) goto out;
    if (config) snprintf(g->arch, sizeof g->arch, "keras");
    snprintf(g->source, sizeof g->source, "%s", path);
    *out = g;
    g = NULL;
out:
    fc_graph_free(g);
    fc_wsrc_end(&ws);
    h5src_free(&src);
    return rc;
}

/* Keras 3 saves .keras zip archives; say so instead of "not an HDF5 file". */
static int refuse_keras_zip(const char *path, fc_status *st) {
    unsigned char m[4] = {0};
    FILE *fp = fc_fopen_regular(path, NULL, st); /* a FIFO would block fopen() */
    if (!fp) return st ? (int)st->code : FC_ERR_IO;
    size_t n = fread(m, 1, 4, fp);
    fclose(fp);
    if (n == 4 && m[0] == 'P' && m[1] == 'K' && m[2] == 3 && m[3] == 4)
        return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: a Keras 3 .keras (zip) archive; re-save it in HDF5 form (model.save('model.h5'))", path);
    return 0;
}

int fc_model_load_keras_h5(const char *path, fc_graph **out, fc_status *st) {
    *out = NULL;
    hid_t f, mw = H5I_INVALID_HID;
    char *config = NULL, *version = NULL;
    int rc = refuse_keras_zip(path, st);
    if (rc) return rc;
    rc = fc_h5_open(path, &f, st);
    if (rc) return rc;
    /* featcache's own HDF5 files, passed where a backbone belongs (review 12 B F7) */
    const char *ours = fc_h5_has_attr(f, "featcache_fingerprint") || fc_h5_has_attr(f, "featcache_backbone")
                           ? "a featcache head (HEAD.h5: a classifier over stored features, trained by featcache train)"
                       : fc_h5_has_attr(f, "featcache_format") ? "a featcache export (stored features)"
                                                               : NULL;
    if (ours) {
        H5Fclose(f);
        return fc_fail(st, FC_ERR_FORMAT, "%s is %s, not a backbone model (one that computes features from images, "
                       "e.g. mobilenet_v2 or the Keras .h5 the store was extracted with; 'featcache info' shows "
                       "featcache's files)", path, ours);
    }
    if (!fc_h5_has_attr(f, "model_config")) {
        H5Fclose(f);
        return fc_model_load_keras_weights(NULL, path, out, st);
    }
    if ((rc = fc_h5_attr_string(f, "model_config", &config, st))) {
        fc_wrap(st, "%s", path);
        goto out;
    }
    /* Keras writes it as a string; another type or none leaves the config's form to tell
     * Keras 3 (model_keras_config.c), so such a file loads as before */
    fc_status vst = {0};
    if (fc_h5_has_attr(f, "keras_version") && fc_h5_attr_string(f, "keras_version", &version, &vst))
        free(version), version = NULL;
    if (H5Lexists(f, "model_weights", H5P_DEFAULT) <= 0 ||
        (mw = H5Gopen2(f, "model_weights", H5P_DEFAULT)) < 0) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: full-model file without /model_weights (saved without weights?)", path);
        goto out;
    }
    rc = build(path, mw, config, version, NULL, out, st);
out:
    free(config), free(version);
    if (mw >= 0) H5Gclose(mw);
    H5Fclose(f);
    return rc;
}

int fc_model_load_keras_weights(const char *arch, const char *path, fc_graph **out,
                                fc_status *st) {
    *out = NULL;
    hid_t f;
    char **names = NULL;
    int nn = 0, rc = fc_h5_open(path, &f, st);
    if (rc) return rc;
    if (!fc_h5_has_attr(f, "layer_names")) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: not a Keras model file (no model_config or layer_names attribute)", path);
        goto out;
    }
    if ((rc = fc_h5_attr_strings(f, "layer_names", &names, &nn, st))) {
        fc_wrap(st, "%s", path);
        goto out;
    }
    const char *found = fc_arch_detect((const char *const *)names, nn);
    if (found && !fc_arch_known(found)) { /* recognised, with no built-in topology */
        rc = fc_fail(st, FC_ERR_UNSUPPORTED, "%s: a %s weights-only file, which featcache has no built-in topology for "
                     "(known: %s); save the full model in Keras (model.save(\"m.h5\")) and pass that file", path,
                     !strcmp(found, "resnet_v2") ? "ResNet V2" : found, fc_arch_list());
        goto out;
    }
    if (!arch && !found) {
        rc = fc_fail(st, FC_ERR_UNSUPPORTED, "%s: weights-only file of an unknown architecture (known: %s); pass -m ARCH:%s", path, fc_arch_list(), path);
        goto out;
    }
    /* an ARCH the file's layers contradict: a deeper file (resnet152 as resnet101, vgg19 as
     * vgg16) would load its first layers only, silently */
    if (arch && found && strcmp(arch, found) != 0) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: its layers are %s's, not %s's: pass -m %s:%s, or the file alone", path, found,
                     arch, found, path);
        goto out;
    }
    if (!arch) arch = found;
    rc = build(path, f, NULL, NULL, arch, out, st);
out:
    fc_h5_strings_free(names, nn);
    H5Fclose(f);
    return rc;
}
