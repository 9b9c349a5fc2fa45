/* model_keras_config.c - the structure of a Keras model config (JSON) -> fc_graph:
 * Sequential (Keras 2.2.4 list form and tf.keras {"layers": [...]}) and functional
 * ("Model"/"Functional": inbound_nodes in the Keras 2 list form or the Keras 3 dict form),
 * nested models flattened into the outer graph, layers topologically sorted with missing
 * inputs and cycles reported by name, and whether Keras 3 wrote it (its "hard_sigmoid"
 * differs). Per-layer work is in model_keras_layers.c. */
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

#define MAX_LAYERS 20000
#define MAX_REFS 1024
#define MAX_DEPTH 16

static int build_model(fc_kbuild *b, json_t *model, int in_idx, const char *group,
                       int trainable, int *out, fc_status *st);

static int is_model_class(const char *c) {
    return c && (!strcmp(c, "Sequential") || !strcmp(c, "Functional") || !strcmp(c, "Model"));
}

static const char *layer_name(json_t *e) {
    const char *n = json_string_value(json_object_get(e, "name"));
    return n ? n : json_string_value(json_object_get(json_object_get(e, "config"), "name"));
}

static int layer_trainable(json_t *e, int parent) {
    json_t *t = json_object_get(json_object_get(e, "config"), "trainable");
    return parent && (json_is_boolean(t) ? json_is_true(t) : 1);
}

static int check_entry(fc_kbuild *b, json_t *e, size_t i, fc_status *st) {
    if (!json_is_object(e) || !layer_name(e))
        return fc_fail(st, FC_ERR_FORMAT, "%s: model_config: layer %zu has no name", b->what, i);
    if (!json_is_string(json_object_get(e, "class_name")))
        return fc_fail(st, FC_ERR_FORMAT, "%s: model_config: layer %zu ('%s') has no class_name",
                       b->what, i, layer_name(e));
    json_t *cfg = json_object_get(e, "config");
    if (!json_is_object(cfg))
        return fc_fail(st, FC_ERR_FORMAT, "%s: model_config: layer '%s' has no config object",
                       b->what, layer_name(e));
    return 0;
}

/* The InputLayer (or a first Sequential layer's batch_input_shape) -> the input node. */
static int add_input(fc_kbuild *b, json_t *cfg, const char *name, int hidden, int *idx,
                     fc_status *st) {
    if (b->input >= 0)
        return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: layer '%s': models with more than one input are not supported", b->what, name);
    json_t *s = json_object_get(cfg, "batch_input_shape");
    if (!s) s = json_object_get(cfg, "batch_shape");
    if (!json_is_array(s))
        return fc_fail(st, FC_ERR_FORMAT, "%s: layer '%s': no input shape (batch_input_shape)", b->what, name);
    if (json_array_size(s) != 4)
        return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: layer '%s': input must be (height, width, channels), got rank %zu", b->what, name, json_array_size(s) ? json_array_size(s) - 1 : 0);
    int d[3];
    for (int i = 0; i < 3; i++) {
        json_t *v = json_array_get(s, (size_t)i + 1);
        if (i < 2 && json_is_null(v)) {
            d[i] = 0;
            continue;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > FC_MAX_DIM)
            return fc_fail(st, FC_ERR_FORMAT, "%s: layer '%s': bad input shape", b->what, name);
        d[i] = (int)json_integer_value(v);
    }
    if (strlen(name) >= sizeof ((fc_node *)0)->name)
        return fc_fail(st, FC_ERR_FORMAT, "%s: layer name too long", b->what);
    b->g->in_h = d[0], b->g->in_w = d[1], b->g->in_c = d[2];
    fc_node n;
    memset(&n, 0, sizeof n);
    n.op = FC_OP_INPUT;
    snprintf(n.name, sizeof n.name, "%s", name);
    snprintf(n.class_name, sizeof n.class_name, "InputLayer");
    n.hidden = hidden;
    n.trainable = 1;
    n.kh = n.kw = n.sh = n.sw = n.dh = n.dw = 1;
    int rc = fc_kb_add(b, &n, idx, st);
    if (!rc) b->input = *idx;
    return rc;
}

