/* storedump.c - test helper: prints the images of a store or .h5 export, one line each,
 * sorted (strcmp), so CLI tests can compare stores with `cmp`/`diff`:
 *   storedump SRC             "<sha256> <class> <split> <ok|failed> <sha256 of the decoded
 *                             float32 values> <path>"  (decoded features byte for byte)
 *   storedump --values SRC    ok images only: "<sha256> <path> <class> <split> v1 v2 ..."
 *                             (decoded features, %.9g; tests/py/extract_fixtures.py reads it)
 *   storedump --records SRC   "<sha256> <path> <class> <split> ok|failed[: error]"
 *   storedump --prov SRC      the provenance fields instead
 *   storedump --views SRC     augmented views (extract --augment) of ok train images, one line
 *                             per view: "<sha256> <view> <path> theta tx ty shear zx zy flip_h
 *                             flip_v : v1 v2 ..." (the transform drawn for it, then the decoded
 *                             features; tests/py/extract_fixtures.py expect-views reads it)
 * Exit 1 with the error on stderr if SRC cannot be read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cmd/opts.h"
#include "../../common/augment.h"
#include "../../common/cmd/share.h"
#include "../../common/store_views.h"

enum { MODE_SUM, MODE_VALUES, MODE_RECORDS, MODE_VIEWS };

typedef struct {
    int mode;
    size_t dim;
    fc_store *store;          /* MODE_VIEWS */
    fc_views_config vc;
    fc_aug_spec spec;
    int in_h, in_w;
    float *vx;
    char **lines;
    size_t n, cap;
} dump;

static int add_line(dump *d, char *s) {
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 256;
        char **v = realloc(d->lines, cap * sizeof *v);
        if (!v) return 1;
        d->lines = v;
        d->cap = cap;
    }
    d->lines[d->n++] = s;
    return 0;
}

static void print_sum(FILE *m, const dump *d, const fc_image_rec *r, const float *x) {
    char sum[65] = "-";
    if (x) fc_checksum_floats(x, d->dim, sum);
    fprintf(m, "%s %s %s %s %s %s", r->sha256, r->class_name, fc_split_name(r->split),
            r->status == FC_IMG_OK ? "ok" : "failed", sum, r->path);
}

static int visit(void *ctx, const fc_image_rec *r, const float *x, const uint8_t *blob,
                 size_t len) {
    dump *d = ctx;
    (void)blob, (void)len;
    if (d->mode == MODE_VALUES && r->status != FC_IMG_OK) return 0;
    if (d->mode == MODE_VIEWS) {
        if (r->status != FC_IMG_OK || r->split != FC_SPLIT_TRAIN) return 0;
        fc_status st = {0};
        if (fc_views_load(d->store, r->sha256, d->vc.views, d->vx, &st)) {
            fprintf(stderr, "storedump: %s: %s\n", r->path, st.msg);
            return 1;
        }
        for (int v = 0; v < d->vc.views; v++) {
            char *buf = NULL;
            size_t sz = 0;
            FILE *m = open_memstream(&buf, &sz);
            if (!m) return 1;
            fc_aug_params p;
            fc_aug_draw(&d->spec, d->in_h, d->in_w, fc_aug_key(d->vc.seed, r->sha256, v), &p);
            fprintf(m, "%s %d %s %.17g %.17g %.17g %.17g %.17g %.17g %d %d :", r->sha256, v, r->path, p.theta, p.tx,
                    p.ty, p.shear, p.zx, p.zy, p.flip_h, p.flip_v);
            for (size_t i = 0; i < d->dim; i++) fprintf(m, " %.9g", (double)d->vx[(size_t)v * d->dim + i]);
            fclose(m);
            if (add_line(d, buf)) {
                free(buf);
                return 1;
            }
        }
        return 0;
    }
    char *buf = NULL;
    size_t sz = 0;
    FILE *m = open_memstream(&buf, &sz);
    if (!m) return 1;
    if (d->mode == MODE_SUM) {
        print_sum(m, d, r, x);
    } else {
        fprintf(m, "%s %s %s %s", r->sha256, r->path, r->class_name, fc_split_name(r->split));
        if (d->mode == MODE_RECORDS) {
            fprintf(m, " %s", r->status == FC_IMG_OK ? "ok" : "failed");
            if (r->status != FC_IMG_OK && r->error) fprintf(m, ": %s", r->error);
        }
        for (size_t i = 0; d->mode == MODE_VALUES && x && i < d->dim; i++)
            fprintf(m, " %.9g", (double)x[i]);
    }
    fclose(m);
    if (!add_line(d, buf)) return 0;
    free(buf);
    return 1;
}

