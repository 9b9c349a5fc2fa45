/* cmd_export.c - `featcache export` (store -> HDF5, streamed). It reads its input through
 * fc_source (share.h), so an .h5 export can be re-written (another --dtype or filter). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../dataset.h"
#include "commands.h"
#include "opts.h"
#include "../outtmp.h"
#include "../stopsig.h"
#include "share.h"
#include "../store_views.h"

/* ---- export ---- */

typedef struct {
    char **sorted;   /* class names sorted, for bsearch */
    int *label_of;   /* sorted index -> label */
    int n;
} class_index;

static int cmp_pstr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int class_index_make(char **names, int n, class_index *ci, fc_status *st) {
    ci->n = n;
    if (!(ci->sorted = fc_calloc((size_t)n, sizeof *ci->sorted, st)) ||
        !(ci->label_of = fc_calloc((size_t)n, sizeof *ci->label_of, st)))
        return st->code;
    memcpy(ci->sorted, names, (size_t)n * sizeof *names);
    qsort(ci->sorted, (size_t)n, sizeof *ci->sorted, cmp_pstr);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++)
            if (ci->sorted[i] == names[k]) ci->label_of[i] = k;
    return 0;
}

static int class_label(const class_index *ci, const char *name) {
    char *const *hit = bsearch(&name, ci->sorted, (size_t)ci->n, sizeof *ci->sorted, cmp_pstr);
    return hit ? ci->label_of[hit - ci->sorted] : -1;
}

typedef struct {
    const char *path; /* the input, for messages */
    fc_h5feat_writer *w;
    class_index ci;
    size_t skipped_failed;
    fc_status *st;
    int rc;
    fc_view_ref *rows; /* sha256 of every exported row, in row order (view = the row) */
    size_t n_rows, cap_rows;
} export_ctx;

static int cmp_ref(const void *a, const void *b) {
    return strcmp(((const fc_view_ref *)a)->sha256, ((const fc_view_ref *)b)->sha256);
}

typedef struct {
    fc_store *store;
    const fc_view_ref *views;  /* views of exported images, in storage order */
    const int64_t *row_of;     /* their images' rows */
} views_ctx;

static int next_view(void *vctx, size_t i, int64_t *row, int32_t *view, float *x, fc_status *st) {
    views_ctx *v = vctx;
    if (fc_share_stopped(st)) return st->code;
    *row = v->row_of[i], *view = v->views[i].view;
    return fc_views_load_one(v->store, v->views[i].sha256, v->views[i].view, x, st);
}

/* The store's views of the exported images into the export (/views, schemas/hdf5_layout.md). */
static int export_views(export_ctx *c, fc_store *store, fc_status *st, size_t *written) {
    fc_views_config vc;
    fc_view_ref *all = NULL;
    int64_t *row_of = NULL;
    size_t n = 0, m = 0;
    *written = 0;
    int rc = fc_views_get_config(store, &vc, st);
    if (rc || !vc.views || (rc = fc_views_list(store, &all, &n, st)) || n == 0) goto out;
    qsort(c->rows, c->n_rows, sizeof *c->rows, cmp_ref);
    if (!(row_of = fc_malloc(n * sizeof *row_of, st))) {
        rc = st->code;
        goto out;
    }
    for (size_t i = 0; i < n; i++) { /* keep the views of exported images, in storage order */
        const fc_view_ref *hit = bsearch(&all[i], c->rows, c->n_rows, sizeof *c->rows, cmp_ref);
        if (hit) all[m] = all[i], row_of[m++] = hit->view;
    }
    views_ctx v = {store, all, row_of};
    rc = fc_h5feat_write_views(c->w, vc.spec, vc.seed, vc.views, m, next_view, &v, st);
    if (!rc) *written = m;
out:
    free(all), free(row_of);
    return rc;
}

static int export_one(void *vctx, const fc_image_rec *rec, const float *x, const uint8_t *b,
                      size_t len) {
    export_ctx *c = vctx;
    if ((c->rc = fc_share_stopped(c->st))) return 1;
    if (rec->status != FC_IMG_OK || !x) {
        c->skipped_failed++;
        return 0;
    }
    int label = class_label(&c->ci, rec->class_name ? rec->class_name : "");
    if (label < 0) {
        c->rc = fc_fail(c->st, FC_ERR_FORMAT, "%s: image %s (%s) has class '%s', which is not in its class list",
                        c->path, rec->path ? rec->path : "", rec->sha256, rec->class_name ? rec->class_name : "");
        return 1;
    }
    if (c->n_rows == c->cap_rows) {
        size_t nc = c->cap_rows ? 2 * c->cap_rows : 1024;
        fc_view_ref *nr = realloc(c->rows, nc * sizeof *nr);
        if (!nr) {
            c->rc = fc_fail(c->st, FC_ERR_NOMEM, "out of memory");
            return 1;
        }
        c->rows = nr, c->cap_rows = nc;
    }
    memcpy(c->rows[c->n_rows].sha256, rec->sha256, 65);
    c->rows[c->n_rows].view = (int)c->n_rows; /* the row this image gets */
    c->n_rows++;
    c->rc = fc_h5feat_append(c->w, rec->sha256, rec->path, label, rec->split, x, c->st);
    return c->rc != 0;
}

