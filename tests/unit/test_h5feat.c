/* test_h5feat.c - HDF5 feature files: write/read round trip (float32 exact, float16 by
 * round-to-nearest-even, shuffle+gzip and zstd, several streamed blocks), split loading,
 * atomic output, and the reader's validation of untrusted files: each mutation of a
 * valid file (wrong shapes, labels, strings, attributes, truncation) must be refused
 * with a message naming the problem. */
#include <hdf5.h>
#include <string.h>
#include <unistd.h>

#include "../../common/codec.h"
#include "../../common/dataset.h"
#include "../../common/h5feat.h"
#include "t.h"

static char dir[] = "/tmp/fc-h5feat.XXXXXX";
static char *classes[] = {"cat", "dog", "eel"};

static void prov_init(fc_provenance *p, int h, int w, int c) {
    memset(p, 0, sizeof *p);
    strcpy(p->model_sha256, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    strcpy(p->arch, "vgg16");
    strcpy(p->model_path, "/models/vgg16.h5");
    strcpy(p->layer, "block5_pool");
    p->in_h = p->in_w = 150;
    strcpy(p->resize, "nearest");
    strcpy(p->preprocess, "rescale");
    strcpy(p->numerics, FC_NUMERICS_VERSION);
    p->feat_h = h, p->feat_w = w, p->feat_c = c;
    p->codec = (fc_codec_params){FC_CODEC_F16, FC_LAYOUT_SPARSE, 3};
    strcpy(p->version, "0.1.0");
    strcpy(p->host, "node7");
    strcpy(p->user, "ada");
    strcpy(p->command, "featcache extract imgs -m vgg16.h5 -o s.db");
    p->created = 1700000000, p->updated = 1700000100;
    fc_provenance_fingerprint(p);
}

static float feat_val(size_t i, size_t j) {
    unsigned r = (unsigned)(i * 2654435761u) ^ (unsigned)(j * 40503u);
    r ^= r >> 13;
    return (r % 3 == 0) ? 0.0f : (float)(r % 10007) / 97.0f - 3.0f;
}

static void sha_of(size_t i, char out[65]) {
    for (int k = 0; k < 64; k++) out[k] = "0123456789abcdef"[(i * 7 + (size_t)k * 13) % 16];
    out[0] = "0123456789abcdef"[i % 16], out[1] = "0123456789abcdef"[(i / 16) % 16];
    out[2] = "0123456789abcdef"[(i / 256) % 16];
    out[64] = '\0';
}

/* Writes n rows; returns 0 on success. */
static int write_file(const char *path, const fc_provenance *p, size_t n,
                      const fc_h5feat_opts *o) {
    fc_status st = {0};
    fc_h5feat_writer *w = NULL;
    size_t dim = (size_t)p->feat_h * p->feat_w * p->feat_c;
    float *x = malloc(dim * sizeof *x);
    int rc = fc_h5feat_writer_open(path, p, classes, 3, o, &w, &st);
    for (size_t i = 0; i < n && !rc; i++) {
        char sha[65], rel[64];
        sha_of(i, sha);
        snprintf(rel, sizeof rel, "%s/img%zu.png", classes[i % 3], i);
        for (size_t j = 0; j < dim; j++) x[j] = feat_val(i, j);
        rc = fc_h5feat_append(w, sha, rel, (int)(i % 3), (int)(i % 5 == 4 ? 2 : i % 5 == 3),
                              x, &st);
    }
    if (!rc) rc = fc_h5feat_writer_finish(w, &st);
    else fc_h5feat_writer_abort(w);
    if (rc) fprintf(stderr, "write_file: %s\n", st.msg);
    free(x);
    return rc;
}

static void path_in(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/%s", dir, name);
}

static void test_roundtrip(int float16, int zstd, int h, int w, int c, size_t n) {
    char path[256];
    path_in(path, sizeof path, "rt.h5");
    fc_provenance p;
    prov_init(&p, h, w, c);
    fc_h5feat_opts o = {float16, zstd, 0};
    CHECK(write_file(path, &p, n, &o) == 0, "write %s %s", float16 ? "f16" : "f32",
          zstd ? "zstd" : "gzip");
    fc_status st = {0};
    fc_h5feat *f = NULL;
    int rc = fc_h5feat_open(path, &f, &st);
    CHECK(rc == 0, "open: %s", st.msg);
    if (rc) return;
    CHECK(fc_h5feat_count(f) == n, "count %zu", fc_h5feat_count(f));
    const fc_provenance *q = fc_h5feat_provenance(f);
    CHECK(strcmp(q->fingerprint, p.fingerprint) == 0, "fingerprint");
    CHECK(strcmp(q->command, p.command) == 0 && strcmp(q->host, "node7") == 0, "informative");
    CHECK(q->created == p.created && q->updated == p.updated, "times");
    CHECK(q->codec.kind == FC_CODEC_F16 && q->codec.layout == FC_LAYOUT_SPARSE, "codec");
    int k;
    char *const *cl = fc_h5feat_classes(f, &k);
    CHECK(k == 3 && strcmp(cl[2], "eel") == 0, "classes");
    size_t dim = (size_t)h * w * c;
    float *x = malloc(n * dim * sizeof *x);
    CHECK(fc_h5feat_read(f, 0, n, x, &st) == 0, "read: %s", st.msg);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < dim; j++) {
            float want = feat_val(i, j);
            if (float16) want = fc_f16_to_f32(fc_f32_to_f16(want));
            bad += memcmp(&x[i * dim + j], &want, 4) != 0;
        }
    CHECK(bad == 0, "%zu values differ", bad);
    if (n > 0) {
        fc_image_rec rec;
        int label;
        fc_h5feat_row(f, n - 1, &rec, &label);
        char sha[65];
        sha_of(n - 1, sha);
        CHECK(strcmp(rec.sha256, sha) == 0 && label == (int)((n - 1) % 3), "row");
    }
    CHECK(fc_h5feat_read(f, n, 1, x, &st) != 0, "read past the end refused");
    free(x);
    fc_h5feat_close(f);
}

