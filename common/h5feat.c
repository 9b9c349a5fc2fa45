/* h5feat.c - reader of exported feature files (layout: h5feat.h, schemas/hdf5_layout.md),
 * the HDF5 branch of fc_dataset_load, and the zstd filter (32015).
 *
 * The file is untrusted. fc_h5feat_open checks, before anything is used:
 *   provenance attributes present, typed and in range, fingerprint == recomputed;
 *   /features rank 4, a float type, dims (N, feat_h, feat_w, feat_c), filters available;
 *   /labels integer (N,), every value in [0, K); /classes K unique non-empty names;
 *   /paths, /sha256, /split string (N,); sha256 = 64 lowercase hex, each once; split a
 *   known name.
 * Row metadata (strings, labels) is loaded at open; features are read on demand. */
#define _GNU_SOURCE
#include "h5feat_int.h"
#include "augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "dataset.h"
#include "h5guard.h"
#include "h5util.h"

#define MAX_ROWS ((hsize_t)1 << 31)
#define MAX_CLASSES 100000
#define MAX_STR 4096 /* bytes per string (paths, class names) */
#define MIN_ROW_BYTES 16 /* file bytes any row needs at least (its sha256 alone has 64) */

#define PF(field, isint, req) \
    {#field, isint, offsetof(fc_provenance, field), sizeof(((fc_provenance *)0)->field), req}
const fc_h5_prov_field fc_h5_prov_fields[] = {
    PF(fingerprint, 0, 1), PF(model_sha256, 0, 1), PF(arch, 0, 0),     PF(model_path, 0, 0),
    PF(layer, 0, 1),       PF(in_h, 1, 1),         PF(in_w, 1, 1),     PF(resize, 0, 1),
    PF(preprocess, 0, 1),  PF(numerics, 0, 1),     PF(feat_h, 1, 1),   PF(feat_w, 1, 1),
    PF(feat_c, 1, 1),      PF(version, 0, 0),      PF(host, 0, 0),     PF(user, 0, 0),
    PF(command, 0, 0),     PF(created, 1, 0),      PF(updated, 1, 0),
};
const size_t fc_h5_prov_nfields = sizeof fc_h5_prov_fields / sizeof fc_h5_prov_fields[0];

struct fc_h5feat {
    char *path;
    hid_t file, feat;
    fc_provenance prov;
    size_t n, dim;
    int float16; /* /features holds 2-byte floats (export --dtype float16) */
    int n_classes;
    char **classes;
    char **paths, **sha;
    int32_t *labels;
    int8_t *split;
    /* augmented views (optional): /views, /view_of, /view_index, augment_* attributes */
    hid_t views;
    int feat_checked, views_checked; /* every chunk of /features, /views checked (fc_h5_check_chunks) */
    size_t feat_chunk, views_chunk;  /* then their decoded chunk sizes, for each row's read */
    size_t n_views;
    int64_t *view_of;
    int32_t *view_index;
    char aug_spec[512];
    uint64_t aug_seed;
    int aug_k;
};

/* ---- zstd filter 32015: a chunk is one zstd frame (content size set); cd[0] = level ---- */

#define ZSTD_CHUNK_MAX ((size_t)1 << 30)

static size_t zstd_filter(unsigned flags, size_t cd_n, const unsigned cd[], size_t nbytes,
                          size_t *buf_size, void **buf) {
    void *out = NULL;
    size_t n;
    if (flags & H5Z_FLAG_REVERSE) {
        unsigned long long want = ZSTD_getFrameContentSize(*buf, nbytes);
        if (want == ZSTD_CONTENTSIZE_ERROR || want == ZSTD_CONTENTSIZE_UNKNOWN ||
            want > ZSTD_CHUNK_MAX)
            return 0;
        if (!(out = H5allocate_memory(want ? want : 1, 0))) return 0;
        size_t expect = fc_h5_chunk_expect(); /* the chunk's size: a shorter frame would be read past */
        if (expect && want != expect) {
            H5free_memory(out);
            return 0;
        }
        n = ZSTD_decompress(out, want, *buf, nbytes);
        if (ZSTD_isError(n) || n != want) goto fail;
    } else {
        int level = cd_n > 0 ? (int)cd[0] : 3;
        if (level < 1 || level > ZSTD_maxCLevel()) level = 3;
        size_t cap = ZSTD_compressBound(nbytes);
        if (!(out = H5allocate_memory(cap, 0))) return 0;
        n = ZSTD_compress(out, cap, *buf, nbytes, level);
        if (ZSTD_isError(n)) goto fail;
    }
    H5free_memory(*buf);
    *buf = out;
    *buf_size = flags & H5Z_FLAG_REVERSE ? n : ZSTD_compressBound(nbytes);
    return n;
fail:
    H5free_memory(out);
    return 0;
}

/* Always ours, never a plugin's: H5Zfilter_avail would load a zstd plugin found on
 * HDF5_PLUGIN_PATH, whose decoder does not check a frame's size against the chunk's
 * (fc_h5_chunk_expect); registering replaces a filter of the same id. Once per process. */
int fc_h5_zstd_register(fc_status *st) {
    static int done;
    if (done) return 0;
    static const H5Z_class2_t cls = {H5Z_CLASS_T_VERS, FC_H5_FILTER_ZSTD, 1, 1,
                                     "zstd (featcache, libzstd)", NULL, NULL, zstd_filter};
    if (H5Zregister(&cls) < 0)
        return fc_fail(st, FC_ERR_INTERNAL, "cannot register the HDF5 zstd filter (32015)");
    done = 1;
    return 0;
}

/* ---- small typed readers ---- */

int fc_is_hdf5(const char *path) {
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char buf[8];
    FILE *fp = fc_fopen_regular(path, NULL, NULL); /* never blocks on a FIFO */
    if (!fp) return 0;
    size_t got = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    return got == sizeof buf && memcmp(buf, sig, sizeof sig) == 0;
}

/* Scalar string attribute (fixed or variable length) into out[cap]. 1 = absent. */
static int read_attr_str(hid_t loc, const char *name, char *out, size_t cap, fc_status *st) {
    if (H5Aexists(loc, name) <= 0) return 1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = -1, sp = -1, mt = -1;
    int rc = FC_ERR_FORMAT;
    if (a < 0 || (t = H5Aget_type(a)) < 0 || (sp = H5Aget_space(a)) < 0) goto out;
    if (H5Tget_class(t) != H5T_STRING || H5Sget_simple_extent_npoints(sp) != 1) goto out;
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        if ((mt = fc_h5_vlen_str()) < 0 || H5Aread(a, mt, &s) < 0) goto out;
        if (s && strlen(s) < cap) snprintf(out, cap, "%s", s), rc = 0;
        H5free_memory(s);
    } else {
        size_t sz = H5Tget_size(t);
        if (sz == 0 || sz >= cap) goto out;
        if ((mt = H5Tcopy(t)) < 0 || H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0 ||
            H5Tset_size(mt, sz + 1) < 0 || H5Aread(a, mt, out) < 0)
            goto out;
        out[sz] = '\0';
        rc = 0;
    }
out:
    if (mt >= 0) H5Tclose(mt);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    if (rc) fc_fail(st, FC_ERR_FORMAT, "attribute '%s' is not a string of < %zu bytes", name, cap);
    return rc;
}

