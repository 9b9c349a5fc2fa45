/* storedump.c - test helper: one line per image of a store or .h5 export,
 *   "<sha256> <class> <split> <ok|failed> <sha256 of the decoded float32 values> <path>"
 * so tests can compare two stores' contents (decoded features byte for byte) with `sort`
 * and `diff`. With --prov it prints the provenance fields instead. */
#include <stdio.h>
#include <string.h>

#include "../../common/cmd/opts.h"
#include "../../common/cmd/share.h"

typedef struct {
    size_t dim;
} dump_ctx;

static int dump_one(void *vctx, const fc_image_rec *rec, const float *x, const uint8_t *b,
                    size_t len) {
    dump_ctx *c = vctx;
    char sum[65] = "-";
    if (x) fc_checksum_floats(x, c->dim, sum);
    printf("%s %s %s %s %s %s\n", rec->sha256, rec->class_name, fc_split_name(rec->split),
           rec->status == FC_IMG_OK ? "ok" : "failed", sum, rec->path);
    return 0;
}

static void dump_prov(const fc_provenance *p) {
    printf("fingerprint %s\nmodel_sha256 %s\narch %s\nlayer %s\ninput %dx%d\nresize %s\n"
           "preprocess %s\nnumerics %s\nshape %dx%dx%d\ncodec %s\n",
           p->fingerprint, p->model_sha256, p->arch, p->layer, p->in_h, p->in_w, p->resize,
           p->preprocess, p->numerics, p->feat_h, p->feat_w, p->feat_c,
           fc_codec_name(p->codec.kind));
}

int main(int argc, char **argv) {
    static const fc_opt opts[] = {{"prov", 0, NULL, "print the provenance instead"}, {0}};
    static const fc_cmd_spec spec = {"storedump", "STORE|FILE.h5", "dump images", opts, 1, 1};
    fc_args a;
    int rc = fc_args_parse(&spec, argc, argv, &a);
    if (rc != FC_ARGS_OK) {
        fc_args_free(&a); /* the parser may have allocated before failing */
        return rc;
    }
    fc_status st = {0};
    fc_source s;
    if (fc_source_open(a.pos[0], &s, &st)) {
        fprintf(stderr, "storedump: %s\n", st.msg);
        fc_args_free(&a);
        return 1;
    }
    dump_ctx c = {(size_t)s.prov.feat_h * s.prov.feat_w * s.prov.feat_c};
    if (fc_arg_flag(&a, "prov")) dump_prov(&s.prov);
    else if (fc_source_foreach(&s, 1, dump_one, &c, &st)) {
        fprintf(stderr, "storedump: %s\n", st.msg);
        rc = 1;
    }
    if (rc == FC_ARGS_OK) rc = 0;
    fc_source_close(&s);
    fc_args_free(&a);
    return rc;
}