static void test_roundtrips(void) {
    test_roundtrip(0, 0, 4, 4, 8, 37);
    test_roundtrip(1, 0, 4, 4, 8, 37);
    test_roundtrip(0, 1, 2, 3, 5, 11);
    test_roundtrip(1, 1, 1, 1, 7, 3);
    test_roundtrip(0, 0, 4, 4, 512, 300); /* 128-row blocks: three flushes */
    test_roundtrip(0, 0, 4, 4, 8, 0);     /* empty export is valid */
}

/* dataset.c (fc_dataset_free) belongs to the dataset module; free what h5feat made. */
static void ds_free(fc_dataset *ds) {
    free(ds->x), free(ds->y);
    fc_strlist_free(ds->class_names, ds->n_classes);
}

static void test_load_split(void) {
    char path[256];
    path_in(path, sizeof path, "split.h5");
    fc_provenance p;
    prov_init(&p, 2, 2, 3);
    CHECK(write_file(path, &p, 20, NULL) == 0, "write");
    fc_dataset ds;
    fc_status st = {0};
    CHECK(fc_is_hdf5(path), "detected as HDF5");
    int rc = fc_h5feat_load(path, FC_SPLIT_TEST, &ds, &st);
    CHECK(rc == 0, "load: %s", st.msg);
    if (rc) return;
    /* rows with i % 5 == 4: 4, 9, 14, 19 */
    CHECK(ds.n == 4 && ds.dim == 12 && ds.n_classes == 3, "n=%zu dim=%zu", ds.n, ds.dim);
    CHECK(ds.y[1] == 9 % 3 && ds.x[1 * 12 + 5] == feat_val(9, 5), "row 9 -> 1");
    CHECK(strcmp(ds.fingerprint, p.fingerprint) == 0 && strcmp(ds.class_names[1], "dog") == 0,
          "meta");
    ds_free(&ds);
    CHECK(fc_h5feat_load(path, FC_SPLIT_ANY, &ds, &st) == 0 && ds.n == 20, "all splits");
    ds_free(&ds);
}