/* A scalar attribute of class cls read as memory type mt into out. 1 = absent. */
static int read_attr_scalar(hid_t loc, const char *name, H5T_class_t cls, hid_t mt, void *out, const char *what,
                            fc_status *st) {
    if (H5Aexists(loc, name) <= 0) return 1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = -1, sp = -1;
    int rc = FC_ERR_FORMAT;
    if (a >= 0 && (t = H5Aget_type(a)) >= 0 && (sp = H5Aget_space(a)) >= 0 && H5Tget_class(t) == cls &&
        H5Sget_simple_extent_npoints(sp) == 1 && H5Aread(a, mt, out) >= 0)
        rc = 0;
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    if (rc) fc_fail(st, FC_ERR_FORMAT, "attribute '%s' is not a scalar %s", name, what);
    return rc;
}

static int read_attr_int(hid_t loc, const char *name, int64_t *out, fc_status *st) {
    return read_attr_scalar(loc, name, H5T_INTEGER, H5T_NATIVE_INT64, out, "integer", st);
}

static int read_attr_f64(hid_t loc, const char *name, double *out, fc_status *st) {
    return read_attr_scalar(loc, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, out, "float", st);
}

static int read_prov_field(hid_t file, const fc_h5_prov_field *f, fc_provenance *p,
                           fc_status *st) {
    char *base = (char *)p + f->offset;
    int rc;
    if (f->is_int) {
        int64_t v = 0;
        rc = read_attr_int(file, f->name, &v, st);
        if (rc == 0 && f->size == sizeof(int)) {
            if (v < 0 || v > FC_MAX_DIM)
                return fc_fail(st, FC_ERR_FORMAT, "attribute '%s' = %lld out of range", f->name,
                               (long long)v);
            int iv = (int)v;
            memcpy(base, &iv, sizeof iv);
        } else if (rc == 0) {
            memcpy(base, &v, sizeof v);
        }
    } else {
        rc = read_attr_str(file, f->name, base, f->size, st);
    }
    if (rc == 1 && f->required)
        return fc_fail(st, FC_ERR_FORMAT, "missing provenance attribute '%s'", f->name);
    return rc == 1 ? 0 : rc;
}

static int read_provenance(hid_t file, fc_provenance *p, fc_status *st) {
    memset(p, 0, sizeof *p);
    char fmt[64] = "", codec[16] = "", layout[16] = "plain";
    int64_t level = 3;
    int rc = read_attr_str(file, "featcache_format", fmt, sizeof fmt, st);
    if (rc == 0 && strcmp(fmt, FC_H5FEAT_FORMAT) != 0)
        return fc_fail(st, FC_ERR_FORMAT, "featcache_format is '%s', expected '%s'", fmt,
                       FC_H5FEAT_FORMAT);
    if (rc > 1) return rc;
    int64_t ver = 0; /* review 12 D F4: a newer layout must not be read as this one */
    int vr = rc == 0 ? read_attr_int(file, "featcache_format_version", &ver, st) : 1;
    if (vr > 1) return vr;
    if (vr == 0 && (ver < 1 || ver > FC_H5FEAT_FORMAT_VERSION))
        return fc_fail(st, FC_ERR_UNSUPPORTED, "featcache_format_version is %lld; this featcache reads version %d%s",
                       (long long)ver, FC_H5FEAT_FORMAT_VERSION,
                       ver > FC_H5FEAT_FORMAT_VERSION ? " (written by a newer featcache: update it)" : "");
    if (rc == 1 && fc_h5_has_attr(file, "model_config")) /* review 12 B F7 */
        return fc_fail(st, FC_ERR_FORMAT, "a Keras model file (a trained head HEAD.h5 or a backbone), not a featcache "
                       "store or export: it holds no features");
    for (size_t i = 0; i < fc_h5_prov_nfields; i++)
        if ((rc = read_prov_field(file, &fc_h5_prov_fields[i], p, st))) return rc;
    if ((rc = read_attr_str(file, "codec", codec, sizeof codec, st)) == 1)
        return fc_fail(st, FC_ERR_FORMAT, "missing provenance attribute 'codec'");
    if (rc || read_attr_str(file, "codec_layout", layout, sizeof layout, st) > 1 ||
        read_attr_int(file, "codec_level", &level, st) > 1)
        return FC_ERR_FORMAT;
    if (fc_codec_parse(codec, &p->codec.kind) != 0)
        return fc_fail(st, FC_ERR_FORMAT, "unknown codec '%s'", codec);
    if (fc_layout_parse(layout, &p->codec.layout) != 0)
        return fc_fail(st, FC_ERR_FORMAT, "unknown codec_layout '%s'", layout);
    if (level < -7 || level > 22)
        return fc_fail(st, FC_ERR_FORMAT, "codec_level %lld out of range", (long long)level);
    p->codec.level = (int)level;
    if (p->feat_h < 1 || p->feat_w < 1 || p->feat_c < 1 || p->in_h < 1 || p->in_w < 1)
        return fc_fail(st, FC_ERR_FORMAT, "provenance shapes must be positive");
    int64_t rank = 0; /* optional (exports made before it have none): 0 = not recorded */
    if ((rc = read_attr_int(file, "feat_rank", &rank, st)) > 1) return rc;
    if (rc == 0 && (rank < 2 || rank > 3 || !fc_feat_rank_valid((int)rank, p->feat_h, p->feat_w)))
        return fc_fail(st, FC_ERR_FORMAT, "attribute 'feat_rank' = %lld: must be 2 (a vector: features 1x1xC) or 3 "
                       "(a map); the features are %dx%dx%d", (long long)rank, p->feat_h, p->feat_w, p->feat_c);
    p->feat_rank = rc == 0 ? (int)rank : 0;
    /* optional too: the split fractions the store records (both or neither) */
    double vf = -1, tf = -1;
    int rv = read_attr_f64(file, "val_frac", &vf, st), rt;
    if (rv > 1 || (rt = read_attr_f64(file, "test_frac", &tf, st)) > 1) return FC_ERR_FORMAT;
    if (rv != rt || (rv == 0 && !(vf >= 0 && tf >= 0 && vf + tf <= 1)))
        return fc_fail(st, FC_ERR_FORMAT, "attributes 'val_frac' and 'test_frac' must come together, each in [0, 1] "
                       "and their sum at most 1");
    if (rv == 0) p->has_fracs = 1, p->val_frac = vf, p->test_frac = tf;
    if ((rc = read_attr_str(file, "model_abspath", p->model_abspath, sizeof p->model_abspath, st)) > 1) return rc;
    fc_provenance chk = *p;
    fc_provenance_fingerprint(&chk);
    if (strcmp(chk.fingerprint, p->fingerprint) != 0)
        return fc_fail(st, FC_ERR_FORMAT,
                       "fingerprint attribute %.12s... does not match the provenance "
                       "attributes (%.12s...): file altered or not from featcache",
                       p->fingerprint, chk.fingerprint);
    return 0;
}