/* Adds one layer entry whose inputs are resolved: a nested model, or a plain layer. */
static int add_entry(fc_kbuild *b, json_t *e, const int *in, int n_in, const char *group,
                     int trainable, int *idx, fc_status *st) {
    const char *name = layer_name(e);
    const char *cls = json_string_value(json_object_get(e, "class_name"));
    int tr = layer_trainable(e, trainable);
    if (is_model_class(cls)) {
        if (n_in > 1)
            return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: nested model '%s' has %d inputs (one supported)", b->what, name, n_in);
        return build_model(b, e, n_in > 0 ? in[0] : -1, group ? group : name, tr, idx, st);
    }
    fc_klayer L = {json_object_get(e, "config"), name, cls, group ? group : name, tr, in, n_in};
    return fc_kb_add_layer(b, &L, idx, st);
}

static int build_sequential(fc_kbuild *b, json_t *layers, int in_idx, const char *group,
                            int trainable, int *out, fc_status *st) {
    if (!json_is_array(layers) || json_array_size(layers) == 0 || json_array_size(layers) > MAX_LAYERS)
        return fc_fail(st, FC_ERR_FORMAT, "%s: model_config: Sequential model has no layer list", b->what);
    int cur = in_idx, rc;
    for (size_t i = 0; i < json_array_size(layers); i++) {
        json_t *e = json_array_get(layers, i);
        if ((rc = check_entry(b, e, i, st))) return rc;
        const char *name = layer_name(e);
        const char *cls = json_string_value(json_object_get(e, "class_name"));
        json_t *cfg = json_object_get(e, "config");
        if (!strcmp(cls, "InputLayer")) {
            if (cur < 0 && (rc = add_input(b, cfg, name, 0, &cur, st))) return rc;
            continue;
        }
        if (cur < 0 && !is_model_class(cls)) {
            char in_name[160];
            snprintf(in_name, sizeof in_name, "%s_input", name);
            if ((rc = add_input(b, cfg, in_name, 1, &cur, st))) return rc;
        }
        int idx;
        if ((rc = add_entry(b, e, &cur, cur < 0 ? 0 : 1, group, trainable, &idx, st))) return rc;
        cur = idx;
    }
    *out = cur;
    return 0;
}

/* Collects the layer names a Keras 3 "args" tree refers to through keras_history. */
static int k3_refs(json_t *v, const char **names, int *n, int depth) {
    if (depth > 8) return -1;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (k3_refs(json_array_get(v, i), names, n, depth + 1)) return -1;
        return 0;
    }
    json_t *h = json_object_get(json_object_get(v, "config"), "keras_history");
    if (!h) return 0;
    if (!json_is_array(h) || !json_is_string(json_array_get(h, 0)) || *n >= MAX_REFS) return -1;
    names[(*n)++] = json_string_value(json_array_get(h, 0));
    return 0;
}

/* Names of the layers feeding entry e (Keras 2 [[[name, node, tensor, {}], ...]] form or
 * Keras 3 [{"args": [...]}] form). A layer called on more than one node is refused. */
static int inbound_names(fc_kbuild *b, json_t *e, const char **names, int *n, fc_status *st) {
    *n = 0;
    json_t *nodes = json_object_get(e, "inbound_nodes");
    const char *ln = layer_name(e);
    if (!nodes || (json_is_array(nodes) && json_array_size(nodes) == 0)) return 0;
    if (!json_is_array(nodes))
        return fc_fail(st, FC_ERR_FORMAT, "%s: layer '%s': bad inbound_nodes", b->what, ln);
    if (json_array_size(nodes) > 1)
        return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: layer '%s' is applied more than once (shared layers are not supported)", b->what, ln);
    json_t *node = json_array_get(nodes, 0);
    if (json_is_object(node)) {
        if (k3_refs(json_object_get(node, "args"), names, n, 0))
            return fc_fail(st, FC_ERR_FORMAT, "%s: layer '%s': bad inbound_nodes", b->what, ln);
        return 0;
    }
    if (!json_is_array(node) || json_array_size(node) > MAX_REFS)
        return fc_fail(st, FC_ERR_FORMAT, "%s: layer '%s': bad inbound_nodes", b->what, ln);
    for (size_t i = 0; i < json_array_size(node); i++) {
        json_t *r = json_array_get(node, i);
        json_t *t = json_array_get(r, 2);
        if (!json_is_array(r) || !json_is_string(json_array_get(r, 0)))
            return fc_fail(st, FC_ERR_FORMAT, "%s: layer '%s': bad inbound_nodes", b->what, ln);
        if (t && !(json_is_integer(t) && json_integer_value(t) == 0))
            return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: layer '%s' uses output %s of a multi-output layer", b->what, ln, json_is_integer(t) ? "> 0" : "?");
        names[(*n)++] = json_string_value(json_array_get(r, 0));
    }
    return 0;
}

