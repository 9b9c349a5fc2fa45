/* bench_h5guard.c - cost of the HDF5 pre-flight (common/h5guard.c): opening an export
 * (fc_h5feat_open), loading it whole (fc_h5feat_load, what import/train read) and loading
 * a Keras model (fc_model_load), each with the forked pre-flight and without.
 *   bench_h5guard open|load|model FILE on|off [REPS]
 * Prints the median wall and CPU time (this process + the child); bench/h5guard.sh runs
 * each pair and prints the differences. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../common/dataset.h"
#include "../common/graph.h"
#include "../common/h5feat.h"
#include "../common/h5guard.h"
#include "../common/model.h"

typedef int (*job)(const char *path, fc_status *st);

static int open_export(const char *path, fc_status *st) {
    fc_h5feat *f = NULL;
    int rc = fc_h5feat_open(path, &f, st);
    fc_h5feat_close(f);
    return rc;
}
static int load_export(const char *path, fc_status *st) {
    fc_dataset ds;
    int rc = fc_h5feat_load(path, FC_SPLIT_ANY, &ds, st);
    fc_dataset_free(&ds);
    return rc;
}
static int load_model(const char *path, fc_status *st) {
    fc_graph *g = NULL;
    int rc = fc_model_load(path, &g, st);
    fc_graph_free(g);
    return rc;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* CPU seconds of this process and its reaped children (the pre-flight child). */
static double cpu_now(void) {
    struct rusage a, b;
    getrusage(RUSAGE_SELF, &a);
    getrusage(RUSAGE_CHILDREN, &b);
    return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec + b.ru_stime.tv_sec) +
           (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec + b.ru_stime.tv_usec) * 1e-6;
}

/* Median wall and CPU seconds of reps runs of fn(path), pre-flight on or off. */
static int median(job fn, const char *path, int guard, int reps, double *wall, double *cpu) {
    double t[64], c[64];
    fc_h5_preflight_enable(guard);
    for (int r = 0; r < reps; r++) {
        fc_status st = {0};
        fc_h5_preflight_forget(); /* every run pays the check, as every command does */
        double t0 = fc_now(), c0 = cpu_now();
        if (fn(path, &st)) {
            fprintf(stderr, "%s\n", st.msg);
            return -1;
        }
        t[r] = fc_now() - t0, c[r] = cpu_now() - c0;
    }
    fc_h5_preflight_enable(1);
    qsort(t, (size_t)reps, sizeof *t, cmp_d);
    qsort(c, (size_t)reps, sizeof *c, cmp_d);
    *wall = t[reps / 2], *cpu = c[reps / 2];
    return 0;
}

/* One measurement per process, as each featcache command pays it once at startup (the
 * cost of fork grows with the parent's memory, and HDF5 keeps freed blocks on its free
 * lists, so rows in one process would charge later rows for earlier ones). */
int main(int argc, char **argv) {
    static const struct { const char *name, *label; job fn; } jobs[] = {
        {"open", "open export (fc_h5feat_open)", open_export},
        {"load", "load export (fc_h5feat_load)", load_export},
        {"model", "load model (fc_model_load)", load_model},
    };
    int reps = argc > 4 ? atoi(argv[4]) : 7, k = -1;
    for (int i = 0; argc > 1 && i < 3; i++)
        if (strcmp(argv[1], jobs[i].name) == 0) k = i;
    if (argc < 4 || k < 0 || (strcmp(argv[3], "on") && strcmp(argv[3], "off"))) {
        fprintf(stderr, "usage: bench_h5guard open|load|model FILE on|off [REPS]\n");
        return 2;
    }
    if (reps < 1 || reps > 64) reps = 7;
    int on = strcmp(argv[3], "on") == 0;
    double t, c;
    if (median(jobs[k].fn, argv[2], on, 1, &t, &c) || /* warms the page cache */
        median(jobs[k].fn, argv[2], on, reps, &t, &c))
        return 1;
    printf("%-30s pre-flight %-3s %9.2f ms wall %9.2f ms cpu (median of %d)\n", jobs[k].label,
           argv[3], t * 1e3, c * 1e3, reps);
    return 0;
}
