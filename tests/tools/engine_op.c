/* engine_op.c - runs one op through the fast executor for the independent numpy check
 * (tests/py/ref_ops.py). Arguments are key=value:
 *   op=conv|depthwise|maxpool|avgpool  n= h= w= c=  kh= kw= sh= sw= dh= dw=
 *   pad=same|valid  filters= mult= act=linear|relu|relu6  threads=
 *   in=FILE [kernel=FILE] [bias=FILE] out=FILE      (raw little-endian float32)
 * Prints the output shape "oh ow oc" on stdout. Exit 1 on any error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/graph.h"

#define TOOL_NAME "engine_op"
#include "tool_io.h"

static int iarg(int argc, char **argv, const char *key, int def) {
    const char *v = arg(argc, argv, key, NULL);
    return v ? atoi(v) : def;
}

int main(int argc, char **argv) {
    fc_status st = {0};
    const char *op = arg(argc, argv, "op", "conv"), *act = arg(argc, argv, "act", "linear");
    int n = iarg(argc, argv, "n", 1), h = iarg(argc, argv, "h", 1), w = iarg(argc, argv, "w", 1),
        c = iarg(argc, argv, "c", 1);
    fc_graph *g = fc_graph_create(&st);
    float *x = NULL, *y = NULL;
    int rc = 1;
    if (!g) goto out;
    g->in_h = h; g->in_w = w; g->in_c = c;
    fc_node in = {0}, nd = {0};
    in.op = FC_OP_INPUT;
    strcpy(in.name, "input");
    if (fc_graph_add(g, &in, &st) < 0) goto out;
    nd.op = !strcmp(op, "conv") ? FC_OP_CONV2D : !strcmp(op, "depthwise") ? FC_OP_DEPTHWISE
          : !strcmp(op, "maxpool") ? FC_OP_MAXPOOL : FC_OP_AVGPOOL;
    strcpy(nd.name, op);
    nd.n_inputs = 1;
    nd.inputs = calloc(1, sizeof(int));
    nd.kh = iarg(argc, argv, "kh", 3); nd.kw = iarg(argc, argv, "kw", 3);
    nd.sh = iarg(argc, argv, "sh", 1); nd.sw = iarg(argc, argv, "sw", 1);
    nd.dh = iarg(argc, argv, "dh", 1); nd.dw = iarg(argc, argv, "dw", 1);
    nd.pad = strcmp(arg(argc, argv, "pad", "valid"), "same") == 0 ? FC_PAD_SAME : FC_PAD_VALID;
    nd.filters = iarg(argc, argv, "filters", 1);
    nd.depth_multiplier = iarg(argc, argv, "mult", 1);
    nd.act = strcmp(act, "linear") ? FC_ACT_RELU : FC_ACT_LINEAR;
    nd.act_max = strcmp(act, "relu6") ? 0.0f : 6.0f;
    if (nd.op == FC_OP_CONV2D || nd.op == FC_OP_DEPTHWISE) {
        int oc = nd.op == FC_OP_CONV2D ? nd.filters : c * nd.depth_multiplier;
        int per_in = nd.op == FC_OP_CONV2D ? nd.filters : nd.depth_multiplier;
        nd.w_len = (size_t)nd.kh * nd.kw * c * per_in;
        nd.w = read_f32(arg(argc, argv, "kernel", ""), nd.w_len);
        if (!nd.w) { free(nd.inputs); goto out; }
        if (arg(argc, argv, "bias", NULL)) {
            nd.b_len = (size_t)oc;
            nd.b = read_f32(arg(argc, argv, "bias", ""), nd.b_len);
            if (!nd.b) { free(nd.inputs); free(nd.w); goto out; }
        }
    }
    if (fc_graph_add(g, &nd, &st) < 0 || fc_graph_finalize(g, NULL, 0, 0, &st)) goto out;
    size_t ie = (size_t)n * h * w * c, oe = (size_t)n * fc_graph_out_elems(g);
    x = read_f32(arg(argc, argv, "in", ""), ie);
    y = malloc(oe * sizeof *y);
    if (!x || !y) goto out;
    fc_plan *p = fc_plan_create(g, n, iarg(argc, argv, "threads", 1), &st);
    if (!p || fc_plan_forward(p, x, n, y, &st)) { fc_plan_free(p); goto out; }
    fc_plan_free(p);
    FILE *f = fopen(arg(argc, argv, "out", ""), "wb");
    if (!f || fwrite(y, sizeof *y, oe, f) != oe || fclose(f) != 0) {
        fprintf(stderr, "engine_op: cannot write output\n");
        goto out;
    }
    const fc_node *o = &g->nodes[g->output];
    printf("%d %d %d\n", o->oh, o->ow, o->oc);
    rc = 0;
out:
    if (rc && st.msg[0]) fprintf(stderr, "engine_op: %s\n", st.msg);
    fc_graph_free(g);
    free(x);
    free(y);
    return rc;
}