typedef struct { const char *name; int i; } name_ix;

static int cmp_name_ix(const void *a, const void *b) {
    return strcmp(((const name_ix *)a)->name, ((const name_ix *)b)->name);
}

static int lookup(const name_ix *s, int n, const char *name) {
    name_ix key = {name, 0};
    const name_ix *f = bsearch(&key, s, (size_t)n, sizeof *s, cmp_name_ix);
    return f ? f->i : -1;
}

/* output_layers: [[name, node, tensor], ...] or Keras 3's [name, node, tensor]. */
static const char *output_name(json_t *cfg) {
    json_t *o = json_object_get(cfg, "output_layers");
    json_t *f = json_array_get(o, 0);
    if (json_is_string(f)) return json_string_value(f);
    return json_string_value(json_array_get(f, 0));
}

/* Follows unprocessed inputs from layer i until it must be inside a cycle. */
static int cycle_member(int i, int n, const int *off, const int *refs, const int *indeg) {
    for (int step = 0; step < n; step++) {
        int next = -1;
        for (int k = off[i]; k < off[i + 1] && next < 0; k++)
            if (indeg[refs[k]] > 0) next = refs[k];
        if (next < 0) break;
        i = next;
    }
    return i;
}

/* Kahn's algorithm over the layer list: order[] = a topological order of all layers. */
static int topo_order(fc_kbuild *b, json_t *layers, int n, const int *off, const int *refs,
                      int *order, fc_status *st) {
    int rc = 0, head = 0, tail = 0;
    int *indeg = calloc((size_t)n, sizeof *indeg), *uoff = calloc((size_t)n + 1, sizeof *uoff);
    int *users = malloc((size_t)(off[n] ? off[n] : 1) * sizeof *users);
    int *cur = calloc((size_t)n, sizeof *cur); /* per-source fill cursor for users[] */
    if (!indeg || !uoff || !users || !cur) {
        rc = fc_fail(st, FC_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int k = 0; k < off[n]; k++) uoff[refs[k] + 1]++;
    for (int i = 0; i < n; i++) uoff[i + 1] += uoff[i];
    /* users of each layer, CSR like off/refs */
    for (int i = 0; i < n; i++) indeg[i] = off[i + 1] - off[i];
    for (int i = 0; i < n; i++)
        for (int k = off[i]; k < off[i + 1]; k++) users[uoff[refs[k]] + cur[refs[k]]++] = i;
    int sorted = 1; /* keep the file's order when it is already topological */
    for (int i = 0; i < n && sorted; i++)
        for (int k = off[i]; k < off[i + 1] && sorted; k++) sorted = refs[k] < i;
    if (sorted) {
        for (int i = 0; i < n; i++) order[i] = i;
        goto out;
    }
    for (int i = 0; i < n; i++)
        if (indeg[i] == 0) order[tail++] = i;
    while (head < tail) {
        int j = order[head++];
        for (int k = uoff[j]; k < uoff[j + 1]; k++)
            if (--indeg[users[k]] == 0) order[tail++] = users[k];
    }
    if (tail < n) {
        int i = 0;
        while (indeg[i] == 0) i++;
        i = cycle_member(i, n, off, refs, indeg);
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: cycle in the model graph through layer '%s'",
                     b->what, layer_name(json_array_get(layers, (size_t)i)));
    }
out:
    free(indeg), free(uoff), free(users), free(cur);
    return rc;
}