#define ANY_LEN ((hsize_t)-1)

/* Opens dataset name and checks it is rank-1 of class cls and length want (ANY_LEN: any);
 * *got = its length. */
static hid_t open_1d(hid_t file, const char *name, H5T_class_t cls, hsize_t want, hsize_t *got,
                     fc_status *st) {
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0) {
        fc_fail(st, FC_ERR_FORMAT, "missing dataset /%s", name);
        return -1;
    }
    hid_t d = fc_h5_dopen(file, name), t = -1, sp = -1;
    hsize_t dims[1];
    int ok = d >= 0 && (t = H5Dget_type(d)) >= 0 && (sp = H5Dget_space(d)) >= 0 &&
             H5Sget_simple_extent_ndims(sp) == 1 && H5Sget_simple_extent_dims(sp, dims, NULL) == 1;
    if (ok && H5Tget_class(t) != cls) {
        fc_fail(st, FC_ERR_FORMAT, "/%s has the wrong type (expected %s)", name,
                cls == H5T_STRING ? "strings" : "integers");
        ok = -1;
    } else if (ok && want != ANY_LEN && dims[0] != want) {
        fc_fail(st, FC_ERR_FORMAT, "/%s has %llu rows, /features has %llu", name,
                (unsigned long long)dims[0], (unsigned long long)want);
        ok = -1;
    } else if (ok) {
        char what[80];
        snprintf(what, sizeof what, "/%s", name);
        *got = dims[0];
        if (fc_h5_check_pipeline(d, what, st)) ok = -1; /* named here, not as "cannot read" */
    } else {
        fc_fail(st, FC_ERR_FORMAT, "/%s is not a one-dimensional dataset", name);
    }
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (ok != 1 && d >= 0) H5Dclose(d), d = -1;
    return d;
}

/* Reads a 1-D string dataset of n rows (fixed or variable length) as malloc'd strings. */
static int read_strings(hid_t file, const char *name, hsize_t n, char ***out, fc_status *st) {
    hsize_t got = 0;
    hid_t d = open_1d(file, name, H5T_STRING, n, &got, st), t = -1, mt = -1;
    char **v = NULL, *fixed = NULL;
    int rc = FC_ERR_FORMAT;
    if (d < 0) return FC_ERR_FORMAT;
    if (!(v = fc_calloc(n ? n : 1, sizeof *v, st)) || (t = H5Dget_type(d)) < 0) goto out;
    if (H5Tis_variable_str(t) > 0) {
        if ((mt = fc_h5_vlen_str()) < 0 || fc_h5_dread(d, mt, H5S_ALL, H5S_ALL, v) < 0)
            goto bad;
        for (hsize_t i = 0; i < n; i++) { /* move into malloc'd memory, bounded */
            char *s = v[i];
            v[i] = s && strlen(s) < MAX_STR ? strdup(s) : NULL;
            int was = s != NULL;
            H5free_memory(s);
            if (!v[i]) {
                fc_fail(st, FC_ERR_FORMAT, "/%s[%llu] is %s", name, (unsigned long long)i,
                        was ? "too long" : "null");
                for (hsize_t j = i + 1; j < n; j++) H5free_memory(v[j]), v[j] = NULL;
                goto out;
            }
        }
    } else {
        size_t sz = H5Tget_size(t);
        if (sz == 0 || sz >= MAX_STR || n > (hsize_t)(((size_t)1 << 34) / (sz + 1))) goto bad;
        if (!(fixed = fc_malloc((size_t)n * (sz + 1) + 1, st))) goto out;
        if ((mt = H5Tcopy(t)) < 0 || H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0 ||
            H5Tset_size(mt, sz + 1) < 0 || fc_h5_dread(d, mt, H5S_ALL, H5S_ALL, fixed) < 0)
            goto bad;
        for (hsize_t i = 0; i < n; i++) {
            char *s = fixed + i * (sz + 1);
            s[sz] = '\0';
            if (!(v[i] = fc_strdup(s, st))) goto out;
        }
    }
    rc = 0;
    goto out;
bad:
    fc_fail(st, FC_ERR_FORMAT, "cannot read /%s as %llu strings", name, (unsigned long long)n);
out:
    if (rc && v) {
        for (hsize_t i = 0; i < n; i++) free(v[i]);
        free(v), v = NULL;
    }
    free(fixed);
    if (mt >= 0) H5Tclose(mt);
    if (t >= 0) H5Tclose(t);
    H5Dclose(d);
    *out = v;
    return rc ? (st->code ? (int)st->code : FC_ERR_FORMAT) : 0;
}

