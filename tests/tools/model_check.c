/* model_check.c - runs the golden cases written by tests/py/make_models.py:
 *     model_check DIR [PLAN_THREADS]
 * For each line of DIR/cases.txt (model layer n h w c override out_elems in.f32 out.f32)
 * it loads the model, finalizes it (cut layer, size override), runs fc_plan_forward and
 * fc_graph_forward_naive and compares with the numpy reference: max|diff|/max|ref| <=
 * 1e-4. Prints "ok - ..." / "FAIL - ..." lines (TAP-like, counted by tests/run.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/graph.h"
#include "../../common/model.h"

static float *read_f32(const char *path, size_t n) {
    FILE *f = fopen(path, "rb");
    float *p = malloc(n * sizeof *p);
    if (!f || !p || fread(p, sizeof *p, n, f) != n) {
        if (f) fclose(f);
        free(p);
        return NULL;
    }
    fclose(f);
    return p;
}

static double rel_err(const float *a, const float *b, size_t n) {
    double md = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
        double d = a[i] > b[i] ? (double)a[i] - b[i] : (double)b[i] - a[i];
        if (d > md || d != d) md = d != d ? 1e30 : d;
        double r = b[i] < 0 ? -(double)b[i] : b[i];
        if (r > mr) mr = r;
    }
    return mr > 0 ? md / mr : md;
}

static int run_case(const char *dir, const char *line, int threads) {
    char model[512], layer[256], inf[256], outf[256], spec[2048], path[2048];
    int n, h, w, c, ovr;
    size_t oe;
    if (sscanf(line, "%511s %255s %d %d %d %d %d %zu %255s %255s", model, layer, &n, &h, &w, &c,
               &ovr, &oe, inf, outf) != 10)
        return 0;
    const char *colon = strchr(model, ':');
    if (colon) snprintf(spec, sizeof spec, "%.*s:%s/%s", (int)(colon - model), model, dir, colon + 1);
    else snprintf(spec, sizeof spec, "%s/%s", dir, model);
    const char *cut = strcmp(layer, "-") ? layer : NULL;
    fc_status st = {0};
    fc_graph *g = NULL;
    fc_plan *p = NULL;
    size_t in_n = (size_t)n * h * w * c;
    snprintf(path, sizeof path, "%s/%s", dir, inf);
    float *x = read_f32(path, in_n);
    snprintf(path, sizeof path, "%s/%s", dir, outf);
    float *ref = read_f32(path, (size_t)n * oe);
    float *y = calloc((size_t)n * oe, sizeof *y), *yn = calloc((size_t)n * oe, sizeof *yn);
    int ok = 0;
    if (!x || !ref || !y || !yn) {
        printf("FAIL - %s %s: cannot read case files\n", model, layer);
        goto out;
    }
    if (fc_model_load(spec, &g, &st) || fc_graph_finalize(g, cut, ovr ? h : 0, ovr ? w : 0, &st)) {
        printf("FAIL - %s %s: %s\n", model, layer, st.msg);
        goto out;
    }
    if (fc_graph_out_elems(g) != oe || g->in_h != h || g->in_w != w || g->in_c != c) {
        printf("FAIL - %s %s: shape: in %dx%dx%d out %zu, expected %dx%dx%d out %zu\n", model, layer,
               g->in_h, g->in_w, g->in_c, fc_graph_out_elems(g), h, w, c, oe);
        goto out;
    }
    if (!(p = fc_plan_create(g, n, threads, &st)) || fc_plan_forward(p, x, n, y, &st) ||
        fc_graph_forward_naive(g, x, n, yn, &st)) {
        printf("FAIL - %s %s: forward: %s\n", model, layer, st.msg);
        goto out;
    }
    double e1 = rel_err(y, ref, (size_t)n * oe), e2 = rel_err(yn, ref, (size_t)n * oe);
    ok = e1 <= 1e-4 && e2 <= 1e-4;
    printf("%s - %s %s %dx%d: plan err %.2e, naive err %.2e\n", ok ? "ok" : "FAIL", model, layer,
           h, w, e1, e2);
out:
    fc_plan_free(p);
    fc_graph_free(g);
    free(x), free(ref), free(y), free(yn);
    return ok ? 1 : -1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: model_check DIR [THREADS]\n");
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 2, fails = 0, runs = 0;
    char path[2048], line[2048];
    snprintf(path, sizeof path, "%s/cases.txt", argv[1]);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "model_check: cannot open %s\n", path);
        return 1;
    }
    while (fgets(line, sizeof line, f)) {
        int r = run_case(argv[1], line, threads);
        runs += r != 0;
        fails += r < 0;
    }
    fclose(f);
    if (runs == 0) printf("FAIL - no cases in %s\n", path);
    return fails || !runs ? 1 : 0;
}
