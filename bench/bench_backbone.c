/* bench_backbone.c - backbone throughput: OpenBLAS sgemm GFLOP/s on this machine, then
 * images/s and effective GFLOP/s (2 x MACs) of backbone graphs with random weights, and
 * their fraction of the sgemm figure. Never fails on time.
 *
 *   bench_backbone [--threads N] [--batch N] [--iters N] [--graphs vgg16,mbv2,...]
 *
 * Graphs: vgg16 (conv base, 150x150 -> 4x4x512, built here), and when common/arch.h is
 * present, inception_v3 cut at mixed7 at 150x150 and mobilenet_v2 to out_relu at 224x224
 * (fc_arch_build_random). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/blas.h"
#include "../common/graph.h"
#if defined(__has_include)
#if __has_include("../common/arch.h")
#include "../common/arch.h"
#define HAVE_ARCH 1
#endif
#endif

static unsigned long long rng = 0x9E3779B97F4A7C15ULL;
static float frand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / (1 << 23))) - 1.0f;
}

static float *randv(size_t n, float scale) {
    float *v = malloc(n * sizeof *v);
    if (!v) { fprintf(stderr, "out of memory\n"); exit(1); }
    for (size_t i = 0; i < n; i++) v[i] = frand() * scale;
    return v;
}

/* --- sgemm --------------------------------------------------------------------------- */

static double sgemm_gflops(int m, int n, int k, double min_seconds) {
    float *a = randv((size_t)m * k, 1), *b = randv((size_t)k * n, 1), *c = randv((size_t)m * n, 1);
    fc_sgemm(0, 0, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n); /* warm-up */
    int reps = 0;
    double t0 = fc_now(), t;
    do {
        fc_sgemm(0, 0, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        reps++;
        t = fc_now() - t0;
    } while (t < min_seconds);
    free(a); free(b); free(c);
    return 2.0 * m * n * (double)k * reps / t * 1e-9;
}

/* --- VGG16 conv base ------------------------------------------------------------------- */

static int add(fc_graph *g, fc_node *n) {
    fc_status st = {0};
    int r = fc_graph_add(g, n, &st);
    if (r < 0) { fprintf(stderr, "%s\n", st.msg); exit(1); }
    return r;
}

static int add_layer(fc_graph *g, fc_op op, const char *name, int in, int filters, int cin) {
    fc_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    snprintf(n.name, sizeof n.name, "%s", name);
    n.n_inputs = 1;
    n.inputs = malloc(sizeof(int));
    n.inputs[0] = in;
    n.sh = n.sw = n.kh = n.kw = 2;
    n.dh = n.dw = 1;
    if (op == FC_OP_CONV2D) {
        n.kh = n.kw = 3;
        n.sh = n.sw = 1;
        n.pad = FC_PAD_SAME;
        n.act = FC_ACT_RELU;
        n.filters = filters;
        n.w_len = (size_t)9 * cin * filters;
        n.w = randv(n.w_len, sqrtf(2.0f / (9.0f * cin)) * 1.7f);
        n.b_len = (size_t)filters;
        n.b = randv(n.b_len, 0.05f);
    }
    return add(g, &n);
}

static fc_graph *build_vgg16(void) {
    static const int cfg[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0,
                              512, 512, 512, 0};
    fc_status st = {0};
    fc_graph *g = fc_graph_create(&st);
    g->in_h = g->in_w = 150;
    g->in_c = 3;
    snprintf(g->arch, sizeof g->arch, "vgg16");
    fc_node in;
    memset(&in, 0, sizeof in);
    in.op = FC_OP_INPUT;
    snprintf(in.name, sizeof in.name, "input_1");
    int x = add(g, &in), cin = 3, block = 1, conv = 1;
    for (size_t i = 0; i < sizeof cfg / sizeof *cfg; i++) {
        char name[64];
        if (cfg[i]) {
            snprintf(name, sizeof name, "block%d_conv%d", block, conv++);
            x = add_layer(g, FC_OP_CONV2D, name, x, cfg[i], cin);
            cin = cfg[i];
        } else {
            snprintf(name, sizeof name, "block%d_pool", block++);
            x = add_layer(g, FC_OP_MAXPOOL, name, x, 0, cin);
            conv = 1;
        }
    }
    if (fc_graph_finalize(g, NULL, 0, 0, &st)) { fprintf(stderr, "%s\n", st.msg); exit(1); }
    return g;
}

/* --- graph timing ---------------------------------------------------------------------- */

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* Times batches through a plan; returns best images/s (wall clock) and fills y with the
 * output; *cpu_ips = images per CPU-second of the whole process (robust to a loaded
 * machine: other processes' time is not counted, spinning BLAS threads are). */
static double time_plan(const fc_graph *g, int batch, int threads, int iters, int wino,
                        const float *x, float *y, double *cpu_ips) {
    fc_status st = {0};
    fc_plan_opts o = {wino, 0};
    fc_plan *p = fc_plan_create_opts(g, batch, threads, &o, &st);
    if (!p) { fprintf(stderr, "plan: %s\n", st.msg); exit(1); }
    fc_plan_forward(p, x, batch, y, &st); /* warm-up */
    double best = 1e30, c0 = cpu_now();
    for (int i = 0; i < iters; i++) {
        double t0 = fc_now();
        fc_plan_forward(p, x, batch, y, &st);
        double t = fc_now() - t0;
        if (t < best) best = t;
    }
    *cpu_ips = batch * iters / (cpu_now() - c0);
    fc_plan_free(p);
    return batch / best;
}

static double max_rel_err(const float *a, const float *b, size_t n) {
    double md = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > md) md = d;
        if (fabs((double)b[i]) > mr) mr = fabs((double)b[i]);
    }
    return mr > 0 ? md / mr : md;
}

