/* cmd_predict.c - `featcache predict [-m MODEL] --head HEAD.h5 IMAGE...`: backbone + head on
 * new images, CSV path,class,probability on stdout.
 *
 * The backbone is cut and sized as recorded in the head (featcache_backbone: layer, input
 * size, resize rule, preprocessing), and the head is refused unless the fingerprint of that
 * configuration with the given MODEL's weights equals the one the head was trained on.
 * Without -m, the backbone the head records is used when it opens and its weights' sha256
 * is the head's. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/cmd/commands.h"
#include "../common/cmd/opts.h"
#include "../common/image.h"
#include "../common/model.h"
#include "../common/store.h"
#include "../extract/scan.h"
#include "head_h5.h"
#include "run_common.h"


static const fc_opt predict_opts[] = {
    {"model", 'm', "MODEL", "the backbone the head's features came from (see extract; default: the one the head "
                            "records, if it opens here and has the same weights)"},
    {"head", 0, "HEAD.h5", "a head trained by featcache train/sweep"},
    {"top", 0, "K", "the K most probable classes per image (default 1)"},
    {"batch", 0, "N", "images per backbone batch (default 16)"},
    {"threads", 0, "N", "threads (default: all online CPUs)"},
    {0},
};

static const fc_cmd_spec predict_spec = {
    "predict", "[-m MODEL] --head HEAD.h5 IMAGE|FOLDER... [--top K] [--batch N] [--threads N]",
    "run backbone + head on images (a folder: its image files, recursively, in sorted order); "
    "CSV path,class,probability on stdout",
    predict_opts, 1, -1,
};

typedef struct {
    fc_head *hd;
    fc_graph *g;
    fc_plan *plan;
    fc_provenance prov;
    fc_preprocess pre;
    fc_resize rs;
    int batch, top;
    float *in, *feat, *probs;
    const char **paths;
    int *rank; /* top classes of one image */
} predictor;

/* One recorded backbone path: 0 when it opens (into P->g) with the head's weights, else -1
 * and why not, as "which ..." after the path. */
static int try_recorded(const char *model, predictor *P, char *why, size_t cap) {
    fc_status lst = {0};
    if (fc_model_load(model, &P->g, &lst)) {
        snprintf(why, cap, "which cannot be opened here (%s)", lst.msg);
        return -1;
    }
    char sha[65];
    for (int i = 0; i < 32; i++) snprintf(sha + 2 * i, 3, "%02x", P->g->weights_sha256[i]);
    if (strcmp(sha, P->prov.model_sha256) != 0) {
        snprintf(why, cap, "which now holds other weights (sha256 %.16s..., the head's %.16s...)", sha,
                 P->prov.model_sha256);
        fc_graph_free(P->g);
        P->g = NULL;
        return -1;
    }
    return 0;
}

/* Without -m: the backbone the head records (featcache_backbone model_path, as given to
 * extract: a file or a fetched default's name), if it opens and has the head's weights;
 * else its absolute form when extract ran (model_abspath, heads of stores made since it
 * was recorded), so that predict works from another directory than extract's; else a
 * usage error (exit 2) saying what is missing. *used: the path opened. */
static int open_recorded(const char *head_path, predictor *P, const char **used, fc_status *st) {
    const char *model = P->prov.model_path, *abs = P->prov.model_abspath;
    char why[1200], why_abs[1200];
    if (!model[0])
        return fc_fail(st, FC_ERR_ARG, "-m MODEL is required: %s records no backbone path", head_path);
    int other = abs[0] && strcmp(abs, model) != 0;
    if (try_recorded(model, P, why, sizeof why) == 0) {
        *used = model;
    } else if (other && try_recorded(abs, P, why_abs, sizeof why_abs) == 0) {
        *used = abs;
    } else if (other) {
        return fc_fail(st, FC_ERR_ARG, "-m MODEL is required: %s records its backbone as %s, %s; nor as %s, its "
                       "absolute path when extract ran, %s", head_path, model, why, abs, why_abs);
    } else {
        return fc_fail(st, FC_ERR_ARG, "-m MODEL is required: %s records its backbone as %s, %s", head_path, model,
                       why);
    }
    if (*used == abs)
        fprintf(stderr, "featcache predict: backbone %s, as recorded in %s (the absolute path of %s when extract ran; "
                "same weights, sha256 %.16s...)\n", abs, head_path, model, P->prov.model_sha256);
    else
        fprintf(stderr, "featcache predict: backbone %s, as recorded in %s (same weights, sha256 %.16s...)\n", model,
                head_path, P->prov.model_sha256);
    return FC_OK;
}