static int check_filters(hid_t d, const char *dname, fc_status *st) {
    char what[80];
    snprintf(what, sizeof what, "/%s", dname);
    /* a filter featcache refuses anyway is named as such, not as a plugin to install */
    int prc = fc_h5_check_pipeline(d, what, st);
    if (prc) return prc;
    hid_t dcpl = H5Dget_create_plist(d);
    if (dcpl < 0) return fc_fail(st, FC_ERR_FORMAT, "/%s: no creation properties", dname);
    int nf = H5Pget_nfilters(dcpl), rc = 0;
    for (int i = 0; i < nf && !rc; i++) {
        unsigned flags, cd[8];
        size_t ncd = 8;
        char name[64] = "";
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof name, name, NULL);
        if (id == FC_H5_FILTER_ZSTD) rc = fc_h5_zstd_register(st);
        else if (id < 0 || H5Zfilter_avail(id) <= 0)
            rc = fc_fail(st, FC_ERR_UNSUPPORTED,
                         "/%s uses HDF5 filter %d%s%s%s which is not available "
                         "(set HDF5_PLUGIN_PATH to a directory with its plugin)",
                         dname, (int)id, name[0] ? " (" : "", name, name[0] ? ")" : "");
    }
    H5Pclose(dcpl);
    return rc;
}

static int open_features(fc_h5feat *f, hsize_t *n, fc_status *st) {
    if (H5Lexists(f->file, "features", H5P_DEFAULT) <= 0)
        return fc_fail(st, FC_ERR_FORMAT, "missing dataset /features");
    hid_t t = -1, sp = -1;
    hsize_t d[4], fsize = 0;
    size_t bytes;
    int rc = FC_ERR_FORMAT;
    H5Fget_filesize(f->file, &fsize);
    if ((f->feat = fc_h5_dopen(f->file, "features")) < 0 ||
        (t = H5Dget_type(f->feat)) < 0 || (sp = H5Dget_space(f->feat)) < 0) {
        fc_fail(st, FC_ERR_FORMAT, "cannot open /features");
    } else if (H5Tget_class(t) != H5T_FLOAT || H5Tget_size(t) > 8) {
        fc_fail(st, FC_ERR_FORMAT, "/features is not a float dataset");
    } else if (H5Sget_simple_extent_ndims(sp) != 4 || H5Sget_simple_extent_dims(sp, d, NULL) != 4) {
        fc_fail(st, FC_ERR_FORMAT, "/features must have 4 dimensions (N,h,w,c)");
    } else if (d[1] != (hsize_t)f->prov.feat_h || d[2] != (hsize_t)f->prov.feat_w ||
               d[3] != (hsize_t)f->prov.feat_c) {
        fc_fail(st, FC_ERR_FORMAT, "/features rows are %llux%llux%llu, attributes say %dx%dx%d",
                (unsigned long long)d[1], (unsigned long long)d[2], (unsigned long long)d[3],
                f->prov.feat_h, f->prov.feat_w, f->prov.feat_c);
    } else if (d[0] > MAX_ROWS || d[0] > fsize / MIN_ROW_BYTES) {
        /* every row carries a 64-character sha256 string: a file claiming more rows than
         * it has bytes for would only make us allocate for nothing */
        fc_fail(st, FC_ERR_FORMAT, "/features claims %llu rows, more than a %llu-byte file holds",
                (unsigned long long)d[0], (unsigned long long)fsize);
    } else if (fc_size_mul4(d[1], d[2], d[3], 1, &f->dim) || f->dim > FC_MAX_TENSOR_ELEMS) {
        fc_fail(st, FC_ERR_FORMAT, "/features rows are too large");
    } else if (fc_size_mul4(d[0], f->dim, sizeof(float), 1, &bytes)) {
        fc_fail(st, FC_ERR_FORMAT, "/features claims %llu rows of %zu values", (unsigned long long)d[0], f->dim);
    } else if (!(rc = check_filters(f->feat, "features", st)) &&
               !(rc = fc_h5_check_extent(f->feat, bytes, "/features", st))) {
        *n = d[0]; /* the file holds the rows (a chunked /features never written reads as zeros) */
        f->float16 = H5Tget_size(t) == 2;
    }
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return rc;
}

