/* store_dump.c - test helper: prints a store's images, for CLI tests to compare.
 *   store_dump STORE      one line per stored image: "sha256 path class split v1 v2 ..."
 *                         (decoded features, %.9g), in sha256 order
 *   store_dump -r STORE   records only: "sha256 path class split ok|failed[: error]"
 * Exit 1 with the error on stderr if the store cannot be read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/store.h"

typedef struct {
    char **lines;
    size_t n, cap;
    size_t n_values;
    int records;
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

static int visit(void *ctx, const fc_image_rec *r, const float *f, const uint8_t *blob,
                 size_t len) {
    dump *d = ctx;
    char *buf = NULL;
    size_t sz = 0;
    FILE *m = open_memstream(&buf, &sz);
    if (!m) return 1;
    fprintf(m, "%s %s %s %s", r->sha256, r->path, r->class_name, fc_split_name(r->split));
    if (d->records) {
        fprintf(m, " %s", r->status == FC_IMG_OK ? "ok" : "failed");
        if (r->status != FC_IMG_OK && r->error) fprintf(m, ": %s", r->error);
    } else {
        if (r->status != FC_IMG_OK) {
            fclose(m);
            free(buf);
            return 0;
        }
        for (size_t i = 0; f && i < d->n_values; i++) fprintf(m, " %.9g", (double)f[i]);
    }
    fclose(m);
    return add_line(d, buf);
}

static int cmp_line(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
    dump d = {0};
    int ai = 1;
    if (argc > 1 && strcmp(argv[1], "-r") == 0) {
        d.records = 1;
        ai++;
    }
    if (ai != argc - 1) {
        fprintf(stderr, "usage: store_dump [-r] STORE\n");
        return 2;
    }
    fc_status st = {0};
    fc_store *s = NULL;
    int rc = fc_store_open(argv[ai], FC_STORE_READ, &s, &st);
    const fc_provenance *p = rc ? NULL : fc_store_provenance(s);
    if (!rc && !p) rc = fc_fail(&st, FC_ERR_FORMAT, "%s: no provenance", argv[ai]);
    if (!rc) {
        d.n_values = (size_t)p->feat_h * (size_t)p->feat_w * (size_t)p->feat_c;
        rc = fc_store_foreach(s, FC_SPLIT_ANY, !d.records, visit, &d, &st);
    }
    if (rc) fprintf(stderr, "store_dump: %s\n", st.msg);
    if (d.n > 1) qsort(d.lines, d.n, sizeof *d.lines, cmp_line);
    for (size_t i = 0; i < d.n; i++) {
        if (!rc) printf("%s\n", d.lines[i]);
        free(d.lines[i]);
    }
    free(d.lines);
    fc_store_close(s);
    return rc ? 1 : 0;
}