static int open_backbone(const char *model, const char *head_path, predictor *P, fc_status *st) {
    if (fc_preprocess_parse(P->prov.preprocess, &P->pre) || fc_resize_parse(P->prov.resize, &P->rs))
        return fc_fail(st, FC_ERR_FORMAT, "%s: unknown preprocess '%s' or resize '%s'", head_path, P->prov.preprocess,
                       P->prov.resize);
    if (!model) {
        if (open_recorded(head_path, P, &model, st)) return st->code;
    } else if (fc_model_load(model, &P->g, st)) {
        return st->code;
    }
    fc_provenance want = P->prov;
    for (int i = 0; i < 32; i++) snprintf(want.model_sha256 + 2 * i, 3, "%02x", P->g->weights_sha256[i]);
    snprintf(want.arch, sizeof want.arch, "%s", P->g->arch);
    if (strcmp(want.model_sha256, P->prov.model_sha256) != 0)
        return fc_fail(st, FC_ERR_MISMATCH, "%s: head was trained on features of other weights: the head has %s "
                       "(sha256 %.16s..., from %s), %s has %s (sha256 %.16s...)", head_path,
                       P->prov.arch[0] ? P->prov.arch : "?", P->prov.model_sha256,
                       P->prov.model_path[0] ? P->prov.model_path : "?", model, want.arch, want.model_sha256);
    if (fc_graph_finalize(P->g, P->prov.layer, P->prov.in_h, P->prov.in_w, st)) {
        fc_wrap(st, "%s: cannot cut at the head's layer", head_path);
        st->code = FC_ERR_MISMATCH; /* the head, not the command line, named the layer */
        return st->code;
    }
    snprintf(want.numerics, sizeof want.numerics, "%s", FC_NUMERICS_VERSION);
    fc_provenance_fingerprint(&want);
    char msg[900];
    if (fc_provenance_diff(&P->prov, "the head", &want, model, msg, sizeof msg))
        return fc_fail(st, FC_ERR_MISMATCH, "%s: head was trained on features of another backbone setup: %s",
                       head_path, msg);
    if (strcmp(want.fingerprint, P->hd->fingerprint) != 0)
        return fc_fail(st, FC_ERR_MISMATCH, "%s: head fingerprint %.16s... does not match %s at layer %s (%.16s...)",
                       head_path, P->hd->fingerprint, model, P->prov.layer, want.fingerprint);
    const fc_node *o = &P->g->nodes[P->g->output];
    if (o->oh != P->hd->in_h || o->ow != P->hd->in_w || o->oc != P->hd->in_c)
        return fc_fail(st, FC_ERR_MISMATCH, "%s: layer %s gives %dx%dx%d maps, the head takes %dx%dx%d", model,
                       P->prov.layer, o->oh, o->ow, o->oc, P->hd->in_h, P->hd->in_w, P->hd->in_c);
    return FC_OK;
}

/* ---- the images to predict: files as given, folders walked ---- */

typedef struct {
    char **v;
    int n, cap;
} pathlist;

static void paths_free(pathlist *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL, l->n = l->cap = 0;
}

static int paths_push(pathlist *l, const char *p, fc_status *st) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **g = realloc(l->v, (size_t)cap * sizeof *g);
        if (!g) return fc_fail(st, FC_ERR_NOMEM, "out of memory listing images");
        l->v = g, l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(p))) return fc_fail(st, FC_ERR_NOMEM, "out of memory listing images");
    l->n++;
    return FC_OK;
}

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

/* The image files under dir (the names extract reads; sorted names; hidden entries, FIFOs
 * and devices skipped; symlinked folders inside not entered, as extract). */
