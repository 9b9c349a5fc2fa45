/* cmd_layers.c - `featcache layers MODEL [--size N|HxW] [--layer NAME]`: the layers a
 * model has (after cutting at --layer), with output shapes at the input size, parameter
 * counts, multiply-accumulates and the trainable flag, so a user can pick a cut layer.
 * Internal (hidden) nodes are folded into the layer that owns them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../graph.h"
#include "../model.h"
#include "commands.h"
#include "opts.h"

static const fc_opt layer_opts[] = {
    {"size", 0, "N|HxW", "input size (default: the model's own, else 224; 299 for inception_v3)"},
    {"layer", 'l', "NAME", "cut the model at this layer and list only what it needs"},
    {0},
};

static const fc_cmd_spec layers_spec = {
    "layers", "MODEL [--size N|HxW] [--layer NAME]",
    "List a model's layers: index, name, class, output shape, parameters, MACs and the\n"
    "trainable flag. MODEL is a Keras .h5 file, ARCH:WEIGHTS.h5, a TF.js folder,\n"
    "mobilenet_v2 / inception_v3 (after 'featcache fetch-model'), or vgg16, vgg19, resnet50,\n"
    "resnet101, resnet152 or mobilenet for that keras.applications weights file in\n"
    "~/.keras/models.",
    layer_opts, 1, 1,
};

static void fmt_shape(char *buf, size_t cap, const fc_node *n) {
    if (n->rank == 2) /* Keras's (None, c); a Dense on a (1, 1, c) map gives (None, 1, 1, units) */
        snprintf(buf, cap, "(%d)", n->oc);
    else
        snprintf(buf, cap, "(%d, %d, %d)", n->oh, n->ow, n->oc);
}

static void print_table(const fc_graph *g) {
    printf("%5s  %-28s %-22s %-18s %12s %15s  %s\n", "#", "name", "class", "output shape",
           "params", "MACs", "trainable");
    int64_t hp = 0, hm = 0, tp = 0, tm = 0, trainable_p = 0;
    int idx = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const fc_node *n = &g->nodes[i];
        hp += n->params, hm += n->macs;
        if (n->hidden) continue;
        char shape[64];
        fmt_shape(shape, sizeof shape, n);
        printf("%5d  %-28s %-22s %-18s %12lld %15lld  %s\n", idx++, n->name, n->class_name, shape,
               (long long)hp, (long long)hm, n->trainable ? "yes" : "no");
        tp += hp, tm += hm;
        if (n->trainable) trainable_p += hp;
        hp = hm = 0;
    }
    printf("\ntotal: %d layers, %lld parameters (%lld trainable, %lld frozen), %.3f GMACs per image\n",
           idx, (long long)tp, (long long)trainable_p, (long long)(tp - trainable_p), (double)tm / 1e9);
}

int cmd_layers(int argc, char **argv) {
    fc_args a;
    int rc = fc_args_parse(&layers_spec, argc, argv, &a);
    if (rc != FC_ARGS_OK) {
        fc_args_free(&a);
        return rc;
    }
    fc_status st = {0};
    fc_graph *g = NULL;
    const char *spec = a.pos[0], *size = fc_arg_str(&a, "size", NULL);
    const char *layer = fc_arg_str(&a, "layer", NULL);
    int h = 0, w = 0;
    if (size && fc_parse_hw(size, FC_MAX_DIM, &h, &w)) {
        rc = fc_usage_error("layers", "bad --size '%s' (expected N or HxW)", size);
        goto out;
    }
    if (fc_model_load(spec, &g, &st)) {
        rc = fc_report("layers", &st);
        goto out;
    }
    int variable = g->in_h == 0 || g->in_w == 0;
    if (!size && variable) h = w = strcmp(g->arch, "inception_v3") ? 224 : 299; /* Keras defaults */
    /* The fetched nsfwjs models: their classifier top (Flatten, Dense) fixes the input size,
     * so at another --size list what extract uses, the conv base (its default cut). */
    const char *cut = layer ? NULL : fc_model_default_layer(g->arch);
    int native_h = g->in_h, native_w = g->in_w;
    if (cut && size) layer = cut;
    if (fc_graph_finalize(g, layer, h, w, &st)) {
        /* an unknown --layer is a mismatch with the model's contents: exit 1 */
        if (st.code == FC_ERR_ARG) st.code = FC_ERR_MISMATCH;
        rc = fc_report("layers", &st);
        goto out;
    }
    char hex[65];
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", g->weights_sha256[i]);
    printf("model: %s (%s)\ninput: %dx%dx%d%s\nweights sha256: %s\n\n", g->source, g->arch,
           g->in_h, g->in_w, g->in_c,
           !size && variable ? " (the model accepts any size; --size to change)" : "", hex);
    if (cut && size)
        printf("cut: %s, extract's default: the conv base (include_top=False); the classifier top above it "
               "takes only %dx%d (--layer NAME for another cut)\n\n", cut, native_h, native_w);
    else if (cut)
        printf("extract's default cut: %s, the conv base (include_top=False); the layers above it are nsfwjs's "
               "classifier, at %dx%d only\n\n", cut, native_h, native_w);
    print_table(g);
    rc = 0;
out:
    fc_graph_free(g);
    fc_args_free(&a);
    return rc;
}