static void dump_prov(const fc_provenance *p) {
    printf("fingerprint %s\nmodel_sha256 %s\narch %s\nlayer %s\ninput %dx%d\nresize %s\n"
           "preprocess %s\nnumerics %s\nshape %dx%dx%d\ncodec %s\n",
           p->fingerprint, p->model_sha256, p->arch, p->layer, p->in_h, p->in_w, p->resize,
           p->preprocess, p->numerics, p->feat_h, p->feat_w, p->feat_c,
           fc_codec_name(p->codec.kind));
}

static int cmp_line(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    static const fc_opt opts[] = {
        {"prov", 0, NULL, "print the provenance instead"},
        {"values", 0, NULL, "ok images with their decoded values"},
        {"records", 0, NULL, "image records only (status and error)"},
        {"views", 0, NULL, "augmented views of the train images, with their transforms"},
        {0},
    };
    static const fc_cmd_spec spec = {"storedump", "STORE|FILE.h5", "dump images", opts, 1, 1};
    fc_args a;
    int rc = fc_args_parse(&spec, argc, argv, &a);
    if (rc != FC_ARGS_OK) return rc;
    dump d = {0};
    d.mode = fc_arg_flag(&a, "values") ? MODE_VALUES
             : fc_arg_flag(&a, "records") ? MODE_RECORDS
             : fc_arg_flag(&a, "views")   ? MODE_VIEWS : MODE_SUM;
    fc_status st = {0};
    fc_source s;
    if (fc_source_open(a.pos[0], &s, &st)) {
        fprintf(stderr, "storedump: %s\n", st.msg);
        fc_args_free(&a);
        return 1;
    }
    d.dim = (size_t)s.prov.feat_h * s.prov.feat_w * s.prov.feat_c;
    rc = 0;
    if (d.mode == MODE_VIEWS) {
        d.store = s.store, d.in_h = s.prov.in_h, d.in_w = s.prov.in_w;
        if (!s.store || fc_views_get_config(s.store, &d.vc, &st) || !d.vc.views ||
            fc_aug_parse(d.vc.spec, &d.spec, &st) || !(d.vx = malloc((size_t)d.vc.views * d.dim * sizeof(float)))) {
            fprintf(stderr, "storedump: %s: no augmented views %s\n", a.pos[0], st.msg);
            fc_source_close(&s);
            fc_args_free(&a);
            return 1;
        }
    }
    if (fc_arg_flag(&a, "prov")) dump_prov(&s.prov);
    else if (fc_source_foreach(&s, d.mode != MODE_RECORDS, visit, &d, &st)) {
        fprintf(stderr, "storedump: %s\n", st.msg[0] ? st.msg : "out of memory");
        rc = 1;
    }
    if (d.n > 1) qsort(d.lines, d.n, sizeof *d.lines, cmp_line);
    for (size_t i = 0; i < d.n; i++) {
        if (!rc) printf("%s\n", d.lines[i]);
        free(d.lines[i]);
    }
    free(d.lines);
    free(d.vx);
    fc_source_close(&s);
    fc_args_free(&a);
    return rc;
}