static int walk_folder(const char *dir, int depth, pathlist *out, fc_status *st) {
    if (depth > 64) return fc_fail(st, FC_ERR_FORMAT, "%s: folders nested more than 64 deep", dir);
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, by_name), rc = FC_OK;
    if (n < 0) return fc_fail(st, FC_ERR_IO, "%s: cannot list folder: %s", dir, strerror(errno));
    for (int i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        if (!rc && name[0] != '.') {
            size_t len = strlen(dir) + strlen(name) + 2;
            char *p = malloc(len);
            struct stat sb, lb;
            if (!p) rc = fc_fail(st, FC_ERR_NOMEM, "out of memory listing %s", dir);
            else {
                snprintf(p, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
                int have = stat(p, &sb) == 0;
                if (have && S_ISDIR(sb.st_mode)) {
                    if (lstat(p, &lb) == 0 && !S_ISLNK(lb.st_mode)) rc = walk_folder(p, depth + 1, out, st);
                } else if (fc_scan_is_image_name(name) && (!have || S_ISREG(sb.st_mode))) {
                    rc = paths_push(out, p, st); /* a FIFO named x.png is skipped (as extract): it would block */
                }
                free(p);
            }
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

/* "featcache predict: MSG TAIL" on stderr; MSG (a message or a path) with control bytes
 * escaped, as every error message: a file name cannot recolour the terminal or fake a line. */
static void say(const char *msg, const char *tail) {
    fputs("featcache predict: ", stderr);
    fc_fputs_printable(msg, stderr);
    fprintf(stderr, "%s\n", tail);
}

/* Arguments to image paths: a folder adds its images (an empty one is an error). */
static int expand_args(char **args, int n, pathlist *out, int *bad_dirs, fc_status *st) {
    for (int i = 0; i < n; i++) {
        struct stat sb;
        if (stat(args[i], &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            if (paths_push(out, args[i], st)) return st->code;
            continue;
        }
        int before = out->n;
        fc_status wst = {0};
        int wrc = walk_folder(args[i], 0, out, &wst);
        if (wrc) {
            if (wst.code == FC_ERR_NOMEM) return fc_fail(st, wst.code, "%s", wst.msg);
            say(wst.msg, "");
            (*bad_dirs)++;
        } else if (out->n == before) {
            say(args[i], ": no images (.png .jpg .jpeg .bmp .ppm .tif .tiff) in this folder");
            (*bad_dirs)++;
        }
    }
    return FC_OK;
}

static void csv_field(const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"') putchar('"');
        putchar(*s);
    }
    putchar('"');
}

/* Class k's probability from the head's U outputs (U = 1: a sigmoid giving class 1). */
static float class_prob(const float *p, int U, int k) { return U == 1 ? (k ? p[0] : 1.0f - p[0]) : p[k]; }

/* 1 if class a ranks above class b: higher probability first, NaN (a diverged head) last,
 * ties in label order. */
static int ranks_above(const float *p, int U, int a, int b) {
    float x = class_prob(p, U, a), y = class_prob(p, U, b);
    if (x != x || y != y) return y != y && (x == x || a < b);
    return x > y || (x == y && a < b);
}

/* Moves heap[i] down a heap of n classes whose root is the lowest-ranked. */
static void sift_down(int *heap, int n, int i, const float *p, int U) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, low = i;
        if (l < n && ranks_above(p, U, heap[low], heap[l])) low = l;
        if (r < n && ranks_above(p, U, heap[low], heap[r])) low = r;
        if (low == i) return;
        int t = heap[i]; heap[i] = heap[low]; heap[low] = t;
        i = low;
    }
}

/* The top n of all K classes, best first, into top[n] (n <= K): a heap of the n best
 * seen so far, O(K log n) whatever the class count. */
static void top_classes(const float *p, int U, int K, int n, int *top) {
    for (int k = 0; k < n; k++) top[k] = k;
    for (int i = n / 2 - 1; i >= 0; i--) sift_down(top, n, i, p, U);
    for (int k = n; k < K; k++)
        if (ranks_above(p, U, k, top[0])) top[0] = k, sift_down(top, n, 0, p, U);
    for (int m = n - 1; m > 0; m--) { /* pop the lowest to the back: best first */
        int t = top[0]; top[0] = top[m]; top[m] = t;
        sift_down(top, m, 0, p, U);
    }
}

/* Rows for one image: the top K classes by probability. */
static void print_rows(const predictor *P, const char *path, const float *p) {
    int U = P->hd->dims[P->hd->n_layers], K = P->hd->n_classes;
    int n = P->top < K ? P->top : K;
    top_classes(p, U, K, n, P->rank);
    for (int t = 0; t < n; t++) {
        csv_field(path);
        putchar(',');
        csv_field(P->hd->class_names ? P->hd->class_names[P->rank[t]] : "?");
        printf(",%.6f\n", class_prob(p, U, P->rank[t]));
    }
}

/* Decode, resize and preprocess one image into slot i of the input batch. */
static int load_one(predictor *P, const char *path, int i, fc_status *st) {
    fc_image img = {0}, sized = {0};
    int h = P->prov.in_h, w = P->prov.in_w, rc;
    if (!(rc = fc_image_load(path, 0, &img, st)) && !(rc = fc_image_resize(&img, h, w, P->rs, &sized, st)))
        fc_preprocess_apply(P->pre, sized.rgb, (size_t)h * w, P->in + (size_t)i * h * w * 3);
    fc_image_free(&img);
    fc_image_free(&sized);
    return rc;
}

static int run_batches(predictor *P, char **paths, int n, int *failed, fc_status *st) {
    int U = P->hd->dims[P->hd->n_layers];
    printf("path,class,probability\n");
    for (int i0 = 0; i0 < n;) {
        int m = 0;
        while (m < P->batch && i0 < n) {
            fc_status ist = {0};
            if (load_one(P, paths[i0], m, &ist)) {
                say(ist.msg, "");
                (*failed)++;
            } else {
                P->paths[m++] = paths[i0];
            }
            i0++;
        }
        if (!m) continue;
        if (fc_plan_forward(P->plan, P->in, m, P->feat, st) || fc_head_predict(P->hd, P->feat, (size_t)m, P->probs, st))
            return st->code;
        for (int k = 0; k < m; k++) print_rows(P, P->paths[k], P->probs + (size_t)k * U);
        fflush(stdout);
    }
    return FC_OK;
}

static int predict(const char *model, const char *head_path, char **paths, int n, predictor *P, int threads,
                   int *failed, fc_status *st) {
    if (fc_head_load(head_path, &P->hd, st) || fc_run_head_provenance(head_path, P->hd, &P->prov, st) ||
        open_backbone(model, head_path, P, st))
        return st->code;
    if (P->top > P->hd->n_classes) /* as Keras's argsort()[-K:] would: every class, but say so */
        fprintf(stderr, "featcache predict: note: --top %d: %s has %d classes, so %d rows per image\n", P->top, head_path,
                P->hd->n_classes, P->hd->n_classes);
    /* the input size comes from the head (its fingerprint is recomputed from the same
     * fields, so it proves nothing): what it makes predict allocate must fit in memory */
    if (!(P->plan = fc_plan_create(P->g, P->batch, threads, st)))
        return fc_wrap(st, "%s (the backbone input it was trained at is %dx%d)", head_path, P->prov.in_h,
                       P->prov.in_w);
    size_t per_in = (size_t)P->prov.in_h * P->prov.in_w * 3, per_f = (size_t)P->hd->in_h * P->hd->in_w * P->hd->in_c;
    char what[1200];
    snprintf(what, sizeof what, "%s: a batch of %d input images of %dx%d", head_path, P->batch, P->prov.in_h,
             P->prov.in_w);
    if (fc_mem_check((double)P->batch * (double)(per_in + per_f) * sizeof(float), what, st)) return st->code;
    P->in = fc_aligned_alloc((size_t)P->batch * per_in * sizeof(float), st);
    P->feat = fc_aligned_alloc((size_t)P->batch * per_f * sizeof(float), st);
    P->probs = fc_aligned_alloc((size_t)P->batch * P->hd->dims[P->hd->n_layers] * sizeof(float), st);
    P->paths = fc_calloc((size_t)P->batch, sizeof *P->paths, st);
    P->rank = fc_calloc((size_t)P->top, sizeof *P->rank, st);
    if (!P->in || !P->feat || !P->probs || !P->paths || !P->rank) return st->code;
    return run_batches(P, paths, n, failed, st);
}

int cmd_predict(int argc, char **argv) {
    fc_args a;
    int rc = fc_args_parse(&predict_spec, argc, argv, &a);
    if (rc != FC_ARGS_OK) return rc;
    predictor P = {0};
    long top, batch;
    int threads = 1;
    const char *model = fc_arg_str(&a, "model", NULL), *head = fc_arg_str(&a, "head", NULL);
    if (!head) rc = fc_usage_error("predict", "--head HEAD.h5 is required");
    else if (!head[0]) rc = fc_usage_error("predict", "--head is empty (an unset shell variable?)");
    else if ((rc = fc_arg_long(&a, "top", 1, 1, FC_MAX_DIM, &top)) == FC_ARGS_OK &&
             (rc = fc_arg_long(&a, "batch", 16, 1, 1024, &batch)) == FC_ARGS_OK &&
             (rc = fc_run_threads(&a, &threads)) == FC_ARGS_OK) {
        fc_status st = {0};
        int failed = 0, bad_dirs = 0;
        pathlist paths = {0};
        P.top = (int)top, P.batch = (int)batch;
        if (expand_args(a.pos, a.npos, &paths, &bad_dirs, &st)) rc = fc_report("predict", &st);
        else if (!paths.n) rc = 1; /* every argument an empty or unreadable folder: said above */
        else if (predict(model, head, paths.v, paths.n, &P, threads, &failed, &st)) rc = fc_report("predict", &st);
        else rc = failed || bad_dirs ? 1 : 0;
        if (failed) fprintf(stderr, "featcache predict: %d of %d images could not be read\n", failed, paths.n);
        paths_free(&paths);
    }
    if (P.plan) fc_plan_free(P.plan);
    if (P.g) fc_graph_free(P.g);
    fc_head_free(P.hd);
    free(P.in), free(P.feat), free(P.probs), free(P.paths), free(P.rank);
    fc_args_free(&a);
    return rc;
}