static int run_export(const char *in, const char *out, const fc_h5feat_opts *o, int force) {
    fc_status st = {0};
    fc_source src;
    char **names = NULL;
    int n = 0, rc;
    export_ctx c = {.path = in, .st = &st};
    if (fc_output_check(out, "output", FC_OUT_HDF5, &in, 1, force, &st)) return fc_report("export", &st);
    /* HDF5 is not enough: a trained head or a Keras model is HDF5 too */
    if (!force && fc_is_hdf5(out) && !fc_h5feat_is_export(out)) {
        fc_fail(&st, FC_ERR_IO, "output %s is an HDF5 file but not a featcache export (a trained "
                "head? a model?): not replaced (use --force to replace it)", out);
        return fc_report("export", &st);
    }
    if (fc_source_open(in, &src, &st)) return fc_report("export", &st);
    struct stat sb;
    struct sigaction old[FC_STOP_NSIG];
    int existed = stat(out, &sb) == 0;
    fc_stop_catch(old); /* Ctrl-C, SIGTERM, SIGHUP: remove the temp file, leave OUT as it was */
    if ((rc = fc_source_classes(&src, &names, &n, &st))) goto out;
    if (n == 0) { /* a data condition of the input, not a usage error */
        rc = fc_fail(&st, FC_ERR_FORMAT, "%s: no images with features to export (every image "
                     "failed: `featcache info %s` lists why); %s not written", in, in, out);
        goto out;
    }
    if ((rc = class_index_make(names, n, &c.ci, &st)) ||
        (rc = fc_h5feat_writer_open(out, &src.prov, names, n, o, &c.w, &st)))
        goto out;
    fc_test_hook("FC_TEST_HOOK_EXPORT_AFTER_CLASSES"); /* tests: an extract adds a class now */
    rc = fc_source_foreach(&src, 1, export_one, &c, &st);
    if (!rc) rc = c.rc;
    size_t count = fc_h5feat_writer_count(c.w), n_views = 0;
    if (!rc && src.store) rc = export_views(&c, src.store, &st, &n_views);
    if (rc || (rc = fc_share_stopped(&st))) goto out;
    rc = fc_h5feat_writer_finish(c.w, &st);
    c.w = NULL;
    if (rc) goto out;
    long long bytes = stat(out, &sb) == 0 ? (long long)sb.st_size : -1;
    printf("exported %zu image%s (%dx%dx%d %s, %s) to %s: %lld bytes, %.0f bytes/image\n",
           count, count == 1 ? "" : "s", src.prov.feat_h, src.prov.feat_w, src.prov.feat_c,
           o->float16 ? "float16" : "float32", o->zstd ? "zstd" : "shuffle+gzip", out, bytes,
           count ? (double)bytes / (double)count : 0.0);
    if (n_views) /* the bytes per image above include them (review 12 B F13) */
        printf("with %zu augmented views (/views, /view_of, /view_index), counted in the bytes per image\n", n_views);
    if (c.skipped_failed)
        printf("skipped %zu failed images (no features)\n", c.skipped_failed);
out:
    free(c.rows);
    fc_h5feat_writer_abort(c.w);
    fc_stop_restore(old);
    if (rc && st.code == FC_ERR_INTERRUPTED) fc_share_stop_message(&st, out, existed);
    free(c.ci.sorted), free(c.ci.label_of);
    fc_strlist_free(names, n);
    fc_source_close(&src);
    return rc ? fc_report("export", &st) : 0;
}

int cmd_export(int argc, char **argv) {
    static const fc_opt opts[] = {
        {"output", 'o', "OUT.h5", "where to write (instead of the second argument, as import, merge and train take it)"},
        {"dtype", 0, "float32|float16", "element type of /features (default float32)"},
        {"zstd", 0, NULL, "compress with the zstd filter (32015) instead of shuffle+gzip (readers need that filter: h5py with hdf5plugin or HDF5_PLUGIN_PATH)"},
        {"level", 0, "N", "gzip (1-9, default 4) or zstd (1-22, default 3) level"},
        {"force", 0, NULL, "replace OUT even if it is not an earlier export"},
        {0},
    };
    static const fc_cmd_spec spec = {
        "export", "STORE|EXPORT.h5 OUT.h5|-o OUT.h5 [--dtype float32|float16] [--zstd] [--level N] [--force]",
        "write a store (or an export again) as HDF5: /features (N,h,w,c), /labels, /paths, /sha256, /classes, "
        "/split, provenance attributes",
        opts, 1, 2};
    fc_args a;
    int rc = fc_args_parse(&spec, argc, argv, &a);
    if (rc != FC_ARGS_OK) return rc;
    fc_h5feat_opts o = {0};
    long level = 0;
    const char *dt = fc_arg_str(&a, "dtype", "float32");
    o.zstd = fc_arg_flag(&a, "zstd");
    if (strcmp(dt, "float16") == 0) o.float16 = 1;
    else if (strcmp(dt, "float32") != 0)
        rc = fc_usage_error("export", "--dtype must be float32 or float16");
    if (rc == FC_ARGS_OK) rc = fc_arg_long(&a, "level", 0, 1, o.zstd ? 22 : 9, &level);
    o.level = (int)level;
    const char *out = fc_arg_str(&a, "output", NULL);
    if (rc == FC_ARGS_OK && out && a.npos == 2)
        rc = fc_usage_error("export", "OUT given twice ('%s' and -o '%s'); give it once", a.pos[1], out);
    else if (rc == FC_ARGS_OK && !out && a.npos < 2)
        rc = fc_usage_error("export", "missing argument(s): OUT.h5 or -o OUT.h5: usage: featcache export %s", spec.synopsis);
    else if (rc == FC_ARGS_OK && !*(out ? out : a.pos[1]))
        rc = fc_usage_error("export", "OUT.h5 is empty");
    if (rc == FC_ARGS_OK) rc = run_export(a.pos[0], out ? out : a.pos[1], &o, fc_arg_flag(&a, "force"));
    fc_args_free(&a);
    return rc;
}