static int is_hex64(const char *s) {
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return i == 64;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int check_classes(fc_h5feat *f, fc_status *st) {
    if (f->n_classes < 1) return fc_fail(st, FC_ERR_FORMAT, "/classes is empty");
    char **sorted = fc_malloc((size_t)f->n_classes * sizeof *sorted, st);
    if (!sorted) return st->code;
    memcpy(sorted, f->classes, (size_t)f->n_classes * sizeof *sorted);
    qsort(sorted, (size_t)f->n_classes, sizeof *sorted, cmp_str);
    int rc = 0;
    for (int i = 0; i < f->n_classes && !rc; i++) {
        if (!sorted[i][0] || strchr(sorted[i], '/'))
            rc = fc_fail(st, FC_ERR_FORMAT, "/classes has an empty name or one with '/'");
        else if (i && strcmp(sorted[i], sorted[i - 1]) == 0)
            rc = fc_fail(st, FC_ERR_FORMAT, "/classes lists '%s' twice", sorted[i]);
    }
    free(sorted);
    return rc;
}

typedef struct {
    const char *sha;
    size_t row;
} sha_row;

static int cmp_sha_row(const void *a, const void *b) {
    const sha_row *x = a, *y = b;
    int c = strcmp(x->sha, y->sha);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

/* Each image once: featcache never exports one twice, and a repeat would count twice in
 * import's and diff's numbers and train on (or test against) it twice. Names the first
 * repeat in row order and the row it repeats. */
static int check_unique_sha(fc_h5feat *f, fc_status *st) {
    sha_row *v = fc_malloc((f->n ? f->n : 1) * sizeof *v, st);
    if (!v) return st->code;
    for (size_t i = 0; i < f->n; i++) v[i].sha = f->sha[i], v[i].row = i;
    qsort(v, f->n, sizeof *v, cmp_sha_row);
    size_t first = 0, again = (size_t)-1;
    for (size_t i = 1; i < f->n; i++)
        if (strcmp(v[i].sha, v[i - 1].sha) == 0 && v[i].row < again) first = v[i - 1].row, again = v[i].row;
    free(v);
    if (again == (size_t)-1) return 0;
    return fc_fail(st, FC_ERR_FORMAT, "/sha256[%zu] and /sha256[%zu] are the same image (%s; paths '%.300s' and "
                   "'%.300s'): an export lists each image once", first, again, f->sha[first], f->paths[first],
                   f->paths[again]);
}

static int load_rows(fc_h5feat *f, hsize_t n, fc_status *st) {
    hsize_t k = 0, nl = 0;
    char **split = NULL;
    hid_t d = -1;
    int rc;
    if ((d = open_1d(f->file, "classes", H5T_STRING, ANY_LEN, &k, st)) < 0) return FC_ERR_FORMAT;
    H5Dclose(d);
    if (k > MAX_CLASSES) return fc_fail(st, FC_ERR_FORMAT, "/classes has %llu names", (unsigned long long)k);
    if ((rc = read_strings(f->file, "classes", k, &f->classes, st))) return rc;
    f->n_classes = (int)k;
    if ((rc = check_classes(f, st))) return rc;
    if ((d = open_1d(f->file, "labels", H5T_INTEGER, n, &nl, st)) < 0) return FC_ERR_FORMAT;
    if (!(f->labels = fc_malloc((size_t)(n ? n : 1) * sizeof *f->labels, st))) goto fail;
    if (fc_h5_dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, f->labels) < 0) {
        rc = fc_fail(st, FC_ERR_FORMAT, "cannot read /labels");
        goto out;
    }
    for (hsize_t i = 0; i < n; i++)
        if (f->labels[i] < 0 || f->labels[i] >= f->n_classes) {
            rc = fc_fail(st, FC_ERR_FORMAT, "/labels[%llu] = %d, but /classes has %d names",
                         (unsigned long long)i, f->labels[i], f->n_classes);
            goto out;
        }
    if ((rc = read_strings(f->file, "paths", n, &f->paths, st)) ||
        (rc = read_strings(f->file, "sha256", n, &f->sha, st)) ||
        (rc = read_strings(f->file, "split", n, &split, st)))
        goto out;
    if (!(f->split = fc_malloc((size_t)(n ? n : 1), st))) goto fail;
    for (hsize_t i = 0; i < n; i++) {
        int s = fc_split_parse(split[i]);
        if (s < FC_SPLIT_TRAIN || s > FC_SPLIT_TEST) {
            rc = fc_fail(st, FC_ERR_FORMAT, "/split[%llu] = '%.40s' is not train, validation or test",
                         (unsigned long long)i, split[i]);
            goto out;
        }
        f->split[i] = (int8_t)s;
        if (!is_hex64(f->sha[i])) {
            rc = fc_fail(st, FC_ERR_FORMAT, "/sha256[%llu] is not 64 lowercase hex digits",
                         (unsigned long long)i);
            goto out;
        }
        if (!f->paths[i] || !f->paths[i][0]) { /* review 12 D F3: had failed later, naming OUT's temp file */
            rc = fc_fail(st, FC_ERR_FORMAT, "/paths[%llu] is empty (every image needs its path)", (unsigned long long)i);
            goto out;
        }
    }
    rc = check_unique_sha(f, st);
    goto out;
fail:
    rc = st->code;
out:
    if (split) {
        for (hsize_t i = 0; i < n; i++) free(split[i]);
        free(split);
    }
    H5Dclose(d);
    return rc;
}

/* A 1-D integer dataset of n rows into out (memtype: its native element type). */
static int read_ints(hid_t file, const char *name, hsize_t n, hid_t memtype, void *out, fc_status *st) {
    hsize_t got = 0;
    hid_t d = open_1d(file, name, H5T_INTEGER, n, &got, st);
    if (d < 0) return FC_ERR_FORMAT;
    int rc = fc_h5_dread(d, memtype, H5S_ALL, H5S_ALL, out) < 0
                 ? fc_fail(st, FC_ERR_FORMAT, "cannot read /%s", name) : 0;
    H5Dclose(d);
    return rc;
}

/* /views and its index, when present: same row shape and a float type like /features,
 * every /view_of a row of /features, every /view_index below augment_views, a spec that
 * parses. */
static int open_views(fc_h5feat *f, fc_status *st) {
    if (H5Lexists(f->file, "views", H5P_DEFAULT) <= 0) return 0;
    hid_t t = -1, sp = -1;
    hsize_t dims[4];
    size_t bytes;
    int64_t seed = 0, k = 0;
    int rc = FC_ERR_FORMAT;
    fc_aug_spec spec;
    if ((f->views = fc_h5_dopen(f->file, "views")) < 0 || (t = H5Dget_type(f->views)) < 0 ||
        (sp = H5Dget_space(f->views)) < 0) {
        fc_fail(st, FC_ERR_FORMAT, "cannot open /views");
    } else if (H5Tget_class(t) != H5T_FLOAT || H5Tget_size(t) > 8) {
        fc_fail(st, FC_ERR_FORMAT, "/views is not a float dataset");
    } else if (H5Sget_simple_extent_ndims(sp) != 4 || H5Sget_simple_extent_dims(sp, dims, NULL) != 4 ||
               dims[1] != (hsize_t)f->prov.feat_h || dims[2] != (hsize_t)f->prov.feat_w ||
               dims[3] != (hsize_t)f->prov.feat_c) {
        fc_fail(st, FC_ERR_FORMAT, "/views must be (M,%d,%d,%d) like /features", f->prov.feat_h, f->prov.feat_w,
                f->prov.feat_c);
    } else if (dims[0] > MAX_ROWS || fc_size_mul4(dims[0], f->dim, sizeof(float), 1, &bytes)) {
        fc_fail(st, FC_ERR_FORMAT, "/views claims %llu rows", (unsigned long long)dims[0]);
    } else if (!(rc = check_filters(f->views, "views", st)) &&
               !(rc = fc_h5_check_extent(f->views, bytes, "/views", st)) &&
               !(rc = read_attr_str(f->file, "augment_spec", f->aug_spec, sizeof f->aug_spec, st)) &&
               !(rc = read_attr_int(f->file, "augment_seed", &seed, st)) &&
               !(rc = read_attr_int(f->file, "augment_views", &k, st))) {
        rc = FC_ERR_FORMAT;
        if (k < 1 || k > 1000) fc_fail(st, FC_ERR_FORMAT, "augment_views = %lld is not in 1..1000", (long long)k);
        else if (fc_aug_parse(f->aug_spec, &spec, st)) fc_wrap(st, "augment_spec"), st->code = FC_ERR_FORMAT;
        else rc = 0;
    }
    if (rc == 1) /* read_attr_*: absent */
        rc = fc_fail(st, FC_ERR_FORMAT, "the augment_spec, augment_seed and augment_views attributes must come "
                                        "with /views (one is missing or not a scalar)");
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (rc) return rc;
    f->aug_seed = (uint64_t)seed, f->aug_k = (int)k;
    size_t m = (size_t)dims[0];
    if (!(f->view_of = fc_malloc((m ? m : 1) * sizeof *f->view_of, st)) ||
        !(f->view_index = fc_malloc((m ? m : 1) * sizeof *f->view_index, st)))
        return st->code;
    rc = read_ints(f->file, "view_of", m, H5T_NATIVE_INT64, f->view_of, st);
    if (!rc) rc = read_ints(f->file, "view_index", m, H5T_NATIVE_INT32, f->view_index, st);
    for (size_t i = 0; !rc && i < m; i++) {
        if (f->view_of[i] < 0 || (uint64_t)f->view_of[i] >= f->n)
            rc = fc_fail(st, FC_ERR_FORMAT, "/view_of[%zu] = %lld, but /features has %zu rows", i,
                         (long long)f->view_of[i], f->n);
        else if (f->view_index[i] < 0 || f->view_index[i] >= f->aug_k)
            rc = fc_fail(st, FC_ERR_FORMAT, "/view_index[%zu] = %d, but augment_views is %d", i, f->view_index[i],
                         f->aug_k);
    }
    if (!rc) f->n_views = m;
    return rc;
}

/* The reader proper; fc_h5feat_open runs it in a pre-flight child first. */
static int open_checked(const char *path, fc_h5feat **out, fc_status *st) {
    *out = NULL;
    fc_h5feat *f = fc_calloc(1, sizeof *f, st);
    if (!f) return FC_ERR_NOMEM;
    f->file = f->feat = f->views = -1;
    hsize_t n = 0;
    int rc = 0;
    fc_h5_quiet q = fc_h5_quiet_begin();
    if (!(f->path = fc_strdup(path, st))) {
        rc = st->code;
        goto out;
    }
    if (!fc_is_hdf5(path)) {
        FILE *fp = fc_fopen_regular(path, NULL, NULL);
        if (fp) fclose(fp);
        const char *kind = fp ? fc_file_kind(path) : NULL;
        if (fp) rc = fc_fail(st, FC_ERR_FORMAT, "not an HDF5 file%s%s", kind ? " but " : "", kind ? kind : "");
        else rc = fc_fail(st, FC_ERR_IO, "cannot open (missing, unreadable or not a regular file)");
        goto out;
    }
    if ((f->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        rc = fc_fail(st, FC_ERR_FORMAT, "cannot open as HDF5 (truncated or corrupt)");
        goto out;
    }
    if ((rc = read_provenance(f->file, &f->prov, st)) || (rc = fc_h5_check_links(f->file, st)) ||
        (rc = open_features(f, &n, st)))
        goto out;
    f->n = (size_t)n; /* before load_rows, so close frees partial rows */
    if (!(rc = load_rows(f, n, st))) rc = open_views(f, st);
out:
    fc_h5_quiet_end(q);
    if (rc) {
        fc_wrap(st, "%s", path);
        if (st->code == FC_OK) st->code = (fc_code)rc;
        fc_h5feat_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

/* The pre-flight probe: everything open reads, which includes the /features and /views
 * chunk indexes (fc_h5_check_extent's H5Dget_storage_size walks them) that the later row
 * reads rely on. */
static int open_probe(const char *path, fc_status *st) {
    fc_h5feat *f = NULL;
    int rc = open_checked(path, &f, st);
    fc_h5feat_close(f);
    return rc;
}

int fc_h5feat_open(const char *path, fc_h5feat **out, fc_status *st) {
    *out = NULL;
    int rc = fc_is_hdf5(path) ? fc_h5_preflight(path, open_probe, st) : 0;
    return rc ? rc : open_checked(path, out, st);
}

int fc_h5feat_is_export(const char *path) {
    fc_status st = {0};
    char fmt[64] = "";
    if (!fc_is_hdf5(path) || fc_h5_preflight(path, NULL, &st)) return 0;
    fc_h5_quiet q = fc_h5_quiet_begin();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int yes = f >= 0 && read_attr_str(f, "featcache_format", fmt, sizeof fmt, &st) == 0 &&
              strcmp(fmt, FC_H5FEAT_FORMAT) == 0;
    if (f >= 0) H5Fclose(f);
    fc_h5_quiet_end(q);
    return yes;
}

void fc_h5feat_close(fc_h5feat *f) {
    if (!f) return;
    fc_h5_quiet q = fc_h5_quiet_begin();
    if (f->feat >= 0) H5Dclose(f->feat);
    if (f->views >= 0) H5Dclose(f->views);
    if (f->file >= 0) H5Fclose(f->file);
    fc_h5_quiet_end(q);
    for (size_t i = 0; f->paths && i < f->n; i++) free(f->paths[i]);
    for (size_t i = 0; f->sha && i < f->n; i++) free(f->sha[i]);
    fc_strlist_free(f->classes, f->n_classes);
    free(f->paths), free(f->sha), free(f->labels), free(f->split), free(f->path);
    free(f->view_of), free(f->view_index), free(f);
}

size_t fc_h5feat_count(const fc_h5feat *f) { return f->n; }
int fc_h5feat_float16(const fc_h5feat *f) { return f->float16; }
const fc_provenance *fc_h5feat_provenance(const fc_h5feat *f) { return &f->prov; }

char *const *fc_h5feat_classes(const fc_h5feat *f, int *n) {
    *n = f->n_classes;
    return f->classes;
}

void fc_h5feat_row(const fc_h5feat *f, size_t i, fc_image_rec *rec, int *label) {
    memset(rec, 0, sizeof *rec);
    memcpy(rec->sha256, f->sha[i], 65);
    rec->path = f->paths[i];
    rec->class_name = f->classes[f->labels[i]];
    rec->split = f->split[i];
    rec->status = FC_IMG_OK;
    if (label) *label = f->labels[i];
}

/* Features are finite (a store's codecs refuse NaN and Inf): an export's rows are checked
 * as they are read, so train, sweep, evaluate and export refuse such a row as import and
 * merge do, naming the image (train had written a head with NaN weights, exit 0). */
static int check_finite(fc_h5feat *f, size_t i0, size_t count, const float *x, fc_status *st) {
    for (size_t j = 0; j < count; j++) {
        size_t bad = 0;
        const float *r = x + j * f->dim;
        for (size_t k = 0; k < f->dim; k++) bad += !isfinite(r[k]);
        if (bad) {
            fc_image_rec rec;
            fc_h5feat_row(f, i0 + j, &rec, NULL);
            return fc_fail(st, FC_ERR_FORMAT, "%s: features of %s (%s): %zu non-finite value(s) (NaN or Inf), "
                           "which would train a head of NaNs: /features row %zu refused", f->path, rec.path,
                           rec.sha256, bad, i0 + j);
        }
    }
    return 0;
}

int fc_h5feat_read(fc_h5feat *f, size_t i0, size_t count, float *out, fc_status *st) {
    if (i0 > f->n || count > f->n - i0)
        return fc_fail(st, FC_ERR_INTERNAL, "%s: rows %zu+%zu out of range", f->path, i0, count);
    if (count == 0) return 0;
    hsize_t start[4] = {i0, 0, 0, 0};
    hsize_t cnt[4] = {count, (hsize_t)f->prov.feat_h, (hsize_t)f->prov.feat_w,
                      (hsize_t)f->prov.feat_c};
    fc_h5_quiet q = fc_h5_quiet_begin();
    if (!f->feat_checked && (f->feat_checked = fc_h5_check_chunks(f->feat, "/features", st) == 0 ? 1 : -1) < 0) {
        fc_h5_quiet_end(q); /* once per open, named; a later read says "cannot read" */
        return fc_wrap(st, "%s", f->path);
    }
    if (f->feat_checked > 0 && !f->feat_chunk) f->feat_chunk = fc_h5_chunk_size(f->feat);
    hid_t fsp = H5Dget_space(f->feat), msp = H5Screate_simple(4, cnt, NULL);
    int ok = f->feat_checked > 0 && fsp >= 0 && msp >= 0 &&
             H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, cnt, NULL) >= 0 &&
             fc_h5_dread_expect(f->feat, f->feat_chunk, H5T_NATIVE_FLOAT, msp, fsp, out) >= 0;
    if (msp >= 0) H5Sclose(msp);
    if (fsp >= 0) H5Sclose(fsp);
    fc_h5_quiet_end(q);
    if (!ok)
        return fc_fail(st, FC_ERR_FORMAT, "%s: cannot read /features rows %zu..%zu (corrupt data)",
                       f->path, i0, i0 + count - 1);
    return check_finite(f, i0, count, out, st);
}

size_t fc_h5feat_views(const fc_h5feat *f, char *spec, size_t cap, uint64_t *seed, int *k) {
    if (spec && cap) snprintf(spec, cap, "%s", f->aug_spec);
    if (seed) *seed = f->aug_seed;
    if (k) *k = f->aug_k;
    return f->n_views;
}

int fc_h5feat_read_view(fc_h5feat *f, size_t i, int64_t *row, int32_t *view, float *x, fc_status *st) {
    if (i >= f->n_views) return fc_fail(st, FC_ERR_INTERNAL, "%s: view %zu out of range", f->path, i);
    hsize_t start[4] = {i, 0, 0, 0};
    hsize_t cnt[4] = {1, (hsize_t)f->prov.feat_h, (hsize_t)f->prov.feat_w, (hsize_t)f->prov.feat_c};
    fc_h5_quiet q = fc_h5_quiet_begin();
    if (!f->views_checked && (f->views_checked = fc_h5_check_chunks(f->views, "/views", st) == 0 ? 1 : -1) < 0) {
        fc_h5_quiet_end(q); /* once per open, named; a later read says "cannot read" */
        return fc_wrap(st, "%s", f->path);
    }
    if (f->views_checked > 0 && !f->views_chunk) f->views_chunk = fc_h5_chunk_size(f->views);
    hid_t fsp = H5Dget_space(f->views), msp = H5Screate_simple(4, cnt, NULL);
    int ok = f->views_checked > 0 && fsp >= 0 && msp >= 0 &&
             H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, cnt, NULL) >= 0 &&
             fc_h5_dread_expect(f->views, f->views_chunk, H5T_NATIVE_FLOAT, msp, fsp, x) >= 0;
    if (msp >= 0) H5Sclose(msp);
    if (fsp >= 0) H5Sclose(fsp);
    fc_h5_quiet_end(q);
    if (!ok) return fc_fail(st, FC_ERR_FORMAT, "%s: cannot read /views row %zu (corrupt data)", f->path, i);
    for (size_t k = 0; k < f->dim; k++)
        if (!isfinite(x[k]))
            return fc_fail(st, FC_ERR_FORMAT, "%s: /views row %zu holds non-finite values (NaN or Inf), which "
                           "would train a head of NaNs: refused", f->path, i);
    *row = f->view_of[i], *view = f->view_index[i];
    return 0;
}

/* Rows per read in foreach/load: up to ~4 MiB of floats. */
static size_t read_block(const fc_h5feat *f) {
    size_t b = ((size_t)4 << 20) / (f->dim * sizeof(float));
    return b ? b : 1;
}

int fc_h5feat_foreach(fc_h5feat *f, int split, int decode, fc_store_visit fn, void *ctx,
                      fc_status *st) {
    size_t blk = read_block(f);
    float *buf = NULL;
    int rc = 0;
    char what[1024];
    snprintf(what, sizeof what, "%s: %zu feature rows of %dx%dx%d", f->path, blk, f->prov.feat_h, f->prov.feat_w,
             f->prov.feat_c);
    if (decode && (fc_mem_check((double)blk * (double)f->dim * sizeof(float), what, st) ||
                   !(buf = fc_aligned_alloc(blk * f->dim * sizeof(float), st))))
        return st->code;
    for (size_t i0 = 0; i0 < f->n && !rc; i0 += blk) {
        size_t cnt = f->n - i0 < blk ? f->n - i0 : blk;
        if (decode && (rc = fc_h5feat_read(f, i0, cnt, buf, st))) break;
        for (size_t j = 0; j < cnt; j++) {
            if (split != FC_SPLIT_ANY && f->split[i0 + j] != split) continue;
            fc_image_rec rec;
            fc_h5feat_row(f, i0 + j, &rec, NULL);
            if (fn(ctx, &rec, decode ? buf + j * f->dim : NULL, NULL, 0)) {
                rc = -1;
                break;
            }
        }
    }
    free(buf);
    return rc < 0 ? 0 : rc;
}

/* Copies rows of `split` into ds (x, y), reading contiguous runs in blocks. */
static int load_split(fc_h5feat *f, int split, fc_dataset *ds, fc_status *st) {
    size_t m = 0;
    for (size_t i = 0; i < f->n; i++) m += split == FC_SPLIT_ANY || f->split[i] == split;
    ds->n = m;
    if (m == 0) return 0;
    char what[1024];
    snprintf(what, sizeof what, "%s: %zu feature rows of %dx%dx%d", f->path, m, f->prov.feat_h, f->prov.feat_w,
             f->prov.feat_c);
    if (fc_mem_check((double)m * (double)f->dim * sizeof(float), what, st) ||
        !(ds->x = fc_aligned_alloc(m * f->dim * sizeof(float), st)) ||
        !(ds->y = fc_malloc(m * sizeof *ds->y, st)))
        return st->code;
    size_t k = 0, blk = read_block(f);
    for (size_t i = 0; i < f->n;) {
        if (split != FC_SPLIT_ANY && f->split[i] != split) {
            i++;
            continue;
        }
        size_t run = 1;
        while (i + run < f->n && run < blk && (split == FC_SPLIT_ANY || f->split[i + run] == split))
            run++;
        int rc = fc_h5feat_read(f, i, run, ds->x + k * f->dim, st);
        if (rc) return rc;
        for (size_t j = 0; j < run; j++) ds->y[k + j] = f->labels[i + j];
        k += run, i += run;
    }
    return 0;
}

/* The split's augmented views into ds->views (K per image, in ds's row order); every
 * image of the split must have all K. */
static int load_views(fc_h5feat *f, int split, fc_dataset *ds, fc_status *st) {
    if (!f->n_views) return fc_fail(st, FC_ERR_FORMAT, "no augmented views (/views) in this export");
    const size_t K = (size_t)f->aug_k, dim = f->dim, none = (size_t)-1;
    size_t total, k = 0;
    if (fc_size_mul4(ds->n ? ds->n : 1, K, dim, sizeof(float), &total))
        return fc_fail(st, FC_ERR_NOMEM, "%zu images x %zu views do not fit in memory", ds->n, K);
    double avail = fc_mem_available(1);
    if (avail >= 0 && (double)total > avail) {
        char need_s[32], avail_s[32];
        fc_fmt_bytes((double)total, need_s, sizeof need_s);
        fc_fmt_bytes(avail, avail_s, sizeof avail_s);
        return fc_fail(st, FC_ERR_NOMEM, "the augmented views (%zu training images x %zu) need %s in memory, and the "
                       "machine has %s available (memory + swap)", ds->n, K, need_s, avail_s);
    }
    size_t *at = fc_malloc((f->n ? f->n : 1) * sizeof *at, st); /* row -> index in ds, or none */
    unsigned char *have = fc_calloc(ds->n * K > 0 ? ds->n * K : 1, 1, st);
    int rc = !at || !have ? st->code : FC_OK;
    if (!rc && !(ds->views = fc_aligned_alloc(total, st))) rc = st->code;
    for (size_t r = 0; !rc && r < f->n; r++) at[r] = split == FC_SPLIT_ANY || f->split[r] == split ? k++ : none;
    for (size_t i = 0; !rc && i < f->n_views; i++) {
        size_t r = (size_t)f->view_of[i], v = (size_t)f->view_index[i];
        if (at[r] == none) continue;
        int64_t row;
        int32_t view;
        if ((rc = fc_h5feat_read_view(f, i, &row, &view, ds->views + (at[r] * K + v) * dim, st))) break;
        have[at[r] * K + v] = 1;
    }
    for (size_t r = 0; !rc && r < f->n; r++)
        for (size_t v = 0; at[r] != none && v < K && !rc; v++)
            if (!have[at[r] * K + v])
                rc = fc_fail(st, FC_ERR_FORMAT, "%s has no view %zu: the export's augmented views are incomplete",
                             f->paths[r], v);
    if (!rc) {
        ds->n_views = (int)K;
        snprintf(ds->aug_spec, sizeof ds->aug_spec, "%s", f->aug_spec);
        ds->aug_seed = f->aug_seed;
    }
    free(at), free(have);
    return rc;
}

static int load_common(const char *path, int split, int views, fc_dataset *ds, fc_status *st);

int fc_h5feat_load(const char *path, int split, fc_dataset *ds, fc_status *st) {
    return load_common(path, split, 0, ds, st);
}

int fc_h5feat_load_views(const char *path, int split, fc_dataset *ds, fc_status *st) {
    return load_common(path, split, 1, ds, st);
}

static int load_common(const char *path, int split, int views, fc_dataset *ds, fc_status *st) {
    memset(ds, 0, sizeof *ds);
    fc_h5feat *f = NULL;
    int rc = fc_h5feat_open(path, &f, st);
    if (rc) return rc;
    ds->h = f->prov.feat_h, ds->w = f->prov.feat_w, ds->c = f->prov.feat_c;
    ds->dim = f->dim;
    ds->prov = f->prov;
    memcpy(ds->fingerprint, f->prov.fingerprint, sizeof ds->fingerprint);
    if (!(ds->class_names = fc_calloc((size_t)f->n_classes, sizeof *ds->class_names, st))) {
        rc = st->code;
        goto out;
    }
    ds->n_classes = f->n_classes;
    for (int i = 0; i < f->n_classes; i++)
        if (!(ds->class_names[i] = fc_strdup(f->classes[i], st))) {
            rc = st->code;
            goto out;
        }
    rc = load_split(f, split, ds, st);
    if (!rc && views && (rc = load_views(f, split, ds, st)) && strncmp(st->msg, path, strlen(path)) != 0)
        fc_wrap(st, "%s", path); /* (the messages of fc_h5feat_read_view name it already) */
out:
    fc_h5feat_close(f);
    if (rc) { /* what fc_dataset_free does, without linking dataset.c into every user */
        free(ds->x), free(ds->y), free(ds->views);
        fc_strlist_free(ds->class_names, ds->n_classes);
        memset(ds, 0, sizeof *ds);
    }
    return rc;
}