/* Resolves every layer's inbound names to layer indices (CSR: off[n+1], refs[]). */
static int resolve_refs(fc_kbuild *b, json_t *layers, int n, name_ix *sorted, int **off_out,
                        int **refs_out, fc_status *st) {
    const char *tmp[MAX_REFS];
    /* refs is never NULL, even for a graph without edges */
    int cap = 16, rc = 0;
    int *off = calloc((size_t)n + 1, sizeof *off), *refs = calloc((size_t)cap, sizeof *refs);
    if (!off || !refs) {
        free(off), free(refs);
        return fc_fail(st, FC_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < n && !rc; i++) {
        json_t *e = json_array_get(layers, (size_t)i);
        int m;
        if ((rc = inbound_names(b, e, tmp, &m, st))) break;
        if (off[i] + m > cap) {
            cap = (off[i] + m) * 2 + 16;
            int *p = realloc(refs, (size_t)cap * sizeof *p);
            if (!p) {
                rc = fc_fail(st, FC_ERR_NOMEM, "out of memory");
                break;
            }
            refs = p;
        }
        for (int k = 0; k < m && !rc; k++) {
            int j = lookup(sorted, n, tmp[k]);
            if (j < 0)
                rc = fc_fail(st, FC_ERR_FORMAT, "%s: layer '%s': inbound layer '%s' does not exist",
                             b->what, layer_name(e), tmp[k]);
            else
                refs[off[i] + k] = j;
        }
        off[i + 1] = off[i] + m;
    }
    if (rc) {
        free(off), free(refs);
        return rc;
    }
    *off_out = off, *refs_out = refs;
    return 0;
}

static int build_functional(fc_kbuild *b, json_t *cfg, int in_idx, const char *group,
                            int trainable, int *out, fc_status *st) {
    json_t *layers = json_object_get(cfg, "layers");
    if (!json_is_array(layers) || json_array_size(layers) == 0 || json_array_size(layers) > MAX_LAYERS)
        return fc_fail(st, FC_ERR_FORMAT, "%s: model_config: functional model has no layer list", b->what);
    int n = (int)json_array_size(layers), rc = 0;
    int *off = NULL, *refs = NULL, *order = malloc((size_t)n * sizeof *order);
    int *node_of = malloc((size_t)n * sizeof *node_of);
    name_ix *sorted = malloc((size_t)n * sizeof *sorted);
    if (!order || !node_of || !sorted) {
        rc = fc_fail(st, FC_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n && !rc; i++) {
        rc = check_entry(b, json_array_get(layers, (size_t)i), (size_t)i, st);
        sorted[i].name = rc ? "" : layer_name(json_array_get(layers, (size_t)i));
        sorted[i].i = i;
    }
    if (rc) goto out;
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_name_ix);
    for (int i = 1; i < n; i++)
        if (!strcmp(sorted[i].name, sorted[i - 1].name)) {
            rc = fc_fail(st, FC_ERR_FORMAT, "%s: duplicate layer name '%s'", b->what, sorted[i].name);
            goto out;
        }
    if ((rc = resolve_refs(b, layers, n, sorted, &off, &refs, st)) ||
        (rc = topo_order(b, layers, n, off, refs, order, st)))
        goto out;
    int aliased = 0;
    for (int t = 0; t < n && !rc; t++) {
        int i = order[t], in[MAX_REFS];
        json_t *e = json_array_get(layers, (size_t)i);
        const char *cls = json_string_value(json_object_get(e, "class_name"));
        if (!strcmp(cls, "InputLayer")) {
            if (in_idx >= 0 && aliased++)
                rc = fc_fail(st, FC_ERR_UNSUPPORTED, "%s: nested model with more than one input", b->what);
            else if (in_idx >= 0) node_of[i] = in_idx;
            else rc = add_input(b, json_object_get(e, "config"), layer_name(e), 0, &node_of[i], st);
            continue;
        }
        int m = off[i + 1] - off[i];
        for (int k = 0; k < m; k++) in[k] = node_of[refs[off[i] + k]];
        rc = add_entry(b, e, in, m, group, trainable, &node_of[i], st);
    }
    if (rc) goto out;
    const char *oname = output_name(cfg);
    int oi = oname ? lookup(sorted, n, oname) : -1;
    if (oi < 0) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: model_config: output layer '%s' does not exist", b->what, oname ? oname : "(none)");
        goto out;
    }
    *out = node_of[oi];
out:
    free(off), free(refs), free(order), free(node_of), free(sorted);
    return rc;
}

