/* storedump.c - test helper: prints the images of a store or .h5 export, one line each,
 * sorted (strcmp), so CLI tests can compare stores with `cmp`/`diff`:
 *   storedump SRC             "<sha256> <class> <split> <ok|failed> <sha256 of the decoded
 *                             float32 values> <path>"  (decoded features byte for byte)
 *   storedump --values SRC    ok images only: "<sha256> <path> <class> <split> v1 v2 ..."
 *                             (decoded features, %.9g; tests/py/extract_fixtures.py reads it)
 *   storedump --records SRC   "<sha256> <path> <class> <split> ok|failed[: error]"
 *   storedump --prov SRC      the provenance fields instead
 * Exit 1 with the error on stderr if SRC cannot be read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/cmd/opts.h"
#include "../../common/cmd/share.h"

enum { MODE_SUM, MODE_VALUES, MODE_RECORDS };

typedef struct {
    int mode;
    size_t dim;
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
        {0},
    };
    static const fc_cmd_spec spec = {"storedump", "STORE|FILE.h5", "dump images", opts, 1, 1};
    fc_args a;
    int rc = fc_args_parse(&spec, argc, argv, &a);
    if (rc != FC_ARGS_OK) return rc;
    dump d = {0};
    d.mode = fc_arg_flag(&a, "values") ? MODE_VALUES
             : fc_arg_flag(&a, "records") ? MODE_RECORDS : MODE_SUM;
    fc_status st = {0};
    fc_source s;
    if (fc_source_open(a.pos[0], &s, &st)) {
        fprintf(stderr, "storedump: %s\n", st.msg);
        fc_args_free(&a);
        return 1;
    }
    d.dim = (size_t)s.prov.feat_h * s.prov.feat_w * s.prov.feat_c;
    rc = 0;
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
    fc_source_close(&s);
    fc_args_free(&a);
    return rc;
}