static void bench_graph(const char *key, const char *label, const fc_graph *g, int batch,
                        int threads, int iters, double sgemm) {
    size_t ie = (size_t)batch * g->in_h * g->in_w * g->in_c;
    size_t oe = (size_t)batch * fc_graph_out_elems(g);
    float *x = randv(ie, 1.0f), *y = malloc(oe * sizeof *y), *ref = malloc(oe * sizeof *ref);
    double macs = (double)fc_graph_total_macs(g), cpu_ips;
    const fc_node *o = &g->nodes[g->output];
    printf("%s: %dx%d -> %dx%dx%d, %.3f GMAC/img, batch %d, %d threads\n", label, g->in_h,
           g->in_w, o->oh, o->ow, o->oc, macs * 1e-9, batch, threads);
    static const int modes[] = {-1, 2, 4, 0};
    static const char *names[] = {"im2col+sgemm", "winograd F(2x2,3x3)", "winograd F(4x4,3x3)",
                                  "default"};
    for (int i = 0; i < 4; i++) {
        double ips = time_plan(g, batch, threads, iters, modes[i], x, i ? y : ref, &cpu_ips);
        double gf = 2.0 * macs * ips * 1e-9;
        printf("  %-22s %7.2f img/s  %6.1f effective GFLOP/s  %5.1f%% of sgemm  (%.2f img per "
               "CPU-s)", names[i], ips, gf, 100.0 * gf / sgemm, cpu_ips);
        if (i) printf("  rel err vs im2col %.1e", max_rel_err(y, ref, oe));
        printf("\n");
        if (modes[i] == 0) printf("result %s %.2f\n", key, ips); /* read by bench/run.sh */
    }
    free(x);
    free(y);
    free(ref);
}

int main(int argc, char **argv) {
    int threads = fc_online_cpus(), batch = 20, iters = 5;
    const char *graphs = "vgg16,inception_v3,mobilenet_v2";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--iters")) iters = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--graphs")) graphs = argv[i + 1];
    }
    fc_blas_set_threads(threads);
    printf("cpu: %s, BLAS core: %s, threads: %d, batch: %d\n", fc_cpu_isa(), fc_blas_corename(),
           threads, batch);
    double s2048 = sgemm_gflops(2048, 2048, 2048, 1.5);
    printf("sgemm 2048^3:                %7.1f GFLOP/s\n", s2048);
    /* VGG16@150 im2col shapes per image: (pixels, 9*cin) x (9*cin, cout) */
    double s1 = sgemm_gflops(1444, 512, 2304, 0.5), s2 = sgemm_gflops(5476, 128, 576, 0.5);
    fc_blas_set_threads(1);
    double s1t = sgemm_gflops(2048, 2048, 2048, 1.0);
    fc_blas_set_threads(threads);
    printf("sgemm 1444x512x2304 (vgg block4-like): %7.1f GFLOP/s\n", s1);
    printf("sgemm 5476x128x576  (vgg block2-like): %7.1f GFLOP/s\n", s2);
    printf("sgemm 2048^3 one thread:     %7.1f GFLOP/s (x%d = %.1f)\n", s1t, threads,
           s1t * threads);
    if (strstr(graphs, "vgg16")) {
        fc_graph *g = build_vgg16();
        bench_graph("vgg16", "vgg16 (block5_pool)", g, batch, threads, iters, s2048);
        fc_graph_free(g);
    }
#ifdef HAVE_ARCH
    static const struct { const char *arch, *layer; int size; } specs[] = {
        {"inception_v3", "mixed7", 150}, {"mobilenet_v2", "out_relu", 224}};
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        if (!strstr(graphs, specs[i].arch)) continue;
        fc_status st = {0};
        fc_graph *g = fc_graph_create(&st);
        char label[96];
        snprintf(label, sizeof label, "%s (%s)", specs[i].arch, specs[i].layer);
        if (!g || fc_arch_build_random(specs[i].arch, g, 42, &st) ||
            fc_graph_finalize(g, specs[i].layer, specs[i].size, specs[i].size, &st))
            fprintf(stderr, "%s: %s\n", label, st.msg);
        else
            bench_graph(specs[i].arch, label, g, batch, threads, iters, s2048);
        fc_graph_free(g);
    }
#else
    if (strstr(graphs, "inception_v3") || strstr(graphs, "mobilenet_v2"))
        printf("inception_v3 / mobilenet_v2: skipped (common/arch.h not in this build)\n");
#endif
    return 0;
}