static int build_model(fc_kbuild *b, json_t *model, int in_idx, const char *group,
                       int trainable, int *out, fc_status *st) {
    const char *cls = json_string_value(json_object_get(model, "class_name"));
    json_t *cfg = json_object_get(model, "config");
    if (!cls || !cfg)
        return fc_fail(st, FC_ERR_FORMAT, "%s: model_config has no class_name/config", b->what);
    if (b->depth >= MAX_DEPTH)
        return fc_fail(st, FC_ERR_FORMAT, "%s: models nested too deeply", b->what);
    b->depth++;
    int rc;
    if (!strcmp(cls, "Sequential"))
        rc = build_sequential(b, json_is_array(cfg) ? cfg : json_object_get(cfg, "layers"), in_idx,
                              group, trainable, out, st);
    else if (!strcmp(cls, "Functional") || !strcmp(cls, "Model"))
        rc = build_functional(b, cfg, in_idx, group, trainable, out, st);
    else
        rc = fc_fail(st, FC_ERR_UNSUPPORTED, "%s: model class '%s' is not supported", b->what, cls);
    b->depth--;
    return rc;
}

/* Does a model config use a form only Keras 3 writes: inbound_nodes as [{"args": ...}], or
 * an InputLayer with "batch_shape" where Keras 2 writes "batch_input_shape"? Nested models
 * are searched too (a Keras 3 Sequential has no inbound_nodes). */
static int keras3_form(json_t *model, int depth) {
    json_t *cfg = json_object_get(model, "config");
    json_t *layers = json_is_array(cfg) ? cfg : json_object_get(cfg, "layers");
    if (depth > MAX_DEPTH || !json_is_array(layers)) return 0;
    for (size_t i = 0; i < json_array_size(layers) && i < MAX_LAYERS; i++) {
        json_t *e = json_array_get(layers, i), *lc = json_object_get(e, "config");
        const char *cls = json_string_value(json_object_get(e, "class_name"));
        if (json_is_object(json_array_get(json_object_get(e, "inbound_nodes"), 0))) return 1;
        if (cls && !strcmp(cls, "InputLayer") && json_object_get(lc, "batch_shape") &&
            !json_object_get(lc, "batch_input_shape"))
            return 1;
        if (is_model_class(cls) && keras3_form(e, depth + 1)) return 1;
    }
    return 0;
}

/* Keras 3 if the version says 3 or later, or if the config has a Keras 3 form (a file
 * without the attribute; Keras 2 never writes those forms). */
static int is_keras3(const char *keras_version, json_t *model) {
    char *end = NULL;
    long major = keras_version ? strtol(keras_version, &end, 10) : 0;
    if (end && end != keras_version && major >= 3) return 1;
    return keras3_form(model, 0);
}

int fc_keras_config_build(const char *json, size_t len, const char *keras_version, fc_wsrc *ws,
                          const char *what, fc_graph *g, fc_status *st) {
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je), *inner = NULL;
    fc_kbuild b = {g, ws, what, NULL, NULL, 0, 0, -1, 0};
    int rc = 0, out = -1;
    if (!root) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: model config is not valid JSON (line %d: %s)", what, je.line, je.text);
        goto out;
    }
    json_t *m = root;
    if (json_object_get(m, "modelTopology")) m = json_object_get(m, "modelTopology");
    if (json_object_get(m, "model_config")) m = json_object_get(m, "model_config");
    if (json_is_string(m)) { /* a config stored as a JSON string inside JSON */
        inner = json_loads(json_string_value(m), 0, &je);
        m = inner;
    }
    if (!json_is_object(m) || !json_is_string(json_object_get(m, "class_name"))) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: model config has no class_name", what);
        goto out;
    }
    b.keras3 = is_keras3(keras_version, m);
    if ((rc = build_model(&b, m, -1, NULL, 1, &out, st))) goto out;
    if (b.input < 0 || out < 0) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: model has no input layer", what);
        goto out;
    }
    g->output = out;
    fc_kb_fold_correct_pad(&b);
out:
    free(b.chan);
    free(b.hw);
    json_decref(inner);
    json_decref(root);
    return rc;
}
