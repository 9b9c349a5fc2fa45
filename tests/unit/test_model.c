/* test_model.c - model loading without files: Keras config JSON (Sequential in both
 * forms, functional in Keras 2 and Keras 3 inbound forms, nested models) -> graph
 * structure; loader error messages; the built-in architectures with random weights
 * against the shapes and parameter counts keras.applications reports; sha256 of the
 * weights. The file formats and numerics are covered by tests/cli/models.sh. */
#include "t.h"

#include <string.h>

#include "../../common/arch.h"
#include "../../common/graph.h"
#include "../../common/model.h"
#include "../../common/model_internal.h"

/* Weight source that hands out zeros of any requested (small) shape. */
static int zeros_get(void *ctx, const char *group, const char *layer, const char *var, int rank,
                     const int64_t *expect, int64_t *dims, float **out, size_t *count,
                     fc_status *st) {
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        dims[i] = expect[i] < 0 ? 7 : expect[i];
        n *= (size_t)dims[i];
    }
    *out = calloc(n, sizeof **out);
    *count = n;
    return *out ? 0 : FC_ERR_NOMEM;
}

/* The graph of a config written by Keras keras_version (NULL unknown), its weights hashed. */
static fc_graph *build_v(const char *json, const char *keras_version, fc_status *st) {
    fc_graph *g = fc_graph_create(st);
    fc_wsrc ws = {zeros_get, NULL, NULL, "test.json", NULL, 0};
    if (fc_wsrc_begin(&ws, st) || fc_keras_config_build(json, strlen(json), keras_version, &ws, "test.json", g, st) ||
        fc_wsrc_finish(&ws, g, st)) {
        fc_graph_free(g);
        g = NULL;
    }
    fc_wsrc_end(&ws);
    return g;
}

static fc_graph *build(const char *json, fc_status *st) { return build_v(json, NULL, st); }

#define CONV(n, f) "{\"class_name\":\"Conv2D\",\"config\":{\"name\":\"" n "\",\"filters\":" #f \
    ",\"kernel_size\":[3,3],\"strides\":[1,1],\"padding\":\"same\",\"activation\":\"relu\",\"use_bias\":true"