static void test_atomic(void) {
    char path[256];
    path_in(path, sizeof path, "atomic.h5");
    FILE *fp = fopen(path, "w");
    fputs("previous contents\n", fp);
    fclose(fp);
    fc_provenance p;
    prov_init(&p, 1, 1, 4);
    fc_status st = {0};
    fc_h5feat_writer *w = NULL;
    CHECK(fc_h5feat_writer_open(path, &p, classes, 3, NULL, &w, &st) == 0, "open");
    float x[4] = {1, 2, 3, 4};
    CHECK(fc_h5feat_append(w, "ab", "p", 5, 0, x, &st) != 0, "label out of range refused");
    fc_h5feat_writer_abort(w);
    CHECK(!fc_is_hdf5(path), "aborted write leaves the old file");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp >/dev/null", dir);
    CHECK(system(cmd) != 0, "no temp file left");
    path_in(path, sizeof path, "no/such/dir/x.h5");
    CHECK(fc_h5feat_writer_open(path, &p, classes, 3, NULL, &w, &st) == FC_ERR_IO &&
              strstr(st.msg, "no/such/dir"),
          "unwritable target named: %s", st.msg);
}

/* ---- validation of untrusted files ---- */

typedef void (*mutator)(hid_t file);

static void set_str_row(hid_t f, const char *ds, hsize_t row, const char *val) {
    hid_t d = H5Dopen2(f, ds, H5P_DEFAULT), sp = H5Dget_space(d), t = H5Dget_type(d);
    hsize_t one = 1;
    hid_t ms = H5Screate_simple(1, &one, NULL);
    H5Sselect_hyperslab(sp, H5S_SELECT_SET, &row, NULL, &one, NULL);
    H5Dwrite(d, t, ms, sp, H5P_DEFAULT, &val);
    H5Sclose(ms), H5Tclose(t), H5Sclose(sp), H5Dclose(d);
}

static void set_attr_int(hid_t f, const char *name, int64_t v) {
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, &v);
    H5Aclose(a);
}

static void set_attr_str(hid_t f, const char *name, const char *v) {
    hid_t a = H5Aopen(f, name, H5P_DEFAULT), t = H5Aget_type(a);
    H5Awrite(a, t, &v);
    H5Tclose(t), H5Aclose(a);
}

static void replace_dset(hid_t f, const char *name, hid_t type, int rank, const hsize_t *dims) {
    H5Ldelete(f, name, H5P_DEFAULT);
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(d), H5Sclose(sp);
}

static void m_label(hid_t f) {
    hid_t d = H5Dopen2(f, "labels", H5P_DEFAULT);
    int32_t v[6] = {0, 1, 2, 3, 0, 1};
    H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(d);
}
static void m_neg_label(hid_t f) {
    hid_t d = H5Dopen2(f, "labels", H5P_DEFAULT);
    int32_t v[6] = {0, -1, 2, 0, 0, 1};
    H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(d);
}
static void m_sha(hid_t f) { set_str_row(f, "sha256", 2, "not-a-hash"); }
static void m_split(hid_t f) { set_str_row(f, "split", 1, "holdout"); }
static void m_layer(hid_t f) { set_attr_str(f, "layer", "block4_pool"); }
static void m_no_layer(hid_t f) { H5Adelete(f, "layer"); }
static void m_feat_c(hid_t f) { set_attr_int(f, "feat_c", 9); }
static void m_huge_dim(hid_t f) { set_attr_int(f, "in_h", 1LL << 40); }
static void m_codec(hid_t f) { set_attr_str(f, "codec", "f64"); }
static void m_format(hid_t f) { set_attr_str(f, "featcache_format", "something.else"); }
static void m_no_features(hid_t f) { H5Ldelete(f, "features", H5P_DEFAULT); }
static void m_rank3(hid_t f) {
    hsize_t d[3] = {6, 16, 8};
    replace_dset(f, "features", H5T_IEEE_F32LE, 3, d);
}
static void m_int_features(hid_t f) {
    hsize_t d[4] = {6, 4, 4, 8};
    replace_dset(f, "features", H5T_STD_I32LE, 4, d);
}
static void m_wrong_hw(hid_t f) {
    hsize_t d[4] = {6, 2, 8, 8};
    replace_dset(f, "features", H5T_IEEE_F32LE, 4, d);
}
static void m_paths_len(hid_t f) {
    hsize_t d[1] = {7};
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 8);
    replace_dset(f, "paths", t, 1, d);
    H5Tclose(t);
}
static void m_labels_float(hid_t f) {
    hsize_t d[1] = {6};
    replace_dset(f, "labels", H5T_IEEE_F32LE, 1, d);
}
static void m_many_rows(hid_t f) { /* unallocated chunks read as zeros: cheap to claim */
    hid_t d = H5Dopen2(f, "features", H5P_DEFAULT);
    hsize_t dims[4] = {10000000, 4, 4, 8};
    H5Dset_extent(d, dims);
    H5Dclose(d);
}
static void m_classes_dup(hid_t f) { set_str_row(f, "classes", 2, "cat"); }
static void m_no_split(hid_t f) { H5Ldelete(f, "split", H5P_DEFAULT); }