static void test_sequential_forms(void) {
    fc_status st = {0};
    /* Keras 2.2.4: config is a list; the first layer carries batch_input_shape */
    const char *k2 = "{\"class_name\":\"Sequential\",\"config\":[" CONV("c1", 4)
                     ",\"batch_input_shape\":[null,8,9,3]}},"
                     "{\"class_name\":\"GlobalAveragePooling2D\",\"config\":{\"name\":\"f\"}},"
                     "{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\",\"units\":2,\"activation\":\"softmax\"}}]}";
    fc_graph *g = build(k2, &st);
    CHECK(g != NULL, "k2 sequential: %s", st.msg);
    if (g) {
        CHECK(g->n_nodes == 4 && g->nodes[0].op == FC_OP_INPUT && g->nodes[0].hidden, "nodes %d", g->n_nodes);
        CHECK(g->in_h == 8 && g->in_w == 9 && g->in_c == 3, "input %dx%dx%d", g->in_h, g->in_w, g->in_c);
        CHECK(g->output == 3 && g->nodes[3].act == FC_ACT_SOFTMAX && g->nodes[3].filters == 2, "dense");
        CHECK(g->nodes[3].w_len == 4 * 2, "dense kernel sized from the channel count: %zu", g->nodes[3].w_len);
        CHECK(g->nodes[1].w_len == 3 * 3 * 3 * 4 && g->nodes[1].b_len == 4, "conv weights %zu", g->nodes[1].w_len);
        CHECK(fc_graph_finalize(g, NULL, 0, 0, &st) == 0, "finalize: %s", st.msg);
        CHECK(fc_graph_out_elems(g) == 2, "out %zu", fc_graph_out_elems(g));
    }
    fc_graph_free(g);
    /* tf.keras: {"name", "layers": [InputLayer, ...]}, variable input size */
    const char *tf = "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":["
                     "{\"class_name\":\"InputLayer\",\"config\":{\"name\":\"in\",\"batch_input_shape\":[null,null,null,1]}},"
                     CONV("c1", 4) "}},{\"class_name\":\"ReLU\",\"config\":{\"name\":\"r\",\"max_value\":6.0}}]}}";
    g = build(tf, &st);
    CHECK(g != NULL, "tf sequential: %s", st.msg);
    if (g) {
        CHECK(g->n_nodes == 3 && !g->nodes[0].hidden && g->in_h == 0 && g->in_c == 1, "tf seq");
        CHECK(g->nodes[2].act == FC_ACT_RELU && g->nodes[2].act_max == 6.0f, "relu6");
        CHECK(fc_graph_finalize(g, NULL, 10, 12, &st) == 0, "finalize: %s", st.msg);
        CHECK(g->nodes[g->output].oh == 10 && g->nodes[g->output].ow == 12, "size override");
    }
    fc_graph_free(g);
}

#define FLAYER(cls, name, cfg, in) "{\"name\":\"" name "\",\"class_name\":\"" cls "\",\"config\":{\"name\":\"" name "\"" cfg "},\"inbound_nodes\":" in "}"
#define IN1(a) "[[[\"" a "\",0,0,{}]]]"
#define IN2(a, b) "[[[\"" a "\",0,0,{}],[\"" b "\",0,0,{}]]]"
#define K3(a) "[{\"args\":[{\"class_name\":\"__keras_tensor__\",\"config\":{\"keras_history\":[\"" a "\",0,0]}}],\"kwargs\":{}}]"

static void test_functional(void) {
    fc_status st = {0};
    /* listed out of order on purpose: the loader sorts topologically */
    const char *j = "{\"class_name\":\"Functional\",\"config\":{\"name\":\"m\",\"layers\":["
        FLAYER("Concatenate", "cat", ",\"axis\":-1", IN2("a", "b")) ","
        FLAYER("InputLayer", "in", ",\"batch_input_shape\":[null,6,6,2]", "[]") ","
        FLAYER("Conv2D", "a", ",\"filters\":3,\"kernel_size\":1,\"use_bias\":false", IN1("in")) ","
        FLAYER("SeparableConv2D", "b", ",\"filters\":5,\"kernel_size\":[3,3],\"padding\":\"same\",\"depth_multiplier\":2", K3("in")) "],"
        "\"input_layers\":[[\"in\",0,0]],\"output_layers\":[[\"cat\",0,0]]}}";
    fc_graph *g = build(j, &st);
    CHECK(g != NULL, "functional: %s", st.msg);
    if (g) {
        int cat = fc_graph_find(g, "cat"), b = fc_graph_find(g, "b");
        CHECK(cat == g->output && cat == g->n_nodes - 1, "cat is the output");
        CHECK(b > 0 && g->nodes[b - 1].hidden && !strcmp(g->nodes[b - 1].name, "b/depthwise"), "separable split");
        CHECK(b > 0 && g->nodes[b - 1].w_len == 3 * 3 * 2 * 2 && g->nodes[b].w_len == 4 * 5, "separable weights");
        CHECK(fc_graph_finalize(g, NULL, 0, 0, &st) == 0, "finalize: %s", st.msg);
        CHECK(g->nodes[g->output].oc == 8, "concat channels %d", g->nodes[g->output].oc);
    }
    fc_graph_free(g);
}

static void expect_fail(const char *json, fc_code code, const char *frag) {
    fc_status st = {0};
    fc_graph *g = build(json, &st);
    CHECK(g == NULL && st.code == code && strstr(st.msg, frag), "want %d '%s', got %d '%s'", code, frag, st.code, st.msg);
    fc_graph_free(g);
}

static void test_errors(void) {
    const char *head = "{\"class_name\":\"Functional\",\"config\":{\"name\":\"m\",\"layers\":["
        FLAYER("InputLayer", "in", ",\"batch_input_shape\":[null,6,6,2]", "[]") ",";
    char buf[2048];
#define F(body, out) (snprintf(buf, sizeof buf, "%s%s],\"input_layers\":[[\"in\",0,0]],\"output_layers\":[[\"" out "\",0,0]]}}", head, body), buf)
    expect_fail(F(FLAYER("Lambda", "lam", "", IN1("in")), "lam"), FC_ERR_UNSUPPORTED, "layer 'lam' has unsupported class 'Lambda'");
    expect_fail(F(FLAYER("Activation", "x", ",\"activation\":\"relu\"", IN1("y")) "," FLAYER("Activation", "y", ",\"activation\":\"relu\"", IN1("x")), "y"),
                FC_ERR_FORMAT, "cycle");
    expect_fail(F(FLAYER("Activation", "x", ",\"activation\":\"relu\"", IN1("ghost")), "x"), FC_ERR_FORMAT, "inbound layer 'ghost' does not exist");
    expect_fail(F(FLAYER("Activation", "x", ",\"activation\":\"crelu\"", IN1("in")), "x"), FC_ERR_UNSUPPORTED, "layer 'x' (Activation): unsupported activation 'crelu'");
    expect_fail(F(FLAYER("Conv2D", "c", ",\"filters\":99999999,\"kernel_size\":3", IN1("in")), "c"), FC_ERR_FORMAT, "'filters'");
    expect_fail(F(FLAYER("Concatenate", "c", ",\"axis\":1", IN2("in", "in")), "c"), FC_ERR_UNSUPPORTED, "axis");
    expect_fail(F(FLAYER("Activation", "x", ",\"activation\":\"relu\"", IN1("in")), "nothere"), FC_ERR_FORMAT, "output layer 'nothere'");
    expect_fail(F(FLAYER("Activation", "in", ",\"activation\":\"relu\"", IN1("in")), "in"), FC_ERR_FORMAT, "duplicate layer name 'in'");
    expect_fail("{\"class_name\":\"Sequential\",\"config\":[" CONV("c1", 4) "}}]}", FC_ERR_FORMAT, "no input shape");
    expect_fail("[1,2", FC_ERR_FORMAT, "not valid JSON");
#undef F
}

/* hard_sigmoid as the writer's Keras defines it: Keras 3 (keras_version 3.x, or a config
 * form only Keras 3 writes) gets relu6(x + 3) / 6 in a layer's activation and in an
 * Activation layer, and a weights sha256 of its own; Keras 2 keeps 0.2x + 0.5. */
static void test_hard_sigmoid_keras3(void) {
    const char *k2 = "{\"class_name\":\"Functional\",\"config\":{\"name\":\"m\",\"layers\":["
        FLAYER("InputLayer", "in", ",\"batch_input_shape\":[null,4,4,3]", "[]") ","
        FLAYER("Conv2D", "c", ",\"filters\":2,\"kernel_size\":1,\"activation\":\"hard_sigmoid\"", IN1("in")) ","
        FLAYER("Activation", "a", ",\"activation\":\"hard_sigmoid\"", IN1("c")) "],"
        "\"input_layers\":[[\"in\",0,0]],\"output_layers\":[[\"a\",0,0]]}}";
    const char *k3 = "{\"class_name\":\"Functional\",\"config\":{\"name\":\"m\",\"layers\":["
        FLAYER("InputLayer", "in", ",\"batch_shape\":[null,4,4,3]", "[]") ","
        FLAYER("Conv2D", "c", ",\"filters\":2,\"kernel_size\":1,\"activation\":\"hard_sigmoid\"", K3("in")) ","
        FLAYER("Activation", "a", ",\"activation\":\"hard_sigmoid\"", K3("c")) "],"
        "\"input_layers\":[\"in\",0,0],\"output_layers\":[\"a\",0,0]}}";
    /* a Keras 3 Sequential has no inbound_nodes: its InputLayer's batch_shape tells */
    const char *k3seq = "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":["
        "{\"class_name\":\"InputLayer\",\"config\":{\"name\":\"in\",\"batch_shape\":[null,4,4,3]}},"
        "{\"class_name\":\"Conv2D\",\"config\":{\"name\":\"c\",\"filters\":2,\"kernel_size\":1,\"activation\":\"hard_sigmoid\"}},"
        "{\"class_name\":\"Activation\",\"config\":{\"name\":\"a\",\"activation\":\"hard_sigmoid\"}}]}}";
    const struct {
        const char *json, *version;
        fc_act want;
    } cases[] = {
        {k2, NULL, FC_ACT_HARD_SIGMOID},     {k2, "2.2.4", FC_ACT_HARD_SIGMOID},
        {k2, "2.15.0", FC_ACT_HARD_SIGMOID}, {k2, "3.3.3", FC_ACT_HARD_SIGMOID3},
        {k2, "10.0", FC_ACT_HARD_SIGMOID3},  {k2, "x", FC_ACT_HARD_SIGMOID},
        {k3, NULL, FC_ACT_HARD_SIGMOID3},    {k3, "3.0.1", FC_ACT_HARD_SIGMOID3},
        {k3seq, NULL, FC_ACT_HARD_SIGMOID3},
    };
    unsigned char sha2[32] = {0}, sha3[32] = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fc_status st = {0};
        fc_graph *g = build_v(cases[i].json, cases[i].version, &st);
        CHECK(g != NULL, "case %zu: %s", i, st.msg);
        if (!g) continue;
        const fc_node *c = &g->nodes[fc_graph_find(g, "c")], *a = &g->nodes[fc_graph_find(g, "a")];
        CHECK(c->act == cases[i].want && a->act == cases[i].want, "case %zu (version %s): conv act %d, Activation %d, want %d",
              i, cases[i].version ? cases[i].version : "none", c->act, a->act, cases[i].want);
        memcpy(cases[i].want == FC_ACT_HARD_SIGMOID ? sha2 : sha3, g->weights_sha256, 32);
        fc_graph_free(g);
    }
    CHECK(memcmp(sha2, sha3, 32) != 0, "the same weights under the two formulas: one weights sha256");
}

/* Rescaling and Normalization: the config's number / per-channel list / Keras 3 __numpy__
 * forms, statistics from the config or the weights, invert, and the refusals. */
static void test_scale_layers(void) {
    fc_status st = {0};
    const char *head = "{\"class_name\":\"Functional\",\"config\":{\"name\":\"m\",\"layers\":["
        FLAYER("InputLayer", "in", ",\"batch_input_shape\":[null,4,4,3]", "[]") ",";
    char buf[2048];
#define F(body, out) (snprintf(buf, sizeof buf, "%s%s],\"input_layers\":[[\"in\",0,0]],\"output_layers\":[[\"" out "\",0,0]]}}", head, body), buf)
    fc_graph *g = build(F(FLAYER("Rescaling", "r", ",\"scale\":[[[0.5,2,4]]],\"offset\":-1", IN1("in")) ","
                          FLAYER("Normalization", "n", ",\"axis\":[3],\"mean\":[1,2,3],\"variance\":4,\"invert\":false", IN1("r")) ","
                          FLAYER("Rescaling", "k3", ",\"scale\":{\"class_name\":\"__numpy__\",\"config\":{\"value\":[1,2,3],\"dtype\":\"float32\"}}", IN1("n")) ","
                          FLAYER("Normalization", "w", ",\"axis\":-1,\"invert\":true", IN1("k3")), "w"), &st);
    CHECK(g != NULL, "scale layers: %s", st.msg);
    if (g && fc_graph_finalize(g, NULL, 0, 0, &st) == 0) {
        const fc_node *r = &g->nodes[fc_graph_find(g, "r")], *n = &g->nodes[fc_graph_find(g, "n")];
        const fc_node *k = &g->nodes[fc_graph_find(g, "k3")], *w = &g->nodes[fc_graph_find(g, "w")];
        CHECK(r->op == FC_OP_SCALE && r->w_len == 3 && r->w[2] == 4 && r->b_len == 3 && r->b[1] == -1, "rescaling");
        CHECK(r->params == 0 && r->macs == 4 * 4 * 3, "rescaling params %lld macs %lld", (long long)r->params, (long long)r->macs);
        CHECK(n->w[0] == 0.5f && n->b[2] == -1.5f && n->params == 0, "normalization from the config");
        CHECK(k->w[1] == 2 && k->b[0] == 0, "Keras 3 __numpy__ scale");
        /* zeros_get's statistics: variance 0 -> divisor 1e-7 (Keras's epsilon), inverted */
        CHECK(w->w[0] == 1e-7f && w->b[0] == 0 && w->params == 7, "normalization weights: %g, %lld params", w->w[0], (long long)w->params);
    } else {
        CHECK(0, "finalize: %s", st.msg);
    }
    fc_graph_free(g);
    expect_fail(F(FLAYER("Normalization", "n", ",\"axis\":1", IN1("in")), "n"), FC_ERR_UNSUPPORTED, "layer 'n' (Normalization): only the channel axis");
    expect_fail(F(FLAYER("Normalization", "n", ",\"mean\":[1,2,3]", IN1("in")), "n"), FC_ERR_FORMAT, "together");
    expect_fail(F(FLAYER("Normalization", "n", ",\"mean\":1,\"variance\":-1", IN1("in")), "n"), FC_ERR_FORMAT, "bad mean 1 / variance -1");
    expect_fail(F(FLAYER("Rescaling", "r", ",\"scale\":\"x\"", IN1("in")), "r"), FC_ERR_FORMAT, "layer 'r' (Rescaling): 'scale' must be");
    expect_fail(F(FLAYER("Rescaling", "r", "", IN1("in")), "r"), FC_ERR_FORMAT, "missing 'scale'");
    g = build(F(FLAYER("Rescaling", "r", ",\"scale\":[1,2]", IN1("in")), "r"), &st);
    CHECK(g && fc_graph_finalize(g, NULL, 0, 0, &st) == FC_ERR_MISMATCH && strstr(st.msg, "layer 'r' (Rescaling): has 2 scale values for 3 channels"),
          "2 scales for 3 channels: %s", st.msg);
    fc_graph_free(g);
#undef F
}

/* Configs that compute different features have different weights sha256s (and so backbone
 * fingerprints): Normalization's invert, with its statistics from the config or the
 * weights, and where Rescaling's scale ends and its offset begins (the same numbers). */
static void test_scale_layers_hash(void) {
    const char *head = "{\"class_name\":\"Functional\",\"config\":{\"name\":\"m\",\"layers\":["
        FLAYER("InputLayer", "in", ",\"batch_input_shape\":[null,4,4,2]", "[]") ",";
    const char *pairs[][2] = {
        {FLAYER("Normalization", "n", ",\"axis\":-1,\"mean\":[1,2],\"variance\":[4,9],\"invert\":false", IN1("in")),
         FLAYER("Normalization", "n", ",\"axis\":-1,\"mean\":[1,2],\"variance\":[4,9],\"invert\":true", IN1("in"))},
        {FLAYER("Normalization", "n", ",\"axis\":-1", IN1("in")),
         FLAYER("Normalization", "n", ",\"axis\":-1,\"invert\":true", IN1("in"))},
        {FLAYER("Rescaling", "n", ",\"scale\":[1,2],\"offset\":[3]", IN1("in")),
         FLAYER("Rescaling", "n", ",\"scale\":[1],\"offset\":[2,3]", IN1("in"))},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        unsigned char sha[2][32];
        for (int k = 0; k < 2; k++) {
            char buf[2048];
            fc_status st = {0};
            snprintf(buf, sizeof buf, "%s%s],\"input_layers\":[[\"in\",0,0]],\"output_layers\":[[\"n\",0,0]]}}", head, pairs[i][k]);
            fc_graph *g = build(buf, &st);
            CHECK(g != NULL, "pair %zu/%d: %s", i, k, st.msg);
            memset(sha[k], k, 32);
            if (g) memcpy(sha[k], g->weights_sha256, 32);
            fc_graph_free(g);
        }
        CHECK(memcmp(sha[0], sha[1], 32) != 0, "pair %zu: one weights sha256 for two different layers", i);
    }
}

/* Reshape: the target's -1 resolved at load (the next layer's kernel is sized from it),
 * and the targets featcache cannot hold refused naming the layer. */
static void test_reshape_layer(void) {
    fc_status st = {0};
    const char *head = "{\"class_name\":\"Functional\",\"config\":{\"name\":\"m\",\"layers\":["
        FLAYER("InputLayer", "in", ",\"batch_input_shape\":[null,4,4,3]", "[]") ",";
    char buf[2048];
#define F(body, out) (snprintf(buf, sizeof buf, "%s%s],\"input_layers\":[[\"in\",0,0]],\"output_layers\":[[\"" out "\",0,0]]}}", head, body), buf)
    fc_graph *g = build(F(FLAYER("GlobalAveragePooling2D", "gap", "", IN1("in")) ","
                          FLAYER("Reshape", "rs", ",\"target_shape\":[1,1,-1]", IN1("gap")) ","
                          FLAYER("Conv2D", "c", ",\"filters\":2,\"kernel_size\":[1,1]", IN1("rs")) ","
                          FLAYER("Reshape", "flat", ",\"target_shape\":[-1]", IN1("c")), "flat"), &st);
    CHECK(g != NULL, "reshape: %s", st.msg);
    if (g) {
        CHECK(g->nodes[fc_graph_find(g, "c")].w_len == 3 * 2, "conv kernel sized from the reshape: %zu", g->nodes[fc_graph_find(g, "c")].w_len);
        CHECK(fc_graph_finalize(g, NULL, 0, 0, &st) == 0 && g->nodes[g->output].rank == 2 && g->nodes[g->output].oc == 2, "finalize: %s", st.msg);
    }
    fc_graph_free(g);
    /* the squeeze-and-excitation gate: Multiply of the map and its (1, 1, c) gate, the gate first */
    g = build(F(FLAYER("Conv2D", "x", ",\"filters\":5,\"kernel_size\":[3,3],\"padding\":\"same\"", IN1("in")) ","
                FLAYER("GlobalAveragePooling2D", "sq", "", IN1("x")) ","
                FLAYER("Reshape", "sr", ",\"target_shape\":[1,1,5]", IN1("sq")) ","
                FLAYER("Conv2D", "se", ",\"filters\":5,\"kernel_size\":1,\"activation\":\"sigmoid\"", IN1("sr")) ","
                FLAYER("Multiply", "excite", "", IN2("se", "x")) ","
                FLAYER("Conv2D", "after", ",\"filters\":2,\"kernel_size\":1", IN1("excite")), "after"), &st);
    CHECK(g != NULL, "se block: %s", st.msg);
    if (g) {
        CHECK(g->nodes[fc_graph_find(g, "after")].w_len == 5 * 2, "kernel after the gate sized from 5 channels");
        int rc = fc_graph_finalize(g, "excite", 0, 0, &st);
        const fc_node *o = &g->nodes[g->output];
        CHECK(rc == 0 && o->oh == 4 && o->ow == 4 && o->oc == 5 && o->rank == 3, "excite (%d, %d, %d): %s", o->oh, o->ow, o->oc, st.msg);
    }
    fc_graph_free(g);
    g = build(F(FLAYER("GlobalMaxPooling2D", "gmp", ",\"keepdims\":true", IN1("in")), "gmp"), &st);
    CHECK(g && fc_graph_finalize(g, NULL, 0, 0, &st) == 0 && g->nodes[g->output].rank == 3 &&
          g->nodes[g->output].oh == 1 && g->nodes[g->output].oc == 3, "keepdims: %s", st.msg);
    fc_graph_free(g);
    expect_fail(F(FLAYER("Reshape", "seq", ",\"target_shape\":[16,3]", IN1("in")), "seq"), FC_ERR_UNSUPPORTED,
                "layer 'seq' (Reshape): target_shape of rank 2: only (height, width, channels) maps and (n,) vectors are supported");
    expect_fail(F(FLAYER("Reshape", "r", ",\"target_shape\":[-1,-1,3]", IN1("in")), "r"), FC_ERR_FORMAT, "at most one -1");
    g = build(F(FLAYER("Reshape", "r", ",\"target_shape\":[3,4,5]", IN1("in")), "r"), &st);
    CHECK(g && fc_graph_finalize(g, NULL, 0, 0, &st) == FC_ERR_MISMATCH &&
          strstr(st.msg, "layer 'r' (Reshape): cannot reshape (4, 4, 3) (48 values) to (3, 4, 5)"), "%s", st.msg);
    fc_graph_free(g);
#undef F
}

static void test_load_errors(void) {
    fc_status st = {0};
    fc_graph *g = NULL;
    CHECK(fc_model_load("/nonexistent/model.h5", &g, &st) == FC_ERR_IO && strstr(st.msg, "/nonexistent/model.h5"), "%s", st.msg);
    CHECK(fc_model_load("vgg99:/x.h5", &g, &st) == FC_ERR_ARG && strstr(st.msg, "vgg99"), "%s", st.msg);
    CHECK(g == NULL, "no graph on failure");
    char dir[4096];
    setenv("XDG_CACHE_HOME", "/nonexistent-cache", 1);
    CHECK(fc_model_cache_dir(dir, sizeof dir, &st) == 0 && !strcmp(dir, "/nonexistent-cache/featcache/models"), "%s", dir);
    CHECK(fc_model_load("inception_v3", &g, &st) == FC_ERR_IO && strstr(st.msg, "featcache fetch-model inception_v3"), "%s", st.msg);
}

/* keras.applications(include_top=False) parameter counts and output shapes. */
static void check_arch(const char *arch, const char *cut, int size, int oh, int oc, int64_t params) {
    fc_status st = {0};
    fc_graph *g = fc_graph_create(&st);
    int rc = fc_arch_build_random(arch, g, 7, &st);
    CHECK(rc == 0, "%s: %s", arch, st.msg);
    int64_t p = 0;
    for (int i = 0; i < g->n_nodes; i++) p += g->nodes[i].params;
    if (!cut) CHECK(p == params, "%s: %lld parameters, keras has %lld", arch, (long long)p, (long long)params);
    rc = rc ? rc : fc_graph_finalize(g, cut, size, size, &st);
    CHECK(rc == 0, "%s finalize: %s", arch, st.msg);
    if (!rc) {
        const fc_node *o = &g->nodes[g->output];
        CHECK(o->oh == oh && o->ow == oh && o->oc == oc, "%s@%d -> %dx%dx%d, expected %dx%dx%d", arch, size, o->oh, o->ow, o->oc, oh, oh, oc);
    }
    fc_graph_free(g);
}

static void test_arches(void) {
    check_arch("vgg16", NULL, 150, 4, 512, 14714688);
    check_arch("vgg16", NULL, 240, 7, 512, 14714688);
    check_arch("vgg19", NULL, 224, 7, 512, 20024384);
    check_arch("resnet50", NULL, 224, 7, 2048, 23587712);
    check_arch("resnet101", NULL, 224, 7, 2048, 42658176); /* keras.applications counts, include_top=False */
    check_arch("resnet152", NULL, 160, 5, 2048, 58370944);
    check_arch("inception_v3", NULL, 299, 8, 2048, 21802784);
    check_arch("inception_v3", "mixed7", 150, 7, 768, 0);
    check_arch("mobilenet_v2", NULL, 224, 7, 1280, 2257984);
    check_arch("mobilenet_v2", NULL, 225, 8, 1280, 2257984);
    check_arch("mobilenet", NULL, 224, 7, 1024, 3228864); /* keras.applications.MobileNet(include_top=False) */
    check_arch("mobilenet", NULL, 150, 4, 1024, 3228864); /* ((0,1),(0,1)) + valid: 75 -> 37 -> 18+1 -> 9 -> 4 */
    fc_status st = {0};
    fc_graph *g = fc_graph_create(&st);
    CHECK(fc_arch_build_random("alexnet", g, 1, &st) == FC_ERR_ARG && strstr(st.msg, "alexnet"), "%s", st.msg);
    fc_graph_free(g);
    /* same seed -> same weights -> same sha256; another seed differs */
    unsigned char h[3][32];
    for (int i = 0; i < 3; i++) {
        g = fc_graph_create(&st);
        fc_arch_build_random("mobilenet_v2", g, i == 2 ? 8 : 7, &st);
        memcpy(h[i], g->weights_sha256, 32);
        fc_graph_free(g);
    }
    CHECK(!memcmp(h[0], h[1], 32) && memcmp(h[0], h[2], 32), "weights sha256 follows the weights");
}

static int has_old_resnet_names(void *ctx, const char *layer) {
    return !strcmp(layer, "res2a_branch2a");
}

/* Keras <= 2.2.4 ResNet50 naming (res2a_branch2a, bn_conv1, ...), random weights. */
static void test_resnet50_keras2(void) {
    fc_status st = {0};
    fc_graph *g = fc_graph_create(&st);
    fc_wsrc ws = {NULL, NULL, has_old_resnet_names, "old resnet", NULL, 3};
    CHECK(fc_arch_build("resnet50", g, &ws, &st) == 0, "%s", st.msg);
    int64_t p = 0;
    for (int i = 0; i < g->n_nodes; i++) p += g->nodes[i].params;
    CHECK(p == 23587712, "params %lld", (long long)p);
    CHECK(fc_graph_find(g, "res5c_branch2c") >= 0 && fc_graph_find(g, "bn_conv1") >= 0, "old names");
    CHECK(fc_graph_finalize(g, NULL, 224, 224, &st) == 0, "%s", st.msg);
    const fc_node *o = &g->nodes[g->output];
    CHECK(o->oh == 7 && o->ow == 7 && o->oc == 2048, "out %dx%dx%d", o->oh, o->ow, o->oc);
    fc_graph_free(g);
}

static int has_top(void *ctx, const char *layer) { return !strcmp(layer, "predictions"); }
/* MobileNet (v1)'s classifier: conv_preds (newer Keras also name its softmax "predictions") */
static int has_top_v1(void *ctx, const char *layer) { return !strcmp(layer, "conv_preds") || has_top(ctx, layer); }

/* include_top=True weights files get the ImageNet classifier (keras.applications counts). */
static void test_include_top(void) {
    const char *arch[4] = {"mobilenet_v2", "resnet50", "inception_v3", "mobilenet"};
    const int64_t want[4] = {3538984, 25636712, 23851784, 4253864};
    for (int i = 0; i < 4; i++) {
        fc_status st = {0};
        fc_graph *g = fc_graph_create(&st);
        fc_wsrc ws = {NULL, NULL, i == 3 ? has_top_v1 : has_top, "top", NULL, 5};
        CHECK(fc_arch_build(arch[i], g, &ws, &st) == 0, "%s: %s", arch[i], st.msg);
        int64_t p = 0;
        for (int k = 0; k < g->n_nodes; k++) p += g->nodes[k].params;
        CHECK(p == want[i], "%s with top: %lld params, keras %lld", arch[i], (long long)p, (long long)want[i]);
        CHECK(fc_graph_finalize(g, NULL, 224, 224, &st) == 0 && fc_graph_out_elems(g) == 1000, "%s top: %s", arch[i], st.msg);
        fc_graph_free(g);
    }
}

static void test_detect(void) {
    const char *vgg16[] = {"input_1", "block1_conv1", "block5_conv3", "block5_pool"};
    const char *vgg19[] = {"block5_conv3", "block5_conv4"};
    const char *mnv2[] = {"Conv1", "block_16_project", "out_relu"};
    const char *inc[] = {"conv2d_1", "mixed10"};
    const char *other[] = {"dense_1"};
    const char *res_old[] = {"conv1", "res5c_branch2c"};
    const char *r50[] = {"conv4_block6_3_conv", "conv5_block3_3_conv"};
    const char *r101[] = {"conv4_block7_3_conv", "conv4_block23_3_conv", "conv5_block3_3_conv"};
    const char *r152[] = {"conv4_block7_3_conv", "conv4_block23_3_conv", "conv4_block36_3_conv", "conv5_block3_3_conv"};
    CHECK(!strcmp(fc_arch_detect(r50, 2), "resnet50"), "resnet50");
    CHECK(!strcmp(fc_arch_detect(r101, 3), "resnet101"), "resnet101");
    CHECK(!strcmp(fc_arch_detect(r152, 4), "resnet152"), "resnet152");
    CHECK(!strcmp(fc_arch_detect(res_old, 2), "resnet50"), "old resnet");
    CHECK(!strcmp(fc_arch_detect(vgg16, 4), "vgg16"), "vgg16");
    CHECK(!strcmp(fc_arch_detect(vgg19, 2), "vgg19"), "vgg19");
    CHECK(!strcmp(fc_arch_detect(mnv2, 3), "mobilenet_v2"), "mnv2");
    const char *mnv1[] = {"conv1", "conv_dw_13", "conv_pw_13", "conv_pw_13_bn"};
    CHECK(!strcmp(fc_arch_detect(mnv1, 4), "mobilenet"), "mobilenet v1");
    CHECK(!strcmp(fc_arch_detect(inc, 2), "inception_v3"), "inception");
    CHECK(fc_arch_detect(other, 1) == NULL, "unknown");
}

int main(void) {
    T_RUN(test_sequential_forms);
    T_RUN(test_functional);
    T_RUN(test_errors);
    T_RUN(test_hard_sigmoid_keras3);
    T_RUN(test_scale_layers);
    T_RUN(test_scale_layers_hash);
    T_RUN(test_reshape_layer);
    T_RUN(test_load_errors);
    T_RUN(test_arches);
    T_RUN(test_resnet50_keras2);
    T_RUN(test_include_top);
    T_RUN(test_detect);
    return t_done("test_model");
}