static void test_validation(void) {
    static const struct {
        const char *name;
        mutator fn;
        const char *frag;
    } cases[] = {
        {"label >= classes", m_label, "/labels[3] = 3"},
        {"negative label", m_neg_label, "/labels[1] = -1"},
        {"bad sha256", m_sha, "/sha256[2]"},
        {"bad split", m_split, "/split[1]"},
        {"altered layer", m_layer, "fingerprint"},
        {"missing layer", m_no_layer, "'layer'"},
        {"feat_c vs data", m_feat_c, "attributes say 4x4x9"},
        {"huge in_h", m_huge_dim, "out of range"},
        {"unknown codec", m_codec, "unknown codec"},
        {"foreign format", m_format, "featcache_format"},
        {"no /features", m_no_features, "missing dataset /features"},
        {"rank 3", m_rank3, "4 dimensions"},
        {"int features", m_int_features, "not a float"},
        {"wrong h,w", m_wrong_hw, "attributes say"},
        {"paths length", m_paths_len, "/paths has 7 rows"},
        {"float labels", m_labels_float, "/labels has the wrong type"},
        {"duplicate class", m_classes_dup, "twice"},
        {"no /split", m_no_split, "missing dataset /split"},
        {"10M rows in a small file", m_many_rows, "claims 10000000 rows"},
    };
    fc_provenance p;
    prov_init(&p, 4, 4, 8);
    char path[256];
    path_in(path, sizeof path, "bad.h5");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (write_file(path, &p, 6, NULL) != 0) continue;
        hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
        cases[i].fn(f);
        H5Fclose(f);
        fc_status st = {0};
        fc_h5feat *r = NULL;
        int rc = fc_h5feat_open(path, &r, &st);
        CHECK(rc != 0 && r == NULL, "%s accepted", cases[i].name);
        CHECK(strstr(st.msg, cases[i].frag) && strstr(st.msg, path), "%s: message '%s'",
              cases[i].name, st.msg);
        fc_h5feat_close(r);
    }
}

static void test_foreign_files(void) {
    char path[256], trunc[256];
    path_in(path, sizeof path, "text.h5");
    FILE *fp = fopen(path, "w");
    fputs("this is not HDF5\n", fp);
    fclose(fp);
    fc_status st = {0};
    fc_h5feat *r = NULL;
    CHECK(fc_h5feat_open(path, &r, &st) == FC_ERR_FORMAT && strstr(st.msg, "not an HDF5"),
          "text: %s", st.msg);
    path_in(path, sizeof path, "missing.h5");
    CHECK(fc_h5feat_open(path, &r, &st) == FC_ERR_IO && strstr(st.msg, "missing.h5"),
          "missing: %s", st.msg);
    fc_provenance p;
    prov_init(&p, 4, 4, 64);
    path_in(path, sizeof path, "full.h5");
    path_in(trunc, sizeof trunc, "trunc.h5");
    CHECK(write_file(path, &p, 50, NULL) == 0, "write");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "head -c $(( $(stat -c %%s %s) / 2 )) %s > %s", path, path, trunc);
    CHECK(system(cmd) == 0, "truncate");
    int rc = fc_h5feat_open(trunc, &r, &st);
    if (rc == 0) { /* metadata survived: the features must then fail to read, not crash */
        float *x = malloc(50 * 4 * 4 * 64 * sizeof *x);
        rc = fc_h5feat_read(r, 0, 50, x, &st);
        free(x);
        fc_h5feat_close(r);
    }
    CHECK(rc != 0 && strstr(st.msg, "trunc.h5"), "truncated: %s", st.msg);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    T_RUN(test_roundtrips);
    T_RUN(test_load_split);
    T_RUN(test_atomic);
    T_RUN(test_validation);
    T_RUN(test_foreign_files);
    if (t_rmtree(dir)) return 1;
    return t_done("test_h5feat");
}
